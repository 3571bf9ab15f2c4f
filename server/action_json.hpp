#pragma once
// The JSON forms of actions: the operator's view (PROTOCOL.md 4, with history and result)
// and what a polling client gets (3.4).
#include "storage/actions.hpp"

#include <nlohmann/json.hpp>

namespace fleetcomm::server {

nlohmann::json ActionJson(const storage::Action& action);
nlohmann::json ClientActionJson(const storage::Action& action);

}  // namespace fleetcomm::server
