// `fleetcomm jobs` on its own ops listener (ops.listen of its config): /healthz, /readyz
// (database reachable, schema current) and /metrics with the pipelines' job counters by
// pipeline, the batch times, the feed items it sequenced, its pool and the database-derived
// gauges under the server's names; the same job counters on `serve` when it runs pipelines.
#include "tests/support/fleet_actors.hpp"
#include "tests/support/metrics_scrape.hpp"
#include "tests/support/temp_postgres.hpp"
#include "tools/report_writer.hpp"
#include "tools/sample_device.hpp"
#include "tools/zip_writer.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <signal.h>

#include <map>
#include <set>
#include <string>
#include <thread>

using fleetcomm::testing::ConfigOverrides;
using fleetcomm::testing::CreateAccount;
using fleetcomm::testing::CreateOperatorToken;
using fleetcomm::testing::DatabaseOutage;
using fleetcomm::testing::ExposedMetricNames;
using fleetcomm::testing::FleetcommCommand;
using fleetcomm::testing::HttpClient;
using fleetcomm::testing::HttpResult;
using fleetcomm::testing::MetricValue;
using fleetcomm::testing::PostUpload;
using fleetcomm::testing::QueryNumber;
using fleetcomm::testing::RunningFleetcomm;
using fleetcomm::testing::ScrapeAll;
using fleetcomm::testing::ScrapeMetric;
using fleetcomm::testing::ServerProcess;
using fleetcomm::testing::TempDir;
using fleetcomm::testing::WaitForMetric;
using fleetcomm::testing::WriteServerConfig;
using namespace std::chrono_literals;

namespace {

const char* const kPipelines[] = {"meter_reads", "supplies", "diagnostics"};

std::string Done(const std::string& pipeline) {
  return "fleetcomm_pipeline_jobs_done_total{pipeline=\"" + pipeline + "\"}";
}

std::string Failed(const std::string& pipeline) {
  return "fleetcomm_pipeline_jobs_failed_total{pipeline=\"" + pipeline + "\"}";
}

// `fleetcomm jobs` beside `fleetcomm`: the same PKI and database, a config of its own (so an
// ops listener of its own), quick polling.
struct JobsBeside {
  JobsBeside(const RunningFleetcomm& fleetcomm, const ConfigOverrides& overrides = {})
      : process(WriteServerConfig(dir.path(), fleetcomm.pki, fleetcomm.database, WithQuickPolling(overrides)),
                FleetcommCommand::kJobs) {}

  static ConfigOverrides WithQuickPolling(ConfigOverrides overrides) {
    overrides.emplace("pipelines.poll_interval_ms", "50");
    overrides.emplace("pipelines.sequence_interval_ms", "50");
    return overrides;
  }

  TempDir dir;
  ServerProcess process;
};

// An account with every pipeline subscribed, an active device, and one upload of it: jobs
// for meter reads, supplies and diagnostics. Returns the number of jobs by pipeline.
std::map<std::string, long long> UploadMakingJobs(const RunningFleetcomm& fleetcomm, const std::string& report_id) {
  const std::string admin = CreateOperatorToken(fleetcomm, {"--role", "admin"});
  const std::string account =
      CreateAccount(fleetcomm, admin, {{"name", "Jobs"}, {"meter_billing", true}, {"supplies_contract", true}});
  fleetcomm::testing::ProvisionActiveDevice(fleetcomm, admin, account, fleetcomm.pki.device_xrx0001, "XRX0001");
  const auto report = fleetcomm::tools::SampleDeviceReport(report_id, "XRX0001", 123456);
  const std::string zip = fleetcomm::tools::WriteZip({{"report.xml", fleetcomm::tools::WriteReportXml(report)}});
  REQUIRE(PostUpload(fleetcomm, fleetcomm.pki.device_xrx0001, zip).status == 201);
  std::map<std::string, long long> jobs;
  for (const std::string pipeline : kPipelines) {
    jobs[pipeline] = QueryNumber(fleetcomm, "SELECT count(*) FROM pipeline_jobs WHERE pipeline = '" + pipeline + "'");
  }
  REQUIRE(jobs["meter_reads"] == 1);
  REQUIRE(jobs["supplies"] == 1);
  return jobs;
}

// GETs `target` until it answers `status` or `timeout` passes; returns the last answer.
HttpResult WaitForStatus(std::uint16_t port, const std::string& target, unsigned status,
                         std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    HttpResult result = HttpClient(port, std::nullopt, 3s).Get(target);
    if (result.status == status || std::chrono::steady_clock::now() >= deadline) return result;
    std::this_thread::sleep_for(200ms);
  }
}

}  // namespace

