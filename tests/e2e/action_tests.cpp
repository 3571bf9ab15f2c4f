// Remote management through the real binary (PROTOCOL.md 3.4, 3.5, 4): an account manager
// queues and authorises, the device polls and reports, history says who and when; refusals
// change nothing; other accounts see nothing; two instances never hand out one action twice.
#include "tests/support/fleet_actors.hpp"
#include "tools/report_writer.hpp"
#include "tools/zip_writer.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <set>
#include <thread>

using fleetcomm::testing::ClientTls;
using fleetcomm::testing::CreateAccount;
using fleetcomm::testing::CreateOperatorToken;
using fleetcomm::testing::EnrollTestAgent;
using fleetcomm::testing::HttpClient;
using fleetcomm::testing::HttpResult;
using fleetcomm::testing::OperatorCall;
using fleetcomm::testing::PostUpload;
using fleetcomm::testing::QueryNumber;
using fleetcomm::testing::RunningFleetcomm;
using nlohmann::json;
namespace protocol = fleetcomm::protocol;

namespace {

struct Fleet {
  std::string admin;
  std::string account;
  std::string manager;  // account_manager of `account`, named "alice"
  std::string device_id;
};

Fleet ProvisionAndRegister(RunningFleetcomm& fleetcomm) {
  Fleet out;
  out.admin = CreateOperatorToken(fleetcomm, {"--role", "admin"});
  out.account = CreateAccount(fleetcomm, out.admin, {{"name", "Acme"}, {"remote_software_updates", true}});
  out.manager = CreateOperatorToken(fleetcomm, {"--role", "account_manager", "--account", out.account, "--name", "alice"});
  out.device_id = fleetcomm::testing::ProvisionActiveDevice(fleetcomm, out.admin, out.account,
                                                            fleetcomm.pki.device_xrx0001, "XRX0001");
  return out;
}

HttpResult Post(HttpClient& client, const std::string& target, const json& body) {
  return client.Request("POST", target, {{"Content-Type", "application/json"}}, body.dump());
}

json Body(const HttpResult& result, unsigned expected) {
  INFO(result.Describe());
  REQUIRE(result.status == expected);
  return json::parse(result.body);
}

// Everything an action request could change, summed.
long long ActionRows(const RunningFleetcomm& fleetcomm) {
  return QueryNumber(fleetcomm,
                     "SELECT (SELECT count(*) FROM actions) + (SELECT count(*) FROM action_history) + "
                     "(SELECT coalesce(sum(deliveries), 0) FROM actions) + "
                     "(SELECT count(*) FROM actions WHERE result IS NOT NULL)");
}

std::string Zip(const protocol::Report& report) {
  return fleetcomm::tools::WriteZip({{"report.xml", fleetcomm::tools::WriteReportXml(report)}});
}

}  // namespace

