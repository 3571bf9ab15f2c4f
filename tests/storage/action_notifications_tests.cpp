// The fleetcomm_actions notifications (migration 0009) as one instance's listener hears them,
// its reconnection, and how long a poll says its client has nothing more to fetch.
#include "storage/action_delivery.hpp"
#include "storage/action_notifications.hpp"
#include "storage/actions.hpp"
#include "tests/support/temp_postgres.hpp"

#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include <condition_variable>
#include <mutex>
#include <vector>

using namespace fleetcomm::storage;
using fleetcomm::testing::QueryNumber;
using fleetcomm::testing::TempPostgres;
using namespace std::chrono_literals;

namespace {

void Exec(pqxx::connection& conn, const std::string& sql) {
  pqxx::work tx(conn);
  tx.exec(sql);
  tx.commit();
}

void Seed(pqxx::connection& conn) {
  Exec(conn,
       "INSERT INTO accounts (id, name, poll_interval_s) VALUES ('ac_1', 'one', 3600);"
       "INSERT INTO devices (id, account_id, manufacturer, serial, model, state) VALUES "
       "('dv_1', 'ac_1', 'Xerox', 'S1', 'M1', 'active'), ('dv_2', 'ac_1', 'Xerox', 'S2', 'M1', 'active')");
}

NewAction Queue(const std::string& target, const std::string& type) {
  NewAction action;
  action.target_id = target;
  action.type = type;
  action.params = "{}";
  action.by = "op";
  return action;
}

Action MustQueue(pqxx::connection& conn, const std::string& target, const std::string& type) {
  auto outcome = QueueAction(conn, Queue(target, type));
  REQUIRE(outcome.has_value());
  REQUIRE(outcome->refusal == QueueRefusal::kNone);
  return *outcome->action;
}

// What the listener's callbacks saw, in order; "+" is up, "-" down.
class Heard {
 public:
  ActionListenerCallbacks Callbacks() {
    return {[this] { Add("+"); }, [this](const std::string&) { Add("-"); }, [this](const std::string& p) { Add(p); }};
  }
  // The events once there are at least `count` (fails the test after a few seconds).
  std::vector<std::string> WaitFor(std::size_t count) {
    std::unique_lock lock(mutex_);
    const bool arrived = changed_.wait_for(lock, 10s, [&] { return events_.size() >= count; });
    INFO("heard " << events_.size() << " of " << count);
    REQUIRE(arrived);
    return events_;
  }

 private:
  void Add(const std::string& event) {
    std::lock_guard lock(mutex_);
    events_.push_back(event);
    changed_.notify_all();
  }
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> events_;
};

ClientIdentity Device(const std::string& id) { return {ClientKind::kDevice, id, "ac_1", "active", false}; }

}  // namespace

