// The pipelines against the migrated schema: the outbox written with uploads, the runner's
// claims, retries and sharing, the meter-read rules (R5.1) and the feed sequencer (4.5).
#include "storage/accounts.hpp"
#include "storage/devices.hpp"
#include "storage/feeds.hpp"
#include "storage/pipeline_jobs.hpp"
#include "storage/uploads.hpp"
#include "tests/support/temp_postgres.hpp"
#include "tools/sample_device.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <cstdio>
#include <string>
#include <thread>

namespace storage = fleetcomm::storage;
namespace protocol = fleetcomm::protocol;
using fleetcomm::testing::QueryNumber;
using fleetcomm::testing::TempPostgres;
using nlohmann::json;

namespace {

std::string NewAccount(pqxx::connection& conn, bool meter_billing = true) {
  storage::AccountFields fields;
  fields.name = "Acme";
  fields.meter_billing = meter_billing;
  return storage::CreateAccount(conn, fields).value().id;
}

std::string ActiveDevice(pqxx::connection& conn, const std::string& account, const std::string& serial) {
  storage::ProvisionDevice(conn, account, "Xerox", serial).value();
  const std::string fingerprint(64, static_cast<char>('a' + serial.back() % 6));
  return storage::RegisterDevice(conn, {"Xerox", serial, "C8155", "1.0", std::nullopt, fingerprint}).value().device.id;
}

std::string ReportId(int n) {
  char id[40];
  std::snprintf(id, sizeof id, "00000000-0000-4000-8000-%012d", n);
  return id;
}

// A report whose total-impressions (and black, half of it) were read at `read_at`, and no
// status or faults.
protocol::Report CounterReport(int n, const std::string& serial, std::int64_t total, const std::string& read_at) {
  auto report = fleetcomm::tools::SampleDeviceReport(ReportId(n), serial, total);
  report.devices[0].counters->read_at = read_at;
  report.generated_at = read_at;
  // Counters only: no diagnostics job (the account has no supplies contract).
  report.devices[0].status.reset();
  report.devices[0].faults.clear();
  return report;
}

storage::UploadOutcome Store(pqxx::connection& conn, const storage::UploadSender& sender,
                             const protocol::Report& report) {
  storage::NewUpload upload;
  upload.sender = sender;
  upload.report = &report;
  upload.content_sha256 = std::string(32, static_cast<char>(report.id.back()));
  upload.zip = "PK";
  upload.report_bytes = 100;
  auto stored = storage::StoreUpload(conn, upload);
  INFO((stored ? std::string() : stored.error().detail));
  REQUIRE(stored.has_value());
  return *stored;
}

storage::PipelineBatch RunBatch(pqxx::connection& conn, const storage::PipelineOptions& options = {}) {
  auto batch = storage::RunPipelineBatch(conn, options);
  INFO((batch ? std::string() : batch.error().detail));
  REQUIRE(batch.has_value());
  return *batch;
}

// status/reason of the read of `counter` at `read_at`, e.g. "billable" or "rejected/counter_decreased".
std::string ReadStatus(pqxx::connection& conn, const std::string& counter, const std::string& read_at) {
  pqxx::work tx(conn);
  auto rows = tx.exec_params("SELECT status || coalesce('/' || reason, '') FROM meter_reads "
                             "WHERE counter = $1 AND read_at = $2::timestamptz",
                             counter, read_at);
  return rows.empty() ? "none" : rows[0][0].as<std::string>();
}

void Exec(pqxx::connection& conn, const std::string& sql) {
  pqxx::work tx(conn);
  tx.exec(sql);
  tx.commit();
}

json ReadAll(pqxx::connection& conn, storage::Feed feed, long long after = 0) {
  auto page = storage::ReadFeed(conn, feed, after, 1000);
  REQUIRE(page.has_value());
  return json::parse(page->items);
}

}  // namespace

