// storage/db_pool and MakeDbTask against a real PostgreSQL, including outages.
#include "storage/db_pool.hpp"
#include "storage/db_task.hpp"
#include "tests/support/temp_postgres.hpp"

#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include <atomic>
#include <chrono>
#include <future>
#include <latch>
#include <memory>
#include <set>
#include <string>
#include <thread>

using fleetcomm::storage::DbPool;
using fleetcomm::storage::DbPoolOptions;
using fleetcomm::storage::MakeDbTask;
using fleetcomm::storage::StorageErrc;
using fleetcomm::storage::StorageError;
using fleetcomm::storage::StorageResult;
using fleetcomm::testing::TempPostgres;
using namespace std::chrono_literals;

namespace {

constexpr auto kTaskTimeout = 30s;

const char* ErrcName(StorageErrc code) {
  switch (code) {
    case StorageErrc::kUnavailable: return "kUnavailable";
    case StorageErrc::kNotFound: return "kNotFound";
    case StorageErrc::kConflict: return "kConflict";
    case StorageErrc::kInvalid: return "kInvalid";
    case StorageErrc::kSchemaMismatch: return "kSchemaMismatch";
    case StorageErrc::kInternal: return "kInternal";
  }
  return "?";
}

template <class R>
std::string Describe(const StorageResult<R>& result) {
  if (result.has_value()) return "ok";
  return std::string(ErrcName(result.error().code)) + ": " + result.error().detail;
}

// Submits fn through MakeDbTask and waits for its result.
template <class R, class Fn>
StorageResult<R> Run(DbPool& pool, Fn fn) {
  auto promise = std::make_shared<std::promise<StorageResult<R>>>();
  auto future = promise->get_future();
  REQUIRE(pool.TrySubmit(MakeDbTask<R>(std::move(fn), [promise](StorageResult<R> r) { promise->set_value(std::move(r)); })));
  REQUIRE(future.wait_for(kTaskTimeout) == std::future_status::ready);
  return future.get();
}

StorageResult<int> SelectOne(DbPool& pool) {
  return Run<int>(pool, [](pqxx::connection_base& c) -> StorageResult<int> {
    pqxx::nontransaction tx(c);
    return tx.exec1("SELECT 1")[0].as<int>();
  });
}

StorageResult<int> BackendPid(DbPool& pool) {
  return Run<int>(pool, [](pqxx::connection_base& c) -> StorageResult<int> {
    pqxx::nontransaction tx(c);
    return tx.exec1("SELECT pg_backend_pid()")[0].as<int>();
  });
}

// Retries SelectOne until it succeeds or `limit` passes; returns the failures seen.
struct RetryOutcome {
  bool succeeded = false;
  int failures = 0;
  std::string last_error;
  std::chrono::steady_clock::duration took{};
};
RetryOutcome RetryUntilOk(DbPool& pool, std::chrono::seconds limit) {
  RetryOutcome out;
  const auto start = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - start < limit) {
    auto r = SelectOne(pool);
    if (r.has_value()) {
      out.succeeded = true;
      break;
    }
    ++out.failures;
    out.last_error = Describe(r);
    std::this_thread::sleep_for(50ms);
  }
  out.took = std::chrono::steady_clock::now() - start;
  return out;
}

// Starts the cluster again even when a REQUIRE between Stop() and Start() fails.
struct RestartGuard {
  ~RestartGuard() {
    try {
      TempPostgres::Instance().Start();
    } catch (...) {
    }
  }
};

// Opens a latch when leaving scope, so that a failed REQUIRE never leaves a worker blocked
// (which would hang the pool's destructor).
struct OpenOnExit {
  std::latch& latch;
  ~OpenOnExit() {
    if (!latch.try_wait()) latch.count_down();
  }
};

