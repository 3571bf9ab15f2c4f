#include "server/action_json.hpp"

namespace fleetcomm::server {
namespace {

using nlohmann::json;

json Parsed(const std::optional<std::string>& text) { return text ? json::parse(*text) : json(nullptr); }
json OrNull(const std::optional<std::string>& value) { return value ? json(*value) : json(nullptr); }

}  // namespace

json ActionJson(const storage::Action& a) {
  json history = json::array();
  for (const auto& entry : a.history) {
    history.push_back({{"state", entry.state}, {"at", entry.at}, {"by", entry.by}, {"message", OrNull(entry.message)}});
  }
  json authorization = nullptr;
  if (a.authorized_by) {
    authorization = {{"authorized_by", *a.authorized_by},
                     {"reference", OrNull(a.authorization_ref)},
                     {"at", OrNull(a.authorized_at)}};
  }
  return {{"id", a.id},
          {"account_id", a.account_id},
          {"target_kind", storage::ClientKindName(a.target_kind)},
          {"target_id", a.target_id},
          {"type", a.type},
          {"params", json::parse(a.params)},
          {"state", a.state},
          {"queued_at", a.queued_at},
          {"expires_at", a.expires_at},
          {"deliveries", a.deliveries},
          {"authorization", std::move(authorization)},
          {"history", std::move(history)},
          {"result", Parsed(a.result)}};
}

json ClientActionJson(const storage::Action& a) {
  return {{"id", a.id},
          {"type", a.type},
          {"params", json::parse(a.params)},
          {"queued_at", a.queued_at},
          {"expires_at", a.expires_at}};
}

}  // namespace fleetcomm::server
