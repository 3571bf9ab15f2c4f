// Agent enrolment through the real binary (PROTOCOL.md 3.1): a registration key and a CSR
// become an agent and a certificate, which then opens the device listener.
#include "tests/support/fleet_actors.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <fstream>

using fleetcomm::testing::ClientTls;
using fleetcomm::testing::CreateOperatorToken;
using fleetcomm::testing::HttpClient;
using fleetcomm::testing::HttpResult;
using fleetcomm::testing::OperatorCall;
using fleetcomm::testing::QueryNumber;
using fleetcomm::testing::RunningFleetcomm;
using nlohmann::json;
namespace testing = fleetcomm::testing;
using namespace std::chrono_literals;

namespace {

json EnrolmentBody(const std::string& key, const std::string& csr) {
  return {{"registration_key", key},
          {"csr", csr},
          {"product", "agent-lite"},
          {"version", "5.6.1"},
          {"site", {{"name", "HQ 3rd floor"}, {"location", "Lyon, FR"}, {"contact_email", "it@example.com"}}}};
}

HttpResult Enroll(const RunningFleetcomm& fleetcomm, const json& body) {
  HttpClient client(fleetcomm.config.ports.device, ClientTls(fleetcomm.pki));
  return client.Request("POST", "/rs/v1/enroll", {{"Content-Type", "application/json"}}, body.dump());
}

}  // namespace

TEST_CASE("enrolment: an agent enrols once per key use and then talks with its certificate", "[e2e][enroll]") {
  RunningFleetcomm fleetcomm;
  const std::string admin = CreateOperatorToken(fleetcomm, {"--role", "admin"});
  const std::string account = OperatorCall(fleetcomm, admin, "POST", "/api/v1/accounts", 201, {{"name", "Site"}})["id"];
  const json key = OperatorCall(fleetcomm, admin, "POST", "/api/v1/accounts/" + account + "/registration-keys", 201,
                                {{"max_uses", 1}});
  const std::string secret = key["secret"];

  auto agent_key = testing::GenerateKey({});
  const std::string csr = testing::MakeCsrPem(agent_key.get(), "whatever-the-agent-says");
  const auto enrolled = Enroll(fleetcomm, EnrolmentBody(secret, csr));
  INFO(enrolled.Describe());
  REQUIRE(enrolled.status == 201);
  const json answer = json::parse(enrolled.body);
  const std::string agent_id = answer["agent_id"];
  CHECK(agent_id.rfind("ag_", 0) == 0);
  CHECK(answer["account_id"] == account);
  CHECK(answer["next_poll_s"] == 86400);
  CHECK(QueryNumber(fleetcomm, "SELECT count(*) FROM agents WHERE id = '" + agent_id + "'") == 1);
  CHECK(QueryNumber(fleetcomm, "SELECT uses FROM registration_keys") == 1);

  // The issued chain and the agent's own key open the device listener as that agent.
  testing::TempDir dir;
  const testing::CertKeyPaths files{dir.File("agent.crt"), dir.File("agent.key")};
  std::ofstream(files.cert) << answer["certificate"].get<std::string>();
  std::ofstream(files.key) << testing::PrivateKeyPem(agent_key.get());
  HttpClient as_agent(fleetcomm.config.ports.device, ClientTls(fleetcomm.pki, &files));
  const auto reached = as_agent.Get("/rs/v1/anything");
  INFO(reached.Describe());
  CHECK(reached.status == 404);  // authenticated, routed, nothing there yet
  // The access line is written after the answer is sent: wait for it, do not race it.
  CHECK(fleetcomm.process.WaitForLog("identity=cert:" + agent_id, 1, 3s));

  // The key had one use: a second enrolment gets the same answer as an unknown key.
  const auto again = Enroll(fleetcomm, EnrolmentBody(secret, csr));
  const auto unknown = Enroll(fleetcomm, EnrolmentBody("RK-" + std::string(43, 'x'), csr));
  CHECK(again.status == 401);
  CHECK(again.ErrorCode() == "invalid_registration_key");
  CHECK(unknown.status == 401);
  CHECK(again.body == unknown.body);
  CHECK(QueryNumber(fleetcomm, "SELECT count(*) FROM agents") == 1);
}

