#include "protocol/report_values.hpp"

#include <algorithm>
#include <array>
#include <limits>

namespace fleetcomm::protocol::values {
namespace {

using namespace std::string_view_literals;

constexpr std::array kDeviceSources{"device"sv, "agent"sv};
constexpr std::array kSecurityModes{"normal"sv, "lockdown"sv};
constexpr std::array kDeviceClasses{"office"sv, "production"sv, "other"sv};
constexpr std::array kActionTypes{"get_status"sv,       "restart"sv,         "upgrade_software"sv,
                                  "troubleshoot"sv,     "print_test_page"sv, "start_device_management"sv,
                                  "send_billing_now"sv, "add_service"sv,     "change_settings"sv};
constexpr std::array kStandardCounters{"total-impressions"sv, "black-impressions"sv, "color-impressions"sv,
                                       "print-impressions"sv, "copy-impressions"sv,  "fax-impressions"sv,
                                       "large-impressions"sv, "scan-images"sv,       "sheets"sv};
// RFC 3805 moved this TC into IANA-PRINTER-MIB, which IANA maintains: 1-34 are RFC 3805's,
// matteToner(35) and matteInk(36) were registered later and real devices report them.
constexpr std::array kSupplyTypes{
    "other"sv,        "unknown"sv,          "toner"sv,         "wasteToner"sv,       "ink"sv,
    "inkCartridge"sv, "inkRibbon"sv,        "wasteInk"sv,      "opc"sv,              "developer"sv,
    "fuserOil"sv,     "solidWax"sv,         "ribbonWax"sv,     "wasteWax"sv,         "fuser"sv,
    "coronaWire"sv,   "fuserOilWick"sv,     "cleanerUnit"sv,   "fuserCleaningPad"sv, "transferUnit"sv,
    "tonerCartridge"sv, "fuserOiler"sv,     "water"sv,         "wasteWater"sv,       "glueWaterAdditive"sv,
    "wastePaper"sv,   "bindingSupply"sv,    "bandingSupply"sv, "stitchingWire"sv,    "shrinkWrap"sv,
    "paperWrap"sv,    "staples"sv,          "inserts"sv,       "covers"sv,           "matteToner"sv,
    "matteInk"sv};
// Spelled as in the MIB, including its "hundreths".
constexpr std::array kSupplyUnits{"other"sv,          "unknown"sv,        "tenThousandthsOfInches"sv,
                                  "micrometers"sv,    "impressions"sv,    "sheets"sv,
                                  "hours"sv,          "thousandthsOfOunces"sv, "tenthsOfGrams"sv,
                                  "hundrethsOfFluidOunces"sv, "tenthsOfMilliliters"sv, "feet"sv,
                                  "meters"sv,         "items"sv,          "percent"sv};
constexpr std::array kSupplyStates{"ok"sv, "low"sv, "empty"sv, "unknown"sv};
constexpr std::array kDeviceStatuses{"unknown"sv, "running"sv, "warning"sv, "testing"sv, "down"sv};
constexpr std::array kPrinterStatuses{"other"sv, "unknown"sv, "idle"sv, "printing"sv, "warmup"sv};
constexpr std::array kAlertSeverities{"critical"sv, "warning"sv, "info"sv};
// PrtAlertGroupTC (RFC 3805 / IANA-PRINTER-MIB), including the finisher (RFC 3806) and
// the later scanner, fax and output channel groups.
constexpr std::array kAlertGroups{
    "other"sv,         "unknown"sv,        "hostResourcesMIBStorageTable"sv, "hostResourcesMIBDeviceTable"sv,
    "generalPrinter"sv, "cover"sv,         "localization"sv,   "input"sv,       "output"sv,
    "marker"sv,        "markerSupplies"sv, "markerColorant"sv, "mediaPath"sv,   "channel"sv,
    "interpreter"sv,   "consoleDisplayBuffer"sv, "consoleLights"sv, "alert"sv,  "finDevice"sv,
    "finSupply"sv,     "finSupplyMediaInput"sv, "finAttribute"sv, "scanDevice"sv, "scanner"sv,
    "scanMediaPath"sv, "faxDevice"sv,      "faxModem"sv,       "outputChannel"sv};

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsHex(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool IsLowerAlnum(char c) { return IsDigit(c) || (c >= 'a' && c <= 'z'); }

// Fixed-width decimal field at `at`, or -1.
int Field(std::string_view text, std::size_t at, std::size_t width) {
  if (text.size() < at + width) return -1;
  int value = 0;
  for (std::size_t i = at; i < at + width; ++i) {
    if (!IsDigit(text[i])) return -1;
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

int DaysInMonth(int year, int month) {
  static constexpr std::array<int, 12> kDays{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[static_cast<std::size_t>(month - 1)];
}

bool IsOffset(std::string_view zone) {
  if (zone == "Z") return true;
  if (zone.size() != 6 || (zone[0] != '+' && zone[0] != '-') || zone[3] != ':') return false;
  const int hours = Field(zone, 1, 2);
  const int minutes = Field(zone, 4, 2);
  if (hours < 0 || minutes < 0 || minutes > 59) return false;
  return hours < 14 || (hours == 14 && minutes == 0);
}

}  // namespace

bool IsUuid(std::string_view text) {
  if (text.size() != 36) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const bool dash_position = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash_position ? text[i] != '-' : !IsHex(text[i])) return false;
  }
  return true;
}

std::string LowerAscii(std::string_view text) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; });
  return lower;
}

