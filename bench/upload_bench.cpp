// Upload throughput of the real binary over real mTLS keep-alive connections, against a
// throwaway PostgreSQL (synchronous_commit on: every 201 is durable). Prints uploads/s,
// devices/s, stored rows/s, latency percentiles and uploads per group-commit transaction,
// the server's and PostgreSQL's CPU per upload, with the audit log on and off (each round
// runs both, on a fresh server and database each; the medians are compared). With
// --meter-billing 1 the account bills meter reads: after the run it prints the pipeline lag
// (upload commit to meter reads committed, per job) and how long the backlog took to drain.
// With --feed-items N it then adds N meter reads and reads the whole meter-reads feed as one
// consumer: items/s.
//
//   fleetcomm-upload-bench [--devices-per-report 1|100] [--connections 16] [--seconds 10]
//                          [--pool 10] [--threads 0] [--writers 3] [--batch-max 64]
//                          [--meter-billing 0|1] [--feed-items 0] [--rounds 1] [--audit both|on|off]
//                          [--pipeline-workers 4]   (0: the outbox fills, no pipeline step runs)
//                          [--warmup-seconds 3]     (uploads before the clock starts, then ANALYZE)
//
// The load generator shares the machine with the server and PostgreSQL: figures are for
// comparing builds on one machine, not absolute capacities.
#include "bench/bench_support.hpp"
#include "bench/pipeline_figures.hpp"
#include "tests/support/https_client.hpp"
#include "tests/support/metrics_scrape.hpp"
#include "tests/support/server_process.hpp"
#include "tests/support/temp_postgres.hpp"
#include "tools/report_writer.hpp"
#include "tools/sample_device.hpp"
#include "tools/simulated_printer.hpp"
#include "tools/zip_writer.hpp"

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <sstream>
#include <random>
#include <thread>

namespace testing = fleetcomm::testing;
namespace protocol = fleetcomm::protocol;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  int devices_per_report = 1;
  int connections = 16;
  int seconds = 10;
  int pool = 8;
  int threads = 0;
  int writers = 6;     // uploads.writers
  int batch_max = 64;  // uploads.batch_max (1: one transaction per upload)
  int meter_billing = 0;
  int feed_items = 0;
  int rounds = 1;
  std::vector<bool> audit = {false, true};
  int pipeline_workers = 2;
  int warmup_seconds = 3;
};

struct Figures {
  double uploads_per_second = 0;
  long long failures = 0;
};

Options ParseOptions(int argc, char** argv) {
  const auto flags = fleetcomm::bench::ParseFlags(
      argc, argv, {{"devices-per-report", "1"}, {"connections", "16"}, {"seconds", "10"}, {"pool", "10"}, {"threads", "0"},
                   {"writers", "3"}, {"batch-max", "64"}, {"meter-billing", "0"}, {"feed-items", "0"}, {"rounds", "1"},
                   {"audit", "both"}, {"pipeline-workers", "4"}, {"warmup-seconds", "3"}});
  return {std::stoi(flags.at("devices-per-report")), std::stoi(flags.at("connections")), std::stoi(flags.at("seconds")),
          std::stoi(flags.at("pool")), std::stoi(flags.at("threads")), std::stoi(flags.at("writers")),
          std::stoi(flags.at("batch-max")), std::stoi(flags.at("meter-billing")), std::stoi(flags.at("feed-items")),
          std::max(1, std::stoi(flags.at("rounds"))),
          fleetcomm::bench::AuditModes(flags.at("audit")), std::stoi(flags.at("pipeline-workers")),
          std::stoi(flags.at("warmup-seconds"))};
}

struct Client {
  testing::CertKeyPaths files;
  bool agent = false;
  std::string serial_prefix;
};

std::string Payload(const Client& client, int devices, std::int64_t sequence, std::mt19937_64& random) {
  protocol::Report report;
  report.id = fleetcomm::tools::RandomUuid(random);
  char generated[32];
  std::snprintf(generated, sizeof generated, "2026-11-24T%02d:%02d:%02dZ", static_cast<int>((sequence / 3600) % 24),
                static_cast<int>((sequence / 60) % 60), static_cast<int>(sequence % 60));
  report.generated_at = generated;
  report.source = client.agent ? protocol::ReportSource::kAgent : protocol::ReportSource::kDevice;
  if (client.agent) report.agent = protocol::AgentInfo{"agent-lite", "5.6.1", {}, {}, std::nullopt, std::nullopt};
  for (int d = 0; d < devices; ++d) {
    auto device = fleetcomm::tools::SampleOfficeDevice(
        client.agent ? client.serial_prefix + std::to_string(d) : client.serial_prefix, 1000 + sequence);
    device.counters->read_at.reset();  // read at generatedAt: every report is a new reading
    report.devices.push_back(std::move(device));
  }
  return fleetcomm::tools::WriteZip({{"report.xml", fleetcomm::tools::WriteReportXml(report)}});
}

