#include "server/rate_limiter.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace fleetcomm::server {

RateLimiter::RateLimiter(Options options, Clock clock) : options_(options), clock_(std::move(clock)) {
  if (!(options_.per_minute > 0) || !(options_.burst >= 1) || options_.max_keys < 1) {
    throw std::invalid_argument("rate limiter: per_minute must be > 0, burst >= 1 and max_keys >= 1");
  }
}

RateLimiter::Decision RateLimiter::Acquire(const std::string& key) {
  const auto now = clock_();
  const double per_second = options_.per_minute / 60.0;
  std::lock_guard lock(mutex_);
  auto it = buckets_.find(key);
  if (it == buckets_.end()) {
    if (buckets_.size() >= options_.max_keys) {
      buckets_.erase(recency_.back());
      recency_.pop_back();
    }
    recency_.push_front(key);
    it = buckets_.emplace(key, Bucket{options_.burst, now, recency_.begin()}).first;
  } else {
    // A clock that went backwards (it should not: steady) refills nothing.
    const double elapsed = std::max(0.0, std::chrono::duration<double>(now - it->second.updated).count());
    it->second.tokens = std::min(options_.burst, it->second.tokens + elapsed * per_second);
    it->second.updated = now;
    recency_.splice(recency_.begin(), recency_, it->second.recency);
  }
  Bucket& bucket = it->second;
  // The epsilon absorbs floating-point refill error: 6 s at 10/min is one whole attempt.
  constexpr double kEpsilon = 1e-9;
  if (bucket.tokens >= 1 - kEpsilon) {
    bucket.tokens -= 1;
    return {true, std::chrono::seconds(0)};
  }
  const double wait = std::ceil((1 - bucket.tokens) * 60.0 / options_.per_minute - kEpsilon);
  return {false, std::chrono::seconds(std::max(1LL, static_cast<long long>(wait)))};
}

std::size_t RateLimiter::TrackedKeys() const {
  std::lock_guard lock(mutex_);
  return buckets_.size();
}

}  // namespace fleetcomm::server
