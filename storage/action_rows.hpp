#pragma once
// Internal to storage/: the column list of an action row and its reader, shared by the
// operator side (actions.cpp) and the client side (action_delivery.cpp).
#include "storage/actions.hpp"

#include <pqxx/pqxx>

namespace fleetcomm::storage::detail {

#define FLEETCOMM_ACTION_COLUMNS                                                                               \
  "actions.id, actions.seq, actions.account_id, actions.target_kind, actions.target_id, actions.type, "         \
  "actions.params::text, actions.state, fleetcomm_rfc3339(actions.queued_at), "                                  \
  "fleetcomm_rfc3339(actions.expires_at), actions.deliveries, actions.result::text, actions.authorized_by, "    \
  "actions.authorization_ref, fleetcomm_rfc3339(actions.authorized_at)"

inline std::optional<std::string> NullableText(const pqxx::field& field) {
  if (field.is_null()) return std::nullopt;
  return field.as<std::string>();
}

inline Action ReadAction(const pqxx::row& row) {
  Action a;
  a.id = row[0].as<std::string>();
  a.seq = row[1].as<long long>();
  a.account_id = row[2].as<std::string>();
  a.target_kind = row[3].as<std::string>() == "agent" ? ClientKind::kAgent : ClientKind::kDevice;
  a.target_id = row[4].as<std::string>();
  a.type = row[5].as<std::string>();
  a.params = row[6].as<std::string>();
  a.state = row[7].as<std::string>();
  a.queued_at = row[8].as<std::string>();
  a.expires_at = row[9].as<std::string>();
  a.deliveries = row[10].as<int>();
  a.result = NullableText(row[11]);
  a.authorized_by = NullableText(row[12]);
  a.authorization_ref = NullableText(row[13]);
  a.authorized_at = NullableText(row[14]);
  return a;
}

// Fills `history` of every action in `actions` (one query for all of them).
void LoadHistory(pqxx::transaction_base& tx, std::vector<Action*> actions);

// Appends one history row.
void RecordHistory(pqxx::transaction_base& tx, const std::string& action_id, const std::string& state,
                   const std::string& by, const std::optional<std::string>& message);

}  // namespace fleetcomm::storage::detail
