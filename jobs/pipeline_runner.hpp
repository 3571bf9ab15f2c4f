#pragma once
// Runs the pipelines (storage/pipeline_jobs.hpp) and the feed sequencer (storage/feeds.hpp)
// on threads of its own, with the database work on a storage::DbPool: `workers` threads each
// claim and run a batch of due jobs (worker i of n its own share i of n, see
// storage::PipelineOptions::share; others' jobs when its share has none), again at once while
// there is work, else after `poll_interval`; one thread numbers feed items every
// `sequence_interval` and right after a batch did something. Any number of runners (in any
// number of processes) may share one database: jobs are claimed with SKIP LOCKED, the
// sequencer runs one at a time.
// The destructor stops and joins (a batch in progress finishes first).
#include "storage/db_pool.hpp"
#include "storage/pipeline_jobs.hpp"

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string_view>
#include <thread>
#include <vector>

namespace fleetcomm::jobs {

struct PipelineRunnerOptions {
  int workers = 2;
  std::chrono::milliseconds poll_interval{500};
  std::chrono::milliseconds sequence_interval{200};
  storage::PipelineOptions pipeline;
};

// What the runner tells its owner (logs, metrics), on the runner's threads; any may be empty.
struct PipelineRunnerEvents {
  // "pipeline_batch" or "feed_sequencer" and the error (already free of secrets).
  std::function<void(std::string_view what, std::string_view error)> error;
  // A batch that claimed jobs committed (storage::PipelineBatch::by_pipeline says what it did),
  // with the time from its claim to its commit.
  std::function<void(const storage::PipelineBatch& batch, std::chrono::duration<double> took)> batch;
  // The sequencer numbered `items` (> 0) feed items.
  std::function<void(long long items)> sequenced;
};

class PipelineRunner {
 public:
  PipelineRunner(storage::DbPool& pool, PipelineRunnerOptions options, PipelineRunnerEvents events);
  ~PipelineRunner();
  PipelineRunner(const PipelineRunner&) = delete;
  PipelineRunner& operator=(const PipelineRunner&) = delete;

 private:
  void WorkerLoop(int worker);
  void SequencerLoop();
  // Sleeps up to `interval`; true when stopping.
  bool WaitFor(std::chrono::milliseconds interval, bool sequencer);

  storage::DbPool& pool_;
  const PipelineRunnerOptions options_;
  PipelineRunnerEvents events_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool sequence_requested_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace fleetcomm::jobs
