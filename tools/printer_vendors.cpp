#include "tools/printer_vendors.hpp"

#include <algorithm>
#include <cctype>

#include "tools/snmprec.hpp"

namespace fleetcomm::tools {
namespace {

const std::vector<PrinterVendor>& Vendors() {
  static const std::vector<PrinterVendor> kVendors = {
      {11, "HP",
       {"1.3.6.1.4.1.11.2.3.9.4.2.1.1.3.3.0"},   // PML serial number
       {"1.3.6.1.4.1.11.2.3.9.4.2.1.1.3.5.0"}},  // PML firmware ROM date code
      {236, "Samsung", {}, {}},
      {253, "Xerox", {}, {}},
      {297, "FUJIFILM", {}, {}},
      {367, "Ricoh", {"1.3.6.1.4.1.367.3.2.1.2.1.4.0"}, {"1.3.6.1.4.1.367.3.2.1.1.1.2.0"}},
      {641, "Lexmark", {}, {}},
      {674, "Dell", {}, {}},
      {1129, "Toshiba", {}, {}},
      {1248, "Epson", {}, {}},
      {1347, "Kyocera", {"1.3.6.1.4.1.1347.43.5.1.1.28.1"}, {"1.3.6.1.4.1.1347.43.5.4.1.5.1.1"}},
      {1602, "Canon", {}, {"1.3.6.1.4.1.1602.1.1.1.4.0"}},
      {2001, "OKI", {}, {}},
      {2385, "Sharp", {}, {"1.3.6.1.4.1.2385.2.1.1.2.1.2.1"}},
      {2435, "Brother", {"1.3.6.1.4.1.2435.2.3.9.4.2.1.5.5.1.0"}, {"1.3.6.1.4.1.2435.2.4.3.1240.6.5.0"}},
      {10642, "Zebra", {}, {}},
      {18334, "Konica Minolta", {}, {"1.3.6.1.4.1.18334.1.1.1.1.6.1.0"}},
  };
  return kVendors;
}

std::string Trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  return std::string(text);
}

bool EqualsIgnoringCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

const PrinterVendor* FindPrinterVendor(std::uint32_t enterprise) {
  for (const auto& vendor : Vendors()) {
    if (vendor.enterprise == enterprise) return &vendor;
  }
  return nullptr;
}

std::optional<std::uint32_t> EnterpriseNumber(std::string_view sys_object_id) {
  const auto oid = ParseOid(sys_object_id);
  static const Oid kEnterprises = {1, 3, 6, 1, 4, 1};
  if (!oid || oid->size() <= kEnterprises.size() || !std::equal(kEnterprises.begin(), kEnterprises.end(), oid->begin())) {
    return std::nullopt;
  }
  return (*oid)[kEnterprises.size()];
}

const std::vector<std::string_view>& Ieee1284DeviceIdOids() {
  static const std::vector<std::string_view> kOids = {
      "1.3.6.1.4.1.2699.1.2.1.2.1.1.3.1",  // PWG ppmPrinterIEEE1284DeviceId
      "1.3.6.1.4.1.11.2.3.9.1.1.7.0",      // HP's, also answered by Brother and OKI
      "1.3.6.1.4.1.253.8.51.1.2.1.20.1",   // Xerox
      "1.3.6.1.4.1.1248.1.2.2.1.1.1.1.1",  // Epson
  };
  return kOids;
}

std::optional<std::string> Ieee1284Field(std::string_view device_id, std::string_view key) {
  while (!device_id.empty()) {
    const auto end = device_id.find(';');
    const std::string_view field = device_id.substr(0, end);
    device_id.remove_prefix(end == std::string_view::npos ? device_id.size() : end + 1);
    const auto colon = field.find(':');
    if (colon == std::string_view::npos) continue;
    if (EqualsIgnoringCase(Trim(field.substr(0, colon)), key)) {
      auto value = Trim(field.substr(colon + 1));
      if (!value.empty()) return value;
    }
  }
  return std::nullopt;
}

std::optional<std::string> FindVersion(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    if (!IsDigit(text[i])) {
      ++i;
      continue;
    }
    std::size_t end = i;
    while (end < text.size() && (IsDigit(text[end]) || text[end] == '.')) ++end;
    std::string_view run = text.substr(i, end - i);
    while (!run.empty() && run.back() == '.') run.remove_suffix(1);
    // A letter glued to the front (C3002, M4080FX) makes it a model number, except the
    // "V" of V11.01.
    const bool glued = i > 0 && std::isalpha(static_cast<unsigned char>(text[i - 1])) && text[i - 1] != 'V' &&
                       text[i - 1] != 'v';
    if (!glued && run.find('.') != std::string_view::npos) return std::string(run);
    i = end;
  }
  return std::nullopt;
}

}  // namespace fleetcomm::tools
