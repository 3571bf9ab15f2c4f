#include "tools/printer_recording.hpp"

#include <algorithm>
#include <cctype>
#include <set>

#include "tools/printer_mib_names.hpp"
#include "tools/printer_vendors.hpp"
#include "tools/snmp_text.hpp"

namespace fleetcomm::tools {
namespace {

// MIB-2 system group and interfaces.
constexpr std::string_view kSysDescr = "1.3.6.1.2.1.1.1.0";
constexpr std::string_view kSysObjectId = "1.3.6.1.2.1.1.2.0";
constexpr std::string_view kSysUpTime = "1.3.6.1.2.1.1.3.0";
constexpr std::string_view kSysName = "1.3.6.1.2.1.1.5.0";
constexpr std::string_view kSysLocation = "1.3.6.1.2.1.1.6.0";
constexpr std::string_view kIfType = "1.3.6.1.2.1.2.2.1.3";
constexpr std::string_view kIfPhysAddress = "1.3.6.1.2.1.2.2.1.6";
constexpr std::string_view kIpAdEntAddr = "1.3.6.1.2.1.4.20.1.1";
constexpr std::string_view kIpAdEntIfIndex = "1.3.6.1.2.1.4.20.1.2";
constexpr std::string_view kIpAdEntNetMask = "1.3.6.1.2.1.4.20.1.3";
// Host Resources MIB.
constexpr std::string_view kHrDeviceType = "1.3.6.1.2.1.25.3.2.1.2";
constexpr std::string_view kHrDeviceDescr = "1.3.6.1.2.1.25.3.2.1.3";
constexpr std::string_view kHrDeviceStatus = "1.3.6.1.2.1.25.3.2.1.5";
constexpr std::string_view kHrPrinterStatus = "1.3.6.1.2.1.25.3.5.1.1";
constexpr std::string_view kHrDevicePrinter = "1.3.6.1.2.1.25.3.1.5";
// Printer-MIB.
constexpr std::string_view kPrtGeneralPrinterName = "1.3.6.1.2.1.43.5.1.1.16";
constexpr std::string_view kPrtGeneralSerialNumber = "1.3.6.1.2.1.43.5.1.1.17";
constexpr std::string_view kPrtMarkerCounterUnit = "1.3.6.1.2.1.43.10.2.1.3";
constexpr std::string_view kPrtMarkerLifeCount = "1.3.6.1.2.1.43.10.2.1.4";
constexpr std::string_view kSuppliesColorantIndex = "1.3.6.1.2.1.43.11.1.1.3";
constexpr std::string_view kSuppliesType = "1.3.6.1.2.1.43.11.1.1.5";
constexpr std::string_view kSuppliesDescription = "1.3.6.1.2.1.43.11.1.1.6";
constexpr std::string_view kSuppliesUnit = "1.3.6.1.2.1.43.11.1.1.7";
constexpr std::string_view kSuppliesMaxCapacity = "1.3.6.1.2.1.43.11.1.1.8";
constexpr std::string_view kSuppliesLevel = "1.3.6.1.2.1.43.11.1.1.9";
constexpr std::string_view kColorantValue = "1.3.6.1.2.1.43.12.1.1.4";
constexpr std::string_view kAlertSeverity = "1.3.6.1.2.1.43.18.1.1.2";
constexpr std::string_view kAlertGroup = "1.3.6.1.2.1.43.18.1.1.4";
constexpr std::string_view kAlertGroupIndex = "1.3.6.1.2.1.43.18.1.1.5";
constexpr std::string_view kAlertCode = "1.3.6.1.2.1.43.18.1.1.7";
constexpr std::string_view kAlertDescription = "1.3.6.1.2.1.43.18.1.1.8";

class Reader {
 public:
  explicit Reader(const SnmpRecording& recording) : recording_(recording) {}

  const SnmpValue* At(std::string_view column, const Oid& index = {}) const {
    auto oid = ParseOid(column);
    if (!oid) return nullptr;
    oid->insert(oid->end(), index.begin(), index.end());
    return recording_.Get(*oid);
  }

  // The string's text, nullopt when absent, not a string, or empty after repair.
  std::optional<std::string> Text(std::string_view column, const Oid& index = {}) const {
    const auto* value = At(column, index);
    if (value == nullptr || (value->type != SnmpType::kOctetString && value->type != SnmpType::kOpaque)) {
      return std::nullopt;
    }
    auto text = SnmpText(value->bytes);
    if (text.empty()) return std::nullopt;
    return text;
  }

  std::optional<std::int64_t> Number(std::string_view column, const Oid& index = {}) const {
    const auto* value = At(column, index);
    return value == nullptr ? std::nullopt : value->number;
  }

