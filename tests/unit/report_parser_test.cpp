#include "protocol/protocol_error.hpp"
#include "protocol/report_parser.hpp"
#include "tests/unit/report_documents.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace fleetcomm::protocol;
using fleetcomm::testing::AgentDoc;
using fleetcomm::testing::DeviceDoc;
using fleetcomm::testing::ProtocolExample;
using fleetcomm::testing::ReportDoc;

namespace {

std::string Refusal(const std::string& xml) {
  try {
    ParseReport(xml);
  } catch (const ProtocolError& error) {
    CHECK(error.code() == ErrorCode::kInvalidReport);
    return error.what();
  }
  FAIL("the report was accepted");
  return {};
}

bool Contains(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

const std::string kAgent = R"(<Agent product="a" version="1"/>)";

}  // namespace

TEST_CASE("the PROTOCOL.md example maps to the typed report", "[protocol][report]") {
  const Report report = ParseReport(ProtocolExample());
  CHECK(report.id == "5d1c3f7e-0d2a-4c53-9a57-5e5b0f1f2a10");
  CHECK(report.generated_at == "2026-11-24T03:00:00Z");
  CHECK(report.source == ReportSource::kAgent);
  REQUIRE(report.agent);
  CHECK(report.agent->product == "agent-lite");
  CHECK(report.agent->version == "5.6.1");
  CHECK(report.agent->security_mode == SecurityMode::kNormal);
  CHECK(report.agent->disabled_actions == std::vector<std::string>{"restart"});
  REQUIRE(report.agent->host);
  CHECK(report.agent->host->dns_name == "pc-17.corp");
  CHECK(report.agent->host->ip == "10.1.2.3");
  CHECK(report.agent->host->os_version == "2022");
  CHECK(report.agent->host->timezone == "Europe/Paris");
  CHECK(report.agent->host->ram_total_mb == 16384);
  CHECK(report.agent->host->disk_free_mb == 300000);
  CHECK(report.agent->host->printers_out_of_scope == 3);
  CHECK_FALSE(report.agent->policy_events);

  REQUIRE(report.devices.size() == 1);
  const Device& device = report.devices.front();
  CHECK(device.serial == "XRX123456");
  CHECK(device.manufacturer == "Xerox");
  CHECK(device.model == "AltaLink C8155");
  CHECK(device.device_class == "office");
  CHECK(device.disabled_actions.empty());
  REQUIRE(device.identity);
  CHECK(device.identity->firmware == "121.010.003.12345");
  CHECK(device.identity->install_date == "2024-02-01");
  CHECK(device.identity->location == "3rd floor");
  CHECK(device.identity->system_name == "prn-3f");
  REQUIRE(device.modules.size() == 1);
  CHECK(device.modules[0].name == "controller");
  CHECK(device.modules[0].serial == "C1");
  REQUIRE(device.network);
  CHECK(device.network->mac == "9c:93:4e:01:02:03");
  CHECK(device.network->ip == "10.1.2.50");
  CHECK(device.network->subnet == "255.255.255.0");
  REQUIRE(device.properties.size() == 2);
  CHECK(device.properties[1].name == "speedPpm");
  CHECK(device.properties[1].value == "55");
  REQUIRE(device.status);
  CHECK(device.status->state == "warning");
  CHECK(device.status->printer_status == "idle");
  CHECK(device.status->uptime_seconds == 86400);
  REQUIRE(device.status->alerts.size() == 1);
  CHECK(device.status->alerts[0].code == "09-582-00");
  CHECK(device.status->alerts[0].severity == "warning");
  CHECK(device.status->alerts[0].group == "marker");
  CHECK(device.status->alerts[0].description == "Black toner low");
  CHECK(device.status->alerts[0].at == "2026-11-24T02:10:00Z");
  CHECK_FALSE(device.status->alerts[0].location);
  REQUIRE(device.faults.size() == 1);
  CHECK(device.faults[0].code == "75-530-00");
  CHECK(device.faults[0].component == "tray 3");
  REQUIRE(device.counters);
  CHECK(device.counters->read_at == "2026-11-24T03:00:00Z");
  REQUIRE(device.counters->items.size() == 3);
  CHECK(device.counters->items[0].name == "total-impressions");
  CHECK(device.counters->items[0].value == 123456);
  CHECK(device.counters->items[2].name == "color-impressions");
  CHECK(device.counters->items[2].value == 23456);
  CHECK_FALSE(device.counters->items[0].reset_at);
  REQUIRE(device.supplies.size() == 1);
  const Supply& supply = device.supplies[0];
  CHECK(supply.index == 1);
  CHECK(supply.type == "tonerCartridge");
  CHECK(supply.colorant == "black");
  CHECK(supply.part_number == "006R01746");
  CHECK(supply.serial == "TC0001");
  CHECK(supply.unit == "percent");
  CHECK(supply.capacity == 100);
  CHECK(supply.level == 12);
  CHECK(supply.state == "low");
  REQUIRE(device.usage.size() == 1);
  CHECK(device.usage[0].name == "hfsi.fuser.count");
  CHECK(device.usage[0].value == "120000");
  CHECK_FALSE(device.job_log);
}

TEST_CASE("no DOCTYPE, hence no entity of any kind", "[protocol][report]") {
  const std::string laughs =
      "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;&lol;\">]>\n" +
      ReportDoc("<Device serial=\"&lol2;\" manufacturer=\"x\" model=\"y\"/>");
  const std::string message = Refusal(laughs);
  CHECK(Contains(message, "line 2"));
  CHECK(Contains(message, "DOCTYPE"));
  CHECK(Contains(Refusal("<!DOCTYPE Report SYSTEM \"file:///etc/passwd\">\n" + DeviceDoc("")), "DOCTYPE"));
  CHECK(Contains(Refusal("<!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>" + DeviceDoc("")), "DOCTYPE"));
  CHECK(Contains(Refusal("<!-- x -->\n<!doctype Report>" + DeviceDoc("")), "line 2"));
  // Without a DOCTYPE an entity is simply undefined.
  CHECK(Contains(Refusal(DeviceDoc("", " location=\"&lol;\"")), "undefined entity"));
  CHECK(Contains(Refusal(DeviceDoc("", " location=\"a & b\"")), "'&'"));
  // A DOCTYPE-like string inside a comment or an attribute is not one.
  CHECK_NOTHROW(ParseReport("<!-- <!DOCTYPE x> -->" + DeviceDoc("", " x-note=\"&lt;!DOCTYPE\"")));
}

TEST_CASE("nesting is bounded before any tree is built", "[protocol][report]") {
  std::string deep;
  for (int i = 0; i < 100000; ++i) deep += "<v:x>";
  for (int i = 0; i < 100000; ++i) deep += "</v:x>";
  const std::string message = Refusal(ReportDoc("<Device serial=\"s\" manufacturer=\"m\" model=\"o\" "
                                                "xmlns:v=\"urn:vendor\">" + deep + "</Device>"));
  CHECK(Contains(message, "nesting deeper than 16"));

  // Report and Device are two levels: fourteen vendor levels fit, fifteen do not.
  const auto vendor_chain = [](int levels) {
    std::string open, close;
    for (int i = 0; i < levels; ++i) open += "<v:x>", close = "</v:x>" + close;
    return "<Device serial=\"s\" manufacturer=\"m\" model=\"o\" xmlns:v=\"urn:vendor\">" + open + close + "</Device>";
  };
  CHECK_NOTHROW(ParseReport(ReportDoc(vendor_chain(14))));
  CHECK(Contains(Refusal(ReportDoc(vendor_chain(15))), "element v:x: nesting deeper than 16"));
}

TEST_CASE("attribute values are at most 4096 bytes", "[protocol][report]") {
  CHECK_NOTHROW(ParseReport(DeviceDoc("", " note=\"" + std::string(4096, 'a') + "\"")));
  const std::string message = Refusal(DeviceDoc("", " note=\"" + std::string(4097, 'a') + "\""));
  CHECK(Contains(message, "line 3, element Device: attribute note is longer than 4096 bytes"));
  // Counted as stored: a reference is one character.
  std::string escaped;
  for (int i = 0; i < 4096; ++i) escaped += "&amp;";
  CHECK_NOTHROW(ParseReport(DeviceDoc("", " note=\"" + escaped + "\"")));
  // 50 MB: refused by the prescan, which never copies it.
  std::string huge = R"(<Report xmlns="urn:fleetcomm:report:1" id="0b8c7a52-3f7e-4a7b-9f65-1d2e3c4b5a69" )"
                     R"(generatedAt="2026-11-24T03:00:00Z" source="device"><Device serial="s" manufacturer="m" )"
                     R"(model="o" note=")";
  huge.resize(huge.size() + 50 * 1000 * 1000, 'x');
  huge += "\"/></Report>";
  CHECK(Contains(Refusal(huge), "longer than 4096 bytes"));
}