long long StoredRows(const std::string& database) {
  pqxx::connection conn(database);
  pqxx::read_transaction tx(conn);
  return tx.exec1(
               "SELECT (SELECT count(*) FROM uploads) + (SELECT count(*) FROM raw_uploads) + "
               "(SELECT count(*) FROM upload_devices) + (SELECT count(*) FROM device_snapshots) + "
               "(SELECT count(*) FROM counter_readings) + (SELECT count(*) FROM supply_readings) + "
               "(SELECT count(*) FROM usage_readings) + (SELECT count(*) FROM device_faults)")[0]
      .as<long long>();
}

std::vector<Client> PrepareClients(testing::RunningFleetcomm& fleetcomm, const Options& options) {
  fleetcomm::bench::Admin admin(fleetcomm);
  const std::string account = admin.Call("POST", "/api/v1/accounts",
                                              {{"name", "bench"}, {"meter_billing", options.meter_billing != 0}}, 201)["id"];
  std::vector<Client> clients;
  for (int c = 0; c < options.connections; ++c) {
    Client client;
    if (options.devices_per_report > 1) {
      const json key = admin.Call("POST", "/api/v1/accounts/" + account + "/registration-keys", json::object(), 201);
      auto agent_key = testing::GenerateKey({});
      testing::HttpClient device_api(fleetcomm.config.ports.device, testing::ClientTls(fleetcomm.pki));
      const json enrolled = fleetcomm::bench::Call(
          device_api, "POST", "/rs/v1/enroll", {{"Content-Type", "application/json"}},
          {{"registration_key", key["secret"]}, {"csr", testing::MakeCsrPem(agent_key.get(), "x")},
           {"product", "bench"}, {"version", "1"}, {"site", {{"name", "b"}, {"contact_email", "b@example.com"}}}},
          201);
      client.agent = true;
      client.serial_prefix = "AG" + std::to_string(c) + "-";
      client.files = {fleetcomm.dir.File("agent" + std::to_string(c) + ".crt"),
                      fleetcomm.dir.File("agent" + std::to_string(c) + ".key")};
      std::ofstream(client.files.cert) << enrolled["certificate"].get<std::string>();
      std::ofstream(client.files.key) << testing::PrivateKeyPem(agent_key.get());
    } else {
      client.serial_prefix = "BENCH" + std::to_string(c);
      client.files = fleetcomm::bench::ProvisionDevice(fleetcomm, admin, account, client.serial_prefix);
    }
    clients.push_back(std::move(client));
  }
  return clients;
}

// Uploads per committed transaction, from the database: the uploads of one transaction share
// its received_at (now()), so a group that fell back to one transaction per upload shows here
// and not in the server's histogram of group sizes.
double UploadsPerCommit(const std::string& database) {
  pqxx::connection conn(database);
  pqxx::read_transaction tx(conn);
  const auto row = tx.exec1("SELECT count(*), count(DISTINCT received_at) FROM uploads");
  const double commits = row[1].as<double>();
  return commits > 0 ? row[0].as<double>() / commits : 0;
}

// Mean uploads per group-commit transaction, from the server's own histogram.
double MeanBatch(const testing::RunningFleetcomm& fleetcomm) {
  const auto count = testing::ScrapeMetric(fleetcomm.config.ports, "fleetcomm_upload_batch_uploads_count");
  const auto sum = testing::ScrapeMetric(fleetcomm.config.ports, "fleetcomm_upload_batch_uploads_sum");
  return count && sum && *count > 0 ? *sum / *count : 0;
}

