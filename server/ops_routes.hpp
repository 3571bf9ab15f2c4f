#pragma once
#include "server/router.hpp"
#include "server/server_state.hpp"

namespace fleetcomm::server {

// /healthz (process alive), /readyz (database reachable, schema current), /metrics.
void AddOpsRoutes(Router& router, ServerState& state);

}  // namespace fleetcomm::server
