#pragma once
// The device as GET /api/v1/devices/{id} shows it (PROTOCOL.md 4.2): the device row and
// what its reports said, with each supply's percent computed by the Printer-MIB rule.
#include "storage/devices.hpp"

#include <nlohmann/json.hpp>

namespace fleetcomm::server {

// `readings` is storage::DeviceReadingsDocument parsed.
nlohmann::json DeviceDetailJson(const storage::Device& device, const nlohmann::json& readings);

}  // namespace fleetcomm::server
