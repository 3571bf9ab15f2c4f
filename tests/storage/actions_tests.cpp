// storage/actions, action_delivery, software: the queue's state machine against the real
// PostgreSQL, including two pollers of one client racing on separate connections.
#include "storage/action_delivery.hpp"
#include "storage/actions.hpp"
#include "storage/software.hpp"
#include "tests/support/temp_postgres.hpp"

#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include <atomic>
#include <set>
#include <thread>

using namespace fleetcomm::storage;
using fleetcomm::testing::QueryNumber;
using fleetcomm::testing::TempPostgres;

namespace {

void Exec(pqxx::connection& conn, const std::string& sql) {
  pqxx::work tx(conn);
  tx.exec(sql);
  tx.commit();
}

// An account ac_1 with an active device dv_1 (model M1) and an agent ag_1; ac_2 has dv_2.
void Seed(pqxx::connection& conn) {
  Exec(conn,
       "INSERT INTO accounts (id, name, poll_interval_s, remote_software_updates) VALUES ('ac_1', 'one', 3600, true), "
       "('ac_2', 'two', 86400, false);"
       "INSERT INTO devices (id, account_id, manufacturer, serial, model, state) VALUES "
       "('dv_1', 'ac_1', 'Xerox', 'S1', 'M1', 'active'), ('dv_2', 'ac_2', 'Xerox', 'S2', 'M1', 'active'), "
       "('dv_p', NULL, 'Xerox', 'S3', 'M1', 'pending');"
       "INSERT INTO registration_keys (id, account_id, key_sha256) VALUES ('rk_1', 'ac_1', decode(repeat('ab', 32), 'hex'));"
       "INSERT INTO agents (id, account_id, registration_key_id, product, version, site_name, contact_email, "
       "cert_fingerprint, cert_serial, cert_not_after) VALUES ('ag_1', 'ac_1', 'rk_1', 'agent-lite', '5.6.1', 'HQ', "
       "'it@example.com', repeat('a', 64), '01', now() + interval '1 year')");
}

ClientIdentity Device(const std::string& id, const std::string& account) {
  return {ClientKind::kDevice, id, account, "active", false};
}

NewAction Queue(const std::string& target, const std::string& type, ClientKind kind = ClientKind::kDevice) {
  NewAction action;
  action.target_kind = kind;
  action.target_id = target;
  action.type = type;
  action.params = "{}";
  action.by = "op";
  return action;
}

Action MustQueue(pqxx::connection& conn, const NewAction& n) {
  auto outcome = QueueAction(conn, n);
  INFO((outcome ? std::string() : outcome.error().detail));
  REQUIRE(outcome.has_value());
  REQUIRE(outcome->refusal == QueueRefusal::kNone);
  return *outcome->action;
}

}  // namespace

TEST_CASE("actions: escalation waits for authorisation, polling delivers once, results follow 3.4", "[actions]") {
  pqxx::connection conn(TempPostgres::Instance().CreateDatabase());
  Seed(conn);
  const Action restart = MustQueue(conn, Queue("dv_1", "restart"));
  CHECK(restart.state == "awaiting_authorization");
  CHECK(restart.id.rfind("act_", 0) == 0);
  const Action status = MustQueue(conn, Queue("dv_1", "get_status"));
  CHECK(status.state == "queued");

  const DeliveryPolicy policy;
  auto first = PollActions(conn, Device("dv_1", "ac_1"), policy);
  REQUIRE(first.has_value());
  CHECK(first->poll_interval_s == 3600);
  REQUIRE(first->actions.size() == 1);  // the restart is not authorised yet
  CHECK(first->actions[0].id == status.id);
  CHECK(first->actions[0].state == "delivered");

  auto authorised = AuthorizeAction(conn, restart.id, std::nullopt, {"Jane Customer", "TICKET-1", "op"});
  REQUIRE(authorised.has_value());
  REQUIRE(authorised->refusal == ChangeRefusal::kNone);
  CHECK(authorised->action->state == "queued");
  CHECK(authorised->action->authorized_by == std::optional<std::string>("Jane Customer"));
  auto again = AuthorizeAction(conn, restart.id, std::nullopt, {"Jane", "T", "op"});
  CHECK(again->refusal == ChangeRefusal::kWrongState);

  auto second = PollActions(conn, Device("dv_1", "ac_1"), policy);
  REQUIRE(second->actions.size() == 1);  // get_status is leased
  CHECK(second->actions[0].id == restart.id);
  CHECK(PollActions(conn, Device("dv_1", "ac_1"), policy)->actions.empty());

  // Results: another client's id is not found; in_progress, then final; same final again ok.
  const ActionResult ok{"succeeded", "done", "{\"uptime\":1}"};
  CHECK(PostActionResult(conn, Device("dv_2", "ac_2"), restart.id, ok, policy)->refusal == ResultRefusal::kNotFound);
  CHECK(PostActionResult(conn, Device("dv_1", "ac_1"), restart.id, {"in_progress", "rebooting", std::nullopt}, policy)
            ->state == "in_progress");
  CHECK(PostActionResult(conn, Device("dv_1", "ac_1"), restart.id, ok, policy)->state == "succeeded");
  auto repeat = PostActionResult(conn, Device("dv_1", "ac_1"), restart.id, ok, policy);
  CHECK(repeat->refusal == ResultRefusal::kNone);
  CHECK(repeat->state == "succeeded");
  CHECK(PostActionResult(conn, Device("dv_1", "ac_1"), restart.id, {"failed", {}, {}}, policy)->refusal ==
        ResultRefusal::kFinal);

  auto read = GetAction(conn, restart.id, std::nullopt);
  REQUIRE(read->has_value());
  const auto& history = (*read)->history;
  REQUIRE(history.size() == 5);
  CHECK(history[0].state == "awaiting_authorization");
  CHECK(history[1].state == "queued");
  CHECK(history[2].state == "delivered");
  CHECK(history[2].by == "dv_1");
  CHECK(history[3].state == "in_progress");
  CHECK(history[4].state == "succeeded");
  CHECK((*read)->result.has_value());
  CHECK(GetAction(conn, restart.id, std::vector<std::string>{"ac_2"})->has_value() == false);
}

