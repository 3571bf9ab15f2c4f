#pragma once
// Accepts connections on one listener and spawns a coroutine per connection on its own
// strand. Past limits.max_connections, a new connection is closed at once (and counted):
// accepting it would cost a handshake the server cannot afford.
#include "server/connection.hpp"
#include "server/tls_contexts.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace fleetcomm::server {

// tls: nullptr for the plain ops listener; otherwise picks this listener's context from
// the store at each accept, so a reload applies to new connections only.
// Connections get their own strand of `io_executor`; the acceptor itself belongs to the
// server's control strand, where it is also closed.
boost::asio::awaitable<void> AcceptLoop(boost::asio::ip::tcp::acceptor& acceptor, boost::asio::any_io_executor io_executor,
                                        ListenerContext& listener, const TlsContextStore* tls);

}  // namespace fleetcomm::server
