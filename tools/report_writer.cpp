#include "tools/report_writer.hpp"

#include <optional>

#include "tools/snmp_text.hpp"

namespace fleetcomm::tools {
namespace {

constexpr char kNamespace[] = "urn:fleetcomm:report:1";

void AppendEscaped(std::string& out, std::string_view value) {
  if (!IsValidUtf8(value)) throw ReportWriteError("attribute value is not valid UTF-8");
  for (std::size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\t': out += "&#9;"; break;
      case '\n': out += "&#10;"; break;
      case '\r': out += "&#13;"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          throw ReportWriteError("attribute value holds control character " +
                                 std::to_string(static_cast<int>(c)) + ", which XML 1.0 forbids");
        }
        // U+FFFE and U+FFFF (EF BF BE / EF BF BF) are not XML characters either.
        if (static_cast<unsigned char>(c) == 0xEF && i + 2 < value.size() &&
            static_cast<unsigned char>(value[i + 1]) == 0xBF &&
            (static_cast<unsigned char>(value[i + 2]) & 0xFE) == 0xBE) {
          throw ReportWriteError("attribute value holds U+FFFE or U+FFFF, which XML 1.0 forbids");
        }
        out.push_back(c);
    }
  }
}

class XmlOut {
 public:
  explicit XmlOut(std::string& out) : out_(out) {}

  XmlOut& Open(std::string_view name) {
    out_.append(2 * depth_, ' ');
    out_ += '<';
    out_ += name;
    return *this;
  }
  // One overload per value type, each an exact match, so that no call is ambiguous.
  XmlOut& Attr(std::string_view name, const std::string& value) { return Text(name, value); }
  XmlOut& Attr(std::string_view name, const char* value) { return Text(name, value); }
  XmlOut& Attr(std::string_view name, const std::optional<std::string>& value) {
    return value ? Text(name, *value) : *this;
  }
  XmlOut& Attr(std::string_view name, std::optional<std::int64_t> value) {
    return value ? Text(name, std::to_string(*value)) : *this;
  }
  XmlOut& Attr(std::string_view name, std::optional<bool> value) {
    return value ? Text(name, *value ? "true" : "false") : *this;
  }
  // Space-separated, omitted when empty (disabledActions).
  XmlOut& List(std::string_view name, const std::vector<std::string>& values) {
    if (values.empty()) return *this;
    std::string joined;
    for (const auto& value : values) joined += (joined.empty() ? "" : " ") + value;
    return Text(name, joined);
  }
  void Empty() { out_ += "/>\n"; }
  void Children() {
    out_ += ">\n";
    ++depth_;
  }
  void Close(std::string_view name) {
    --depth_;
    out_.append(2 * depth_, ' ');
    out_ += "</";
    out_ += name;
    out_ += ">\n";
  }

 private:
  XmlOut& Text(std::string_view name, std::string_view value) {
    out_ += ' ';
    out_ += name;
    out_ += "=\"";
    AppendEscaped(out_, value);
    out_ += '"';
    return *this;
  }

  std::string& out_;
  std::size_t depth_ = 0;
};

void WriteHost(XmlOut& xml, const protocol::Host& host) {
  xml.Open("Host")
      .Attr("dnsName", host.dns_name)
      .Attr("ip", host.ip)
      .Attr("os", host.os)
      .Attr("osVersion", host.os_version)
      .Attr("timezone", host.timezone)
      .Attr("ramTotalMB", host.ram_total_mb)
      .Attr("ramFreeMB", host.ram_free_mb)
      .Attr("diskTotalMB", host.disk_total_mb)
      .Attr("diskFreeMB", host.disk_free_mb)
      .Attr("printersInScope", host.printers_in_scope)
      .Attr("printersOutOfScope", host.printers_out_of_scope)
      .Empty();
}

void WriteAgent(XmlOut& xml, const protocol::AgentInfo& agent) {
  xml.Open("Agent")
      .Attr("product", agent.product)
      .Attr("version", agent.version)
      .Attr("securityMode", agent.security_mode == protocol::SecurityMode::kLockdown ? "lockdown" : "normal")
      .List("disabledActions", agent.disabled_actions);
  if (!agent.host && !agent.policy_events) return xml.Empty();
  xml.Children();
  if (agent.host) WriteHost(xml, *agent.host);
  if (agent.policy_events) {
    xml.Open("PolicyEvents");
    if (agent.policy_events->empty()) {
      xml.Empty();
    } else {
      xml.Children();
      for (const auto& event : *agent.policy_events) {
        xml.Open("Event")
            .Attr("at", event.at)
            .Attr("user", event.user)
            .Attr("workstation", event.workstation)
            .Attr("document", event.document)
            .Attr("policy", event.policy)
            .Attr("rule", event.rule)
            .Attr("actionTaken", event.action_taken)
            .Attr("cost", event.cost)
            .Empty();
      }
      xml.Close("PolicyEvents");
    }
  }
  xml.Close("Agent");
}

// A wrapper element (Modules, Supplies...) written only when it has children.
template <typename T, typename WriteOne>
void WriteList(XmlOut& xml, std::string_view name, const std::vector<T>& items, WriteOne write_one) {
  if (items.empty()) return;
  xml.Open(name).Children();
  for (const auto& item : items) write_one(item);
  xml.Close(name);
}