TEST_CASE("pipelines: an upload of a billing account records its job; duplicates and other accounts do not",
          "[pipelines]") {
  pqxx::connection conn(TempPostgres::Instance().CreateDatabase());
  const std::string billing = NewAccount(conn);
  const std::string plain = NewAccount(conn, false);
  const std::string d1 = ActiveDevice(conn, billing, "XRX1");
  const std::string d2 = ActiveDevice(conn, plain, "XRX2");

  const auto report = CounterReport(1, "XRX1", 1000, "2026-11-24T03:00:00Z");
  Store(conn, {storage::ClientKind::kDevice, d1, billing}, report);
  Store(conn, {storage::ClientKind::kDevice, d1, billing}, report);  // a retry: duplicate
  Store(conn, {storage::ClientKind::kDevice, d2, plain}, CounterReport(2, "XRX2", 1000, "2026-11-24T03:00:00Z"));
  CHECK(QueryNumber(conn, "SELECT count(*) FROM pipeline_jobs") == 1);
  CHECK(QueryNumber(conn, "SELECT count(*) FROM pipeline_jobs WHERE account_id = '" + billing + "'") == 1);

  const auto batch = RunBatch(conn);
  CHECK(batch.claimed == 1);
  CHECK(batch.done == 1);
  CHECK(QueryNumber(conn, "SELECT count(*) FROM pipeline_jobs WHERE finished_at IS NOT NULL AND attempts = 1") == 1);
  CHECK(QueryNumber(conn, "SELECT count(*) FROM meter_reads WHERE status = 'billable'") == 2);
  CHECK(RunBatch(conn).claimed == 0);

  // Not in the feed before the sequencer numbered them.
  CHECK(ReadAll(conn, storage::Feed::kMeterReads).empty());
  auto sequenced = storage::SequenceFeeds(conn);
  REQUIRE(sequenced.has_value());
  CHECK(sequenced->ran);
  CHECK(sequenced->items == 2);
  json items = ReadAll(conn, storage::Feed::kMeterReads);
  REQUIRE(items.size() == 2);
  // One sequencer run: both appear at once, in no promised order among themselves.
  if (items[0]["counter"] == "total-impressions") std::swap(items[0], items[1]);
  CHECK(items[0]["serial"] == "XRX1");
  CHECK(items[0]["account_id"] == billing);
  CHECK(items[0]["device_id"] == d1);
  CHECK(items[0]["read_at"] == "2026-11-24T03:00:00Z");
  CHECK(items[0]["status"] == "billable");
  CHECK(items[0]["value"] == 500);
  CHECK(items[0]["reason"].is_null());
  CHECK(items[1]["counter"] == "total-impressions");
  CHECK(items[1]["value"] == 1000);
}

