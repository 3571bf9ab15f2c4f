// Real printers end to end: every SNMP recording in ../shared/fixtures/printers becomes a
// device in one agent report, goes through the upload route, and comes back through the
// operator API with the supplies, levels, capacities, percentages and counters that the
// independent normalised reading of the same recording states.
#include "tests/support/fleet_actors.hpp"
#include "tests/support/temp_dir.hpp"
#include "tools/printer_recording.hpp"
#include "tools/report_writer.hpp"
#include "tools/snmprec.hpp"
#include "tools/zip_writer.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;
namespace protocol = fleetcomm::protocol;
namespace testing = fleetcomm::testing;
namespace tools = fleetcomm::tools;
using nlohmann::json;

namespace {

const fs::path kPrinters = fs::path(FLEETCOMM_SHARED_DIR) / "fixtures" / "printers";

json LoadJson(const fs::path& path) {
  std::ifstream in(path);
  REQUIRE(in.good());
  return json::parse(in);
}

const json* FindSupply(const json& supplies, std::int64_t index) {
  for (const auto& supply : supplies) {
    if (supply["index"] == index) return &supply;
  }
  return nullptr;
}

void CheckDeviceAgainstRecord(const json& shown, const json& normalized) {
  for (const auto& expected : normalized["supplies"]) {
    const auto index = std::stoll(expected["supply_index"].get<std::string>());
    INFO("supply " << index);
    const json* supply = FindSupply(shown["supplies"], index);
    REQUIRE(supply != nullptr);
    CHECK((*supply)["level"] == expected["level"]);
    CHECK((*supply)["capacity"] == expected["max"]);
    if (expected["percent"].is_null()) {
      CHECK((*supply)["percent"].is_null());
    } else {
      REQUIRE((*supply)["percent"].is_number());
      CHECK((*supply)["percent"].get<double>() == Approx(expected["percent"].get<double>()).margin(0.005));
    }
    if (expected["type"].is_string()) CHECK((*supply)["type"] == expected["type"]);
    if (expected["colorant"].is_string()) CHECK((*supply)["colorant"] == expected["colorant"]);
  }
  CHECK(shown["supplies"].size() == normalized["supplies"].size());
  const json& life = normalized["counters"]["marker_life_count"];
  if (life.is_null()) {
    CHECK(shown["counters"].empty());
  } else {
    bool found = false;
    for (const auto& counter : shown["counters"]) found = found || counter["value"] == life;
    CHECK(found);
  }
}

}  // namespace

TEST_CASE("fixtures: every recorded printer goes through an agent upload and back", "[e2e][uploads][fixtures]") {
  INFO("the printer fixtures live in " << kPrinters);
  REQUIRE(fs::is_directory(kPrinters));
  const json index = LoadJson(kPrinters / "index.json");
  REQUIRE(index["records"].size() >= 13);

  protocol::Report report;
  report.id = "0f1c3f7e-0d2a-4c53-9a57-5e5b0f1f2a10";
  report.generated_at = "2026-11-24T03:00:00Z";
  report.source = protocol::ReportSource::kAgent;
  report.agent = protocol::AgentInfo{"agent-lite", "5.6.1", protocol::SecurityMode::kNormal, {}, std::nullopt,
                                     std::nullopt};
  std::vector<std::string> ids;
  for (const auto& record : index["records"]) {
    const std::string id = record["id"];
    const auto recording = tools::SnmpRecording::Load(kPrinters / "raw" / (id + ".snmprec"));
    report.devices.push_back(tools::ReadPrinter(recording, {std::nullopt, id}));
    ids.push_back(id);
  }

  testing::RunningFleetcomm fleetcomm;
  const std::string admin = testing::CreateOperatorToken(fleetcomm, {"--role", "admin"});
  const std::string account = testing::CreateAccount(fleetcomm, admin);
  testing::TempDir dir;
  const auto agent = testing::EnrollTestAgent(fleetcomm, admin, account, dir.path());
  const auto uploaded =
      testing::PostUpload(fleetcomm, agent.files, tools::WriteZip({{"report.xml", tools::WriteReportXml(report)}}));
  INFO(uploaded.Describe());
  REQUIRE(uploaded.status == 201);
  const json answer = json::parse(uploaded.body);
  REQUIRE(answer["devices"].size() == ids.size());
  for (const auto& device : answer["devices"]) CHECK(device["status"] == "accepted");

  for (std::size_t i = 0; i < ids.size(); ++i) {
    INFO("printer " << ids[i]);
    const auto& sent = report.devices[i];
    const json listed = testing::OperatorCall(fleetcomm, admin, "GET", "/api/v1/devices?serial=" + sent.serial, 200);
    REQUIRE(listed["items"].size() == 1);
    const json shown = testing::OperatorCall(fleetcomm, admin, "GET",
                                             "/api/v1/devices/" + listed["items"][0]["id"].get<std::string>(), 200);
    CHECK(shown["account_id"] == account);
    CHECK(shown["manufacturer"] == sent.manufacturer);
    CHECK(shown["model"] == sent.model);
    CheckDeviceAgainstRecord(shown, LoadJson(kPrinters / "normalized" / (ids[i] + ".json")));
  }
}
