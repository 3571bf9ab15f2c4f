#pragma once
// One printer whose state evolves over simulated time, for the fleet simulator
// (fleetcomm-sim) and its tests: counters rising at the printer's own rate, a toner
// falling with the pages printed and replaced (with a new cartridge serial) when empty,
// alerts raised and cleared now and then. Deterministic for a given seed. A model taken
// from a recorded real printer (tools/recorded_printer_models.hpp) keeps the recording's
// make, network, properties, counters and supplies: its counters rise with the pages
// printed and its first supply with a known level and capacity is the one that empties.
#include "protocol/report.hpp"

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace fleetcomm::tools {

// Seconds since the Unix epoch as RFC 3339 UTC ("2026-11-24T03:00:00Z").
std::string Rfc3339(std::int64_t unix_seconds);

// A random (version 4) UUID from `random`, lower-case.
std::string RandomUuid(std::mt19937_64& random);

struct PrinterModel {
  std::string manufacturer;
  std::string model;
  bool color = false;
  std::shared_ptr<const protocol::Device> recording;  // the recorded printer, when from one
};

// The makes the simulator mixes; `index` picks one (modulo their number).
const PrinterModel& SimulatedModel(std::size_t index);

class SimulatedPrinter {
 public:
  // Starts at `start_unix` with counters and toner derived from `seed`.
  SimulatedPrinter(std::string serial, const PrinterModel& model, std::uint64_t seed, std::int64_t start_unix);

  // Moves the printer's clock forward to `unix_seconds` (never backwards): prints the pages
  // of the elapsed time, uses toner, replaces an empty cartridge, raises and clears alerts.
  void AdvanceTo(std::int64_t unix_seconds);

  // The report section of the printer as of its clock.
  protocol::Device Snapshot() const;
  // The supplies of a snapshot that ask for an order (PROTOCOL.md 5, REQUIREMENTS.md R5.2):
  // state empty; state low unless the level is -3; or a percent at or below `low_percent`.
  static bool SupplyIsLow(const protocol::Supply& supply, int low_percent);

  const std::string& serial() const { return serial_; }
  std::int64_t now() const { return now_; }
  std::int64_t total_impressions() const { return black_ + color_; }
  std::int64_t black_impressions() const { return black_; }
  std::int64_t color_impressions() const { return color_; }
  std::int64_t toner_level() const { return toner_level_; }  // of kTonerCapacity
  int cartridges_replaced() const { return cartridges_replaced_; }
  bool jam_alert() const { return jam_alert_; }
  // Times of the jams raised so far, newest first, at most kFaultsKept.
  const std::vector<std::int64_t>& jams() const { return jams_; }

  static constexpr std::int64_t kTonerCapacity = 20000;  // impressions per black cartridge
  static constexpr std::int64_t kTonerLowLevel = 2000;   // the cartridge's "low" state
  static constexpr std::size_t kFaultsKept = 10;         // jams reported in FaultHistory

 private:
  std::string serial_;
  PrinterModel model_;
  std::mt19937_64 random_;
  std::int64_t now_;
  double pages_per_day_;
  double color_share_;
  double carry_ = 0;  // fractional pages not yet printed
  std::int64_t black_ = 0;
  std::int64_t color_ = 0;
  std::int64_t toner_level_ = kTonerCapacity;
  int cartridges_replaced_ = 0;
  bool jam_alert_ = false;
  std::int64_t jam_since_ = 0;
  std::vector<std::int64_t> jams_;
};

}  // namespace fleetcomm::tools
