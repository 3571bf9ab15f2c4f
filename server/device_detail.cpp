#include "server/device_detail.hpp"

#include "protocol/supply_level.hpp"
#include "server/representations.hpp"

namespace fleetcomm::server {
namespace {

using nlohmann::json;

std::optional<std::int64_t> Amount(const json& supply, const char* key) {
  const auto it = supply.find(key);
  if (it == supply.end() || !it->is_number_integer()) return std::nullopt;
  return it->get<std::int64_t>();
}

json SuppliesWithPercent(const json& supplies) {
  json out = json::array();
  for (json supply : supplies) {
    const auto percent = protocol::SupplyPercent(Amount(supply, "level"), Amount(supply, "capacity"));
    supply["percent"] = percent ? json(*percent) : json(nullptr);
    out.push_back(std::move(supply));
  }
  return out;
}

json Section(const json& snapshot, const char* key, json fallback) {
  if (snapshot.is_object() && snapshot.contains(key) && !snapshot[key].is_null()) return snapshot[key];
  return fallback;
}

}  // namespace

json DeviceDetailJson(const storage::Device& device, const json& readings) {
  json out = DeviceJson(device);
  const json& snapshot = readings.at("snapshot");
  json status = Section(snapshot, "status", json::object());
  out["class"] = readings.at("class");
  out["identity"] = Section(snapshot, "identity", nullptr);
  out["modules"] = Section(snapshot, "modules", json::array());
  out["network"] = Section(snapshot, "network", json::object());
  out["properties"] = Section(snapshot, "properties", json::object());
  out["status"] = {{"state", status.value("state", json(nullptr))},
                   {"printer_status", status.value("printer_status", json(nullptr))},
                   {"uptime_seconds", status.value("uptime_seconds", json(nullptr))},
                   {"alerts", status.value("alerts", json::array())}};
  out["faults"] = readings.at("faults");
  out["counters"] = readings.at("counters");
  out["supplies"] = SuppliesWithPercent(Section(snapshot, "supplies", json::array()));
  out["usage"] = Section(snapshot, "usage", json::array());
  out["reported_at"] = Section(snapshot, "generated_at", nullptr);
  out["last_upload_at"] = readings.at("last_upload_at");
  out["uploads"] = readings.at("uploads");
  return out;
}

}  // namespace fleetcomm::server
