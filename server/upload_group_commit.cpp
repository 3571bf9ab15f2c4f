#include "server/upload_group_commit.hpp"

#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <memory>
#include <vector>

namespace fleetcomm::server {

namespace asio = boost::asio;
using storage::NewUpload;
using storage::StorageResult;
using storage::UploadOutcome;

UploadGroupCommit::UploadGroupCommit(storage::DbPool& pool, ServerMetrics& metrics, int writers, int batch_max)
    : pool_(pool), metrics_(metrics), writers_(writers), batch_max_(batch_max) {}

asio::awaitable<StorageResult<UploadOutcome>> UploadGroupCommit::Store(const NewUpload& upload) {
  auto executor = co_await asio::this_coro::executor;
  // Named locals only inside the co_await expression (docs/architecture.md, GCC 12).
  auto initiation = [this, executor](auto handler, const NewUpload* pending) {
    auto shared = std::make_shared<decltype(handler)>(std::move(handler));
    Enqueue(pending, [shared, executor](StorageResult<UploadOutcome> result) {
      asio::post(executor, [shared, result = std::move(result)]() mutable { (*shared)(std::move(result)); });
    });
  };
  auto operation = asio::async_initiate<const asio::use_awaitable_t<>&, void(StorageResult<UploadOutcome>)>(
      std::move(initiation), asio::use_awaitable, &upload);
  co_return co_await std::move(operation);
}

void UploadGroupCommit::Enqueue(const NewUpload* upload, Completion complete) {
  {
    std::lock_guard lock(mutex_);
    queue_.push_back({upload, std::move(complete)});
    // A running writer takes this upload with its next batch.
    if (running_ >= writers_) return;
    ++running_;
  }
  if (pool_.TrySubmit([this](pqxx::connection_base* conn, const storage::StorageError* error) { Write(conn, error); })) {
    return;
  }
  // The database queue is full: refuse what no writer will take.
  std::deque<Pending> refused;
  {
    std::lock_guard lock(mutex_);
    if (--running_ == 0) refused.swap(queue_);
  }
  for (auto& pending : refused) {
    pending.complete(storage::StorageError::Unavailable("database task queue is full"));
  }
}

void UploadGroupCommit::Write(pqxx::connection_base* conn, const storage::StorageError* error) {
  for (;;) {
    std::vector<Pending> batch;
    {
      std::lock_guard lock(mutex_);
      if (queue_.empty()) {
        --running_;
        return;
      }
      const auto take = std::min(queue_.size(), static_cast<std::size_t>(std::max(1, batch_max_)));
      std::move(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(take), std::back_inserter(batch));
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(take));
    }
    if (error != nullptr || conn == nullptr) {
      for (auto& pending : batch) pending.complete(error != nullptr ? *error : storage::StorageError::Internal("no connection"));
      continue;
    }
    // Every batch is sorted by sender, so that concurrent batches take the senders' row locks
    // in one order instead of deadlocking (a deadlock would still be safe: see StoreUploads).
    std::stable_sort(batch.begin(), batch.end(), [](const Pending& a, const Pending& b) {
      return a.upload->sender.id < b.upload->sender.id;
    });
    std::vector<const NewUpload*> uploads;
    uploads.reserve(batch.size());
    for (const auto& pending : batch) uploads.push_back(pending.upload);
    auto results = storage::StoreUploads(*conn, uploads);
    metrics_.UploadBatchStored(batch.size());
    for (std::size_t i = 0; i < batch.size(); ++i) batch[i].complete(std::move(results[i]));
  }
}

}  // namespace fleetcomm::server
