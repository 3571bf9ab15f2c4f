// `fleetcomm token list` and `token revoke` against a running server: a revoked token is
// refused on its next request, and listing never shows a secret.
#include "tests/support/fleet_actors.hpp"

#include <catch2/catch.hpp>

using fleetcomm::testing::ClientTls;
using fleetcomm::testing::CreateOperatorToken;
using fleetcomm::testing::HttpClient;
using fleetcomm::testing::RunCommand;
using fleetcomm::testing::RunningFleetcomm;

TEST_CASE("token list shows tokens without secrets; token revoke refuses the next request", "[e2e][cli]") {
  RunningFleetcomm fleetcomm;
  const std::string admin = CreateOperatorToken(fleetcomm, {"--role", "admin", "--name", "ops"});
  const std::string auditor = CreateOperatorToken(fleetcomm, {"--role", "auditor", "--name", "audit team"});
  HttpClient client(fleetcomm.config.ports.operator_api, ClientTls(fleetcomm.pki));
  REQUIRE(client.Get("/api/v1/token", {{"Authorization", "Bearer " + auditor}}).status == 200);

  const auto listed = RunCommand({"token", "list", "--config", fleetcomm.config.path});
  INFO("stderr: " << listed.err);
  REQUIRE(listed.exit_code == 0);
  CHECK_THAT(listed.out, Catch::StartsWith("1\tadmin\tops\t-\t") && Catch::Contains("\n2\tauditor\taudit team\t-\t"));
  CHECK_THAT(listed.out, !Catch::Contains(admin.substr(4)) && !Catch::Contains(auditor.substr(4)));

  const auto revoked = RunCommand({"token", "revoke", "--config", fleetcomm.config.path, "--id", "2"});
  INFO("stderr: " << revoked.err);
  REQUIRE(revoked.exit_code == 0);
  const auto refused = client.Get("/api/v1/token", {{"Authorization", "Bearer " + auditor}});
  CHECK(refused.status == 401);
  CHECK(client.Get("/api/v1/token", {{"Authorization", "Bearer " + admin}}).status == 200);

  const auto after = RunCommand({"token", "list", "--config", fleetcomm.config.path});
  CHECK_THAT(after.out, Catch::Matches("1\tadmin\tops\t-\t\\S+Z\t-\n2\tauditor\taudit team\t-\t\\S+Z\t\\S+Z\n"));
  CHECK(RunCommand({"token", "revoke", "--config", fleetcomm.config.path, "--id", "2"}).exit_code == 0);
  const auto unknown = RunCommand({"token", "revoke", "--config", fleetcomm.config.path, "--id", "99"});
  CHECK(unknown.exit_code == 1);
  CHECK_THAT(unknown.err, Catch::Contains("no token has id 99"));
  CHECK(RunCommand({"token", "revoke", "--config", fleetcomm.config.path, "--id", "x"}).exit_code == 2);
}
