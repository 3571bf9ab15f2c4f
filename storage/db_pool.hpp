#pragma once
// DbPool: a fixed set of worker threads, each owning one PostgreSQL connection, fed from
// a bounded queue. All blocking database work of the server runs here, never on I/O
// threads. Thread-safe. When the database is unreachable, tasks fail fast with
// kUnavailable during a short back-off instead of each waiting for a connect timeout, and
// the pool reconnects by itself once the database answers again. A connection the server
// closed while its worker was idle (restart, pg_terminate_backend) is noticed before the
// next task gets it, so such a loss fails no task; one lost during a task fails that task.
#include "storage/storage_error.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace pqxx {
class connection_base;
}

namespace fleetcomm::storage {

struct DbPoolOptions {
  std::string conninfo;
  int connections = 4;
  int queue_limit = 1024;  // tasks waiting beyond this are refused at once
  std::chrono::milliseconds reconnect_backoff{1000};
};

struct DbPoolStats {
  int connections = 0;
  int busy = 0;
  int queued = 0;
  bool database_reachable = false;
  double total_wait_seconds = 0;  // summed queue wait of every task started
  std::uint64_t tasks_started = 0;
};

class DbPool {
 public:
  // Receives the worker's connection, or an error when none could be had.
  // Must not throw anything but pqxx::broken_connection (rethrown so the worker drops it).
  using Task = std::function<void(pqxx::connection_base*, const StorageError*)>;

  explicit DbPool(DbPoolOptions options);
  ~DbPool();  // stops the workers after the queued tasks ran
  DbPool(const DbPool&) = delete;
  DbPool& operator=(const DbPool&) = delete;

  // False when the queue is full or the pool is stopping; the task is then not run.
  bool TrySubmit(Task task);
  DbPoolStats Stats() const;

 private:
  struct Queued {
    Task task;
    std::chrono::steady_clock::time_point enqueued_at;
  };
  void WorkerLoop();
  // False (with the reason) while backing off after a failed connection attempt.
  bool ConnectAllowed(StorageError& error);
  void MarkConnectFailed();

  const DbPoolOptions options_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Queued> queue_;
  bool stopping_ = false;
  int busy_ = 0;
  double total_wait_seconds_ = 0;
  std::uint64_t tasks_started_ = 0;
  std::chrono::steady_clock::time_point down_until_{};
  std::atomic<bool> reachable_{false};
  std::vector<std::thread> workers_;
};

}  // namespace fleetcomm::storage