void TerminateBackend(int pid) {
  pqxx::connection admin(TempPostgres::Instance().AdminConnInfo());
  pqxx::nontransaction tx(admin);
  REQUIRE(tx.exec_params1("SELECT pg_terminate_backend($1)", pid)[0].as<bool>());
  // pg_terminate_backend only signals: wait until the backend is gone.
  for (int i = 0; i < 100; ++i) {
    if (tx.exec_params1("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid)[0].as<int>() == 0) return;
    std::this_thread::sleep_for(20ms);
  }
  FAIL("backend " << pid << " did not exit");
}

}  // namespace

TEST_CASE("DbPool runs tasks on its worker threads with an open connection", "[db_pool]") {
  DbPool pool({TempPostgres::Instance().CreateDatabase(), 2});
  const auto caller = std::this_thread::get_id();

  auto promise = std::make_shared<std::promise<std::thread::id>>();
  auto future = promise->get_future();
  REQUIRE(pool.TrySubmit([promise](pqxx::connection_base* conn, const StorageError* error) {
    if (error != nullptr || conn == nullptr || !conn->is_open()) {
      promise->set_value(std::thread::id{});
      return;
    }
    promise->set_value(std::this_thread::get_id());
  }));
  REQUIRE(future.wait_for(kTaskTimeout) == std::future_status::ready);
  const auto worker = future.get();
  CHECK(worker != std::thread::id{});
  CHECK(worker != caller);

  auto one = SelectOne(pool);
  REQUIRE(one.has_value());
  CHECK(*one == 1);

  // A task's completion is reported from inside it: the worker counts itself idle just after.
  auto stats = pool.Stats();
  for (int i = 0; i < 200 && stats.busy != 0; ++i) {
    std::this_thread::sleep_for(5ms);
    stats = pool.Stats();
  }
  CHECK(stats.connections == 2);
  CHECK(stats.database_reachable);
  CHECK(stats.tasks_started == 2);
  CHECK(stats.busy == 0);
  CHECK(stats.queued == 0);
}

TEST_CASE("DbPool workers keep their connection between tasks", "[db_pool]") {
  DbPool pool({TempPostgres::Instance().CreateDatabase(), 1});
  auto first = BackendPid(pool);
  auto second = BackendPid(pool);
  REQUIRE(first.has_value());
  REQUIRE(second.has_value());
  CHECK(*first == *second);
}

TEST_CASE("DbPool runs tasks in parallel, one connection per worker", "[db_pool]") {
  constexpr int kConnections = 3;
  DbPool pool({TempPostgres::Instance().CreateDatabase(), kConnections});
  // Every task waits until all are running at once: only possible on distinct workers.
  std::latch all_running(kConnections);
  std::vector<std::future<StorageResult<int>>> futures;
  for (int i = 0; i < kConnections; ++i) {
    auto promise = std::make_shared<std::promise<StorageResult<int>>>();
    futures.push_back(promise->get_future());
    REQUIRE(pool.TrySubmit(MakeDbTask<int>(
        [&all_running](pqxx::connection_base& c) -> StorageResult<int> {
          all_running.count_down();
          if (!all_running.try_wait()) {
            const auto deadline = std::chrono::steady_clock::now() + 10s;
            while (!all_running.try_wait() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(5ms);
          }
          if (!all_running.try_wait()) return StorageError::Internal("tasks did not run concurrently");
          pqxx::nontransaction tx(c);
          return tx.exec1("SELECT pg_backend_pid()")[0].as<int>();
        },
        [promise](StorageResult<int> r) { promise->set_value(std::move(r)); })));
  }
  std::set<int> pids;
  for (auto& f : futures) {
    REQUIRE(f.wait_for(kTaskTimeout) == std::future_status::ready);
    auto r = f.get();
    INFO(Describe(r));
    REQUIRE(r.has_value());
    pids.insert(*r);
  }
  CHECK(pids.size() == static_cast<std::size_t>(kConnections));
}

TEST_CASE("DbPool refuses tasks beyond queue_limit and runs the accepted ones", "[db_pool]") {
  std::latch release(1);
  std::promise<void> blocker_started;
  auto started = blocker_started.get_future();
  std::atomic<int> ran{0};
  {
    DbPool pool({TempPostgres::Instance().CreateDatabase(), 1, /*queue_limit=*/2});
    OpenOnExit open{release};  // destroyed before the pool

    REQUIRE(pool.TrySubmit([&](pqxx::connection_base*, const StorageError*) {
      blocker_started.set_value();
      release.wait();
      ++ran;
    }));
    REQUIRE(started.wait_for(kTaskTimeout) == std::future_status::ready);

    auto count = [&](pqxx::connection_base*, const StorageError*) { ++ran; };
    CHECK(pool.TrySubmit(count));
    CHECK(pool.TrySubmit(count));
    CHECK_FALSE(pool.TrySubmit(count));  // queue full: refused at once, never run
    CHECK_FALSE(pool.TrySubmit(count));

    auto stats = pool.Stats();
    CHECK(stats.busy == 1);
    CHECK(stats.queued == 2);

    release.count_down();
    // The destructor runs what was accepted before it returns.
  }
  CHECK(ran == 3);
}

TEST_CASE("DbPool accepts tasks again once the queue drains", "[db_pool]") {
  DbPool pool({TempPostgres::Instance().CreateDatabase(), 1, /*queue_limit=*/1});
  for (int i = 0; i < 20; ++i) {
    auto r = SelectOne(pool);  // REQUIREs the submission was accepted
    REQUIRE(r.has_value());
  }
}

TEST_CASE("MakeDbTask translates database errors into StorageErrc", "[db_pool][db_task]") {
  const std::string conninfo = TempPostgres::Instance().CreateDatabase();
  {
    pqxx::connection setup(conninfo);
    pqxx::work tx(setup);
    tx.exec("CREATE TABLE things (id int PRIMARY KEY, n int CHECK (n >= 0))");
    tx.exec("INSERT INTO things VALUES (1, 1)");
    tx.commit();
  }
  DbPool pool({conninfo, 1});

  SECTION("unique violation is kConflict") {
    auto r = Run<int>(pool, [](pqxx::connection_base& c) -> StorageResult<int> {
      pqxx::work tx(c);
      tx.exec("INSERT INTO things VALUES (1, 2)");
      tx.commit();
      return 0;
    });
    REQUIRE_FALSE(r.has_value());
    INFO(r.error().detail);
    CHECK(r.error().code == StorageErrc::kConflict);
    CHECK(r.error().detail.find("23505") != std::string::npos);
  }
  SECTION("syntax error is kInternal") {
    auto r = Run<int>(pool, [](pqxx::connection_base& c) -> StorageResult<int> {
      pqxx::work tx(c);
      tx.exec("SELEC 1");
      return 0;
    });
    REQUIRE_FALSE(r.has_value());
    INFO(r.error().detail);
    CHECK(r.error().code == StorageErrc::kInternal);
    CHECK(r.error().detail.find("42601") != std::string::npos);
  }
  SECTION("check violation and bad values are kInvalid") {
    auto check = Run<int>(pool, [](pqxx::connection_base& c) -> StorageResult<int> {
      pqxx::work tx(c);
      tx.exec("INSERT INTO things VALUES (2, -1)");
      tx.commit();
      return 0;
    });
    REQUIRE_FALSE(check.has_value());
    CHECK(check.error().code == StorageErrc::kInvalid);
    auto bad_value = Run<int>(pool, [](pqxx::connection_base& c) -> StorageResult<int> {
      pqxx::work tx(c);
      return tx.exec1("SELECT 'x'::int")[0].as<int>();
    });
    REQUIRE_FALSE(bad_value.has_value());
    CHECK(bad_value.error().code == StorageErrc::kInvalid);
  }
  SECTION("a std exception is kInternal, and the worker goes on") {
    auto r = Run<int>(pool, [](pqxx::connection_base&) -> StorageResult<int> { throw std::runtime_error("boom"); });
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == StorageErrc::kInternal);
    CHECK(r.error().detail == "boom");
  }
  // After any of the failures above, the same worker connection serves the next task.
  auto after = Run<long long>(pool, [](pqxx::connection_base& c) -> StorageResult<long long> {
    pqxx::nontransaction tx(c);
    return tx.exec1("SELECT count(*) FROM things")[0].as<long long>();
  });
  INFO(Describe(after));
  REQUIRE(after.has_value());
  CHECK(*after == 1);
}

TEST_CASE("DbPool fails fast with kUnavailable when the database cannot be reached", "[db_pool][outage]") {
  const int closed_port = fleetcomm::testing::FindFreePort();  // nothing listens there
  DbPoolOptions options;
  options.conninfo = "host=127.0.0.1 port=" + std::to_string(closed_port) +
                     " user=postgres dbname=postgres sslmode=disable connect_timeout=10";
  options.connections = 2;
  options.reconnect_backoff = 500ms;
  DbPool pool(options);

  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 10; ++i) {
    auto r = SelectOne(pool);
    REQUIRE_FALSE(r.has_value());
    INFO(r.error().detail);
    CHECK(r.error().code == StorageErrc::kUnavailable);
  }
  CHECK(std::chrono::steady_clock::now() - start < 3s);
  CHECK_FALSE(pool.Stats().database_reachable);

  // The task still gets called, exactly once, with the error and no connection.
  auto promise = std::make_shared<std::promise<bool>>();
  auto future = promise->get_future();
  REQUIRE(pool.TrySubmit([promise](pqxx::connection_base* conn, const StorageError* error) {
    promise->set_value(conn == nullptr && error != nullptr && error->code == StorageErrc::kUnavailable);
  }));
  REQUIRE(future.wait_for(kTaskTimeout) == std::future_status::ready);
  CHECK(future.get());
}

