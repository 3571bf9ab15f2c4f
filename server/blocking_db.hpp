#pragma once
// For the command line only (migrate, token create, start-up checks): runs storage work on
// the pool and waits for it. Never call this from an I/O thread.
#include "storage/db_task.hpp"

#include <future>

namespace fleetcomm::server {

template <class R, class Fn>
storage::StorageResult<R> RunDbBlocking(storage::DbPool& pool, Fn fn) {
  auto promise = std::make_shared<std::promise<storage::StorageResult<R>>>();
  auto future = promise->get_future();
  auto done = [promise](storage::StorageResult<R> result) { promise->set_value(std::move(result)); };
  if (!pool.TrySubmit(storage::MakeDbTask<R>(std::move(fn), done))) {
    return storage::StorageError::Unavailable("database task queue is full");
  }
  return future.get();
}

}  // namespace fleetcomm::server
