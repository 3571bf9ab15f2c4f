#pragma once
// A running fleetcomm server: the three listeners of PROTOCOL.md section 1 on one
// io_context, the database pool, signals (SIGTERM/SIGINT drain, SIGHUP reloads TLS).
#include "server/config.hpp"

namespace fleetcomm::server {

// Blocks until the server has drained after SIGTERM/SIGINT. Returns the process exit code:
// 0 after a clean drain, 1 when it cannot start (schema mismatch, port in use).
int RunServer(const Config& config);

}  // namespace fleetcomm::server
