// The fleet simulator (bench/fleet_sim.hpp, issue 8) against the real binary: what the
// simulated fleet counted as acknowledged is what the operator API shows, upload for upload
// and counter for counter, an action queued for a simulated device is carried out, a
// database outage costs retries, not uploads, and a compressed week of a small fleet of
// recorded printer models, with a lockdown agent and clients that turn restarts off, is
// accounted for in full through the operator API and the feeds.
#ifdef FLEETCOMM_WITH_SIM
#include "bench/fleet_sim.hpp"
#include "tests/support/fleet_actors.hpp"
#include "tests/support/temp_postgres.hpp"
#include "tools/simulated_printer.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <functional>
#include <future>
#include <set>
#include <thread>
#include <tuple>

using fleetcomm::testing::CreateAccount;
using fleetcomm::testing::CreateOperatorToken;
using fleetcomm::testing::DatabaseOutage;
using fleetcomm::testing::OperatorCall;
using fleetcomm::testing::QueryNumber;
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

// Every upload the simulator counted as acknowledged is listed for its device (up to the
// last 20, which the detail lists), and the device's latest counters are those of the simulator's last
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
    CHECK(device["uploads"].size() == std::min<std::size_t>(20, static_cast<std::size_t>(printer.acknowledged_uploads)));
    std::map<std::string, std::int64_t> stored;
    for (const auto& counter : device["counters"]) {
      stored[counter["name"].get<std::string>()] = counter["value"].get<std::int64_t>();
      CHECK(counter["read_at"] == printer.last_read_at);
    }
    CHECK(stored == printer.last_counters);
  }
}

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
namespace {

// A whole feed, page by page.
std::vector<json> ReadFeed(const RunningFleetcomm& fleetcomm, const std::string& token, const std::string& feed) {
  std::vector<json> items;
  std::string cursor;
  for (;;) {
    const json page = OperatorCall(fleetcomm, token, "GET",
                                   "/api/v1/feeds/" + feed + "?limit=1000" + (cursor.empty() ? "" : "&after=" + cursor),
                                   200);
    if (page["items"].empty()) return items;
    for (const auto& item : page["items"]) items.push_back(item);
    cursor = page["next"].get<std::string>();
  }
}

// Until the pipelines have finished every job and the sequencer numbered every item.
bool WaitForPipelines(const RunningFleetcomm& fleetcomm) {
  const std::string backlog =
      "SELECT (SELECT count(*) FROM pipeline_jobs WHERE finished_at IS NULL) + "
      "(SELECT count(*) FROM meter_reads WHERE seq IS NULL) + "
      "(SELECT count(*) FROM supply_order_events WHERE seq IS NULL) + "
      "(SELECT count(*) FROM service_events WHERE seq IS NULL)";
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (QueryNumber(fleetcomm, backlog) > 0) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(50ms);  // polling the job table, not a log
  }
  return true;
}

}  // namespace