TEST_CASE("pipelines: meter reads rules: reset, backwards by one, implausible increase, resumption",
          "[pipelines][meter]") {
  pqxx::connection conn(TempPostgres::Instance().CreateDatabase());
  const std::string account = NewAccount(conn);
  const std::string device = ActiveDevice(conn, account, "XRX1");
  const storage::UploadSender sender{storage::ClientKind::kDevice, device, account};
  auto upload_and_run = [&](int n, std::int64_t total, const std::string& read_at,
                            std::optional<std::string> reset_at = std::nullopt) {
    auto report = CounterReport(n, "XRX1", total, read_at);
    report.devices[0].counters->items[0].reset_at = reset_at;
    Store(conn, sender, report);
    CHECK(RunBatch(conn).done == 1);
  };

  upload_and_run(1, 10000, "2026-11-24T03:00:00Z");
  CHECK(ReadStatus(conn, "total-impressions", "2026-11-24T03:00:00Z") == "billable");
  // A day later, 2000 more pages at 55 ppm: plausible.
  upload_and_run(2, 12000, "2026-11-25T03:00:00Z");
  CHECK(ReadStatus(conn, "total-impressions", "2026-11-25T03:00:00Z") == "billable");
  // Backwards by one.
  upload_and_run(3, 11999, "2026-11-26T03:00:00Z");
  CHECK(ReadStatus(conn, "total-impressions", "2026-11-26T03:00:00Z") == "rejected/counter_decreased");
  // Judged against the last billable read (12000), not the rejected one.
  upload_and_run(4, 12001, "2026-11-27T03:00:00Z");
  CHECK(ReadStatus(conn, "total-impressions", "2026-11-27T03:00:00Z") == "billable");
  // More than 55 pages a minute for ten minutes.
  upload_and_run(5, 12001 + 551, "2026-11-27T03:10:00Z");
  CHECK(ReadStatus(conn, "total-impressions", "2026-11-27T03:10:00Z") == "rejected/implausible_increase");
  upload_and_run(6, 12001 + 550, "2026-11-27T03:10:01Z");
  CHECK(ReadStatus(conn, "total-impressions", "2026-11-27T03:10:01Z") == "billable");
  // A reset without resetAt is a decrease; with a resetAt after the previous read it is billable.
  upload_and_run(7, 5, "2026-11-28T03:00:00Z");
  CHECK(ReadStatus(conn, "total-impressions", "2026-11-28T03:00:00Z") == "rejected/counter_decreased");
  upload_and_run(8, 7, "2026-11-29T03:00:00Z", "2026-11-28T12:00:00Z");
  CHECK(ReadStatus(conn, "total-impressions", "2026-11-29T03:00:00Z") == "billable");
  // A resetAt from before the previous billable read explains nothing.
  upload_and_run(9, 3, "2026-11-30T03:00:00Z", "2026-11-28T12:00:00Z");
  CHECK(ReadStatus(conn, "total-impressions", "2026-11-30T03:00:00Z") == "rejected/counter_decreased");

  // Every rejected read raised one service event for a human.
  CHECK(QueryNumber(conn, "SELECT count(*) FROM meter_reads WHERE status = 'rejected'") ==
        QueryNumber(conn, "SELECT count(*) FROM service_events WHERE kind = 'meter_read_rejected'"));
  CHECK(QueryNumber(conn, "SELECT count(*) FROM service_events WHERE code = 'counter_decreased' "
                          "AND detail->>'counter' = 'total-impressions'") == 3);
  REQUIRE(storage::SequenceFeeds(conn).has_value());
  const json events = ReadAll(conn, storage::Feed::kServiceEvents);
  CHECK(events.size() == static_cast<std::size_t>(QueryNumber(conn, "SELECT count(*) FROM service_events")));
  CHECK(events[0]["kind"] == "meter_read_rejected");
  CHECK(events[0]["device_id"] == device);
}

TEST_CASE("pipelines: the same counters from the device and from an agent, and a retried upload, are one read",
          "[pipelines][meter]") {
  pqxx::connection conn(TempPostgres::Instance().CreateDatabase());
  const std::string account = NewAccount(conn);
  const std::string device = ActiveDevice(conn, account, "XRX9");
  {
    pqxx::work tx(conn);
    const std::string key = tx.exec1("INSERT INTO registration_keys (account_id, key_sha256) VALUES ('" + account +
                                     "', sha256('k'::bytea)) RETURNING id")[0].as<std::string>();
    tx.exec_params("INSERT INTO agents (id, account_id, registration_key_id, product, version, site_name, "
                   "contact_email, cert_fingerprint, cert_serial, cert_not_after) VALUES ('ag_1', $1, $2, "
                   "'agent-lite', '5.6', 'HQ', 'it@example.com', repeat('a', 64), '01', now() + interval '1 year')",
                   account, key);
    tx.commit();
  }
  const auto direct = CounterReport(1, "XRX9", 5000, "2026-11-24T03:00:00Z");
  auto via_agent = CounterReport(2, "XRX9", 5000, "2026-11-24T03:00:00Z");
  via_agent.source = protocol::ReportSource::kAgent;
  via_agent.agent = protocol::AgentInfo{"agent-lite", "5.6", protocol::SecurityMode::kNormal, {}, std::nullopt,
                                        std::nullopt};
  Store(conn, {storage::ClientKind::kDevice, device, account}, direct);
  Store(conn, {storage::ClientKind::kAgent, "ag_1", account}, via_agent);
  Store(conn, {storage::ClientKind::kDevice, device, account}, direct);  // retried: a duplicate
  CHECK(QueryNumber(conn, "SELECT count(*) FROM pipeline_jobs") == 2);
  CHECK(RunBatch(conn).done == 2);
  CHECK(QueryNumber(conn, "SELECT count(*) FROM meter_reads") == 2);
  // Even a job run again (its row reset by hand) doubles nothing: reads are keyed.
  Exec(conn, "UPDATE pipeline_jobs SET finished_at = NULL");
  CHECK(RunBatch(conn).done == 2);
  CHECK(QueryNumber(conn, "SELECT count(*) FROM meter_reads") == 2);
}

