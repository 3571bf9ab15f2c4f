#pragma once
// The pipelines' runner as the server's processes run it: inside `fleetcomm serve` (on the
// server's database pool) and alone as `fleetcomm jobs --config FILE` (server/jobs_process.hpp,
// on a pool of its own), so that the pipelines can be scaled apart from the listeners.
#include "jobs/pipeline_runner.hpp"
#include "server/config.hpp"
#include "server/metrics.hpp"

#include <memory>

namespace fleetcomm::server {

jobs::PipelineRunnerOptions PipelineRunnerOptionsFrom(const Config& config);

// Nullptr when pipelines.workers is 0. Errors are logged as `job_failed`; jobs done and failed
// by pipeline, batch times and feed items sequenced go to `metrics`.
std::unique_ptr<jobs::PipelineRunner> StartPipelines(storage::DbPool& pool, const Config& config,
                                                     ServerMetrics& metrics);

}  // namespace fleetcomm::server
