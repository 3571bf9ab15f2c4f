#pragma once
// When the certificates the server relies on expire, for the metrics and their alert: the
// listeners' own chains and the CAs that clients' certificates are checked against. Read
// from the configured files at start and after each successful SIGHUP reload.
#include "server/config.hpp"

#include <chrono>
#include <string>
#include <vector>

namespace fleetcomm::server {

struct CertificateExpiry {
  std::string role;  // device_server | operator_server | agent_ca | device_trust_anchors
  std::chrono::system_clock::time_point not_after;  // the soonest of the role's certificates
};

// Every certificate of a role's files counts (a chain's intermediates expire too); a role
// without files is left out. Throws ConfigError naming a file that holds no certificate.
std::vector<CertificateExpiry> ReadCertificateExpiries(const Config& config);

}  // namespace fleetcomm::server
