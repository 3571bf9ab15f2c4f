// The downstream feeds through the real binary (PROTOCOL.md 4.5): a consumer that reads,
// restarts from its last cursor and reads again while uploads arrive gets every item once;
// the pipelines run inside `serve` and in a separate `fleetcomm jobs` process at once; a day
// of the recorded real printers (../shared/fixtures/printers) gives the expected reads and orders.
#include "tests/support/fleet_actors.hpp"
#include "tests/support/temp_dir.hpp"
#include "tools/printer_recording.hpp"
#include "tools/report_writer.hpp"
#include "tools/sample_device.hpp"
#include "tools/snmprec.hpp"
#include "tools/zip_writer.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <fstream>
#include <set>
#include <thread>

using fleetcomm::testing::CreateAccount;
using fleetcomm::testing::CreateOperatorToken;
using fleetcomm::testing::OperatorCall;
using fleetcomm::testing::PostUpload;
using fleetcomm::testing::QueryNumber;
using fleetcomm::testing::RunningFleetcomm;
using nlohmann::json;

namespace {

std::string ReportId(int n) {
  char id[40];
  std::snprintf(id, sizeof id, "00000000-0000-4000-8000-%012d", n);
  return id;
}

// Upload n of a device read `n` hours after the first, 100 pages more each time.
std::string CounterUploadZip(int n, const std::string& serial) {
  auto report = fleetcomm::tools::SampleDeviceReport(ReportId(n), serial, 10000 + 100 * n);
  char read_at[32];
  std::snprintf(read_at, sizeof read_at, "2026-11-%02dT%02d:00:00Z", 1 + n / 24, n % 24);
  report.generated_at = read_at;
  report.devices[0].counters->read_at = read_at;
  return fleetcomm::tools::WriteZip({{"report.xml", fleetcomm::tools::WriteReportXml(report)}});
}

}  // namespace

TEST_CASE("feeds: a consumer restarting from its cursor gets every meter read once while uploads arrive",
          "[e2e][feeds]") {
  const fleetcomm::testing::ConfigOverrides pipelines = {
      {"pipelines.poll_interval_ms", "20"}, {"pipelines.sequence_interval_ms", "20"}, {"pipelines.batch_size", "3"}};
  RunningFleetcomm fleetcomm(pipelines);
  const std::string admin = CreateOperatorToken(fleetcomm, {"--role", "admin"});
  const std::string consumer = CreateOperatorToken(fleetcomm, {"--role", "consumer"});
  const std::string account = CreateAccount(fleetcomm, admin, {{"name", "Billing"}, {"meter_billing", true}});
  const std::string manager = CreateOperatorToken(fleetcomm, {"--role", "account_manager", "--account", account});
  fleetcomm::testing::ProvisionActiveDevice(fleetcomm, admin, account, fleetcomm.pki.device_xrx0001, "XRX0001");
  fleetcomm::testing::ProvisionActiveDevice(fleetcomm, admin, account, fleetcomm.pki.device_xrx0002, "XRX0002");

  // Who may read, and what a cursor is.
  OperatorCall(fleetcomm, manager, "GET", "/api/v1/feeds/meter-reads", 403);
  OperatorCall(fleetcomm, consumer, "GET", "/api/v1/devices", 403);
  OperatorCall(fleetcomm, consumer, "GET", "/api/v1/feeds/meter-reads?after=abc", 422);
  const json empty = OperatorCall(fleetcomm, consumer, "GET", "/api/v1/feeds/meter-reads", 200);
  CHECK(empty["items"].empty());
  CHECK(empty["next"].is_null());

  // A second pipeline instance, alone, beside the one inside serve (its own config: its own
  // ops listener).
  fleetcomm::testing::TempDir jobs_dir;
  fleetcomm::testing::ServerProcess jobs(
      fleetcomm::testing::WriteServerConfig(jobs_dir.path(), fleetcomm.pki, fleetcomm.database, pipelines),
      fleetcomm::testing::FleetcommCommand::kJobs);

  constexpr int kUploadsPerDevice = 15;
  std::vector<unsigned> statuses;
  std::thread uploader([&] {
    for (int n = 1; n <= kUploadsPerDevice; ++n) {
      statuses.push_back(PostUpload(fleetcomm, fleetcomm.pki.device_xrx0001, CounterUploadZip(n, "XRX0001")).status);
      statuses.push_back(PostUpload(fleetcomm, fleetcomm.pki.device_xrx0002, CounterUploadZip(n, "XRX0002")).status);
    }
  });

  // The consumer keeps only its cursor; every third page it "restarts" (forgets everything else).
  constexpr std::size_t kExpected = 2 * 2 * kUploadsPerDevice;  // two devices, two counters
  std::vector<std::string> received;
  std::string cursor;
  int pages = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (received.size() < kExpected && std::chrono::steady_clock::now() < deadline) {
    const std::string target = "/api/v1/feeds/meter-reads?limit=7" + (cursor.empty() ? "" : "&after=" + cursor);
    const json page = OperatorCall(fleetcomm, ++pages % 3 == 0 ? admin : consumer, "GET", target, 200);
    for (const auto& item : page["items"]) {
      CHECK(item["status"] == "billable");
      received.push_back(item["id"].get<std::string>() + " " + item["serial"].get<std::string>() + " " +
                         item["counter"].get<std::string>() + " " + item["read_at"].get<std::string>());
    }
    if (page["items"].empty()) {
      CHECK(page["next"].is_null());
      std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling an idle feed, not waiting for a log line
    } else {
      cursor = page["next"].get<std::string>();
    }
  }
  uploader.join();
  for (unsigned status : statuses) CHECK(status == 201);
  jobs.Signal(SIGTERM);
  CHECK(jobs.WaitExit(std::chrono::seconds(10)) == 0);

  REQUIRE(received.size() == kExpected);
  const std::set<std::string> unique(received.begin(), received.end());
  CHECK(unique.size() == kExpected);
  std::set<std::string> keys;  // (serial, counter, read time) without the id
  for (const auto& item : received) keys.insert(item.substr(item.find(' ') + 1));
  CHECK(keys.size() == kExpected);
  CHECK(QueryNumber(fleetcomm, "SELECT count(*) FROM meter_reads") == static_cast<long long>(kExpected));
  // Nothing more arrives after the last item, and reading past it again repeats nothing.
  const json tail = OperatorCall(fleetcomm, consumer, "GET", "/api/v1/feeds/meter-reads?after=" + cursor, 200);
  CHECK(tail["items"].empty());
}

