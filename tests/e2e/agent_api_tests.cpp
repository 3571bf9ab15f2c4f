// Agents through the real binary (PROTOCOL.md 3.1 and 4): operators list, read and revoke
// them within their scope; agents renew their certificates; a revocation locks an agent
// out on every instance, open keep-alive connections included, within the identity cache
// lifetime.
#include "tests/support/metrics_scrape.hpp"
#include "tests/support/server_process.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <pqxx/pqxx>

#include <fstream>
#include <sstream>
#include <thread>

using fleetcomm::testing::ClientTls;
using fleetcomm::testing::CreateOperatorToken;
using fleetcomm::testing::HttpClient;
using fleetcomm::testing::HttpResult;
using fleetcomm::testing::RunningFleetcomm;
using nlohmann::json;
namespace testing = fleetcomm::testing;
using namespace std::chrono_literals;

namespace {

class Operator {
 public:
  Operator(const RunningFleetcomm& fleetcomm, std::string token)
      : client_(fleetcomm.config.ports.operator_api, ClientTls(fleetcomm.pki)), token_(std::move(token)) {}

  HttpResult Call(const std::string& method, const std::string& target, const json& body = nullptr) {
    testing::Headers headers = {{"Authorization", "Bearer " + token_}};
    if (!body.is_null()) headers.push_back({"Content-Type", "application/json"});
    return client_.Request(method, target, headers, body.is_null() ? std::string() : body.dump());
  }
  json CallJson(const std::string& method, const std::string& target, unsigned expected, const json& body = nullptr) {
    const auto result = Call(method, target, body);
    INFO(method << " " << target << ": " << result.Describe());
    REQUIRE(result.status == expected);
    return json::parse(result.body);
  }

 private:
  HttpClient client_;
  std::string token_;
};

struct Agent {
  std::string id;
  testing::CertKeyPaths files;
};

std::string NewAccount(Operator& admin, const std::string& name) {
  return admin.CallJson("POST", "/api/v1/accounts", 201, {{"name", name}})["id"];
}

void WriteCredentials(const testing::CertKeyPaths& files, const std::string& certificate, EVP_PKEY* key) {
  std::ofstream(files.cert) << certificate;
  std::ofstream(files.key) << testing::PrivateKeyPem(key);
}

// Enrols an agent into `account`; its certificate and key are written to dir/<name>.*.
Agent EnrolAgent(const RunningFleetcomm& fleetcomm, Operator& admin, const std::string& account,
                 const testing::TempDir& dir, const std::string& name) {
  const std::string secret = admin.CallJson("POST", "/api/v1/accounts/" + account + "/registration-keys", 201,
                                            {{"max_uses", 1}})["secret"];
  auto key = testing::GenerateKey({});
  const json body = {{"registration_key", secret},
                     {"csr", testing::MakeCsrPem(key.get(), name)},
                     {"product", "agent-lite"},
                     {"version", "5.6.1"},
                     {"site", {{"name", "HQ " + name}, {"location", "Lyon, FR"}, {"contact_email", "it@example.com"}}}};
  HttpClient device(fleetcomm.config.ports.device, ClientTls(fleetcomm.pki));
  const auto enrolled = device.Request("POST", "/rs/v1/enroll", {{"Content-Type", "application/json"}}, body.dump());
  INFO(enrolled.Describe());
  REQUIRE(enrolled.status == 201);
  const json answer = json::parse(enrolled.body);
  Agent agent{answer["agent_id"], {dir.File(name + ".crt"), dir.File(name + ".key")}};
  WriteCredentials(agent.files, answer["certificate"], key.get());
  return agent;
}

// Asks for a certificate for a fresh key; on 201 writes it with that key to `renewed`.
HttpResult Renew(HttpClient& client, const testing::CertKeyPaths* renewed = nullptr) {
  auto key = testing::GenerateKey({});
  const json body = {{"csr", testing::MakeCsrPem(key.get(), "ignored")}};
  auto result = client.Request("POST", "/rs/v1/renew", {{"Content-Type", "application/json"}}, body.dump());
  if (renewed != nullptr && result.status == 201) {
    WriteCredentials(*renewed, json::parse(result.body)["certificate"], key.get());
  }
  return result;
}

std::string CommonName(const testing::CertKeyPaths& files) {
  const auto certificate = testing::TestCertificate::LoadFiles(files.cert, files.key);
  char name[256] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(certificate.cert()), NID_commonName, name, sizeof name);
  return name;
}

