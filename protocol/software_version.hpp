#pragma once
// Software and firmware versions (PROTOCOL.md 3.5) compare numerically per dot-separated
// component: 121.010.003.12345 < 121.10.4. Trailing zero components do not count (1.2 is
// 1.2.0), so that the key can be compared as a plain integer array by the database.
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace fleetcomm::protocol {

// nullopt unless `text` is 1..32 components of 1..18 decimal digits separated by single dots.
std::optional<std::vector<std::int64_t>> VersionKey(std::string_view text);

}  // namespace fleetcomm::protocol
