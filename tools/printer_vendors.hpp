#pragma once
// What little we know per printer vendor: the name for its SNMP enterprise number
// (sysObjectID 1.3.6.1.4.1.<n>...) and the private objects where it keeps a serial number
// or a firmware version that the standard MIBs lack. Deliberately small: only vendors
// seen in real recordings, only objects seen holding the right value.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fleetcomm::tools {

struct PrinterVendor {
  std::uint32_t enterprise = 0;
  std::string_view name;
  std::vector<std::string_view> serial_oids;
  std::vector<std::string_view> firmware_oids;
};

const PrinterVendor* FindPrinterVendor(std::uint32_t enterprise);

// The enterprise number of a sysObjectID under 1.3.6.1.4.1, if it is one.
std::optional<std::uint32_t> EnterpriseNumber(std::string_view sys_object_id);

// Objects holding an IEEE 1284 device ID ("MFG:...;MDL:...;"), in the order they are tried.
const std::vector<std::string_view>& Ieee1284DeviceIdOids();

// The value of `key` (MDL, MODEL, SN, ...) in an IEEE 1284 device ID, keys compared
// case-insensitively, or nullopt.
std::optional<std::string> Ieee1284Field(std::string_view device_id, std::string_view key);

// The first dotted version number in free text ("Firmware Ver.1.01 (08.12.12)" -> "1.01",
// "... V11.01.03.04_02-27-2017" -> "11.01.03.04"), or nullopt.
std::optional<std::string> FindVersion(std::string_view text);

}  // namespace fleetcomm::tools