std::string Fingerprint(const testing::CertKeyPaths& files) {
  return testing::TestCertificate::LoadFiles(files.cert, files.key).Sha256FingerprintHex();
}

std::string QueryText(const RunningFleetcomm& fleetcomm, const std::string& sql) {
  pqxx::connection conn(fleetcomm.database);
  pqxx::read_transaction tx(conn);
  return tx.exec1(sql)[0].as<std::string>();
}

double MetricValue(const RunningFleetcomm& fleetcomm, const std::string& name) {
  return testing::MetricValue(fleetcomm.config.ports, name);
}

}  // namespace

TEST_CASE("agents API: operators list and read agents, each token within its scope", "[e2e][agents]") {
  RunningFleetcomm fleetcomm;
  testing::TempDir dir;
  Operator admin(fleetcomm, CreateOperatorToken(fleetcomm, {"--role", "admin"}));
  const std::string acme = NewAccount(admin, "Acme");
  const std::string other = NewAccount(admin, "Other");
  const Agent first = EnrolAgent(fleetcomm, admin, acme, dir, "first");
  const Agent second = EnrolAgent(fleetcomm, admin, acme, dir, "second");
  const Agent foreign = EnrolAgent(fleetcomm, admin, other, dir, "foreign");

  const json read = admin.CallJson("GET", "/api/v1/agents/" + first.id, 200);
  CHECK(read["id"] == first.id);
  CHECK(read["account_id"] == acme);
  CHECK(read["product"] == "agent-lite");
  CHECK(read["version"] == "5.6.1");
  CHECK(read["security_mode"] == "normal");
  CHECK(read["disabled_actions"] == json::array());
  CHECK(read["site"] == json{{"name", "HQ first"}, {"location", "Lyon, FR"}, {"contact_email", "it@example.com"}});
  CHECK(read["host"].is_null());
  CHECK(read["last_contact_at"].is_null());
  CHECK(read["state"] == "active");
  CHECK(read["certificate"]["fingerprint"] == Fingerprint(first.files));

  CHECK(admin.CallJson("GET", "/api/v1/agents", 200)["items"].size() == 3);
  const json acme_only = admin.CallJson("GET", "/api/v1/agents?account=" + acme, 200);
  REQUIRE(acme_only["items"].size() == 2);
  CHECK(acme_only["next"].is_null());
  const json page = admin.CallJson("GET", "/api/v1/agents?account=" + acme + "&limit=1", 200);
  REQUIRE(page["items"].size() == 1);
  REQUIRE(page["next"].is_string());
  const json rest = admin.CallJson("GET", "/api/v1/agents?account=" + acme + "&limit=1&after=" +
                                              page["next"].get<std::string>(), 200);
  REQUIRE(rest["items"].size() == 1);
  CHECK(rest["items"][0]["id"] != page["items"][0]["id"]);
  CHECK(admin.Call("GET", "/api/v1/agents?limit=0").status == 422);

  // Another account's agent answers exactly like a missing one, for reads and revocation.
  const std::string manager_token =
      CreateOperatorToken(fleetcomm, {"--role", "account_manager", "--account", other, "--name", "mgr-other"});
  Operator manager(fleetcomm, manager_token);
  const json visible = manager.CallJson("GET", "/api/v1/agents", 200);
  REQUIRE(visible["items"].size() == 1);
  CHECK(visible["items"][0]["id"] == foreign.id);
  CHECK(manager.CallJson("GET", "/api/v1/agents?account=" + acme, 200)["items"].empty());
  CHECK(manager.CallJson("GET", "/api/v1/agents/" + foreign.id, 200)["id"] == foreign.id);
  const auto hidden = manager.Call("GET", "/api/v1/agents/" + second.id);
  const auto missing = manager.Call("GET", "/api/v1/agents/ag_00000000000000000000");
  CHECK(hidden.status == 404);
  CHECK(hidden.ErrorCode() == "not_found");
  CHECK(hidden.body == missing.body);
  const auto hidden_revoke = manager.Call("POST", "/api/v1/agents/" + second.id + "/revoke");
  CHECK(hidden_revoke.status == 404);
  CHECK(hidden_revoke.body == missing.body);
  CHECK(admin.CallJson("GET", "/api/v1/agents/" + second.id, 200)["state"] == "active");

  Operator auditor(fleetcomm, CreateOperatorToken(fleetcomm, {"--role", "auditor"}));
  CHECK(auditor.CallJson("GET", "/api/v1/agents/" + second.id, 200)["id"] == second.id);
  CHECK(auditor.Call("POST", "/api/v1/agents/" + second.id + "/revoke").status == 403);
  Operator consumer(fleetcomm, CreateOperatorToken(fleetcomm, {"--role", "consumer"}));
  CHECK(consumer.Call("GET", "/api/v1/agents").status == 403);

  // The manager revokes its own agent: idempotent, logged with the token's name.
  const json revoked = manager.CallJson("POST", "/api/v1/agents/" + foreign.id + "/revoke", 200);
  CHECK(revoked["state"] == "revoked");
  CHECK(revoked["revoked_at"].is_string());
  const json again = manager.CallJson("POST", "/api/v1/agents/" + foreign.id + "/revoke", 200);
  CHECK(again["state"] == "revoked");
  CHECK(again["revoked_at"] == revoked["revoked_at"]);
  CHECK(fleetcomm.process.WaitForLog("event=agent_revoked", 2, 3s));
  CHECK(fleetcomm.process.CountInLog("agent=" + foreign.id + " account=" + other + " by=mgr-other") == 2);
  CHECK(fleetcomm.process.CountInLog(manager_token) == 0);
  CHECK(admin.CallJson("GET", "/api/v1/agents?state=revoked", 200)["items"].size() == 1);
}

