#include "server/listener.hpp"

#include "server/log.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace fleetcomm::server {

namespace asio = boost::asio;

namespace {

void ReportSessionEnd(std::exception_ptr error) {
  if (!error) return;
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    Log(LogLevel::kError, "session_failed", {{"error", e.what()}});
  }
}

}  // namespace

std::string Describe(const ListenAddress& address) { return address.host + ":" + std::to_string(address.port); }

asio::ip::tcp::acceptor Bind(asio::any_io_executor executor, const ListenAddress& address, const char* setting) {
  boost::system::error_code ec;
  const auto ip = asio::ip::make_address(address.host, ec);
  if (ec) throw ConfigError(std::string(setting) + ": '" + address.host + "' is not an IP address");
  asio::ip::tcp::acceptor acceptor(executor);
  const asio::ip::tcp::endpoint endpoint(ip, address.port);
  acceptor.open(endpoint.protocol());
  acceptor.set_option(asio::socket_base::reuse_address(true));
  acceptor.bind(endpoint, ec);
  if (ec) throw ConfigError(std::string(setting) + ": cannot listen on " + Describe(address) + ": " + ec.message());
  acceptor.listen(asio::socket_base::max_listen_connections);
  return acceptor;
}

asio::awaitable<void> AcceptLoop(asio::ip::tcp::acceptor& acceptor, asio::any_io_executor io_executor,
                                 ListenerContext& listener, const TlsContextStore* tls) {
  auto executor = co_await asio::this_coro::executor;
  const int max_connections = listener.state.config.max_connections;
  for (;;) {
    asio::ip::tcp::socket socket(asio::make_strand(io_executor));
    auto [ec] = co_await acceptor.async_accept(socket, asio::as_tuple(asio::use_awaitable));
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
    if (ec) {
      // Out of descriptors or a transient network error: pause instead of spinning.
      Log(LogLevel::kWarn, "accept_failed", {{"listener", ListenerName(listener.kind)}, {"error", ec.message()}});
      asio::steady_timer pause(executor, std::chrono::milliseconds(100));
      co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    if (listener.open_connections.fetch_add(1) >= max_connections) {
      listener.open_connections.fetch_sub(1);
      listener.state.metrics.ConnectionRefused(listener.kind, "max_connections");
      boost::system::error_code ignored;
      socket.close(ignored);
      continue;
    }
    // The server writes a TLS 1.3 connection's session tickets, then its first answer: with
    // Nagle's algorithm the answer waited for the client's delayed ACK of the tickets
    // (40 ms on Linux) on every new connection. nginx sets it too (tcp_nodelay on).
    boost::system::error_code nodelay_ignored;
    socket.set_option(asio::ip::tcp::no_delay(true), nodelay_ignored);
    auto connection_executor = socket.get_executor();
    if (tls != nullptr) {
      auto contexts = tls->Current();
      auto context = listener.kind == ListenerKind::kDevice ? contexts.device : contexts.operator_api;
      asio::co_spawn(connection_executor, ServeTlsConnection(std::move(socket), listener, std::move(context)),
                     ReportSessionEnd);
    } else {
      asio::co_spawn(connection_executor, ServePlainConnection(std::move(socket), listener), ReportSessionEnd);
    }
  }
}

}  // namespace fleetcomm::server
