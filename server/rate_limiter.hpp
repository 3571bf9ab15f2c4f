#pragma once
// Token buckets per key (a client address, a registration-key digest): each key may spend
// `burst` attempts at once and regains `per_minute` of them per minute. State lives in
// this process only, so N instances behind a load balancer allow up to N times the rate;
// that still turns guessing registration keys into a hopeless job.
//
// Memory is bounded: past `max_keys` tracked keys the least recently used one is
// forgotten (which hands it a full bucket if it comes back). Thread-safe.
#include <chrono>
#include <cstddef>
#include <functional>
#include <list>
#include <mutex>
#include <string>
#include <unordered_map>

namespace fleetcomm::server {

class RateLimiter {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  struct Options {
    double per_minute = 10;
    double burst = 20;
    std::size_t max_keys = 10000;
  };

  struct Decision {
    bool allowed = false;
    std::chrono::seconds retry_after{0};  // when refused: until one attempt is available again (>= 1 s)
  };

  // Throws std::invalid_argument unless per_minute > 0, burst >= 1 and max_keys >= 1.
  explicit RateLimiter(Options options, Clock clock = [] { return std::chrono::steady_clock::now(); });

  // Spends one attempt of `key` if it has one; a refused attempt spends nothing.
  Decision Acquire(const std::string& key);

  std::size_t TrackedKeys() const;

 private:
  struct Bucket {
    double tokens = 0;
    std::chrono::steady_clock::time_point updated;
    std::list<std::string>::iterator recency;  // position in recency_
  };

  Options options_;
  Clock clock_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Bucket> buckets_;
  std::list<std::string> recency_;  // most recently used first
};

}  // namespace fleetcomm::server
