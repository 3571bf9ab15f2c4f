// The fleet simulator (bench/fleet_sim.hpp, issue 8) against the real binary: what the
// simulated fleet counted as acknowledged is what the operator API shows, upload for upload
// and counter for counter, an action queued for a simulated device is carried out, and a
// database outage costs retries, not uploads.
#ifdef FLEETCOMM_WITH_SIM
#include "bench/fleet_sim.hpp"
#include "tests/support/fleet_actors.hpp"
#include "tests/support/temp_postgres.hpp"
#include "tools/simulated_printer.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <future>
#include <thread>

using fleetcomm::testing::CreateAccount;
using fleetcomm::testing::CreateOperatorToken;
using fleetcomm::testing::OperatorCall;
using fleetcomm::testing::RunningFleetcomm;
using nlohmann::json;
namespace bench = fleetcomm::bench;
using namespace std::chrono_literals;

namespace {

// A small fleet: 3 direct devices and an agent with 3 printers; `hours` simulated hours at
// a simulated day in 24 s (an hour a second), an upload per client and simulated hour, a
// poll every half hour.
bench::SimOptions SmallFleet(const RunningFleetcomm& fleetcomm, const std::string& admin, const std::string& account,
                             double hours) {
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
  options.day_seconds = 24;
  options.days = hours / 24;
  options.upload_every_min = 60;
  options.poll_every_min = 30;
  options.action_delay_ms = 100;
  options.threads = 2;
  options.work_dir = fleetcomm.dir.path();
  return options;
}

// Every upload the simulator counted as acknowledged is listed for its device (the detail
// lists the last 20), and the device's latest counters are those of the simulator's last
// acknowledged upload.
void CheckStoredAsAcknowledged(const RunningFleetcomm& fleetcomm, const std::string& admin, const std::string& account,
                               const bench::SimResult& result) {
  for (const auto& printer : result.printers) {
    INFO(printer.serial);
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
  }
}

// Stops the shared cluster and starts it again on every path out.
class DatabaseOutage {
 public:
  DatabaseOutage() { fleetcomm::testing::TempPostgres::Instance().Stop(); }
  ~DatabaseOutage() { End(); }
  DatabaseOutage(const DatabaseOutage&) = delete;
  DatabaseOutage& operator=(const DatabaseOutage&) = delete;
  void End() { fleetcomm::testing::TempPostgres::Instance().Start(); }
};

bool WaitFor(const std::function<bool()>& condition) {
  const auto deadline = std::chrono::steady_clock::now() + 8s;
  while (!condition() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(20ms);
  return condition();
}

}  // namespace

TEST_CASE("a simulated fleet's acknowledged uploads and counters are what the operator API shows", "[e2e][sim]") {
  RunningFleetcomm fleetcomm;
  const std::string admin = CreateOperatorToken(fleetcomm, {"--role", "admin"});
  const std::string account = CreateAccount(fleetcomm, admin, {{"name", "Simulated"}});
  // One device known before the run, with an action waiting for it.
  const std::string device_id =
      OperatorCall(fleetcomm, admin, "POST", "/api/v1/accounts/" + account + "/devices", 201,
                   {{"serial", "SIMD00001"}, {"manufacturer", fleetcomm::tools::SimulatedModel(1).manufacturer}})["id"];
  const std::string action_id = OperatorCall(fleetcomm, admin, "POST", "/api/v1/devices/" + device_id + "/actions", 201,
                                             {{"type", "print_test_page"}, {"params", json::object()}})["id"];

  // Six simulated hours in six seconds.
  bench::SimCounters counters;
  const bench::SimResult result = bench::RunFleetSimulation(SmallFleet(fleetcomm, admin, account, 6), counters);

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
  }
  CheckStoredAsAcknowledged(fleetcomm, admin, account, result);
  // Each device upload carries one printer, the agent's carry its three.
  const long long agent_uploads = counters.uploads - device_uploads;
  CHECK(agent_uploads >= 4);
  CHECK(result.printers[3].acknowledged_uploads == agent_uploads);

  const json action = OperatorCall(fleetcomm, admin, "GET", "/api/v1/actions/" + action_id, 200);
  CHECK(action["state"] == "succeeded");
  CHECK(counters.actions == 1);
  CHECK(counters.results == 1);
}

TEST_CASE("a simulated fleet rides out a database outage by retrying, and loses no acknowledged upload",
          "[e2e][sim]") {
  RunningFleetcomm fleetcomm({{"limits.retry_after_min_s", "1"}, {"limits.retry_after_max_s", "1"}});
  const std::string admin = CreateOperatorToken(fleetcomm, {"--role", "admin"});
  const std::string account = CreateAccount(fleetcomm, admin, {{"name", "Simulated"}});
  const bench::SimOptions options = SmallFleet(fleetcomm, admin, account, 9);
  bench::SimCounters counters;
  auto run = std::async(std::launch::async, [&] { return bench::RunFleetSimulation(options, counters); });
  REQUIRE(WaitFor([&] { return counters.uploads >= 4; }));
  {
    DatabaseOutage outage;
    CHECK(WaitFor([&] { return counters.Errors().count("503 unavailable") > 0; }));
    std::this_thread::sleep_for(1500ms);  // an outage of a simulated hour and a half or more
  }
  const bench::SimResult result = run.get();

  const auto errors = counters.Errors();
  CHECK(errors.size() == 1);  // the outage's 503s, nothing else
  CHECK(errors.count("503 unavailable") == 1);
  CHECK(counters.retries > 0);
  long long acknowledged = 0;
  for (const auto& printer : result.printers) acknowledged += printer.acknowledged_uploads;
  CHECK(acknowledged >= 6 * 4);  // uploads went on after the outage
  CheckStoredAsAcknowledged(fleetcomm, admin, account, result);
}
#endif
