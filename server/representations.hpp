#pragma once
// The JSON forms of stored objects in operator answers (PROTOCOL.md section 4), and the
// shared shape of handler failures.
#include "server/http.hpp"
#include "storage/agents.hpp"
#include "storage/devices.hpp"

#include <nlohmann/json.hpp>

namespace fleetcomm::server {

nlohmann::json AccountJson(const storage::Account& account);
nlohmann::json DeviceJson(const storage::Device& device);
nlohmann::json AgentJson(const storage::Agent& agent);

template <class T, class ToJson>
nlohmann::json PageJson(const storage::Page<T>& page, ToJson to_json) {
  nlohmann::json items = nlohmann::json::array();
  for (const auto& item : page.items) items.push_back(to_json(item));
  return {{"items", std::move(items)}, {"next", page.next ? nlohmann::json(*page.next) : nlohmann::json(nullptr)}};
}

// Logs the storage error's internal detail with the request id; answers the mapped error.
HttpResponse StorageFailure(const RequestContext& context, const storage::StorageError& error);
HttpResponse NotFound();
HttpResponse Json(unsigned status, const nlohmann::json& body);

}  // namespace fleetcomm::server
