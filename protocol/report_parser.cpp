#include "protocol/report_parser.hpp"

#include <pugixml.hpp>

#include <set>
#include <utility>

#include "protocol/protocol_error.hpp"
#include "protocol/report_device.hpp"
#include "protocol/report_mapping.hpp"
#include "protocol/report_values.hpp"
#include "protocol/xml_prescan.hpp"

namespace fleetcomm::protocol {
namespace {

using detail::ChildRule;
using detail::MapChildren;
using detail::MapNoChildren;
using xml::Element;

constexpr std::size_t kMaxAgentDevices = 10000;
constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

[[noreturn]] void FailAtOffset(std::string_view text, std::ptrdiff_t offset, const std::string& what) {
  const std::size_t line = offset < 0 ? 1 : xml::LineAt(text, static_cast<std::size_t>(offset));
  throw ProtocolError(ErrorCode::kInvalidReport, "line " + std::to_string(line) + ": " + what);
}

void MapHost(const Element& e, AgentInfo& agent) {
  Host host;
  host.dns_name = e.Text("dnsName");
  host.ip = e.Text("ip");
  host.os = e.Text("os");
  host.os_version = e.Text("osVersion");
  host.timezone = e.Text("timezone");
  host.ram_total_mb = e.Unsigned("ramTotalMB");
  host.ram_free_mb = e.Unsigned("ramFreeMB");
  host.disk_total_mb = e.Unsigned("diskTotalMB");
  host.disk_free_mb = e.Unsigned("diskFreeMB");
  host.printers_in_scope = e.Unsigned("printersInScope");
  host.printers_out_of_scope = e.Unsigned("printersOutOfScope");
  MapNoChildren(e, host);
  agent.host = std::move(host);
}

void MapPolicyEvent(const Element& e, std::vector<PolicyEvent>& events) {
  PolicyEvent event;
  event.at = e.Time("at");
  event.user = e.Text("user");
  event.workstation = e.Text("workstation");
  event.document = e.Text("document");
  event.policy = e.Text("policy");
  event.rule = e.Text("rule");
  event.action_taken = e.Text("actionTaken");
  event.cost = e.Text("cost");
  MapNoChildren(e, event);
  events.push_back(std::move(event));
}

void MapPolicyEvents(const Element& e, AgentInfo& agent) {
  std::vector<PolicyEvent> events;
  static constexpr std::array kRules{ChildRule<std::vector<PolicyEvent>>{"Event", false, false, MapPolicyEvent}};
  MapChildren(e, kRules, events);
  agent.policy_events = std::move(events);
}

// The contract marks neither product nor version as required: absent means empty.
AgentInfo MapAgent(const Element& e) {
  AgentInfo agent;
  agent.product = e.Text("product").value_or("");
  agent.version = e.Text("version").value_or("");
  agent.security_mode =
      e.OneOf("securityMode", values::SecurityModes()).value_or("normal") == "lockdown" ? SecurityMode::kLockdown
                                                                                        : SecurityMode::kNormal;
  agent.disabled_actions = detail::DisabledActions(e);
  static constexpr std::array kRules{ChildRule<AgentInfo>{"Host", true, false, MapHost},
                                     ChildRule<AgentInfo>{"PolicyEvents", true, true, MapPolicyEvents}};
  MapChildren(e, kRules, agent);
  return agent;
}

// (manufacturer, serial) identifies a device everywhere, the manufacturer compared
// case-insensitively after trimming; one report naming a device twice is ambiguous.
std::pair<std::string, std::string> DeviceKey(const Device& device) {
  const std::string_view blank = " \t\r\n";
  std::string_view manufacturer = device.manufacturer;
  manufacturer.remove_prefix(manufacturer.find_first_not_of(blank));
  manufacturer.remove_suffix(manufacturer.size() - manufacturer.find_last_not_of(blank) - 1);
  return {values::LowerAscii(manufacturer), device.serial};
}

struct ReportBuilder {
  Report report;
  std::set<std::pair<std::string, std::string>> device_keys;
};

void MapReportAgent(const Element& e, ReportBuilder& builder) {
  if (builder.report.source == ReportSource::kDevice) e.Fail("not allowed when source is device");
  builder.report.agent = MapAgent(e);
}

void MapReportDevice(const Element& e, ReportBuilder& builder) {
  const std::size_t limit = builder.report.source == ReportSource::kDevice ? 1 : kMaxAgentDevices;
  if (builder.report.devices.size() >= limit) {
    e.Fail("a report from a " + std::string(builder.report.source == ReportSource::kDevice ? "device" : "agent") +
           " holds at most " + std::to_string(limit) + " Device elements");
  }
  Device device = detail::MapDevice(e);
  if (!builder.device_keys.insert(DeviceKey(device)).second) e.Fail("the same device appears twice in the report");
  builder.report.devices.push_back(std::move(device));
}

// The document around the root: an XML 1.0 declaration in UTF-8 at most, one element.
pugi::xml_node CheckDocumentLevel(std::string_view text, const pugi::xml_document& document) {
  pugi::xml_node root;
  for (pugi::xml_node node = document.first_child(); node; node = node.next_sibling()) {
    switch (node.type()) {
      case pugi::node_declaration: {
        const std::string_view version = node.attribute("version").value();
        const std::string encoding = values::LowerAscii(node.attribute("encoding").value());
        if (version != "1.0") FailAtOffset(text, node.offset_debug(), "only XML version 1.0 is accepted");
        if (!encoding.empty() && encoding != "utf-8") FailAtOffset(text, node.offset_debug(), "the encoding must be UTF-8");
        break;
      }
      case pugi::node_element:
        if (root) FailAtOffset(text, node.offset_debug(), "a second root element is not allowed");
        root = node;
        break;
      case pugi::node_doctype: FailAtOffset(text, node.offset_debug(), "a DOCTYPE is not allowed");
      case pugi::node_pcdata:
      case pugi::node_cdata: FailAtOffset(text, node.offset_debug(), "text outside the root element");
      default: break;
    }
  }
  if (!root) FailAtOffset(text, 0, "no root element");
  return root;
}

// A second, iterative guard on depth over the tree itself, in case the prescan and
// pugixml ever disagree about structure: every later walk recurses.
void CheckDepth(std::string_view text, pugi::xml_node root, std::size_t max_depth) {
  std::size_t depth = 1;
  pugi::xml_node node = root;
  for (;;) {
    if (pugi::xml_node child = node.first_child()) {
      node = child;
      if (++depth > max_depth && node.type() == pugi::node_element) {
        FailAtOffset(text, node.offset_debug(), "nesting deeper than " + std::to_string(max_depth) + " elements");
      }
      continue;
    }
    for (;;) {
      if (node == root) return;
      if (pugi::xml_node sibling = node.next_sibling()) {
        node = sibling;
        break;
      }
      node = node.parent();
      --depth;
    }
  }
}

Report MapReport(const Element& e) {
  if (e.local_name() != "Report" || e.namespace_uri() != detail::kReportNamespace) {
    e.Fail("the root element must be Report in namespace " + std::string(detail::kReportNamespace));
  }
  xml::CheckElementSyntax(e);
  ReportBuilder builder;
  Report& report = builder.report;
  const std::string id = e.RequiredText("id");
  if (!values::IsUuid(id)) e.FailAttribute("id", "must be a UUID");
  report.id = values::LowerAscii(id);
  report.generated_at = e.RequiredTime("generatedAt");
  report.source =
      e.RequiredOneOf("source", values::DeviceSources()) == "agent" ? ReportSource::kAgent : ReportSource::kDevice;
  static constexpr std::array kRules{ChildRule<ReportBuilder>{"Agent", true, false, MapReportAgent},
                                     ChildRule<ReportBuilder>{"Device", false, false, MapReportDevice}};
  MapChildren(e, kRules, builder);
  if (report.source == ReportSource::kAgent && !report.agent) e.Fail("an Agent element is required when source is agent");
  if (report.source == ReportSource::kDevice && report.devices.size() != 1) {
    e.Fail("a Device element is required when source is device");
  }
  return std::move(builder.report);
}

// PROTOCOL.md 5: in lockdown every ip attribute is dropped before storage. Done here so
// that no later layer can store one by mistake.
void ApplyLockdown(Report& report) {
  if (!report.agent || report.agent->security_mode != SecurityMode::kLockdown) return;
  if (report.agent->host) report.agent->host->ip.reset();
  for (Device& device : report.devices) {
    if (device.network) device.network->ip.reset();
  }
}

}  // namespace

Report ParseReport(std::string_view xml) {
  if (xml.starts_with(kUtf8Bom)) xml.remove_prefix(kUtf8Bom.size());
  const xml::PrescanLimits limits;
  xml::Prescan(xml, limits);

  pugi::xml_document document;
  // parse_doctype only so that a DOCTYPE would show up as a node to refuse (the prescan
  // already refuses it); pugixml never expands entities beyond the predefined five.
  // encoding_utf8 keeps the buffer unconverted, so offset_debug() offsets are ours.
  const pugi::xml_parse_result result =
      document.load_buffer(xml.data(), xml.size(), pugi::parse_default | pugi::parse_declaration | pugi::parse_doctype,
                           pugi::encoding_utf8);
  if (!result) {
    FailAtOffset(xml, result.offset, std::string("XML is not well formed (") + result.description() + ")");
  }
  const pugi::xml_node root = CheckDocumentLevel(xml, document);
  CheckDepth(xml, root, limits.max_depth);

  const xml::Scope scope(nullptr, root);
  Report report = MapReport(Element(xml, root, scope));
  ApplyLockdown(report);
  return report;
}

}  // namespace fleetcomm::protocol
