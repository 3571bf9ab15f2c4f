#pragma once
// The `fleetcomm` command line (PROTOCOL.md section 6): serve, migrate, token create.
#include <string>
#include <vector>

namespace fleetcomm::server {

// Returns the process exit code: 0 success, 1 failure at run time, 2 bad usage or config.
int RunCommandLine(const std::vector<std::string>& args);

}  // namespace fleetcomm::server
