#pragma once
#include "server/router.hpp"
#include "server/server_state.hpp"

namespace fleetcomm::server {

// The operator listener's routes (/api/v1, PROTOCOL.md section 4).
void AddOperatorRoutes(Router& router, ServerState& state);

}  // namespace fleetcomm::server
