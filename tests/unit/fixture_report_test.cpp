// Every real printer recording in ../shared/fixtures/printers, converted to a report and
// compared with the independent normalised reading of the same recording. Data-driven
// over index.json: a new fixture is checked without touching this file.
// Optional values print as their contents when a check fails.
#define CATCH_CONFIG_ENABLE_OPTIONAL_STRINGMAKER
#include <catch2/catch.hpp>
#include <pugixml.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>

#include "tools/printer_mib_names.hpp"
#include "protocol/supply_level.hpp"
#include "tools/printer_recording.hpp"
#include "tools/report_writer.hpp"
#include "tools/snmprec.hpp"

namespace fs = std::filesystem;
using fleetcomm::protocol::Device;
using fleetcomm::protocol::Supply;
using fleetcomm::tools::MarkerLifeCounterName;
using fleetcomm::tools::PlaceholderSerial;
using fleetcomm::tools::ReadPrinter;
using fleetcomm::tools::SnmpRecording;
using nlohmann::json;

namespace {

const fs::path kPrinters = fs::path(FLEETCOMM_SHARED_DIR) / "fixtures" / "printers";

json LoadJson(const fs::path& path) {
  INFO("reading " << path);
  std::ifstream in(path);
  REQUIRE(in.good());
  return json::parse(in);
}

std::optional<std::string> OptionalString(const json& value) {
  if (value.is_null()) return std::nullopt;
  return value.get<std::string>();
}

std::optional<std::int64_t> OptionalInt(const json& value) {
  if (value.is_null()) return std::nullopt;
  return value.get<std::int64_t>();
}

// PROTOCOL.md 5 counter names: [a-z0-9][a-z0-9.-]{0,63}, standard ones or x-...
bool IsValidCounterName(const std::string& name) {
  static const std::set<std::string> kStandard = {
      "total-impressions", "black-impressions", "color-impressions", "print-impressions", "copy-impressions",
      "fax-impressions",   "large-impressions", "scan-images",       "sheets"};
  if (name.empty() || name.size() > 64) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '.' && c != '-'))) return false;
  }
  return kStandard.count(name) == 1 || name.starts_with("x-");
}

// The normalised record names lines it could not parse among its oddities:
// "1 unparseable snmprec line(s) skipped (line [23]), ...".
std::size_t UnparseableLines(const json& normalized) {
  for (const auto& oddity : normalized["oddities"]) {
    const auto text = oddity.get<std::string>();
    const auto at = text.find(" unparseable snmprec line");
    if (at != std::string::npos) return std::stoul(text.substr(0, at));
  }
  return 0;
}

const Supply* FindSupply(const Device& device, std::int64_t index) {
  for (const auto& supply : device.supplies) {
    if (supply.index == index) return &supply;
  }
  return nullptr;
}

void CheckSupplies(const Device& device, const json& normalized) {
  CHECK(device.supplies.size() == normalized["supplies"].size());
  for (const auto& expected : normalized["supplies"]) {
    const auto index = std::stoll(expected["supply_index"].get<std::string>());
    INFO("supply " << expected["index"].get<std::string>());
    const Supply* supply = FindSupply(device, index);
    REQUIRE(supply != nullptr);
    CHECK(supply->description == OptionalString(expected["description"]));
    CHECK(supply->capacity == OptionalInt(expected["max"]));
    CHECK(supply->level == OptionalInt(expected["level"]));
    CHECK(supply->type == OptionalString(expected["type"]));
    CHECK(supply->unit == OptionalString(expected["unit"]));
    CHECK(supply->colorant == OptionalString(expected["colorant"]));
    const auto percent = fleetcomm::protocol::SupplyPercent(supply->level, supply->capacity);
    if (expected["percent"].is_null()) {
      CHECK_FALSE(percent.has_value());
    } else {
      REQUIRE(percent.has_value());
      // The normalised record rounds to 2 decimals.
      CHECK(std::round(*percent * 100.0) / 100.0 == Approx(expected["percent"].get<double>()).margin(1e-9));
    }
    if (expected.contains("part_number")) CHECK(supply->part_number == OptionalString(expected["part_number"]));
    if (expected.contains("supply_serial")) CHECK(supply->serial == OptionalString(expected["supply_serial"]));
  }
}

void CheckCounters(const Device& device, const json& counters) {
  if (counters["marker_life_count"].is_null()) {
    CHECK_FALSE(device.counters.has_value());
    return;
  }
  REQUIRE(device.counters.has_value());
  REQUIRE_FALSE(device.counters->items.empty());
  const auto& life = device.counters->items.front();
  CHECK(life.value == counters["marker_life_count"].get<std::int64_t>());
  const auto unit = OptionalString(counters["marker_counter_unit"]);
  const auto expected_name = unit == "impressions" ? "total-impressions" : unit == "sheets" ? "sheets" : "x-marker-life-count";
  CHECK(life.name == expected_name);
  for (const auto& counter : device.counters->items) {
    CHECK(IsValidCounterName(counter.name));
    CHECK(counter.value >= 0);
  }
}