TEST_CASE("UTF-8 and XML characters are validated over the raw input", "[protocol][report]") {
  for (const std::string& bad : std::vector<std::string>{"\xC0\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xFF", "\xE2\x82", "\x01", "\x7F\x1B",
                                std::string(1, '\0'), "\xEF\xBF\xBE"}) {
    const std::string message = Refusal(DeviceDoc("", " location=\"a" + bad + "b\""));
    CHECK(Contains(message, "line 3: invalid UTF-8 or a character not allowed in XML"));
  }
  for (const char* reference : {"&#0;", "&#1;", "&#x1F;", "&#xD800;", "&#x110000;", "&#xFFFE;", "&#99999999999;", "&#;",
                                "&#xZZ;"}) {
    INFO(reference);
    CHECK(Contains(Refusal(DeviceDoc("", std::string(" location=\"") + reference + "\"")), "line 3"));
  }
  const Report ok = ParseReport(DeviceDoc("", " location=\"caf\xC3\xA9 &#x1F600; &#9; &lt;&gt;&quot;&apos;\""));
  CHECK(ok.devices[0].disabled_actions.empty());
  CHECK_NOTHROW(ParseReport("\xEF\xBB\xBF<?xml version=\"1.0\" encoding=\"utf-8\"?>\n" + DeviceDoc("")));
  CHECK(Contains(Refusal("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n" + DeviceDoc("")), "UTF-8"));
  CHECK(Contains(Refusal("\n<?xml version=\"1.0\"?>" + DeviceDoc("")), "declaration must come first"));
}

