#pragma once
// The ops listener (/healthz, /readyz, /metrics: server/ops_routes.hpp) for a process that
// serves nothing else, `fleetcomm jobs`: the server's acceptor, request loop and routes, on
// one thread of its own. The ServerState it hands them has the other listeners' parts idle
// (audit off, caches off, no agent CA): the ops listener uses none of them.
#include "server/config.hpp"
#include "server/metrics.hpp"
#include "storage/db_pool.hpp"

#include <memory>

namespace fleetcomm::server {

class OpsEndpoint {
 public:
  // Binds ops.listen at once (ConfigError when it cannot); serves only from Start, so `pool`
  // may be constructed after this object. It must be: database tasks of requests post their
  // completions to this object's thread, so the pool has to go between Stop and the destructor.
  OpsEndpoint(const Config& config, storage::DbPool& pool, ServerMetrics& metrics);
  ~OpsEndpoint();
  OpsEndpoint(const OpsEndpoint&) = delete;
  OpsEndpoint& operator=(const OpsEndpoint&) = delete;

  void Start();
  // Stops accepting, closes idle connections, waits up to shutdown.drain_timeout_s for
  // requests in flight, then stops the thread: no request code runs after it returns.
  void Stop();

 private:
  struct Parts;
  std::unique_ptr<Parts> parts_;
};

}  // namespace fleetcomm::server