  std::vector<WalkEntry> Walk(std::string_view column) const { return recording_.Walk(column); }

 private:
  const SnmpRecording& recording_;
};

bool StartsWithIgnoringCase(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() &&
         std::equal(prefix.begin(), prefix.end(), text.begin(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
         });
}

std::string Trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  return std::string(text);
}

// The hrDeviceIndex of the printer: the hrDevicePrinter row, else the device the
// Printer-MIB tables are indexed by (recordings often lack hrDeviceType), else 1.
Oid PrinterDeviceIndex(const Reader& reader) {
  for (const auto& entry : reader.Walk(kHrDeviceType)) {
    if (entry.value->type == SnmpType::kObjectId && entry.value->bytes == kHrDevicePrinter) return entry.index;
  }
  for (const auto column : {kSuppliesLevel, kPrtMarkerLifeCount, kPrtGeneralSerialNumber}) {
    const auto entries = reader.Walk(column);
    if (!entries.empty()) return Oid{entries.front().index.front()};
  }
  return Oid{1};
}

std::optional<std::string> FirstIeee1284Field(const Reader& reader, std::initializer_list<std::string_view> keys) {
  for (const auto oid : Ieee1284DeviceIdOids()) {
    const auto device_id = reader.Text(oid);
    if (!device_id) continue;
    for (const auto key : keys) {
      if (auto value = Ieee1284Field(*device_id, key)) return value;
    }
  }
  return std::nullopt;
}

std::string Manufacturer(const Reader& reader, const PrinterVendor* vendor) {
  if (vendor != nullptr) return std::string(vendor->name);
  if (auto mfg = FirstIeee1284Field(reader, {"MFG", "MANUFACTURER"})) return *mfg;
  return "unknown";
}

std::optional<std::string> SerialFromRecording(const Reader& reader, const Oid& printer, const PrinterVendor* vendor) {
  if (auto serial = reader.Text(kPrtGeneralSerialNumber, printer)) return serial;
  for (const auto& entry : reader.Walk(kPrtGeneralSerialNumber)) {
    if (auto serial = reader.Text(kPrtGeneralSerialNumber, entry.index)) return serial;
  }
  if (vendor != nullptr) {
    for (const auto oid : vendor->serial_oids) {
      if (auto serial = reader.Text(oid)) return serial;
    }
  }
  // HP JetDirect: "HP ETHERNET MULTI-ENVIRONMENT,SN:VNCRC48198,FN:..."
  if (const auto descr = reader.Text(kSysDescr)) {
    const auto at = descr->find("SN:");
    if (at != std::string::npos) {
      const auto start = at + 3;
      const auto end = descr->find_first_of(",; ", start);
      auto serial = Trim(std::string_view(*descr).substr(start, end == std::string::npos ? end : end - start));
      if (!serial.empty()) return serial;
    }
  }
  return std::nullopt;
}

std::string Model(const Reader& reader, const Oid& printer, const std::string& manufacturer) {
  if (auto descr = reader.Text(kHrDeviceDescr, printer)) return *descr;
  if (auto model = FirstIeee1284Field(reader, {"MDL", "MODEL"})) return *model;
  if (auto name = reader.Text(kPrtGeneralPrinterName, printer)) return *name;
  if (auto descr = reader.Text(kSysDescr)) {
    std::string_view text = *descr;
    if (StartsWithIgnoringCase(text, manufacturer + " ")) text.remove_prefix(manufacturer.size() + 1);
    auto model = Trim(text.substr(0, text.find_first_of(";,")));
    if (!model.empty()) return model;
  }
  return "unknown";
}

std::optional<std::string> Firmware(const Reader& reader, const PrinterVendor* vendor) {
  if (vendor != nullptr) {
    for (const auto oid : vendor->firmware_oids) {
      const auto text = reader.Text(oid);
      if (!text) continue;
      // A sentence ("Firmware Ver.1.01 (08.12.12)") gives its version; a bare value is one.
      if (text->find(' ') == std::string::npos) return text;
      if (auto version = FindVersion(*text)) return version;
    }
  }
  const auto descr = reader.Text(kSysDescr);
  if (!descr) return std::nullopt;
  // A print server describes itself first and the printer after "Attached to" (OKI).
  std::string_view text = *descr;
  const auto attached = text.find("Attached to ");
  if (attached != std::string_view::npos) text.remove_prefix(attached);
  return FindVersion(text);
}

std::optional<std::string> MacAddress(const Reader& reader, const Oid& if_index) {
  const auto* value = reader.At(kIfPhysAddress, if_index);
  if (value == nullptr || value->type != SnmpType::kOctetString || value->bytes.size() != 6) return std::nullopt;
  if (std::all_of(value->bytes.begin(), value->bytes.end(), [](char c) { return c == 0; })) return std::nullopt;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string mac;
  for (const char c : value->bytes) {
    const auto byte = static_cast<unsigned char>(c);
    if (!mac.empty()) mac.push_back(':');
    mac.push_back(kHex[byte >> 4]);
    mac.push_back(kHex[byte & 0x0F]);
  }
  return mac;
}

// The first IPv4 address that is neither loopback nor 0.0.0.0, and the ifPhysAddress of
// its interface (else of the first interface that has one).
std::optional<protocol::Network> ReadNetwork(const Reader& reader) {
  protocol::Network network;
  std::optional<Oid> if_index;
  // The table is indexed by the address itself, and recordings often lack the
  // ipAdEntAddr column, so the address is read from the index of any column.
  std::set<Oid> addresses;
  for (const auto column : {kIpAdEntAddr, kIpAdEntIfIndex, kIpAdEntNetMask}) {
    for (const auto& entry : reader.Walk(column)) {
      if (entry.index.size() == 4) addresses.insert(entry.index);
    }
  }
  for (const auto& address : addresses) {
    if (address[0] == 127 || address[0] == 0 || std::any_of(address.begin(), address.end(), [](auto a) { return a > 255; })) {
      continue;
    }
    network.ip = OidToString(address);
    if (const auto* mask = reader.At(kIpAdEntNetMask, address); mask && mask->type == SnmpType::kIpAddress) {
      network.subnet = mask->bytes;
    }
    if (const auto index = reader.Number(kIpAdEntIfIndex, address); index && *index > 0) {
      if_index = Oid{static_cast<std::uint32_t>(*index)};
    }
    break;
  }
  if (if_index) network.mac = MacAddress(reader, *if_index);
  if (!network.mac) {
    for (const auto& entry : reader.Walk(kIfPhysAddress)) {
      if ((network.mac = MacAddress(reader, entry.index))) break;
    }
  }
  if (!network.ip && !network.mac) return std::nullopt;
  return network;
}

std::vector<protocol::Alert> ReadAlerts(const Reader& reader) {
  std::vector<protocol::Alert> alerts;
  for (const auto& entry : reader.Walk(kAlertCode)) {
    if (!entry.value->number) continue;
    protocol::Alert alert;
    alert.code = AlertCodeText(*entry.value->number);
    alert.severity = std::string(ReportSeverity(reader.Number(kAlertSeverity, entry.index).value_or(1)));
    const auto group = reader.Number(kAlertGroup, entry.index);
    // A std::string, not an optional<string_view>: GCC 12 at -O2 sees the latter as maybe uninitialised.
    std::optional<std::string> group_name;
    if (group) {
      if (auto name = AlertGroupName(*group)) group_name.emplace(name->data(), name->size());
    }
    if (group_name) alert.group = *group_name;
    // Which subunit: the group and its row (prtAlertGroupIndex), e.g. "input 2".
    const auto group_index = reader.Number(kAlertGroupIndex, entry.index);
    if (group_name && group_index && *group_index > 0) {
      alert.location = *group_name + " " + std::to_string(*group_index);
    }
    alert.description = reader.Text(kAlertDescription, entry.index);
    alerts.push_back(std::move(alert));
  }
  return alerts;
}

// Xerox descriptions carry the part and serial numbers: "Black Toner, PN 006R01509;SN4817...".
void ReadXeroxPartAndSerial(protocol::Supply& supply) {
  if (!supply.description) return;
  const std::string_view text = *supply.description;
  const auto pn = text.rfind(", PN ");
  if (pn == std::string_view::npos) return;
  const auto sn = text.find(";SN", pn);
  const auto part = Trim(text.substr(pn + 5, sn == std::string_view::npos ? sn : sn - pn - 5));
  if (!part.empty() && part != "unknown") supply.part_number = part;
  if (sn != std::string_view::npos) {
    const auto serial = Trim(text.substr(sn + 3));
    if (!serial.empty() && serial != "unknown") supply.serial = serial;
  }
}

std::vector<protocol::Supply> ReadSupplies(const Reader& reader) {
  // Recordings miss whole columns, so a row is any index seen in any column.
  std::set<Oid> rows;
  for (const auto column : {kSuppliesColorantIndex, kSuppliesType, kSuppliesDescription, kSuppliesUnit,
                            kSuppliesMaxCapacity, kSuppliesLevel}) {
    for (const auto& entry : reader.Walk(column)) rows.insert(entry.index);
  }
  std::vector<protocol::Supply> supplies;
  for (const auto& row : rows) {
    protocol::Supply supply;
    supply.index = row.back();
    if (const auto type = reader.Number(kSuppliesType, row)) {
      if (const auto name = SupplyTypeName(*type)) supply.type = std::string(*name);
    }
    if (const auto unit = reader.Number(kSuppliesUnit, row)) {
      if (const auto name = SupplyUnitName(*unit)) supply.unit = std::string(*name);
    }
    supply.description = reader.Text(kSuppliesDescription, row);
    supply.capacity = reader.Number(kSuppliesMaxCapacity, row);
    supply.level = reader.Number(kSuppliesLevel, row);
    // prtMarkerSuppliesColorantIndex 0 means "no colorant" (waste toner, drums).
    if (const auto colorant = reader.Number(kSuppliesColorantIndex, row); colorant && *colorant > 0 && row.size() >= 2) {
      supply.colorant = reader.Text(kColorantValue, Oid{row.front(), static_cast<std::uint32_t>(*colorant)});
    }
    ReadXeroxPartAndSerial(supply);
    supplies.push_back(std::move(supply));
  }
  return supplies;
}

std::optional<protocol::Counters> ReadCounters(const Reader& reader) {
  protocol::Counters counters;
  for (const auto& entry : reader.Walk(kPrtMarkerLifeCount)) {
    if (!entry.value->number || *entry.value->number < 0) continue;
    protocol::Counter counter;
    counter.name = counters.items.empty() ? MarkerLifeCounterName(reader.Number(kPrtMarkerCounterUnit, entry.index))
                                          : "x-marker." + OidToString(entry.index) + ".life-count";
    counter.value = *entry.value->number;
    counters.items.push_back(std::move(counter));
  }
  if (counters.items.empty()) return std::nullopt;
  return counters;
}

}  // namespace

