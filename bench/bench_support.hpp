#pragma once
// What the benchmarks share: flags, an admin on the operator API, device provisioning,
// and latency percentiles. Benchmarks print figures; they never pass or fail on speed.
#include "tests/support/https_client.hpp"
#include "tests/support/server_process.hpp"

#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

namespace fleetcomm::bench {

// `--name value` pairs; every name must be one of `defaults`' keys (else throws).
std::map<std::string, std::string> ParseFlags(int argc, char** argv, std::map<std::string, std::string> defaults);

// An operator call that must answer `expected` (throws otherwise); the parsed body, if any.
nlohmann::json Call(testing::HttpClient& client, const std::string& method, const std::string& target,
                    const testing::Headers& headers, const nlohmann::json& body, unsigned expected);

// An admin token of `fleetcomm` and an operator-API client.
struct Admin {
  explicit Admin(const testing::RunningFleetcomm& fleetcomm);
  nlohmann::json Call(const std::string& method, const std::string& target, const nlohmann::json& body,
                      unsigned expected);
  testing::HttpClient operator_api;
  testing::Headers auth;
};

// An active device in `account`: a certificate from the test device CA (serial `serial`),
// pre-provisioned and registered. Returns its certificate files.
testing::CertKeyPaths ProvisionDevice(testing::RunningFleetcomm& fleetcomm, Admin& admin,
                                      const std::string& account, const std::string& serial);

// utime + stime of a process in milliseconds; 0 when it is gone.
double ProcessCpuMs(long long pid);

// CPU time (user + system, ms) used so far by the server process and by its PostgreSQL
// cluster (every process pg_stat_activity lists: backends and background workers; a
// backend that came and went in between is missed). Differences of two samples around a
// phase say where its CPU went.
struct CpuSample {
  double server_ms = 0;
  double postgres_ms = 0;
};
CpuSample SampleCpu(const testing::RunningFleetcomm& fleetcomm);
// " server_us/op=... postgres_us/op=..." for `operations` between two samples.
std::string CpuPerOperation(const CpuSample& before, const CpuSample& after, double operations);

// p in [0, 1] of ascending `sorted`; 0 when empty.
double Percentile(const std::vector<double>& sorted, double p);

double Median(std::vector<double> values);

// `--audit both|on|off`: the settings of audit.enabled each round measures, off first
// (throws on anything else).
std::vector<bool> AuditModes(const std::string& flag);

// Figures of rounds run with the audit log off and on (each on a fresh server and
// database), compared by their medians: the cost of auditing, measured in one run.
class AuditComparison {
 public:
  void Add(const std::string& figure, bool audit, double value);
  // For each figure measured both ways, in the order first added:
  // "median <figure>: audit off=<x> audit on=<y> cost=<z>%" (cost: how much lower on is).
  void Print() const;

 private:
  std::vector<std::string> order_;
  std::map<std::string, std::map<bool, std::vector<double>>> values_;
};

}  // namespace fleetcomm::bench
