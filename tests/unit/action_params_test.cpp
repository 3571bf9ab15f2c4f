// server/action_params and protocol/software_version: what each action type takes, and
// numeric version comparison.
#include "protocol/software_version.hpp"
#include "server/action_params.hpp"
#include "server/next_poll.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using fleetcomm::protocol::VersionKey;
using fleetcomm::server::ValidateAction;
using fleetcomm::storage::ClientKind;
using nlohmann::json;

namespace {

bool Accepted(const std::string& type, const json& params, ClientKind kind = ClientKind::kAgent) {
  return ValidateAction(type, &params, kind).has_value();
}

}  // namespace

TEST_CASE("action params: each type takes exactly its params", "[actions]") {
  CHECK(Accepted("restart", json::object()));
  CHECK(ValidateAction("restart", nullptr, ClientKind::kDevice)->params == "{}");
  CHECK_FALSE(Accepted("restart", {{"force", true}}));
  CHECK_FALSE(Accepted("self_destruct", json::object()));
  CHECK_FALSE(Accepted("get_status", json::array()));

  const json version = {{"version", "1.2.3"}};
  const auto upgrade = ValidateAction("upgrade_software", &version, ClientKind::kDevice);
  REQUIRE(upgrade.has_value());
  CHECK(upgrade->release_version == std::optional<std::string>("1.2.3"));
  CHECK_FALSE(Accepted("upgrade_software", json::object()));
  CHECK_FALSE(Accepted("upgrade_software", {{"version", "latest"}}));
  CHECK(Accepted("add_service", {{"service", "scan-to-cloud"}}));
  CHECK_FALSE(Accepted("add_service", {{"service", ""}}));

  const json snmp = {{"snmp", {{"retries", 3}, {"timeout_ms", 1500}, {"communities", {"public", "ops"}}}}};
  CHECK(Accepted("change_settings", snmp));
  CHECK_FALSE(Accepted("change_settings", snmp, ClientKind::kDevice));
  CHECK_FALSE(Accepted("change_settings", json::object()));
  CHECK_FALSE(Accepted("change_settings", {{"snmp", {{"retries", 11}}}}));
  CHECK_FALSE(Accepted("change_settings", {{"snmp", {{"retries", -1}}}}));
  CHECK_FALSE(Accepted("change_settings", {{"snmp", {{"timeout_ms", 50}}}}));
  CHECK_FALSE(Accepted("change_settings", {{"snmp", {{"retries", 2.5}}}}));
  CHECK_FALSE(Accepted("change_settings", {{"snmp", {{"version", 3}}}}));
  CHECK_FALSE(Accepted("change_settings", {{"wallpaper", "blue"}}));
  CHECK(Accepted("change_settings", {{"export_frequency", 3600}, {"discovery", {{"ranges", {"10.0.0.0/24"}}}}}));
  CHECK_FALSE(Accepted("change_settings", {{"export_frequency", 1}}));
  CHECK_FALSE(Accepted("get_status", {{"blob", std::string(20000, 'x')}}));
}

TEST_CASE("versions compare numerically per component", "[software]") {
  CHECK(*VersionKey("121.010.003.12345") == std::vector<std::int64_t>{121, 10, 3, 12345});
  CHECK(*VersionKey("1.2.0") == *VersionKey("1.2"));
  CHECK(*VersionKey("1.10") > *VersionKey("1.9"));
  CHECK(*VersionKey("0") == std::vector<std::int64_t>{0});
  CHECK_FALSE(VersionKey(""));
  CHECK_FALSE(VersionKey("1..2"));
  CHECK_FALSE(VersionKey("1.2."));
  CHECK_FALSE(VersionKey("v1"));
  CHECK_FALSE(VersionKey("1.-2"));
  CHECK_FALSE(VersionKey("1234567890123456789"));
}

TEST_CASE("next_poll_s is jittered within the configured percentage", "[actions]") {
  for (int i = 0; i < 1000; ++i) {
    const int next = fleetcomm::server::JitteredPollSeconds(86400, 10);
    REQUIRE(next >= 77760);
    REQUIRE(next <= 95040);
  }
  CHECK(fleetcomm::server::JitteredPollSeconds(3600, 0) == 3600);
}
