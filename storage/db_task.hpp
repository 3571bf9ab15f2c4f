#pragma once
// Typed work for DbPool: wraps `StorageResult<R> fn(pqxx::connection_base&)` into a pool task
// that translates every libpqxx exception into a StorageError and reports exactly once.
#include "storage/db_pool.hpp"

#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <utility>

namespace fleetcomm::storage {

// Maps the exception being handled (libpqxx or std) to a StorageError.
StorageError TranslateCurrentException();

template <class R, class Fn>
DbPool::Task MakeDbTask(Fn fn, std::function<void(StorageResult<R>)> done) {
  return [fn = std::move(fn), done = std::move(done)](pqxx::connection_base* conn, const StorageError* error) mutable {
    if (error != nullptr) {
      done(StorageResult<R>(*error));
      return;
    }
    StorageResult<R> result = [&]() -> StorageResult<R> {
      try {
        return fn(*conn);
      } catch (...) {
        return TranslateCurrentException();
      }
    }();
    done(std::move(result));
  };
}

// Runs `fn` on the pool and waits for it: for threads that may block (the command line,
// start-up checks, the pipeline runner's own threads), never for an I/O thread.
template <class R, class Fn>
StorageResult<R> RunDbBlocking(DbPool& pool, Fn fn) {
  auto promise = std::make_shared<std::promise<StorageResult<R>>>();
  auto future = promise->get_future();
  auto done = [promise](StorageResult<R> result) { promise->set_value(std::move(result)); };
  if (!pool.TrySubmit(MakeDbTask<R>(std::move(fn), done))) {
    return StorageError::Unavailable("database task queue is full");
  }
  return future.get();
}

}  // namespace fleetcomm::storage