void WriteStatus(XmlOut& xml, const protocol::Status& status) {
  xml.Open("Status")
      .Attr("state", status.state)
      .Attr("printerStatus", status.printer_status)
      .Attr("uptimeSeconds", status.uptime_seconds);
  if (status.alerts.empty()) return xml.Empty();
  xml.Children();
  for (const auto& alert : status.alerts) {
    xml.Open("Alert")
        .Attr("code", alert.code)
        .Attr("severity", alert.severity)
        .Attr("group", alert.group)
        .Attr("location", alert.location)
        .Attr("description", alert.description)
        .Attr("at", alert.at)
        .Empty();
  }
  xml.Close("Status");
}

void WriteDevice(XmlOut& xml, const protocol::Device& device) {
  xml.Open("Device")
      .Attr("serial", device.serial)
      .Attr("manufacturer", device.manufacturer)
      .Attr("model", device.model)
      .Attr("class", device.device_class)
      .List("disabledActions", device.disabled_actions)
      .Children();
  if (const auto& identity = device.identity) {
    xml.Open("Identity")
        .Attr("firmware", identity->firmware)
        .Attr("installDate", identity->install_date)
        .Attr("location", identity->location)
        .Attr("systemName", identity->system_name)
        .Empty();
  }
  WriteList(xml, "Modules", device.modules, [&](const protocol::Module& module) {
    xml.Open("Module")
        .Attr("name", module.name)
        .Attr("serial", module.serial)
        .Attr("firmware", module.firmware)
        .Attr("installDate", module.install_date)
        .Empty();
  });
  if (const auto& network = device.network) {
    xml.Open("Network")
        .Attr("mac", network->mac)
        .Attr("ip", network->ip)
        .Attr("subnet", network->subnet)
        .Attr("dnsName", network->dns_name)
        .Empty();
  }
  WriteList(xml, "Properties", device.properties, [&](const protocol::Property& property) {
    xml.Open("Property").Attr("name", property.name).Attr("value", property.value).Empty();
  });
  if (device.status) WriteStatus(xml, *device.status);
  WriteList(xml, "FaultHistory", device.faults, [&](const protocol::Fault& fault) {
    xml.Open("Fault")
        .Attr("code", fault.code)
        .Attr("at", fault.at)
        .Attr("component", fault.component)
        .Attr("description", fault.description)
        .Empty();
  });
  if (const auto& counters = device.counters) {
    xml.Open("Counters").Attr("readAt", counters->read_at);
    if (counters->items.empty()) {
      xml.Empty();
    } else {
      xml.Children();
      for (const auto& counter : counters->items) {
        xml.Open("Counter")
            .Attr("name", counter.name)
            .Attr("value", std::optional<std::int64_t>(counter.value))
            .Attr("resetAt", counter.reset_at)
            .Empty();
      }
      xml.Close("Counters");
    }
  }
  WriteList(xml, "Supplies", device.supplies, [&](const protocol::Supply& supply) {
    xml.Open("Supply")
        .Attr("index", std::optional<std::int64_t>(supply.index))
        .Attr("type", supply.type)
        .Attr("colorant", supply.colorant)
        .Attr("description", supply.description)
        .Attr("partNumber", supply.part_number)
        .Attr("serial", supply.serial)
        .Attr("unit", supply.unit)
        .Attr("capacity", supply.capacity)
        .Attr("level", supply.level)
        .Attr("state", supply.state)
        .Empty();
  });
  WriteList(xml, "Usage", device.usage, [&](const protocol::UsageItem& item) {
    xml.Open("Item").Attr("name", item.name).Attr("value", item.value).Empty();
  });
  if (const auto& jobs = device.job_log) {
    xml.Open("JobLog");
    if (jobs->empty()) {
      xml.Empty();
    } else {
      xml.Children();
      for (const auto& job : *jobs) {
        xml.Open("Job")
            .Attr("id", job.id)
            .Attr("documentName", job.document_name)
            .Attr("owner", job.owner)
            .Attr("submittedAt", job.submitted_at)
            .Attr("pages", job.pages)
            .Attr("colorPages", job.color_pages)
            .Attr("duplex", job.duplex)
            .Attr("queue", job.queue)
            .Attr("workstation", job.workstation)
            .Empty();
      }
      xml.Close("JobLog");
    }
  }
  xml.Close("Device");
}

}  // namespace

std::string EscapeAttribute(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  AppendEscaped(out, value);
  return out;
}

void AppendReportXml(std::string& out, const protocol::Report& report) {
  out += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  XmlOut xml(out);
  xml.Open("Report")
      .Attr("xmlns", kNamespace)
      .Attr("id", report.id)
      .Attr("generatedAt", report.generated_at)
      .Attr("source", report.source == protocol::ReportSource::kAgent ? "agent" : "device");
  if (!report.agent && report.devices.empty()) return xml.Empty();
  xml.Children();
  if (report.agent) WriteAgent(xml, *report.agent);
  for (const auto& device : report.devices) WriteDevice(xml, device);
  xml.Close("Report");
}

std::string WriteReportXml(const protocol::Report& report) {
  std::string out;
  AppendReportXml(out, report);
  return out;
}

}  // namespace fleetcomm::tools
