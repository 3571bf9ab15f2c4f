#pragma once
#include "server/router.hpp"
#include "server/server_state.hpp"

namespace fleetcomm::server {

// The device listener's routes (/rs/v1, PROTOCOL.md section 3).
void AddDeviceRoutes(Router& router, ServerState& state);

}  // namespace fleetcomm::server
