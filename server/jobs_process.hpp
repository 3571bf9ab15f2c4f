#pragma once
// `fleetcomm jobs --config FILE`: the pipelines alone, on a database pool of their own, with
// the ops listener of the same config (ops.listen: /healthz, /readyz, /metrics) so that the
// process is probed and scraped like a server. A jobs process beside a server on one host
// therefore needs a config file of its own (or FLEETCOMM_OPS_LISTEN), like a second server.
#include "server/config.hpp"

namespace fleetcomm::server {

// Runs until SIGTERM or SIGINT (the batch in progress finishes first); the process exit code:
// 0, or 1 when the database's schema is not this build's. ConfigError when ops.listen cannot
// be bound.
int RunJobs(const Config& config);

}  // namespace fleetcomm::server
