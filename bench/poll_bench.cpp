// Poll rates of the real binary over real mTLS (PROTOCOL.md 3.4), against a throwaway
// PostgreSQL with durable settings. Four phases, each printing polls/s and p50/p99:
//   empty      keep-alive connections polling with nothing queued
//   action     keep-alive connections, each poll delivers one action, then `succeeded`
//              (actions queued beforehand for every device; actions.max_per_poll = 1;
//              the table also holds five finished actions of each of --fleet-devices others)
//   handshake  a new connection per poll, full TLS 1.3 handshake (ECDSA P-256 server key)
//   resumed    a new connection per poll, resuming with the last session ticket
//
//   fleetcomm-poll-bench [--phases empty,action,handshake,resumed] [--connections 16]
//                        [--seconds 5] [--pool 4] [--threads 0] [--actions-per-device 2000]
//                        [--durable 1] [--rounds 1] [--audit on|off|both] [--fleet-devices 10000]
//
// With --audit both each round runs every phase with the audit log off, then on, each on a
// fresh server and database, and the end prints the medians of both and the cost per phase.
//
// The load generator shares the 2 cores with the server and PostgreSQL: the figures are
// for comparing builds (and with nginx measured the same way), not absolute capacities.
#include "bench/bench_support.hpp"
#include "bench/lean_https.hpp"
#include "tests/support/metrics_scrape.hpp"
#include "tests/support/temp_postgres.hpp"

#include <pqxx/pqxx>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <thread>

namespace testing = fleetcomm::testing;
namespace bench = fleetcomm::bench;
using Clock = std::chrono::steady_clock;

