#include "server/connection_registry.hpp"

#include <vector>

namespace fleetcomm::server {

std::uint64_t ConnectionRegistry::Add(Closer close_if_idle) {
  std::lock_guard lock(mutex_);
  const auto id = next_id_++;
  closers_.emplace(id, std::move(close_if_idle));
  return id;
}

void ConnectionRegistry::Remove(std::uint64_t id) {
  std::lock_guard lock(mutex_);
  closers_.erase(id);
}

std::size_t ConnectionRegistry::Size() const {
  std::lock_guard lock(mutex_);
  return closers_.size();
}

void ConnectionRegistry::CloseIdle() {
  std::vector<Closer> closers;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [id, closer] : closers_) closers.push_back(closer);
  }
  for (auto& closer : closers) closer();
}

}  // namespace fleetcomm::server
