#include "storage/action_delivery.hpp"

#include "storage/action_rows.hpp"
#include "storage/audit.hpp"
#include "storage/db_task.hpp"
#include "storage/prepared.hpp"
#include "storage/sql_params.hpp"

#include <algorithm>

namespace fleetcomm::storage {
namespace {

using detail::ReadAction;

// Deliverable rows of client $1: queued, or delivered with an expired lease; not expired;
// not of a type the client turned off. The turned-off types are an anti-join, not
// `type <> ALL((SELECT ...))`: the planner estimates the latter at one row whatever the
// queue holds, and then reads the client's whole action history (an agent's grows without
// end) to sort it, instead of walking actions_deliverable in order up to the LIMIT.
#define FLEETCOMM_DELIVERABLE(clients)                                                                \
  "target_id = $1 AND state IN ('queued', 'delivered') AND (state = 'queued' OR lease_until <= now()) " \
  "AND expires_at > now() AND NOT EXISTS (SELECT FROM " clients " c WHERE c.id = $1 "                   \
  "AND actions.type = ANY(c.disabled_actions))"

// $1 client id, $2 lease s, $3 result deadline s, $4 max actions, $5 client id (history
// `by`), $6 account, $7 the request's audit entry (JSON array, "[]" for none). The account
// row is always returned (next_poll_s), joined with the delivered actions, if any. An empty
// poll reads the account by key and empty ranges of actions_deliverable; nothing is written
// (the audit entry neither: the request loop batches it) and no transaction id is taken.
// Columns 2 and 3 tell the empty-poll cache how long the client has nothing more to fetch:
// whether deliverable rows were left behind (past $4, or locked by a concurrent poll: the
// sub-selects read the statement's snapshot, before this poll's update; counting stops at
// $4 + 1, so a long queue costs no more than a full poll), and the seconds
// to the earliest lease end among the client's delivered rows, including those delivered now.
#define FLEETCOMM_POLL_CHANGES(clients)                                                                             \
  "WITH picked AS (SELECT id FROM actions WHERE " FLEETCOMM_DELIVERABLE(clients)                                    \
  " ORDER BY seq LIMIT $4 FOR UPDATE SKIP LOCKED), "                                                                \
  "delivered AS (UPDATE actions a SET state = 'delivered', lease_until = now() + make_interval(secs => $2), "        \
  "result_deadline = now() + make_interval(secs => $3), deliveries = a.deliveries + 1, last_delivered_at = now(), " \
  "updated_at = now() FROM picked WHERE a.id = picked.id RETURNING a.*), "                                          \
  "recorded AS (INSERT INTO action_history (action_id, state, by, message) "                                        \
  "SELECT id, 'delivered', $5, CASE WHEN deliveries = 1 THEN 'delivered' "                                          \
  "ELSE 'delivered again (no result within the lease), delivery ' || deliveries END FROM delivered), "
#define FLEETCOMM_POLL_ANSWER(clients)                                                                              \
  "SELECT accounts.poll_interval_s, "                                                                               \
  "(SELECT count(*) FROM (SELECT FROM actions WHERE " FLEETCOMM_DELIVERABLE(clients) " LIMIT $4 + 1) AS d) > "    \
  "(SELECT count(*) FROM delivered), "                                                                              \
  "extract(epoch FROM least((SELECT min(lease_until) FROM actions WHERE target_id = $1 AND state = 'delivered' "    \
  "AND lease_until > now()), (SELECT min(lease_until) FROM delivered)) - now())::float8, " FLEETCOMM_ACTION_COLUMNS \
  " FROM accounts LEFT JOIN delivered AS actions ON true WHERE accounts.id = $6 ORDER BY actions.seq"

std::string PollSql(const char* changes, const char* answer) {
  return std::string(changes) + "audit AS (" + AuditInsertSql(7, "EXISTS (SELECT FROM delivered)") + ") " + answer;
}

// Prepared: a poll that misses the empty-poll cache is the hottest statement after uploads.
const PreparedSql& PollStatement(ClientKind kind) {
  static const std::string device = PollSql(FLEETCOMM_POLL_CHANGES("devices"), FLEETCOMM_POLL_ANSWER("devices"));
  static const std::string agent = PollSql(FLEETCOMM_POLL_CHANGES("agents"), FLEETCOMM_POLL_ANSWER("agents"));
  static const PreparedSql device_statement{"action_poll_device", device.c_str()};
  static const PreparedSql agent_statement{"action_poll_agent", agent.c_str()};
  return kind == ClientKind::kAgent ? agent_statement : device_statement;
}
#undef FLEETCOMM_POLL_CHANGES
#undef FLEETCOMM_POLL_ANSWER
#undef FLEETCOMM_DELIVERABLE

// $1 action, $2 client, $3 status, $4 message, $5 data, $6 result deadline s, $7 the
// request's audit entry (as in the poll). One statement, autocommitted (one round trip):
// locks the client's row, records the result when the state machine allows it
// (delivered/in_progress take any status), writes a history row unless it repeats the
// state and message, and the audit entry when the result was recorded. Returns the row's
// state as it was and whether the result was recorded. A result racing another for the
// same row waits for it and is re-checked against its outcome.
const PreparedSql& ResultStatement() {
  static const std::string sql =
      "WITH current AS (SELECT id, state, result->>'message' AS message FROM actions "
      "WHERE id = $1 AND target_id = $2 FOR UPDATE), "
      "recorded AS (UPDATE actions a SET state = $3, result = jsonb_build_object('status', $3::text, "
      "'message', $4::text, 'data', $5::jsonb, 'at', fleetcomm_rfc3339(now())), lease_until = NULL, "
      "result_deadline = CASE WHEN $3 = 'in_progress' THEN now() + make_interval(secs => $6) END, updated_at = now() "
      "FROM current WHERE a.id = current.id AND current.state IN ('delivered', 'in_progress') RETURNING a.id), "
      "history AS (INSERT INTO action_history (action_id, state, by, message) SELECT recorded.id, $3, $2, $4 "
      "FROM recorded, current WHERE NOT (current.state = $3 AND current.message IS NOT DISTINCT FROM $4)), "
      "audit AS (" + AuditInsertSql(7, "EXISTS (SELECT FROM recorded)") + ") "
      "SELECT state, EXISTS (SELECT FROM recorded) FROM current";
  static const PreparedSql statement{"action_result", sql.c_str()};
  return statement;
}

constexpr const char* kExpire =
    "WITH picked AS (SELECT id, state FROM actions "
    "WHERE state IN ('awaiting_authorization', 'queued', 'delivered', 'in_progress') AND expires_at <= now() "
    "AND (state IN ('awaiting_authorization', 'queued') OR result_deadline IS NULL OR result_deadline <= now()) "
    "ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED), "
    "expired AS (UPDATE actions a SET state = 'expired', lease_until = NULL, result_deadline = NULL, "
    "updated_at = now() FROM picked WHERE a.id = picked.id RETURNING a.id, picked.state AS was) "
    "INSERT INTO action_history (action_id, state, by, message) "
    "SELECT id, 'expired', 'fleetcomm', CASE was "
    "WHEN 'awaiting_authorization' THEN 'expired before it was authorised' "
    "WHEN 'queued' THEN 'expired before it was delivered' "
    "WHEN 'delivered' THEN 'delivered, but the client reported no result before its deadline' "
    "ELSE 'in progress, but the client reported no final result before its deadline' END FROM expired";

}  // namespace

StorageResult<PollOutcome> PollActions(pqxx::connection_base& conn, const ClientIdentity& client,
                                       const DeliveryPolicy& policy, const AuditEntry* audit) {
  try {
    // One statement is atomic on its own: autocommit saves the BEGIN and COMMIT round trips.
    pqxx::nontransaction tx(conn);
    auto rows = ExecPrepared(tx, PollStatement(client.kind), client.id, static_cast<long long>(policy.lease.count()),
                             static_cast<long long>(policy.result_deadline.count()), policy.max_actions, client.id,
                             client.account_id.value_or(""), AuditEntriesParameter(audit));
    PollOutcome outcome;
    if (rows.empty()) return StorageError::Internal("polling client's account is missing");
    outcome.poll_interval_s = rows[0][0].as<int>();
    if (rows[0][1].as<bool>()) {
      outcome.quiet_for = std::chrono::milliseconds(0);
    } else if (!rows[0][2].is_null()) {
      const double seconds = std::max(0.0, rows[0][2].as<double>());
      outcome.quiet_for = std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
    }
    for (const auto& row : rows) {
      if (row[3].is_null()) continue;
      // ReadAction reads from column 0: slice off the account's columns.
      outcome.actions.push_back(ReadAction(row.slice(3, row.size())));
    }
    outcome.audit_recorded = audit != nullptr && !outcome.actions.empty();
    return outcome;
  } catch (...) {
    return TranslateCurrentException();
  }
}

StorageResult<ResultOutcome> PostActionResult(pqxx::connection_base& conn, const ClientIdentity& client,
                                              const std::string& action_id, const ActionResult& result,
                                              const DeliveryPolicy& policy, const AuditEntry* audit) {
  try {
    pqxx::nontransaction tx(conn);
    auto rows = ExecPrepared(tx, ResultStatement(), action_id, client.id, result.status,
                             OptionalText(result.message).get(), OptionalText(result.data).get(),
                             static_cast<long long>(policy.result_deadline.count()), AuditEntriesParameter(audit));
    if (rows.empty()) return ResultOutcome{ResultRefusal::kNotFound, {}};
    const std::string state = rows[0][0].as<std::string>();
    if (state == "awaiting_authorization" || state == "queued") return ResultOutcome{ResultRefusal::kNotDelivered, state};
    if (state != "delivered" && state != "in_progress") {
      // Final: only the same final status again is accepted, and changes nothing.
      if (state == result.status) return ResultOutcome{ResultRefusal::kNone, state};
      return ResultOutcome{ResultRefusal::kFinal, state};
    }
    return ResultOutcome{ResultRefusal::kNone, result.status, audit != nullptr && rows[0][1].as<bool>()};
  } catch (...) {
    return TranslateCurrentException();
  }
}

StorageResult<long long> ExpireActions(pqxx::connection_base& conn, int batch) {
  try {
    long long total = 0;
    for (;;) {
      pqxx::nontransaction tx(conn);
      const long long done = static_cast<long long>(tx.exec_params(kExpire, batch).affected_rows());
      total += done;
      if (done < batch) break;
    }
    return total;
  } catch (...) {
    return TranslateCurrentException();
  }
}

}  // namespace fleetcomm::storage
