#include "server/identity_cache.hpp"

namespace fleetcomm::server {

void IdentityCache::EraseLocked(std::unordered_map<std::string, Entry>::iterator it) {
  auto [first, last] = by_client_.equal_range(it->second.identity.id);
  for (; first != last; ++first) {
    if (first->second == it->first) {
      by_client_.erase(first);
      break;
    }
  }
  order_.erase(it->second.age);
  entries_.erase(it);
}

std::optional<IdentityCache::Found> IdentityCache::Find(const std::string& fingerprint, std::uint64_t& generation,
                                                        Clock::time_point now) {
  std::lock_guard lock(mutex_);
  generation = generation_;
  const auto it = entries_.find(fingerprint);
  if (it == entries_.end()) return std::nullopt;
  if (now - it->second.read_at >= ttl_) {
    EraseLocked(it);
    return std::nullopt;
  }
  return Found{it->second.identity, it->second.read_at};
}

void IdentityCache::Store(const std::string& fingerprint, const storage::ClientIdentity& identity,
                          std::uint64_t generation, Clock::time_point read_at) {
  // Pending and revoked clients are refused anyway: remembering them would only delay an
  // assignment reaching a new connection.
  if (identity.state != "active") return;
  std::lock_guard lock(mutex_);
  if (ttl_.count() <= 0 || capacity_ == 0 || generation != generation_) return;
  if (const auto it = entries_.find(fingerprint); it != entries_.end()) EraseLocked(it);
  while (!order_.empty() && entries_.size() >= capacity_) EraseLocked(entries_.find(order_.front()));
  order_.push_back(fingerprint);
  entries_.emplace(fingerprint, Entry{identity, read_at, std::prev(order_.end())});
  by_client_.emplace(identity.id, fingerprint);
}

void IdentityCache::Invalidate(const std::string& key) {
  if (key.rfind("dv_", 0) != 0 && key.rfind("ag_", 0) != 0) return;
  std::lock_guard lock(mutex_);
  ++generation_;
  for (auto found = by_client_.find(key); found != by_client_.end(); found = by_client_.find(key)) {
    EraseLocked(entries_.find(found->second));
  }
}

void IdentityCache::Clear() {
  std::lock_guard lock(mutex_);
  ++generation_;
  entries_.clear();
  by_client_.clear();
  order_.clear();
}

std::size_t IdentityCache::Size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

}  // namespace fleetcomm::server
