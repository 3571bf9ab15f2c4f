#include "tools/simulated_printer.hpp"

#include <array>
#include <cstdio>
#include <ctime>

namespace fleetcomm::tools {

std::string Rfc3339(std::int64_t unix_seconds) {
  const std::time_t time = static_cast<std::time_t>(unix_seconds);
  std::tm utc{};
  gmtime_r(&time, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

std::string RandomUuid(std::mt19937_64& random) {
  const std::uint64_t high = (random() & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;
  const std::uint64_t low = (random() & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
  char text[40];
  std::snprintf(text, sizeof text, "%08llx-%04llx-%04llx-%04llx-%012llx",
                static_cast<unsigned long long>(high >> 32), static_cast<unsigned long long>((high >> 16) & 0xffff),
                static_cast<unsigned long long>(high & 0xffff), static_cast<unsigned long long>(low >> 48),
                static_cast<unsigned long long>(low & 0xffffffffffffULL));
  return text;
}

const PrinterModel& SimulatedModel(std::size_t index) {
  static const std::array<PrinterModel, 5> models{{{"Xerox", "AltaLink C8155", true},
                                                   {"HP", "LaserJet Enterprise M611", false},
                                                   {"Canon", "imageRUNNER ADVANCE DX C5840i", true},
                                                   {"Ricoh", "IM 430F", false},
                                                   {"Kyocera", "TASKalfa 3554ci", true}}};
  return models[index % models.size()];
}

namespace {

constexpr std::int64_t kHour = 3600;
// A paper jam starts in about one simulated hour in fifty and lasts one to four hours.
constexpr double kJamPerHour = 0.02;

}  // namespace

SimulatedPrinter::SimulatedPrinter(std::string serial, const PrinterModel& model, std::uint64_t seed,
                                   std::int64_t start_unix)
    : serial_(std::move(serial)), model_(model), random_(seed), now_(start_unix) {
  // Office printers print from a few hundred to a few thousand pages a day.
  pages_per_day_ = std::uniform_real_distribution<double>(300.0, 3000.0)(random_);
  color_share_ = model_.color ? std::uniform_real_distribution<double>(0.1, 0.5)(random_) : 0.0;
  const std::int64_t start_pages = std::uniform_int_distribution<std::int64_t>(10000, 900000)(random_);
  color_ = static_cast<std::int64_t>(static_cast<double>(start_pages) * color_share_);
  black_ = start_pages - color_;
  toner_level_ = std::uniform_int_distribution<std::int64_t>(kTonerLowLevel, kTonerCapacity)(random_);
}

void SimulatedPrinter::AdvanceTo(std::int64_t unix_seconds) {
  if (unix_seconds <= now_) return;
  // Alerts change on whole simulated hours crossed, so that the outcome does not depend on
  // how often the printer is looked at.
  for (std::int64_t hour = now_ / kHour + 1; hour <= unix_seconds / kHour; ++hour) {
    const std::int64_t at = hour * kHour;
    if (jam_alert_) {
      if (at - jam_since_ >= std::uniform_int_distribution<std::int64_t>(1, 4)(random_) * kHour) jam_alert_ = false;
    } else if (std::bernoulli_distribution(kJamPerHour)(random_)) {
      jam_alert_ = true;
      jam_since_ = at;
      jams_.insert(jams_.begin(), at);
      if (jams_.size() > kFaultsKept) jams_.pop_back();
    }
  }
  carry_ += pages_per_day_ * static_cast<double>(unix_seconds - now_) / 86400.0;
  now_ = unix_seconds;
  const auto pages = static_cast<std::int64_t>(carry_);
  carry_ -= static_cast<double>(pages);
  const auto colored = static_cast<std::int64_t>(static_cast<double>(pages) * color_share_);
  color_ += colored;
  black_ += pages - colored;
  // Black toner serves every page; an empty cartridge is swapped at once.
  std::int64_t used = pages;
  while (used >= toner_level_) {
    used -= toner_level_;
    toner_level_ = kTonerCapacity;
    ++cartridges_replaced_;
  }
  toner_level_ -= used;
}

protocol::Device SimulatedPrinter::Snapshot() const {
  protocol::Device device;
  device.serial = serial_;
  device.manufacturer = model_.manufacturer;
  device.model = model_.model;
  device.device_class = "office";
  device.identity = protocol::Identity{"1.0.0", "2024-02-01", "floor 1", "prn-" + serial_};
  device.properties = {{"color", model_.color ? "true" : "false"}};
  const std::string read_at = Rfc3339(now_);
  protocol::Status status{"running", "idle", now_ % (30 * 86400), {}};
  if (toner_level_ <= kTonerLowLevel) {
    status.alerts.push_back({"10.1101", "warning", "markerSupplies", std::nullopt, "Black toner low", std::nullopt});
  }
  if (jam_alert_) {
    status.alerts.push_back({"8.1301", "critical", "mediaPath", std::nullopt, "Paper jam", Rfc3339(jam_since_)});
  }
  if (!status.alerts.empty()) status.state = "warning";
  device.status = status;
  for (const std::int64_t at : jams_) device.faults.push_back({"8.1301", Rfc3339(at), "tray 1", "Paper jam"});
  device.counters = protocol::Counters{read_at, {{"total-impressions", total_impressions(), std::nullopt},
                                                {"black-impressions", black_, std::nullopt}}};
  if (model_.color) device.counters->items.push_back({"color-impressions", color_, std::nullopt});
  const std::string cartridge = serial_ + "-T" + std::to_string(cartridges_replaced_ + 1);
  device.supplies = {{1, "tonerCartridge", "black", "Black Toner Cartridge", "TN-100", cartridge, "impressions",
                      kTonerCapacity, toner_level_, toner_level_ <= kTonerLowLevel ? "low" : "ok"}};
  return device;
}

}  // namespace fleetcomm::tools
