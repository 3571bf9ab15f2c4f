#pragma once
// The value rules of PROTOCOL.md section 5 as pure functions over attribute text, and the
// closed vocabularies they draw on. No std::regex: these run on every attribute of
// untrusted uploads, and hand-written checks have predictable cost.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace fleetcomm::protocol::values {

// 8-4-4-4-12 hex digits, either case (the caller lower-cases).
bool IsUuid(std::string_view text);
std::string LowerAscii(std::string_view text);

// RFC 3339 date-time with a mandatory offset: YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM).
// Stricter than RFC 3339 where xs:dateTime is (so the XSD accepts every accepted value):
// upper-case T and Z only, no leap second, years 0001-9999, offsets within +-14:00.
bool IsTime(std::string_view text);

// Decimal digits only (no sign, no blanks, no exponent), value < 2^63.
std::optional<std::int64_t> ParseUnsigned(std::string_view text);
// Optional '-' then decimal digits, minimum <= value < 2^63.
std::optional<std::int64_t> ParseInteger(std::string_view text, std::int64_t minimum);
// xs:boolean lexical forms: true, false, 1, 0.
std::optional<bool> ParseBoolean(std::string_view text);

// [a-z0-9][a-z0-9.-]{0,63}, and either a standard name or one starting with "x-".
bool IsCounterName(std::string_view text);

bool IsOneOf(std::string_view text, std::span<const std::string_view> allowed);

std::span<const std::string_view> DeviceSources();      // device, agent
std::span<const std::string_view> SecurityModes();      // normal, lockdown
std::span<const std::string_view> DeviceClasses();      // office, production, other
std::span<const std::string_view> ActionTypes();        // PROTOCOL.md 4.4
std::span<const std::string_view> StandardCounters();   // PROTOCOL.md 5
std::span<const std::string_view> SupplyTypes();        // PrtMarkerSuppliesTypeTC
std::span<const std::string_view> SupplyUnits();        // PrtMarkerSuppliesSupplyUnitTC
std::span<const std::string_view> SupplyStates();       // ok, low, empty, unknown
std::span<const std::string_view> DeviceStatuses();     // hrDeviceStatus
std::span<const std::string_view> PrinterStatuses();    // hrPrinterStatus
std::span<const std::string_view> AlertSeverities();    // critical, warning, info
std::span<const std::string_view> AlertGroups();        // PrtAlertGroupTC

}  // namespace fleetcomm::protocol::values
