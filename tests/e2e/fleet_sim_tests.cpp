// The fleet simulator (bench/fleet_sim.hpp, issue 8) against the real binary: what the
// simulated fleet counted as acknowledged is what the operator API shows, upload for upload
// and counter for counter, and an action queued for a simulated device is carried out.
#ifdef FLEETCOMM_WITH_SIM
#include "bench/fleet_sim.hpp"
#include "tests/support/fleet_actors.hpp"
#include "tools/simulated_printer.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using fleetcomm::testing::CreateAccount;
using fleetcomm::testing::CreateOperatorToken;
using fleetcomm::testing::OperatorCall;
using fleetcomm::testing::RunningFleetcomm;
using nlohmann::json;
namespace bench = fleetcomm::bench;

TEST_CASE("a simulated fleet's acknowledged uploads and counters are what the operator API shows", "[e2e][sim]") {
  RunningFleetcomm fleetcomm;
  const std::string admin = CreateOperatorToken(fleetcomm, {"--role", "admin"});
  const std::string account = CreateAccount(fleetcomm, admin, {{"name", "Simulated"}});
  // One device known before the run, with an action waiting for it.
  const std::string serial = "SIMD00001";
  const std::string device_id =
      OperatorCall(fleetcomm, admin, "POST", "/api/v1/accounts/" + account + "/devices", 201,
                   {{"serial", serial}, {"manufacturer", fleetcomm::tools::SimulatedModel(1).manufacturer}})["id"];
  const std::string action_id = OperatorCall(fleetcomm, admin, "POST", "/api/v1/devices/" + device_id + "/actions", 201,
                                             {{"type", "print_test_page"}, {"params", json::object()}})["id"];

  bench::SimOptions options;
  options.device_port = fleetcomm.config.ports.device;
  options.operator_port = fleetcomm.config.ports.operator_api;
  options.server_ca = fleetcomm.pki.server_ca.cert;
  options.device_ca_cert = fleetcomm.pki.device_ca.cert;
  options.device_ca_key = fleetcomm.pki.device_ca.key;
  options.admin_token = admin;
  options.account = account;
  options.devices = 3;
  options.agents = 1;
  options.printers_per_agent = 3;
  // Six simulated hours in six seconds: an upload per client and simulated hour, a poll
  // every half hour.
  options.day_seconds = 24;
  options.days = 0.25;
  options.upload_every_min = 60;
  options.poll_every_min = 30;
  options.action_delay_ms = 100;
  options.threads = 2;
  options.work_dir = fleetcomm.dir.path();
  bench::SimCounters counters;
  const bench::SimResult result = bench::RunFleetSimulation(options, counters);

  CHECK(result.clients == 4);
  CHECK(counters.clients_ready == 4);
  CHECK(counters.Errors().empty());
  REQUIRE(result.printers.size() == 6);
  long long device_uploads = 0;
  for (const auto& printer : result.printers) {
    INFO(printer.serial);
    // About six each; a client whose first upload was late in its first hour may have five.
    CHECK(printer.acknowledged_uploads >= 4);
    if (printer.direct) device_uploads += printer.acknowledged_uploads;
    const json listed = OperatorCall(fleetcomm, admin, "GET", "/api/v1/devices?serial=" + printer.serial, 200);
    REQUIRE(listed["items"].size() == 1);
    const json device = OperatorCall(fleetcomm, admin, "GET",
                                     "/api/v1/devices/" + listed["items"][0]["id"].get<std::string>(), 200);
    CHECK(device["account_id"] == account);
    CHECK(device["uploads"].size() == static_cast<std::size_t>(printer.acknowledged_uploads));
    std::map<std::string, std::int64_t> stored;
    for (const auto& counter : device["counters"]) {
      stored[counter["name"].get<std::string>()] = counter["value"].get<std::int64_t>();
      CHECK(counter["read_at"] == printer.last_read_at);
    }
    CHECK(stored == printer.last_counters);
    CHECK(device["model"] != "");
  }
  // Each device upload carries one printer, the agent's carry three.
  const long long agent_uploads = counters.uploads - device_uploads;
  CHECK(agent_uploads >= 4);
  CHECK(result.printers[3].acknowledged_uploads == agent_uploads);

  const json action = OperatorCall(fleetcomm, admin, "GET", "/api/v1/actions/" + action_id, 200);
  CHECK(action["state"] == "succeeded");
  CHECK(counters.actions == 1);
  CHECK(counters.results == 1);
}
#endif