TEST_CASE("counters: names and values", "[protocol][report]") {
  const auto counter = [](const std::string& name, const std::string& value) {
    return DeviceDoc("<Counters>\n<Counter name=\"" + name + "\" value=\"" + value + "\"/>\n</Counters>");
  };
  CHECK(ParseReport(counter("total-impressions", "9223372036854775807")).devices[0].counters->items[0].value ==
        9223372036854775807LL);
  CHECK(ParseReport(counter("x-vendor.meter-1", "0")).devices[0].counters->items[0].value == 0);
  for (const char* value : {"9223372036854775808", "18446744073709551616", "-1", "1e3", "+5", " 5", "5 ", "", "0x10",
                            "1.0", "99999999999999999999999"}) {
    INFO(value);
    CHECK(Refusal(counter("sheets", value)) ==
          "line 5, element Counter: attribute value must be an unsigned integer below 2^63");
  }
  for (const std::string& name :
       std::vector<std::string>{"Total-impressions", "vendor-count", "-x", "x_y", "", "x-" + std::string(63, 'a')}) {
    INFO(name);
    CHECK(Contains(Refusal(counter(name, "1")), "element Counter: attribute name must match"));
  }
  CHECK_NOTHROW(ParseReport(counter("x-" + std::string(62, 'a'), "1")));  // 64 characters
  CHECK(Contains(Refusal(DeviceDoc("<Counters><Counter name=\"sheets\"/></Counters>")), "attribute value is required"));
  CHECK(Contains(Refusal(DeviceDoc("<Counters><Counter name=\"sheets\" value=\"1\"/><Counter name=\"sheets\" "
                                   "value=\"2\"/></Counters>")),
                 "appears twice"));
  const Report reset = ParseReport(
      DeviceDoc("<Counters><Counter name=\"sheets\" value=\"1\" resetAt=\"2026-01-01T00:00:00.5+02:00\"/></Counters>"));
  CHECK(reset.devices[0].counters->items[0].reset_at == "2026-01-01T00:00:00.5+02:00");
}

