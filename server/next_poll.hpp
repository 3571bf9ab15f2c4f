#pragma once
#include <algorithm>
#include <random>

namespace fleetcomm::server {

// The `next_poll_s` devices and agents are told at registration and enrolment (PROTOCOL.md
// 3.1, 3.2): once a day. Polls (3.4) answer the account's own interval instead.
inline constexpr int kDefaultNextPollSeconds = 86400;

// `interval_s` moved uniformly by up to +-`percent`%, so that a fleet told the same interval
// does not come back in lock-step.
inline int JitteredPollSeconds(int interval_s, int percent) {
  thread_local std::minstd_rand engine{std::random_device{}()};
  const int spread = static_cast<int>(static_cast<long long>(interval_s) * percent / 100);
  if (spread <= 0) return interval_s;
  std::uniform_int_distribution<int> offset(-spread, spread);
  return std::max(1, interval_s + offset(engine));
}

}  // namespace fleetcomm::server