TEST_CASE("actions: restart queued, authorised, delivered once, succeeded, with who and when; others see nothing",
          "[e2e][actions]") {
  RunningFleetcomm fleetcomm;
  const Fleet fleet = ProvisionAndRegister(fleetcomm);
  const std::string other_account = CreateAccount(fleetcomm, fleet.admin, {{"name", "Other"}});
  const std::string bob =
      CreateOperatorToken(fleetcomm, {"--role", "account_manager", "--account", other_account, "--name", "bob"});
  HttpClient device(fleetcomm.process.ports().device, ClientTls(fleetcomm.pki, &fleetcomm.pki.device_xrx0001));

  const json queued = OperatorCall(fleetcomm, fleet.manager, "POST", "/api/v1/devices/" + fleet.device_id + "/actions",
                                   201, {{"type", "restart"}});
  const std::string id = queued["id"];
  CHECK(queued["state"] == "awaiting_authorization");
  CHECK(queued["expires_at"].is_string());

  const json before = Body(device.Get("/rs/v1/actions"), 200);
  CHECK(before["actions"] == json::array());  // not authorised yet: not deliverable
  CHECK(before["next_poll_s"].get<int>() >= 77760);
  CHECK(before["next_poll_s"].get<int>() <= 95040);

  const json authorised = OperatorCall(fleetcomm, fleet.manager, "POST", "/api/v1/actions/" + id + "/authorize", 200,
                                       {{"authorized_by", "Jane Customer"}, {"reference", "TICKET-42"}});
  CHECK(authorised["state"] == "queued");
  CHECK(authorised["authorization"]["authorized_by"] == "Jane Customer");

  const json polled = Body(device.Get("/rs/v1/actions"), 200);
  REQUIRE(polled["actions"].size() == 1);
  CHECK(polled["actions"][0]["id"] == id);
  CHECK(polled["actions"][0]["type"] == "restart");
  CHECK(polled["actions"][0]["params"] == json::object());
  CHECK(Body(device.Get("/rs/v1/actions"), 200)["actions"] == json::array());  // once

  const json done = Body(Post(device, "/rs/v1/actions/" + id + "/result", {{"status", "succeeded"}, {"message", "ok"}}),
                         200);
  CHECK(done == json({{"id", id}, {"state", "succeeded"}}));
  CHECK(Body(Post(device, "/rs/v1/actions/" + id + "/result", {{"status", "succeeded"}, {"message", "ok"}}), 200) ==
        done);
  const auto late = Post(device, "/rs/v1/actions/" + id + "/result", {{"status", "failed"}});
  CHECK(late.status == 409);
  CHECK(late.ErrorCode() == "action_final");

  const json shown = OperatorCall(fleetcomm, fleet.manager, "GET", "/api/v1/actions/" + id, 200);
  CHECK(shown["state"] == "succeeded");
  CHECK(shown["result"]["status"] == "succeeded");
  CHECK(shown["result"]["message"] == "ok");
  const json& history = shown["history"];
  REQUIRE(history.size() == 4);
  const std::vector<std::pair<std::string, std::string>> steps = {{"awaiting_authorization", "alice"},
                                                                   {"queued", "alice"},
                                                                   {"delivered", fleet.device_id},
                                                                   {"succeeded", fleet.device_id}};
  for (std::size_t i = 0; i < steps.size(); ++i) {
    INFO(history[i].dump());
    CHECK(history[i]["state"] == steps[i].first);
    CHECK(history[i]["by"] == steps[i].second);
    CHECK(history[i]["at"].get<std::string>().size() == 20);  // 2026-11-24T03:00:00Z
  }
  CHECK(history[1]["message"].get<std::string>().find("Jane Customer") != std::string::npos);
  const json listed = OperatorCall(fleetcomm, fleet.manager, "GET", "/api/v1/actions?target=" + fleet.device_id, 200);
  REQUIRE(listed["items"].size() == 1);
  CHECK(listed["items"][0]["id"] == id);

  // next_poll_s follows the account's setting, jittered by up to 10%.
  OperatorCall(fleetcomm, fleet.admin, "PATCH", "/api/v1/accounts/" + fleet.account, 200, {{"poll_interval_s", 3600}});
  const int next = Body(device.Get("/rs/v1/actions"), 200)["next_poll_s"];
  CHECK(next >= 3240);
  CHECK(next <= 3960);

  // Another account's manager: every id of this account is absent.
  OperatorCall(fleetcomm, bob, "GET", "/api/v1/actions/" + id, 404);
  OperatorCall(fleetcomm, bob, "POST", "/api/v1/actions/" + id + "/cancel", 404);
  OperatorCall(fleetcomm, bob, "POST", "/api/v1/actions/" + id + "/authorize", 404,
               {{"authorized_by", "x"}, {"reference", "y"}});
  OperatorCall(fleetcomm, bob, "POST", "/api/v1/devices/" + fleet.device_id + "/actions", 404, {{"type", "get_status"}});
  CHECK(OperatorCall(fleetcomm, bob, "GET", "/api/v1/actions", 200)["items"] == json::array());
  CHECK(OperatorCall(fleetcomm, bob, "GET", "/api/v1/actions?account=" + fleet.account, 200)["items"] == json::array());
  // Auditors read, never queue; consumers see no actions at all.
  const std::string auditor = CreateOperatorToken(fleetcomm, {"--role", "auditor"});
  OperatorCall(fleetcomm, auditor, "GET", "/api/v1/actions/" + id, 200);
  OperatorCall(fleetcomm, auditor, "POST", "/api/v1/devices/" + fleet.device_id + "/actions", 403, {{"type", "get_status"}});
}

