#pragma once
// The batch writer of the audit log: entries of requests that change nothing (reads,
// refusals, replays of an upload, a repeated action result, a poll that delivers nothing,
// whether answered from the empty-poll cache or the database, a registration of a revoked
// device) and of failed TLS handshakes wait in a bounded in-memory queue and are written by
// one thread of its own through the database pool, every audit.flush_interval_ms or as soon
// as audit.batch_entries are waiting. Submit never waits for the database: when the queue
// is full the entry is dropped, counted and logged. A crash loses what is queued, at most
// one flush interval of entries (plus what piled up while the database was unreachable).
// Entries of changes never come here: operator changes, uploads, enrolments, renewals,
// diagnostics, registrations, polls that deliver actions and recorded action results commit
// their entry in the change's transaction (RequestContext::audit, MarkRecorded).
#include "server/metrics.hpp"
#include "storage/audit.hpp"
#include "storage/db_pool.hpp"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

namespace fleetcomm::server {

struct AuditWriterOptions {
  bool enabled = true;
  std::chrono::milliseconds flush_interval{200};
  std::size_t batch_entries = 500;
  std::size_t queue_entries = 100000;
};

class AuditWriter {
 public:
  AuditWriter(storage::DbPool& pool, ServerMetrics& metrics, AuditWriterOptions options);
  // Writes what is still queued (one attempt per batch), then stops the thread.
  ~AuditWriter();
  AuditWriter(const AuditWriter&) = delete;
  AuditWriter& operator=(const AuditWriter&) = delete;

  bool enabled() const { return options_.enabled; }
  // Thread-safe; takes a mutex for a push, never waits for I/O.
  void Submit(storage::AuditEntry entry);

 private:
  void Loop();
  bool Write(const std::vector<storage::AuditEntry>& batch);
  void DroppedLocked(std::size_t entries);

  storage::DbPool& pool_;
  ServerMetrics& metrics_;
  const AuditWriterOptions options_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<storage::AuditEntry> queue_;
  bool stopping_ = false;
  std::size_t dropped_unlogged_ = 0;
  std::chrono::steady_clock::time_point last_drop_log_{};
  std::thread thread_;
};

}  // namespace fleetcomm::server
