#pragma once
// Device-listener routes of action queues (PROTOCOL.md 3.4): GET /rs/v1/actions (poll) and
// POST /rs/v1/actions/{id}/result, for active devices and agents.
#include "server/router.hpp"
#include "server/server_state.hpp"

namespace fleetcomm::server {

void AddPollRoutes(Router& router, ServerState& state);

}  // namespace fleetcomm::server
