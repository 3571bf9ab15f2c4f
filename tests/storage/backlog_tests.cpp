// The queue figures behind the metrics' pipeline, feed and action gauges: every name present
// (zeros when empty), finished jobs, sequenced items and final actions left out.
#include "storage/accounts.hpp"
#include "storage/backlog.hpp"
#include "storage/pipeline_jobs.hpp"
#include "tests/support/temp_postgres.hpp"

#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include <set>
#include <string>

namespace storage = fleetcomm::storage;
using fleetcomm::testing::QueryNumber;
using fleetcomm::testing::TempPostgres;

namespace {

const storage::BacklogQueue& Find(const std::vector<storage::BacklogQueue>& queues, const std::string& name) {
  for (const auto& queue : queues) {
    if (queue.name == name) return queue;
  }
  FAIL("no queue " << name);
  throw std::logic_error("unreachable");
}

void Exec(pqxx::connection& conn, const std::string& sql) {
  pqxx::work tx(conn);
  tx.exec(sql);
  tx.commit();
}

}  // namespace

TEST_CASE("backlog: empty queues are zeros, every name present", "[backlog]") {
  pqxx::connection conn(TempPostgres::Instance().CreateDatabase());
  auto backlog = storage::ReadBacklog(conn);
  REQUIRE(backlog.has_value());
  CHECK(backlog->pipelines.size() == 3);
  CHECK(backlog->feeds.size() == 3);
  CHECK(backlog->actions.size() == 4);
  // The pipeline gauges and the runner's job counters (metrics) share their label values.
  std::set<std::string> pipelines;
  for (const auto& queue : backlog->pipelines) pipelines.insert(queue.name);
  const auto run = storage::PipelineNames();
  CHECK(pipelines == std::set<std::string>(run.begin(), run.end()));
  for (const auto* queues : {&backlog->pipelines, &backlog->feeds, &backlog->actions}) {
    for (const auto& queue : *queues) {
      INFO(queue.name);
      CHECK(queue.items == 0);
      CHECK(queue.oldest_age_seconds == 0);
    }
  }
}

TEST_CASE("backlog: unfinished jobs, unsequenced feed items and open actions, with the oldest age", "[backlog]") {
  pqxx::connection conn(TempPostgres::Instance().CreateDatabase());
  storage::AccountFields fields;
  fields.name = "Acme";
  const std::string account = storage::CreateAccount(conn, fields).value().id;
  Exec(conn, "INSERT INTO pipeline_jobs (pipeline, upload_id, account_id, devices, created_at, run_after, finished_at) "
             "VALUES ('meter_reads', 'up_1', '" + account + "', '[]', now() - interval '120 s', now(), NULL), "
             "('meter_reads', 'up_2', '" + account + "', '[]', now() - interval '30 s', now(), NULL), "
             "('meter_reads', 'up_0', '" + account + "', '[]', now() - interval '1 day', now(), now()), "
             "('supplies', 'up_1', '" + account + "', '[]', now(), now() + interval '1 hour', NULL)");
  Exec(conn, "INSERT INTO meter_reads (seq, account_id, device_id, serial, counter, value, read_at, status, upload_id, "
             "created_at) VALUES (NULL, '" + account + "', 'dv_1', 'S1', 'total', 1, now(), 'billable', 'up_1', "
             "now() - interval '45 s'), (7, '" + account + "', 'dv_1', 'S1', 'total', 0, now() - interval '1 day', "
             "'billable', 'up_0', now() - interval '1 day')");
  Exec(conn, "INSERT INTO actions (account_id, target_kind, target_id, type, state, expires_at) VALUES "
             "('" + account + "', 'device', 'dv_1', 'get_status', 'queued', now() + interval '1 day'), "
             "('" + account + "', 'device', 'dv_1', 'get_status', 'queued', now() + interval '1 day'), "
             "('" + account + "', 'device', 'dv_1', 'restart', 'awaiting_authorization', now() + interval '1 day'), "
             "('" + account + "', 'device', 'dv_1', 'get_status', 'succeeded', now() + interval '1 day')");
  REQUIRE(QueryNumber(conn, "SELECT count(*) FROM actions") == 4);

  auto backlog = storage::ReadBacklog(conn);
  INFO((backlog ? std::string() : backlog.error().detail));
  REQUIRE(backlog.has_value());
  const auto& meter_jobs = Find(backlog->pipelines, "meter_reads");
  CHECK(meter_jobs.items == 2);  // the finished one is not waiting
  CHECK(meter_jobs.oldest_age_seconds == Approx(120).margin(10));
  const auto& supply_jobs = Find(backlog->pipelines, "supplies");
  CHECK(supply_jobs.items == 1);  // backing off still counts
  CHECK(Find(backlog->pipelines, "diagnostics").items == 0);
  const auto& meter_feed = Find(backlog->feeds, "meter_reads");
  CHECK(meter_feed.items == 1);  // the sequenced read is visible already
  CHECK(meter_feed.oldest_age_seconds == Approx(45).margin(10));
  CHECK(Find(backlog->feeds, "service_events").items == 0);
  CHECK(Find(backlog->actions, "queued").items == 2);
  CHECK(Find(backlog->actions, "awaiting_authorization").items == 1);
  CHECK(Find(backlog->actions, "delivered").items == 0);
}
