// server/identity_cache: the per-instance identity of a certificate, with the lifetime of
// device.identity_cache_seconds, dropped by a client's notification, bounded.
#include "server/identity_cache.hpp"

#include <catch2/catch.hpp>

using fleetcomm::server::IdentityCache;
using fleetcomm::storage::ClientIdentity;
using fleetcomm::storage::ClientKind;
using namespace std::chrono_literals;

namespace {

ClientIdentity Active(const std::string& id) { return {ClientKind::kDevice, id, "ac_1", "active", false}; }

}  // namespace

TEST_CASE("identity cache: fresh for its lifetime from the database read, active identities only", "[identity_cache]") {
  IdentityCache cache(5s, 100);
  const auto read_at = IdentityCache::Clock::now();
  std::uint64_t generation = 0;
  REQUIRE_FALSE(cache.Find("f1", generation, read_at));
  cache.Store("f1", Active("dv_1"), generation, read_at);
  const auto found = cache.Find("f1", generation, read_at + 4s);
  REQUIRE(found);
  CHECK(found->identity.id == "dv_1");
  CHECK(found->read_at == read_at);  // a connection taking it over keeps the read's age
  CHECK_FALSE(cache.Find("f1", generation, read_at + 5s));

  ClientIdentity pending = Active("dv_2");
  pending.state = "pending";
  cache.Find("f2", generation);
  cache.Store("f2", pending, generation, IdentityCache::Clock::now());
  CHECK_FALSE(cache.Find("f2", generation));
}

TEST_CASE("identity cache: a client's notification drops its certificates; a racing read is not stored",
          "[identity_cache]") {
  IdentityCache cache(5s, 100);
  std::uint64_t generation = 0;
  cache.Find("f1", generation);
  cache.Store("f1", Active("ag_1"), generation, IdentityCache::Clock::now());
  cache.Find("f2", generation);
  cache.Store("f2", Active("ag_1"), generation, IdentityCache::Clock::now());
  cache.Find("f3", generation);
  cache.Store("f3", Active("dv_3"), generation, IdentityCache::Clock::now());
  cache.Invalidate("ac_1");  // not a client: nothing to drop
  CHECK(cache.Size() == 3);
  cache.Invalidate("ag_1");
  CHECK(cache.Size() == 1);
  CHECK_FALSE(cache.Find("f1", generation));

  std::uint64_t raced = 0;
  REQUIRE_FALSE(cache.Find("f1", raced));
  cache.Invalidate("ag_1");  // revoked while the read was on its way
  cache.Store("f1", Active("ag_1"), raced, IdentityCache::Clock::now());
  CHECK_FALSE(cache.Find("f1", generation));
}

TEST_CASE("identity cache: bounded, the oldest goes first", "[identity_cache]") {
  IdentityCache cache(5s, 2);
  std::uint64_t generation = 0;
  for (const char* f : {"f1", "f2", "f3"}) {
    cache.Find(f, generation);
    cache.Store(f, Active(std::string("dv_") + f), generation, IdentityCache::Clock::now());
  }
  CHECK(cache.Size() == 2);
  CHECK_FALSE(cache.Find("f1", generation));
  CHECK(cache.Find("f3", generation));
}