TEST_CASE("DbPool replaces a connection the server closed", "[db_pool][outage]") {
  DbPoolOptions options;
  options.conninfo = TempPostgres::Instance().CreateDatabase();
  options.connections = 1;
  options.reconnect_backoff = 200ms;
  DbPool pool(options);

  auto before = BackendPid(pool);
  REQUIRE(before.has_value());
  TerminateBackend(*before);

  // The server told the client it was closing the session: the worker notices before
  // handing the connection to the next task, and reconnects, so no task fails.
  auto next = BackendPid(pool);
  INFO(Describe(next));
  REQUIRE(next.has_value());
  CHECK(*next != *before);
  CHECK(pool.Stats().database_reachable);
}

TEST_CASE("DbPool: a connection lost during a task fails that task only", "[db_pool][outage]") {
  DbPool pool({TempPostgres::Instance().CreateDatabase(), 1});
  auto before = BackendPid(pool);
  REQUIRE(before.has_value());

  // The task kills its own session mid-way and then uses it.
  auto during = Run<int>(pool, [pid = *before](pqxx::connection_base& c) -> StorageResult<int> {
    TerminateBackend(pid);
    pqxx::nontransaction tx(c);
    return tx.exec1("SELECT 1")[0].as<int>();
  });
  REQUIRE_FALSE(during.has_value());
  INFO(during.error().detail);
  CHECK(during.error().code == StorageErrc::kUnavailable);

  auto after = BackendPid(pool);
  INFO(Describe(after));
  REQUIRE(after.has_value());
  CHECK(*after != *before);
}