std::string PlaceholderSerial(std::string_view recording_name) {
  std::string serial = "REC-";
  for (const char c : recording_name) {
    const bool keep = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-';
    serial.push_back(keep ? c : '-');
    if (serial.size() == 64) break;
  }
  return serial;
}

std::string MarkerLifeCounterName(std::optional<std::int64_t> counter_unit) {
  if (counter_unit == 7) return "total-impressions";
  if (counter_unit == 8) return "sheets";
  return "x-marker-life-count";
}

protocol::Device ReadPrinter(const SnmpRecording& recording, const PrinterReadOptions& options) {
  const Reader reader(recording);
  const auto sys_object_id = reader.At(kSysObjectId);
  const auto enterprise = sys_object_id && sys_object_id->type == SnmpType::kObjectId
                              ? EnterpriseNumber(sys_object_id->bytes)
                              : std::nullopt;
  const PrinterVendor* vendor = enterprise ? FindPrinterVendor(*enterprise) : nullptr;
  const Oid printer = PrinterDeviceIndex(reader);

  protocol::Device device;
  device.manufacturer = Manufacturer(reader, vendor);
  device.model = Model(reader, printer, device.manufacturer);
  device.serial = SerialFromRecording(reader, printer, vendor)
                      .value_or(options.fallback_serial.value_or(PlaceholderSerial(options.recording_name)));