void CheckStatus(const Device& device, const json& normalized) {
  const auto state = normalized["device_status"].is_null() ? std::nullopt : OptionalString(normalized["device_status"]["name"]);
  const auto printer_status =
      normalized["printer_status"].is_null() ? std::nullopt : OptionalString(normalized["printer_status"]["name"]);
  const auto& alerts = normalized["alerts"];
  if (!device.status) {
    CHECK_FALSE(state.has_value());
    CHECK(alerts.empty());
    return;
  }
  CHECK(device.status->state == state);
  CHECK(device.status->printer_status == printer_status);
  REQUIRE(device.status->alerts.size() == alerts.size());
  for (std::size_t i = 0; i < alerts.size(); ++i) {
    const auto& alert = device.status->alerts[i];
    INFO("alert " << alerts[i]["index"].get<std::string>());
    CHECK(alert.code == alerts[i]["code"].get<std::string>());
    CHECK(alert.severity == fleetcomm::tools::ReportSeverity(alerts[i]["severity_code"].get<std::int64_t>()));
    CHECK(alert.group == OptionalString(alerts[i]["group"]));
    const auto description = alerts[i]["description"].get<std::string>();
    CHECK(alert.description == (description.empty() ? std::nullopt : std::optional(description)));
  }
}

// The report for this device is well-formed XML that says what the device says.
void CheckWrittenReport(const Device& device) {
  const auto xml = fleetcomm::tools::WriteReportXml(
      fleetcomm::tools::DeviceReport(device, "5d1c3f7e-0d2a-4c53-9a57-5e5b0f1f2a10", "2026-11-24T03:00:00Z"));
  pugi::xml_document document;
  const auto parsed = document.load_string(xml.c_str());
  INFO(parsed.description());
  REQUIRE(parsed);
  const auto written = document.child("Report").child("Device");
  CHECK(written.attribute("serial").value() == device.serial);
  CHECK(written.attribute("model").value() == device.model);
  CHECK(static_cast<std::size_t>(std::distance(written.child("Supplies").children("Supply").begin(),
                                               written.child("Supplies").children("Supply").end())) ==
        device.supplies.size());
}

}  // namespace

TEST_CASE("every printer recording converts to what its normalised record says", "[fixtures]") {
  INFO("the printer fixtures live in " << kPrinters);
  REQUIRE(fs::is_directory(kPrinters));
  const auto index = LoadJson(kPrinters / "index.json");
  REQUIRE(index["records"].size() >= 13);

  for (const auto& record : index["records"]) {
    const auto id = record["id"].get<std::string>();
    INFO("printer " << id);
    const auto raw = kPrinters / "raw" / (id + ".snmprec");
    REQUIRE(fs::is_regular_file(raw));
    const auto normalized = LoadJson(kPrinters / "normalized" / (id + ".json"));
    const auto recording = SnmpRecording::Load(raw);
    CHECK(recording.Size() > 0);
    CHECK(recording.Skipped().size() == UnparseableLines(normalized));
    const auto device = ReadPrinter(recording, {std::nullopt, id});

    CHECK(device.manufacturer == normalized["vendor"].get<std::string>());
    if (const auto serial = OptionalString(normalized["serial"])) {
      CHECK(device.serial == *serial);
    } else {
      CHECK(device.serial == PlaceholderSerial(id));
    }
    if (const auto model = OptionalString(normalized["model"])) CHECK(device.model == *model);
    const auto firmware = device.identity ? device.identity->firmware : std::nullopt;
    CHECK(firmware == OptionalString(normalized["firmware"]));
    CHECK((device.network ? device.network->mac : std::nullopt) == OptionalString(normalized["mac"]));
    CHECK((device.network ? device.network->ip : std::nullopt) == OptionalString(normalized["ip"]));
    CheckSupplies(device, normalized);
    CheckCounters(device, normalized["counters"]);
    CheckStatus(device, normalized);
    CheckWrittenReport(device);
  }
}

TEST_CASE("a recording without a serial takes the caller's, else a stable placeholder", "[fixtures]") {
  const auto recording = SnmpRecording::Parse(
      "1.3.6.1.2.1.1.1.0|4|Canon TM-5300 /P\n1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.1602.4.7\n");
  CHECK(ReadPrinter(recording, {std::string("CAN-1"), "canon"}).serial == "CAN-1");
  CHECK(ReadPrinter(recording, {std::nullopt, "canon tm_5300"}).serial == "REC-canon-tm-5300");
  CHECK(ReadPrinter(recording, {std::nullopt, "x"}).manufacturer == "Canon");
  CHECK(ReadPrinter(recording, {std::nullopt, "x"}).model == "TM-5300 /P");
}

TEST_CASE("alert codes outside the Printer-MIB keep their number", "[fixtures]") {
  const auto recording = SnmpRecording::Parse(
      "1.3.6.1.2.1.43.18.1.1.2.1.1|2|3\n"
      "1.3.6.1.2.1.43.18.1.1.4.1.1|2|99\n"
      "1.3.6.1.2.1.43.18.1.1.7.1.1|2|40000\n"
      "1.3.6.1.2.1.43.18.1.1.8.1.1|4x|4a616d20e9\n");
  const auto device = ReadPrinter(recording, {std::nullopt, "x"});
  REQUIRE(device.status.has_value());
  REQUIRE(device.status->alerts.size() == 1);
  const auto& alert = device.status->alerts.front();
  CHECK(alert.code == "undefined(40000)");
  CHECK(alert.severity == "critical");
  CHECK_FALSE(alert.group.has_value());                  // 99 is no PrtAlertGroupTC value
  CHECK(alert.description == std::string("Jam \xC3\xA9"));  // Latin-1 e-acute, as UTF-8
}
