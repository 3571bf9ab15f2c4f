#pragma once
// Runs CPU-heavy work (inflating and parsing reports) on the server's CPU pool and resumes
// the calling coroutine on its own executor: the I/O threads only move bytes.
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <memory>

namespace fleetcomm::server {

// Fn: R() and must not throw (catch inside and return the failure as part of R).
template <class R, class Fn>
boost::asio::awaitable<R> RunCpu(boost::asio::thread_pool& pool, Fn fn) {
  auto executor = co_await boost::asio::this_coro::executor;
  // Named locals only inside co_await expressions: see docs/coroutines.md (GCC 12).
  auto initiation = [&pool, executor](auto handler, Fn work) {
    auto shared = std::make_shared<decltype(handler)>(std::move(handler));
    boost::asio::post(pool, [shared, executor, work = std::move(work)]() mutable {
      auto result = std::make_shared<R>(work());
      boost::asio::post(executor, [shared, result]() mutable { (*shared)(std::move(*result)); });
    });
  };
  auto operation = boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&, void(R)>(
      std::move(initiation), boost::asio::use_awaitable, std::move(fn));
  co_return co_await std::move(operation);
}

}  // namespace fleetcomm::server