TEST_CASE("namespaces: ours is strict, others are ignored", "[protocol][report]") {
  CHECK(Contains(Refusal(DeviceDoc("<Toner level=\"1\"/>")), "line 4, element Toner: unknown element"));
  CHECK(Contains(Refusal(ReportDoc("<Device serial=\"s\" manufacturer=\"m\" model=\"o\"/><Printer/>")),
                 "element Printer: unknown element"));
  // A vendor extension, with our element names and garbage inside, is skipped.
  const Report vendor = ParseReport(DeviceDoc(
      "<acme:Extra xmlns:acme=\"urn:acme\" acme:flag=\"1\"><Counter name=\"BAD\" value=\"-1\"/>text</acme:Extra>"
      "<Counters><acme:Note xmlns:acme=\"urn:acme\"/><Counter name=\"sheets\" value=\"5\"/></Counters>"));
  REQUIRE(vendor.devices[0].counters);
  CHECK(vendor.devices[0].counters->items.size() == 1);
  // Unknown attributes, qualified or not, are ignored.
  const Report attributes = ParseReport(DeviceDoc("", " firmwareBuild=\"7\" xmlns:acme=\"urn:acme\" acme:x=\"1\""));
  CHECK(attributes.devices[0].serial == "S1");
  // Elements in no namespace are neither ours nor a vendor's.
  CHECK(Contains(Refusal(DeviceDoc("<Extra xmlns=\"\"/>")), "no namespace"));
  // The prefixed form of our namespace is the same document.
  const Report prefixed = ParseReport(
      "<r:Report xmlns:r=\"urn:fleetcomm:report:1\" id=\"0B8C7A52-3F7E-4A7B-9F65-1D2E3C4B5A69\" "
      "generatedAt=\"2026-11-24T03:00:00Z\" source=\"device\"><r:Device serial=\"S\" manufacturer=\"M\" model=\"X\">"
      "<Status xmlns=\"urn:fleetcomm:report:1\" state=\"running\"/></r:Device></r:Report>");
  CHECK(prefixed.id == "0b8c7a52-3f7e-4a7b-9f65-1d2e3c4b5a69");
  CHECK(prefixed.devices[0].status->state == "running");
  CHECK(Contains(Refusal(DeviceDoc("<u:Extra/>")), "prefix u is not declared"));
  CHECK(Contains(Refusal(DeviceDoc("", " u:x=\"1\"")), "undeclared namespace prefix"));
}

TEST_CASE("wrong root, wrong namespace, second root, stray text", "[protocol][report]") {
  const std::string device = "<Device serial=\"s\" manufacturer=\"m\" model=\"o\"/>";
  std::string wrong_ns = ReportDoc(device);
  wrong_ns.replace(wrong_ns.find("report:1"), 8, "report:2");
  CHECK(Contains(Refusal(wrong_ns), "line 1, element Report: the root element must be Report in namespace"));
  std::string no_ns = ReportDoc(device);
  no_ns.replace(no_ns.find(" xmlns="), std::string_view(" xmlns=\"urn:fleetcomm:report:1\"").size(), "");
  CHECK(Contains(Refusal(no_ns), "root element must be Report"));
  CHECK(Contains(Refusal("<Rapport xmlns=\"urn:fleetcomm:report:1\"/>"), "root element must be Report"));
  CHECK(Contains(Refusal(DeviceDoc("") + "<Report/>"), "second root element"));
  CHECK(Contains(Refusal(DeviceDoc("") + "trailing"), "text outside the root element"));
  CHECK(Contains(Refusal("junk" + DeviceDoc("")), "line 1: text outside the root element"));
  CHECK(Contains(Refusal(DeviceDoc("hello")), "text content is not allowed"));
  CHECK(Contains(Refusal(DeviceDoc("<![CDATA[x]]>")), "text content is not allowed"));
  CHECK(Contains(Refusal(""), "no root element"));
  CHECK(Contains(Refusal(DeviceDoc("<Identity>")), "not well formed"));
  CHECK_NOTHROW(ParseReport("<!-- before -->\n" + DeviceDoc("<!-- inside -->") + "<!-- after --><?pi x?>\n"));
  // pugixml accepts these; XML (and so xmllint and the XSD tests) does not.
  CHECK(Contains(Refusal(DeviceDoc("<!-- a -- b -->")), "'--' inside a comment"));
  CHECK(Contains(Refusal(DeviceDoc("<!-- a --->")), "'--' inside a comment"));
  CHECK(Contains(Refusal(DeviceDoc("<v:x xmlns:v=\"urn:v\">a]]>b</v:x>")), "']]>' is not allowed"));
  CHECK(Contains(Refusal(DeviceDoc("<?a:b x?>")), "processing instruction target"));
}

