// The supplies (R5.2) and diagnostics (R5.3) pipelines against the migrated schema: orders
// opened once per low supply and fulfilled by the new one, service events for alerts raised
// and cleared between consecutive reports and for new faults, once each.
#include "storage/accounts.hpp"
#include "storage/devices.hpp"
#include "storage/feeds.hpp"
#include "storage/pipeline_jobs.hpp"
#include "storage/supply_orders.hpp"
#include "storage/uploads.hpp"
#include "tests/support/temp_postgres.hpp"
#include "tools/sample_device.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <cstdio>
#include <string>

namespace storage = fleetcomm::storage;
namespace protocol = fleetcomm::protocol;
using fleetcomm::testing::QueryNumber;
using fleetcomm::testing::TempPostgres;
using nlohmann::json;

namespace {

struct Fleet {
  pqxx::connection conn{TempPostgres::Instance().CreateDatabase()};
  std::string account;
  std::string device;
  int reports = 0;

  explicit Fleet(bool supplies_contract) {
    storage::AccountFields fields;
    fields.name = "Acme";
    fields.supplies_contract = supplies_contract;
    fields.supply_low_percent = 20;
    account = storage::CreateAccount(conn, fields).value().id;
    storage::ProvisionDevice(conn, account, "Xerox", "XRX1").value();
    device = storage::RegisterDevice(conn, {"Xerox", "XRX1", "C8155", "1.0", std::nullopt, std::string(64, 'c')})
                 .value()
                 .device.id;
  }

  // A report generated on `day` of November 2026; `edit` changes the sample device.
  template <class Edit>
  void Upload(int day, Edit edit, bool run = true) {
    char id[40], at[32];
    std::snprintf(id, sizeof id, "00000000-0000-4000-8000-%012d", ++reports);
    std::snprintf(at, sizeof at, "2026-11-%02dT03:00:00Z", day);
    auto report = fleetcomm::tools::SampleDeviceReport(id, "XRX1", 1000);
    report.generated_at = at;
    report.devices[0].counters->read_at = at;
    edit(report.devices[0]);
    storage::NewUpload upload;
    upload.sender = {storage::ClientKind::kDevice, device, account};
    upload.report = &report;
    upload.content_sha256 = std::string(32, static_cast<char>(reports));
    upload.zip = "PK";
    upload.report_bytes = 100;
    auto stored = storage::StoreUpload(conn, upload);
    INFO((stored ? std::string() : stored.error().detail));
    REQUIRE(stored.has_value());
    if (!run) return;
    auto batch = storage::RunPipelineBatch(conn, {});
    INFO((batch ? std::string() : batch.error().detail));
    REQUIRE(batch.has_value());
    CHECK(batch->failed == 0);
  }

  long long Count(const std::string& sql) { return QueryNumber(conn, sql); }
};

// The black toner (index 1, capacity 30000) at `level`, with cartridge `serial`.
auto Toner(std::int64_t level, std::string serial = "TC0001", std::optional<std::string> state = std::nullopt) {
  return [=](protocol::Device& device) {
    device.supplies[0].level = level;
    device.supplies[0].serial = serial;
    device.supplies[0].state = state;
  };
}

}  // namespace

