#include <catch2/catch.hpp>
#include <pugixml.hpp>

#include <string>
#include <vector>

#include "tools/report_writer.hpp"

namespace protocol = fleetcomm::protocol;
using fleetcomm::tools::EscapeAttribute;
using fleetcomm::tools::ReportWriteError;
using fleetcomm::tools::WriteReportXml;

namespace {

protocol::Device FullDevice(const std::string& serial) {
  protocol::Device device;
  device.serial = serial;
  device.manufacturer = "Xerox";
  device.model = "AltaLink C8155";
  device.device_class = "office";
  device.disabled_actions = {"restart", "upgrade_software"};
  device.identity = protocol::Identity{"121.010.003.12345", "2024-02-01", "3rd floor", "prn-3f"};
  device.modules = {{"controller", "C1", "1.2", "2024-02-01"}};
  device.network = protocol::Network{"9c:93:4e:01:02:03", "10.1.2.50", "255.255.255.0", "prn-3f.corp"};
  device.properties = {{"color", "true"}, {"speedPpm", "55"}};
  protocol::Status status;
  status.state = "warning";
  status.printer_status = "idle";
  status.uptime_seconds = 86400;
  status.alerts = {{"09-582-00", "warning", "marker", std::nullopt, "Black toner low", "2026-11-24T02:10:00Z"}};
  device.status = status;
  device.faults = {{"75-530-00", "2026-11-20T10:00:00Z", "tray 3", "Paper jam"}};
  device.counters = protocol::Counters{"2026-11-24T03:00:00Z",
                                       {{"total-impressions", 123456, std::nullopt},
                                        {"black-impressions", 9223372036854775807, "2026-01-01T00:00:00Z"}}};
  protocol::Supply supply;
  supply.index = 1;
  supply.type = "tonerCartridge";
  supply.colorant = "black";
  supply.description = "Black Toner Cartridge";
  supply.part_number = "006R01746";
  supply.serial = "TC0001";
  supply.unit = "percent";
  supply.capacity = 100;
  supply.level = -3;
  supply.state = "low";
  device.supplies = {supply};
  device.usage = {{"hfsi.fuser.count", "120000"}};
  return device;
}

std::vector<std::string> ChildNames(const pugi::xml_node& node) {
  std::vector<std::string> names;
  for (const auto& child : node.children()) names.emplace_back(child.name());
  return names;
}

pugi::xml_document Parse(const std::string& xml) {
  pugi::xml_document document;
  const auto result = document.load_string(xml.c_str());
  INFO(result.description() << "\n" << xml);
  REQUIRE(result);
  return document;
}

}  // namespace

TEST_CASE("attribute values are escaped so that they read back unchanged", "[report_writer]") {
  CHECK(EscapeAttribute("a&b<c>d\"e'f") == "a&amp;b&lt;c&gt;d&quot;e'f");
  CHECK(EscapeAttribute("tab\tlf\ncr\r") == "tab&#9;lf&#10;cr&#13;");
  CHECK(EscapeAttribute("caf\xc3\xa9") == "caf\xc3\xa9");
  CHECK_THROWS_AS(EscapeAttribute("bell\x07"), ReportWriteError);
  CHECK_THROWS_AS(EscapeAttribute("latin1 \xe9"), ReportWriteError);
  CHECK_THROWS_AS(EscapeAttribute("\xef\xbf\xbe"), ReportWriteError);

  protocol::Report report{"5d1c3f7e-0d2a-4c53-9a57-5e5b0f1f2a10", "2026-11-24T03:00:00Z",
                          protocol::ReportSource::kDevice, std::nullopt, {FullDevice("S1")}};
  const std::string tricky = "Tray \"2\" <A4> & more\tand\nlines\r ";
  report.devices[0].supplies[0].description = tricky;
  const auto document = Parse(WriteReportXml(report));
  const auto supply = document.child("Report").child("Device").child("Supplies").child("Supply");
  CHECK(std::string(supply.attribute("description").value()) == tricky);
}

