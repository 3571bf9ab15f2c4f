// The audit log through the real binary (PROTOCOL.md 4.4, 4.6): refused and accepted requests
// and failed handshakes are found through the API within seconds under the request id the
// client saw; account managers see only their accounts; verify passes on an untouched log
// and names the entry a superuser altered.
#include "tests/support/fleet_actors.hpp"
#include "tools/report_writer.hpp"
#include "tools/sample_device.hpp"
#include "tools/zip_writer.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <csignal>
#include <thread>

using fleetcomm::testing::ClientTls;
using fleetcomm::testing::CreateAccount;
using fleetcomm::testing::CreateOperatorToken;
using fleetcomm::testing::HttpClient;
using fleetcomm::testing::OperatorCall;
using fleetcomm::testing::PostUpload;
using fleetcomm::testing::RunningFleetcomm;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

const fleetcomm::testing::ConfigOverrides kFastAudit = {{"audit.flush_interval_ms", "50"},
                                                        {"audit.seal_interval_s", "1"}};

// The entries a query finds, asked again until `done` holds or five seconds pass: the
// batch writer and the sealer work asynchronously, which is the point.
json PollAudit(const RunningFleetcomm& fleetcomm, const std::string& token, const std::string& target,
               const std::function<bool(const json&)>& done) {
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  for (;;) {
    json answer = OperatorCall(fleetcomm, token, "GET", target, 200);
    if (done(answer) || std::chrono::steady_clock::now() > deadline) return answer;
    std::this_thread::sleep_for(50ms);
  }
}

json EntryOf(const RunningFleetcomm& fleetcomm, const std::string& token, const std::string& request_id) {
  const json page = PollAudit(fleetcomm, token, "/api/v1/audit?request_id=" + request_id,
                              [](const json& answer) { return !answer["items"].empty(); });
  INFO("request " << request_id << ": " << page.dump());
  REQUIRE(page["items"].size() == 1);
  return page["items"][0];
}

std::string ReportZip(const std::string& serial) {
  return fleetcomm::tools::WriteZip({{"report.xml", fleetcomm::tools::WriteReportXml(fleetcomm::tools::SampleDeviceReport(
                                                        "9a0c3f7e-0d2a-4c53-9a57-5e5b0f1f2a10", serial, 1000))}});
}

}  // namespace

