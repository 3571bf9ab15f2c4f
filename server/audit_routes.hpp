#pragma once
// The audit log on the operator listener (PROTOCOL.md 4.4): GET /api/v1/audit (filtered,
// paged, newest first), /api/v1/audit/export (JSON lines, oldest first) and
// /api/v1/audit/verify (the hash chain recomputed).
#include "server/router.hpp"
#include "server/server_state.hpp"

namespace fleetcomm::server {

void AddAuditRoutes(Router& router, ServerState& state);

}  // namespace fleetcomm::server
