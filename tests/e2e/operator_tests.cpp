// The operator listener's bearer tokens (PROTOCOL.md section 4), with tokens made by the
// real `token create` and revoked in the database, as an operator would.
#include "tests/support/server_process.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

using fleetcomm::testing::ClientTls;
using fleetcomm::testing::CreateOperatorToken;
using fleetcomm::testing::HttpClient;
using fleetcomm::testing::HttpResult;
using fleetcomm::testing::RunCommand;
using fleetcomm::testing::RunningFleetcomm;

namespace {

void CheckUnauthorized(const HttpResult& result) {
  INFO(result.Describe());
  CHECK(result.status == 401);
  CHECK(result.ErrorCode() == "unauthorized");
  CHECK(result.Header("WWW-Authenticate") == "Bearer");
  CHECK_FALSE(result.Header("X-Request-Id").empty());
}

}  // namespace

TEST_CASE("operator listener: requests without a valid token are 401 unauthorized", "[e2e][operator]") {
  RunningFleetcomm fleetcomm;
  HttpClient client(fleetcomm.config.ports.operator_api, ClientTls(fleetcomm.pki));
  SECTION("no token") { CheckUnauthorized(client.Get("/api/v1/token")); }
  SECTION("no token, unknown path: no hint that the path is missing") { CheckUnauthorized(client.Get("/api/v1/nope")); }
  SECTION("garbage") { CheckUnauthorized(client.Get("/api/v1/token", {{"Authorization", "Bearer not-a-token"}})); }
  SECTION("well-formed but unknown") {
    const std::string unknown = "fco_" + std::string(43, 'A');
    CheckUnauthorized(client.Get("/api/v1/token", {{"Authorization", "Bearer " + unknown}}));
  }
  SECTION("wrong scheme") {
    const std::string token = CreateOperatorToken(fleetcomm, {"--role", "admin"});
    CheckUnauthorized(client.Get("/api/v1/token", {{"Authorization", "Basic " + token}}));
  }
}

TEST_CASE("operator listener: a created token authenticates until it is revoked", "[e2e][operator]") {
  RunningFleetcomm fleetcomm;
  const std::string admin = CreateOperatorToken(fleetcomm, {"--role", "admin", "--name", "ops team"});
  const std::string manager = CreateOperatorToken(fleetcomm, {"--role", "account_manager", "--account", "ac_one"});
  HttpClient client(fleetcomm.config.ports.operator_api, ClientTls(fleetcomm.pki));

  const auto as_admin = client.Get("/api/v1/token", {{"Authorization", "Bearer " + admin}});
  INFO(as_admin.Describe());
  REQUIRE(as_admin.status == 200);
  const auto admin_body = nlohmann::json::parse(as_admin.body, nullptr, false);
  CHECK(admin_body.value("role", "") == "admin");
  CHECK(admin_body.value("name", "") == "ops team");

  const auto as_manager = client.Get("/api/v1/token", {{"Authorization", "Bearer " + manager}});
  INFO(as_manager.Describe());
  REQUIRE(as_manager.status == 200);
  const auto manager_body = nlohmann::json::parse(as_manager.body, nullptr, false);
  CHECK(manager_body.value("role", "") == "account_manager");
  CHECK(manager_body["accounts"] == nlohmann::json::array({"ac_one"}));

  {
    pqxx::connection conn(fleetcomm.database);
    pqxx::work tx(conn);
    tx.exec_params("UPDATE operator_tokens SET revoked_at = now() WHERE token_sha256 = sha256(convert_to($1, 'UTF8'))",
                   admin);
    tx.commit();
  }
  // Checked per request: the same keep-alive connection is refused at once.
  CheckUnauthorized(client.Get("/api/v1/token", {{"Authorization", "Bearer " + admin}}));
  // The other token is untouched.
  HttpClient fresh(fleetcomm.config.ports.operator_api, ClientTls(fleetcomm.pki));
  CHECK(fresh.Get("/api/v1/token", {{"Authorization", "Bearer " + manager}}).status == 200);
}