TEST_CASE("actions: refusals for scope, pending targets, lockdown, disabled types and unknown releases", "[actions]") {
  pqxx::connection conn(TempPostgres::Instance().CreateDatabase());
  Seed(conn);
  auto scoped = Queue("dv_1", "get_status");
  scoped.scope = std::vector<std::string>{"ac_2"};
  CHECK(QueueAction(conn, scoped)->refusal == QueueRefusal::kNotFound);
  CHECK(QueueAction(conn, Queue("dv_nope", "get_status"))->refusal == QueueRefusal::kNotFound);
  CHECK(QueueAction(conn, Queue("dv_p", "get_status"))->refusal == QueueRefusal::kNotActive);
  Exec(conn, "UPDATE devices SET disabled_actions = '{restart}' WHERE id = 'dv_1'");
  CHECK(QueueAction(conn, Queue("dv_1", "restart"))->refusal == QueueRefusal::kDisabled);
  Exec(conn, "UPDATE agents SET security_mode = 'lockdown' WHERE id = 'ag_1'");
  CHECK(QueueAction(conn, Queue("ag_1", "get_status", ClientKind::kAgent))->refusal == QueueRefusal::kLockdown);
  auto upgrade = Queue("dv_1", "upgrade_software");
  upgrade.release_version = "2.0";
  CHECK(QueueAction(conn, upgrade)->refusal == QueueRefusal::kNoRelease);
  CHECK(QueryNumber(conn, "SELECT count(*) FROM actions") == 0);

  // With the release in the catalogue, the action carries its url and digest.
  NewSoftwareRelease release{"m1", "2.0", {2}, "https://example.com/fw.bin", std::string(64, 'c'), 10,
                             std::nullopt, {}, std::nullopt};
  REQUIRE(AddSoftwareRelease(conn, release).has_value());
  const Action queued = MustQueue(conn, upgrade);
  CHECK(queued.params.find("https://example.com/fw.bin") != std::string::npos);
}

TEST_CASE("actions: a type turned off after queuing is not delivered", "[actions]") {
  pqxx::connection conn(TempPostgres::Instance().CreateDatabase());
  Seed(conn);
  MustQueue(conn, Queue("dv_1", "print_test_page"));
  Exec(conn, "UPDATE devices SET disabled_actions = '{print_test_page}' WHERE id = 'dv_1'");
  CHECK(PollActions(conn, Device("dv_1", "ac_1"), {})->actions.empty());
}