TEST_CASE("a device report has every attribute of the model, in the order of PROTOCOL.md 5", "[report_writer]") {
  const protocol::Report report{"5d1c3f7e-0d2a-4c53-9a57-5e5b0f1f2a10", "2026-11-24T03:00:00Z",
                                protocol::ReportSource::kDevice, std::nullopt, {FullDevice("XRX123456")}};
  const auto document = Parse(WriteReportXml(report));
  const auto root = document.child("Report");
  REQUIRE(root);
  CHECK(std::string(root.attribute("xmlns").value()) == "urn:fleetcomm:report:1");
  CHECK(std::string(root.attribute("id").value()) == report.id);
  CHECK(std::string(root.attribute("generatedAt").value()) == report.generated_at);
  CHECK(std::string(root.attribute("source").value()) == "device");
  CHECK_FALSE(root.child("Agent"));

  const auto device = root.child("Device");
  CHECK(std::string(device.attribute("serial").value()) == "XRX123456");
  CHECK(std::string(device.attribute("manufacturer").value()) == "Xerox");
  CHECK(std::string(device.attribute("class").value()) == "office");
  CHECK(std::string(device.attribute("disabledActions").value()) == "restart upgrade_software");
  CHECK(ChildNames(device) == std::vector<std::string>{"Identity", "Modules", "Network", "Properties", "Status",
                                                       "FaultHistory", "Counters", "Supplies", "Usage"});
  CHECK(std::string(device.child("Identity").attribute("systemName").value()) == "prn-3f");
  CHECK(std::string(device.child("Modules").child("Module").attribute("installDate").value()) == "2024-02-01");
  CHECK(std::string(device.child("Network").attribute("dnsName").value()) == "prn-3f.corp");
  CHECK(std::string(device.child("Properties").last_child().attribute("value").value()) == "55");
  const auto status = device.child("Status");
  CHECK(std::string(status.attribute("printerStatus").value()) == "idle");
  CHECK(std::string(status.attribute("uptimeSeconds").value()) == "86400");
  const auto alert = status.child("Alert");
  CHECK(std::string(alert.attribute("code").value()) == "09-582-00");
  CHECK(std::string(alert.attribute("at").value()) == "2026-11-24T02:10:00Z");
  CHECK_FALSE(alert.attribute("location"));  // absent optionals are not written
  CHECK(std::string(device.child("FaultHistory").child("Fault").attribute("component").value()) == "tray 3");
  const auto counters = device.child("Counters");
  CHECK(std::string(counters.attribute("readAt").value()) == "2026-11-24T03:00:00Z");
  CHECK(std::string(counters.last_child().attribute("value").value()) == "9223372036854775807");
  CHECK(std::string(counters.last_child().attribute("resetAt").value()) == "2026-01-01T00:00:00Z");
  const auto supply = device.child("Supplies").child("Supply");
  for (const auto& [name, value] : std::vector<std::pair<std::string, std::string>>{
           {"index", "1"}, {"type", "tonerCartridge"}, {"colorant", "black"}, {"partNumber", "006R01746"},
           {"serial", "TC0001"}, {"unit", "percent"}, {"capacity", "100"}, {"level", "-3"}, {"state", "low"}}) {
    INFO(name);
    CHECK(std::string(supply.attribute(name.c_str()).value()) == value);
  }
  CHECK(std::string(device.child("Usage").child("Item").attribute("name").value()) == "hfsi.fuser.count");
}

TEST_CASE("an agent report carries its host, policy events and many devices", "[report_writer]") {
  protocol::Report report;
  report.id = "0a1b2c3d-0000-4000-8000-000000000001";
  report.generated_at = "2026-11-24T03:00:00Z";
  report.source = protocol::ReportSource::kAgent;
  protocol::AgentInfo agent;
  agent.product = "agent-lite";
  agent.version = "5.6.1";
  agent.security_mode = protocol::SecurityMode::kLockdown;
  agent.disabled_actions = {"restart"};
  protocol::Host host;
  host.dns_name = "pc-17.corp";
  host.ram_total_mb = 16384;
  host.printers_out_of_scope = 3;
  agent.host = host;
  protocol::PolicyEvent event;
  event.user = "jdoe";
  event.action_taken = "forced duplex";
  agent.policy_events = std::vector<protocol::PolicyEvent>{event};
  report.agent = agent;
  for (int i = 0; i < 3; ++i) report.devices.push_back(FullDevice("S" + std::to_string(i)));
  protocol::Job job;
  job.id = "j1";
  job.document_name = "Q3 <draft>.pdf";
  job.pages = 12;
  job.duplex = true;
  report.devices[1].job_log = std::vector<protocol::Job>{job};
  report.devices[2].job_log = std::vector<protocol::Job>{};  // present but empty

  const auto document = Parse(WriteReportXml(report));
  const auto root = document.child("Report");
  CHECK(std::string(root.attribute("source").value()) == "agent");
  CHECK(ChildNames(root) == std::vector<std::string>{"Agent", "Device", "Device", "Device"});
  const auto agent_node = root.child("Agent");
  CHECK(std::string(agent_node.attribute("securityMode").value()) == "lockdown");
  CHECK(std::string(agent_node.attribute("disabledActions").value()) == "restart");
  CHECK(std::string(agent_node.child("Host").attribute("ramTotalMB").value()) == "16384");
  CHECK(std::string(agent_node.child("Host").attribute("printersOutOfScope").value()) == "3");
  CHECK(std::string(agent_node.last_child().name()) == "PolicyEvents");
  CHECK(std::string(agent_node.child("PolicyEvents").child("Event").attribute("actionTaken").value()) ==
        "forced duplex");

  std::vector<pugi::xml_node> devices(root.children("Device").begin(), root.children("Device").end());
  REQUIRE(devices.size() == 3);
  CHECK(std::string(devices[2].attribute("serial").value()) == "S2");
  CHECK_FALSE(devices[0].child("JobLog"));
  CHECK(std::string(devices[1].last_child().name()) == "JobLog");
  const auto written_job = devices[1].child("JobLog").child("Job");
  CHECK(std::string(written_job.attribute("documentName").value()) == "Q3 <draft>.pdf");
  CHECK(std::string(written_job.attribute("pages").value()) == "12");
  CHECK(std::string(written_job.attribute("duplex").value()) == "true");
  CHECK(std::string(devices[2].last_child().name()) == "JobLog");
  CHECK_FALSE(devices[2].child("JobLog").first_child());
}

TEST_CASE("a report without devices is still a complete document", "[report_writer]") {
  const protocol::Report report{"0a1b2c3d-0000-4000-8000-000000000002", "2026-11-24T03:00:00Z",
                                protocol::ReportSource::kAgent,
                                protocol::AgentInfo{"agent-lite", "5.6.1", {}, {}, std::nullopt, std::nullopt}, {}};
  const auto document = Parse(WriteReportXml(report));
  CHECK(ChildNames(document.child("Report")) == std::vector<std::string>{"Agent"});
  CHECK(std::string(document.child("Report").child("Agent").attribute("securityMode").value()) == "normal");
  CHECK_FALSE(document.child("Report").child("Agent").attribute("disabledActions"));
}
