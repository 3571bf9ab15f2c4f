#pragma once
#include "server/router.hpp"
#include "server/server_state.hpp"

namespace fleetcomm::server {

// Operator device routes (PROTOCOL.md 4.2): pre-provisioning, list, read, assign, revoke.
void AddDeviceAdminRoutes(Router& router, ServerState& state);

}  // namespace fleetcomm::server
