#include "storage/db_pool.hpp"

#include "storage/db_task.hpp"

#include <pqxx/pqxx>

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

std::unique_ptr<pqxx::connection> TryConnect(const std::string& conninfo, StorageError& error) {
  try {
    return std::make_unique<pqxx::connection>(conninfo);
  } catch (const std::exception& e) {
    error = StorageError::Unavailable(std::string("could not connect to database: ") + e.what());
    return nullptr;
  }
}

// False when the server has ended the session while the connection sat idle (restart,
// shutdown, pg_terminate_backend, idle timeouts). Such a server sends a FATAL error and
// closes the socket, but libpq only notices on a read: the first read consumes the message,
// the second meets end-of-file. Both reads are non-blocking, so a live connection costs two
// failed recv() calls and no round trip. A connection that vanished silently (network
// partition) still looks alive here; the task using it then fails and the worker drops it.
bool StillConnected(pqxx::connection_base& conn) {
  try {
    for (int i = 0; i < 2 && conn.is_open(); ++i) conn.get_notifs();
  } catch (const std::exception&) {
    return false;
  }
  return conn.is_open();
}

}  // namespace

void DbPool::WorkerLoop() {
  std::unique_ptr<pqxx::connection> conn;
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
    if (conn && !StillConnected(*conn)) conn.reset();
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
      item.task(conn.get(), conn ? nullptr : &error);
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
