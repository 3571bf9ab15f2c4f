#pragma once
// POST /rs/v1/uploads (PROTOCOL.md 3.3): a zipped report from a device or an agent,
// inflated and parsed off the I/O threads, stored in one transaction before the answer.
#include "server/router.hpp"
#include "server/server_state.hpp"

namespace fleetcomm::server {

void AddUploadRoutes(Router& router, ServerState& state);

}  // namespace fleetcomm::server
