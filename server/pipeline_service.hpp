#pragma once
// The pipelines' runner as the server's processes run it: inside `fleetcomm serve` (on the
// server's database pool) and alone as `fleetcomm jobs --config FILE` (on a pool of its own),
// so that the pipelines can be scaled apart from the listeners.
#include "jobs/pipeline_runner.hpp"
#include "server/config.hpp"

#include <memory>

namespace fleetcomm::server {

jobs::PipelineRunnerOptions PipelineRunnerOptionsFrom(const Config& config);

// Nullptr when pipelines.workers is 0. Errors are logged as `job_failed`.
std::unique_ptr<jobs::PipelineRunner> StartPipelines(storage::DbPool& pool, const Config& config);

// `fleetcomm jobs`: runs the pipelines until SIGTERM or SIGINT; the process exit code.
int RunJobs(const Config& config);

}  // namespace fleetcomm::server