TEST_CASE("audit: refused and accepted requests and failed handshakes are found under their request id",
          "[e2e][audit]") {
  RunningFleetcomm fleetcomm(kFastAudit);
  const std::string admin = CreateOperatorToken(fleetcomm, {"--role", "admin"});
  const std::string auditor = CreateOperatorToken(fleetcomm, {"--role", "auditor"});
  const std::string account = CreateAccount(fleetcomm, admin);
  const std::string device_id = fleetcomm::testing::ProvisionActiveDevice(fleetcomm, admin, account,
                                                                          fleetcomm.pki.device_xrx0001, "XRX0001");

  // No client certificate on the device listener.
  HttpClient anonymous(fleetcomm.config.ports.device, ClientTls(fleetcomm.pki));
  // With a query string far beyond what an entry keeps.
  const auto no_certificate = anonymous.Request("POST", "/rs/v1/uploads?pad=" + std::string(8000, 'a'), {}, "x");
  REQUIRE(no_certificate.status == 401);
  // A bad token on the operator listener.
  HttpClient stranger(fleetcomm.config.ports.operator_api, ClientTls(fleetcomm.pki));
  const auto bad_token = stranger.Get("/api/v1/accounts", {{"Authorization", "Bearer nope"}});
  REQUIRE(bad_token.status == 401);
  // An accepted upload: its entry commits with the upload.
  const std::string zip = ReportZip("XRX0001");
  const auto upload = PostUpload(fleetcomm, fleetcomm.pki.device_xrx0001, zip);
  INFO(upload.Describe());
  REQUIRE(upload.status == 201);

  const json refused = EntryOf(fleetcomm, auditor, no_certificate.Header("X-Request-Id"));
  CHECK(refused["listener"] == "device");
  CHECK(refused["status"] == 401);
  CHECK(refused["error_code"] == "certificate_rejected");
  CHECK(refused["method"] == "POST");
  const std::string path = refused["path"];
  CHECK(path.rfind("/rs/v1/uploads?pad=aaaa", 0) == 0);
  CHECK(path.size() <= 2048);
  CHECK(path.substr(path.size() - 3) == "...");
  CHECK(refused["user_agent"] == "fleetcomm-e2e");
  CHECK(refused["identity"].is_null());
  CHECK(refused["remote_address"].get<std::string>().rfind("127.0.0.1:", 0) == 0);

  const json unauthorized = EntryOf(fleetcomm, auditor, bad_token.Header("X-Request-Id"));
  CHECK(unauthorized["listener"] == "operator");
  CHECK(unauthorized["status"] == 401);
  CHECK(unauthorized["error_code"] == "unauthorized");

  const json stored = EntryOf(fleetcomm, auditor, upload.Header("X-Request-Id"));
  CHECK(stored["status"] == 201);
  CHECK(stored["identity"] == json{{"kind", "device"}, {"id", device_id}});
  CHECK(stored["account_id"] == account);
  CHECK(stored["certificate_fingerprint"].get<std::string>().size() == 64);
  CHECK(stored["bytes_in"] == zip.size());
  CHECK(stored["bytes_out"] == upload.body.size());

  // An enrolment commits its entry with the new agent, named as that agent.
  const auto agent = fleetcomm::testing::EnrollTestAgent(fleetcomm, admin, account, fleetcomm.dir.path());
  const json enrolments = PollAudit(fleetcomm, auditor, "/api/v1/audit?actor=agent:" + agent.id + "&path=/rs/v1/enroll",
                                    [](const json& answer) { return !answer["items"].empty(); });
  REQUIRE(enrolments["items"].size() == 1);
  CHECK(enrolments["items"][0]["status"] == 201);
  CHECK(enrolments["items"][0]["account_id"] == account);
  CHECK(enrolments["items"][0]["after"]["id"] == agent.id);

  // The auditor's own reads are audited too, as an operator's.
  const json own = PollAudit(fleetcomm, auditor, "/api/v1/audit?actor=operator:2&path=/api/v1/audit",
                             [](const json& answer) { return !answer["items"].empty(); });
  CHECK_FALSE(own["items"].empty());

  // A handshake with an expired certificate fails; its entry names the reason and the certificate.
  HttpClient expired(fleetcomm.config.ports.device, ClientTls(fleetcomm.pki, &fleetcomm.pki.device_expired));
  const auto refused_handshake = expired.Get("/rs/v1/actions");
  CHECK(refused_handshake.status != 200);
  const json handshakes = PollAudit(fleetcomm, auditor, "/api/v1/audit?limit=1000", [](const json& answer) {
    for (const auto& item : answer["items"]) {
      if (item["kind"] == "tls_handshake") return true;
    }
    return false;
  });
  bool found = false;
  for (const auto& item : handshakes["items"]) {
    if (item["kind"] != "tls_handshake") continue;
    found = true;
    CHECK(item["error_code"] == "certificate_expired");
    CHECK(item["certificate_fingerprint"].get<std::string>().size() == 64);
    CHECK_THAT(item["detail"].get<std::string>(), Catch::Contains("XRX0003"));
  }
  CHECK(found);
}

