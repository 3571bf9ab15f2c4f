#include "storage/report_documents.hpp"

namespace fleetcomm::storage {

void WriteIdentityDocument(JsonText& out, const protocol::Identity& identity) {
  out.BeginObject()
      .Field("firmware", identity.firmware)
      .Field("install_date", identity.install_date)
      .Field("location", identity.location)
      .Field("system_name", identity.system_name)
      .EndObject();
}

void WriteModulesDocument(JsonText& out, const std::vector<protocol::Module>& modules) {
  out.BeginArray();
  for (const auto& module : modules) {
    out.BeginObject()
        .Field("name", module.name)
        .Field("serial", module.serial)
        .Field("firmware", module.firmware)
        .Field("install_date", module.install_date)
        .EndObject();
  }
  out.EndArray();
}

void WriteNetworkDocument(JsonText& out, const protocol::Network& network) {
  out.BeginObject()
      .Field("mac", network.mac)
      .Field("ip", network.ip)
      .Field("subnet", network.subnet)
      .Field("dns_name", network.dns_name)
      .EndObject();
}

// A property named twice keeps its last value (jsonb keeps the last of duplicate keys).
void WritePropertiesDocument(JsonText& out, const std::vector<protocol::Property>& properties) {
  out.BeginObject();
  for (const auto& property : properties) out.Field(property.name, property.value);
  out.EndObject();
}

void WriteStatusDocument(JsonText& out, const protocol::Status& status) {
  out.BeginObject()
      .Field("state", status.state)
      .Field("printer_status", status.printer_status)
      .Field("uptime_seconds", status.uptime_seconds)
      .Key("alerts")
      .BeginArray();
  for (const auto& alert : status.alerts) {
    out.BeginObject()
        .Field("code", alert.code)
        .Field("severity", alert.severity)
        .Field("group", alert.group)
        .Field("location", alert.location)
        .Field("description", alert.description)
        .Field("at", alert.at)
        .EndObject();
  }
  out.EndArray().EndObject();
}

void WriteSupplyFields(JsonText& out, const protocol::Supply& supply) {
  out.Field("index", supply.index)
      .Field("type", supply.type)
      .Field("colorant", supply.colorant)
      .Field("description", supply.description)
      .Field("part_number", supply.part_number)
      .Field("serial", supply.serial)
      .Field("unit", supply.unit)
      .Field("capacity", supply.capacity)
      .Field("level", supply.level)
      .Field("state", supply.state);
}

void WriteUsageDocument(JsonText& out, const std::vector<protocol::UsageItem>& usage) {
  out.BeginArray();
  for (const auto& item : usage) out.BeginObject().Field("name", item.name).Field("value", item.value).EndObject();
  out.EndArray();
}

void WriteHostDocument(JsonText& out, const protocol::Host& host) {
  out.BeginObject()
      .Field("dns_name", host.dns_name)
      .Field("ip", host.ip)
      .Field("os", host.os)
      .Field("os_version", host.os_version)
      .Field("timezone", host.timezone)
      .Field("ram_total_mb", host.ram_total_mb)
      .Field("ram_free_mb", host.ram_free_mb)
      .Field("disk_total_mb", host.disk_total_mb)
      .Field("disk_free_mb", host.disk_free_mb)
      .Field("printers_in_scope", host.printers_in_scope)
      .Field("printers_out_of_scope", host.printers_out_of_scope)
      .EndObject();
}

void WriteJobDocument(JsonText& out, const protocol::Job& job) {
  out.BeginObject()
      .Field("id", job.id)
      .Field("document_name", job.document_name)
      .Field("owner", job.owner)
      .Field("submitted_at", job.submitted_at)
      .Field("pages", job.pages)
      .Field("color_pages", job.color_pages)
      .Field("duplex", job.duplex)
      .Field("queue", job.queue)
      .Field("workstation", job.workstation)
      .EndObject();
}

void WritePolicyEventDocument(JsonText& out, const protocol::PolicyEvent& event) {
  out.BeginObject()
      .Field("at", event.at)
      .Field("user", event.user)
      .Field("workstation", event.workstation)
      .Field("document", event.document)
      .Field("policy", event.policy)
      .Field("rule", event.rule)
      .Field("action_taken", event.action_taken)
      .Field("cost", event.cost)
      .EndObject();
}

}  // namespace fleetcomm::storage