TEST_CASE("actions: a lease runs out and the same action comes back; expiry ends open actions with a reason",
          "[actions]") {
  pqxx::connection conn(TempPostgres::Instance().CreateDatabase());
  Seed(conn);
  const Action a = MustQueue(conn, Queue("dv_1", "get_status"));
  const Action b = MustQueue(conn, Queue("dv_1", "troubleshoot"));
  const Action c = MustQueue(conn, Queue("dv_1", "restart"));
  DeliveryPolicy short_lease;
  short_lease.lease = std::chrono::seconds(0);
  REQUIRE(PollActions(conn, Device("dv_1", "ac_1"), short_lease)->actions.size() == 2);
  auto again = PollActions(conn, Device("dv_1", "ac_1"), short_lease);
  REQUIRE(again->actions.size() == 2);
  CHECK(again->actions[0].id == a.id);
  CHECK(again->actions[0].deliveries == 2);

  // a: delivered, past expiry and deadline; b: in progress with a deadline still ahead;
  // c: never authorised.
  Exec(conn, "UPDATE actions SET expires_at = now() - interval '1 s'");
  Exec(conn, "UPDATE actions SET result_deadline = now() - interval '1 s' WHERE id = '" + a.id + "'");
  Exec(conn, "UPDATE actions SET state = 'in_progress', result_deadline = now() + interval '1 h' WHERE id = '" +
                 b.id + "'");
  auto expired = ExpireActions(conn, 1);  // batches of one: the loop goes on until done
  REQUIRE(expired.has_value());
  CHECK(*expired == 2);
  CHECK(QueryNumber(conn, "SELECT count(*) FROM actions WHERE state = 'expired'") == 2);
  CHECK(QueryNumber(conn, "SELECT count(*) FROM action_history WHERE state = 'expired' AND by = 'fleetcomm' AND "
                    "message LIKE 'delivered, but%'") == 1);
  CHECK(QueryNumber(conn, "SELECT count(*) FROM action_history WHERE action_id = '" + c.id +
                    "' AND message = 'expired before it was authorised'") == 1);
  CHECK(*ExpireActions(conn) == 0);
  CHECK(PollActions(conn, Device("dv_1", "ac_1"), short_lease)->actions.empty());
}

TEST_CASE("actions: two pollers of one client on two connections never hold the same action at once",
          "[actions][concurrency]") {
  const std::string url = TempPostgres::Instance().CreateDatabase();
  pqxx::connection setup(url);
  Seed(setup);
  constexpr int kActions = 200;
  Exec(setup, "INSERT INTO actions (account_id, target_kind, target_id, type, state, expires_at) "
              "SELECT 'ac_1', 'device', 'dv_1', 'get_status', 'queued', now() + interval '1 day' "
              "FROM generate_series(1, " + std::to_string(kActions) + ")");
  std::vector<std::string> got[2];
  std::atomic<bool> failed{false};
  auto poller = [&](int which) {
    pqxx::connection conn(url);
    DeliveryPolicy policy;
    policy.max_actions = 3;
    for (int empty = 0; empty < 3;) {
      auto polled = PollActions(conn, Device("dv_1", "ac_1"), policy);
      if (!polled) {
        failed = true;
        return;
      }
      if (polled->actions.empty()) ++empty;
      for (const auto& action : polled->actions) got[which].push_back(action.id);
    }
  };
  std::thread one(poller, 0), two(poller, 1);
  one.join();
  two.join();
  REQUIRE_FALSE(failed);
  std::set<std::string> all(got[0].begin(), got[0].end());
  all.insert(got[1].begin(), got[1].end());
  CHECK(got[0].size() + got[1].size() == kActions);  // nothing handed out twice
  CHECK(all.size() == kActions);
  CHECK(QueryNumber(setup, "SELECT count(*) FROM actions WHERE deliveries = 1 AND state = 'delivered'") == kActions);
}

TEST_CASE("software: newest newer release within min_firmware; off for the account means none", "[software]") {
  pqxx::connection conn(TempPostgres::Instance().CreateDatabase());
  Seed(conn);
  auto add = [&](const std::string& version, std::vector<std::int64_t> key, std::optional<std::string> min,
                 std::vector<std::int64_t> min_key) {
    NewSoftwareRelease r{"M1", version, std::move(key), "https://x/" + version, std::string(64, 'a'), 1,
                         std::move(min), std::move(min_key), std::nullopt};
    return AddSoftwareRelease(conn, r);
  };
  REQUIRE(add("1.10", {1, 10}, std::nullopt, {}).has_value());
  REQUIRE(add("1.9", {1, 9}, std::nullopt, {}).has_value());
  REQUIRE(add("2.0", {2}, "1.10", {1, 10}).has_value());
  CHECK(add("2.0.0", {2}, std::nullopt, {}).error().code == StorageErrc::kConflict);

  auto offer = FindSoftwareUpdate(conn, "ac_1", " m1 ", {1, 2});
  REQUIRE(offer.has_value());
  REQUIRE(offer->release.has_value());
  CHECK(offer->release->version == "1.10");  // numeric, not text order; 2.0 needs 1.10 first
  CHECK(FindSoftwareUpdate(conn, "ac_1", "M1", {1, 10})->release->version == "2.0");
  CHECK_FALSE(FindSoftwareUpdate(conn, "ac_1", "M1", {2})->release.has_value());
  CHECK_FALSE(FindSoftwareUpdate(conn, "ac_1", "M2", {1})->release.has_value());
  auto off = FindSoftwareUpdate(conn, "ac_2", "M1", {1});
  CHECK_FALSE(off->updates_enabled);
  CHECK_FALSE(off->release.has_value());
}

