// RunRequestLoop for TLS (the device and operator listeners); see request_loop_impl.hpp.
#include "server/request_loop_impl.hpp"

namespace fleetcomm::server {

template asio::awaitable<std::string> RunRequestLoop<beast::ssl_stream<beast::tcp_stream>>(
    beast::ssl_stream<beast::tcp_stream>&, ConnectionInfo&, ListenerContext&);

}  // namespace fleetcomm::server
