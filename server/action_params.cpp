#include "server/action_params.hpp"

#include "protocol/report_values.hpp"
#include "protocol/software_version.hpp"

#include <nlohmann/json.hpp>

#include <initializer_list>

namespace fleetcomm::server {
namespace {

using nlohmann::json;
using protocol::ErrorCode;

constexpr std::size_t kMaxParamsBytes = 16 * 1024;

ApiError Invalid(std::string message) { return ApiError(ErrorCode::kInvalidRequest, std::move(message)); }

std::optional<ApiError> OnlyKeys(const json& object, const std::string& where, std::initializer_list<const char*> keys) {
  for (const auto& [name, value] : object.items()) {
    bool known = false;
    for (const char* key : keys) known = known || name == key;
    if (!known) return Invalid(where + ": unknown setting '" + name.substr(0, 64) + "'");
  }
  return std::nullopt;
}

bool PrintableText(const json& value, std::size_t max_bytes) {
  if (!value.is_string()) return false;
  const auto& text = value.get_ref<const std::string&>();
  if (text.empty() || text.size() > max_bytes) return false;
  for (unsigned char c : text) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

std::optional<ApiError> IntegerIn(const json& object, const char* key, const std::string& where, long long min,
                                  long long max) {
  auto it = object.find(key);
  if (it == object.end()) return std::nullopt;
  if (!it->is_number_integer() || it->get<long long>() < min || it->get<long long>() > max ||
      (it->is_number_unsigned() && it->get<unsigned long long>() > static_cast<unsigned long long>(max))) {
    return Invalid(where + "." + key + " must be a whole number from " + std::to_string(min) + " to " +
                   std::to_string(max));
  }
  return std::nullopt;
}

std::optional<ApiError> TextList(const json& object, const char* key, const std::string& where, std::size_t max_items,
                                 std::size_t max_bytes) {
  auto it = object.find(key);
  if (it == object.end()) return std::nullopt;
  bool ok = it->is_array() && it->size() <= max_items;
  if (ok) {
    for (const auto& item : *it) ok = ok && PrintableText(item, max_bytes);
  }
  if (!ok) {
    return Invalid(where + "." + key + " must be a list of at most " + std::to_string(max_items) +
                   " non-empty strings of at most " + std::to_string(max_bytes) + " bytes");
  }
  return std::nullopt;
}

// Agent settings (R4.2): the keys PROTOCOL.md 4 lists, with the ranges of docs/api-extensions.md.
std::optional<ApiError> CheckSettings(const json& params) {
  if (params.empty()) return Invalid("params: change_settings needs at least one setting");
  if (auto e = OnlyKeys(params, "params",
                        {"discovery", "export_frequency", "snmp", "alert_profiles", "auto_update_frequency"})) {
    return e;
  }
  if (params.contains("discovery") && !params["discovery"].is_object()) {
    return Invalid("params.discovery must be an object");
  }
  if (auto e = IntegerIn(params, "export_frequency", "params", 300, 604800)) return e;
  if (auto e = IntegerIn(params, "auto_update_frequency", "params", 3600, 2592000)) return e;
  if (auto e = TextList(params, "alert_profiles", "params", 32, 100)) return e;
  if (auto it = params.find("snmp"); it != params.end()) {
    if (!it->is_object() || it->empty()) return Invalid("params.snmp must be an object with at least one setting");
    if (auto e = OnlyKeys(*it, "params.snmp", {"retries", "timeout_ms", "communities"})) return e;
    if (auto e = IntegerIn(*it, "retries", "params.snmp", 0, 10)) return e;
    if (auto e = IntegerIn(*it, "timeout_ms", "params.snmp", 100, 60000)) return e;
    if (auto e = TextList(*it, "communities", "params.snmp", 16, 64)) return e;
  }
  return std::nullopt;
}

}  // namespace

Parsed<ValidatedAction> ValidateAction(const std::string& type, const json* params_in, storage::ClientKind target) {
  if (!protocol::values::IsOneOf(type, protocol::values::ActionTypes())) {
    return Invalid("unknown action type '" + type.substr(0, 64) + "'");
  }
  const json params = params_in == nullptr || params_in->is_null() ? json::object() : *params_in;
  if (!params.is_object()) return Invalid("params must be a JSON object");
  std::string text = params.dump(-1, ' ', false, json::error_handler_t::replace);
  if (text.size() > kMaxParamsBytes) return Invalid("params are larger than 16 KiB");

  ValidatedAction action{type, {}, std::nullopt};
  if (type == "upgrade_software") {
    if (auto e = OnlyKeys(params, "params", {"version"})) return *e;
    auto it = params.find("version");
    if (it == params.end() || !PrintableText(*it, 100) || !protocol::VersionKey(it->get<std::string>())) {
      return Invalid("params.version is required: a version such as 1.2.3");
    }
    action.release_version = it->get<std::string>();
  } else if (type == "add_service") {
    if (auto e = OnlyKeys(params, "params", {"service"})) return *e;
    auto it = params.find("service");
    if (it == params.end() || !PrintableText(*it, 100)) {
      return Invalid("params.service is required: a name of at most 100 bytes");
    }
  } else if (type == "change_settings") {
    if (target != storage::ClientKind::kAgent) return Invalid("change_settings is for agents only");
    if (auto e = CheckSettings(params)) return *e;
  } else if (!params.empty()) {
    return Invalid(type + " takes no params");
  }
  action.params = std::move(text);
  return action;
}

}  // namespace fleetcomm::server
