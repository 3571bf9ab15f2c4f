// Accounts, registration keys, and device registration through the real binary
// (PROTOCOL.md sections 3.2 and 4): roles and account scope, the pending/active/revoked
// life of a device, and bad input that changes nothing.
#include "tests/support/server_process.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <set>

using fleetcomm::testing::ClientTls;
using fleetcomm::testing::CreateOperatorToken;
using fleetcomm::testing::HttpClient;
using fleetcomm::testing::HttpResult;
using fleetcomm::testing::RunCommand;
using fleetcomm::testing::RunningFleetcomm;
using nlohmann::json;

namespace {

class Operator {
 public:
  Operator(const RunningFleetcomm& fleetcomm, std::string token)
      : client_(fleetcomm.config.ports.operator_api, ClientTls(fleetcomm.pki)), token_(std::move(token)) {}

  HttpResult Call(const std::string& method, const std::string& target, const std::string& body = {}) {
    fleetcomm::testing::Headers headers = {{"Authorization", "Bearer " + token_}};
    if (!body.empty()) headers.push_back({"Content-Type", "application/json"});
    return client_.Request(method, target, headers, body);
  }
  json CallJson(const std::string& method, const std::string& target, unsigned expected_status,
                const json& body = nullptr) {
    const auto result = Call(method, target, body.is_null() ? std::string() : body.dump());
    INFO(method << " " << target << ": " << result.Describe());
    REQUIRE(result.status == expected_status);
    return json::parse(result.body);
  }

 private:
  HttpClient client_;
  std::string token_;
};

long long CountRows(const RunningFleetcomm& fleetcomm, const std::string& table) {
  pqxx::connection conn(fleetcomm.database);
  pqxx::read_transaction tx(conn);
  return tx.exec1("SELECT count(*) FROM " + table)[0].as<long long>();
}

HttpResult Register(const RunningFleetcomm& fleetcomm, const fleetcomm::testing::CertKeyPaths& device,
                    const json& body) {
  HttpClient client(fleetcomm.config.ports.device, ClientTls(fleetcomm.pki, &device));
  return client.Request("POST", "/rs/v1/register", {{"Content-Type", "application/json"}}, body.dump());
}

}  // namespace

TEST_CASE("accounts: admins create, scopes decide who sees what", "[e2e][identity]") {
  RunningFleetcomm fleetcomm;
  Operator admin(fleetcomm, CreateOperatorToken(fleetcomm, {"--role", "admin"}));
  const json created = admin.CallJson("POST", "/api/v1/accounts", 201, {{"name", "Acme Corp"}, {"meter_billing", true}});
  const std::string id = created["id"];
  CHECK(id.rfind("ac_", 0) == 0);
  CHECK(created["meter_billing"] == true);
  CHECK(created["supplies_contract"] == false);
  CHECK(created["supply_low_percent"] == 20);
  const json other = admin.CallJson("POST", "/api/v1/accounts", 201, {{"name", "Other"}});

  Operator manager(fleetcomm, CreateOperatorToken(fleetcomm, {"--role", "account_manager", "--account", id}));
  CHECK(manager.CallJson("GET", "/api/v1/accounts/" + id, 200)["name"] == "Acme Corp");
  // Another account's id answers exactly like a missing one.
  const auto hidden = manager.Call("GET", "/api/v1/accounts/" + other["id"].get<std::string>());
  const auto missing = manager.Call("GET", "/api/v1/accounts/ac_doesnotexist");
  CHECK(hidden.status == 404);
  CHECK(hidden.body == missing.body);
  const json listed = manager.CallJson("GET", "/api/v1/accounts", 200);
  REQUIRE(listed["items"].size() == 1);
  CHECK(listed["items"][0]["id"] == id);
  CHECK(manager.Call("POST", "/api/v1/accounts", json{{"name", "x"}}.dump()).status == 403);

  const json patched = manager.CallJson("PATCH", "/api/v1/accounts/" + id, 200,
                                        {{"supplies_contract", true}, {"supply_low_percent", 15}});
  CHECK(patched["supplies_contract"] == true);
  CHECK(patched["supply_low_percent"] == 15);
  CHECK(patched["meter_billing"] == true);

  Operator auditor(fleetcomm, CreateOperatorToken(fleetcomm, {"--role", "auditor"}));
  CHECK(auditor.CallJson("GET", "/api/v1/accounts", 200)["items"].size() == 2);
  CHECK(auditor.Call("PATCH", "/api/v1/accounts/" + id, json{{"name", "y"}}.dump()).status == 403);
  Operator consumer(fleetcomm, CreateOperatorToken(fleetcomm, {"--role", "consumer"}));
  CHECK(consumer.Call("GET", "/api/v1/accounts").status == 403);
}