TEST_CASE("duplicate attributes are refused", "[protocol][report]") {
  CHECK(Contains(Refusal(DeviceDoc("<Status state=\"running\" state=\"down\"/>")),
                 "line 4, element Status: duplicate attribute state"));
  CHECK(Contains(Refusal(DeviceDoc("", " xmlns:a=\"urn:v\" xmlns:b=\"urn:v\" a:x=\"1\" b:x=\"2\"")),
                 "duplicate attribute x"));
  CHECK(Contains(Refusal(DeviceDoc("<v:x xmlns:v=\"urn:v\" k=\"1\" k=\"2\"/>")), "duplicate attribute k"));
}

TEST_CASE("required attributes and their values", "[protocol][report]") {
  std::string no_id = DeviceDoc("");
  no_id.replace(no_id.find(" id="), 44, "");
  CHECK(Contains(Refusal(no_id), "line 1, element Report: attribute id is required"));
  CHECK(Contains(Refusal(ReportDoc("", "printer")), "attribute source must be one of: device, agent"));
  CHECK(Contains(Refusal(ReportDoc("<Device manufacturer=\"m\" model=\"o\"/>")), "attribute serial is required"));
  CHECK(Contains(Refusal(ReportDoc("<Device serial=\" \" manufacturer=\"m\" model=\"o\"/>")),
                 "attribute serial must not be empty"));
  CHECK(Contains(Refusal(ReportDoc("<Device serial=\"s\" manufacturer=\"\" model=\"o\"/>")), "manufacturer must not be empty"));
  CHECK(Contains(Refusal(ReportDoc("<Device serial=\"s\" manufacturer=\"m\"/>")), "attribute model is required"));
  CHECK(Contains(Refusal(DeviceDoc("", " class=\"home\"")), "attribute class must be one of: office, production, other"));
  CHECK(Contains(Refusal(DeviceDoc("<Status><Alert code=\"1\"/></Status>")), "attribute severity is required"));
  CHECK(Contains(Refusal(DeviceDoc("<Status><Alert code=\"1\" severity=\"fatal\"/></Status>")), "severity must be one of"));
  CHECK(Contains(Refusal(DeviceDoc("<Status state=\"broken\"/>")), "attribute state must be one of"));
  CHECK(Contains(Refusal(DeviceDoc("<Status printerStatus=\"busy\"/>")), "printerStatus must be one of"));
  CHECK(Contains(Refusal(DeviceDoc("<Supplies><Supply type=\"toner\"/></Supplies>")), "attribute index is required"));
  CHECK(Contains(Refusal(DeviceDoc("<Supplies><Supply index=\"1\" type=\"cartridge\"/></Supplies>")), "type must be one of"));
  CHECK(Contains(Refusal(DeviceDoc("<Supplies><Supply index=\"1\" unit=\"grams\"/></Supplies>")), "unit must be one of"));
  CHECK(Contains(Refusal(DeviceDoc("<Supplies><Supply index=\"1\" capacity=\"-3\"/></Supplies>")),
                 "attribute capacity must be an integer from -2"));
  CHECK(Contains(Refusal(DeviceDoc("<Supplies><Supply index=\"1\" level=\"-4\"/></Supplies>")),
                 "attribute level must be an integer from -3"));
  CHECK(Contains(Refusal(DeviceDoc("<Supplies><Supply index=\"1\" state=\"full\"/></Supplies>")), "state must be one of"));
  const Report mib = ParseReport(DeviceDoc(
      "<Supplies><Supply index=\"2\" type=\"wasteToner\" unit=\"hundrethsOfFluidOunces\" capacity=\"-2\" level=\"-3\"/>"
      "<Supply index=\"3\" type=\"matteInk\" capacity=\"-1\" level=\"-1\"/></Supplies>"));
  CHECK(mib.devices[0].supplies[0].capacity == -2);
  CHECK(mib.devices[0].supplies[0].level == -3);
  CHECK(mib.devices[0].supplies[1].type == "matteInk");
  CHECK(Contains(Refusal(DeviceDoc("<Properties><Property name=\"x\"/></Properties>")), "attribute value is required"));
  CHECK(Contains(Refusal(DeviceDoc("<FaultHistory><Fault at=\"2026-01-01T00:00:00Z\"/></FaultHistory>")),
                 "attribute code is required"));
}

