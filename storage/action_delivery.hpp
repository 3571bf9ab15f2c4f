#pragma once
// The client side of action queues (PROTOCOL.md 3.4) and the expiry sweep. Polls and the
// sweep lock rows with SKIP LOCKED, so several server instances serving one client at the
// same moment never hand one action to two polls, and sweeps running on every instance
// share the work instead of waiting on each other.
#include "storage/actions.hpp"
#include "storage/audit.hpp"

namespace fleetcomm::storage {

struct DeliveryPolicy {
  std::chrono::seconds lease{3600};             // a delivered action comes back after this
  std::chrono::seconds result_deadline{86400};  // then expires without a final result
  int max_actions = 20;                         // per poll
};

struct PollOutcome {
  std::vector<Action> actions;  // delivered now, in queue order (history not loaded)
  int poll_interval_s = 86400;  // the account's setting
  // How long, as this poll saw it, the client has nothing (more) to fetch unless a change
  // makes a row deliverable: zero when deliverable rows were left behind (past max_actions,
  // or locked by a concurrent poll); else the time to the earliest lease end of its
  // delivered actions; nullopt when none is leased.
  std::optional<std::chrono::milliseconds> quiet_for;
  bool audit_recorded = false;  // the request's entry committed with the deliveries
};

// One statement, autocommitted: picks the client's deliverable actions (queued, or
// delivered with an expired lease; not expired; not of a type the client turned off),
// marks them delivered with a lease and records the delivery in their history. When it
// delivers any, `audit` (the request's entry, if given) is inserted by the same statement;
// a poll that delivers nothing changes nothing and leaves the entry to the caller.
StorageResult<PollOutcome> PollActions(pqxx::connection_base& conn, const ClientIdentity& client,
                                       const DeliveryPolicy& policy, const AuditEntry* audit = nullptr);

struct ActionResult {
  std::string status;  // succeeded, failed, rejected, in_progress
  std::optional<std::string> message;
  std::optional<std::string> data;  // JSON object text
};

enum class ResultRefusal {
  kNone,
  kNotFound,      // not this client's action
  kFinal,         // a different status after a final one
  kNotDelivered,  // awaiting authorisation or queued: the client cannot be running it
};

struct ResultOutcome {
  ResultRefusal refusal = ResultRefusal::kNone;
  std::string state;            // the action's state after this result
  bool audit_recorded = false;  // the request's entry committed with the result
};

// The state machine of 3.4: delivered/in_progress take any status; the same final status
// again changes nothing and succeeds; a different one after a final state is refused.
// When the result is recorded, `audit` (if given) is inserted by the same statement;
// refusals and repeats change nothing and leave the entry to the caller.
StorageResult<ResultOutcome> PostActionResult(pqxx::connection_base& conn, const ClientIdentity& client,
                                              const std::string& action_id, const ActionResult& result,
                                              const DeliveryPolicy& policy, const AuditEntry* audit = nullptr);

// Open actions past their time end `expired` with a reason in their history: undelivered
// ones past expires_at; delivered/in_progress ones past both expires_at and their result
// deadline. Works in batches; returns how many expired.
StorageResult<long long> ExpireActions(pqxx::connection_base& conn, int batch = 1000);

}  // namespace fleetcomm::storage