TEST_CASE("agents API: renewal issues a new certificate; the old one stays valid", "[e2e][agents]") {
  RunningFleetcomm fleetcomm;
  testing::TempDir dir;
  Operator admin(fleetcomm, CreateOperatorToken(fleetcomm, {"--role", "admin"}));
  const std::string account = NewAccount(admin, "Acme");
  const Agent agent = EnrolAgent(fleetcomm, admin, account, dir, "agent");
  const testing::CertKeyPaths renewed{dir.File("renewed.crt"), dir.File("renewed.key")};

  HttpClient with_old(fleetcomm.config.ports.device, ClientTls(fleetcomm.pki, &agent.files));
  const auto first = Renew(with_old, &renewed);
  INFO(first.Describe());
  REQUIRE(first.status == 201);
  CHECK(CommonName(renewed) == agent.id);
  CHECK(Fingerprint(renewed) != Fingerprint(agent.files));
  CHECK(QueryText(fleetcomm, "SELECT cert_fingerprint FROM agents WHERE id = '" + agent.id + "'") ==
        Fingerprint(renewed));
  CHECK(admin.CallJson("GET", "/api/v1/agents/" + agent.id, 200)["certificate"]["fingerprint"] == Fingerprint(renewed));

  // The new certificate opens the device listener as the same agent; the old one still does.
  HttpClient with_new(fleetcomm.config.ports.device, ClientTls(fleetcomm.pki, &renewed));
  const auto from_new = Renew(with_new);
  INFO(from_new.Describe());
  CHECK(from_new.status == 201);
  HttpClient old_again(fleetcomm.config.ports.device, ClientTls(fleetcomm.pki, &agent.files));
  CHECK(Renew(old_again).status == 201);
  CHECK(QueryText(fleetcomm, "SELECT count(*) FROM agent_certificates WHERE agent_id = '" + agent.id + "'") == "4");

  const auto bad_csr = with_new.Request("POST", "/rs/v1/renew", {{"Content-Type", "application/json"}},
                                        json{{"csr", "not a CSR"}}.dump());
  CHECK(bad_csr.status == 422);
  CHECK(bad_csr.ErrorCode() == "invalid_request");
  HttpClient anonymous(fleetcomm.config.ports.device, ClientTls(fleetcomm.pki));
  const auto no_certificate = Renew(anonymous);
  CHECK(no_certificate.status == 401);
  CHECK(no_certificate.ErrorCode() == "certificate_rejected");

  // An active device passes the door but is not an agent: fleetcomm does not issue its certificates.
  admin.CallJson("POST", "/api/v1/accounts/" + account + "/devices", 201,
                 {{"serial", "XRX0001"}, {"manufacturer", "Acme"}});
  HttpClient device(fleetcomm.config.ports.device, ClientTls(fleetcomm.pki, &fleetcomm.pki.device_xrx0001));
  const auto registered = device.Request("POST", "/rs/v1/register", {{"Content-Type", "application/json"}},
                                         json{{"serial", "XRX0001"}, {"manufacturer", "Acme"}}.dump());
  REQUIRE(registered.status == 200);
  const auto from_device = Renew(device);
  CHECK(from_device.status == 403);
  CHECK(from_device.ErrorCode() == "identity_mismatch");
}

