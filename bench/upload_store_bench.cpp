// The database side of uploads alone: storage::StoreUploads on one connection, in batches of
// --batch uploads (batch 1: one transaction per upload), against a throwaway PostgreSQL with
// durable settings (synchronous_commit on, fsync on). No TLS, no parsing: this isolates what
// the statements of a group commit cost. Prints uploads/s, the PostgreSQL backend's CPU per
// upload (from /proc, the one backend serving the connection) and this process's (building
// the statements' parameters). With --devices-per-report N > 1 the senders are agents whose
// reports carry N printers each, the same N every time (as agents report their fleet).
//
//   fleetcomm-upload-store-bench [--batch 16] [--uploads 3000] [--senders 64] [--devices-per-report 1]
#include "bench/bench_support.hpp"
#include "storage/accounts.hpp"
#include "storage/agents.hpp"
#include "storage/devices.hpp"
#include "storage/uploads.hpp"
#include "tests/support/temp_postgres.hpp"
#include "tools/sample_device.hpp"
#include "tools/simulated_printer.hpp"

#include <pqxx/pqxx>

#include <chrono>
#include <cstdio>
#include <random>

#include <unistd.h>

namespace storage = fleetcomm::storage;
namespace protocol = fleetcomm::protocol;
using Clock = std::chrono::steady_clock;

namespace {

std::string EnrollAgent(pqxx::connection& conn, const std::string& account, int index) {
  storage::NewRegistrationKey key{account, std::string(32, static_cast<char>(index)), std::nullopt, std::nullopt};
  storage::CreateRegistrationKey(conn, key).value();
  const std::string id = "ag_store" + std::to_string(index);
  storage::AgentEnrolment enrolment{key.key_sha256, id, "agent-lite", "5.6.1", "HQ", std::nullopt, "it@example.com"};
  const auto issue = [index]() -> storage::StorageResult<storage::IssuedAgentCertificate> {
    char fingerprint[65];
    std::snprintf(fingerprint, sizeof fingerprint, "%064x", index + 1);
    return storage::IssuedAgentCertificate{"PEM", fingerprint, "01", 2000000000};
  };
  return storage::EnrollAgent(conn, enrolment, issue).value().agent_id;
}

protocol::Report AgentReport(const std::string& id, int agent, int devices, int sequence) {
  protocol::Report report;
  report.id = id;
  report.source = protocol::ReportSource::kAgent;
  report.agent = protocol::AgentInfo{"agent-lite", "5.6.1", {}, {}, std::nullopt, std::nullopt};
  for (int d = 0; d < devices; ++d) {
    report.devices.push_back(fleetcomm::tools::SampleOfficeDevice(
        "AG" + std::to_string(agent) + "-" + std::to_string(d), 1000 + sequence));
  }
  return report;
}

}  // namespace

int main(int argc, char** argv) try {
  const auto flags = fleetcomm::bench::ParseFlags(argc, argv, {{"batch", "16"}, {"uploads", "3000"}, {"senders", "64"}, {"devices-per-report", "1"}});
  const int batch = std::max(1, std::stoi(flags.at("batch")));
  const int total = std::stoi(flags.at("uploads"));
  const int senders = std::max(1, std::stoi(flags.at("senders")));
  const int devices_per_report = std::max(1, std::stoi(flags.at("devices-per-report")));
  const bool agents = devices_per_report > 1;
  fleetcomm::testing::TempPostgres::UseDurableSettings();
  pqxx::connection conn(fleetcomm::testing::TempPostgres::Instance().CreateDatabase());
  storage::AccountFields fields;
  fields.name = "bench";
  const std::string account = storage::CreateAccount(conn, fields).value().id;
  std::vector<std::string> devices;
  for (int s = 0; s < senders && agents; ++s) devices.push_back(EnrollAgent(conn, account, s));
  for (int s = 0; s < senders && !agents; ++s) {
    const std::string serial = "STORE" + std::to_string(s);
    storage::ProvisionDevice(conn, account, "Xerox", serial).value();
    char fingerprint[65];
    std::snprintf(fingerprint, sizeof fingerprint, "%064x", s + 1);
    devices.push_back(
        storage::RegisterDevice(conn, {"Xerox", serial, "C8155", "1.0", std::nullopt, fingerprint}).value().device.id);
  }
  std::mt19937_64 random(7);
  std::vector<protocol::Report> reports;
  std::vector<storage::NewUpload> uploads(static_cast<std::size_t>(total));
  reports.reserve(static_cast<std::size_t>(total));
  const std::string zip(2000, 'z');
  for (int i = 0; i < total; ++i) {
    auto report = agents ? AgentReport(fleetcomm::tools::RandomUuid(random), i % senders, devices_per_report, i)
                         : fleetcomm::tools::SampleDeviceReport(fleetcomm::tools::RandomUuid(random),
                                                                "STORE" + std::to_string(i % senders), 1000 + i);
    char generated[32];
    std::snprintf(generated, sizeof generated, "2026-11-24T%02d:%02d:%02dZ", (i / 3600) % 24, (i / 60) % 60, i % 60);
    report.generated_at = generated;
    for (auto& device : report.devices) device.counters->read_at.reset();
    reports.push_back(std::move(report));
  }
  for (int i = 0; i < total; ++i) {
    auto& upload = uploads[static_cast<std::size_t>(i)];
    upload.sender = {agents ? storage::ClientKind::kAgent : storage::ClientKind::kDevice,
                     devices[static_cast<std::size_t>(i % senders)], account};
    upload.report = &reports[static_cast<std::size_t>(i)];
    upload.content_sha256 = std::string(32, static_cast<char>(i));
    upload.zip = zip;
    upload.report_bytes = 6000;
  }
  const int backend = pqxx::nontransaction(conn).exec1("SELECT pg_backend_pid()")[0].as<int>();
  const double cpu_before = fleetcomm::bench::ProcessCpuMs(backend);
  const double own_cpu_before = fleetcomm::bench::ProcessCpuMs(getpid());
  const auto started = Clock::now();
  long long failures = 0;
  for (int first = 0; first < total; first += batch) {
    std::vector<const storage::NewUpload*> group;
    for (int i = first; i < std::min(total, first + batch); ++i) group.push_back(&uploads[static_cast<std::size_t>(i)]);
    std::sort(group.begin(), group.end(), [](auto* a, auto* b) { return a->sender.id < b->sender.id; });
    for (const auto& result : storage::StoreUploads(conn, group)) failures += result ? 0 : 1;
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  const double cpu = fleetcomm::bench::ProcessCpuMs(backend) - cpu_before;
  const double own_cpu = fleetcomm::bench::ProcessCpuMs(getpid()) - own_cpu_before;
  std::printf("batch=%d uploads=%d devices/report=%d uploads/s=%.0f pg_backend_cpu_ms_per_upload=%.3f "
              "client_cpu_ms_per_upload=%.3f failures=%lld\n",
              batch, total, devices_per_report, total / seconds, cpu / total, own_cpu / total, failures);
  return failures == 0 ? 0 : 1;
} catch (const std::exception& e) {
  std::fprintf(stderr, "bench failed: %s\n", e.what());
  return 2;
}
