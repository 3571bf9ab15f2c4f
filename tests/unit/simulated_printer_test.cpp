#include <catch2/catch.hpp>

#include <algorithm>
#include <random>
#include <set>

#include "protocol/report_parser.hpp"
#include "tools/recorded_printer_models.hpp"
#include "tools/report_writer.hpp"
#include "tools/simulated_printer.hpp"

namespace protocol = fleetcomm::protocol;
using fleetcomm::tools::Rfc3339;
using fleetcomm::tools::SimulatedModel;
using fleetcomm::tools::SimulatedPrinter;

namespace {

constexpr std::int64_t kStart = 1795000000;  // 2026-11-18
constexpr std::int64_t kDay = 86400;

}  // namespace

TEST_CASE("Rfc3339 and RandomUuid give the wire formats", "[sim][unit]") {
  CHECK(Rfc3339(0) == "1970-01-01T00:00:00Z");
  CHECK(Rfc3339(1795521600) == "2026-11-24T12:00:00Z");
  std::mt19937_64 random(7);
  const std::string uuid = fleetcomm::tools::RandomUuid(random);
  REQUIRE(uuid.size() == 36);
  CHECK(uuid[14] == '4');
  CHECK(std::string("89ab").find(uuid[19]) != std::string::npos);
  CHECK(fleetcomm::tools::RandomUuid(random) != uuid);
}

TEST_CASE("a simulated printer's counters rise with time, at its own rate", "[sim][unit]") {
  SimulatedPrinter printer("SIM1", SimulatedModel(0), 42, kStart);
  const auto first = printer.total_impressions();
  printer.AdvanceTo(kStart + kDay);
  const auto one_day = printer.total_impressions() - first;
  CHECK(one_day >= 300);
  CHECK(one_day <= 3000);
  CHECK(printer.total_impressions() == printer.black_impressions() + printer.color_impressions());
  // Moving the clock backwards changes nothing; the same seed gives the same printer.
  printer.AdvanceTo(kStart);
  CHECK(printer.total_impressions() == first + one_day);
  SimulatedPrinter twin("SIM1", SimulatedModel(0), 42, kStart);
  for (int hour = 1; hour <= 24; ++hour) twin.AdvanceTo(kStart + hour * 3600);
  // Looked at every hour or once a day, a printer prints the same pages (within rounding).
  CHECK(twin.total_impressions() >= printer.total_impressions() - 1);
  CHECK(twin.total_impressions() <= printer.total_impressions() + 1);
}

TEST_CASE("an empty toner cartridge is replaced by a new one with its own serial", "[sim][unit]") {
  SimulatedPrinter printer("SIM2", SimulatedModel(1), 3, kStart);
  std::set<std::string> cartridges;
  bool saw_low = false;
  std::int64_t last_total = printer.total_impressions();
  for (int day = 1; day <= 120; ++day) {
    printer.AdvanceTo(kStart + day * kDay);
    CHECK(printer.total_impressions() >= last_total);
    last_total = printer.total_impressions();
    CHECK(printer.toner_level() > 0);
    CHECK(printer.toner_level() <= SimulatedPrinter::kTonerCapacity);
    const protocol::Device device = printer.Snapshot();
    REQUIRE(device.supplies.size() == 1);
    cartridges.insert(device.supplies[0].serial.value());
    if (device.supplies[0].state == "low") {
      saw_low = true;
      CHECK(device.status->state == "warning");
    }
  }
  CHECK(printer.cartridges_replaced() >= 2);  // 36,000 pages or more in 120 days
  CHECK(cartridges.size() == static_cast<std::size_t>(printer.cartridges_replaced()) + 1);
  CHECK(saw_low);
}

TEST_CASE("paper jams are raised and cleared over simulated weeks", "[sim][unit]") {
  SimulatedPrinter printer("SIM3", SimulatedModel(2), 11, kStart);
  int raised = 0, cleared = 0;
  bool jammed = printer.jam_alert();
  for (int hour = 1; hour <= 24 * 28; ++hour) {
    printer.AdvanceTo(kStart + hour * 3600);
    if (printer.jam_alert() && !jammed) ++raised;
    if (!printer.jam_alert() && jammed) ++cleared;
    jammed = printer.jam_alert();
  }
  CHECK(raised >= 3);
  CHECK(cleared >= 2);
  // Each jam is in the fault history, newest first, the last ten kept.
  const auto faults = printer.Snapshot().faults;
  CHECK(faults.size() == std::min<std::size_t>(static_cast<std::size_t>(raised), SimulatedPrinter::kFaultsKept));
  REQUIRE(!faults.empty());
  CHECK(faults.front().at == Rfc3339(printer.jams().front()));
  for (std::size_t i = 1; i < faults.size(); ++i) CHECK(*faults[i - 1].at > *faults[i].at);
}

