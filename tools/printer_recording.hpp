#pragma once
// A printer as report.xml describes it (PROTOCOL.md 5), read from an SNMP recording of
// the Printer-MIB (RFC 3805), the Host Resources MIB and MIB-2. What the recording does
// not hold is left absent; nothing is guessed except where a required attribute
// (serial, manufacturer, model) would otherwise be missing.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/report.hpp"
#include "tools/snmprec.hpp"

namespace fleetcomm::tools {

struct PrinterReadOptions {
  // Used when the recording holds no serial number (see ReadPrinter).
  std::optional<std::string> fallback_serial;
  // A name for the recording (the file name): the last resort for the serial.
  std::string recording_name;
};

// The serial is prtGeneralSerialNumber, else the vendor's private serial object, else
// an `SN:` field of sysDescr (HP JetDirect), else options.fallback_serial, else
// PlaceholderSerial(options.recording_name).
// The model is hrDeviceDescr of the hrDevicePrinter row, else the IEEE 1284 device ID's
// MDL/MODEL, else prtGeneralPrinterName, else sysDescr without a leading manufacturer name.
// Counters: see MarkerLifeCounterName.
protocol::Device ReadPrinter(const SnmpRecording& recording, const PrinterReadOptions& options);

// A stable serial for a recording without one: "REC-" and the name's letters, digits,
// dots and dashes (others become '-'), at most 64 characters.
std::string PlaceholderSerial(std::string_view recording_name);

// The counter name of prtMarkerLifeCount by its prtMarkerCounterUnit, for the first
// marker: impressions(7) -> total-impressions, sheets(8) -> sheets, anything else or
// missing -> x-marker-life-count (the value is still a meter, in a unit we cannot name).
// Further markers are x-marker.<hrDeviceIndex>.<markerIndex>.life-count.
std::string MarkerLifeCounterName(std::optional<std::int64_t> counter_unit);


// A device report (source="device") holding just this device.
protocol::Report DeviceReport(protocol::Device device, std::string report_id, std::string generated_at);

}  // namespace fleetcomm::tools