TEST_CASE("DbPool drops the connection when a raw task throws pqxx::broken_connection", "[db_pool][outage]") {
  DbPool pool({TempPostgres::Instance().CreateDatabase(), 1});
  auto before = BackendPid(pool);
  REQUIRE(before.has_value());

  std::promise<void> thrown;
  auto thrown_future = thrown.get_future();
  REQUIRE(pool.TrySubmit([&thrown](pqxx::connection_base*, const StorageError*) {
    thrown.set_value();
    throw pqxx::broken_connection("simulated loss");
  }));
  REQUIRE(thrown_future.wait_for(kTaskTimeout) == std::future_status::ready);

  auto after = BackendPid(pool);
  INFO(Describe(after));
  REQUIRE(after.has_value());
  CHECK(*after != *before);
}

TEST_CASE("DbPool recovers by itself after the database restarts", "[db_pool][outage]") {
  auto& pg = TempPostgres::Instance();
  DbPoolOptions options;
  options.conninfo = pg.CreateDatabase();
  options.connections = 3;
  options.reconnect_backoff = 300ms;
  DbPool pool(options);

  // Give every worker a connection, so that all of them hold one that the restart breaks.
  {
    std::latch all_running(options.connections);
    std::vector<std::future<StorageResult<int>>> futures;
    for (int i = 0; i < options.connections; ++i) {
      auto promise = std::make_shared<std::promise<StorageResult<int>>>();
      futures.push_back(promise->get_future());
      REQUIRE(pool.TrySubmit(MakeDbTask<int>(
          [&all_running](pqxx::connection_base& c) -> StorageResult<int> {
            all_running.count_down();
            const auto deadline = std::chrono::steady_clock::now() + 10s;
            while (!all_running.try_wait() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(5ms);
            pqxx::nontransaction tx(c);
            return tx.exec1("SELECT 1")[0].as<int>();
          },
          [promise](StorageResult<int> r) { promise->set_value(std::move(r)); })));
    }
    for (auto& f : futures) {
      REQUIRE(f.wait_for(kTaskTimeout) == std::future_status::ready);
      auto r = f.get();
      INFO(Describe(r));
      REQUIRE(r.has_value());
    }
  }
  REQUIRE(pool.Stats().database_reachable);

  {
    RestartGuard guard;
    pg.Stop();

    // While it is down: every task fails, as kUnavailable, and quickly.
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < 2 * options.connections + 2; ++i) {
      auto r = SelectOne(pool);
      REQUIRE_FALSE(r.has_value());
      INFO(r.error().detail);
      CHECK(r.error().code == StorageErrc::kUnavailable);
    }
    CHECK(std::chrono::steady_clock::now() - start < 5s);
    CHECK_FALSE(pool.Stats().database_reachable);

    pg.Start();
  }

  // Back up: the pool reconnects without outside help.
  auto outcome = RetryUntilOk(pool, 15s);
  INFO("failures after restart: " << outcome.failures << ", last: " << outcome.last_error);
  REQUIRE(outcome.succeeded);
  CHECK(outcome.took < 5s);

  // And stays healthy: every worker is serving again.
  auto steady = RetryUntilOk(pool, 10s);
  REQUIRE(steady.succeeded);
  int consecutive = 0;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (consecutive < 20 && std::chrono::steady_clock::now() < deadline) {
    auto r = SelectOne(pool);
    consecutive = r.has_value() ? consecutive + 1 : 0;
  }
  CHECK(consecutive == 20);
  CHECK(pool.Stats().database_reachable);
}

