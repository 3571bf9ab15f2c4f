#include "jobs/pipeline_runner.hpp"

#include "storage/db_task.hpp"
#include "storage/feeds.hpp"

#include <algorithm>

namespace fleetcomm::jobs {

PipelineRunner::PipelineRunner(storage::DbPool& pool, PipelineRunnerOptions options, PipelineRunnerEvents events)
    : pool_(pool), options_(std::move(options)), events_(std::move(events)) {
  for (int i = 0; i < options_.workers; ++i) threads_.emplace_back([this, i] { WorkerLoop(i); });
  threads_.emplace_back([this] { SequencerLoop(); });
}

PipelineRunner::~PipelineRunner() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& thread : threads_) thread.join();
}

bool PipelineRunner::WaitFor(std::chrono::milliseconds interval, bool sequencer) {
  std::unique_lock lock(mutex_);
  wake_.wait_for(lock, interval, [&] { return stopping_ || (sequencer && sequence_requested_); });
  if (sequencer) sequence_requested_ = false;
  return stopping_;
}

void PipelineRunner::WorkerLoop(int worker) {
  storage::PipelineOptions options = options_.pipeline;
  options.share = worker;
  options.shares = options_.workers;
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
    }
    // Timed on the connection: the wait for it is the pool's metric, not the batch's.
    std::chrono::duration<double> took{};
    auto work = [options, &took](pqxx::connection_base& c) {
      const auto started = std::chrono::steady_clock::now();
      auto result = storage::RunPipelineBatch(c, options);
      took = std::chrono::steady_clock::now() - started;
      return result;
    };
    auto batch = storage::RunDbBlocking<storage::PipelineBatch>(pool_, std::move(work));
    bool busy = false;
    auto wait = options_.poll_interval;
    if (!batch) {
      if (events_.error) events_.error("pipeline_batch", batch.error().detail);
      // A database that is down is not asked (nor logged about) more than once a second.
      wait = std::max(wait, std::chrono::milliseconds(1000));
    } else {
      if (batch->claimed > 0 && events_.batch) events_.batch(*batch, took);
      if (batch->done > 0) {
        {
          std::lock_guard lock(mutex_);
          sequence_requested_ = true;
        }
        wake_.notify_all();
      }
      // A full batch means more may be due: claim again at once.
      busy = batch->claimed >= options.batch_size;
    }
    if (!busy && WaitFor(wait, false)) return;
  }
}

void PipelineRunner::SequencerLoop() {
  for (;;) {
    auto work = [](pqxx::connection_base& c) { return storage::SequenceFeeds(c); };
    auto sequenced = storage::RunDbBlocking<storage::SequencedItems>(pool_, std::move(work));
    if (!sequenced) {
      if (events_.error) events_.error("feed_sequencer", sequenced.error().detail);
    } else {
      if (sequenced->items > 0 && events_.sequenced) events_.sequenced(sequenced->items);
      if (sequenced->items >= 50000) continue;  // a backlog: keep numbering
    }
    if (WaitFor(options_.sequence_interval, true)) return;
  }
}

}  // namespace fleetcomm::jobs