bool IsTime(std::string_view text) {
  // 2026-11-24T03:00:00 is 19 characters; then an optional fraction, then the zone.
  if (text.size() < 20 || text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' ||
      text[16] != ':') {
    return false;
  }
  const int year = Field(text, 0, 4), month = Field(text, 5, 2), day = Field(text, 8, 2);
  const int hour = Field(text, 11, 2), minute = Field(text, 14, 2), second = Field(text, 17, 2);
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > DaysInMonth(year, month)) return false;
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) return false;
  std::size_t at = 19;
  if (text[at] == '.') {
    const std::size_t digits_start = ++at;
    while (at < text.size() && IsDigit(text[at])) ++at;
    if (at == digits_start) return false;
  }
  return IsOffset(text.substr(at));
}

std::optional<std::int64_t> ParseUnsigned(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::uint64_t value = 0;
  constexpr std::uint64_t kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  for (char c : text) {
    if (!IsDigit(c)) return std::nullopt;
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (value > (kMax - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  return static_cast<std::int64_t>(value);
}

std::optional<std::int64_t> ParseInteger(std::string_view text, std::int64_t minimum) {
  const bool negative = !text.empty() && text.front() == '-';
  const auto magnitude = ParseUnsigned(negative ? text.substr(1) : text);
  if (!magnitude) return std::nullopt;
  const std::int64_t value = negative ? -*magnitude : *magnitude;
  if (value < minimum) return std::nullopt;
  return value;
}

std::optional<bool> ParseBoolean(std::string_view text) {
  if (text == "true" || text == "1") return true;
  if (text == "false" || text == "0") return false;
  return std::nullopt;
}

bool IsCounterName(std::string_view text) {
  if (text.empty() || text.size() > 64 || !IsLowerAlnum(text.front())) return false;
  if (!std::all_of(text.begin(), text.end(), [](char c) { return IsLowerAlnum(c) || c == '.' || c == '-'; })) {
    return false;
  }
  return text.starts_with("x-") || IsOneOf(text, StandardCounters());
}

bool IsOneOf(std::string_view text, std::span<const std::string_view> allowed) {
  return std::find(allowed.begin(), allowed.end(), text) != allowed.end();
}

std::span<const std::string_view> DeviceSources() { return kDeviceSources; }
std::span<const std::string_view> SecurityModes() { return kSecurityModes; }
std::span<const std::string_view> DeviceClasses() { return kDeviceClasses; }
std::span<const std::string_view> ActionTypes() { return kActionTypes; }
std::span<const std::string_view> StandardCounters() { return kStandardCounters; }
std::span<const std::string_view> SupplyTypes() { return kSupplyTypes; }
std::span<const std::string_view> SupplyUnits() { return kSupplyUnits; }
std::span<const std::string_view> SupplyStates() { return kSupplyStates; }
std::span<const std::string_view> DeviceStatuses() { return kDeviceStatuses; }
std::span<const std::string_view> PrinterStatuses() { return kPrinterStatuses; }
std::span<const std::string_view> AlertSeverities() { return kAlertSeverities; }
std::span<const std::string_view> AlertGroups() { return kAlertGroups; }

}  // namespace fleetcomm::protocol::values
