#pragma once
// The HTTP/1.1 request loop of one connection, for plain and TLS streams alike: reads each
// request within the configured limits and deadlines, refuses ambiguous framing, applies
// the overload guard and the listener's access rule before reading a body, dispatches to
// the route, writes the answer, and says why the connection ended.
#include "server/server_state.hpp"

#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <chrono>
#include <optional>
#include <string>

namespace fleetcomm::server {

// Per-connection facts the loop needs and the drain logic reads.
struct ConnectionInfo {
  std::string id;
  std::string remote_address;
  // Device listener: the result of inspecting the verified peer certificate, if one was sent.
  std::optional<auth::AuthResult<auth::ClientCertificate>> certificate;
  bool agent_certificate = false;  // signed by fleetcomm's agent CA rather than a manufacturer's
  // The identity behind the certificate, re-read after device.identity_cache_seconds so that
  // a revocation reaches long keep-alive connections on every instance.
  std::optional<storage::ClientIdentity> identity;
  std::chrono::steady_clock::time_point identity_resolved_at;
  bool idle = false;  // waiting for the next request; only touched on the connection's strand
};

// Returns the reason the connection ends (named after the limit or event), for the log.
template <class Stream>
boost::asio::awaitable<std::string> RunRequestLoop(Stream& stream, ConnectionInfo& connection,
                                                   ListenerContext& listener);

}  // namespace fleetcomm::server
