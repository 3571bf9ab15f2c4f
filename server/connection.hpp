#pragma once
// One accepted connection, from handshake (for TLS listeners) to close. The coroutine frame
// owns the stream; the connection registers with the server so a drain can close it while
// it is idle.
#include "server/server_state.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include <memory>

namespace fleetcomm::server {

boost::asio::awaitable<void> ServeTlsConnection(boost::asio::ip::tcp::socket socket, ListenerContext& listener,
                                                std::shared_ptr<boost::asio::ssl::context> tls);

boost::asio::awaitable<void> ServePlainConnection(boost::asio::ip::tcp::socket socket, ListenerContext& listener);

}  // namespace fleetcomm::server