TEST_CASE("enrolment: revoked keys and bad requests leave no rows", "[e2e][enroll]") {
  RunningFleetcomm fleetcomm;
  const std::string admin = CreateOperatorToken(fleetcomm, {"--role", "admin"});
  const std::string account = OperatorCall(fleetcomm, admin, "POST", "/api/v1/accounts", 201, {{"name", "Site"}})["id"];
  const json key = OperatorCall(fleetcomm, admin, "POST", "/api/v1/accounts/" + account + "/registration-keys", 201,
                                json::object());
  const std::string secret = key["secret"];
  auto agent_key = testing::GenerateKey({});
  const std::string csr = testing::MakeCsrPem(agent_key.get(), "a");

  testing::KeyOptions weak;
  weak.kind = testing::KeyOptions::kRsa;
  weak.rsa_bits = 1024;
  auto weak_key = testing::GenerateKey(weak);
  json bad_email = EnrolmentBody(secret, csr);
  bad_email["site"]["contact_email"] = "not-an-address";
  json missing_site = EnrolmentBody(secret, csr);
  missing_site.erase("site");
  for (const auto& [body, code] : std::vector<std::pair<json, std::string>>{
           {EnrolmentBody(secret, "-----BEGIN CERTIFICATE REQUEST-----\nnope\n-----END CERTIFICATE REQUEST-----\n"),
            "invalid_request"},
           {EnrolmentBody(secret, testing::MakeCsrPem(weak_key.get(), "w")), "invalid_request"},
           {bad_email, "invalid_request"},
           {missing_site, "invalid_request"}}) {
    const auto result = Enroll(fleetcomm, body);
    INFO(result.Describe());
    CHECK(result.ErrorCode() == code);
    CHECK(result.status == 422);
  }
  CHECK(QueryNumber(fleetcomm, "SELECT count(*) FROM agents") == 0);
  CHECK(QueryNumber(fleetcomm, "SELECT uses FROM registration_keys") == 0);

  OperatorCall(fleetcomm, admin, "DELETE",
               "/api/v1/accounts/" + account + "/registration-keys/" + key["id"].get<std::string>(), 200, nullptr);
  const auto revoked = Enroll(fleetcomm, EnrolmentBody(secret, csr));
  CHECK(revoked.status == 401);
  CHECK(revoked.ErrorCode() == "invalid_registration_key");
  CHECK(QueryNumber(fleetcomm, "SELECT count(*) FROM agents") == 0);
}

TEST_CASE("enrolment: past the burst, one address gets 429 with Retry-After", "[e2e][enroll]") {
  RunningFleetcomm fleetcomm({{"enroll.rate_per_minute", "1"}, {"enroll.burst", "3"}});
  const std::string admin = CreateOperatorToken(fleetcomm, {"--role", "admin"});
  const std::string account = OperatorCall(fleetcomm, admin, "POST", "/api/v1/accounts", 201, {{"name", "Site"}})["id"];
  const std::string secret = OperatorCall(fleetcomm, admin, "POST",
                                          "/api/v1/accounts/" + account + "/registration-keys", 201,
                                          json::object())["secret"];
  auto agent_key = testing::GenerateKey({});
  const std::string csr = testing::MakeCsrPem(agent_key.get(), "a");

  // Guesses count as much as real attempts: that is what the limit is for.
  for (int i = 0; i < 2; ++i) {
    const auto guess = Enroll(fleetcomm, EnrolmentBody("RK-guess-" + std::to_string(i), csr));
    CHECK(guess.status == 401);
  }
  const auto real = Enroll(fleetcomm, EnrolmentBody(secret, csr));
  INFO(real.Describe());
  CHECK(real.status == 201);

  const auto limited = Enroll(fleetcomm, EnrolmentBody(secret, csr));
  INFO(limited.Describe());
  CHECK(limited.status == 429);
  CHECK(limited.ErrorCode() == "rate_limited");
  REQUIRE(limited.HasHeader("Retry-After"));
  const int retry_after = std::stoi(limited.Header("Retry-After"));
  CHECK(retry_after >= 1);
  CHECK(retry_after <= 60);  // one attempt per minute comes back within a minute
  CHECK(QueryNumber(fleetcomm, "SELECT count(*) FROM agents") == 1);
  CHECK(QueryNumber(fleetcomm, "SELECT uses FROM registration_keys") == 1);
}
