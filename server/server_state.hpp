#pragma once
// What every connection of a running server shares. Owned by Server; outlives every
// session because Server::Run drains them before destroying it.
#include "server/config.hpp"
#include "server/connection_registry.hpp"
#include "server/metrics.hpp"
#include "server/router.hpp"
#include "storage/db_pool.hpp"

#include <atomic>

namespace fleetcomm::auth {
class AgentCertificateIssuer;
}

namespace fleetcomm::server {

struct ServerState {
  const Config& config;
  storage::DbPool& pool;
  ServerMetrics& metrics;
  const auth::AgentCertificateIssuer* agent_issuer;  // null when agent.ca_key is not set
  std::atomic<int> in_flight{0};
  std::atomic<bool> draining{false};
  ConnectionRegistry connections;
};

// One per listener: which listener, its routes, and who may call unmatched paths.
struct ListenerContext {
  ListenerKind kind;
  const Router& router;
  ServerState& state;
  std::atomic<int> open_connections{0};
};

}  // namespace fleetcomm::server