TEST_CASE("jobs: the jobs process answers health and readiness and counts the jobs it ran by pipeline on /metrics",
          "[e2e][jobs][metrics]") {
  // The server runs no pipeline: every job is the jobs process's.
  RunningFleetcomm fleetcomm(ConfigOverrides{{"pipelines.workers", "0"}});
  // With the server's own config its ops port is taken: the jobs process says so and exits.
  const auto clash = fleetcomm::testing::RunCommand({"jobs", "--config", fleetcomm.config.path});
  CHECK(clash.exit_code == 2);
  CHECK_THAT(clash.err, Catch::Contains("ops.listen: cannot listen on"));

  JobsBeside jobs(fleetcomm, {{"pipelines.workers", "1"}});
  const auto& ports = jobs.process.ports();

  CHECK(HttpClient(ports.ops, std::nullopt).Get("/healthz").status == 200);
  const HttpResult ready = HttpClient(ports.ops, std::nullopt).Get("/readyz");
  INFO(ready.Describe());
  REQUIRE(ready.status == 200);
  CHECK(nlohmann::json::parse(ready.body).value("status", "") == "ready");

  // Before any job: the counters of every pipeline at 0, none of the serving process's series.
  for (const std::string pipeline : kPipelines) {
    INFO(pipeline);
    CHECK(MetricValue(ports, Done(pipeline)) == 0);
    CHECK(MetricValue(ports, Failed(pipeline)) == 0);
  }
  CHECK(MetricValue(ports, "fleetcomm_feed_items_sequenced_total") == 0);
  const auto exposed = ExposedMetricNames(ScrapeAll(ports));
  for (const std::string serving_only :
       {"fleetcomm_uploads_stored_total", "fleetcomm_tls_handshakes_total", "fleetcomm_action_listener_up",
        "fleetcomm_audit_entries_written_total", "fleetcomm_empty_poll_cache_total",
        "fleetcomm_certificate_expiry_seconds"}) {
    INFO(serving_only);
    CHECK(exposed.count(serving_only) == 0);
  }
  CHECK_FALSE(ScrapeMetric(ports, "fleetcomm_connections_open{listener=\"device\"}"));
  CHECK(ScrapeMetric(ports, "fleetcomm_connections_open{listener=\"ops\"}"));
  CHECK_FALSE(ScrapeMetric(fleetcomm.config.ports, Done("meter_reads")));  // serve runs none here

  const auto expected = UploadMakingJobs(fleetcomm, "6e1c3f7e-0d2a-4c53-9a57-5e5b0f1f2a10");
  for (const auto& [pipeline, count] : expected) {
    INFO(pipeline << "\njobs log:\n" << jobs.process.LogTail());
    const auto done = WaitForMetric(ports, Done(pipeline), [&](double v) { return v >= count; }, 30s);
    CHECK(done.value_or(-1) == count);
    CHECK(MetricValue(ports, Failed(pipeline)) == 0);
  }
  CHECK(QueryNumber(fleetcomm, "SELECT count(*) FROM pipeline_jobs WHERE finished_at IS NULL") == 0);
  CHECK(MetricValue(ports, "fleetcomm_pipeline_batch_duration_seconds_count") >= 1);
  CHECK(MetricValue(ports, "fleetcomm_pipeline_batch_duration_seconds_sum") > 0);

  // Only this process sequences: its counter ends at the number of feed items in the database.
  const long long feed_items = QueryNumber(fleetcomm, "SELECT (SELECT count(*) FROM meter_reads) + "
                                                      "(SELECT count(*) FROM supply_order_events) + "
                                                      "(SELECT count(*) FROM service_events)");
  REQUIRE(feed_items >= 1);
  const auto sequenced = WaitForMetric(ports, "fleetcomm_feed_items_sequenced_total",
                                       [&](double v) { return v >= feed_items; }, 15s);
  CHECK(sequenced.value_or(-1) == feed_items);

  // The server's database gauges, under the server's names.
  CHECK(WaitForMetric(ports, "fleetcomm_database_up", [](double v) { return v == 1; }, 15s).value_or(0) == 1);
  CHECK(WaitForMetric(ports, "fleetcomm_pipeline_jobs_pending{pipeline=\"meter_reads\"}",
                      [](double v) { return v == 0; }, 15s) == 0);
  CHECK(MetricValue(ports, "fleetcomm_db_pool_connections{state=\"total\"}") == 3);  // 1 worker, sequencer, ops
  CHECK(MetricValue(ports, "fleetcomm_db_pool_tasks_total") > 0);
  CHECK(MetricValue(ports, "fleetcomm_http_requests_total{listener=\"ops\",route=\"/readyz\",status=\"200\"}") == 1);

  jobs.process.Signal(SIGTERM);
  CHECK(jobs.process.WaitExit(10s) == 0);
}

