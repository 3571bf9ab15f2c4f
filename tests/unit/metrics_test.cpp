// ServerMetrics as each process exports it: `serve` everything, `fleetcomm jobs` only what a
// process without device and operator listeners has; the pipeline runner's counters by
// pipeline from 0, moved by each committed batch.
#include "server/metrics.hpp"
#include "storage/pipeline_jobs.hpp"

#include <catch2/catch.hpp>

#include <sstream>
#include <string>

using fleetcomm::server::ListenerKind;
using fleetcomm::server::ServerMetrics;
namespace storage = fleetcomm::storage;

namespace {

// The value of the sample `name` (with its labels as exposed), or -1 when absent.
double Sample(const std::string& exposition, const std::string& name) {
  std::istringstream lines(exposition);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(name + " ", 0) == 0) return std::stod(line.substr(name.size() + 1));
  }
  return -1;
}

bool HasFamily(const std::string& exposition, const std::string& family) {
  return exposition.find("\n# TYPE " + family + " ") != std::string::npos ||
         exposition.rfind("# TYPE " + family + " ", 0) == 0;
}

}  // namespace

TEST_CASE("metrics: a jobs process exports the shared families only, the server all of them", "[metrics]") {
  ServerMetrics jobs(ServerMetrics::Process::kJobs);
  ServerMetrics serve;
  for (ServerMetrics* metrics : {&jobs, &serve}) {
    metrics->SetDatabaseUp(true);
    metrics->ObserveRequest(ListenerKind::kOps, "/metrics", 200, 0.001, 0, 10);
  }
  const std::string from_jobs = jobs.Serialize({});
  const std::string from_serve = serve.Serialize({});
  for (const std::string shared : {"fleetcomm_database_up", "fleetcomm_db_pool_connections",
                                   "fleetcomm_http_requests_total", "fleetcomm_connections_open"}) {
    INFO(shared);
    CHECK(HasFamily(from_jobs, shared));
    CHECK(HasFamily(from_serve, shared));
  }
  for (const std::string serving : {"fleetcomm_uploads_stored_total", "fleetcomm_tls_handshakes_total",
                                    "fleetcomm_action_listener_up", "fleetcomm_audit_entries_written_total",
                                    "fleetcomm_empty_poll_cache_total", "fleetcomm_identity_lookups_total"}) {
    INFO(serving);
    CHECK_FALSE(HasFamily(from_jobs, serving));
    CHECK(HasFamily(from_serve, serving));
  }
  CHECK(Sample(from_jobs, "fleetcomm_connections_open{listener=\"ops\"}") == 0);
  CHECK(Sample(from_jobs, "fleetcomm_connections_open{listener=\"device\"}") == -1);
  CHECK(Sample(from_serve, "fleetcomm_connections_open{listener=\"device\"}") == 0);
}

TEST_CASE("metrics: the pipeline counters start at 0 for every pipeline and count batches by pipeline",
          "[metrics]") {
  ServerMetrics metrics(ServerMetrics::Process::kJobs);
  CHECK(Sample(metrics.Serialize({}), "fleetcomm_pipeline_jobs_done_total{pipeline=\"meter_reads\"}") == -1);
  metrics.PipelinesStarted(storage::PipelineNames());
  std::string exposed = metrics.Serialize({});
  for (const auto& pipeline : storage::PipelineNames()) {
    INFO(pipeline);
    CHECK(Sample(exposed, "fleetcomm_pipeline_jobs_done_total{pipeline=\"" + pipeline + "\"}") == 0);
    CHECK(Sample(exposed, "fleetcomm_pipeline_jobs_failed_total{pipeline=\"" + pipeline + "\"}") == 0);
  }
  CHECK(Sample(exposed, "fleetcomm_pipeline_batch_duration_seconds_count") == 0);
  CHECK(Sample(exposed, "fleetcomm_feed_items_sequenced_total") == 0);

  storage::PipelineBatch batch;
  batch.claimed = 6;
  batch.done = 5;
  batch.failed = 1;
  batch.by_pipeline["meter_reads"] = {4, 1};
  batch.by_pipeline["diagnostics"] = {1, 0};
  metrics.PipelineBatchCommitted(batch, 0.2);
  metrics.PipelineBatchCommitted(batch, 0.02);
  metrics.FeedItemsSequenced(7);
  exposed = metrics.Serialize({});
  CHECK(Sample(exposed, "fleetcomm_pipeline_jobs_done_total{pipeline=\"meter_reads\"}") == 8);
  CHECK(Sample(exposed, "fleetcomm_pipeline_jobs_failed_total{pipeline=\"meter_reads\"}") == 2);
  CHECK(Sample(exposed, "fleetcomm_pipeline_jobs_done_total{pipeline=\"diagnostics\"}") == 2);
  CHECK(Sample(exposed, "fleetcomm_pipeline_jobs_done_total{pipeline=\"supplies\"}") == 0);
  CHECK(Sample(exposed, "fleetcomm_pipeline_batch_duration_seconds_count") == 2);
  CHECK(Sample(exposed, "fleetcomm_pipeline_batch_duration_seconds_sum") == Approx(0.22));
  CHECK(Sample(exposed, "fleetcomm_pipeline_batch_duration_seconds_bucket{le=\"0.025\"}") == 1);
  CHECK(Sample(exposed, "fleetcomm_feed_items_sequenced_total") == 7);
}
