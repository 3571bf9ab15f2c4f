// Upload throughput of the real binary over real mTLS keep-alive connections, against a
// throwaway PostgreSQL (synchronous_commit on: every 201 is durable). Prints uploads/s,
// devices/s, stored rows/s and latency percentiles, with the audit log on and off (each
// round runs both, on a fresh server and database each; the medians are compared).
//
//   fleetcomm-upload-bench [--devices-per-report 1|100] [--connections 16] [--seconds 10]
//                          [--pool 8] [--threads 0] [--rounds 1] [--audit both|on|off]
//
// The load generator shares the machine with the server and PostgreSQL: figures are for
// comparing builds on one machine, not absolute capacities.
#include "tests/support/https_client.hpp"
#include "tests/support/server_process.hpp"
#include "tests/support/temp_postgres.hpp"
#include "tools/report_writer.hpp"
#include "tools/sample_device.hpp"
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
  int rounds = 1;
  std::vector<bool> audit = {false, true};
};

struct Figures {
  double uploads_per_second = 0;
  long long failures = 0;
};

Options ParseOptions(int argc, char** argv) {
  Options options;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--audit") {
      const std::string mode = argv[i + 1];
      if (mode != "both" && mode != "on" && mode != "off") throw std::runtime_error("--audit both|on|off");
      options.audit = mode == "both" ? std::vector<bool>{false, true} : std::vector<bool>{mode == "on"};
      continue;
    }
    const int value = std::stoi(argv[i + 1]);
    if (flag == "--devices-per-report") options.devices_per_report = value;
    else if (flag == "--connections") options.connections = value;
    else if (flag == "--seconds") options.seconds = value;
    else if (flag == "--pool") options.pool = value;
    else if (flag == "--threads") options.threads = value;
    else if (flag == "--rounds") options.rounds = std::max(1, value);
    else throw std::runtime_error("unknown flag " + flag);
  }
  return options;
}