TEST_CASE("audit: account managers see their accounts' entries only; consumers none", "[e2e][audit]") {
  RunningFleetcomm fleetcomm(kFastAudit);
  const std::string admin = CreateOperatorToken(fleetcomm, {"--role", "admin"});
  const std::string mine = CreateAccount(fleetcomm, admin, {{"name", "Mine"}});
  const std::string theirs = CreateAccount(fleetcomm, admin, {{"name", "Theirs"}});
  const std::string manager = CreateOperatorToken(fleetcomm, {"--role", "account_manager", "--account", mine});
  const std::string consumer = CreateOperatorToken(fleetcomm, {"--role", "consumer"});
  OperatorCall(fleetcomm, admin, "GET", "/api/v1/accounts/" + mine, 200);
  OperatorCall(fleetcomm, admin, "GET", "/api/v1/accounts/" + theirs, 200);

  const json own = PollAudit(fleetcomm, manager, "/api/v1/audit?path=/api/v1/accounts/",
                             [](const json& answer) { return !answer["items"].empty(); });
  REQUIRE_FALSE(own["items"].empty());
  for (const auto& item : own["items"]) CHECK(item["account_id"] == mine);
  CHECK(OperatorCall(fleetcomm, manager, "GET", "/api/v1/audit?account=" + theirs, 200)["items"].empty());
  // Of the two creations, the manager sees that of its own account only.
  const json created = OperatorCall(fleetcomm, manager, "GET", "/api/v1/audit?path=/api/v1/accounts&status=201", 200);
  REQUIRE(created["items"].size() == 1);
  CHECK(created["items"][0]["after"]["id"] == mine);
  // Refusals before anyone was identified have no account: not the manager's.
  HttpClient stranger(fleetcomm.config.ports.operator_api, ClientTls(fleetcomm.pki));
  REQUIRE(stranger.Get("/api/v1/accounts/" + mine, {{"Authorization", "Bearer nope"}}).status == 401);
  CHECK(OperatorCall(fleetcomm, manager, "GET", "/api/v1/audit?status=401", 200)["items"].empty());
  // A change by the manager: its entry committed with it, before and after included.
  HttpClient client(fleetcomm.config.ports.operator_api, ClientTls(fleetcomm.pki));
  const auto renamed = client.Request("PATCH", "/api/v1/accounts/" + mine, {{"Authorization", "Bearer " + manager}},
                                      json{{"name", "Renamed"}}.dump());
  REQUIRE(renamed.status == 200);
  const json change = EntryOf(fleetcomm, manager, renamed.Header("X-Request-Id"));
  CHECK(change["status"] == 200);
  CHECK(change["method"] == "PATCH");
  CHECK(change["account_id"] == mine);
  CHECK(change["identity"]["kind"] == "operator");
  CHECK(change["before"]["name"] == "Mine");
  CHECK(change["after"]["name"] == "Renamed");
  CHECK(fleetcomm::testing::QueryNumber(fleetcomm, "SELECT count(*) FROM audit_entries WHERE request_id = '" +
                                                       renamed.Header("X-Request-Id") + "'") == 1);

  OperatorCall(fleetcomm, manager, "GET", "/api/v1/audit/verify", 403);
  OperatorCall(fleetcomm, consumer, "GET", "/api/v1/audit", 403);
}

TEST_CASE("audit: verify passes on an untouched log and names the entry a superuser altered", "[e2e][audit]") {
  RunningFleetcomm fleetcomm(kFastAudit);
  const std::string admin = CreateOperatorToken(fleetcomm, {"--role", "admin"});
  const std::string auditor = CreateOperatorToken(fleetcomm, {"--role", "auditor"});
  CreateAccount(fleetcomm, admin);
  const auto probe = HttpClient(fleetcomm.config.ports.operator_api, ClientTls(fleetcomm.pki))
                         .Get("/api/v1/devices", {{"Authorization", "Bearer " + admin}});
  REQUIRE(probe.status == 200);
  const std::string request_id = probe.Header("X-Request-Id");
  EntryOf(fleetcomm, auditor, request_id);
  // Sealing is asynchronous: wait until the sealer has taken the probe's entry.
  const std::string sealed_sql = "SELECT count(*) FROM audit_seals s JOIN audit_entries e ON e.seq = ANY(s.entry_seqs) "
                                 "WHERE e.request_id = '" + request_id + "'";
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (fleetcomm::testing::QueryNumber(fleetcomm, sealed_sql) == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
  }
  REQUIRE(fleetcomm::testing::QueryNumber(fleetcomm, sealed_sql) == 1);

  const json intact = OperatorCall(fleetcomm, auditor, "GET", "/api/v1/audit/verify", 200);
  INFO(intact.dump());
  CHECK(intact["ok"] == true);
  CHECK(intact["entries"].get<long long>() >= 3);

  {
    pqxx::connection superuser(fleetcomm.database);
    pqxx::work tx(superuser);
    tx.exec("SET LOCAL session_replication_role = replica");
    CHECK(tx.exec("UPDATE audit_entries SET status = 404 WHERE request_id = " + tx.quote(request_id)).affected_rows() == 1);
    tx.commit();
  }
  const json broken = OperatorCall(fleetcomm, auditor, "GET", "/api/v1/audit/verify", 200);
  INFO(broken.dump());
  CHECK(broken["ok"] == false);
  CHECK(broken["first_broken"]["problem"] == "altered");
  CHECK(broken["first_broken"]["request_id"] == request_id);
}

