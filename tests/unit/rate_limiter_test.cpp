// The enrolment token buckets, on a fake clock: burst, refill, Retry-After, independent
// keys, bounded memory with least-recently-used eviction.
#include "server/rate_limiter.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

using fleetcomm::server::RateLimiter;
using namespace std::chrono_literals;

namespace {

struct FakeClock {
  std::chrono::steady_clock::time_point now{std::chrono::seconds(1000)};
  RateLimiter::Clock Get() {
    return [this] { return now; };
  }
};

int Allowed(RateLimiter& limiter, const std::string& key, int attempts) {
  int allowed = 0;
  for (int i = 0; i < attempts; ++i) allowed += limiter.Acquire(key).allowed ? 1 : 0;
  return allowed;
}

}  // namespace

TEST_CASE("rate limiter: a key spends its burst, then waits for the refill", "[rate_limit]") {
  FakeClock clock;
  RateLimiter limiter({10, 3, 100}, clock.Get());
  CHECK(Allowed(limiter, "a", 3) == 3);
  const auto refused = limiter.Acquire("a");
  CHECK_FALSE(refused.allowed);
  CHECK(refused.retry_after == 6s);  // 10 per minute: one every 6 s

  clock.now += 5s;
  const auto early = limiter.Acquire("a");
  CHECK_FALSE(early.allowed);
  CHECK(early.retry_after == 1s);  // rounded up, never 0
  clock.now += 1s;
  CHECK(limiter.Acquire("a").allowed);
  CHECK_FALSE(limiter.Acquire("a").allowed);

  // A long pause refills up to the burst and no further.
  clock.now += 1h;
  CHECK(Allowed(limiter, "a", 10) == 3);
}

TEST_CASE("rate limiter: refused attempts spend nothing", "[rate_limit]") {
  FakeClock clock;
  RateLimiter limiter({60, 1, 100}, clock.Get());
  CHECK(limiter.Acquire("a").allowed);
  for (int i = 0; i < 5; ++i) {
    clock.now += 100ms;
    CHECK_FALSE(limiter.Acquire("a").allowed);
  }
  clock.now += 500ms;  // 1 s after the first attempt, whatever was refused in between
  CHECK(limiter.Acquire("a").allowed);
}

TEST_CASE("rate limiter: keys have their own buckets", "[rate_limit]") {
  FakeClock clock;
  RateLimiter limiter({1, 2, 100}, clock.Get());
  CHECK(Allowed(limiter, "10.0.0.1", 5) == 2);
  CHECK(Allowed(limiter, "10.0.0.2", 5) == 2);
  const auto refused = limiter.Acquire("10.0.0.1");
  CHECK_FALSE(refused.allowed);
  CHECK(refused.retry_after == 60s);
}

TEST_CASE("rate limiter: memory is bounded; the least recently used key is forgotten", "[rate_limit]") {
  FakeClock clock;
  RateLimiter limiter({1, 1, 3}, clock.Get());
  CHECK(limiter.Acquire("a").allowed);
  CHECK(limiter.Acquire("b").allowed);
  CHECK(limiter.Acquire("c").allowed);
  CHECK_FALSE(limiter.Acquire("a").allowed);  // touches a: b is now the oldest
  CHECK(limiter.TrackedKeys() == 3);
  CHECK(limiter.Acquire("d").allowed);        // evicts b
  CHECK(limiter.TrackedKeys() == 3);
  CHECK_FALSE(limiter.Acquire("a").allowed);  // still tracked, still empty
  CHECK_FALSE(limiter.Acquire("c").allowed);
  CHECK(limiter.Acquire("b").allowed);        // forgotten, so a fresh bucket (evicts d)
  CHECK(limiter.TrackedKeys() == 3);
  for (int i = 0; i < 1000; ++i) limiter.Acquire("k" + std::to_string(i));
  CHECK(limiter.TrackedKeys() == 3);
}

TEST_CASE("rate limiter: concurrent callers never exceed the burst", "[rate_limit]") {
  FakeClock clock;
  RateLimiter limiter({1, 50, 10}, clock.Get());
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 100; ++i) allowed += limiter.Acquire("shared").allowed ? 1 : 0;
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(allowed == 50);
}

TEST_CASE("rate limiter: nonsensical options are refused", "[rate_limit]") {
  CHECK_THROWS_AS(RateLimiter({0, 1, 1}), std::invalid_argument);
  CHECK_THROWS_AS(RateLimiter({1, 0.5, 1}), std::invalid_argument);
  CHECK_THROWS_AS(RateLimiter({1, 1, 0}), std::invalid_argument);
}
