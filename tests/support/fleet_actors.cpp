#include "tests/support/fleet_actors.hpp"

#include "tests/support/temp_postgres.hpp"

#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include <fstream>

namespace fleetcomm::testing {

using nlohmann::json;

json OperatorCall(const RunningFleetcomm& fleetcomm, const std::string& token, const std::string& method,
                  const std::string& target, unsigned expected, const json& body) {
  HttpClient client(fleetcomm.config.ports.operator_api, ClientTls(fleetcomm.pki));
  const auto result = client.Request(method, target, {{"Authorization", "Bearer " + token}},
                                     body.is_null() ? std::string() : body.dump());
  INFO(method << " " << target << ": " << result.Describe());
  REQUIRE(result.status == expected);
  return result.body.empty() ? json() : json::parse(result.body);
}

std::string CreateAccount(const RunningFleetcomm& fleetcomm, const std::string& admin_token, json fields) {
  if (!fields.contains("name")) fields["name"] = "Site";
  return OperatorCall(fleetcomm, admin_token, "POST", "/api/v1/accounts", 201, fields)["id"];
}

TestAgent EnrollTestAgent(const RunningFleetcomm& fleetcomm, const std::string& admin_token,
                          const std::string& account_id, const std::string& dir) {
  const json key = OperatorCall(fleetcomm, admin_token, "POST", "/api/v1/accounts/" + account_id + "/registration-keys",
                                201, json::object());
  auto agent_key = GenerateKey({});
  const json body = {{"registration_key", key["secret"]},
                     {"csr", MakeCsrPem(agent_key.get(), "ignored")},
                     {"product", "agent-lite"},
                     {"version", "5.6.1"},
                     {"site", {{"name", "HQ"}, {"contact_email", "it@example.com"}}}};
  HttpClient client(fleetcomm.config.ports.device, ClientTls(fleetcomm.pki));
  const auto enrolled = client.Request("POST", "/rs/v1/enroll", {{"Content-Type", "application/json"}}, body.dump());
  INFO(enrolled.Describe());
  REQUIRE(enrolled.status == 201);
  const json answer = json::parse(enrolled.body);
  TestAgent agent{answer["agent_id"], answer["account_id"], {dir + "/agent.crt", dir + "/agent.key"}};
  std::ofstream(agent.files.cert) << answer["certificate"].get<std::string>();
  std::ofstream(agent.files.key) << PrivateKeyPem(agent_key.get());
  return agent;
}

HttpResult RegisterTestDevice(const RunningFleetcomm& fleetcomm, const CertKeyPaths& device, const std::string& serial) {
  HttpClient client(fleetcomm.config.ports.device, ClientTls(fleetcomm.pki, &device));
  const json body = {{"serial", serial}, {"manufacturer", "Xerox"}, {"model", "AltaLink C8155"}, {"firmware", "1.0"}};
  return client.Request("POST", "/rs/v1/register", {{"Content-Type", "application/json"}}, body.dump());
}

std::string ProvisionActiveDevice(const RunningFleetcomm& fleetcomm, const std::string& admin_token,
                                  const std::string& account_id, const CertKeyPaths& device, const std::string& serial) {
  const json provisioned = OperatorCall(fleetcomm, admin_token, "POST", "/api/v1/accounts/" + account_id + "/devices",
                                        201, {{"serial", serial}, {"manufacturer", "Xerox"}});
  const auto registered = RegisterTestDevice(fleetcomm, device, serial);
  INFO(registered.Describe());
  REQUIRE(registered.status == 200);
  return provisioned["id"];
}

HttpResult PostUpload(const RunningFleetcomm& fleetcomm, const CertKeyPaths& client, const std::string& body,
                      const std::string& content_type) {
  HttpClient http(fleetcomm.config.ports.device, ClientTls(fleetcomm.pki, &client));
  return http.Request("POST", "/rs/v1/uploads", {{"Content-Type", content_type}}, body);
}

long long QueryNumber(const RunningFleetcomm& fleetcomm, const std::string& sql) {
  pqxx::connection conn(fleetcomm.database);
  return QueryNumber(conn, sql);
}

}  // namespace fleetcomm::testing
