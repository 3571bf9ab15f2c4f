#pragma once
#include "server/router.hpp"
#include "server/server_state.hpp"

namespace fleetcomm::server {

// Operator agent routes (PROTOCOL.md 4): list, read, revoke.
void AddAgentAdminRoutes(Router& router, ServerState& state);

}  // namespace fleetcomm::server
