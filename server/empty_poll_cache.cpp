#include "server/empty_poll_cache.hpp"

#include <algorithm>
#include <functional>

namespace fleetcomm::server {

std::size_t EmptyPollCache::StripeOf(const std::string& client_id) const {
  return std::hash<std::string>{}(client_id) % kStripes;
}

void EmptyPollCache::EraseLocked(std::unordered_map<std::string, Entry>::iterator it) {
  order_.erase(it->second.age);
  entries_.erase(it);
}

std::optional<int> EmptyPollCache::Lookup(const std::string& client_id, const std::string& account_id,
                                          Ticket& ticket, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  ticket = Ticket{Enabled() && listening_, generation_, epochs_[StripeOf(client_id)], now};
  if (!ticket.storable) return std::nullopt;
  const auto it = entries_.find(client_id);
  if (it == entries_.end()) return std::nullopt;
  // A device moved to another account answers with that account's interval.
  if (now >= it->second.until || it->second.account_id != account_id) {
    EraseLocked(it);
    return std::nullopt;
  }
  return it->second.poll_interval_s;
}

void EmptyPollCache::StoreEmpty(const Ticket& ticket, const std::string& client_id, const std::string& account_id,
                                int poll_interval_s, std::chrono::milliseconds quiet_for) {
  const auto until = ticket.started + std::min(quiet_for, options_.ttl);
  std::lock_guard lock(mutex_);
  if (!ticket.storable || !listening_ || ticket.generation != generation_ ||
      ticket.epoch != epochs_[StripeOf(client_id)] || until <= ticket.started) {
    return;
  }
  if (const auto it = entries_.find(client_id); it != entries_.end()) EraseLocked(it);
  while (!order_.empty() && entries_.size() >= options_.capacity) EraseLocked(entries_.find(order_.front()));
  if (options_.capacity == 0) return;
  order_.push_back(client_id);
  entries_.emplace(client_id, Entry{until, account_id, poll_interval_s, std::prev(order_.end())});
}

void EmptyPollCache::Invalidate(const std::string& key) {
  std::lock_guard lock(mutex_);
  if (key.rfind("ac_", 0) == 0) {
    ++generation_;
    for (auto it = entries_.begin(); it != entries_.end();) {
      auto next = std::next(it);
      if (it->second.account_id == key) EraseLocked(it);
      it = next;
    }
    return;
  }
  ++epochs_[StripeOf(key)];
  if (const auto it = entries_.find(key); it != entries_.end()) EraseLocked(it);
}

void EmptyPollCache::ListenerUp() {
  std::lock_guard lock(mutex_);
  ++generation_;
  listening_ = true;
}

void EmptyPollCache::ListenerDown() {
  std::lock_guard lock(mutex_);
  ++generation_;
  listening_ = false;
  entries_.clear();
  order_.clear();
}

EmptyPollCache::Stats EmptyPollCache::GetStats() const {
  std::lock_guard lock(mutex_);
  return {entries_.size(), listening_};
}

}  // namespace fleetcomm::server