namespace {

struct Figures {
  double per_second = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  long long failures = 0;
  std::string cpu;  // per operation, server and PostgreSQL
};

// Runs `one` (one measured operation; false: failed) on every client's thread until the
// deadline. Each thread owns its state through `make`.
using Operation = std::function<bool()>;
Figures Run(const testing::RunningFleetcomm& fleetcomm, int clients, int seconds,
            const std::function<Operation(int client)>& make) {
  std::vector<std::vector<double>> latencies(static_cast<std::size_t>(clients));
  std::atomic<long long> done{0}, failures{0};
  std::vector<Operation> operations;
  for (int c = 0; c < clients; ++c) operations.push_back(make(c));
  const auto cpu_before = bench::SampleCpu(fleetcomm);
  const auto started = Clock::now();
  const auto deadline = started + std::chrono::seconds(seconds);
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      auto& mine = latencies[static_cast<std::size_t>(c)];
      mine.reserve(200000);
      while (Clock::now() < deadline) {
        const auto sent = Clock::now();
        bool ok = false;
        try {
          ok = operations[static_cast<std::size_t>(c)]();
        } catch (const std::exception& e) {
          if (failures == 0) std::fprintf(stderr, "first failure: %s\n", e.what());
        }
        mine.push_back(std::chrono::duration<double, std::milli>(Clock::now() - sent).count());
        (ok ? done : failures)++;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - started).count();
  const auto cpu_after = bench::SampleCpu(fleetcomm);
  std::vector<double> all;
  for (auto& part : latencies) all.insert(all.end(), part.begin(), part.end());
  std::sort(all.begin(), all.end());
  return {static_cast<double>(done) / elapsed, bench::Percentile(all, 0.5), bench::Percentile(all, 0.99),
          failures.load(), bench::CpuPerOperation(cpu_before, cpu_after, static_cast<double>(done))};
}

void Print(const char* phase, const Figures& f, const std::string& extra = {}) {
  std::printf("%-10s per_s=%.0f p50_ms=%.2f p99_ms=%.2f failures=%lld%s%s\n", phase, f.per_second, f.p50_ms,
              f.p99_ms, f.failures, f.cpu.c_str(), extra.c_str());
  std::fflush(stdout);
}

std::string IdOf(const std::string& body) {
  const auto at = body.find("\"id\":\"");
  if (at == std::string::npos) return {};
  return body.substr(at + 6, body.find('"', at + 6) - at - 6);
}

double CacheHits(const testing::RunningFleetcomm& fleetcomm) {
  return testing::ScrapeMetric(fleetcomm.config.ports, "fleetcomm_empty_poll_cache_total{result=\"hit\"}").value_or(-1);
}

struct Options {
  std::map<std::string, std::string> flags;
  int connections = 16;
  int seconds = 5;
  std::string phases;  // ",empty,action,..."
};

bool Wanted(const Options& options, const char* phase) {
  return options.phases.find("," + std::string(phase) + ",") != std::string::npos;
}

// Every wanted phase against a fresh server and database with audit.enabled = `audit`:
// polls/s per phase.
std::map<std::string, double> Measure(const Options& options, bool audit) {
  const auto& flags = options.flags;
  const int connections = options.connections;
  const int seconds = options.seconds;
  testing::RunningFleetcomm fleetcomm(testing::ConfigOverrides{{"database.pool_size", flags.at("pool")},
                                                               {"server.threads", flags.at("threads")},
                                                               {"log.level", "warn"},
                                                               {"limits.max_in_flight", "100000"},
                                                               {"actions.max_per_poll", "1"},
                                                               {"audit.enabled", audit ? "true" : "false"},
                                                               // The sealer's share of the cost, within a short run.
                                                               {"audit.seal_interval_s", "1"}});
  bench::Admin admin(fleetcomm);
  const std::string account = admin.Call("POST", "/api/v1/accounts", {{"name", "bench"}}, 201)["id"];
  // Two devices per connection: one polls with nothing queued, one has actions queued.
  std::vector<testing::CertKeyPaths> quiet, busy;
  for (int c = 0; c < connections; ++c) {
    quiet.push_back(bench::ProvisionDevice(fleetcomm, admin, account, "QUIET" + std::to_string(c)));
    busy.push_back(bench::ProvisionDevice(fleetcomm, admin, account, "BUSY" + std::to_string(c)));
  }
  {
    pqxx::connection conn(fleetcomm.database);
    pqxx::work tx(conn);
    tx.exec_params(
        "INSERT INTO actions (account_id, target_kind, target_id, type, state, expires_at) "
        "SELECT $1, 'device', d.id, 'get_status', 'queued', now() + interval '7 days' "
        "FROM devices d, generate_series(1, $2) WHERE d.serial LIKE 'BUSY%'",
        account, std::stoi(flags.at("actions-per-device")));
    // The rest of the fleet: finished actions of other devices. Without them the table holds
    // 16 targets and the planner's choices are those of no real fleet.
    tx.exec_params(
        "INSERT INTO actions (account_id, target_kind, target_id, type, state, expires_at) "
        "SELECT $1, 'device', 'dv_fleet_' || (n % $2), 'get_status', 'succeeded', now() + interval '7 days' "
        "FROM generate_series(1, $2 * 5) AS n",
        account, std::max(1, std::stoi(flags.at("fleet-devices"))));
    tx.exec("ANALYZE actions");
    tx.commit();
  }
  std::vector<std::unique_ptr<bench::LeanTlsContext>> quiet_tls, busy_tls;
  for (int c = 0; c < connections; ++c) {
    quiet_tls.push_back(std::make_unique<bench::LeanTlsContext>(fleetcomm.pki.server_ca.cert, quiet[c].cert, quiet[c].key));
    busy_tls.push_back(std::make_unique<bench::LeanTlsContext>(fleetcomm.pki.server_ca.cert, busy[c].cert, busy[c].key));
  }
  const std::uint16_t port = fleetcomm.config.ports.device;
  const std::string poll = bench::RawRequest("GET", "/rs/v1/actions");
  const std::string succeeded = "{\"status\":\"succeeded\"}";
  std::printf("audit=%s connections=%d seconds=%d pool=%s threads=%s durable=%s\n", audit ? "on" : "off", connections,
              seconds, flags.at("pool").c_str(), flags.at("threads").c_str(), flags.at("durable").c_str());
  std::map<std::string, double> rates;

  if (Wanted(options, "empty")) {
    const double hits = CacheHits(fleetcomm);
    const auto figures = Run(fleetcomm, connections, seconds, [&](int c) -> Operation {
      auto connection = std::make_shared<bench::LeanHttpsConnection>(*quiet_tls[c], port);
      return [connection, &poll] { return connection->Exchange(poll).status == 200; };
    });
    const double hit = CacheHits(fleetcomm) - hits;
    Print("empty", figures, " cache_hits=" + std::to_string(static_cast<long long>(hit)));
    rates["empty polls/s"] = figures.per_second;
  }
  if (Wanted(options, "action")) {
    const auto figures = Run(fleetcomm, connections, seconds, [&](int c) -> Operation {
      auto connection = std::make_shared<bench::LeanHttpsConnection>(*busy_tls[c], port);
      return [connection, &poll, &succeeded] {
        const auto polled = connection->Exchange(poll);
        const std::string id = IdOf(polled.body);
        if (polled.status != 200 || id.empty()) return false;
        return connection->Exchange(bench::RawRequest("POST", "/rs/v1/actions/" + id + "/result", succeeded)).status ==
               200;
      };
    });
    Print("action", figures);
    rates["poll+result/s"] = figures.per_second;
  }
  if (Wanted(options, "handshake")) {
    const auto figures = Run(fleetcomm, connections, seconds, [&](int c) -> Operation {
      auto connection = std::make_shared<bench::LeanHttpsConnection>(*quiet_tls[c], port);
      return [connection, &poll] {
        connection->Connect();
        const bool ok = connection->Exchange(poll).status == 200;
        connection->Close();
        return ok;
      };
    });
    Print("handshake", figures);
    rates["handshake polls/s"] = figures.per_second;
  }
  if (Wanted(options, "resumed")) {
    std::atomic<long long> resumed{0};
    const auto figures = Run(fleetcomm, connections, seconds, [&](int c) -> Operation {
      auto connection = std::make_shared<bench::LeanHttpsConnection>(*quiet_tls[c], port);
      auto session = std::shared_ptr<SSL_SESSION*>(new SSL_SESSION*(nullptr), [](SSL_SESSION** s) {
        SSL_SESSION_free(*s);
        delete s;
      });
      return [connection, session, &poll, &resumed] {
        if (connection->Connect(*session)) ++resumed;
        const bool ok = connection->Exchange(poll).status == 200;
        // The newest ticket (it arrived with the answer); a connection that got none keeps
        // the previous one, which stays valid until its key is two rotations old.
        if (SSL_SESSION* fresh = connection->TakeSession(); fresh != nullptr && SSL_SESSION_is_resumable(fresh)) {
          SSL_SESSION_free(*session);
          *session = fresh;
        } else {
          SSL_SESSION_free(fresh);
        }
        connection->Close();
        return ok;
      };
    });
    Print("resumed", figures, " resumed=" + std::to_string(resumed.load()));
    rates["resumed polls/s"] = figures.per_second;
  }
  return rates;
}

}  // namespace

