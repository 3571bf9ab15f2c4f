// server/ticket_keys: session-ticket keys rotate; a ticket sealed under the previous key
// still opens (and is renewed) for one more rotation, then no longer.
#include "server/ticket_keys.hpp"

#include <catch2/catch.hpp>

using fleetcomm::server::TicketKeyRing;
using namespace std::chrono_literals;

TEST_CASE("ticket keys: rotated every period, the previous key accepted one more period", "[tls]") {
  TicketKeyRing ring(3600s);
  const auto start = TicketKeyRing::Clock::now();
  const auto first = ring.Current(start);
  CHECK(ring.Current(start + 3599s).name == first.name);
  bool newest = false;
  REQUIRE(ring.Find(first.name.data(), newest, start + 10s));
  CHECK(newest);

  const auto second = ring.Current(start + 3600s);
  CHECK(second.name != first.name);
  CHECK(second.cipher != first.cipher);
  const auto old = ring.Find(first.name.data(), newest, start + 3601s);
  REQUIRE(old);
  CHECK_FALSE(newest);  // accepted, and the client gets a ticket under the new key
  CHECK(old->mac == first.mac);

  CHECK_FALSE(ring.Find(first.name.data(), newest, start + 7200s));  // two rotations old
  const unsigned char unknown[16] = {1, 2, 3};
  CHECK_FALSE(ring.Find(unknown, newest, start + 7200s));
}
