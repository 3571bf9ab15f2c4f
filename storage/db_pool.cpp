#include "storage/db_pool.hpp"

#include "storage/db_task.hpp"

#include <pqxx/pqxx>

#include <string_view>

#if defined(__SANITIZE_ADDRESS__)
// libpqxx 6.4 leaks the PGresult of a query whose connection breaks mid-way: make_result()
// asks for the client encoding, which throws broken_connection, before it owns the result.
// fleetcomm never handles libpq results itself, so LeakSanitizer (sanitizer builds only) is
// told to ignore leaked PGresults instead of failing every test that loses a connection.
extern "C" const char* __lsan_default_suppressions() { return "leak:PQmakeEmptyPGresult\n"; }
#endif

namespace fleetcomm::storage {

DbPool::DbPool(DbPoolOptions options) : options_(std::move(options)) {
  workers_.reserve(static_cast<std::size_t>(options_.connections));
  for (int i = 0; i < options_.connections; ++i) {
    workers_.emplace_back([this] { WorkerLoop(); });
  }
}

DbPool::~DbPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& worker : workers_) worker.join();
}

bool DbPool::TrySubmit(Task task) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || static_cast<int>(queue_.size()) >= options_.queue_limit) return false;
    queue_.push_back({std::move(task), std::chrono::steady_clock::now()});
  }
  wake_.notify_one();
  return true;
}

DbPoolStats DbPool::Stats() const {
  std::lock_guard lock(mutex_);
  return {options_.connections, busy_, static_cast<int>(queue_.size()), reachable_.load(), total_wait_seconds_,
          tasks_started_};
}

bool DbPool::ConnectAllowed(StorageError& error) {
  std::lock_guard lock(mutex_);
  if (std::chrono::steady_clock::now() < down_until_) {
    error = StorageError::Unavailable("database unreachable (backing off before the next attempt)");
    return false;
  }
  return true;
}

void DbPool::MarkConnectFailed() {
  reachable_ = false;
  std::lock_guard lock(mutex_);
  down_until_ = std::chrono::steady_clock::now() + options_.reconnect_backoff;
}

namespace {

// A worker's connection, plus a watch on what the server says while the worker is idle.
class WorkerConnection {
 public:
  explicit WorkerConnection(const std::string& conninfo) : conn_(conninfo), watch_(conn_, ended_) {}
  WorkerConnection(const WorkerConnection&) = delete;
  WorkerConnection& operator=(const WorkerConnection&) = delete;

  pqxx::connection& get() { return conn_; }
  bool is_open() const { return !ended_ && conn_.is_open(); }

  // False when the server has ended the session while the connection sat idle (restart,
  // shutdown, pg_terminate_backend, idle timeouts). Such a server sends a FATAL message,
  // then closes the socket; libpq only notices either on a read. Reading what has arrived
  // (non-blocking, no round trip) passes the FATAL to the watch below, or meets EOF. A
  // connection that vanished silently (network partition) still looks alive here; the task
  // using it then fails and the worker drops it.
  bool StillConnected() {
    try {
      for (int i = 0; i < 2 && is_open(); ++i) conn_.get_notifs();
    } catch (const std::exception&) {
      return false;
    }
    return is_open();
  }

 private:
  // libpq hands messages that arrive outside a query (as the FATAL of a session the server
  // is ending does) to the notice processor, which libpqxx passes to its errorhandlers.
  class EndWatch final : public pqxx::errorhandler {
   public:
    EndWatch(pqxx::connection_base& conn, bool& ended) : pqxx::errorhandler(conn), ended_(ended) {}
    bool operator()(const char msg[]) noexcept override {
      const std::string_view text(msg);
      if (text.rfind("FATAL:", 0) == 0 || text.rfind("PANIC:", 0) == 0) ended_ = true;
      return true;
    }

   private:
    bool& ended_;
  };

  pqxx::connection conn_;
  bool ended_ = false;
  EndWatch watch_;  // declared after conn_: unregisters before the connection goes
};

std::unique_ptr<WorkerConnection> TryConnect(const std::string& conninfo, StorageError& error) {
  try {
    return std::make_unique<WorkerConnection>(conninfo);
  } catch (const std::exception& e) {
    error = StorageError::Unavailable(std::string("could not connect to database: ") + e.what());
    return nullptr;
  }
}

}  // namespace

void DbPool::WorkerLoop() {
  std::unique_ptr<WorkerConnection> conn;
  for (;;) {
    Queued item;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and nothing left to run
      item = std::move(queue_.front());
      queue_.pop_front();
      ++busy_;
      ++tasks_started_;
      total_wait_seconds_ +=
          std::chrono::duration<double>(std::chrono::steady_clock::now() - item.enqueued_at).count();
    }
    StorageError error;
    // Check before use, so that a database restart while this worker was idle costs no
    // failed task: the worker just connects again.
    if (conn && !conn->StillConnected()) conn.reset();
    if (!conn && ConnectAllowed(error)) {
      conn = TryConnect(options_.conninfo, error);
      if (conn) {
        reachable_ = true;
      } else {
        MarkConnectFailed();
      }
    }
    bool lost = false;
    try {
      item.task(conn ? &conn->get() : nullptr, conn ? nullptr : &error);
    } catch (const pqxx::broken_connection&) {
      // Allowed by the Task contract: the task found the connection dead.
      lost = true;
    } catch (...) {
      // A task broke its contract. Letting the exception end the thread would terminate
      // the process; instead keep the worker and drop the connection, whose state (open
      // transaction, half-read result) is unknown.
      conn.reset();
    }
    if (lost || (conn && !conn->is_open())) {
      // The server went away during the task: drop the connection and let the next task
      // find out quickly whether the database is back.
      conn.reset();
      reachable_ = false;
    }
    std::lock_guard lock(mutex_);
    --busy_;
  }
}

StorageError TranslateCurrentException() {
  try {
    throw;
  } catch (const pqxx::broken_connection& e) {
    return StorageError::Unavailable(std::string("connection lost: ") + e.what());
  } catch (const pqxx::sql_error& e) {
    const std::string state = e.sqlstate();
    std::string detail = "sqlstate " + state + ": " + e.what();
    if (state == "23505" || state == "23P01") return {StorageErrc::kConflict, std::move(detail)};
    if (state.rfind("23", 0) == 0 || state.rfind("22", 0) == 0) return {StorageErrc::kInvalid, std::move(detail)};
    // Connection trouble, shutdown, resource exhaustion, statement timeout, serialisation
    // failures and deadlocks are all worth retrying later.
    if (state.rfind("08", 0) == 0 || state.rfind("57", 0) == 0 || state.rfind("53", 0) == 0 ||
        state == "40001" || state == "40P01") {
      return StorageError::Unavailable(std::move(detail));
    }
    return StorageError::Internal(std::move(detail));
  } catch (const pqxx::in_doubt_error& e) {
    return StorageError::Unavailable(std::string("commit outcome unknown: ") + e.what());
  } catch (const std::exception& e) {
    return StorageError::Internal(e.what());
  } catch (...) {
    return StorageError::Internal("unknown exception");
  }
}

}  // namespace fleetcomm::storage
