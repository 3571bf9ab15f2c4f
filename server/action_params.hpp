#pragma once
// What each action type takes (PROTOCOL.md 4), checked in this one place before anything
// is stored: an unknown type, a type that does not suit the target, or params the type
// does not take are 422 invalid_request naming the field.
#include "server/json_input.hpp"
#include "storage/client_identities.hpp"

#include <nlohmann/json_fwd.hpp>

#include <optional>
#include <string>

namespace fleetcomm::server {

struct ValidatedAction {
  std::string type;
  std::string params;                          // JSON object text, as stored
  std::optional<std::string> release_version;  // upgrade_software
};

// `params`: the request's member, or null when absent (then {}).
Parsed<ValidatedAction> ValidateAction(const std::string& type, const nlohmann::json* params,
                                       storage::ClientKind target);

}  // namespace fleetcomm::server
