#include "server/jobs_process.hpp"

#include "jobs/periodic_runner.hpp"
#include "server/database_probes.hpp"
#include "server/listener.hpp"
#include "server/log.hpp"
#include "server/ops_endpoint.hpp"
#include "server/pipeline_service.hpp"

#include <algorithm>
#include <csignal>
#include <optional>
#include <pthread.h>

namespace fleetcomm::server {
namespace {

Config WithWorkers(Config config) {
  config.pipeline_workers = std::max(1, config.pipeline_workers);
  return config;
}

// Declaration order is teardown order reversed, and it matters: the pool goes after the ops
// listener stopped (no request starts a database task any more) and before the listener's
// thread pool (the pool's last completions are posted there).
class JobsProcess {
 public:
  explicit JobsProcess(const Config& config)
      : config_(WithWorkers(config)),
        metrics_(ServerMetrics::Process::kJobs),
        ops_(config_, pool_, metrics_),
        // One connection per worker and one for the sequencer, so that the runner never waits
        // for another, and one for the database probes and /readyz.
        pool_({config_.DatabaseConnInfo(), config_.pipeline_workers + 2, 64}) {}

  ~JobsProcess() {
    pipelines_.reset();  // the batch in progress finishes, observable on /metrics meanwhile
    probes_.reset();
    ops_.Stop();
  }
  JobsProcess(const JobsProcess&) = delete;
  JobsProcess& operator=(const JobsProcess&) = delete;

  bool Ready() { return SchemaAllowsStart(pool_); }

  void Start() {
    ops_.Start();
    probes_.emplace(DatabaseProbeTasks(pool_, metrics_), [](std::string_view task, std::string_view error) {
      Log(LogLevel::kError, "job_failed", {{"job", task}, {"error", error}});
    });
    pipelines_ = StartPipelines(pool_, config_, metrics_);
    Log(LogLevel::kInfo, "jobs_started", {{"workers", config_.pipeline_workers}, {"ops", Describe(config_.ops_listen)}});
  }

 private:
  const Config config_;
  ServerMetrics metrics_;
  OpsEndpoint ops_;
  storage::DbPool pool_;
  std::optional<jobs::PeriodicRunner> probes_;
  std::unique_ptr<jobs::PipelineRunner> pipelines_;
};

}  // namespace

int RunJobs(const Config& config) {
  // Blocked before any thread starts, so that every thread inherits the mask and sigwait
  // below is the only taker.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  {
    JobsProcess process(config);
    if (!process.Ready()) return 1;
    process.Start();
    int signal = 0;
    sigwait(&signals, &signal);
    Log(LogLevel::kInfo, "jobs_stopping", {{"signal", signal}});
  }
  Log(LogLevel::kInfo, "jobs_stopped");
  return 0;
}

}  // namespace fleetcomm::server