TEST_CASE("ids and times", "[protocol][report]") {
  std::string upper = DeviceDoc("");
  upper.replace(upper.find("0b8c7a52"), 8, "0B8C7A52");
  CHECK(ParseReport(upper).id == "0b8c7a52-3f7e-4a7b-9f65-1d2e3c4b5a69");
  for (const char* id : {"0b8c7a52-3f7e-4a7b-9f65-1d2e3c4b5a6", "0b8c7a523f7e4a7b9f651d2e3c4b5a69",
                         "{0b8c7a52-3f7e-4a7b-9f65-1d2e3c4b5a69}", "0b8c7a52-3f7e-4a7b-9f65-1d2e3c4b5a6g"}) {
    std::string doc = DeviceDoc("");
    doc.replace(doc.find("0b8c7a52-3f7e-4a7b-9f65-1d2e3c4b5a69"), 36, id);
    CHECK(Contains(Refusal(doc), "attribute id must be a UUID"));
  }
  const auto with_time = [](const std::string& time) {
    return DeviceDoc("<Counters readAt=\"" + time + "\"/>");
  };
  for (const char* good : {"2026-11-24T03:00:00Z", "2024-02-29T23:59:59.123456+14:00", "2026-01-01T00:00:00-05:30",
                           "0001-01-01T00:00:00Z"}) {
    INFO(good);
    CHECK(ParseReport(with_time(good)).devices[0].counters->read_at == good);
  }
  for (const char* bad : {"2026-11-24T03:00:00", "2026-11-24 03:00:00Z", "2026-11-24t03:00:00z", "2025-02-29T00:00:00Z",
                          "2026-13-01T00:00:00Z", "2026-11-24T24:00:00Z", "2026-11-24T03:00:60Z",
                          "2026-11-24T03:00:00+15:00", "2026-11-24T03:00:00.Z", "2026-11-24", "0000-01-01T00:00:00Z",
                          "2026-11-24T03:00:00+0100"}) {
    INFO(bad);
    CHECK(Contains(Refusal(with_time(bad)), "element Counters: attribute readAt must be an RFC 3339 time"));
  }
}

TEST_CASE("source, Agent and Device cardinality", "[protocol][report]") {
  CHECK(Contains(Refusal(ReportDoc(kAgent + "<Device serial=\"s\" manufacturer=\"m\" model=\"o\"/>")),
                 "element Agent: not allowed when source is device"));
  CHECK(Contains(Refusal(ReportDoc("")), "a Device element is required when source is device"));
  CHECK(Contains(Refusal(ReportDoc("<Device serial=\"a\" manufacturer=\"m\" model=\"o\"/>"
                                   "<Device serial=\"b\" manufacturer=\"m\" model=\"o\"/>")),
                 "at most 1 Device"));
  CHECK(Contains(Refusal(ReportDoc("<Device serial=\"s\" manufacturer=\"m\" model=\"o\"/>", "agent")),
                 "an Agent element is required when source is agent"));
  CHECK(Contains(Refusal(AgentDoc(kAgent + kAgent)), "element Agent: may appear only once"));

  const Report empty_agent = ParseReport(AgentDoc(kAgent));
  CHECK(empty_agent.devices.empty());
  CHECK(empty_agent.agent->security_mode == SecurityMode::kNormal);

  std::string many;
  for (int i = 0; i < 10000; ++i) many += "<Device serial=\"s" + std::to_string(i) + "\" manufacturer=\"m\" model=\"o\"/>\n";
  CHECK(ParseReport(AgentDoc(kAgent, many)).devices.size() == 10000);
  many += "<Device serial=\"one-more\" manufacturer=\"m\" model=\"o\"/>";
  CHECK(Contains(Refusal(AgentDoc(kAgent, many)), "line 10004, element Device: a report from a agent holds at most 10000"));

  CHECK(Contains(Refusal(AgentDoc(kAgent, "<Device serial=\"s\" manufacturer=\"Xerox\" model=\"o\"/>"
                                          "<Device serial=\"s\" manufacturer=\" XEROX \" model=\"p\"/>")),
                 "the same device appears twice"));
  CHECK(ParseReport(AgentDoc(kAgent, "<Device serial=\"s\" manufacturer=\"Xerox\" model=\"o\"/>"
                                     "<Device serial=\"s\" manufacturer=\"Canon\" model=\"p\"/>"))
            .devices.size() == 2);
}

