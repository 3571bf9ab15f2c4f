#pragma once
// Operator routes of action queues (PROTOCOL.md 4): queue for a device or an agent, list,
// read with history and result, authorise, cancel. Scope is enforced in storage queries
// (out-of-scope ids read as absent: 404).
#include "server/router.hpp"
#include "server/server_state.hpp"

namespace fleetcomm::server {

void AddActionRoutes(Router& router, ServerState& state);

}  // namespace fleetcomm::server