TEST_CASE("actions: bad input gets its error and changes nothing", "[e2e][actions]") {
  RunningFleetcomm fleetcomm;
  const Fleet fleet = ProvisionAndRegister(fleetcomm);
  const std::string queue = "/api/v1/devices/" + fleet.device_id + "/actions";
  HttpClient device(fleetcomm.process.ports().device, ClientTls(fleetcomm.pki, &fleetcomm.pki.device_xrx0001));

  // A delivered action and a final one to aim results at; then take the baseline.
  const std::string open = OperatorCall(fleetcomm, fleet.manager, "POST", queue, 201, {{"type", "get_status"}})["id"];
  const std::string waiting = OperatorCall(fleetcomm, fleet.manager, "POST", queue, 201, {{"type", "restart"}})["id"];
  REQUIRE(Body(device.Get("/rs/v1/actions"), 200)["actions"].size() == 1);
  const std::string final_id = OperatorCall(fleetcomm, fleet.manager, "POST", queue, 201, {{"type", "troubleshoot"}})["id"];
  REQUIRE(Body(device.Get("/rs/v1/actions"), 200)["actions"].size() == 1);
  Body(Post(device, "/rs/v1/actions/" + final_id + "/result", {{"status", "failed"}}), 200);
  const long long baseline = ActionRows(fleetcomm);

  struct Case {
    const char* what;
    json body;
  };
  const std::vector<Case> bad_queues = {
      {"unknown type", {{"type", "self_destruct"}}},
      {"params for a type without params", {{"type", "restart"}, {"params", {{"now", true}}}}},
      {"upgrade without version", {{"type", "upgrade_software"}}},
      {"upgrade to an unknown release", {{"type", "upgrade_software"}, {"params", {{"version", "9.9"}}}}},
      {"add_service without service", {{"type", "add_service"}, {"params", json::object()}}},
      {"change_settings for a device", {{"type", "change_settings"}, {"params", {{"snmp", {{"retries", 3}}}}}}},
      {"params not an object", {{"type", "get_status"}, {"params", json::array()}}},
      {"expiry out of range", {{"type", "get_status"}, {"expires_in_s", 0}}},
      {"unknown field", {{"type", "get_status"}, {"priority", 1}}},
  };
  for (const auto& c : bad_queues) {
    INFO(c.what);
    OperatorCall(fleetcomm, fleet.manager, "POST", queue, 422, c.body);
  }

  // Results: someone else's id, a huge message, a bad status, a different status after a final one.
  HttpClient other(fleetcomm.process.ports().device, ClientTls(fleetcomm.pki, &fleetcomm.pki.device_xrx0002));
  fleetcomm::testing::ProvisionActiveDevice(fleetcomm, fleet.admin, fleet.account, fleetcomm.pki.device_xrx0002,
                                            "XRX0002");
  CHECK(Post(other, "/rs/v1/actions/" + open + "/result", {{"status", "succeeded"}}).ErrorCode() == "not_found");
  CHECK(Post(device, "/rs/v1/actions/act_missing/result", {{"status", "succeeded"}}).ErrorCode() == "not_found");
  const auto huge = Post(device, "/rs/v1/actions/" + open + "/result",
                         {{"status", "succeeded"}, {"message", std::string(5000, 'x')}});
  CHECK(huge.status == 422);
  CHECK(huge.ErrorCode() == "invalid_request");
  CHECK(Post(device, "/rs/v1/actions/" + open + "/result", {{"status", "done"}}).status == 422);
  CHECK(Post(device, "/rs/v1/actions/" + final_id + "/result", {{"status", "succeeded"}}).ErrorCode() ==
        "action_final");
  CHECK(Post(device, "/rs/v1/actions/" + waiting + "/result", {{"status", "succeeded"}}).status == 409);

  // Authorising what is not awaiting authorisation.
  CHECK(OperatorCall(fleetcomm, fleet.manager, "POST", "/api/v1/actions/" + open + "/authorize", 409,
                     {{"authorized_by", "x"}, {"reference", "y"}})["error"]["code"] == "conflict");
  CHECK(OperatorCall(fleetcomm, fleet.manager, "POST", "/api/v1/actions/" + final_id + "/authorize", 409,
                     {{"authorized_by", "x"}, {"reference", "y"}})["error"]["code"] == "action_final");
  OperatorCall(fleetcomm, fleet.manager, "POST", "/api/v1/actions/" + waiting + "/authorize", 422,
               {{"authorized_by", "x"}});
  CHECK(ActionRows(fleetcomm) == baseline);
  CHECK(QueryNumber(fleetcomm, "SELECT count(*) FROM actions WHERE state = 'delivered'") == 1);
}

