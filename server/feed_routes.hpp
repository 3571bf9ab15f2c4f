#pragma once
// The downstream feeds (PROTOCOL.md 4.5): GET /api/v1/feeds/meter-reads, /supply-orders and
// /service-events, and POST /api/v1/supply-orders/{id}/status, for `consumer` and `admin` tokens.
#include "server/router.hpp"
#include "server/server_state.hpp"

namespace fleetcomm::server {

void AddFeedRoutes(Router& router, ServerState& state);

}  // namespace fleetcomm::server