TEST_CASE("accounts: bad input gets 422 and changes nothing", "[e2e][identity]") {
  RunningFleetcomm fleetcomm;
  Operator admin(fleetcomm, CreateOperatorToken(fleetcomm, {"--role", "admin"}));
  const auto before = CountRows(fleetcomm, "accounts");
  for (const std::string& body : {std::string("not json"), std::string("[1,2]"), json{{"name", 5}}.dump(),
                                  json{{"name", std::string(201, 'n')}}.dump(), json{{"name", ""}}.dump(),
                                  json{{"name", "ok"}, {"surprise", 1}}.dump(),
                                  json{{"name", "ok"}, {"supply_low_percent", 101}}.dump(),
                                  json{{"name", "ok"}, {"meter_billing", "yes"}}.dump(),
                                  json{{"name", "line\nbreak"}}.dump()}) {
    const auto result = admin.Call("POST", "/api/v1/accounts", body);
    INFO(body << " -> " << result.Describe());
    CHECK(result.status == 422);
    CHECK(result.ErrorCode() == "invalid_request");
  }
  CHECK(CountRows(fleetcomm, "accounts") == before);
  CHECK(admin.Call("GET", "/api/v1/accounts?limit=0").status == 422);
  CHECK(admin.Call("GET", "/api/v1/accounts?limit=%zz").status == 400);
}

TEST_CASE("accounts: lists page with a cursor", "[e2e][identity]") {
  RunningFleetcomm fleetcomm;
  Operator admin(fleetcomm, CreateOperatorToken(fleetcomm, {"--role", "admin"}));
  std::set<std::string> created;
  for (int i = 0; i < 5; ++i) {
    created.insert(admin.CallJson("POST", "/api/v1/accounts", 201, {{"name", "a" + std::to_string(i)}})["id"]);
  }
  std::set<std::string> seen;
  std::string target = "/api/v1/accounts?limit=2";
  for (int pages = 0; pages < 10; ++pages) {
    const json page = admin.CallJson("GET", target, 200);
    for (const auto& item : page["items"]) CHECK(seen.insert(item["id"].get<std::string>()).second);
    if (page["next"].is_null()) break;
    target = "/api/v1/accounts?limit=2&after=" + page["next"].get<std::string>();
  }
  CHECK(seen == created);
}

TEST_CASE("registration keys: the secret is shown once and stored only as a digest", "[e2e][identity]") {
  RunningFleetcomm fleetcomm;
  Operator admin(fleetcomm, CreateOperatorToken(fleetcomm, {"--role", "admin"}));
  const std::string account = admin.CallJson("POST", "/api/v1/accounts", 201, {{"name", "Keys"}})["id"];
  const json key = admin.CallJson("POST", "/api/v1/accounts/" + account + "/registration-keys", 201,
                                  {{"expires_in_s", 3600}, {"max_uses", 5}});
  const std::string secret = key["secret"];
  CHECK(secret.rfind("RK-", 0) == 0);
  CHECK(secret.size() == 46);
  {
    pqxx::connection conn(fleetcomm.database);
    pqxx::read_transaction tx(conn);
    CHECK(tx.exec_params1("SELECT count(*) FROM registration_keys WHERE key_sha256 = sha256(convert_to($1, 'UTF8')) "
                          "AND max_uses = 5 AND expires_at > now()",
                          secret)[0]
              .as<int>() == 1);
    CHECK(tx.exec("SELECT 1 FROM registration_keys WHERE encode(key_sha256, 'escape') LIKE '%RK-%'").empty());
  }
  const std::string path = "/api/v1/accounts/" + account + "/registration-keys/" + key["id"].get<std::string>();
  CHECK(admin.CallJson("DELETE", path, 200)["revoked"] == true);
  CHECK(admin.Call("DELETE", "/api/v1/accounts/" + account + "/registration-keys/rk_nope").status == 404);
  CHECK(admin.Call("POST", "/api/v1/accounts/" + account + "/registration-keys", json{{"max_uses", 0}}.dump())
            .status == 422);
}

