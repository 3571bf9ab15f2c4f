#pragma once
#include "server/router.hpp"
#include "server/server_state.hpp"

namespace fleetcomm::server {

// /api/v1/accounts and their registration keys (PROTOCOL.md section 4).
void AddAccountRoutes(Router& router, ServerState& state);

}  // namespace fleetcomm::server
