#include "server/pipeline_service.hpp"

#include "server/blocking_db.hpp"
#include "server/log.hpp"
#include "storage/embedded.hpp"
#include "storage/migrator.hpp"

#include <csignal>
#include <pthread.h>

namespace fleetcomm::server {

jobs::PipelineRunnerOptions PipelineRunnerOptionsFrom(const Config& config) {
  jobs::PipelineRunnerOptions options;
  options.workers = config.pipeline_workers;
  options.poll_interval = config.pipeline_poll_interval;
  options.sequence_interval = config.pipeline_sequence_interval;
  options.pipeline.batch_size = config.pipeline_batch_size;
  options.pipeline.retry_base = config.pipeline_retry_base;
  options.pipeline.retry_max = config.pipeline_retry_max;
  options.pipeline.meter.max_pages_per_minute = config.meter_max_pages_per_minute;
  options.pipeline.supplies.refill_margin_percent = config.supply_refill_margin_percent;
  return options;
}

std::unique_ptr<jobs::PipelineRunner> StartPipelines(storage::DbPool& pool, const Config& config) {
  if (config.pipeline_workers == 0) return nullptr;
  return std::make_unique<jobs::PipelineRunner>(pool, PipelineRunnerOptionsFrom(config),
                                                [](std::string_view what, std::string_view error) {
                                                  Log(LogLevel::kError, "job_failed", {{"job", what}, {"error", error}});
                                                });
}

int RunJobs(const Config& config) {
  // Blocked before any thread starts, so that every thread inherits the mask and sigwait
  // below is the only taker.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  // One connection per worker and one for the sequencer: the runner never waits for another.
  storage::DbPool pool({config.DatabaseConnInfo(), std::max(1, config.pipeline_workers) + 1, 64});
  auto schema = RunDbBlocking<storage::SchemaState>(pool, [](pqxx::connection_base& conn) {
    return storage::CheckSchema(conn, storage::EmbeddedMigrations());
  });
  if (!schema && schema.error().code == storage::StorageErrc::kSchemaMismatch) {
    Log(LogLevel::kError, "schema_mismatch", {{"detail", schema.error().detail}});
    return 1;
  }
  Config jobs_config = config;
  jobs_config.pipeline_workers = std::max(1, config.pipeline_workers);
  auto runner = StartPipelines(pool, jobs_config);
  Log(LogLevel::kInfo, "jobs_started", {{"workers", jobs_config.pipeline_workers}});
  int signal = 0;
  sigwait(&signals, &signal);
  Log(LogLevel::kInfo, "jobs_stopping", {{"signal", signal}});
  runner.reset();
  Log(LogLevel::kInfo, "jobs_stopped");
  return 0;
}

}  // namespace fleetcomm::server
