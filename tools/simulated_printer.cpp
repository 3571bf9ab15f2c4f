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
  static const std::array<PrinterModel, 5> models{{{"Xerox", "AltaLink C8155", true, nullptr},
                                                   {"HP", "LaserJet Enterprise M611", false, nullptr},
                                                   {"Canon", "imageRUNNER ADVANCE DX C5840i", true, nullptr},
                                                   {"Ricoh", "IM 430F", false, nullptr},
                                                   {"Kyocera", "TASKalfa 3554ci", true, nullptr}}};
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
  std::int64_t start_pages = std::uniform_int_distribution<std::int64_t>(10000, 900000)(random_);
  // A recorded printer goes on from its recorded counters: its counters below add the pages
  // printed since, so the start itself only matters for the built-in models.
  if (model_.recording) start_pages = 0;
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

bool SimulatedPrinter::SupplyIsLow(const protocol::Supply& supply, int low_percent) {
  const std::string state = supply.state.value_or("");
  if (state == "empty") return true;
  if (supply.level == -3) return false;
  if (state == "low") return true;
  return supply.level && supply.capacity && *supply.level >= 0 && *supply.capacity > 0 &&
         *supply.level * 100 <= static_cast<std::int64_t>(low_percent) * *supply.capacity;
}

namespace {

// The recorded counters, each risen by the pages printed since: colour counters by the
// colour pages, black ones by the black pages, every other by all pages.
std::vector<protocol::Counter> RecordedCounters(const protocol::Device& recording, std::int64_t black,
                                                std::int64_t color) {
  std::vector<protocol::Counter> counters;
  if (!recording.counters) return counters;
  for (auto counter : recording.counters->items) {
    const bool is_color = counter.name.find("color") != std::string::npos;
    const bool is_black = counter.name.find("black") != std::string::npos;
    counter.value += is_color ? color : is_black ? black : black + color;
    counter.reset_at.reset();
    counters.push_back(std::move(counter));
  }
  return counters;
}

}  // namespace

protocol::Device SimulatedPrinter::Snapshot() const {
  protocol::Device device;
  if (model_.recording) {
    device = *model_.recording;
    device.faults.clear();
    device.job_log.reset();
  }
  device.serial = serial_;
  device.manufacturer = model_.manufacturer;
  device.model = model_.model;
  if (!device.device_class) device.device_class = "office";
  if (!device.identity) device.identity = protocol::Identity{"1.0.0", "2024-02-01", "floor 1", "prn-" + serial_};
  if (!model_.recording) device.properties = {{"color", model_.color ? "true" : "false"}};
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
  const std::string cartridge = serial_ + "-T" + std::to_string(cartridges_replaced_ + 1);
  const char* toner_state = toner_level_ <= kTonerLowLevel ? "low" : "ok";
  if (model_.recording) {
    auto counters = RecordedCounters(*model_.recording, black_, color_);
    if (!counters.empty()) {
      device.counters = protocol::Counters{read_at, std::move(counters)};
    } else {
      device.counters = protocol::Counters{read_at, {{"total-impressions", total_impressions(), std::nullopt}}};
    }
    // The first supply with a known level and capacity empties at the printer's rate.
    for (auto& supply : device.supplies) {
      if (!supply.level || !supply.capacity || *supply.level < 0 || *supply.capacity <= 0) continue;
      supply.level = toner_level_ * *supply.capacity / kTonerCapacity;
      supply.state = toner_state;
      supply.serial = cartridge;
      break;
    }
    return device;
  }
  device.counters = protocol::Counters{read_at, {{"total-impressions", total_impressions(), std::nullopt},
                                                {"black-impressions", black_, std::nullopt}}};
  if (model_.color) device.counters->items.push_back({"color-impressions", color_, std::nullopt});
  device.supplies = {{1, "tonerCartridge", "black", "Black Toner Cartridge", "TN-100", cartridge, "impressions",
                      kTonerCapacity, toner_level_, toner_state}};
  return device;
}

}  // namespace fleetcomm::tools