TEST_CASE("a simulated printer's snapshot is a report the server's parser accepts", "[sim][unit]") {
  SimulatedPrinter printer("SIM4", SimulatedModel(2), 5, kStart);
  printer.AdvanceTo(kStart + 3 * kDay);
  protocol::Report report;
  std::mt19937_64 random(1);
  report.id = fleetcomm::tools::RandomUuid(random);
  report.generated_at = Rfc3339(printer.now());
  report.source = protocol::ReportSource::kDevice;
  report.devices.push_back(printer.Snapshot());
  const protocol::Report parsed = protocol::ParseReport(fleetcomm::tools::WriteReportXml(report));
  REQUIRE(parsed.devices.size() == 1);
  const auto& counters = parsed.devices[0].counters->items;
  REQUIRE(counters.size() == 3);  // a colour model
  CHECK(counters[0].name == "total-impressions");
  CHECK(counters[0].value == printer.total_impressions());
  CHECK(parsed.devices[0].counters->read_at == Rfc3339(kStart + 3 * kDay));
}

TEST_CASE("a printer of a recorded model keeps the recording's make and counters, its tracked supply empties",
          "[sim][unit]") {
  const auto models = fleetcomm::tools::LoadRecordedModels(std::string(FLEETCOMM_SHARED_DIR) + "/fixtures/printers");
  REQUIRE(models.size() >= 13);
  std::size_t with_counters = 0, with_tracked_supply = 0;
  for (std::size_t m = 0; m < models.size(); ++m) {
    const auto& recording = *models[m].recording;
    INFO(recording.manufacturer << " " << recording.model);
    SimulatedPrinter printer("REC" + std::to_string(m), models[m], m, kStart);
    printer.AdvanceTo(kStart + 3 * kDay);
    const auto device = printer.Snapshot();
    CHECK(device.serial == "REC" + std::to_string(m));
    CHECK(device.manufacturer == recording.manufacturer);
    CHECK(device.model == recording.model);
    CHECK(device.supplies.size() == recording.supplies.size());
    REQUIRE(device.counters);
    if (recording.counters && !recording.counters->items.empty()) {
      ++with_counters;
      REQUIRE(device.counters->items.size() == recording.counters->items.size());
      for (std::size_t c = 0; c < device.counters->items.size(); ++c) {
        const auto added = device.counters->items[c].value - recording.counters->items[c].value;
        const auto& name = device.counters->items[c].name;
        CHECK(added == (name.find("color") != std::string::npos   ? printer.color_impressions()
                        : name.find("black") != std::string::npos ? printer.black_impressions()
                                                                  : printer.total_impressions()));
      }
    }
    for (std::size_t s = 0; s < device.supplies.size(); ++s) {
      if (device.supplies[s].serial.value_or("").rfind("REC", 0) != 0) continue;
      ++with_tracked_supply;
      CHECK(*device.supplies[s].level ==
            printer.toner_level() * *device.supplies[s].capacity / SimulatedPrinter::kTonerCapacity);
      break;
    }
    // What it reports is a valid report.
    fleetcomm::protocol::Report report;
    report.id = "5d1c3f7e-0d2a-4c53-9a57-5e5b0f1f2a10";
    report.generated_at = Rfc3339(printer.now());
    report.devices.push_back(device);
    CHECK_NOTHROW(protocol::ParseReport(fleetcomm::tools::WriteReportXml(report)));
  }
  CHECK(with_counters > 0);
  CHECK(with_tracked_supply > 0);
}

TEST_CASE("a supply asks for an order when empty, low (unless at level -3) or at the threshold", "[sim][unit]") {
  protocol::Supply supply;
  supply.capacity = 100;
  supply.level = 30;
  CHECK_FALSE(SimulatedPrinter::SupplyIsLow(supply, 20));
  supply.level = 20;
  CHECK(SimulatedPrinter::SupplyIsLow(supply, 20));
  supply.level = -3;
  supply.state = "low";
  CHECK_FALSE(SimulatedPrinter::SupplyIsLow(supply, 20));
  supply.state = "empty";
  CHECK(SimulatedPrinter::SupplyIsLow(supply, 20));
  supply.level = 90;
  supply.state = "low";
  CHECK(SimulatedPrinter::SupplyIsLow(supply, 20));
}