TEST_CASE("actions: a poll that delivers and a recorded result commit the request's audit entry in their statement; "
          "empty polls, repeats and refusals write none", "[actions][audit]") {
  pqxx::connection conn(TempPostgres::Instance().CreateDatabase());
  Seed(conn);
  const DeliveryPolicy policy;
  const auto entry = [](const std::string& request_id) {
    AuditEntry e;
    e.at = std::chrono::system_clock::now();
    e.listener = "device";
    e.request_id = request_id;
    e.identity_kind = "device";
    e.identity_id = "dv_1";
    e.account_id = "ac_1";
    e.method = "GET";
    e.path = "/rs/v1/actions";
    e.status = 200;
    e.bytes_out = -1;
    return e;
  };
  const auto entries = [&conn](const std::string& request_id) {
    return QueryNumber(conn, "SELECT count(*) FROM audit_entries WHERE request_id = '" + request_id + "'");
  };

  const AuditEntry empty_poll = entry("empty-poll");
  auto empty = PollActions(conn, Device("dv_1", "ac_1"), policy, &empty_poll);
  REQUIRE(empty.has_value());
  CHECK_FALSE(empty->audit_recorded);
  CHECK(entries("empty-poll") == 0);
  // An empty poll takes no transaction id: nothing was written.
  CHECK(QueryNumber(conn, "SELECT count(*) FROM audit_entries") == 0);

  const Action status = MustQueue(conn, Queue("dv_1", "get_status"));
  const AuditEntry delivering = entry("delivering-poll");
  auto delivered = PollActions(conn, Device("dv_1", "ac_1"), policy, &delivering);
  REQUIRE(delivered.has_value());
  REQUIRE(delivered->actions.size() == 1);
  CHECK(delivered->audit_recorded);
  CHECK(QueryNumber(conn, "SELECT count(*) FROM audit_entries WHERE request_id = 'delivering-poll' AND status = 200 "
                          "AND identity_id = 'dv_1' AND account_id = 'ac_1' AND bytes_out IS NULL") == 1);
  // In the transaction that delivered: one transaction id for the history row and the entry.
  CHECK(QueryNumber(conn, "SELECT count(*) FROM audit_entries e, actions a WHERE e.request_id = 'delivering-poll' "
                          "AND a.id = '" + status.id + "' AND e.xid::text::bigint % 4294967296 = a.xmin::text::bigint") == 1);

  const AuditEntry other_client = entry("other-client");
  CHECK(PostActionResult(conn, Device("dv_2", "ac_2"), status.id, {"succeeded", {}, {}}, policy, &other_client)
            ->refusal == ResultRefusal::kNotFound);
  const AuditEntry result = entry("result");
  auto succeeded = PostActionResult(conn, Device("dv_1", "ac_1"), status.id, {"succeeded", {}, {}}, policy, &result);
  REQUIRE(succeeded.has_value());
  CHECK(succeeded->refusal == ResultRefusal::kNone);
  CHECK(succeeded->audit_recorded);
  const AuditEntry repeat = entry("repeat");
  auto again = PostActionResult(conn, Device("dv_1", "ac_1"), status.id, {"succeeded", {}, {}}, policy, &repeat);
  REQUIRE(again.has_value());
  CHECK(again->refusal == ResultRefusal::kNone);
  CHECK_FALSE(again->audit_recorded);
  const AuditEntry final_refused = entry("final");
  CHECK(PostActionResult(conn, Device("dv_1", "ac_1"), status.id, {"failed", {}, {}}, policy, &final_refused)
            ->refusal == ResultRefusal::kFinal);
  CHECK(entries("result") == 1);
  CHECK(entries("repeat") + entries("final") + entries("other-client") == 0);
  // Without an entry (auditing off) nothing is written and nothing claimed.
  MustQueue(conn, Queue("dv_1", "get_status"));
  auto unaudited = PollActions(conn, Device("dv_1", "ac_1"), policy);
  REQUIRE(unaudited.has_value());
  CHECK(unaudited->actions.size() == 1);
  CHECK_FALSE(unaudited->audit_recorded);
  CHECK(QueryNumber(conn, "SELECT count(*) FROM audit_entries") == 2);
}
