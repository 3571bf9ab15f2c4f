#include "server/audit_writer.hpp"

#include "server/blocking_db.hpp"
#include "server/log.hpp"

namespace fleetcomm::server {
namespace {

constexpr std::chrono::seconds kDropLogInterval{10};

}  // namespace

AuditWriter::AuditWriter(storage::DbPool& pool, ServerMetrics& metrics, AuditWriterOptions options)
    : pool_(pool), metrics_(metrics), options_(options) {
  if (options_.enabled) thread_ = std::thread([this] { Loop(); });
}

AuditWriter::~AuditWriter() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void AuditWriter::Submit(storage::AuditEntry entry) {
  if (!options_.enabled) return;
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    if (queue_.size() >= options_.queue_entries) {
      DroppedLocked(1);
      return;
    }
    queue_.push_back(std::move(entry));
    wake = queue_.size() == options_.batch_entries;
  }
  if (wake) wake_.notify_one();
}

// Logged at most every kDropLogInterval with the count since the last line, so that an
// overload does not also flood the log.
void AuditWriter::DroppedLocked(std::size_t entries) {
  metrics_.AuditDropped(entries);
  dropped_unlogged_ += entries;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_drop_log_ >= kDropLogInterval) {
    Log(LogLevel::kWarn, "audit_entries_dropped",
        {{"count", static_cast<long long>(dropped_unlogged_)}, {"reason", "audit queue full"}});
    dropped_unlogged_ = 0;
    last_drop_log_ = now;
  }
}

bool AuditWriter::Write(const std::vector<storage::AuditEntry>& batch) {
  auto work = [&batch](pqxx::connection_base& c) { return storage::InsertAuditEntries(c, batch); };
  auto written = RunDbBlocking<long long>(pool_, std::move(work));
  if (!written) {
    Log(LogLevel::kWarn, "audit_write_failed",
        {{"entries", static_cast<long long>(batch.size())}, {"error", written.error().detail}});
    return false;
  }
  metrics_.AuditWritten(batch.size());
  return true;
}

void AuditWriter::Loop() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait_for(lock, options_.flush_interval,
                   [this] { return stopping_ || queue_.size() >= options_.batch_entries; });
    metrics_.SetAuditQueued(queue_.size());
    if (queue_.empty()) {
      if (stopping_) return;
      continue;
    }
    const std::size_t take = std::min(queue_.size(), options_.batch_entries);
    std::vector<storage::AuditEntry> batch(std::make_move_iterator(queue_.begin()),
                                           std::make_move_iterator(queue_.begin() + static_cast<long>(take)));
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<long>(take));
    lock.unlock();
    const bool written = Write(batch);
    lock.lock();
    if (!written) {
      if (stopping_) {
        DroppedLocked(batch.size() + queue_.size());
        return;
      }
      // Back in front, in order, as far as the bound allows; the newest give way.
      const std::size_t room = options_.queue_entries > queue_.size() ? options_.queue_entries - queue_.size() : 0;
      const std::size_t keep = std::min(room, batch.size());
      queue_.insert(queue_.begin(), std::make_move_iterator(batch.begin()),
                    std::make_move_iterator(batch.begin() + static_cast<long>(keep)));
      if (keep < batch.size()) DroppedLocked(batch.size() - keep);
      wake_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_; });
    }
  }
}

}  // namespace fleetcomm::server