TEST_CASE("a simulated week of a small fleet is accounted for in full through the operator API and the feeds",
          "[e2e][sim][week]") {
  const std::string recordings = std::string(FLEETCOMM_SHARED_DIR) + "/fixtures/printers";
  INFO("the printer recordings live in " << recordings);
  REQUIRE(std::filesystem::is_directory(recordings));
  RunningFleetcomm fleetcomm({{"pipelines.poll_interval_ms", "50"}, {"pipelines.sequence_interval_ms", "50"}});
  const std::string admin = CreateOperatorToken(fleetcomm, {"--role", "admin"});
  const std::string consumer = CreateOperatorToken(fleetcomm, {"--role", "consumer"});

  // 3 direct devices and 2 agents with 3 printers each, of the recorded models; a week at a
  // simulated day in 4 s, an upload every 3 simulated hours, a poll every hour, 40 actions
  // a day. Clients 2 and 4 (SIMD00002, SIMA001) turn restarts off; agent 2 is in lockdown.
  bench::SimOptions options = SmallFleet(fleetcomm, admin, "", 7 * 24);
  options.agents = 2;
  options.day_seconds = 4;
  options.upload_every_min = 180;
  options.poll_every_min = 60;
  options.fixtures_dir = recordings;
  options.lockdown_every = 2;
  options.disabled_every = 2;
  options.actions_per_day = 40;
  options.supply_low_percent = 20;
  bench::SimCounters counters;
  const bench::SimResult result = bench::RunFleetSimulation(options, counters);

  CHECK(counters.clients_ready == 5);
  CHECK(counters.Errors().empty());
  CHECK(result.lockdown_agents == 1);
  CHECK(result.clients_with_disabled_actions == 2);
  REQUIRE(result.printers.size() == 9);
  const json account = OperatorCall(fleetcomm, admin, "GET", "/api/v1/accounts/" + result.account, 200);
  CHECK(account["meter_billing"] == true);
  CHECK(account["supplies_contract"] == true);

  // Every upload is accounted for: one stored upload per report the fleet had acknowledged
  // (a report resent after a lost answer is one upload), each printer's reads at every
  // acknowledged read time.
  std::set<std::tuple<std::string, std::string, std::string, std::int64_t>> sent_reads;
  std::map<std::string, std::string> serial_of;  // device id -> serial
  std::map<std::string, std::size_t> low_supplies;  // serial -> supplies that ran low
  for (const auto& printer : result.printers) {
    INFO(printer.serial);
    CHECK(printer.acknowledged_uploads >= 7 * 8 - 2);
    CHECK(printer.reads.size() >= 7 * 8 - 2);
    for (const auto& [read_at, values] : printer.reads) {
      for (const auto& [counter, value] : values) sent_reads.insert({printer.serial, counter, read_at, value});
    }
    const json listed = OperatorCall(fleetcomm, admin, "GET", "/api/v1/devices?serial=" + printer.serial, 200);
    REQUIRE(listed["items"].size() == 1);
    serial_of[listed["items"][0]["id"].get<std::string>()] = printer.serial;
    low_supplies[printer.serial] = printer.low_supplies.size();
  }
  CHECK(QueryNumber(fleetcomm, "SELECT count(*) FROM uploads") == counters.uploads - counters.duplicates);
  CheckStoredAsAcknowledged(fleetcomm, admin, result.account, result);

  // Every action the operator queued reached a final state; lockdown and disabled types were
  // refused at queuing, never queued, and the lockdown agent's polls were refused.
  CHECK(counters.actions_queued >= 100);
  CHECK(counters.refused_lockdown > 0);
  CHECK(counters.refused_disabled > 0);
  CHECK(counters.lockdown_polls > 0);
  CHECK(result.queued_actions.size() == static_cast<std::size_t>(counters.actions_queued.load()));
  for (const auto& queued : result.queued_actions) {
    INFO(queued.id << " " << queued.type << " for " << queued.client);
    CHECK(queued.client != "SIMA002");
    if (queued.client == "SIMD00002" || queued.client == "SIMA001") CHECK(queued.type != "restart");
    const json action = OperatorCall(fleetcomm, admin, "GET", "/api/v1/actions/" + queued.id, 200);
    CHECK(action["state"] == "succeeded");
  }
  CHECK(counters.results == counters.actions_queued);

  // The meter reads are exactly the counters the fleet sent, all billable.
  REQUIRE(WaitForPipelines(fleetcomm));
  std::set<std::tuple<std::string, std::string, std::string, std::int64_t>> billed;
  for (const auto& read : ReadFeed(fleetcomm, consumer, "meter-reads")) {
    CHECK(read["status"] == "billable");
    CHECK(read["account_id"] == result.account);
    billed.insert({read["serial"].get<std::string>(), read["counter"].get<std::string>(),
                   read["read_at"].get<std::string>(), read["value"].get<std::int64_t>()});
  }
  CHECK(billed.size() == sent_reads.size());
  CHECK(billed == sent_reads);

  // One order opened per supply (and cartridge) that ran low.
  std::map<std::string, std::size_t> opened;
  for (const auto& event : ReadFeed(fleetcomm, consumer, "supply-orders")) {
    if (event["event"] == "opened") ++opened[serial_of.at(event["device_id"].get<std::string>())];
  }
  std::size_t ran_low = 0;
  for (const auto& [serial, count] : low_supplies) {
    INFO(serial);
    ran_low += count;
    CHECK(opened[serial] == count);
  }
  CHECK(ran_low > 0);
}
#endif