TEST_CASE("pipelines: a device switching account is billed to the account that sent each read", "[pipelines][meter]") {
  pqxx::connection conn(TempPostgres::Instance().CreateDatabase());
  const std::string first = NewAccount(conn);
  const std::string second = NewAccount(conn);
  const std::string device = ActiveDevice(conn, first, "XRX1");
  Store(conn, {storage::ClientKind::kDevice, device, first}, CounterReport(1, "XRX1", 1000, "2026-11-24T03:00:00Z"));
  Exec(conn, "UPDATE devices SET account_id = '" + second + "' WHERE id = '" + device + "'");
  Store(conn, {storage::ClientKind::kDevice, device, second}, CounterReport(2, "XRX1", 1500, "2026-11-25T03:00:00Z"));
  Store(conn, {storage::ClientKind::kDevice, device, second}, CounterReport(3, "XRX1", 900, "2026-11-26T03:00:00Z"));
  CHECK(RunBatch(conn).done == 3);
  CHECK(QueryNumber(conn, "SELECT count(*) FROM meter_reads WHERE account_id = '" + first + "'") == 2);
  CHECK(QueryNumber(conn, "SELECT count(*) FROM meter_reads WHERE account_id = '" + second +
                              "' AND status = 'billable'") == 2);
  // The counter belongs to the device: its history crosses the move.
  CHECK(ReadStatus(conn, "total-impressions", "2026-11-26T03:00:00Z") == "rejected/counter_decreased");
}

TEST_CASE("pipelines: a failing step is rolled back, recorded and retried after a back-off; nothing doubles",
          "[pipelines][runner]") {
  pqxx::connection conn(TempPostgres::Instance().CreateDatabase());
  const std::string account = NewAccount(conn);
  const std::string device = ActiveDevice(conn, account, "XRX1");
  Store(conn, {storage::ClientKind::kDevice, device, account}, CounterReport(1, "XRX1", 1000, "2026-11-24T03:00:00Z"));

  storage::PipelineOptions options;
  options.retry_base = std::chrono::seconds(30);
  // The step does its work, then crashes half-way.
  storage::PipelineSteps crashing = {{"meter_reads", [&](pqxx::transaction_base& tx,
                                                         const std::vector<storage::PipelineJob>& jobs) {
                                        storage::DeriveMeterReads(tx, jobs, options.meter);
                                        throw std::runtime_error("disk on fire");
                                      }}};
  auto failed = storage::RunPipelineBatch(conn, options, crashing);
  REQUIRE(failed.has_value());
  CHECK(failed->failed == 1);
  CHECK(failed->by_pipeline.at("meter_reads").failed == 1);
  CHECK(failed->by_pipeline.at("meter_reads").done == 0);
  CHECK(QueryNumber(conn, "SELECT count(*) FROM meter_reads") == 0);
  CHECK(QueryNumber(conn, "SELECT count(*) FROM service_events") == 0);
  CHECK(QueryNumber(conn, "SELECT count(*) FROM pipeline_jobs WHERE attempts = 1 AND finished_at IS NULL "
                          "AND last_error = 'disk on fire' AND run_after > now() + interval '25 seconds'") == 1);
  // Not due yet.
  CHECK(RunBatch(conn, options).claimed == 0);

  Exec(conn, "UPDATE pipeline_jobs SET run_after = now()");
  auto again = storage::RunPipelineBatch(conn, options, crashing);
  REQUIRE(again.has_value());
  CHECK(QueryNumber(conn, "SELECT count(*) FROM pipeline_jobs WHERE attempts = 2 "
                          "AND run_after > now() + interval '55 seconds'") == 1);
  Exec(conn, "UPDATE pipeline_jobs SET run_after = now()");
  CHECK(RunBatch(conn, options).done == 1);
  CHECK(QueryNumber(conn, "SELECT count(*) FROM meter_reads") == 2);
  CHECK(QueryNumber(conn, "SELECT count(*) FROM pipeline_jobs WHERE attempts = 3 AND finished_at IS NOT NULL "
                          "AND last_error IS NULL") == 1);
  CHECK(storage::RetryDelay(options, 1) == std::chrono::seconds(30));
  CHECK(storage::RetryDelay(options, 3) == std::chrono::seconds(120));
  CHECK(storage::RetryDelay(options, 40) == options.retry_max);
}

