#pragma once
// What every connection of a running server shares. Owned by Server; outlives every
// session because Server::Run drains them before destroying it. `fleetcomm jobs` builds one
// for its ops listener alone (server/ops_endpoint.hpp), with the other listeners' parts idle.
#include "server/config.hpp"
#include "server/connection_registry.hpp"
#include "server/empty_poll_cache.hpp"
#include "server/identity_cache.hpp"
#include "server/metrics.hpp"
#include "server/router.hpp"
#include "storage/db_pool.hpp"

#include <atomic>

namespace boost::asio {
class thread_pool;
}

namespace fleetcomm::auth {
class AgentCertificateIssuer;
class TrustAnchor;
}

namespace fleetcomm::server {
class UploadGroupCommit;
}

namespace fleetcomm::server {

class AuditWriter;

struct ServerState {
  const Config& config;
  storage::DbPool& pool;
  boost::asio::thread_pool& cpu;  // inflating and parsing uploads, off the I/O threads
  UploadGroupCommit& upload_writer;
  ServerMetrics& metrics;
  const auth::AgentCertificateIssuer* agent_issuer;  // null when agent.ca_key is not set
  // Tells agents' certificates from devices'; null in a process without a device listener.
  const auth::TrustAnchor* agent_anchor;
  EmptyPollCache& empty_polls;
  IdentityCache& identities;
  AuditWriter& audit;                                 // batch writer of the audit log
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
