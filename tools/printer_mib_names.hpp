#pragma once
// Enumeration names of the Printer-MIB (RFC 3805 and its IANA-PRINTER-MIB textual
// conventions) and of the Host Resources MIB, as report.xml carries them. nullopt means
// the device used a value that the MIB does not define.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fleetcomm::tools {

std::optional<std::string_view> SupplyTypeName(std::int64_t code);        // PrtMarkerSuppliesTypeTC
std::optional<std::string_view> SupplyUnitName(std::int64_t code);        // PrtMarkerSuppliesSupplyUnitTC
std::optional<std::string_view> MarkerCounterUnitName(std::int64_t code); // PrtMarkerCounterUnitTC
std::optional<std::string_view> AlertGroupName(std::int64_t code);        // PrtAlertGroupTC
std::optional<std::string_view> AlertCodeName(std::int64_t code);         // PrtAlertCodeTC
std::optional<std::string_view> AlertSeverityName(std::int64_t code);     // PrtAlertSeverityLevelTC
std::optional<std::string_view> DeviceStatusName(std::int64_t code);      // hrDeviceStatus
std::optional<std::string_view> PrinterStatusName(std::int64_t code);     // hrPrinterStatus

// The PrtAlertCodeTC name, or `undefined(n)` for a value outside the MIB, so that the
// code the device sent is never lost.
std::string AlertCodeText(std::int64_t code);

// report.xml knows three severities: critical(3) stays critical, both warning forms
// (4, and 5 = warningBinaryChangeEvent) are warnings, anything else (other(1), values
// outside the MIB) is info.
std::string_view ReportSeverity(std::int64_t prt_alert_severity_level);

}  // namespace fleetcomm::tools
