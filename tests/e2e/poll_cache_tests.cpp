// The empty-poll cache through the real binary: repeated empty polls do not reach the
// database; a queue on one instance reaches a poll on another through the notification
// (the TTL is an hour here, so nothing else could explain it); a delivered action comes
// back after its lease; with the listener connection down, every poll reads the database.
#include "tests/support/fleet_actors.hpp"
#include "tests/support/metrics_scrape.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <thread>

using fleetcomm::testing::ClientTls;
using fleetcomm::testing::CreateAccount;
using fleetcomm::testing::CreateOperatorToken;
using fleetcomm::testing::HttpClient;
using fleetcomm::testing::MetricValue;
using fleetcomm::testing::OperatorCall;
using fleetcomm::testing::QueryNumber;
using fleetcomm::testing::RunningFleetcomm;
using fleetcomm::testing::ServerPorts;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

const fleetcomm::testing::ConfigOverrides kHourCache = {{"actions.empty_poll_cache_seconds", "3600"}};

struct Fleet {
  std::string manager;
  std::string device_id;
};

Fleet Provision(RunningFleetcomm& fleetcomm) {
  const std::string admin = CreateOperatorToken(fleetcomm, {"--role", "admin"});
  const std::string account = CreateAccount(fleetcomm, admin, {{"name", "Acme"}});
  return {CreateOperatorToken(fleetcomm, {"--role", "account_manager", "--account", account}),
          fleetcomm::testing::ProvisionActiveDevice(fleetcomm, admin, account, fleetcomm.pki.device_xrx0001, "XRX0001")};
}

std::string QueueStatus(RunningFleetcomm& fleetcomm, const Fleet& fleet) {
  return OperatorCall(fleetcomm, fleet.manager, "POST", "/api/v1/devices/" + fleet.device_id + "/actions", 201,
                      {{"type", "get_status"}})["id"];
}

json Actions(HttpClient& device) {
  const auto polled = device.Get("/rs/v1/actions");
  INFO(polled.Describe());
  REQUIRE(polled.status == 200);
  return json::parse(polled.body)["actions"];
}

double CacheCount(const ServerPorts& ports, const std::string& result) {
  return MetricValue(ports, "fleetcomm_empty_poll_cache_total{result=\"" + result + "\"}");
}

// Polls (empty) until one is answered from the cache, so that the notifications of the
// device's provisioning, heard a moment after it, are behind us. Returns the hits so far.
double WarmUp(HttpClient& device, const ServerPorts& ports) {
  for (const auto deadline = std::chrono::steady_clock::now() + 10s; std::chrono::steady_clock::now() < deadline;) {
    const double before = CacheCount(ports, "hit");
    REQUIRE(Actions(device).empty());
    if (CacheCount(ports, "hit") > before) return before + 1;
  }
  FAIL("no poll was answered from the cache");
  return 0;
}