TEST_CASE("pipelines: a job another worker holds is skipped, and concurrent runners share the work once",
          "[pipelines][runner]") {
  const std::string conninfo = TempPostgres::Instance().CreateDatabase();
  pqxx::connection conn(conninfo);
  const std::string account = NewAccount(conn);
  constexpr int kDevices = 12;
  constexpr int kUploadsPerDevice = 5;
  std::vector<std::string> devices;
  for (int d = 0; d < kDevices; ++d) devices.push_back(ActiveDevice(conn, account, "XRX" + std::to_string(100 + d)));
  int n = 0;
  for (int u = 0; u < kUploadsPerDevice; ++u) {
    for (int d = 0; d < kDevices; ++d) {
      char read_at[32];
      std::snprintf(read_at, sizeof read_at, "2026-11-%02dT03:00:00Z", 10 + u);
      Store(conn, {storage::ClientKind::kDevice, devices[d], account},
            CounterReport(++n, "XRX" + std::to_string(100 + d), 1000 + 100 * u, read_at));
    }
  }

  {
    // A worker elsewhere holds the oldest job.
    pqxx::connection holder_conn(conninfo);
    pqxx::work holder(holder_conn);
    holder.exec("SELECT id FROM pipeline_jobs ORDER BY id LIMIT 1 FOR UPDATE");
    storage::PipelineOptions small;
    small.batch_size = 5;
    const auto batch = RunBatch(conn, small);
    CHECK(batch.done == 5);
    CHECK(QueryNumber(conn, "SELECT count(*) FROM pipeline_jobs WHERE finished_at IS NULL AND id = "
                            "(SELECT min(id) FROM pipeline_jobs)") == 1);
  }

  // Four runners on their own connections, at once, small batches.
  std::atomic<int> done{0};
  std::vector<std::thread> runners;
  for (int r = 0; r < 4; ++r) {
    runners.emplace_back([&] {
      pqxx::connection own(conninfo);
      storage::PipelineOptions options;
      options.batch_size = 3;
      for (;;) {
        auto batch = storage::RunPipelineBatch(own, options);
        if (!batch || batch->claimed == 0) break;
        done += batch->done;
      }
    });
  }
  for (auto& runner : runners) runner.join();
  CHECK(done == kDevices * kUploadsPerDevice - 5);
  CHECK(QueryNumber(conn, "SELECT count(*) FROM pipeline_jobs WHERE finished_at IS NULL OR attempts <> 1") == 0);
  CHECK(QueryNumber(conn, "SELECT count(*) FROM meter_reads") == 2 * kDevices * kUploadsPerDevice);
  // Whatever the order the runners took them in, every read of these rising counters is billable.
  CHECK(QueryNumber(conn, "SELECT count(*) FROM meter_reads WHERE status = 'billable'") ==
        2 * kDevices * kUploadsPerDevice);
}

