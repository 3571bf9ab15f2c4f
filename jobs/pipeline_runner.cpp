#include "jobs/pipeline_runner.hpp"

#include "storage/db_task.hpp"
#include "storage/feeds.hpp"

#include <algorithm>

namespace fleetcomm::jobs {

PipelineRunner::PipelineRunner(storage::DbPool& pool, PipelineRunnerOptions options, ErrorHandler on_error)
    : pool_(pool), options_(std::move(options)), on_error_(std::move(on_error)) {
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

PipelineRunnerStats PipelineRunner::Stats() const {
  return {jobs_done_.load(), jobs_failed_.load(), items_sequenced_.load()};
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
    auto work = [options](pqxx::connection_base& c) { return storage::RunPipelineBatch(c, options); };
    auto batch = storage::RunDbBlocking<storage::PipelineBatch>(pool_, std::move(work));
    bool busy = false;
    auto wait = options_.poll_interval;
    if (!batch) {
      on_error_("pipeline_batch", batch.error().detail);
      // A database that is down is not asked (nor logged about) more than once a second.
      wait = std::max(wait, std::chrono::milliseconds(1000));
    } else {
      jobs_done_ += static_cast<std::uint64_t>(batch->done);
      jobs_failed_ += static_cast<std::uint64_t>(batch->failed);
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
      on_error_("feed_sequencer", sequenced.error().detail);
    } else {
      items_sequenced_ += static_cast<std::uint64_t>(sequenced->items);
      if (sequenced->items >= 50000) continue;  // a backlog: keep numbering
    }
    if (WaitFor(options_.sequence_interval, true)) return;
  }
}

}  // namespace fleetcomm::jobs
