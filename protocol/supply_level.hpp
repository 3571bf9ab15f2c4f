#pragma once
// The Printer-MIB rule of PROTOCOL.md section 5: a supply's percent is level / capacity x 100
// only when both are known amounts (>= 0) and the capacity is not zero. -1 (unrestricted),
// -2 (unknown) and -3 ("some remaining") give no percent.
#include <cmath>
#include <cstdint>
#include <optional>

namespace fleetcomm::protocol {

// Rounded to two decimals, as billing and replenishment compare it with whole thresholds.
inline std::optional<double> SupplyPercent(std::optional<std::int64_t> level, std::optional<std::int64_t> capacity) {
  if (!level || !capacity || *level < 0 || *capacity <= 0) return std::nullopt;
  return std::round(static_cast<double>(*level) * 10000.0 / static_cast<double>(*capacity)) / 100.0;
}

}  // namespace fleetcomm::protocol
