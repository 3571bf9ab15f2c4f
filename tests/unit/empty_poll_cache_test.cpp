// server/empty_poll_cache: what it answers, when it forgets, and that a poll which raced an
// invalidation (or a listener outage) never stores "empty".
#include "server/empty_poll_cache.hpp"

#include <catch2/catch.hpp>

using fleetcomm::server::EmptyPollCache;
using namespace std::chrono_literals;

namespace {

// A cache whose notification listener is connected.
struct Listening : EmptyPollCache {
  explicit Listening(Options options = {30s, 100}) : EmptyPollCache(options) { ListenerUp(); }
};

// A poll that found nothing (no lease in force) and stored it.
void PollEmpty(EmptyPollCache& cache, const std::string& client, const std::string& account = "ac_1",
               EmptyPollCache::Clock::time_point now = EmptyPollCache::Clock::now()) {
  EmptyPollCache::Ticket ticket;
  REQUIRE_FALSE(cache.Lookup(client, account, ticket, now));
  REQUIRE(ticket.storable);
  cache.StoreEmpty(ticket, client, account, 3600, std::chrono::milliseconds::max());
}

}  // namespace

TEST_CASE("empty-poll cache: an empty answer is reused until the TTL, never past a lease end", "[poll_cache]") {
  Listening cache;
  const auto start = EmptyPollCache::Clock::now();
  PollEmpty(cache, "dv_1", "ac_1", start);
  EmptyPollCache::Ticket ticket;
  CHECK(cache.Lookup("dv_1", "ac_1", ticket, start + 29s) == std::optional<int>(3600));
  CHECK_FALSE(cache.Lookup("dv_1", "ac_1", ticket, start + 30s));

  // A delivered action's lease ends in 5 s: the answer may be reused until then only.
  REQUIRE_FALSE(cache.Lookup("dv_2", "ac_1", ticket, start));
  cache.StoreEmpty(ticket, "dv_2", "ac_1", 3600, 5000ms);
  CHECK(cache.Lookup("dv_2", "ac_1", ticket, start + 4s));
  CHECK_FALSE(cache.Lookup("dv_2", "ac_1", ticket, start + 5s));

  // Rows were left behind (quiet for zero): nothing is stored.
  REQUIRE_FALSE(cache.Lookup("dv_3", "ac_1", ticket, start));
  cache.StoreEmpty(ticket, "dv_3", "ac_1", 3600, 0ms);
  CHECK_FALSE(cache.Lookup("dv_3", "ac_1", ticket, start));

  // A device now in another account is not answered with the old account's interval.
  PollEmpty(cache, "dv_4", "ac_1", start);
  CHECK_FALSE(cache.Lookup("dv_4", "ac_2", ticket, start));
}

TEST_CASE("empty-poll cache: notifications drop a client, or every client of an account", "[poll_cache]") {
  Listening cache;
  PollEmpty(cache, "dv_1", "ac_1");
  PollEmpty(cache, "dv_2", "ac_1");
  PollEmpty(cache, "dv_3", "ac_2");
  EmptyPollCache::Ticket ticket;
  cache.Invalidate("dv_1");
  CHECK_FALSE(cache.Lookup("dv_1", "ac_1", ticket));
  CHECK(cache.Lookup("dv_2", "ac_1", ticket));
  cache.Invalidate("ac_1");
  CHECK_FALSE(cache.Lookup("dv_2", "ac_1", ticket));
  CHECK(cache.Lookup("dv_3", "ac_2", ticket));
}

TEST_CASE("empty-poll cache: a poll that started before an invalidation does not store empty", "[poll_cache]") {
  Listening cache;
  EmptyPollCache::Ticket raced;
  REQUIRE_FALSE(cache.Lookup("dv_1", "ac_1", raced));
  cache.Invalidate("dv_1");  // an action was queued while the poll read the database
  cache.StoreEmpty(raced, "dv_1", "ac_1", 3600, std::chrono::milliseconds::max());
  EmptyPollCache::Ticket ticket;
  CHECK_FALSE(cache.Lookup("dv_1", "ac_1", ticket));

  // The same for an account-wide invalidation, and for another client's poll it is not stale.
  EmptyPollCache::Ticket raced_account;
  REQUIRE_FALSE(cache.Lookup("dv_1", "ac_1", raced_account));
  cache.Invalidate("ac_1");
  cache.StoreEmpty(raced_account, "dv_1", "ac_1", 3600, std::chrono::milliseconds::max());
  CHECK_FALSE(cache.Lookup("dv_1", "ac_1", ticket));
}

TEST_CASE("empty-poll cache: bypassed while the listener is down, and a poll across an outage stores nothing",
          "[poll_cache]") {
  EmptyPollCache cache({30s, 100});
  EmptyPollCache::Ticket ticket;
  REQUIRE_FALSE(cache.Lookup("dv_1", "ac_1", ticket));  // never connected yet
  CHECK_FALSE(ticket.storable);
  cache.StoreEmpty(ticket, "dv_1", "ac_1", 3600, std::chrono::milliseconds::max());
  cache.ListenerUp();
  CHECK_FALSE(cache.Lookup("dv_1", "ac_1", ticket));

  PollEmpty(cache, "dv_1");
  cache.ListenerDown();  // notifications may be missed from now on: forget everything
  CHECK_FALSE(cache.Lookup("dv_1", "ac_1", ticket));
  CHECK_FALSE(ticket.storable);

  cache.ListenerUp();
  EmptyPollCache::Ticket across;
  REQUIRE_FALSE(cache.Lookup("dv_1", "ac_1", across));
  cache.ListenerDown();
  cache.ListenerUp();  // down and up again while the poll read the database
  cache.StoreEmpty(across, "dv_1", "ac_1", 3600, std::chrono::milliseconds::max());
  CHECK_FALSE(cache.Lookup("dv_1", "ac_1", ticket));
  CHECK(cache.GetStats().listening);
}

TEST_CASE("empty-poll cache: bounded, the oldest entry goes first; a TTL of zero turns it off", "[poll_cache]") {
  Listening cache({30s, 3});
  for (const char* client : {"dv_1", "dv_2", "dv_3", "dv_4"}) PollEmpty(cache, client);
  CHECK(cache.GetStats().entries == 3);
  EmptyPollCache::Ticket ticket;
  CHECK_FALSE(cache.Lookup("dv_1", "ac_1", ticket));
  CHECK(cache.Lookup("dv_4", "ac_1", ticket));

  Listening off({0s, 100});
  CHECK_FALSE(off.Enabled());
  REQUIRE_FALSE(off.Lookup("dv_1", "ac_1", ticket));
  off.StoreEmpty(ticket, "dv_1", "ac_1", 3600, std::chrono::milliseconds::max());
  CHECK_FALSE(off.Lookup("dv_1", "ac_1", ticket));
  CHECK(off.GetStats().entries == 0);
}