TEST_CASE("jobs: serve running pipelines beside a jobs process counts its share of the jobs under the same names",
          "[e2e][jobs][metrics]") {
  RunningFleetcomm fleetcomm;
  JobsBeside jobs(fleetcomm);
  const auto expected = UploadMakingJobs(fleetcomm, "6f1c3f7e-0d2a-4c53-9a57-5e5b0f1f2a10");
  // Whoever claimed them, each job was done exactly once between the two processes.
  for (const auto& [pipeline, count] : expected) {
    INFO(pipeline);
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    double total = 0;
    for (;;) {
      total = MetricValue(fleetcomm.config.ports, Done(pipeline)) + MetricValue(jobs.process.ports(), Done(pipeline));
      if (total >= static_cast<double>(count) || std::chrono::steady_clock::now() >= deadline) break;
      std::this_thread::sleep_for(100ms);
    }
    CHECK(total == count);
  }
  // Every family the jobs process exports is one the server exports too: one dashboard for both.
  const auto serving = ExposedMetricNames(ScrapeAll(fleetcomm.config.ports));
  for (const auto& name : ExposedMetricNames(ScrapeAll(jobs.process.ports()))) {
    INFO(name);
    CHECK(serving.count(name) == 1);
  }
}

TEST_CASE("jobs: readiness and fleetcomm_database_up of the jobs process follow the database", "[e2e][jobs][ops]") {
  RunningFleetcomm fleetcomm(ConfigOverrides{{"pipelines.workers", "0"}});
  JobsBeside jobs(fleetcomm);
  const auto& ports = jobs.process.ports();
  REQUIRE(WaitForStatus(ports.ops, "/readyz", 200, 5s).status == 200);
  REQUIRE(WaitForMetric(ports, "fleetcomm_database_up", [](double v) { return v == 1; }, 15s) == 1);
  {
    DatabaseOutage outage;
    const auto down = WaitForStatus(ports.ops, "/readyz", 503, 10s);
    INFO(down.Describe() << "\njobs log:\n" << jobs.process.LogTail());
    CHECK(down.status == 503);
    CHECK(down.ErrorCode() == "unavailable");
    CHECK(WaitForMetric(ports, "fleetcomm_database_up", [](double v) { return v == 0; }, 15s) == 0);
    CHECK(HttpClient(ports.ops, std::nullopt).Get("/healthz").status == 200);  // the process is fine
    outage.End();
    CHECK(WaitForStatus(ports.ops, "/readyz", 200, 15s).status == 200);
    CHECK(WaitForMetric(ports, "fleetcomm_database_up", [](double v) { return v == 1; }, 15s) == 1);
  }
  CHECK(jobs.process.Running());
}