TEST_CASE("device registration: unknown is pending, pre-provisioned is active, revoked is refused", "[e2e][identity]") {
  RunningFleetcomm fleetcomm;
  Operator admin(fleetcomm, CreateOperatorToken(fleetcomm, {"--role", "admin"}));
  const std::string account = admin.CallJson("POST", "/api/v1/accounts", 201, {{"name", "Printers Inc"}})["id"];

  // Unknown serial: pending, and an account manager cannot see it.
  const auto first = Register(fleetcomm, fleetcomm.pki.device_xrx0001,
                              {{"serial", "XRX0001"}, {"manufacturer", "Acme"}, {"model", "M1"}, {"firmware", "1.0"}});
  INFO(first.Describe());
  REQUIRE(first.status == 202);
  const json pending = json::parse(first.body);
  CHECK(pending["state"] == "pending");
  const std::string device_id = pending["device_id"];
  Operator manager(fleetcomm, CreateOperatorToken(fleetcomm, {"--role", "account_manager", "--account", account}));
  CHECK(manager.Call("GET", "/api/v1/devices/" + device_id).status == 404);
  CHECK(admin.CallJson("GET", "/api/v1/devices?state=pending", 200)["items"].size() == 1);

  // Assigned: registering again answers active, idempotently, and updates the firmware.
  CHECK(admin.CallJson("POST", "/api/v1/devices/" + device_id + "/assign", 200, {{"account_id", account}})["state"] ==
        "active");
  CHECK(admin.Call("POST", "/api/v1/devices/" + device_id + "/assign", json{{"account_id", account}}.dump()).status ==
        409);
  for (int i = 0; i < 2; ++i) {
    const auto again = Register(fleetcomm, fleetcomm.pki.device_xrx0001,
                                {{"serial", "XRX0001"}, {"manufacturer", " acme "}, {"firmware", "2.0"}});
    INFO(again.Describe());
    REQUIRE(again.status == 200);
    const json active = json::parse(again.body);
    CHECK(active["device_id"] == device_id);
    CHECK(active["state"] == "active");
    CHECK(active["next_poll_s"] == 86400);
  }
  const json read = manager.CallJson("GET", "/api/v1/devices/" + device_id, 200);
  CHECK(read["firmware"] == "2.0");
  CHECK(read["model"] == "M1");
  CHECK(read["certificate_fingerprint"] == fleetcomm::testing::TestCertificate::LoadFiles(fleetcomm.pki.device_xrx0001.cert, fleetcomm.pki.device_xrx0001.key)
                                                .Sha256FingerprintHex());

  // Pre-provisioned serial: active at once.
  const json provisioned = manager.CallJson("POST", "/api/v1/accounts/" + account + "/devices", 201,
                                            {{"serial", "XRX0002"}, {"manufacturer", "Acme"}});
  CHECK(provisioned["state"] == "active");
  const auto second = Register(fleetcomm, fleetcomm.pki.device_xrx0002, {{"serial", "XRX0002"}, {"manufacturer", "ACME"}});
  INFO(second.Describe());
  CHECK(second.status == 200);
  CHECK(json::parse(second.body)["device_id"] == provisioned["id"]);

  // Revoked: refused from the next registration on.
  CHECK(manager.CallJson("POST", "/api/v1/devices/" + provisioned["id"].get<std::string>() + "/revoke", 200)["state"] ==
        "revoked");
  const auto refused = Register(fleetcomm, fleetcomm.pki.device_xrx0002, {{"serial", "XRX0002"}, {"manufacturer", "Acme"}});
  CHECK(refused.status == 403);
  CHECK(refused.ErrorCode() == "revoked");
}

TEST_CASE("device registration: a body that disagrees with the certificate changes nothing", "[e2e][identity]") {
  RunningFleetcomm fleetcomm;
  const auto mismatch = Register(fleetcomm, fleetcomm.pki.device_xrx0001, {{"serial", "XRX0002"}, {"manufacturer", "Acme"}});
  CHECK(mismatch.status == 403);
  CHECK(mismatch.ErrorCode() == "identity_mismatch");
  CHECK(Register(fleetcomm, fleetcomm.pki.device_xrx0001, {{"serial", "XRX0001"}}).status == 422);
  CHECK(Register(fleetcomm, fleetcomm.pki.device_xrx0001, {{"serial", "XRX0001"}, {"manufacturer", std::string(101, 'm')}})
            .status == 422);
  CHECK(CountRows(fleetcomm, "devices") == 0);
  // Without a certificate, the route is not even reached.
  HttpClient anonymous(fleetcomm.config.ports.device, ClientTls(fleetcomm.pki));
  const auto no_cert = anonymous.Request("POST", "/rs/v1/register", {{"Content-Type", "application/json"}},
                                         json{{"serial", "XRX0001"}, {"manufacturer", "Acme"}}.dump());
  CHECK(no_cert.status == 401);
  CHECK(CountRows(fleetcomm, "devices") == 0);
}
