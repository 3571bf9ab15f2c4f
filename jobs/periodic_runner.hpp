#pragma once
// Runs named tasks periodically on one thread of its own. Intervals get +-10% jitter so
// that instances started together do not act in lock-step; a task can be triggered by name
// (tests, operators) and runs at once. A task that throws is counted and logged by the
// caller's `on_error`, and keeps its schedule. Thread-safe; the destructor stops and joins.
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace fleetcomm::jobs {

struct PeriodicTask {
  std::string name;
  std::chrono::milliseconds interval;
  std::function<void()> run;
};

class PeriodicRunner {
 public:
  using ErrorHandler = std::function<void(std::string_view task, std::string_view error)>;

  PeriodicRunner(std::vector<PeriodicTask> tasks, ErrorHandler on_error);
  ~PeriodicRunner();
  PeriodicRunner(const PeriodicRunner&) = delete;
  PeriodicRunner& operator=(const PeriodicRunner&) = delete;

  // False when no task has that name.
  bool Trigger(std::string_view name);
  // How many times the named task has completed (successfully or not).
  std::uint64_t Runs(std::string_view name) const;

 private:
  struct Entry {
    PeriodicTask task;
    std::chrono::steady_clock::time_point due;
    std::uint64_t runs = 0;
  };
  void Loop();
  std::chrono::milliseconds Jittered(std::chrono::milliseconds interval);

  ErrorHandler on_error_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<Entry> entries_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace fleetcomm::jobs