TEST_CASE("audit: device registrations, polls that deliver and action results are in the log when answered",
          "[e2e][audit]") {
  // Batches are written only at exit here: an entry found before that committed with its change.
  RunningFleetcomm fleetcomm({{"audit.flush_interval_ms", "60000"}, {"audit.batch_entries", "100000"}});
  const std::string admin = CreateOperatorToken(fleetcomm, {"--role", "admin"});
  const std::string account = CreateAccount(fleetcomm, admin);
  const auto entries_of = [&fleetcomm](const fleetcomm::testing::HttpResult& answer, const std::string& condition) {
    INFO(answer.Describe());
    return fleetcomm::testing::QueryNumber(fleetcomm, "SELECT count(*) FROM audit_entries WHERE request_id = '" +
                                                          answer.Header("X-Request-Id") + "' AND " + condition);
  };

  const json provisioned = OperatorCall(fleetcomm, admin, "POST", "/api/v1/accounts/" + account + "/devices", 201,
                                        {{"serial", "XRX0001"}, {"manufacturer", "Xerox"}});
  const std::string device_id = provisioned["id"];
  const auto registered = fleetcomm::testing::RegisterTestDevice(fleetcomm, fleetcomm.pki.device_xrx0001, "XRX0001");
  REQUIRE(registered.status == 200);
  CHECK(entries_of(registered, "status = 200 AND path = '/rs/v1/register' AND identity_kind = 'device' AND "
                               "identity_id = '" + device_id + "' AND account_id = '" + account + "'") == 1);
  const auto pending = fleetcomm::testing::RegisterTestDevice(fleetcomm, fleetcomm.pki.device_xrx0002, "XRX0002");
  REQUIRE(pending.status == 202);
  CHECK(entries_of(pending, "status = 202 AND identity_kind = 'device' AND account_id IS NULL") == 1);

  HttpClient device(fleetcomm.config.ports.device, ClientTls(fleetcomm.pki, &fleetcomm.pki.device_xrx0001));
  const auto nothing = device.Get("/rs/v1/actions");
  REQUIRE(nothing.status == 200);
  const json queued = OperatorCall(fleetcomm, admin, "POST", "/api/v1/devices/" + device_id + "/actions", 201,
                                   {{"type", "get_status"}});
  const auto delivering = device.Get("/rs/v1/actions");
  REQUIRE(delivering.status == 200);
  REQUIRE(json::parse(delivering.body)["actions"].size() == 1);
  CHECK(entries_of(delivering, "status = 200 AND method = 'GET' AND identity_id = '" + device_id + "'") == 1);
  const auto result = device.Request("POST", "/rs/v1/actions/" + queued["id"].get<std::string>() + "/result",
                                     {{"Content-Type", "application/json"}}, json{{"status", "succeeded"}}.dump());
  REQUIRE(result.status == 200);
  CHECK(entries_of(result, "status = 200 AND method = 'POST' AND identity_id = '" + device_id + "'") == 1);
  const auto repeated = device.Request("POST", "/rs/v1/actions/" + queued["id"].get<std::string>() + "/result",
                                       {{"Content-Type", "application/json"}}, json{{"status", "succeeded"}}.dump());
  REQUIRE(repeated.status == 200);

  // What changed nothing waits for its batch: the empty poll and the repeated result.
  CHECK(entries_of(nothing, "true") == 0);
  CHECK(entries_of(repeated, "true") == 0);
  // At exit the batch is written: every request has exactly one entry, none twice.
  fleetcomm.process.Signal(SIGTERM);
  REQUIRE(fleetcomm.process.WaitExit(10s) == 0);
  for (const auto* answer : {&registered, &pending, &nothing, &delivering, &result, &repeated}) {
    CHECK(entries_of(*answer, "true") == 1);
  }
}
