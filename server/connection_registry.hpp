#pragma once
// The live connections of the server, so that a drain can close the idle keep-alive ones
// at once instead of waiting for their idle timeout. Each connection registers a closer
// that runs on the connection's own executor (its strand), never on the caller's thread.
// Thread-safe; closers are copied under the lock and invoked outside it.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>

namespace fleetcomm::server {

class ConnectionRegistry {
 public:
  using Closer = std::function<void()>;  // must post itself to the connection's executor

  std::uint64_t Add(Closer close_if_idle);
  void Remove(std::uint64_t id);
  std::size_t Size() const;
  void CloseIdle();

 private:
  mutable std::mutex mutex_;
  std::uint64_t next_id_ = 1;
  std::map<std::uint64_t, Closer> closers_;
};

}  // namespace fleetcomm::server