std::string NewUuid(std::mt19937_64& random) {
  const std::uint64_t a = random(), b = random();
  char text[40];
  std::snprintf(text, sizeof text, "%08x-%04x-4%03x-a%03x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>(a >> 16) & 0xffff, static_cast<unsigned>(a) & 0xfff,
                static_cast<unsigned>(b >> 48) & 0xfff, static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return text;
}

struct Client {
  testing::CertKeyPaths files;
  bool agent = false;
  std::string serial_prefix;
};

std::string Payload(const Client& client, int devices, std::int64_t sequence, std::mt19937_64& random) {
  protocol::Report report;
  report.id = NewUuid(random);
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

json Call(testing::HttpClient& client, const std::string& method, const std::string& target,
          const testing::Headers& headers, const json& body, unsigned expected) {
  const auto result = client.Request(method, target, headers, body.is_null() ? std::string() : body.dump());
  if (result.status != expected) throw std::runtime_error(method + " " + target + ": " + result.Describe());
  return result.body.empty() ? json() : json::parse(result.body);
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
  const auto token = testing::RunCommand({"token", "create", "--config", fleetcomm.config.path, "--role", "admin"});
  if (token.exit_code != 0) throw std::runtime_error("token create: " + token.err);
  const testing::Headers auth = {{"Authorization", "Bearer " + token.out.substr(0, token.out.size() - 1)}};
  testing::HttpClient operator_api(fleetcomm.config.ports.operator_api, testing::ClientTls(fleetcomm.pki));
  const std::string account = Call(operator_api, "POST", "/api/v1/accounts", auth, {{"name", "bench"}}, 201)["id"];
  const auto device_ca = testing::TestCertificate::LoadFiles(fleetcomm.pki.device_ca.cert, fleetcomm.pki.device_ca.key);
  std::vector<Client> clients;
  for (int c = 0; c < options.connections; ++c) {
    Client client;
    if (options.devices_per_report > 1) {
      const json key = Call(operator_api, "POST", "/api/v1/accounts/" + account + "/registration-keys", auth,
                            json::object(), 201);
      auto agent_key = testing::GenerateKey({});
      testing::HttpClient device_api(fleetcomm.config.ports.device, testing::ClientTls(fleetcomm.pki));
      const json enrolled = Call(device_api, "POST", "/rs/v1/enroll", {{"Content-Type", "application/json"}},
                                 {{"registration_key", key["secret"]}, {"csr", testing::MakeCsrPem(agent_key.get(), "x")},
                                  {"product", "bench"}, {"version", "1"},
                                  {"site", {{"name", "b"}, {"contact_email", "b@example.com"}}}},
                                 201);
      client.agent = true;
      client.serial_prefix = "AG" + std::to_string(c) + "-";
      client.files = {fleetcomm.dir.File("agent" + std::to_string(c) + ".crt"),
                      fleetcomm.dir.File("agent" + std::to_string(c) + ".key")};
      std::ofstream(client.files.cert) << enrolled["certificate"].get<std::string>();
      std::ofstream(client.files.key) << testing::PrivateKeyPem(agent_key.get());
    } else {
      client.serial_prefix = "BENCH" + std::to_string(c);
      testing::CertOptions cert;
      cert.organization = "Acme Printers";
      cert.common_name = cert.serial_number_attr = client.serial_prefix;
      cert.eku = testing::CertOptions::Eku::kClientAuth;
      testing::IssueCertificate(device_ca, cert).WriteFiles(fleetcomm.dir.path(), client.serial_prefix);
      client.files = {fleetcomm.dir.File(client.serial_prefix + ".crt"), fleetcomm.dir.File(client.serial_prefix + ".key")};
      Call(operator_api, "POST", "/api/v1/accounts/" + account + "/devices", auth,
           {{"serial", client.serial_prefix}, {"manufacturer", "Acme"}}, 201);
      testing::HttpClient device_api(fleetcomm.config.ports.device, testing::ClientTls(fleetcomm.pki, &client.files));
      Call(device_api, "POST", "/rs/v1/register", {{"Content-Type", "application/json"}},
           {{"serial", client.serial_prefix}, {"manufacturer", "Acme"}}, 200);
    }
    clients.push_back(std::move(client));
  }
  return clients;
}

double Percentile(std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  return sorted[std::min(sorted.size() - 1, static_cast<std::size_t>(p * static_cast<double>(sorted.size())))];
}

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values.empty() ? 0 : values[values.size() / 2];
}

Figures Measure(const Options& options, bool audit) {
  testing::RunningFleetcomm fleetcomm(testing::ConfigOverrides{
      {"database.pool_size", std::to_string(options.pool)},
      {"server.threads", std::to_string(options.threads)},
      {"log.level", "warn"},
      {"limits.max_in_flight", "100000"},
      {"audit.enabled", audit ? "true" : "false"}});
  auto clients = PrepareClients(fleetcomm, options);

  // Payloads are made before the clock starts: the generator must not compete with the server.
  // Enough for well beyond the rates seen here; a client that runs out stops early, and the
  // rate is taken over the wall time until the last client stops.
  const int per_client = std::max(50, (options.devices_per_report > 1 ? 300 : 2500) * options.seconds /
                                          options.connections);
  std::vector<std::vector<std::string>> payloads(clients.size());
  std::mt19937_64 random(42);
  for (std::size_t c = 0; c < clients.size(); ++c) {
    for (int i = 0; i < per_client; ++i) payloads[c].push_back(Payload(clients[c], options.devices_per_report, i, random));
  }
  const long long rows_before = StoredRows(fleetcomm.database);
  std::atomic<long long> uploads{0}, failures{0};
  std::vector<std::vector<double>> latencies(clients.size());
  const auto started = Clock::now();
  const auto deadline = started + std::chrono::seconds(options.seconds);
  std::vector<std::thread> threads;
  for (std::size_t c = 0; c < clients.size(); ++c) {
    threads.emplace_back([&, c] {
      testing::HttpClient http(fleetcomm.config.ports.device, testing::ClientTls(fleetcomm.pki, &clients[c].files),
                               std::chrono::seconds(30));
      for (const auto& payload : payloads[c]) {
        if (Clock::now() >= deadline) break;
        const auto sent = Clock::now();
        const auto result = http.Request("POST", "/rs/v1/uploads", {{"Content-Type", "application/zip"}}, payload);
        latencies[c].push_back(std::chrono::duration<double, std::milli>(Clock::now() - sent).count());
        (result.status == 201 ? uploads : failures)++;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - started).count();
  const long long rows = StoredRows(fleetcomm.database) - rows_before;
  std::vector<double> all;
  for (auto& part : latencies) all.insert(all.end(), part.begin(), part.end());
  std::sort(all.begin(), all.end());
  std::printf("audit=%s devices/report=%d connections=%d pool=%d seconds=%.1f payload_bytes=%zu\n",
              audit ? "on" : "off", options.devices_per_report, options.connections, options.pool, elapsed,
              payloads[0][0].size());
  std::printf("uploads/s=%.0f devices/s=%.0f rows/s=%.0f failures=%lld p50_ms=%.2f p99_ms=%.2f\n",
              static_cast<double>(uploads) / elapsed,
              static_cast<double>(uploads) * options.devices_per_report / elapsed, static_cast<double>(rows) / elapsed,
              failures.load(), Percentile(all, 0.5), Percentile(all, 0.99));
  std::fflush(stdout);
  return {static_cast<double>(uploads) / elapsed, failures.load()};
}

}  // namespace

int main(int argc, char** argv) try {
  const Options options = ParseOptions(argc, argv);
  testing::TempPostgres::UseDurableSettings();  // every 201 on disk, as in production
  std::map<bool, std::vector<double>> rates;
  long long failures = 0;
  for (int round = 0; round < options.rounds; ++round) {
    for (bool audit : options.audit) {
      const Figures figures = Measure(options, audit);
      rates[audit].push_back(figures.uploads_per_second);
      failures += figures.failures;
    }
  }
  if (rates.size() == 2) {
    const double off = Median(rates[false]), on = Median(rates[true]);
    std::printf("median uploads/s: audit off=%.0f audit on=%.0f cost=%.1f%%\n", off, on,
                off > 0 ? 100.0 * (off - on) / off : 0.0);
  }
  return failures == 0 ? 0 : 1;
} catch (const std::exception& e) {
  std::fprintf(stderr, "bench failed: %s\n", e.what());
  return 2;
}
