#pragma once
#include <string>

namespace fleetcomm::server {

// 16 hex characters from a per-thread generator: unique enough to find one request in the
// logs and the audit trail, cheap enough for every request.
std::string NewRequestId();

}  // namespace fleetcomm::server
