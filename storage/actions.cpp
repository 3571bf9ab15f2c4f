#include "storage/actions.hpp"

#include "protocol/software_version.hpp"
#include "storage/action_rows.hpp"
#include "storage/db_task.hpp"
#include "storage/paging.hpp"
#include "storage/sql_params.hpp"

#include <algorithm>
#include <array>
#include <map>

namespace fleetcomm::storage {
namespace {

using detail::ReadAction;
using detail::RecordHistory;

// FOR SHARE: a revocation or a report changing disabled_actions waits for the queuing
// transaction (or the queuing sees its result), never half of it.
constexpr const char* kDeviceTarget =
    "SELECT account_id, state, $2 = ANY(disabled_actions), false, model FROM devices WHERE id = $1 FOR SHARE";
constexpr const char* kAgentTarget =
    "SELECT account_id, state, $2 = ANY(disabled_actions), security_mode = 'lockdown', product FROM agents "
    "WHERE id = $1 FOR SHARE";

constexpr const char* kRelease =
    "SELECT jsonb_build_object('url', url, 'sha256', sha256, 'size', size)::text FROM software_releases "
    "WHERE model_key = lower(btrim($1)) AND version_key = $2::bigint[]";

constexpr const char* kInsert =
    "INSERT INTO actions (account_id, target_kind, target_id, type, params, state, expires_at) "
    "VALUES ($1, $2, $3, $4, $5::jsonb || COALESCE($6::jsonb, '{}'), $7, now() + make_interval(secs => $8)) "
    "RETURNING " FLEETCOMM_ACTION_COLUMNS;

constexpr const char* kSelect =
    "SELECT " FLEETCOMM_ACTION_COLUMNS " FROM actions WHERE id = $1 "
    "AND ($2::text[] IS NULL OR account_id = ANY($2::text[]))";

constexpr const char* kSelectForUpdate =
    "SELECT " FLEETCOMM_ACTION_COLUMNS " FROM actions WHERE id = $1 "
    "AND ($2::text[] IS NULL OR account_id = ANY($2::text[])) FOR UPDATE";

constexpr const char* kList =
    "SELECT " FLEETCOMM_ACTION_COLUMNS " FROM actions WHERE seq > $1 "
    "AND ($2::text[] IS NULL OR account_id = ANY($2::text[])) AND ($3::text IS NULL OR account_id = $3) "
    "AND ($4::text IS NULL OR target_id = $4) AND ($5::text IS NULL OR state = $5) ORDER BY seq LIMIT $6";

constexpr const char* kAuthorize =
    "UPDATE actions SET state = 'queued', authorized_by = $2, authorization_ref = $3, authorized_at = now(), "
    "updated_at = now() WHERE id = $1 RETURNING " FLEETCOMM_ACTION_COLUMNS;

constexpr const char* kCancel =
    "UPDATE actions SET state = 'cancelled', lease_until = NULL, result_deadline = NULL, updated_at = now() "
    "WHERE id = $1 RETURNING " FLEETCOMM_ACTION_COLUMNS;

constexpr const char* kHistory =
    "SELECT action_id, state, fleetcomm_rfc3339(at), by, message FROM action_history "
    "WHERE action_id = ANY($1::text[]) ORDER BY id";

constexpr const char* kRecord = "INSERT INTO action_history (action_id, state, by, message) VALUES ($1, $2, $3, $4)";

bool IsFinal(const std::string& state) {
  static const std::array<std::string_view, 5> kFinal{"succeeded", "failed", "rejected", "cancelled", "expired"};
  for (auto s : kFinal) {
    if (s == state) return true;
  }
  return false;
}

std::optional<std::string> ScopeLiteral(const std::optional<std::vector<std::string>>& scope) {
  if (!scope) return std::nullopt;
  return TextArrayLiteral(*scope);
}

std::string VersionLiteral(const std::vector<std::int64_t>& key) {
  std::string out = "{";
  for (std::size_t i = 0; i < key.size(); ++i) out += (i ? "," : "") + std::to_string(key[i]);
  return out + "}";
}

Action WithHistory(pqxx::transaction_base& tx, Action action) {
  detail::LoadHistory(tx, {&action});
  return action;
}

}  // namespace

namespace detail {

void LoadHistory(pqxx::transaction_base& tx, std::vector<Action*> actions) {
  if (actions.empty()) return;
  std::vector<std::string> ids;
  std::map<std::string, Action*> by_id;
  for (auto* action : actions) {
    ids.push_back(action->id);
    by_id[action->id] = action;
  }
  for (const auto& row : tx.exec_params(kHistory, TextArrayLiteral(ids))) {
    by_id.at(row[0].as<std::string>())
        ->history.push_back({row[1].as<std::string>(), row[2].as<std::string>(), row[3].as<std::string>(),
                             NullableText(row[4])});
  }
}

void RecordHistory(pqxx::transaction_base& tx, const std::string& action_id, const std::string& state,
                   const std::string& by, const std::optional<std::string>& message) {
  tx.exec_params(kRecord, action_id, state, by, OptionalText(message).get());
}

}  // namespace detail

std::string_view ClientKindName(ClientKind kind) { return kind == ClientKind::kAgent ? "agent" : "device"; }

bool IsEscalation(std::string_view type) {
  return type == "restart" || type == "upgrade_software" || type == "change_settings";
}

StorageResult<QueueOutcome> QueueAction(pqxx::connection_base& conn, const NewAction& n, const AuditEntry* audit) {
  try {
    pqxx::work tx(conn);
    const bool agent = n.target_kind == ClientKind::kAgent;
    auto targets = tx.exec_params(agent ? kAgentTarget : kDeviceTarget, n.target_id, n.type);
    if (targets.empty()) return QueueOutcome{QueueRefusal::kNotFound, {}};
    const auto& target = targets[0];
    const auto account = detail::NullableText(target[0]);
    if (n.scope && (!account || std::find(n.scope->begin(), n.scope->end(), *account) == n.scope->end())) {
      return QueueOutcome{QueueRefusal::kNotFound, {}};
    }
    if (!account || target[1].as<std::string>() != "active") return QueueOutcome{QueueRefusal::kNotActive, {}};
    if (target[3].as<bool>()) return QueueOutcome{QueueRefusal::kLockdown, {}};
    if (target[2].as<bool>()) return QueueOutcome{QueueRefusal::kDisabled, {}};

    std::optional<std::string> release;
    if (n.release_version) {
      const auto key = protocol::VersionKey(*n.release_version);
      const auto model = detail::NullableText(target[4]);
      if (!key || !model) return QueueOutcome{QueueRefusal::kNoRelease, {}};
      auto rows = tx.exec_params(kRelease, *model, VersionLiteral(*key));
      if (rows.empty()) return QueueOutcome{QueueRefusal::kNoRelease, {}};
      release = rows[0][0].as<std::string>();
    }

    const std::string state = IsEscalation(n.type) ? "awaiting_authorization" : "queued";
    auto row = tx.exec_params1(kInsert, *account, std::string(ClientKindName(n.target_kind)), n.target_id, n.type,
                               n.params, OptionalText(release).get(), state,
                               static_cast<long long>(n.expires_in.count()));
    Action action = ReadAction(row);
    RecordHistory(tx, action.id, state, n.by,
                  state == "queued" ? std::optional<std::string>("queued")
                                    : std::optional<std::string>("queued; needs the customer's authorisation"));
    action = WithHistory(tx, std::move(action));
    if (audit) {
      InsertChangeEntry(tx, *audit, AuditedTable::kActions, "", AuditRowDocument(tx, AuditedTable::kActions, action.id));
    }
    tx.commit();
    return QueueOutcome{QueueRefusal::kNone, std::move(action)};
  } catch (...) {
    return TranslateCurrentException();
  }
}

StorageResult<std::optional<Action>> GetAction(pqxx::connection_base& conn, const std::string& id,
                                               const std::optional<std::vector<std::string>>& scope) {
  try {
    pqxx::read_transaction tx(conn);
    auto rows = tx.exec_params(kSelect, id, OptionalText(ScopeLiteral(scope)).get());
    if (rows.empty()) return std::optional<Action>{};
    return std::optional<Action>{WithHistory(tx, ReadAction(rows[0]))};
  } catch (...) {
    return TranslateCurrentException();
  }
}

StorageResult<Page<Action>> ListActions(pqxx::connection_base& conn, const ActionFilter& filter, long long after,
                                        int limit) {
  try {
    pqxx::read_transaction tx(conn);
    auto rows = tx.exec_params(kList, after, OptionalText(ScopeLiteral(filter.scope)).get(),
                               OptionalText(filter.account_id).get(), OptionalText(filter.target_id).get(),
                               OptionalText(filter.state).get(), limit + 1);
    auto page = MakePage<Action>(rows, limit, ReadAction, [](const Action& a) { return std::to_string(a.seq); });
    std::vector<Action*> items;
    for (auto& action : page.items) items.push_back(&action);
    detail::LoadHistory(tx, items);
    return page;
  } catch (...) {
    return TranslateCurrentException();
  }
}

StorageResult<ChangeOutcome> AuthorizeAction(pqxx::connection_base& conn, const std::string& id,
                                             const std::optional<std::vector<std::string>>& scope,
                                             const Authorisation& authorisation, const AuditEntry* audit) {
  try {
    pqxx::work tx(conn);
    auto rows = tx.exec_params(kSelectForUpdate, id, OptionalText(ScopeLiteral(scope)).get());
    if (rows.empty()) return ChangeOutcome{ChangeRefusal::kNotFound, {}};
    const std::string before = audit ? AuditRowDocument(tx, AuditedTable::kActions, id) : "";
    const Action current = ReadAction(rows[0]);
    if (current.state != "awaiting_authorization") {
      return ChangeOutcome{IsFinal(current.state) ? ChangeRefusal::kFinal : ChangeRefusal::kWrongState, {}};
    }
    Action action = ReadAction(tx.exec_params1(kAuthorize, id, authorisation.authorized_by, authorisation.reference));
    RecordHistory(tx, id, "queued", authorisation.by,
                  "authorised by " + authorisation.authorized_by + " (reference " + authorisation.reference + ")");
    action = WithHistory(tx, std::move(action));
    if (audit) InsertChangeEntry(tx, *audit, AuditedTable::kActions, before, AuditRowDocument(tx, AuditedTable::kActions, id));
    tx.commit();
    return ChangeOutcome{ChangeRefusal::kNone, std::move(action)};
  } catch (...) {
    return TranslateCurrentException();
  }
}

StorageResult<ChangeOutcome> CancelAction(pqxx::connection_base& conn, const std::string& id,
                                          const std::optional<std::vector<std::string>>& scope, const std::string& by,
                                          const AuditEntry* audit) {
  try {
    pqxx::work tx(conn);
    auto rows = tx.exec_params(kSelectForUpdate, id, OptionalText(ScopeLiteral(scope)).get());
    if (rows.empty()) return ChangeOutcome{ChangeRefusal::kNotFound, {}};
    const std::string before = audit ? AuditRowDocument(tx, AuditedTable::kActions, id) : "";
    Action action = ReadAction(rows[0]);
    if (action.state == "cancelled") {
      // Answered like a cancellation, so recorded like one (before and after alike).
      action = WithHistory(tx, std::move(action));
      if (audit) InsertChangeEntry(tx, *audit, AuditedTable::kActions, before, before);
      tx.commit();
      return ChangeOutcome{ChangeRefusal::kNone, std::move(action)};
    }
    if (IsFinal(action.state)) return ChangeOutcome{ChangeRefusal::kFinal, {}};
    const std::string was = action.state;
    action = ReadAction(tx.exec_params1(kCancel, id));
    RecordHistory(tx, id, "cancelled", by, "cancelled while " + was);
    action = WithHistory(tx, std::move(action));
    if (audit) InsertChangeEntry(tx, *audit, AuditedTable::kActions, before, AuditRowDocument(tx, AuditedTable::kActions, id));
    tx.commit();
    return ChangeOutcome{ChangeRefusal::kNone, std::move(action)};
  } catch (...) {
    return TranslateCurrentException();
  }
}

}  // namespace fleetcomm::storage
