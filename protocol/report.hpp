#pragma once
// The report of PROTOCOL.md section 5 as typed values, after every rule of that section was
// checked. Times are kept as the validated RFC 3339 text (PostgreSQL parses them); numbers
// are already range-checked. Optional attributes that were absent are std::nullopt.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace fleetcomm::protocol {

enum class ReportSource { kDevice, kAgent };
enum class SecurityMode { kNormal, kLockdown };

struct Host {
  std::optional<std::string> dns_name, ip, os, os_version, timezone;
  std::optional<std::int64_t> ram_total_mb, ram_free_mb, disk_total_mb, disk_free_mb;
  std::optional<std::int64_t> printers_in_scope, printers_out_of_scope;
};

// Personal data (PROTOCOL.md 3.3): stored only with the account's job-data consent.
struct PolicyEvent {
  std::optional<std::string> at, user, workstation, document, policy, rule, action_taken, cost;
};

struct AgentInfo {
  std::string product;
  std::string version;
  SecurityMode security_mode = SecurityMode::kNormal;
  std::vector<std::string> disabled_actions;
  std::optional<Host> host;
  std::optional<std::vector<PolicyEvent>> policy_events;  // present iff the element was
};

struct Identity {
  std::optional<std::string> firmware, install_date, location, system_name;
};

struct Module {
  std::optional<std::string> name, serial, firmware, install_date;
};

struct Network {
  std::optional<std::string> mac, ip, subnet, dns_name;
};

struct Property {
  std::string name;
  std::string value;
};

struct Alert {
  std::string code;
  std::string severity;  // critical | warning | info
  std::optional<std::string> group, location, description, at;
};

struct Status {
  std::optional<std::string> state;           // hrDeviceStatus name
  std::optional<std::string> printer_status;  // hrPrinterStatus name
  std::optional<std::int64_t> uptime_seconds;
  std::vector<Alert> alerts;
};

struct Fault {
  std::string code;
  std::optional<std::string> at, component, description;
};

struct Counter {
  std::string name;
  std::int64_t value = 0;  // 0 <= value < 2^63
  std::optional<std::string> reset_at;
};

struct Counters {
  std::optional<std::string> read_at;  // the report's generatedAt applies when absent
  std::vector<Counter> items;
};

struct Supply {
  std::int64_t index = 0;
  std::optional<std::string> type, colorant, description, part_number, serial, unit;
  std::optional<std::int64_t> capacity, level;  // Printer-MIB: -1, -2 (and -3 for level) are special
  std::optional<std::string> state;             // ok | low | empty | unknown
};

struct UsageItem {
  std::string name;
  std::string value;
};

struct Job {
  std::optional<std::string> id, document_name, owner, submitted_at, queue, workstation;
  std::optional<std::int64_t> pages, color_pages;
  std::optional<bool> duplex;
};

struct Device {
  std::string serial;
  std::string manufacturer;
  std::string model;
  std::optional<std::string> device_class;  // office | production | other
  std::vector<std::string> disabled_actions;
  std::optional<Identity> identity;
  std::vector<Module> modules;
  std::optional<Network> network;
  std::vector<Property> properties;
  std::optional<Status> status;
  std::vector<Fault> faults;  // newest first, as sent
  std::optional<Counters> counters;
  std::vector<Supply> supplies;
  std::vector<UsageItem> usage;
  std::optional<std::vector<Job>> job_log;  // present iff the element was
};

struct Report {
  std::string id;  // UUID, lower-cased
  std::string generated_at;
  ReportSource source = ReportSource::kDevice;
  std::optional<AgentInfo> agent;
  std::vector<Device> devices;
};

}  // namespace fleetcomm::protocol