TEST_CASE("supplies: one order per low supply, no storm around the threshold, fulfilled by the new one",
          "[pipelines][supplies]") {
  Fleet fleet(true);
  // A third supply without a usable capacity: never an order by its level.
  auto with_odd_supplies = [](protocol::Device& device) {
    device.supplies.push_back({3, "toner", "cyan", "Cyan", std::nullopt, std::nullopt, "percent", 0, 0, std::nullopt});
    device.supplies.push_back({4, "toner", "magenta", "Magenta", std::nullopt, std::nullopt, "percent", -2, 5,
                               std::nullopt});
  };
  fleet.Upload(1, [&](protocol::Device& d) { Toner(28407)(d); with_odd_supplies(d); });
  CHECK(fleet.Count("SELECT count(*) FROM supply_orders") == 0);
  fleet.Upload(2, Toner(6000));  // 20%: at the threshold
  CHECK(fleet.Count("SELECT count(*) FROM supply_orders WHERE status = 'opened' AND supply_index = 1") == 1);
  fleet.Upload(3, Toner(6300));  // 21%
  fleet.Upload(4, Toner(5700));  // 19%
  fleet.Upload(5, Toner(6200));
  fleet.Upload(6, [&](protocol::Device& d) { Toner(900)(d); with_odd_supplies(d); });
  CHECK(fleet.Count("SELECT count(*) FROM supply_orders") == 1);
  CHECK(fleet.Count("SELECT count(*) FROM supply_orders WHERE lowest_percent = 3") == 1);
  // The waste-toner box (level -3, "some remaining") never asked for anything.
  CHECK(fleet.Count("SELECT count(*) FROM supply_orders WHERE supply_index <> 1") == 0);

  fleet.Upload(7, Toner(30000, "TC0002"));  // the new cartridge
  CHECK(fleet.Count("SELECT count(*) FROM supply_orders WHERE status = 'fulfilled'") == 1);
  // A report from before the replacement, arriving late, changes nothing.
  fleet.Upload(6, Toner(800));
  CHECK(fleet.Count("SELECT count(*) FROM supply_orders") == 1);

  // `empty` always orders, even without a level.
  fleet.Upload(8, Toner(-3, "TC0002", "empty"));
  CHECK(fleet.Count("SELECT count(*) FROM supply_orders WHERE status = 'opened'") == 1);
  const std::string order = [&] {
    pqxx::work tx(fleet.conn);
    return tx.exec1("SELECT id FROM supply_orders WHERE status = 'opened'")[0].as<std::string>();
  }();
  using Outcome = storage::OrderStatusOutcome;
  storage::AuditEntry request;  // the operator's request: committed with a change only
  request.at = std::chrono::system_clock::now();
  request.listener = "operator";
  request.request_id = "ship";
  request.status = 200;
  CHECK(storage::SetSupplyOrderStatus(fleet.conn, order, "shipped", &request).value() == Outcome::kChanged);
  request.request_id = "ship-again";
  CHECK(storage::SetSupplyOrderStatus(fleet.conn, order, "shipped", &request).value() == Outcome::kUnchanged);
  CHECK(QueryNumber(fleet.conn, "SELECT count(*) FROM audit_entries WHERE request_id = 'ship' AND "
                                "before->>'status' = 'opened' AND after->>'status' = 'shipped' AND "
                                "account_id IS NOT NULL") == 1);
  CHECK(QueryNumber(fleet.conn, "SELECT count(*) FROM audit_entries WHERE request_id = 'ship-again'") == 0);
  CHECK(storage::SetSupplyOrderStatus(fleet.conn, order, "cancelled").value() == Outcome::kChanged);
  CHECK(storage::SetSupplyOrderStatus(fleet.conn, order, "shipped").value() == Outcome::kConflict);
  CHECK(storage::SetSupplyOrderStatus(fleet.conn, "so_none", "shipped").value() == Outcome::kNotFound);

  REQUIRE(storage::SequenceFeeds(fleet.conn).has_value());
  const json events = json::parse(storage::ReadFeed(fleet.conn, storage::Feed::kSupplyOrders, 0, 100).value().items);
  std::vector<std::string> kinds;
  for (const auto& event : events) kinds.push_back(event["event"].get<std::string>());
  CHECK(kinds == std::vector<std::string>{"opened", "fulfilled", "opened", "shipped", "cancelled"});
  CHECK(events[0]["supply"]["colorant"] == "black");
  CHECK(events[0]["supply"]["level"] == 6000);
  CHECK(events[0]["device_id"] == fleet.device);
  CHECK(events[0]["at"] == "2026-11-02T03:00:00Z");
}

TEST_CASE("supplies: readings judged in one batch give what they give one batch at a time", "[pipelines][supplies]") {
  // `alone`: how many of the first uploads run in batches of their own; the rest run together.
  const int alone = GENERATE(0, 2, 99);
  Fleet fleet(true);
  const auto upload = [&](int day, auto edit) { fleet.Upload(day, edit, fleet.reports < alone); };
  upload(1, Toner(28407));
  upload(2, Toner(6000));  // 20%: opens the order
  upload(3, Toner(6300));  // 21%: no second order
  upload(4, Toner(3000));  // 10%: the lowest while open
  upload(5, Toner(12000));  // 40%, same cartridge: 30 points above the lowest, so refilled
  upload(6, Toner(900));    // 3%: a second order for the same supply
  upload(3, Toner(100));    // late, older than what was judged: nothing
  if (alone < 99) {
    auto batch = storage::RunPipelineBatch(fleet.conn, {});
    REQUIRE(batch.has_value());
    CHECK(batch->failed == 0);
  }
  INFO("uploads run alone before one batch: " << alone);
  CHECK(fleet.Count("SELECT count(*) FROM pipeline_jobs WHERE finished_at IS NULL") == 0);
  CHECK(fleet.Count("SELECT count(*) FROM supply_orders") == 2);
  CHECK(fleet.Count("SELECT count(*) FROM supply_orders WHERE status = 'fulfilled' AND lowest_percent = 10 "
                    "AND opened_at = '2026-11-02T03:00:00Z'") == 1);
  CHECK(fleet.Count("SELECT count(*) FROM supply_orders WHERE status = 'opened' AND lowest_percent = 3 "
                    "AND opened_at = '2026-11-06T03:00:00Z'") == 1);
  CHECK(fleet.Count("SELECT count(*) FROM supply_states WHERE supply_index = 1 "
                    "AND read_at = '2026-11-06T03:00:00Z'") == 1);
  REQUIRE(storage::SequenceFeeds(fleet.conn).has_value());
  const json events = json::parse(storage::ReadFeed(fleet.conn, storage::Feed::kSupplyOrders, 0, 100).value().items);
  std::vector<std::string> kinds, times;
  for (const auto& event : events) {
    kinds.push_back(event["event"].get<std::string>());
    times.push_back(event["at"].get<std::string>());
  }
  CHECK(kinds == std::vector<std::string>{"opened", "fulfilled", "opened"});
  CHECK(times == std::vector<std::string>{"2026-11-02T03:00:00Z", "2026-11-05T03:00:00Z", "2026-11-06T03:00:00Z"});
  CHECK(events[0]["order_id"] == events[1]["order_id"]);
  CHECK(events[1]["order_id"] != events[2]["order_id"]);
}