TEST_CASE("actions: agent settings are checked; disabled types and lockdown agents are refused", "[e2e][actions]") {
  RunningFleetcomm fleetcomm;
  const Fleet fleet = ProvisionAndRegister(fleetcomm);
  const auto agent = EnrollTestAgent(fleetcomm, fleet.admin, fleet.account, fleetcomm.dir.path());
  const std::string agent_queue = "/api/v1/agents/" + agent.id + "/actions";

  const json settings = {{"type", "change_settings"},
                         {"params", {{"snmp", {{"retries", 3}, {"timeout_ms", 2000}, {"communities", {"public"}}}}}}};
  CHECK(OperatorCall(fleetcomm, fleet.manager, "POST", agent_queue, 201, settings)["state"] == "awaiting_authorization");
  const long long baseline = ActionRows(fleetcomm);
  OperatorCall(fleetcomm, fleet.manager, "POST", agent_queue, 422,
               {{"type", "change_settings"}, {"params", {{"snmp", {{"retries", 99}}}}}});
  OperatorCall(fleetcomm, fleet.manager, "POST", agent_queue, 422,
               {{"type", "change_settings"}, {"params", {{"colour", "blue"}}}});

  // The device turns print_test_page off in its report: queuing it is refused.
  protocol::Report report;
  report.id = "7d1c3f7e-0d2a-4c53-9a57-5e5b0f1f2a10";
  report.generated_at = "2026-11-24T03:00:00Z";
  protocol::Device device;
  device.serial = "XRX0001";
  device.manufacturer = "Xerox";
  device.model = "AltaLink C8155";
  device.disabled_actions = {"print_test_page"};
  report.devices.push_back(device);
  REQUIRE(PostUpload(fleetcomm, fleetcomm.pki.device_xrx0001, Zip(report)).status == 201);
  const json disabled = OperatorCall(fleetcomm, fleet.manager, "POST", "/api/v1/devices/" + fleet.device_id + "/actions",
                                     409, {{"type", "print_test_page"}});
  CHECK(disabled["error"]["code"] == "action_disabled");

  // The agent reports lockdown: queuing is 409 lockdown, polling 403 lockdown.
  protocol::Report lockdown;
  lockdown.id = "8d1c3f7e-0d2a-4c53-9a57-5e5b0f1f2a10";
  lockdown.generated_at = "2026-11-24T03:00:00Z";
  lockdown.source = protocol::ReportSource::kAgent;
  lockdown.agent = protocol::AgentInfo{"agent-lite", "5.6.1", protocol::SecurityMode::kLockdown, {}, {}, {}};
  const auto uploaded = PostUpload(fleetcomm, agent.files, Zip(lockdown));
  INFO(uploaded.Describe());
  REQUIRE(uploaded.status == 201);
  const json locked = OperatorCall(fleetcomm, fleet.manager, "POST", agent_queue, 409, {{"type", "get_status"}});
  CHECK(locked["error"]["code"] == "lockdown");
  HttpClient agent_client(fleetcomm.process.ports().device, ClientTls(fleetcomm.pki, &agent.files));
  const auto poll = agent_client.Get("/rs/v1/actions");
  CHECK(poll.status == 403);
  CHECK(poll.ErrorCode() == "lockdown");
  CHECK(ActionRows(fleetcomm) == baseline);
}