TEST_CASE("disabled actions, lockdown and the personal-data sections", "[protocol][report]") {
  const Report report = ParseReport(AgentDoc(
      "<Agent securityMode=\"lockdown\" disabledActions=\"restart  upgrade_software\trestart\">"
      "<Host ip=\"10.0.0.1\" dnsName=\"h\"/>"
      "<PolicyEvents><Event at=\"2026-11-24T01:00:00Z\" user=\"bob\" cost=\"0.12\"/></PolicyEvents></Agent>",
      "<Device serial=\"s\" manufacturer=\"m\" model=\"o\" disabledActions=\"get_status\">"
      "<Network ip=\"10.0.0.2\" mac=\"aa\"/>"
      "<JobLog><Job id=\"7\" pages=\"3\" duplex=\"true\" submittedAt=\"2026-11-24T00:00:00Z\"/><Job duplex=\"0\"/></JobLog>"
      "</Device>"));
  REQUIRE(report.agent);
  CHECK(report.agent->security_mode == SecurityMode::kLockdown);
  CHECK(report.agent->disabled_actions == std::vector<std::string>{"restart", "upgrade_software"});
  CHECK_FALSE(report.agent->host->ip);  // dropped in lockdown
  CHECK(report.agent->host->dns_name == "h");
  REQUIRE(report.agent->policy_events);
  CHECK(report.agent->policy_events->at(0).user == "bob");
  const Device& device = report.devices[0];
  CHECK(device.disabled_actions == std::vector<std::string>{"get_status"});
  CHECK_FALSE(device.network->ip);
  CHECK(device.network->mac == "aa");
  REQUIRE(device.job_log);
  REQUIRE(device.job_log->size() == 2);
  CHECK(device.job_log->at(0).pages == 3);
  CHECK(device.job_log->at(0).duplex == true);
  CHECK(device.job_log->at(1).duplex == false);

  CHECK(Contains(Refusal(DeviceDoc("", " disabledActions=\"restart reboot\"")),
                 "attribute disabledActions names an unknown action type reboot"));
  CHECK(Contains(Refusal(AgentDoc("<Agent securityMode=\"paranoid\"/>")), "securityMode must be one of"));
  CHECK(Contains(Refusal(DeviceDoc("<JobLog/><Counters/>")), "element Counters: no element may follow JobLog"));
  CHECK(Contains(Refusal(DeviceDoc("<JobLog/><v:x xmlns:v=\"urn:v\"/>")), "no element may follow JobLog"));
  CHECK(Contains(Refusal(AgentDoc("<Agent><PolicyEvents/><Host/></Agent>")), "no element may follow PolicyEvents"));
  CHECK(Contains(Refusal(DeviceDoc("<Status/><Status/>")), "element Status: may appear only once"));
  CHECK(Contains(Refusal(DeviceDoc("<JobLog><Job duplex=\"yes\"/></JobLog>")), "duplex must be true or false"));
  CHECK(ParseReport(DeviceDoc("<JobLog/>")).devices[0].job_log->empty());
}

TEST_CASE("messages carry the line of the offending element", "[protocol][report]") {
  const std::string doc = DeviceDoc("    <Counters>\n"
                                    "      <Counter name=\"sheets\" value=\"1\"/>\n"
                                    "      <Counter name=\"total-impressions\"\n"
                                    "               value=\"1e3\"/>\n"
                                    "    </Counters>");
  CHECK(Refusal(doc) == "line 6, element Counter: attribute value must be an unsigned integer below 2^63");
  CHECK(Contains(Refusal(DeviceDoc("\n\n<Identity></Identiti>")), "line 6: XML is not well formed"));
  std::string crlf = doc;
  for (std::size_t at = crlf.find('\n'); at != std::string::npos; at = crlf.find('\n', at + 2)) crlf.insert(at, "\r");
  CHECK(Refusal(crlf) == "line 6, element Counter: attribute value must be an unsigned integer below 2^63");
}
