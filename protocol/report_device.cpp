#include "protocol/report_device.hpp"

#include <algorithm>
#include <unordered_set>

#include "protocol/report_mapping.hpp"
#include "protocol/report_values.hpp"
#include "protocol/xml_prescan.hpp"

namespace fleetcomm::protocol::detail {
namespace {

using xml::Element;

void MapIdentity(const Element& e, Device& device) {
  Identity identity;
  // installDate has no format in the contract; it is kept as sent.
  identity.firmware = e.Text("firmware");
  identity.install_date = e.Text("installDate");
  identity.location = e.Text("location");
  identity.system_name = e.Text("systemName");
  MapNoChildren(e, identity);
  device.identity = std::move(identity);
}

void MapModule(const Element& e, Device& device) {
  Module module{e.Text("name"), e.Text("serial"), e.Text("firmware"), e.Text("installDate")};
  MapNoChildren(e, module);
  device.modules.push_back(std::move(module));
}

void MapNetwork(const Element& e, Device& device) {
  Network network{e.Text("mac"), e.Text("ip"), e.Text("subnet"), e.Text("dnsName")};
  MapNoChildren(e, network);
  device.network = std::move(network);
}

void MapProperty(const Element& e, Device& device) {
  Property property{e.RequiredText("name"), e.RequiredText("value")};
  MapNoChildren(e, property);
  device.properties.push_back(std::move(property));
}

void MapAlert(const Element& e, Status& status) {
  Alert alert;
  alert.code = e.RequiredText("code");
  alert.severity = e.RequiredOneOf("severity", values::AlertSeverities());
  alert.group = e.OneOf("group", values::AlertGroups());
  alert.location = e.Text("location");
  alert.description = e.Text("description");
  alert.at = e.Time("at");
  MapNoChildren(e, alert);
  status.alerts.push_back(std::move(alert));
}

void MapStatus(const Element& e, Device& device) {
  Status status;
  status.state = e.OneOf("state", values::DeviceStatuses());
  status.printer_status = e.OneOf("printerStatus", values::PrinterStatuses());
  status.uptime_seconds = e.Unsigned("uptimeSeconds");
  static constexpr std::array kRules{ChildRule<Status>{"Alert", false, false, MapAlert}};
  MapChildren(e, kRules, status);
  device.status = std::move(status);
}

void MapFault(const Element& e, Device& device) {
  Fault fault{e.RequiredText("code"), e.Time("at"), e.Text("component"), e.Text("description")};
  MapNoChildren(e, fault);
  device.faults.push_back(std::move(fault));
}

// Two values for one meter in one reading cannot both be right; refuse rather than guess.
struct CountersBuilder {
  Counters counters;
  std::unordered_set<std::string> names;
};

void MapCounter(const Element& e, CountersBuilder& builder) {
  Counter counter;
  counter.name = e.RequiredText("name");
  if (!values::IsCounterName(counter.name)) {
    e.FailAttribute("name", "must match [a-z0-9][a-z0-9.-]{0,63} and be a standard counter name or start with x-");
  }
  if (!builder.names.insert(counter.name).second) e.Fail("counter " + counter.name + " appears twice");
  e.RequiredText("value");
  counter.value = *e.Unsigned("value");
  counter.reset_at = e.Time("resetAt");
  MapNoChildren(e, counter);
  builder.counters.items.push_back(std::move(counter));
}

void MapCounters(const Element& e, Device& device) {
  CountersBuilder builder;
  builder.counters.read_at = e.Time("readAt");
  static constexpr std::array kRules{ChildRule<CountersBuilder>{"Counter", false, false, MapCounter}};
  MapChildren(e, kRules, builder);
  device.counters = std::move(builder.counters);
}

void MapSupply(const Element& e, Device& device) {
  Supply supply;
  e.RequiredText("index");
  supply.index = *e.Unsigned("index");
  supply.type = e.OneOf("type", values::SupplyTypes());
  supply.colorant = e.Text("colorant");
  supply.description = e.Text("description");
  supply.part_number = e.Text("partNumber");
  supply.serial = e.Text("serial");
  supply.unit = e.OneOf("unit", values::SupplyUnits());
  // Printer-MIB: -1 unrestricted, -2 unknown, and for the level -3 "some remaining".
  supply.capacity = e.Integer("capacity", -2);
  supply.level = e.Integer("level", -3);
  supply.state = e.OneOf("state", values::SupplyStates());
  MapNoChildren(e, supply);
  device.supplies.push_back(std::move(supply));
}

void MapUsageItem(const Element& e, Device& device) {
  UsageItem item{e.RequiredText("name"), e.RequiredText("value")};
  MapNoChildren(e, item);
  device.usage.push_back(std::move(item));
}

void MapJob(const Element& e, std::vector<Job>& jobs) {
  Job job;
  job.id = e.Text("id");
  job.document_name = e.Text("documentName");
  job.owner = e.Text("owner");
  job.submitted_at = e.Time("submittedAt");
  job.pages = e.Unsigned("pages");
  job.color_pages = e.Unsigned("colorPages");
  job.duplex = e.Boolean("duplex");
  job.queue = e.Text("queue");
  job.workstation = e.Text("workstation");
  MapNoChildren(e, job);
  jobs.push_back(std::move(job));
}

void MapJobLog(const Element& e, Device& device) {
  std::vector<Job> jobs;
  static constexpr std::array kRules{ChildRule<std::vector<Job>>{"Job", false, false, MapJob}};
  MapChildren(e, kRules, jobs);
  device.job_log = std::move(jobs);
}

template <void (*MapItem)(const Element&, Device&)>
void MapList(const Element& e, Device& device, std::string_view item_name) {
  const std::array rules{ChildRule<Device>{item_name, false, false, MapItem}};
  MapChildren(e, rules, device);
}

void MapModules(const Element& e, Device& d) { MapList<MapModule>(e, d, "Module"); }
void MapProperties(const Element& e, Device& d) { MapList<MapProperty>(e, d, "Property"); }
void MapFaultHistory(const Element& e, Device& d) { MapList<MapFault>(e, d, "Fault"); }
void MapSupplies(const Element& e, Device& d) { MapList<MapSupply>(e, d, "Supply"); }
void MapUsage(const Element& e, Device& d) { MapList<MapUsageItem>(e, d, "Item"); }

// Order is free except for JobLog, which comes last so that personal data can be cut off
// in one place.
constexpr std::array kDeviceRules{
    ChildRule<Device>{"Identity", true, false, MapIdentity},
    ChildRule<Device>{"Modules", true, false, MapModules},
    ChildRule<Device>{"Network", true, false, MapNetwork},
    ChildRule<Device>{"Properties", true, false, MapProperties},
    ChildRule<Device>{"Status", true, false, MapStatus},
    ChildRule<Device>{"FaultHistory", true, false, MapFaultHistory},
    ChildRule<Device>{"Counters", true, false, MapCounters},
    ChildRule<Device>{"Supplies", true, false, MapSupplies},
    ChildRule<Device>{"Usage", true, false, MapUsage},
    ChildRule<Device>{"JobLog", true, true, MapJobLog},
};

}  // namespace

// Unknown action types are refused, not ignored: this list is a deny list, and silently
// dropping a misspelt entry ("restrat") would leave enabled an action the client meant to
// refuse. The v1 set of types is closed (PROTOCOL.md 4.4). Repeats are dropped.
std::vector<std::string> DisabledActions(const Element& element) {
  std::vector<std::string> actions;
  const auto list = element.Text("disabledActions");
  if (!list) return actions;
  std::string_view rest = *list;
  while (!rest.empty()) {
    const std::size_t end = std::min(rest.find(' '), rest.size());
    const std::string_view token = rest.substr(0, end);
    rest.remove_prefix(std::min(end + 1, rest.size()));
    if (token.empty()) continue;
    if (!values::IsOneOf(token, values::ActionTypes())) {
      element.FailAttribute("disabledActions", "names an unknown action type " + xml::ShortForMessage(token));
    }
    if (std::find(actions.begin(), actions.end(), token) == actions.end()) actions.emplace_back(token);
  }
  return actions;
}

Device MapDevice(const Element& e) {
  Device device;
  device.serial = e.RequiredNonBlank("serial");
  device.manufacturer = e.RequiredNonBlank("manufacturer");
  device.model = e.RequiredNonBlank("model");
  device.device_class = e.OneOf("class", values::DeviceClasses());
  device.disabled_actions = DisabledActions(e);
  MapChildren(e, kDeviceRules, device);
  return device;
}

}  // namespace fleetcomm::protocol::detail