Figures Measure(const Options& options, bool audit) {
  testing::RunningFleetcomm fleetcomm(testing::ConfigOverrides{
      {"database.pool_size", std::to_string(options.pool)},
      {"server.threads", std::to_string(options.threads)},
      {"log.level", "warn"},
      {"limits.max_in_flight", "100000"},
      {"uploads.writers", std::to_string(options.writers)},
      {"uploads.batch_max", std::to_string(options.batch_max)},
      {"audit.enabled", audit ? "true" : "false"},
      {"audit.seal_interval_s", "1"},  // the sealer's share of the cost, within a short run
      {"pipelines.workers", std::to_string(options.pipeline_workers)}});
  auto clients = PrepareClients(fleetcomm, options);

  // Payloads are made before the clock starts: the generator must not compete with the server.
  // Enough for well beyond the rates seen here; a client that runs out stops early, and the
  // rate is taken over the wall time until the last client stops.
  const int per_client = std::max(50, (options.devices_per_report > 1 ? 300 : 2500) *
                                          (options.seconds + options.warmup_seconds) / options.connections);
  std::vector<std::vector<std::string>> payloads(clients.size());
  std::mt19937_64 random(42);
  for (std::size_t c = 0; c < clients.size(); ++c) {
    for (int i = 0; i < per_client; ++i) payloads[c].push_back(Payload(clients[c], options.devices_per_report, i, random));
  }
  std::atomic<long long> uploads{0}, failures{0};
  std::mutex failure_mutex;
  std::string first_failure;
  std::vector<std::vector<double>> latencies(clients.size());
  std::vector<std::size_t> next(clients.size(), 0);
  std::vector<std::unique_ptr<testing::HttpClient>> https;
  for (auto& client : clients) {
    https.push_back(std::make_unique<testing::HttpClient>(
        fleetcomm.config.ports.device, testing::ClientTls(fleetcomm.pki, &client.files), std::chrono::seconds(30)));
  }
  // Every client uploads until `deadline`, from where it stopped last time.
  auto drive = [&](Clock::time_point deadline, bool measured) {
    std::vector<std::thread> threads;
    for (std::size_t c = 0; c < clients.size(); ++c) {
      threads.emplace_back([&, c] {
        for (; next[c] < payloads[c].size() && Clock::now() < deadline; ++next[c]) {
          const auto sent = Clock::now();
          const auto result = https[c]->Request("POST", "/rs/v1/uploads", {{"Content-Type", "application/zip"}},
                                                payloads[c][next[c]]);
          if (!measured && result.status == 201) continue;
          latencies[c].push_back(std::chrono::duration<double, std::milli>(Clock::now() - sent).count());
          (result.status == 201 ? uploads : failures)++;
          if (result.status != 201) {
            std::lock_guard lock(failure_mutex);
            if (first_failure.empty()) first_failure = result.Describe();
          }
        }
      });
    }
    for (auto& thread : threads) thread.join();
  };
  // A server in its first minute on an empty database is not the one to measure: its
  // statements were planned for empty tables, and autovacuum (a minute's nap) has not
  // analysed them yet. A warm-up, then ANALYZE (which makes every cached plan replan).
  if (options.warmup_seconds > 0) {
    drive(Clock::now() + std::chrono::seconds(options.warmup_seconds), false);
    pqxx::connection conn(fleetcomm.database);
    pqxx::nontransaction(conn).exec("ANALYZE");
  }
  const long long rows_before = StoredRows(fleetcomm.database);
  const auto cpu_before = fleetcomm::bench::SampleCpu(fleetcomm);
  const auto started = Clock::now();
  drive(started + std::chrono::seconds(options.seconds), true);
  const double elapsed = std::chrono::duration<double>(Clock::now() - started).count();
  const auto cpu_after = fleetcomm::bench::SampleCpu(fleetcomm);
  const long long rows = StoredRows(fleetcomm.database) - rows_before;
  std::vector<double> all;
  for (auto& part : latencies) all.insert(all.end(), part.begin(), part.end());
  std::sort(all.begin(), all.end());
  std::printf("audit=%s devices/report=%d connections=%d pool=%d writers=%d batch_max=%d seconds=%.1f "
              "payload_bytes=%zu\n",
              audit ? "on" : "off", options.devices_per_report, options.connections, options.pool, options.writers,
              options.batch_max, elapsed, payloads[0][0].size());
  std::printf("uploads/s=%.0f devices/s=%.0f rows/s=%.0f failures=%lld p50_ms=%.2f p99_ms=%.2f uploads/transaction=%.1f "
              "uploads/commit=%.1f%s\n",
              static_cast<double>(uploads) / elapsed,
              static_cast<double>(uploads) * options.devices_per_report / elapsed, static_cast<double>(rows) / elapsed,
              failures.load(), fleetcomm::bench::Percentile(all, 0.5), fleetcomm::bench::Percentile(all, 0.99),
              MeanBatch(fleetcomm), UploadsPerCommit(fleetcomm.database),
              fleetcomm::bench::CpuPerOperation(cpu_before, cpu_after, static_cast<double>(uploads)).c_str());
  if (!first_failure.empty()) {
    std::printf("first failure: %s\n", first_failure.substr(0, 300).c_str());
    // The server's own account of it (log lines at warn and above).
    std::istringstream log(fleetcomm.process.Log());
    int shown = 0;
    for (std::string line; std::getline(log, line) && shown < 3;) {
      if (line.find("level=error") != std::string::npos || line.find("detail=") != std::string::npos) {
        std::printf("server: %s\n", line.substr(0, 600).c_str());
        ++shown;
      }
    }
  }
  if (options.meter_billing != 0) fleetcomm::bench::ReportPipelineLag(fleetcomm.database);
  if (options.feed_items > 0) fleetcomm::bench::ReportFeedRate(fleetcomm, options.feed_items);
  std::fflush(stdout);
  return {static_cast<double>(uploads) / elapsed, failures.load()};
}

}  // namespace

int main(int argc, char** argv) try {
  const Options options = ParseOptions(argc, argv);
  testing::TempPostgres::UseDurableSettings();  // every 201 on disk, as in production
  fleetcomm::bench::AuditComparison comparison;
  long long failures = 0;
  for (int round = 0; round < options.rounds; ++round) {
    for (bool audit : options.audit) {
      const Figures figures = Measure(options, audit);
      comparison.Add("uploads/s", audit, figures.uploads_per_second);
      failures += figures.failures;
    }
  }
  comparison.Print();
  return failures == 0 ? 0 : 1;
} catch (const std::exception& e) {
  std::fprintf(stderr, "bench failed: %s\n", e.what());
  return 2;
}
