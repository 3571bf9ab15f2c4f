#pragma once
#include "server/router.hpp"
#include "server/server_state.hpp"

namespace fleetcomm::server {

// POST /rs/v1/renew (PROTOCOL.md 3.1): an active agent trades a CSR for a new certificate.
void AddRenewalRoutes(Router& router, ServerState& state);

}  // namespace fleetcomm::server
