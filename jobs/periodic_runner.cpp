#include "jobs/periodic_runner.hpp"

#include <algorithm>
#include <random>

namespace fleetcomm::jobs {

PeriodicRunner::PeriodicRunner(std::vector<PeriodicTask> tasks, ErrorHandler on_error)
    : on_error_(std::move(on_error)) {
  const auto now = std::chrono::steady_clock::now();
  for (auto& task : tasks) entries_.push_back({std::move(task), now, 0});
  thread_ = std::thread([this] { Loop(); });
}

PeriodicRunner::~PeriodicRunner() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

bool PeriodicRunner::Trigger(std::string_view name) {
  {
    std::lock_guard lock(mutex_);
    auto it = std::find_if(entries_.begin(), entries_.end(), [&](const Entry& e) { return e.task.name == name; });
    if (it == entries_.end()) return false;
    it->due = std::chrono::steady_clock::now();
  }
  wake_.notify_all();
  return true;
}

std::uint64_t PeriodicRunner::Runs(std::string_view name) const {
  std::lock_guard lock(mutex_);
  for (const auto& entry : entries_) {
    if (entry.task.name == name) return entry.runs;
  }
  return 0;
}

std::chrono::milliseconds PeriodicRunner::Jittered(std::chrono::milliseconds interval) {
  static thread_local std::mt19937 generator{std::random_device{}()};
  std::uniform_real_distribution<double> factor(0.9, 1.1);
  return std::chrono::milliseconds(static_cast<long long>(static_cast<double>(interval.count()) * factor(generator)));
}

void PeriodicRunner::Loop() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    auto next = entries_.empty() ? std::chrono::steady_clock::now() + std::chrono::hours(1) : entries_.front().due;
    Entry* due_entry = nullptr;
    for (auto& entry : entries_) {
      if (entry.due <= next) {
        next = entry.due;
        due_entry = &entry;
      }
    }
    if (due_entry == nullptr || next > std::chrono::steady_clock::now()) {
      wake_.wait_until(lock, next);
      continue;
    }
    // Run outside the lock so that Trigger and Runs never wait for a task.
    auto run = due_entry->task.run;
    const std::string name = due_entry->task.name;
    due_entry->due = std::chrono::steady_clock::now() + Jittered(due_entry->task.interval);
    lock.unlock();
    try {
      run();
    } catch (const std::exception& e) {
      on_error_(name, e.what());
    } catch (...) {
      on_error_(name, "unknown exception");
    }
    lock.lock();
    for (auto& entry : entries_) {
      if (entry.task.name == name) ++entry.runs;
    }
  }
}

}  // namespace fleetcomm::jobs
