#pragma once
#include "server/router.hpp"
#include "server/server_state.hpp"

namespace fleetcomm::server {

// POST /rs/v1/enroll (PROTOCOL.md 3.1): a registration key and a CSR become an agent and
// its certificate.
void AddEnrollmentRoutes(Router& router, ServerState& state);

}  // namespace fleetcomm::server
