#include "bench/bench_support.hpp"

#include <algorithm>
#include <cstdio>
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
