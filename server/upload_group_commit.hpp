#pragma once
// Group commit for uploads. A transaction per upload makes PostgreSQL pay a commit (a WAL
// flush with synchronous_commit on) and its statement overhead for every upload; here,
// uploads that arrive while earlier ones are being stored wait in a queue and are then
// stored together, in one transaction, by one of at most `writers` database tasks. An idle
// server adds no delay: the first upload starts a writer at once, and batches form only
// under load, where they pay. Every upload is still acknowledged only after its
// transaction committed.
#include "server/metrics.hpp"
#include "storage/db_pool.hpp"
#include "storage/uploads.hpp"

#include <boost/asio/awaitable.hpp>

#include <deque>
#include <functional>
#include <mutex>

namespace fleetcomm::server {

class UploadGroupCommit {
 public:
  // Only stores the pool's address: constructed before the pool and destroyed after it, so
  // that the pool's last tasks still find it.
  UploadGroupCommit(storage::DbPool& pool, ServerMetrics& metrics, int writers, int batch_max);
  UploadGroupCommit(const UploadGroupCommit&) = delete;
  UploadGroupCommit& operator=(const UploadGroupCommit&) = delete;

  // Resumes on the caller's executor. `upload` and what it points to must stay alive until
  // then. A full database queue completes at once with kUnavailable.
  boost::asio::awaitable<storage::StorageResult<storage::UploadOutcome>> Store(const storage::NewUpload& upload);

 private:
  using Completion = std::function<void(storage::StorageResult<storage::UploadOutcome>)>;
  struct Pending {
    const storage::NewUpload* upload;
    Completion complete;
  };
  void Enqueue(const storage::NewUpload* upload, Completion complete);
  // A writer: stores batches until the queue is empty.
  void Write(pqxx::connection_base* conn, const storage::StorageError* error);

  storage::DbPool& pool_;
  ServerMetrics& metrics_;
  const int writers_;
  const int batch_max_;
  std::mutex mutex_;
  std::deque<Pending> queue_;
  int running_ = 0;
};

}  // namespace fleetcomm::server
