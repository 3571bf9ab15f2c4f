#include "server/pipeline_service.hpp"

#include "server/log.hpp"

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

std::unique_ptr<jobs::PipelineRunner> StartPipelines(storage::DbPool& pool, const Config& config,
                                                     ServerMetrics& metrics) {
  if (config.pipeline_workers == 0) return nullptr;
  metrics.PipelinesStarted(storage::PipelineNames());
  jobs::PipelineRunnerEvents events;
  events.error = [](std::string_view what, std::string_view error) {
    Log(LogLevel::kError, "job_failed", {{"job", what}, {"error", error}});
  };
  events.batch = [&metrics](const storage::PipelineBatch& batch, std::chrono::duration<double> took) {
    metrics.PipelineBatchCommitted(batch, took.count());
  };
  events.sequenced = [&metrics](long long items) { metrics.FeedItemsSequenced(items); };
  return std::make_unique<jobs::PipelineRunner>(pool, PipelineRunnerOptionsFrom(config), std::move(events));
}

}  // namespace fleetcomm::server