  protocol::Identity identity;
  identity.firmware = Firmware(reader, vendor);
  identity.location = reader.Text(kSysLocation);
  identity.system_name = reader.Text(kSysName);
  if (identity.firmware || identity.location || identity.system_name) device.identity = identity;

  device.network = ReadNetwork(reader);

  protocol::Status status;
  if (const auto code = reader.Number(kHrDeviceStatus, printer)) {
    if (const auto name = DeviceStatusName(*code)) status.state = std::string(*name);
  }
  if (const auto code = reader.Number(kHrPrinterStatus, printer)) {
    if (const auto name = PrinterStatusName(*code)) status.printer_status = std::string(*name);
  }
  if (const auto ticks = reader.Number(kSysUpTime)) status.uptime_seconds = *ticks / 100;
  status.alerts = ReadAlerts(reader);
  if (status.state || status.printer_status || status.uptime_seconds || !status.alerts.empty()) {
    device.status = std::move(status);
  }

  device.counters = ReadCounters(reader);
  device.supplies = ReadSupplies(reader);
  return device;
}

protocol::Report DeviceReport(protocol::Device device, std::string report_id, std::string generated_at) {
  protocol::Report report;
  report.id = std::move(report_id);
  report.generated_at = std::move(generated_at);
  report.source = protocol::ReportSource::kDevice;
  report.devices.push_back(std::move(device));
  return report;
}

}  // namespace fleetcomm::tools
