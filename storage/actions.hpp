#pragma once
// The operator side of action queues (PROTOCOL.md 4): queue for a device or an agent,
// read with history, list, authorise, cancel. Every change writes its history row in the
// same transaction, with who did it. Client delivery and results are in action_delivery.hpp.
#include "storage/accounts.hpp"
#include "storage/client_identities.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace fleetcomm::storage {

struct ActionHistoryEntry {
  std::string state;
  std::string at;  // RFC 3339, UTC
  std::string by;  // operator token name, client id, or "fleetcomm" (expiry job)
  std::optional<std::string> message;
};

struct Action {
  std::string id;
  long long seq = 0;  // queue order; also the list cursor
  std::string account_id;
  ClientKind target_kind = ClientKind::kDevice;
  std::string target_id;
  std::string type;
  std::string params;  // JSON object text
  std::string state;
  std::string queued_at;
  std::string expires_at;
  int deliveries = 0;
  std::optional<std::string> result;  // JSON object text
  std::optional<std::string> authorized_by;
  std::optional<std::string> authorization_ref;
  std::optional<std::string> authorized_at;
  std::vector<ActionHistoryEntry> history;
};

std::string_view ClientKindName(ClientKind kind);

// Escalation types wait for a recorded customer authorisation before they can be delivered.
bool IsEscalation(std::string_view type);

struct NewAction {
  ClientKind target_kind = ClientKind::kDevice;
  std::string target_id;
  std::optional<std::vector<std::string>> scope;  // visible accounts; none: all
  std::string type;
  std::string params;  // validated JSON object text
  std::chrono::seconds expires_in{604800};
  std::string by;
  // upgrade_software: the version whose release (for the target's model) the action carries
  std::optional<std::string> release_version;
};

enum class QueueRefusal {
  kNone,
  kNotFound,   // no such target, or outside the scope
  kNotActive,  // pending or revoked target
  kLockdown,   // agent in lockdown mode
  kDisabled,   // the client turned this type off
  kNoRelease,  // upgrade_software: no such version in the catalogue for the target's model
};

struct QueueOutcome {
  QueueRefusal refusal = QueueRefusal::kNone;
  std::optional<Action> action;
};

StorageResult<QueueOutcome> QueueAction(pqxx::connection_base& conn, const NewAction& action,
                                        const AuditEntry* audit = nullptr);

// nullopt when absent or outside `scope` (the same answer for both).
StorageResult<std::optional<Action>> GetAction(pqxx::connection_base& conn, const std::string& id,
                                               const std::optional<std::vector<std::string>>& scope);

struct ActionFilter {
  std::optional<std::vector<std::string>> scope;
  std::optional<std::string> account_id;
  std::optional<std::string> target_id;
  std::optional<std::string> state;
};
// Queue order; `after` is the previous page's cursor (a seq), empty for the first page.
StorageResult<Page<Action>> ListActions(pqxx::connection_base& conn, const ActionFilter& filter, long long after,
                                        int limit);

enum class ChangeRefusal {
  kNone,
  kNotFound,
  kWrongState,  // e.g. authorising an action that is not awaiting authorisation
  kFinal,       // the action is already final
};

struct ChangeOutcome {
  ChangeRefusal refusal = ChangeRefusal::kNone;
  std::optional<Action> action;  // after the change (or unchanged, for an idempotent repeat)
};

struct Authorisation {
  std::string authorized_by;  // the customer's person who authorised
  std::string reference;      // ticket, e-mail, ...
  std::string by;             // the operator who recorded it
};

// awaiting_authorization -> queued.
StorageResult<ChangeOutcome> AuthorizeAction(pqxx::connection_base& conn, const std::string& id,
                                             const std::optional<std::vector<std::string>>& scope,
                                             const Authorisation& authorisation, const AuditEntry* audit = nullptr);

// Any open state -> cancelled; cancelling a cancelled action again changes nothing.
StorageResult<ChangeOutcome> CancelAction(pqxx::connection_base& conn, const std::string& id,
                                          const std::optional<std::vector<std::string>>& scope, const std::string& by,
                                          const AuditEntry* audit = nullptr);

}  // namespace fleetcomm::storage
