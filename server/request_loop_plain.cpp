// RunRequestLoop for plain TCP (the ops listener); see request_loop_impl.hpp.
#include "server/request_loop_impl.hpp"

namespace fleetcomm::server {

template asio::awaitable<std::string> RunRequestLoop<beast::tcp_stream>(beast::tcp_stream&, ConnectionInfo&,
                                                                        ListenerContext&);

}  // namespace fleetcomm::server
