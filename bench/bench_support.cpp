#include "bench/bench_support.hpp"

#include <pqxx/pqxx>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>

namespace fleetcomm::bench {

using nlohmann::json;

std::map<std::string, std::string> ParseFlags(int argc, char** argv, std::map<std::string, std::string> defaults) {
  for (int i = 1; i < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag.rfind("--", 0) != 0 || defaults.count(flag.substr(2)) == 0 || i + 1 >= argc) {
      throw std::runtime_error("unknown flag or missing value: " + flag);
    }
    defaults[flag.substr(2)] = argv[i + 1];
  }
  return defaults;
}

json Call(testing::HttpClient& client, const std::string& method, const std::string& target,
          const testing::Headers& headers, const json& body, unsigned expected) {
  const auto result = client.Request(method, target, headers, body.is_null() ? std::string() : body.dump());
  if (result.status != expected) throw std::runtime_error(method + " " + target + ": " + result.Describe());
  return result.body.empty() ? json() : json::parse(result.body);
}

namespace {

std::string CreateAdminToken(const testing::RunningFleetcomm& fleetcomm) {
  const auto token = testing::RunCommand({"token", "create", "--config", fleetcomm.config.path, "--role", "admin"});
  if (token.exit_code != 0) throw std::runtime_error("token create: " + token.err);
  return token.out.substr(0, token.out.size() - 1);
}

}  // namespace

Admin::Admin(const testing::RunningFleetcomm& fleetcomm)
    : operator_api(fleetcomm.config.ports.operator_api, testing::ClientTls(fleetcomm.pki)),
      auth{{"Authorization", "Bearer " + CreateAdminToken(fleetcomm)}} {}

json Admin::Call(const std::string& method, const std::string& target, const json& body, unsigned expected) {
  return bench::Call(operator_api, method, target, auth, body, expected);
}

testing::CertKeyPaths ProvisionDevice(testing::RunningFleetcomm& fleetcomm, Admin& admin, const std::string& account,
                                      const std::string& serial) {
  // Read every time: each RunningFleetcomm (a round, an audit setting) has a PKI of its own.
  const auto device_ca = testing::TestCertificate::LoadFiles(fleetcomm.pki.device_ca.cert, fleetcomm.pki.device_ca.key);
  testing::CertOptions cert;
  cert.organization = "Acme Printers";
  cert.common_name = cert.serial_number_attr = serial;
  cert.eku = testing::CertOptions::Eku::kClientAuth;
  testing::IssueCertificate(device_ca, cert).WriteFiles(fleetcomm.dir.path(), serial);
  testing::CertKeyPaths files{fleetcomm.dir.File(serial + ".crt"), fleetcomm.dir.File(serial + ".key")};
  admin.Call("POST", "/api/v1/accounts/" + account + "/devices", {{"serial", serial}, {"manufacturer", "Acme"}}, 201);
  testing::HttpClient device_api(fleetcomm.config.ports.device, testing::ClientTls(fleetcomm.pki, &files));
  Call(device_api, "POST", "/rs/v1/register", {{"Content-Type", "application/json"}},
       {{"serial", serial}, {"manufacturer", "Acme"}}, 200);
  return files;
}

double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  return sorted[std::min(sorted.size() - 1, static_cast<std::size_t>(p * static_cast<double>(sorted.size())))];
}

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values.empty() ? 0 : values[values.size() / 2];
}

std::vector<bool> AuditModes(const std::string& flag) {
  if (flag == "both") return {false, true};
  if (flag == "on" || flag == "off") return {flag == "on"};
  throw std::runtime_error("--audit both|on|off");
}

void AuditComparison::Add(const std::string& figure, bool audit, double value) {
  if (values_.count(figure) == 0) order_.push_back(figure);
  values_[figure][audit].push_back(value);
}

void AuditComparison::Print() const {
  for (const auto& figure : order_) {
    const auto& measured = values_.at(figure);
    if (measured.size() != 2) continue;
    const double off = Median(measured.at(false)), on = Median(measured.at(true));
    std::printf("median %s: audit off=%.0f audit on=%.0f cost=%.1f%%\n", figure.c_str(), off, on,
                off > 0 ? 100.0 * (off - on) / off : 0.0);
  }
  std::fflush(stdout);
}

}  // namespace fleetcomm::bench

namespace fleetcomm::bench {

double ProcessCpuMs(long long pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto name_end = text.rfind(')');
  if (name_end == std::string::npos) return 0;
  std::istringstream fields(text.substr(name_end + 2));
  std::string field;
  long long ticks = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14 || i == 15) ticks += std::stoll(field);
  }
  return 1000.0 * static_cast<double>(ticks) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

CpuSample SampleCpu(const testing::RunningFleetcomm& fleetcomm) {
  CpuSample sample;
  sample.server_ms = ProcessCpuMs(fleetcomm.process.pid());
  pqxx::connection conn(fleetcomm.database);
  pqxx::nontransaction tx(conn);
  for (const auto& row : tx.exec("SELECT pid FROM pg_stat_activity WHERE pid <> pg_backend_pid()")) {
    sample.postgres_ms += ProcessCpuMs(row[0].as<long long>());
  }
  return sample;
}

std::string CpuPerOperation(const CpuSample& before, const CpuSample& after, double operations) {
  if (operations <= 0) return {};
  char text[96];
  std::snprintf(text, sizeof text, " server_us/op=%.1f postgres_us/op=%.1f",
                1000.0 * (after.server_ms - before.server_ms) / operations,
                1000.0 * (after.postgres_ms - before.postgres_ms) / operations);
  return text;
}

}  // namespace fleetcomm::bench
