#pragma once
// Accepts connections on one listener and spawns a coroutine per connection on its own
// strand. Past limits.max_connections, a new connection is closed at once (and counted):
// accepting it would cost a handshake the server cannot afford.
#include "server/config.hpp"
#include "server/connection.hpp"
#include "server/tls_contexts.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace fleetcomm::server {

// "host:port", for logs and errors.
std::string Describe(const ListenAddress& address);

// A listening acceptor on `address`; ConfigError naming `setting` (the config key) when the
// host is not an IP address or the port cannot be bound.
boost::asio::ip::tcp::acceptor Bind(boost::asio::any_io_executor executor, const ListenAddress& address,
                                    const char* setting);

// tls: nullptr for the plain ops listener; otherwise picks this listener's context from
// the store at each accept, so a reload applies to new connections only.
// Connections get their own strand of `io_executor`; the acceptor itself belongs to the
// server's control strand, where it is also closed.
boost::asio::awaitable<void> AcceptLoop(boost::asio::ip::tcp::acceptor& acceptor, boost::asio::any_io_executor io_executor,
                                        ListenerContext& listener, const TlsContextStore* tls);

}  // namespace fleetcomm::server