TEST_CASE("pipelines: the sequencer numbers only committed items, one run at a time, above all earlier ones",
          "[pipelines][feeds]") {
  const std::string conninfo = TempPostgres::Instance().CreateDatabase();
  pqxx::connection conn(conninfo);
  const std::string account = NewAccount(conn);
  const std::string device = ActiveDevice(conn, account, "XRX1");
  Store(conn, {storage::ClientKind::kDevice, device, account}, CounterReport(1, "XRX1", 1000, "2026-11-24T03:00:00Z"));
  Store(conn, {storage::ClientKind::kDevice, device, account}, CounterReport(2, "XRX1", 1100, "2026-11-25T03:00:00Z"));

  // Job 1 commits late: its step runs in a transaction still open while job 2 commits and
  // the sequencer runs.
  pqxx::connection late_conn(conninfo);
  pqxx::work late(late_conn);
  const auto first_job = late.exec("SELECT id, upload_id, account_id, devices::text FROM pipeline_jobs ORDER BY id LIMIT 1 "
                                   "FOR UPDATE")[0];
  storage::PipelineJob job{first_job[0].as<long long>(), "meter_reads", first_job[1].as<std::string>(),
                           first_job[2].as<std::string>(), first_job[3].as<std::string>(), 0};
  storage::DeriveMeterReads(late, {job}, {});
  CHECK(RunBatch(conn).done == 1);
  REQUIRE(storage::SequenceFeeds(conn).value().items == 2);
  const json before = ReadAll(conn, storage::Feed::kMeterReads);
  REQUIRE(before.size() == 2);
  auto page = storage::ReadFeed(conn, storage::Feed::kMeterReads, 0, 1000).value();
  REQUIRE(page.next);
  const long long cursor = std::stoll(*page.next);

  {
    // Another sequencer holding the lock makes a run skip its turn.
    pqxx::connection other(conninfo);
    pqxx::work holding(other);
    holding.exec("SELECT pg_advisory_xact_lock(" + std::to_string(0x666c656574736571LL) + ")");
    CHECK_FALSE(storage::SequenceFeeds(conn).value().ran);
  }

  late.exec_params("UPDATE pipeline_jobs SET finished_at = now() WHERE id = $1", job.id);
  late.commit();
  CHECK(storage::SequenceFeeds(conn).value().items == 2);
  const json after = ReadAll(conn, storage::Feed::kMeterReads, cursor);
  REQUIRE(after.size() == 2);
  CHECK(after[0]["read_at"] == "2026-11-24T03:00:00Z");
  CHECK(ReadAll(conn, storage::Feed::kMeterReads).size() == 4);
  CHECK(storage::ReadFeed(conn, storage::Feed::kMeterReads, cursor + 1000, 10).value().next == std::nullopt);
}

TEST_CASE("pipelines: uploads of one device in one batch are judged as one after the other", "[pipelines][meter]") {
  pqxx::connection conn(TempPostgres::Instance().CreateDatabase());
  const std::string account = NewAccount(conn);
  const std::string device = ActiveDevice(conn, account, "XRX1");
  const storage::UploadSender sender{storage::ClientKind::kDevice, device, account};
  // Stored out of read-time order, judged together.
  Store(conn, sender, CounterReport(1, "XRX1", 1000, "2026-11-24T03:00:00Z"));
  Store(conn, sender, CounterReport(2, "XRX1", 1100, "2026-11-26T03:00:00Z"));
  Store(conn, sender, CounterReport(3, "XRX1", 1200, "2026-11-25T03:00:00Z"));
  Store(conn, sender, CounterReport(4, "XRX1", 1300, "2026-11-27T03:00:00Z"));
  auto faulty = CounterReport(5, "XRX1", 1250, "2026-11-28T03:00:00Z");
  faulty.devices[0].faults = {{"75-530-00", std::nullopt, "tray 3", "Paper jam"}};  // a fault without a time
  Store(conn, sender, faulty);
  const auto batch = RunBatch(conn);
  CHECK(batch.claimed == 6);  // five meter jobs, one diagnostics job
  CHECK(batch.done == 6);
  REQUIRE(batch.by_pipeline.size() == 2);
  CHECK(batch.by_pipeline.at("meter_reads").done == 5);
  CHECK(batch.by_pipeline.at("diagnostics").done == 1);
  CHECK(batch.by_pipeline.at("diagnostics").failed == 0);
  CHECK(ReadStatus(conn, "total-impressions", "2026-11-24T03:00:00Z") == "billable");
  CHECK(ReadStatus(conn, "total-impressions", "2026-11-25T03:00:00Z") == "billable");
  CHECK(ReadStatus(conn, "total-impressions", "2026-11-26T03:00:00Z") == "rejected/counter_decreased");
  CHECK(ReadStatus(conn, "total-impressions", "2026-11-27T03:00:00Z") == "billable");
  CHECK(ReadStatus(conn, "total-impressions", "2026-11-28T03:00:00Z") == "rejected/counter_decreased");
  CHECK(QueryNumber(conn, "SELECT count(*) FROM service_events WHERE kind = 'fault' "
                          "AND at = '2026-11-28T03:00:00Z'") == 1);
}

