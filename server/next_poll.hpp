#pragma once

namespace fleetcomm::server {

// The `next_poll_s` devices and agents are told (PROTOCOL.md 3.1, 3.2, 3.4): once a day.
// Becomes a per-account setting with jitter when polling arrives (issue 5).
inline constexpr int kDefaultNextPollSeconds = 86400;

}  // namespace fleetcomm::server
