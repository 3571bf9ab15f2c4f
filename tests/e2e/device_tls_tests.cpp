// The device listener's client-certificate rules (PROTOCOL.md section 2,
// RELIABILITY-ANCHORS.md section 1) against the real binary, in TLS 1.2 and 1.3.
#include "tests/support/server_process.hpp"

#include <catch2/catch.hpp>
#include <openssl/ssl.h>

#include <thread>

using fleetcomm::testing::CertKeyPaths;
using fleetcomm::testing::ClientTls;
using fleetcomm::testing::HttpClient;
using fleetcomm::testing::TestCertificate;
using fleetcomm::testing::HttpResult;
using fleetcomm::testing::RunningFleetcomm;
using fleetcomm::testing::TlsClientOptions;
using namespace std::chrono_literals;

namespace {

// Lets the client present RSA-1024 or SHA-1 certificates and speak TLS 1.1, so that a
// refusal observed comes from the server, not from the client's own OpenSSL policy.
TlsClientOptions Permissive(TlsClientOptions options, int max_version) {
  options.security_level = 0;
  options.max_version = max_version;
  return options;
}

std::string VersionName(int version) { return version == TLS1_3_VERSION ? "TLS 1.3" : "TLS 1.2"; }

// The server's own record of a refusal: in the handshake, or after it.
std::size_t Refusals(const RunningFleetcomm& fleetcomm) {
  return fleetcomm.process.CountInLog("event=tls_handshake_failed") +
         fleetcomm.process.CountInLog("event=client_certificate_refused");
}

// Refused means: the handshake failed, or (TLS 1.3, where the client finishes first) the
// connection died with a TLS alert or reset before any answer, or 401 certificate_rejected;
// and the server logged the refusal. Never any other answer.
void CheckRefused(RunningFleetcomm& fleetcomm, const CertKeyPaths& cert, int version) {
  const std::size_t before = Refusals(fleetcomm);
  HttpClient client(fleetcomm.config.ports.device, Permissive(ClientTls(fleetcomm.pki, &cert), version), 5s);
  const HttpResult result = client.Get("/rs/v1/anything");
  INFO(cert.cert << " over " << VersionName(version) << ": " << result.Describe());
  REQUIRE(result.connected);
  if (result.answered) {
    CHECK(result.status == 401);
    CHECK(result.ErrorCode() == "certificate_rejected");
  } else {
    CHECK_FALSE(result.error.empty());
    CHECK_THAT(result.error, !Catch::Contains("timeout") && !Catch::Contains("timed out"));
  }
  INFO("log:\n" << fleetcomm.process.LogTail());
  const auto deadline = std::chrono::steady_clock::now() + 3s;
  while (Refusals(fleetcomm) <= before && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  CHECK(Refusals(fleetcomm) == before + 1);
  // Whether OpenSSL or fleetcomm refused it, the log names the certificate that was refused.
  const std::string fingerprint = TestCertificate::LoadFiles(cert.cert, cert.key).Sha256FingerprintHex();
  CHECK(fleetcomm.process.CountInLog("fingerprint=" + fingerprint) >= 1);
}

}  // namespace

TEST_CASE("device listener: a good device certificate reaches routing", "[e2e][tls]") {
  RunningFleetcomm fleetcomm;
  for (int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    // Same permissive client as the refusal tests: proves the refusals are the server's.
    HttpClient client(fleetcomm.config.ports.device,
                      Permissive(ClientTls(fleetcomm.pki, &fleetcomm.pki.device_xrx0001), version));
    const auto first = client.Get("/rs/v1/anything");
    INFO(VersionName(version) << ": " << first.Describe());
    REQUIRE(first.status == 404);
    CHECK(first.ErrorCode() == "not_found");
    CHECK_THAT(first.Header("Content-Type"), Catch::StartsWith("application/json"));
    CHECK_FALSE(first.Header("X-Request-Id").empty());

    // Keep-alive: the second request rides the same connection.
    const auto second = client.Get("/rs/v1/other");
    INFO(second.Describe());
    CHECK(second.status == 404);
    CHECK(client.ConnectionsOpened() == 1);
    CHECK(second.Header("X-Request-Id") != first.Header("X-Request-Id"));
  }
}

// A poller connecting anew each time resumes with the ticket of its previous connection,
// every time: TLS 1.3 clients use a ticket once, so a resumed connection must hand out a
// new one (it did not, and every other reconnection was a full handshake).
TEST_CASE("device listener: every reconnection resumes with the previous connection's ticket", "[e2e][tls]") {
  RunningFleetcomm fleetcomm;
  for (int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    auto options = ClientTls(fleetcomm.pki, &fleetcomm.pki.device_xrx0001);
    options.max_version = version;
    options.resume_sessions = true;
    HttpClient client(fleetcomm.config.ports.device, options);
    for (int connection = 0; connection < 4; ++connection) {
      const auto result = client.Get("/rs/v1/anything");
      INFO(VersionName(version) << ", connection " << connection << ": " << result.Describe());
      REQUIRE(result.status == 404);
      CHECK(client.Resumed() == (connection > 0));
      client.Close();
    }
    CHECK(client.ConnectionsOpened() == 4);
  }
}

TEST_CASE("device listener: no client certificate is 401 certificate_rejected", "[e2e][tls]") {
  RunningFleetcomm fleetcomm;
  HttpClient client(fleetcomm.config.ports.device, ClientTls(fleetcomm.pki));
  const auto result = client.Get("/rs/v1/anything");
  INFO(result.Describe());
  CHECK(result.status == 401);
  CHECK(result.ErrorCode() == "certificate_rejected");
  CHECK_FALSE(result.Header("X-Request-Id").empty());
}

TEST_CASE("device listener: bad certificates are refused", "[e2e][tls]") {
  RunningFleetcomm fleetcomm;
  const auto& pki = fleetcomm.pki;
  const std::vector<std::pair<std::string, const CertKeyPaths*>> bad = {
      {"expired", &pki.device_expired},
      {"not yet valid", &pki.device_not_yet_valid},
      {"rogue CA with the device CA's name", &pki.device_rogue},
      {"SHA-1 signature", &pki.device_sha1},
      {"RSA 1024", &pki.device_rsa1024},
      {"no EKU", &pki.device_noeku},
      {"CA flag", &pki.device_ca_flagged},
      {"serverAuth EKU only", &pki.device_serverauth},
      {"chained through a CA-flagged device certificate", &pki.device_chained},
  };
  for (const auto& [name, cert] : bad) {
    for (int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
      INFO(name);
      CheckRefused(fleetcomm, *cert, version);
    }
  }
}

TEST_CASE("device listener: TLS 1.1 fails the handshake", "[e2e][tls]") {
  RunningFleetcomm fleetcomm;
  const std::size_t before = fleetcomm.process.CountInLog("event=tls_handshake_failed");
  auto options = Permissive(ClientTls(fleetcomm.pki, &fleetcomm.pki.device_xrx0001), TLS1_1_VERSION);
  options.min_version = TLS1_VERSION;
  HttpClient client(fleetcomm.config.ports.device, options);
  const auto result = client.Connect();
  INFO(result.Describe());
  CHECK(result.connected);
  CHECK_FALSE(result.handshake_ok);
  CHECK(result.tls_alert);
  // The ClientHello did reach the server and was refused there.
  CHECK(fleetcomm.process.WaitForLog("event=tls_handshake_failed", before + 1, 3s));
}