TEST_CASE("supplies: accounts without a supplies contract get no orders", "[pipelines][supplies]") {
  Fleet fleet(false);
  fleet.Upload(1, Toner(10, "TC0001", "empty"));
  CHECK(fleet.Count("SELECT count(*) FROM pipeline_jobs WHERE pipeline = 'supplies'") == 0);
  CHECK(fleet.Count("SELECT count(*) FROM supply_orders") == 0);
}

TEST_CASE("diagnostics: alerts raised and cleared between reports, faults once, critical flagged",
          "[pipelines][diagnostics]") {
  Fleet fleet(false);
  auto alerts = [](std::vector<protocol::Alert> list, std::vector<protocol::Fault> faults) {
    return [=](protocol::Device& device) {
      device.status->alerts = list;
      device.faults = faults;
    };
  };
  const protocol::Alert toner{"09-582-00", "warning", "marker", std::nullopt, "Black toner low", std::nullopt};
  const protocol::Alert fuser{"10-100-00", "critical", "fuser", std::nullopt, "Fuser failure", std::nullopt};
  const protocol::Alert door{"05-300-00", "info", "cover", std::nullopt, "Door open", std::nullopt};
  const protocol::Fault jam{"75-530-00", "2026-11-20T10:00:00Z", "tray 3", "Paper jam"};
  const protocol::Fault jam2{"75-531-00", "2026-11-21T10:00:00Z", "tray 2", "Paper jam"};

  fleet.Upload(21, alerts({toner, fuser}, {jam}));
  fleet.Upload(22, alerts({toner}, {jam2, jam}));
  fleet.Upload(20, alerts({door}, {jam}));  // older than the last judged report: no alert change
  fleet.Upload(23, alerts({}, {jam2, jam}));
  // Two reports judged in one batch: the raise and the clear between them both count.
  fleet.Upload(25, alerts({}, {}), false);
  fleet.Upload(24, alerts({door}, {}));
  CHECK(fleet.Count("SELECT count(*) FROM service_events WHERE kind = 'alert_raised' AND code = '09-582-00'") == 1);
  CHECK(fleet.Count("SELECT count(*) FROM service_events WHERE kind = 'alert_raised' AND code = '10-100-00' "
                    "AND critical") == 1);
  CHECK(fleet.Count("SELECT count(*) FROM service_events WHERE kind = 'alert_cleared' AND code = '10-100-00' "
                    "AND at = '2026-11-22T03:00:00Z'") == 1);
  CHECK(fleet.Count("SELECT count(*) FROM service_events WHERE kind = 'alert_cleared' AND code = '09-582-00' "
                    "AND at = '2026-11-23T03:00:00Z'") == 1);
  CHECK(fleet.Count("SELECT count(*) FROM service_events WHERE code = '05-300-00' AND at < '2026-11-24'") == 0);
  CHECK(fleet.Count("SELECT count(*) FROM service_events WHERE code = '05-300-00' AND kind = 'alert_raised' "
                    "AND at = '2026-11-24T03:00:00Z'") == 1);
  CHECK(fleet.Count("SELECT count(*) FROM service_events WHERE code = '05-300-00' AND kind = 'alert_cleared' "
                    "AND at = '2026-11-25T03:00:00Z'") == 1);
  CHECK(fleet.Count("SELECT count(*) FROM service_events WHERE kind = 'fault'") == 2);
  CHECK(fleet.Count("SELECT count(*) FROM service_events") == 8);

  // Running every job again raises nothing twice.
  {
    pqxx::work tx(fleet.conn);
    tx.exec("UPDATE pipeline_jobs SET finished_at = NULL");
    tx.commit();
  }
  REQUIRE(storage::RunPipelineBatch(fleet.conn, {}).has_value());
  CHECK(fleet.Count("SELECT count(*) FROM service_events") == 8);

  REQUIRE(storage::SequenceFeeds(fleet.conn).has_value());
  const json events = json::parse(storage::ReadFeed(fleet.conn, storage::Feed::kServiceEvents, 0, 100).value().items);
  REQUIRE(events.size() == 8);
  for (const auto& event : events) {
    CHECK(event["account_id"] == fleet.account);
    if (event["code"] == "10-100-00") CHECK(event["severity"] == "critical");
  }
}
