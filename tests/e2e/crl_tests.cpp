// Revocation lists of the device trust anchors (`device.crls`): a listed certificate is
// refused in the handshake, SIGHUP loads a new list, and a bad list keeps the old one.
#include "tests/support/fleet_actors.hpp"

#include <catch2/catch.hpp>

#include <csignal>
#include <fstream>

using fleetcomm::testing::CertKeyPaths;
using fleetcomm::testing::ClientTls;
using fleetcomm::testing::HttpClient;
using fleetcomm::testing::RunningFleetcomm;
using fleetcomm::testing::ServerProcess;
using fleetcomm::testing::TestCertificate;
using namespace std::chrono_literals;
namespace testing = fleetcomm::testing;

namespace {

void WriteCrl(const RunningFleetcomm& fleetcomm, const std::string& path, const std::vector<const CertKeyPaths*>& revoked) {
  const auto ca = TestCertificate::LoadFiles(fleetcomm.pki.device_ca.cert, fleetcomm.pki.device_ca.key);
  std::vector<TestCertificate> certificates;
  for (const auto* files : revoked) certificates.push_back(TestCertificate::LoadFiles(files->cert, files->key));
  std::vector<const TestCertificate*> pointers;
  for (const auto& certificate : certificates) pointers.push_back(&certificate);
  std::ofstream(path) << testing::MakeCrlPem(ca, pointers);
}

// Accepted means the request reached the server's routing: registration answers 202.
bool Accepted(const ServerProcess& server, const RunningFleetcomm& fleetcomm, const CertKeyPaths& device,
              const std::string& serial) {
  HttpClient client(server.ports().device, ClientTls(fleetcomm.pki, &device));
  const auto result = client.Request("POST", "/rs/v1/register", {{"Content-Type", "application/json"}},
                                     R"({"serial":")" + serial + R"(","manufacturer":"Xerox"})");
  INFO(serial << ": " << result.Describe());
  if (result.answered) CHECK((result.status == 202 || result.status == 401));
  return result.answered && result.status == 202;
}

}  // namespace

TEST_CASE("crl: listed device certificates are refused; SIGHUP swaps in a valid new list only", "[e2e][tls][crl]") {
  RunningFleetcomm fleetcomm;
  testing::TempDir dir;
  const std::string crl = dir.File("device-ca.crl");
  WriteCrl(fleetcomm, crl, {&fleetcomm.pki.device_xrx0002});
  ServerProcess server(testing::WriteServerConfig(dir.path(), fleetcomm.pki, fleetcomm.database, {{"device.crls", crl}}));

  CHECK(Accepted(server, fleetcomm, fleetcomm.pki.device_xrx0001, "XRX0001"));
  CHECK_FALSE(Accepted(server, fleetcomm, fleetcomm.pki.device_xrx0002, "XRX0002"));
  CHECK(server.WaitForLog("certificate revoked", 1, 3s));

  WriteCrl(fleetcomm, crl, {&fleetcomm.pki.device_xrx0001, &fleetcomm.pki.device_xrx0002});
  server.Signal(SIGHUP);
  REQUIRE(server.WaitForLog("event=tls_reloaded", 1, 5s));
  CHECK_FALSE(Accepted(server, fleetcomm, fleetcomm.pki.device_xrx0001, "XRX0001"));

  // A list that is not a CRL (or not signed by an anchor) is refused; the one in force stays.
  std::ofstream(crl) << "-----BEGIN X509 CRL-----\nnot base64\n-----END X509 CRL-----\n";
  server.Signal(SIGHUP);
  REQUIRE(server.WaitForLog("event=tls_reload_failed", 1, 5s));
  CHECK_FALSE(Accepted(server, fleetcomm, fleetcomm.pki.device_xrx0001, "XRX0001"));
  const auto rogue_signed = TestCertificate::LoadFiles(fleetcomm.pki.rogue_ca.cert, fleetcomm.pki.rogue_ca.key);
  std::ofstream(crl) << testing::MakeCrlPem(rogue_signed, {});
  server.Signal(SIGHUP);
  REQUIRE(server.WaitForLog("event=tls_reload_failed", 2, 5s));
  CHECK(server.CountInLog("not signed by a device trust anchor") == 1);
  CHECK_FALSE(Accepted(server, fleetcomm, fleetcomm.pki.device_xrx0001, "XRX0001"));
}