TEST_CASE("software: catalogue by admins, newest suitable release, 204 when none or turned off", "[e2e][software]") {
  RunningFleetcomm fleetcomm;
  const Fleet fleet = ProvisionAndRegister(fleetcomm);
  const std::string sha(64, 'a');
  const json release = {{"model", "AltaLink C8155"}, {"version", "121.10.4"}, {"url", "https://dl.example.com/fw.bin"},
                        {"sha256", sha}, {"size", 1234}, {"min_firmware", "121.9"}};
  OperatorCall(fleetcomm, fleet.manager, "POST", "/api/v1/software", 403, release);
  OperatorCall(fleetcomm, fleet.admin, "POST", "/api/v1/software", 201, release);
  OperatorCall(fleetcomm, fleet.admin, "POST", "/api/v1/software", 409, release);
  OperatorCall(fleetcomm, fleet.admin, "POST", "/api/v1/software", 422, {{"model", "M"}, {"version", "1.x"},
                                                                        {"url", "https://a"}, {"sha256", sha}, {"size", 1}});
  HttpClient device(fleetcomm.process.ports().device, ClientTls(fleetcomm.pki, &fleetcomm.pki.device_xrx0001));
  const std::string query = "/rs/v1/software?model=AltaLink%20C8155&firmware=";
  const json offer = Body(device.Get(query + "121.010.003.12345"), 200);
  CHECK(offer["version"] == "121.10.4");
  CHECK(offer["url"] == "https://dl.example.com/fw.bin");
  CHECK(offer["sha256"] == sha);
  CHECK(offer["size"] == 1234);
  CHECK(offer["install_after"].is_string());
  CHECK(device.Get(query + "121.10.4").status == 204);  // current
  CHECK(device.Get(query + "121.8").status == 204);     // below min_firmware
  CHECK(device.Get(query + "abc").status == 422);

  // An upgrade action carries the release's url and digest to the device.
  const json upgrade = OperatorCall(fleetcomm, fleet.manager, "POST", "/api/v1/devices/" + fleet.device_id + "/actions",
                                    201, {{"type", "upgrade_software"}, {"params", {{"version", "121.10.4"}}}});
  CHECK(upgrade["params"]["sha256"] == sha);

  OperatorCall(fleetcomm, fleet.admin, "PATCH", "/api/v1/accounts/" + fleet.account, 200,
               {{"remote_software_updates", false}});
  CHECK(device.Get(query + "121.010.003.12345").status == 204);
}

TEST_CASE("actions: two server instances polling one client never hand out one action twice", "[e2e][actions]") {
  RunningFleetcomm fleetcomm;
  const Fleet fleet = ProvisionAndRegister(fleetcomm);
  const std::string second_dir = fleetcomm.dir.path() + "/second";
  std::filesystem::create_directories(second_dir);
  const auto second_config = fleetcomm::testing::WriteServerConfig(second_dir, fleetcomm.pki, fleetcomm.database);
  fleetcomm::testing::ServerProcess second(second_config);
  constexpr int kActions = 60;
  for (int i = 0; i < kActions; ++i) {
    OperatorCall(fleetcomm, fleet.manager, "POST", "/api/v1/devices/" + fleet.device_id + "/actions", 201,
                 {{"type", "get_status"}});
  }
  std::vector<std::string> got[2];
  auto poller = [&](int which, std::uint16_t port) {
    HttpClient client(port, ClientTls(fleetcomm.pki, &fleetcomm.pki.device_xrx0001));
    for (int empty = 0; empty < 3;) {
      const auto polled = client.Get("/rs/v1/actions");
      if (polled.status != 200) return;
      const json body = json::parse(polled.body);
      if (body["actions"].empty()) ++empty;
      for (const auto& action : body["actions"]) got[which].push_back(action["id"]);
    }
  };
  std::thread one(poller, 0, fleetcomm.process.ports().device);
  std::thread two(poller, 1, second.ports().device);
  one.join();
  two.join();
  std::set<std::string> all(got[0].begin(), got[0].end());
  all.insert(got[1].begin(), got[1].end());
  CHECK(got[0].size() + got[1].size() == kActions);
  CHECK(all.size() == kActions);
  CHECK(QueryNumber(fleetcomm, "SELECT count(*) FROM actions WHERE deliveries = 1") == kActions);
}
