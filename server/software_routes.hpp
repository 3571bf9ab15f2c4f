#pragma once
// The software catalogue (PROTOCOL.md 3.5 and 4): POST /api/v1/software (admins) and
// GET /rs/v1/software (active devices and agents).
#include "server/router.hpp"
#include "server/server_state.hpp"

namespace fleetcomm::server {

void AddSoftwareOperatorRoutes(Router& router, ServerState& state);
void AddSoftwareDeviceRoutes(Router& router, ServerState& state);

}  // namespace fleetcomm::server
