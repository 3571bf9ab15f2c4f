// protocol/supply_level: the Printer-MIB percent rule of PROTOCOL.md section 5.
#include "protocol/supply_level.hpp"

#include <catch2/catch.hpp>

using fleetcomm::protocol::SupplyPercent;

TEST_CASE("supply percent: only known amounts over a known, non-zero capacity", "[supply]") {
  CHECK(SupplyPercent(12, 100) == 12.0);
  CHECK(SupplyPercent(28407, 30000) == 94.69);  // two decimals
  CHECK(SupplyPercent(0, 5300) == 0.0);
  CHECK(SupplyPercent(150, 100) == 150.0);  // as reported: not clamped
  CHECK_FALSE(SupplyPercent(-1, 100));      // unrestricted
  CHECK_FALSE(SupplyPercent(-2, 100));      // unknown
  CHECK_FALSE(SupplyPercent(-3, 100));      // some remaining
  CHECK_FALSE(SupplyPercent(9, -2));        // Sharp: a level without a capacity
  CHECK_FALSE(SupplyPercent(9, 0));
  CHECK_FALSE(SupplyPercent(std::nullopt, 100));
  CHECK_FALSE(SupplyPercent(9, std::nullopt));
}