TEST_CASE("DbPool: a database restart while the pool is idle costs no failed task", "[db_pool][outage]") {
  auto& pg = TempPostgres::Instance();
  constexpr int kConnections = 3;
  DbPool pool({pg.CreateDatabase(), kConnections});

  // Connect every worker (tasks that wait for each other run on distinct workers).
  auto run_together = [&pool] {
    std::latch all_running(kConnections);
    std::vector<std::future<StorageResult<int>>> futures;
    for (int i = 0; i < kConnections; ++i) {
      auto promise = std::make_shared<std::promise<StorageResult<int>>>();
      futures.push_back(promise->get_future());
      REQUIRE(pool.TrySubmit(MakeDbTask<int>(
          [&all_running](pqxx::connection_base& c) -> StorageResult<int> {
            all_running.count_down();
            const auto deadline = std::chrono::steady_clock::now() + 10s;
            while (!all_running.try_wait() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(5ms);
            pqxx::nontransaction tx(c);
            return tx.exec1("SELECT pg_backend_pid()")[0].as<int>();
          },
          [promise](StorageResult<int> r) { promise->set_value(std::move(r)); })));
    }
    std::set<int> pids;
    for (auto& f : futures) {
      REQUIRE(f.wait_for(kTaskTimeout) == std::future_status::ready);
      auto r = f.get();
      INFO(Describe(r));
      CHECK(r.has_value());
      if (r.has_value()) pids.insert(*r);
    }
    return pids;
  };
  const auto before = run_together();
  REQUIRE(before.size() == static_cast<std::size_t>(kConnections));

  {
    RestartGuard guard;
    pg.Stop();
    pg.Start();
  }

  // Every worker holds a connection the restart killed; none of that may reach a task.
  const auto after = run_together();
  CHECK(after.size() == static_cast<std::size_t>(kConnections));
  for (int pid : after) CHECK(before.count(pid) == 0);
}

TEST_CASE("DbPool: a query running when the database shuts down fails as kUnavailable", "[db_pool][outage]") {
  auto& pg = TempPostgres::Instance();
  DbPoolOptions options;
  options.conninfo = pg.CreateDatabase();
  options.connections = 1;
  options.reconnect_backoff = 200ms;
  DbPool pool(options);
  REQUIRE(SelectOne(pool).has_value());

  std::promise<void> started;
  auto started_future = started.get_future();
  auto promise = std::make_shared<std::promise<StorageResult<int>>>();
  auto future = promise->get_future();
  REQUIRE(pool.TrySubmit(MakeDbTask<int>(
      [&started](pqxx::connection_base& c) -> StorageResult<int> {
        pqxx::work tx(c);
        started.set_value();
        tx.exec("SELECT pg_sleep(60)");
        tx.commit();
        return 0;
      },
      [promise](StorageResult<int> r) { promise->set_value(std::move(r)); })));
  REQUIRE(started_future.wait_for(kTaskTimeout) == std::future_status::ready);
  std::this_thread::sleep_for(200ms);  // let the query reach the server

  {
    RestartGuard guard;
    const auto stop_at = std::chrono::steady_clock::now();
    pg.Stop();  // fast shutdown: terminates the running query
    REQUIRE(future.wait_for(10s) == std::future_status::ready);
    CHECK(std::chrono::steady_clock::now() - stop_at < 10s);
    auto r = future.get();
    REQUIRE_FALSE(r.has_value());
    INFO(r.error().detail);
    CHECK(r.error().code == StorageErrc::kUnavailable);
    pg.Start();
  }
  auto outcome = RetryUntilOk(pool, 15s);
  INFO("failures: " << outcome.failures << ", last: " << outcome.last_error);
  REQUIRE(outcome.succeeded);
}

TEST_CASE("DbPool started while the database is down connects once it comes up", "[db_pool][outage]") {
  auto& pg = TempPostgres::Instance();
  DbPoolOptions options;
  options.conninfo = pg.CreateDatabase();
  options.connections = 2;
  options.reconnect_backoff = 300ms;
  {
    RestartGuard guard;
    pg.Stop();
    DbPool pool(options);
    auto down = SelectOne(pool);
    REQUIRE_FALSE(down.has_value());
    CHECK(down.error().code == StorageErrc::kUnavailable);
    pg.Start();
    auto outcome = RetryUntilOk(pool, 15s);
    INFO("failures: " << outcome.failures << ", last: " << outcome.last_error);
    REQUIRE(outcome.succeeded);
    CHECK(outcome.took < 5s);
  }
}
