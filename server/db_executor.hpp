#pragma once
// Runs blocking storage work on the DbPool's threads and resumes the calling coroutine on
// its own executor with the result. A full pool queue completes at once with kUnavailable
// (so the request gets 503 + Retry-After instead of waiting without bound).
#include "storage/db_task.hpp"

#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <memory>

namespace fleetcomm::server {

// Fn: storage::StorageResult<R>(pqxx::connection_base&), run on a pool thread.
template <class R, class Fn>
boost::asio::awaitable<storage::StorageResult<R>> RunDb(storage::DbPool& pool, Fn fn) {
  auto executor = co_await boost::asio::this_coro::executor;
  // Every object with a destructor is a named local, never a temporary inside the
  // co_await expression: GCC 12 may destroy such temporaries twice (docs/coroutines.md).
  auto initiation = [&pool, executor](auto handler, Fn work) {
    // The handler is move-only; std::function needs a copyable callable.
    auto shared = std::make_shared<decltype(handler)>(std::move(handler));
    auto complete = [shared, executor](storage::StorageResult<R> result) {
      boost::asio::post(executor, [shared, result = std::move(result)]() mutable { (*shared)(std::move(result)); });
    };
    if (!pool.TrySubmit(storage::MakeDbTask<R>(std::move(work), complete))) {
      complete(storage::StorageError::Unavailable("database task queue is full"));
    }
  };
  auto operation = boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&, void(storage::StorageResult<R>)>(
      std::move(initiation), boost::asio::use_awaitable, std::move(fn));
  co_return co_await std::move(operation);
}

}  // namespace fleetcomm::server