TEST_CASE("pipelines: the same reading in two uploads of one batch is one read, judged once", "[pipelines][meter]") {
  pqxx::connection conn(TempPostgres::Instance().CreateDatabase());
  const std::string account = NewAccount(conn);
  const std::string device = ActiveDevice(conn, account, "XRX1");
  const storage::UploadSender sender{storage::ClientKind::kDevice, device, account};
  Store(conn, sender, CounterReport(1, "XRX1", 1000, "2026-11-24T03:00:00Z"));
  // Another report id with the same read time (a re-sent report): its readings are refused as
  // duplicates, so the first upload's reading is the only one, whatever value the second had.
  Store(conn, sender, CounterReport(2, "XRX1", 900, "2026-11-24T03:00:00Z"));
  Store(conn, sender, CounterReport(3, "XRX1", 1100, "2026-11-25T03:00:00Z"));
  CHECK(QueryNumber(conn, "SELECT count(*) FROM pipeline_jobs") == 3);
  CHECK(RunBatch(conn).done == 3);
  CHECK(QueryNumber(conn, "SELECT count(*) FROM meter_reads WHERE counter = 'total-impressions'") == 2);
  CHECK(QueryNumber(conn, "SELECT count(*) FROM meter_reads WHERE counter = 'total-impressions' AND value = 1000 "
                          "AND status = 'billable'") == 1);
  CHECK(ReadStatus(conn, "total-impressions", "2026-11-25T03:00:00Z") == "billable");
  CHECK(QueryNumber(conn, "SELECT count(*) FROM service_events") == 0);
}

TEST_CASE("pipelines: workers take their own share of the jobs, and the others' when theirs is empty",
          "[pipelines][runner]") {
  pqxx::connection conn(TempPostgres::Instance().CreateDatabase());
  const std::string account = NewAccount(conn);
  // Enough devices (random ids) that both shares have jobs but for a chance of 2^-23.
  constexpr int kDevices = 24;
  for (int d = 0; d < kDevices; ++d) {
    const std::string serial = "XRX" + std::to_string(100 + d);
    Store(conn, {storage::ClientKind::kDevice, ActiveDevice(conn, account, serial), account},
          CounterReport(d + 1, serial, 1000, "2026-11-24T03:00:00Z"));
  }
  const std::string share_of_job = "(hashtext(devices->0->>'device_id') & 2147483647) % 2";
  const long long in_share_0 =
      QueryNumber(conn, "SELECT count(*) FROM pipeline_jobs WHERE " + share_of_job + " = 0");
  REQUIRE(in_share_0 > 0);
  REQUIRE(in_share_0 < kDevices);
  storage::PipelineOptions first;
  first.share = 0;
  first.shares = 2;
  CHECK(RunBatch(conn, first).done == in_share_0);
  CHECK(QueryNumber(conn, "SELECT count(*) FROM pipeline_jobs WHERE finished_at IS NULL AND " + share_of_job +
                          " = 0") == 0);
  CHECK(QueryNumber(conn, "SELECT count(*) FROM pipeline_jobs WHERE finished_at IS NULL") == kDevices - in_share_0);
  // Its share is empty now: it helps with the other one.
  CHECK(RunBatch(conn, first).done == kDevices - in_share_0);
  CHECK(QueryNumber(conn, "SELECT count(*) FROM meter_reads") == 2 * kDevices);
}