TEST_CASE("agents API: a revoked agent is refused on every instance, open connections included",
          "[e2e][agents]") {
  RunningFleetcomm fleetcomm;
  testing::TempDir dir;
  testing::TempDir second_dir;
  testing::ServerProcess second(testing::WriteServerConfig(second_dir.path(), fleetcomm.pki, fleetcomm.database,
                                                           {{"device.identity_cache_seconds", "1"}}));
  Operator admin(fleetcomm, CreateOperatorToken(fleetcomm, {"--role", "admin"}));
  const std::string account = NewAccount(admin, "Acme");
  const Agent agent = EnrolAgent(fleetcomm, admin, account, dir, "agent");

  // A connection to the second instance, opened and identified before the revocation.
  HttpClient kept(second.ports().device, ClientTls(fleetcomm.pki, &agent.files));
  const auto before = Renew(kept);
  INFO(before.Describe());
  REQUIRE(before.status == 201);

  CHECK(admin.CallJson("POST", "/api/v1/agents/" + agent.id + "/revoke", 200)["state"] == "revoked");
  for (const std::uint16_t port : {fleetcomm.config.ports.device, second.ports().device}) {
    HttpClient fresh(port, ClientTls(fleetcomm.pki, &agent.files));
    const auto refused = Renew(fresh);
    INFO("port " << port << ": " << refused.Describe());
    CHECK(refused.status == 401);
    CHECK(refused.ErrorCode() == "certificate_rejected");
  }

  // Past the second instance's identity cache lifetime, the open connection is refused too.
  std::this_thread::sleep_for(1500ms);
  const auto after = Renew(kept);
  INFO(after.Describe());
  CHECK(after.status == 401);
  CHECK(after.ErrorCode() == "certificate_rejected");
  CHECK(kept.ConnectionsOpened() == 1);
  CHECK(QueryText(fleetcomm, "SELECT count(*) FROM agent_certificates WHERE agent_id = '" + agent.id + "'") == "2");
}

TEST_CASE("identity cache: requests on one connection, and new connections, within the lifetime cost one lookup",
          "[e2e][agents]") {
  RunningFleetcomm fleetcomm;  // device.identity_cache_seconds = 5 by default
  testing::TempDir dir;
  Operator admin(fleetcomm, CreateOperatorToken(fleetcomm, {"--role", "admin"}));
  const Agent agent = EnrolAgent(fleetcomm, admin, NewAccount(admin, "Acme"), dir, "agent");

  const double lookups_before = MetricValue(fleetcomm, "fleetcomm_identity_lookups_total");
  HttpClient client(fleetcomm.config.ports.device, ClientTls(fleetcomm.pki, &agent.files));
  CHECK(Renew(client).status == 201);
  CHECK(Renew(client).status == 201);
  CHECK(client.ConnectionsOpened() == 1);
  CHECK(MetricValue(fleetcomm, "fleetcomm_identity_lookups_total") == lookups_before + 1);

  // A new connection with the same certificate is served from the instance's cache.
  HttpClient another(fleetcomm.config.ports.device, ClientTls(fleetcomm.pki, &agent.files));
  CHECK(Renew(another).status == 201);
  CHECK(MetricValue(fleetcomm, "fleetcomm_identity_lookups_total") == lookups_before + 1);
}
