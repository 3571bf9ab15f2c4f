#include "bench/pipeline_figures.hpp"

#include "bench/bench_support.hpp"
#include "tests/support/https_client.hpp"

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

namespace fleetcomm::bench {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

double QueryDouble(const std::string& database, const std::string& sql) {
  pqxx::connection conn(database);
  pqxx::read_transaction tx(conn);
  const auto field = tx.exec1(sql)[0];
  return field.is_null() ? 0.0 : field.as<double>();
}

}  // namespace

// Waits for the pipelines to finish every job and the sequencer to number every item.
void ReportPipelineLag(const std::string& database) {
  const auto run_ended = Clock::now();
  while (QueryDouble(database, "SELECT (SELECT count(*) FROM pipeline_jobs WHERE finished_at IS NULL) + "
                               "(SELECT count(*) FROM meter_reads WHERE seq IS NULL)") > 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const double drain = std::chrono::duration<double>(Clock::now() - run_ended).count();
  const std::string lag = "extract(epoch FROM finished_at - created_at) * 1000";
  std::printf("pipeline jobs=%.0f meter_reads=%.0f lag_p50_ms=%.1f lag_p99_ms=%.1f lag_max_ms=%.1f "
              "drain_after_run_s=%.2f\n",
              QueryDouble(database, "SELECT count(*) FROM pipeline_jobs"),
              QueryDouble(database, "SELECT count(*) FROM meter_reads"),
              QueryDouble(database, "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY " + lag + ") FROM pipeline_jobs"),
              QueryDouble(database, "SELECT percentile_cont(0.99) WITHIN GROUP (ORDER BY " + lag + ") FROM pipeline_jobs"),
              QueryDouble(database, "SELECT max(" + lag + ") FROM pipeline_jobs"), drain);
  // Bounded or growing: the median lag of the jobs created in each second of the run.
  pqxx::connection conn(database);
  pqxx::read_transaction tx(conn);
  std::string by_second;
  const std::string per_second =
      "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY " + lag + "), second FROM (SELECT *, "
      "floor(extract(epoch FROM created_at - (SELECT min(created_at) FROM pipeline_jobs))) AS second "
      "FROM pipeline_jobs) j GROUP BY second ORDER BY second";
  for (const auto& row : tx.exec(per_second)) {
    by_second += (by_second.empty() ? "" : " ") + std::to_string(static_cast<long long>(row[0].as<double>()));
  }
  std::printf("pipeline lag_p50_ms by second of the run: %s\n", by_second.c_str());
}

// One consumer reading the whole meter-reads feed, 1000 items a page, on one connection.
void ReportFeedRate(testing::RunningFleetcomm& fleetcomm, int items) {
  {
    pqxx::connection conn(fleetcomm.database);
    pqxx::work tx(conn);
    tx.exec_params("INSERT INTO meter_reads (account_id, device_id, serial, counter, value, read_at, status, upload_id) "
                   "SELECT d.account_id, d.id, d.serial, 'x-bench', g, '2020-01-01'::timestamptz + g * interval '1 minute', "
                   "'billable', 'up_bench' FROM (SELECT * FROM devices WHERE state = 'active' LIMIT 1) d, "
                   "generate_series(1, $1) g",
                   items);
    tx.commit();
  }
  while (QueryDouble(fleetcomm.database, "SELECT count(*) FROM meter_reads WHERE seq IS NULL") > 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const auto token = testing::RunCommand({"token", "create", "--config", fleetcomm.config.path, "--role", "consumer"});
  if (token.exit_code != 0) throw std::runtime_error("token create: " + token.err);
  const testing::Headers auth = {{"Authorization", "Bearer " + token.out.substr(0, token.out.size() - 1)}};
  testing::HttpClient http(fleetcomm.config.ports.operator_api, testing::ClientTls(fleetcomm.pki),
                           std::chrono::seconds(30));
  std::vector<double> rates;
  for (int round = 0; round < 3; ++round) {
    std::string cursor;
    long long read = 0;
    const auto started = Clock::now();
    for (;;) {
      const std::string target = "/api/v1/feeds/meter-reads?limit=1000" + (cursor.empty() ? "" : "&after=" + cursor);
      const json page = Call(http, "GET", target, auth, json(), 200);
      if (page["items"].empty()) break;
      read += static_cast<long long>(page["items"].size());
      cursor = page["next"].get<std::string>();
    }
    rates.push_back(static_cast<double>(read) / std::chrono::duration<double>(Clock::now() - started).count());
    std::printf("feed round %d: items=%lld\n", round + 1, read);
  }
  std::sort(rates.begin(), rates.end());
  std::printf("feed items/s (median of 3 full reads, limit=1000, one consumer)=%.0f\n", rates[1]);
}

}  // namespace fleetcomm::bench
