// Signals as an init system or an operator sends them: SIGTERM drains and exits,
// SIGHUP reloads the TLS files without dropping anyone, and a bad file changes nothing.
#include "tests/support/server_process.hpp"

#include <catch2/catch.hpp>

#include <signal.h>

#include <fstream>

using fleetcomm::testing::CertOptions;
using fleetcomm::testing::ClientTls;
using fleetcomm::testing::ConfigOverrides;
using fleetcomm::testing::HttpClient;
using fleetcomm::testing::IssueCertificate;
using fleetcomm::testing::RunningFleetcomm;
using fleetcomm::testing::TestCertificate;
using namespace std::chrono_literals;

namespace {

// A new server certificate from the test server CA, written over the files the running
// server was configured with. Returns its fingerprint.
std::string ReplaceServerCertificate(const RunningFleetcomm& fleetcomm) {
  const auto& pki = fleetcomm.pki;
  const auto ca = TestCertificate::LoadFiles(pki.server_ca.cert, pki.server_ca.key);
  CertOptions options;
  options.common_name = "localhost";
  options.eku = CertOptions::Eku::kServerAuth;
  options.dns_sans = {"localhost"};
  options.ip_sans = {"127.0.0.1"};
  const auto issued = IssueCertificate(ca, options);
  issued.WriteFiles(pki.dir, "server");
  REQUIRE(TestCertificate::LoadFiles(pki.server.cert, pki.server.key).Sha256FingerprintHex() ==
          issued.Sha256FingerprintHex());
  return issued.Sha256FingerprintHex();
}

}  // namespace

TEST_CASE("SIGTERM with an idle keep-alive connection exits 0 without waiting for the drain timeout",
          "[e2e][lifecycle]") {
  RunningFleetcomm fleetcomm(ConfigOverrides{{"shutdown.drain_timeout_s", "10"}});
  HttpClient device(fleetcomm.config.ports.device, ClientTls(fleetcomm.pki, &fleetcomm.pki.device_xrx0001));
  REQUIRE(device.Get("/rs/v1/anything").status == 404);
  HttpClient ops(fleetcomm.config.ports.ops, std::nullopt);
  REQUIRE(ops.Get("/healthz").status == 200);
  REQUIRE(device.IsOpen());
  REQUIRE(ops.IsOpen());

  const auto start = std::chrono::steady_clock::now();
  fleetcomm.process.Signal(SIGTERM);
  const auto code = fleetcomm.process.WaitExit(8s);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  INFO("log:\n" << fleetcomm.process.LogTail());
  REQUIRE(code);
  CHECK(*code == 0);
  CHECK(elapsed < 5s);
  CHECK(fleetcomm.process.CountInLog("event=drain_timeout") == 0);
  CHECK(device.WaitForServerClose(1s));
}

TEST_CASE("SIGHUP reloads the server certificate; a corrupt file keeps the old one", "[e2e][lifecycle]") {
  RunningFleetcomm fleetcomm;
  const auto& pki = fleetcomm.pki;
  const std::string original = TestCertificate::LoadFiles(pki.server.cert, pki.server.key).Sha256FingerprintHex();
  const auto device_tls = ClientTls(pki, &pki.device_xrx0001);

  HttpClient before(fleetcomm.config.ports.device, device_tls);
  REQUIRE(before.Get("/rs/v1/anything").status == 404);
  REQUIRE(before.PeerFingerprint() == original);

  const std::string renewed = ReplaceServerCertificate(fleetcomm);
  REQUIRE(renewed != original);
  fleetcomm.process.Signal(SIGHUP);
  INFO("log:\n" << fleetcomm.process.LogTail());
  REQUIRE(fleetcomm.process.WaitForLog("event=tls_reloaded", 1, 5s));

  HttpClient device(fleetcomm.config.ports.device, device_tls);
  const auto answer = device.Get("/rs/v1/anything");
  INFO(answer.Describe());
  CHECK(answer.status == 404);
  CHECK(device.PeerFingerprint() == renewed);
  HttpClient operator_api(fleetcomm.config.ports.operator_api, ClientTls(pki));
  REQUIRE(operator_api.Connect().handshake_ok);
  CHECK(operator_api.PeerFingerprint() == renewed);
  // The connection opened before the reload is untouched.
  CHECK(before.Get("/rs/v1/again").status == 404);
  CHECK(before.ConnectionsOpened() == 1);

  {
    std::ofstream corrupt(pki.server.cert, std::ios::trunc);
    corrupt << "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n";
  }
  fleetcomm.process.Signal(SIGHUP);
  REQUIRE(fleetcomm.process.WaitForLog("event=tls_reload_failed", 1, 5s));
  CHECK(fleetcomm.process.Running());
  HttpClient after(fleetcomm.config.ports.device, device_tls);
  const auto still = after.Get("/rs/v1/anything");
  INFO(still.Describe());
  CHECK(still.status == 404);
  CHECK(after.PeerFingerprint() == renewed);
  // The failure is logged without the key material or file contents.
  CHECK(fleetcomm.process.CountInLog("not base64") == 0);
}
