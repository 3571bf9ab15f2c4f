#include "jobs/periodic_runner.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

using fleetcomm::jobs::PeriodicRunner;
using fleetcomm::jobs::PeriodicTask;
using namespace std::chrono_literals;

namespace {

template <class Predicate>
bool WaitFor(Predicate predicate, std::chrono::milliseconds limit = 3000ms) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!predicate()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

}  // namespace

TEST_CASE("periodic tasks run at start and then on their interval", "[jobs]") {
  std::atomic<int> runs{0};
  PeriodicRunner runner({{"tick", 20ms, [&] { ++runs; }}}, [](auto, auto) {});
  CHECK(WaitFor([&] { return runs >= 3; }));
  CHECK(runner.Runs("tick") >= 2);
  CHECK(runner.Runs("absent") == 0);
}

TEST_CASE("a task triggered by name runs at once instead of at its next due time", "[jobs]") {
  std::atomic<int> runs{0};
  PeriodicRunner runner({{"hourly", 1h, [&] { ++runs; }}}, [](auto, auto) {});
  REQUIRE(WaitFor([&] { return runs == 1; }));  // the first run is at start
  std::this_thread::sleep_for(50ms);
  CHECK(runs == 1);
  CHECK(runner.Trigger("hourly"));
  CHECK(WaitFor([&] { return runs == 2; }));
  CHECK_FALSE(runner.Trigger("nope"));
}

TEST_CASE("a task that throws is reported and keeps its schedule", "[jobs]") {
  std::atomic<int> errors{0};
  std::string last_task;
  std::mutex mutex;
  PeriodicRunner runner({{"flaky", 10ms, [] { throw std::runtime_error("boom"); }}},
                        [&](std::string_view task, std::string_view error) {
                          std::lock_guard lock(mutex);
                          last_task = std::string(task) + ":" + std::string(error);
                          ++errors;
                        });
  CHECK(WaitFor([&] { return errors >= 3; }));
  std::lock_guard lock(mutex);
  CHECK(last_task == "flaky:boom");
}
