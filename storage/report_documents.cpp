#include "storage/report_documents.hpp"

namespace fleetcomm::storage {
namespace {

using nlohmann::json;

// Absent attributes are JSON null, so that every document of a kind has the same keys.
template <class T>
json Optional(const std::optional<T>& value) {
  return value ? json(*value) : json(nullptr);
}

}  // namespace

json IdentityDocument(const protocol::Identity& identity) {
  return {{"firmware", Optional(identity.firmware)},
          {"install_date", Optional(identity.install_date)},
          {"location", Optional(identity.location)},
          {"system_name", Optional(identity.system_name)}};
}

json ModulesDocument(const std::vector<protocol::Module>& modules) {
  json out = json::array();
  for (const auto& module : modules) {
    out.push_back({{"name", Optional(module.name)},
                   {"serial", Optional(module.serial)},
                   {"firmware", Optional(module.firmware)},
                   {"install_date", Optional(module.install_date)}});
  }
  return out;
}

json NetworkDocument(const protocol::Network& network) {
  return {{"mac", Optional(network.mac)},
          {"ip", Optional(network.ip)},
          {"subnet", Optional(network.subnet)},
          {"dns_name", Optional(network.dns_name)}};
}

json PropertiesDocument(const std::vector<protocol::Property>& properties) {
  json out = json::object();
  for (const auto& property : properties) out[property.name] = property.value;
  return out;
}

json StatusDocument(const protocol::Status& status) {
  json alerts = json::array();
  for (const auto& alert : status.alerts) {
    alerts.push_back({{"code", alert.code},
                      {"severity", alert.severity},
                      {"group", Optional(alert.group)},
                      {"location", Optional(alert.location)},
                      {"description", Optional(alert.description)},
                      {"at", Optional(alert.at)}});
  }
  return {{"state", Optional(status.state)},
          {"printer_status", Optional(status.printer_status)},
          {"uptime_seconds", Optional(status.uptime_seconds)},
          {"alerts", std::move(alerts)}};
}

json SupplyDocument(const protocol::Supply& supply) {
  return {{"index", supply.index},
          {"type", Optional(supply.type)},
          {"colorant", Optional(supply.colorant)},
          {"description", Optional(supply.description)},
          {"part_number", Optional(supply.part_number)},
          {"serial", Optional(supply.serial)},
          {"unit", Optional(supply.unit)},
          {"capacity", Optional(supply.capacity)},
          {"level", Optional(supply.level)},
          {"state", Optional(supply.state)}};
}

json UsageDocument(const std::vector<protocol::UsageItem>& usage) {
  json out = json::array();
  for (const auto& item : usage) out.push_back({{"name", item.name}, {"value", item.value}});
  return out;
}

json HostDocument(const protocol::Host& host) {
  return {{"dns_name", Optional(host.dns_name)},
          {"ip", Optional(host.ip)},
          {"os", Optional(host.os)},
          {"os_version", Optional(host.os_version)},
          {"timezone", Optional(host.timezone)},
          {"ram_total_mb", Optional(host.ram_total_mb)},
          {"ram_free_mb", Optional(host.ram_free_mb)},
          {"disk_total_mb", Optional(host.disk_total_mb)},
          {"disk_free_mb", Optional(host.disk_free_mb)},
          {"printers_in_scope", Optional(host.printers_in_scope)},
          {"printers_out_of_scope", Optional(host.printers_out_of_scope)}};
}

json JobDocument(const protocol::Job& job) {
  return {{"id", Optional(job.id)},
          {"document_name", Optional(job.document_name)},
          {"owner", Optional(job.owner)},
          {"submitted_at", Optional(job.submitted_at)},
          {"pages", Optional(job.pages)},
          {"color_pages", Optional(job.color_pages)},
          {"duplex", Optional(job.duplex)},
          {"queue", Optional(job.queue)},
          {"workstation", Optional(job.workstation)}};
}

json PolicyEventDocument(const protocol::PolicyEvent& event) {
  return {{"at", Optional(event.at)},
          {"user", Optional(event.user)},
          {"workstation", Optional(event.workstation)},
          {"document", Optional(event.document)},
          {"policy", Optional(event.policy)},
          {"rule", Optional(event.rule)},
          {"action_taken", Optional(event.action_taken)},
          {"cost", Optional(event.cost)}};
}

}  // namespace fleetcomm::storage