TEST_CASE("action notifications: every change that makes a row deliverable is heard, nothing else",
          "[actions][poll_cache]") {
  const std::string database = TempPostgres::Instance().CreateDatabase();
  pqxx::connection conn(database);
  Seed(conn);
  Heard heard;
  ActionNotificationListener listener({database}, heard.Callbacks());
  REQUIRE(heard.WaitFor(1) == std::vector<std::string>{"+"});

  // Notifications arrive in commit order, so a change that said nothing is followed by the
  // next one that did.
  const Action restart = MustQueue(conn, "dv_1", "restart");  // awaiting authorisation: not deliverable
  MustQueue(conn, "dv_2", "get_status");
  CHECK(heard.WaitFor(2).back() == "dv_2");
  REQUIRE(AuthorizeAction(conn, restart.id, std::nullopt, {"Jane", "T-1", "op"})->refusal == ChangeRefusal::kNone);
  CHECK(heard.WaitFor(3).back() == "dv_1");

  // Deliveries, results and cancellations make nothing deliverable.
  const DeliveryPolicy policy;
  REQUIRE(PollActions(conn, Device("dv_1"), policy)->actions.size() == 1);
  REQUIRE(PostActionResult(conn, Device("dv_1"), restart.id, {"succeeded", {}, {}}, policy)->state == "succeeded");
  const Action cancelled = MustQueue(conn, "dv_2", "get_status");
  CHECK(heard.WaitFor(4).back() == "dv_2");
  REQUIRE(CancelAction(conn, cancelled.id, std::nullopt, "op")->refusal == ChangeRefusal::kNone);

  // A client turning a type back on; an account's poll interval (payload: the account).
  Exec(conn, "UPDATE devices SET disabled_actions = '{get_status}' WHERE id = 'dv_1'");
  CHECK(heard.WaitFor(5).back() == "dv_1");
  Exec(conn, "UPDATE devices SET disabled_actions = '{get_status}', last_upload_at = now() WHERE id = 'dv_1'");
  Exec(conn, "UPDATE accounts SET poll_interval_s = 600 WHERE id = 'ac_1'");
  CHECK(heard.WaitFor(6).back() == "ac_1");

  // A rolled-back queue says nothing.
  {
    pqxx::work tx(conn);
    tx.exec("INSERT INTO actions (account_id, target_kind, target_id, type, state, expires_at) "
            "VALUES ('ac_1', 'device', 'dv_1', 'get_status', 'queued', now() + interval '1 day')");
  }
  MustQueue(conn, "dv_2", "get_status");
  CHECK(heard.WaitFor(7) ==
        std::vector<std::string>{"+", "dv_2", "dv_1", "dv_2", "dv_1", "ac_1", "dv_2"});
}

TEST_CASE("action notifications: a lost connection is reported down, then LISTEN again", "[actions][poll_cache]") {
  const std::string database = TempPostgres::Instance().CreateDatabase();
  pqxx::connection conn(database);
  Seed(conn);
  Heard heard;
  ActionNotificationListener listener({database + " application_name=listener-under-test", 50ms, 200ms, 10s},
                                      heard.Callbacks());
  REQUIRE(heard.WaitFor(1).back() == "+");
  CHECK(QueryNumber(conn, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                          "WHERE application_name = 'listener-under-test'") == 1);
  CHECK(heard.WaitFor(3) == std::vector<std::string>{"+", "-", "+"});
  MustQueue(conn, "dv_1", "get_status");
  CHECK(heard.WaitFor(4).back() == "dv_1");
}

TEST_CASE("actions: a poll says how long its client has nothing more to fetch", "[actions][poll_cache]") {
  const std::string database = TempPostgres::Instance().CreateDatabase();
  pqxx::connection conn(database);
  Seed(conn);
  DeliveryPolicy policy;
  policy.lease = 600s;
  policy.max_actions = 1;
  CHECK_FALSE(PollActions(conn, Device("dv_1"), policy)->quiet_for.has_value());  // nothing, nothing leased

  MustQueue(conn, "dv_1", "get_status");
  MustQueue(conn, "dv_1", "get_status");
  auto first = PollActions(conn, Device("dv_1"), policy);
  REQUIRE(first->actions.size() == 1);
  CHECK(first->quiet_for == std::optional<std::chrono::milliseconds>(0ms));  // one more is waiting
  auto second = PollActions(conn, Device("dv_1"), policy);
  REQUIRE(second->actions.size() == 1);
  REQUIRE(second->quiet_for.has_value());
  CHECK(*second->quiet_for > 590s);  // until the first lease ends
  CHECK(*second->quiet_for <= 600s);
  auto empty = PollActions(conn, Device("dv_1"), policy);
  CHECK(empty->actions.empty());
  REQUIRE(empty->quiet_for.has_value());
  CHECK(*empty->quiet_for > 590s);

  // A deliverable row locked by a concurrent poll is skipped, and not taken for absent.
  MustQueue(conn, "dv_2", "get_status");
  pqxx::connection other(database);
  pqxx::work locking(other);
  locking.exec("SELECT id FROM actions WHERE target_id = 'dv_2' FOR UPDATE");
  auto skipped = PollActions(conn, Device("dv_2"), policy);
  CHECK(skipped->actions.empty());
  CHECK(skipped->quiet_for == std::optional<std::chrono::milliseconds>(0ms));
}