// Waits until the instance has heard more than `before` notifications.
bool WaitForNotification(const ServerPorts& ports, double before) {
  for (const auto deadline = std::chrono::steady_clock::now() + 10s; std::chrono::steady_clock::now() < deadline;) {
    if (MetricValue(ports, "fleetcomm_action_notifications_total") > before) return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

}  // namespace

TEST_CASE("poll cache: repeated empty polls are answered without the database", "[e2e][poll_cache]") {
  RunningFleetcomm fleetcomm(kHourCache);
  const Fleet fleet = Provision(fleetcomm);
  REQUIRE(fleetcomm.process.WaitForLog("event=action_listener_up", 1, 10s));
  HttpClient device(fleetcomm.config.ports.device, ClientTls(fleetcomm.pki, &fleetcomm.pki.device_xrx0001));
  const auto& ports = fleetcomm.config.ports;
  const double hits = WarmUp(device, ports);  // read the database once, then remembered "empty"
  const double misses = CacheCount(ports, "miss");
  for (int i = 0; i < 20; ++i) CHECK(Actions(device).empty());
  CHECK(CacheCount(ports, "hit") == hits + 20);
  CHECK(CacheCount(ports, "miss") == misses);

  // Queuing on this instance drops its entry at once (its own notification follows: waited
  // for here, else it could drop the entry stored below). The delivered action is leased,
  // so the poll after it is answered from memory as well.
  const double heard = MetricValue(ports, "fleetcomm_action_notifications_total");
  const std::string id = QueueStatus(fleetcomm, fleet);
  REQUIRE(WaitForNotification(ports, heard));
  REQUIRE(Actions(device).size() == 1);
  CHECK(Actions(device).empty());
  CHECK(CacheCount(ports, "hit") == hits + 21);
  CHECK(QueryNumber(fleetcomm, "SELECT deliveries FROM actions WHERE id = '" + id + "'") == 1);
}

TEST_CASE("poll cache: an action queued on one instance reaches a poll on another at once", "[e2e][poll_cache]") {
  RunningFleetcomm fleetcomm(kHourCache);
  const Fleet fleet = Provision(fleetcomm);
  const std::string second_dir = fleetcomm.dir.path() + "/second";
  std::filesystem::create_directories(second_dir);
  fleetcomm::testing::ServerProcess second(
      fleetcomm::testing::WriteServerConfig(second_dir, fleetcomm.pki, fleetcomm.database, kHourCache));
  REQUIRE(second.WaitForLog("event=action_listener_up", 1, 10s));
  HttpClient device(second.ports().device, ClientTls(fleetcomm.pki, &fleetcomm.pki.device_xrx0001));
  const double hits = WarmUp(device, second.ports());  // the second instance remembers "empty" for an hour

  const double heard = MetricValue(second.ports(), "fleetcomm_action_notifications_total");
  const std::string id = QueueStatus(fleetcomm, fleet);  // on the first instance
  REQUIRE(WaitForNotification(second.ports(), heard));
  const json polled = Actions(device);
  REQUIRE(polled.size() == 1);
  CHECK(polled[0]["id"] == id);
  CHECK(CacheCount(second.ports(), "hit") == hits);
}

TEST_CASE("poll cache: a delivered action without a result comes back after its lease", "[e2e][poll_cache]") {
  RunningFleetcomm fleetcomm({{"actions.empty_poll_cache_seconds", "3600"}, {"actions.lease_s", "1"}});
  const Fleet fleet = Provision(fleetcomm);
  REQUIRE(fleetcomm.process.WaitForLog("event=action_listener_up", 1, 10s));
  HttpClient device(fleetcomm.config.ports.device, ClientTls(fleetcomm.pki, &fleetcomm.pki.device_xrx0001));
  const std::string id = QueueStatus(fleetcomm, fleet);
  const auto delivered_at = std::chrono::steady_clock::now();
  REQUIRE(Actions(device).size() == 1);
  const double hits = CacheCount(fleetcomm.config.ports, "hit");
  json again = Actions(device);
  CHECK(again.empty());  // leased
  while (again.empty() && std::chrono::steady_clock::now() - delivered_at < 10s) {
    std::this_thread::sleep_for(50ms);
    again = Actions(device);
  }
  REQUIRE(again.size() == 1);
  CHECK(again[0]["id"] == id);
  CHECK(std::chrono::steady_clock::now() - delivered_at >= 1s);
  CHECK(CacheCount(fleetcomm.config.ports, "hit") > hits);  // the cache answered during the lease
  CHECK(QueryNumber(fleetcomm, "SELECT deliveries FROM actions WHERE id = '" + id + "'") == 2);
}

TEST_CASE("poll cache: with the listener connection down, polls read the database", "[e2e][poll_cache]") {
  RunningFleetcomm fleetcomm(kHourCache);
  const Fleet fleet = Provision(fleetcomm);
  REQUIRE(fleetcomm.process.WaitForLog("event=action_listener_up", 1, 10s));
  HttpClient device(fleetcomm.config.ports.device, ClientTls(fleetcomm.pki, &fleetcomm.pki.device_xrx0001));
  const auto& ports = fleetcomm.config.ports;
  const double hits = WarmUp(device, ports);

  // The listener's session ends; notifications of the queue below are lost with it.
  CHECK(QueryNumber(fleetcomm, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                               "WHERE application_name = 'fleetcomm-listener'") == 1);
  REQUIRE(fleetcomm.process.WaitForLog("event=action_listener_down", 1, 10s));
  CHECK(MetricValue(ports, "fleetcomm_action_listener_up") == 0);
  CHECK(Actions(device).empty());  // read from the database, and not remembered
  const std::string id = QueueStatus(fleetcomm, fleet);
  const json polled = Actions(device);
  REQUIRE(polled.size() == 1);
  CHECK(polled[0]["id"] == id);
  CHECK(CacheCount(ports, "hit") == hits);
  CHECK(CacheCount(ports, "bypass") >= 1);

  // It reconnects by itself, and the cache works again.
  REQUIRE(fleetcomm.process.WaitForLog("event=action_listener_up", 2, 10s));
  CHECK(Actions(device).empty());
  CHECK(Actions(device).empty());
  CHECK(CacheCount(ports, "hit") == hits + 1);
}