int main(int argc, char** argv) try {
  Options options;
  options.flags = bench::ParseFlags(argc, argv,
                                    {{"phases", "empty,action,handshake,resumed"},
                                     {"connections", "16"},
                                     {"seconds", "5"},
                                     {"pool", "4"},
                                     {"threads", "0"},
                                     {"actions-per-device", "2000"},
                                     {"fleet-devices", "10000"},
                                     {"durable", "1"},
                                     {"rounds", "1"},
                                     {"audit", "on"}});
  options.connections = std::stoi(options.flags.at("connections"));
  options.seconds = std::stoi(options.flags.at("seconds"));
  options.phases = "," + options.flags.at("phases") + ",";
  const auto modes = bench::AuditModes(options.flags.at("audit"));
  const int rounds = std::max(1, std::stoi(options.flags.at("rounds")));
  // Durable (fsync, synchronous_commit) as in production; --durable 0 shows what the
  // commits' flushes cost.
  if (options.flags.at("durable") != "0") testing::TempPostgres::UseDurableSettings();
  bench::AuditComparison comparison;
  for (int round = 0; round < rounds; ++round) {
    for (bool audit : modes) {
      for (const auto& [figure, rate] : Measure(options, audit)) comparison.Add(figure, audit, rate);
    }
  }
  comparison.Print();
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "bench failed: %s\n", e.what());
  return 2;
}