namespace {

// Reads a whole feed as a consumer that keeps only its cursor, restarting (a new connection,
// nothing remembered but the cursor) after every page of `limit` items.
std::vector<json> ReadFeedRestarting(const RunningFleetcomm& fleetcomm, const std::string& token,
                                     const std::string& feed, int limit) {
  std::vector<json> items;
  std::string cursor;
  for (;;) {
    const json page = OperatorCall(fleetcomm, token, "GET",
                                   "/api/v1/feeds/" + feed + "?limit=" + std::to_string(limit) +
                                       (cursor.empty() ? "" : "&after=" + cursor),
                                   200);
    if (page["items"].empty()) return items;
    for (const auto& item : page["items"]) items.push_back(item);
    cursor = page["next"].get<std::string>();
  }
}

}  // namespace

TEST_CASE("feeds: a day of hourly reports gives billable reads, one fulfilled order and service events, read once",
          "[e2e][feeds]") {
  RunningFleetcomm fleetcomm({{"pipelines.poll_interval_ms", "20"}, {"pipelines.sequence_interval_ms", "20"}});
  const std::string admin = CreateOperatorToken(fleetcomm, {"--role", "admin"});
  const std::string consumer = CreateOperatorToken(fleetcomm, {"--role", "consumer"});
  const std::string account = CreateAccount(
      fleetcomm, admin, {{"name", "Day"}, {"meter_billing", true}, {"supplies_contract", true}, {"supply_low_percent", 15}});
  fleetcomm::testing::ProvisionActiveDevice(fleetcomm, admin, account, fleetcomm.pki.device_xrx0001, "XRX0001");

  // Hour h: 120 pages more each hour; the black toner falls 2 points an hour from 40% and is
  // replaced at 20:00; its alert is on while it is at or below 15%; a jam at 10:00.
  std::string order_id;
  for (int hour = 0; hour < 24; ++hour) {
    auto report = fleetcomm::tools::SampleDeviceReport(ReportId(1000 + hour), "XRX0001", 50000 + 120 * hour);
    char at[32];
    std::snprintf(at, sizeof at, "2026-11-24T%02d:00:00Z", hour);
    report.generated_at = at;
    auto& device = report.devices[0];
    device.counters->read_at = at;
    const bool replaced = hour >= 20;
    const std::int64_t percent = replaced ? 100 : 40 - 2 * hour;
    device.supplies[0].level = 300 * percent;  // capacity 30000
    device.supplies[0].serial = replaced ? "TC0002" : "TC0001";
    device.status->alerts.clear();
    if (percent <= 15) {
      device.status->alerts.push_back({"09-582-00", "warning", "marker", std::nullopt, "Black toner low", at});
    }
    if (hour >= 10) device.faults.insert(device.faults.begin(), {"75-531-00", "2026-11-24T10:00:00Z", "tray 2", "Jam"});
    const auto zip = fleetcomm::tools::WriteZip({{"report.xml", fleetcomm::tools::WriteReportXml(report)}});
    REQUIRE(PostUpload(fleetcomm, fleetcomm.pki.device_xrx0001, zip).status == 201);
    if (hour == 18) {
      // Downstream ships the order before the new cartridge is seen.
      while (QueryNumber(fleetcomm, "SELECT count(*) FROM pipeline_jobs WHERE finished_at IS NULL") > 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling the job table, not a log
      }
      const auto orders = ReadFeedRestarting(fleetcomm, consumer, "supply-orders", 1);
      REQUIRE(orders.size() == 1);
      order_id = orders[0]["order_id"].get<std::string>();
      OperatorCall(fleetcomm, consumer, "POST", "/api/v1/supply-orders/" + order_id + "/status", 200,
                   {{"status", "shipped"}});
      OperatorCall(fleetcomm, consumer, "POST", "/api/v1/supply-orders/" + order_id + "/status", 422,
                   {{"status", "opened"}});
      OperatorCall(fleetcomm, consumer, "POST", "/api/v1/supply-orders/so_unknown/status", 404, {{"status", "shipped"}});
    }
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (QueryNumber(fleetcomm, "SELECT (SELECT count(*) FROM pipeline_jobs WHERE finished_at IS NULL) + "
                                "(SELECT count(*) FROM meter_reads WHERE seq IS NULL) + "
                                "(SELECT count(*) FROM supply_order_events WHERE seq IS NULL) + "
                                "(SELECT count(*) FROM service_events WHERE seq IS NULL)") > 0 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }

  const auto reads = ReadFeedRestarting(fleetcomm, consumer, "meter-reads", 5);
  CHECK(reads.size() == 48);  // two counters, 24 reads each
  for (const auto& read : reads) CHECK(read["status"] == "billable");
  const auto orders = ReadFeedRestarting(fleetcomm, consumer, "supply-orders", 2);
  std::vector<std::string> order_events;
  for (const auto& event : orders) {
    CHECK(event["order_id"] == order_id);
    order_events.push_back(event["event"].get<std::string>());
  }
  CHECK(order_events == std::vector<std::string>{"opened", "shipped", "fulfilled"});
  const auto events = ReadFeedRestarting(fleetcomm, consumer, "service-events", 3);
  std::multiset<std::string> kinds;
  for (const auto& event : events) kinds.insert(event["kind"].get<std::string>() + " " + event["code"].get<std::string>());
  CHECK(kinds == std::multiset<std::string>{"alert_raised 09-582-00", "alert_cleared 09-582-00", "fault 75-530-00",
                                            "fault 75-531-00"});
  // Fulfilled is final.
  OperatorCall(fleetcomm, consumer, "POST", "/api/v1/supply-orders/" + order_id + "/status", 409,
               {{"status", "cancelled"}});
  // Read again from the start: the same items in the same order.
  CHECK(ReadFeedRestarting(fleetcomm, consumer, "service-events", 1000) == events);
}

TEST_CASE("feeds: a day of the recorded printers, replayed with rising counters and falling toner, read once",
          "[e2e][feeds][fixtures]") {
  namespace fs = std::filesystem;
  const fs::path printers = fs::path(FLEETCOMM_SHARED_DIR) / "fixtures" / "printers";
  INFO("the printer fixtures live in " << printers);
  REQUIRE(fs::is_directory(printers / "raw"));
  std::vector<fleetcomm::protocol::Device> devices;
  for (const auto& entry : fs::directory_iterator(printers / "raw")) {
    if (entry.path().extension() != ".snmprec") continue;
    const auto recording = fleetcomm::tools::SnmpRecording::Load(entry.path());
    devices.push_back(fleetcomm::tools::ReadPrinter(recording, {std::nullopt, entry.path().stem().string()}));
  }
  REQUIRE(devices.size() >= 13);

  // What the day must give, from the rules of REQUIREMENTS.md R5 stated here on their own:
  // every counter of every report is one billable read (500 pages in 4 hours is plausible);
  // the first supply with a known level and capacity ("tracked") falls 6 points a report from
  // 40% and is replaced (new serial) in the last report: one order, opened at 16% (threshold
  // 20) and then fulfilled; every other supply keeps its recorded state and opens one order
  // (never fulfilled) if it is empty, or low, or at or below 20% (a level of -3 never does).
  constexpr int kReports = 6;
  std::size_t expected_reads = 0, tracked = 0, other_low = 0;
  std::vector<std::optional<std::size_t>> tracked_supply(devices.size());
  for (std::size_t d = 0; d < devices.size(); ++d) {
    const auto& device = devices[d];
    if (device.counters) expected_reads += device.counters->items.size() * kReports;
    for (std::size_t s = 0; s < device.supplies.size(); ++s) {
      const auto& supply = device.supplies[s];
      const bool known = supply.level && supply.capacity && *supply.level >= 0 && *supply.capacity > 0;
      if (known && !tracked_supply[d]) {
        tracked_supply[d] = s;
        ++tracked;
        continue;
      }
      const std::string state = supply.state.value_or("");
      const bool low = state == "empty" ||
                       (supply.level != -3 && (state == "low" || (known && *supply.level * 100 <= 20 * *supply.capacity)));
      if (low) ++other_low;
    }
  }
  REQUIRE(tracked > 0);

  RunningFleetcomm fleetcomm({{"pipelines.poll_interval_ms", "20"}, {"pipelines.sequence_interval_ms", "20"}});
  const std::string admin = CreateOperatorToken(fleetcomm, {"--role", "admin"});
  const std::string consumer = CreateOperatorToken(fleetcomm, {"--role", "consumer"});
  const std::string account = CreateAccount(
      fleetcomm, admin, {{"name", "Fixtures"}, {"meter_billing", true}, {"supplies_contract", true}, {"supply_low_percent", 20}});
  fleetcomm::testing::TempDir dir;
  const auto agent = fleetcomm::testing::EnrollTestAgent(fleetcomm, admin, account, dir.path());

  for (int r = 0; r < kReports; ++r) {
    fleetcomm::protocol::Report report;
    report.id = ReportId(5000 + r);
    char at[32];
    std::snprintf(at, sizeof at, "2026-11-24T%02d:00:00Z", 4 * r);
    report.generated_at = at;
    report.source = fleetcomm::protocol::ReportSource::kAgent;
    report.agent = fleetcomm::protocol::AgentInfo{"agent-lite", "5.6.1", fleetcomm::protocol::SecurityMode::kNormal,
                                                  {}, std::nullopt, std::nullopt};
    for (std::size_t d = 0; d < devices.size(); ++d) {
      auto device = devices[d];
      if (device.counters) {
        device.counters->read_at = at;
        for (auto& counter : device.counters->items) counter.value += 500 * r;
      }
      if (tracked_supply[d]) {
        auto& supply = device.supplies[*tracked_supply[d]];
        const bool replaced = r == kReports - 1;
        supply.level = replaced ? *supply.capacity : *supply.capacity * (40 - 6 * r) / 100;
        supply.state = "ok";
        supply.serial = replaced ? "NEW-CARTRIDGE" : "OLD-CARTRIDGE";
      }
      report.devices.push_back(std::move(device));
    }
    const auto zip = fleetcomm::tools::WriteZip({{"report.xml", fleetcomm::tools::WriteReportXml(report)}});
    const auto uploaded = PostUpload(fleetcomm, agent.files, zip);
    INFO(uploaded.Describe());
    REQUIRE(uploaded.status == 201);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (QueryNumber(fleetcomm, "SELECT (SELECT count(*) FROM pipeline_jobs WHERE finished_at IS NULL) + "
                                "(SELECT count(*) FROM meter_reads WHERE seq IS NULL) + "
                                "(SELECT count(*) FROM supply_order_events WHERE seq IS NULL)") > 0 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling the job table, not a log
  }

  const auto reads = ReadFeedRestarting(fleetcomm, consumer, "meter-reads", 7);
  CHECK(reads.size() == expected_reads);
  std::set<std::string> read_ids;
  for (const auto& read : reads) {
    CHECK(read["status"] == "billable");
    read_ids.insert(read["id"].get<std::string>());
  }
  CHECK(read_ids.size() == reads.size());  // nothing repeated across restarts
  const auto orders = ReadFeedRestarting(fleetcomm, consumer, "supply-orders", 3);
  std::map<std::string, std::vector<std::string>> events_by_order;
  for (const auto& event : orders) {
    events_by_order[event["order_id"].get<std::string>()].push_back(event["event"].get<std::string>());
  }
  std::size_t fulfilled = 0, open = 0;
  for (const auto& [order, events] : events_by_order) {
    INFO("order " << order);
    REQUIRE(!events.empty());
    CHECK(events.front() == "opened");
    if (events == std::vector<std::string>{"opened", "fulfilled"}) {
      ++fulfilled;
    } else {
      CHECK(events == std::vector<std::string>{"opened"});
      ++open;
    }
  }
  CHECK(fulfilled == tracked);
  CHECK(open == other_low);
  // A consumer reading everything in one go sees exactly what the restarting one saw.
  CHECK(ReadFeedRestarting(fleetcomm, consumer, "meter-reads", 1000) == reads);
}
