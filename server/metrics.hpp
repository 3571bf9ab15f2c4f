#pragma once
// The server's Prometheus metrics, declared in one place. Label values are bounded:
// listener names, route patterns (never raw paths), status codes and fixed reasons.
// Thread-safe (prometheus-cpp families lock internally). `fleetcomm jobs` uses them too, for
// what it has (the ops listener, the pool, the database probes, the pipelines), under the
// same names, so that one dashboard shows both kinds of process.
#include "server/http.hpp"
#include "storage/backlog.hpp"
#include "storage/db_pool.hpp"

#include <array>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace prometheus {
class Registry;
template <typename T>
class Family;
class Counter;
class Gauge;
class Histogram;
}  // namespace prometheus

namespace fleetcomm::storage {
struct PipelineBatch;
}

namespace fleetcomm::server {

class ServerMetrics {
 public:
  // kServe: all three listeners and what is behind them. kJobs: only the families a process
  // without device and operator listeners has; it exports no TLS, upload, audit or cache
  // series (at 0 they would look like a server that is idle, or whose listener is down).
  enum class Process { kServe, kJobs };
  explicit ServerMetrics(Process process = Process::kServe);
  ~ServerMetrics();

  void ObserveRequest(ListenerKind listener, std::string_view route, unsigned status, double seconds,
                      std::size_t bytes_in, std::size_t bytes_out);
  void ConnectionOpened(ListenerKind listener);
  void ConnectionClosed(ListenerKind listener);
  void ConnectionRefused(ListenerKind listener, std::string_view reason);
  void HandshakeFailed(ListenerKind listener, std::string_view reason);
  void HandshakeSucceeded(ListenerKind listener);
  void Overloaded(ListenerKind listener);
  void SetDatabaseUp(bool up);
  void IdentityLookedUp();
  enum class PollCacheResult { kHit, kMiss, kBypass };
  void PollCacheUsed(PollCacheResult result);
  void ActionNotified();
  void SetActionListenerUp(bool up);
  // One group-commit transaction of `uploads` uploads (server/upload_group_commit.hpp).
  void UploadBatchStored(std::size_t uploads);
  // Audit entries of the batch writer: written, dropped (queue full), waiting.
  void AuditWritten(std::size_t entries);
  void AuditDropped(std::size_t entries);
  void SetAuditQueued(std::size_t entries);
  // POST /rs/v1/uploads: a new report stored (with the devices it bound and the rows each
  // table gained), a replay of an earlier one, or a refusal by the route (wire error code).
  void UploadStored(std::size_t devices, const std::array<long long, 6>& rows_by_table);
  void UploadReplayed();
  void UploadRefused(std::string_view code);
  // Database-derived queue gauges, refreshed by a periodic task (server/database_probes.hpp).
  void SetBacklog(const storage::Backlog& backlog);
  // The pipelines this process runs (jobs/pipeline_runner.hpp): their job counters start at 0.
  void PipelinesStarted(const std::vector<std::string>& pipelines);
  // A batch that claimed jobs committed after `seconds` (claim to commit).
  void PipelineBatchCommitted(const storage::PipelineBatch& batch, double seconds);
  void FeedItemsSequenced(long long items);
  // The soonest expiry among the certificates of `role` (device_server, operator_server,
  // agent_ca, device_trust_anchors); the time left is computed at each scrape.
  void SetCertificateExpiry(std::string_view role, std::chrono::system_clock::time_point not_after);

  // Prometheus text exposition format, with the pool gauges refreshed first.
  std::string Serialize(const storage::DbPoolStats& pool);

 private:
  const Process process_;
  std::shared_ptr<prometheus::Registry> registry_;          // every process
  std::shared_ptr<prometheus::Registry> serving_registry_;  // exported by kServe only
  prometheus::Family<prometheus::Counter>* requests_;
  prometheus::Family<prometheus::Histogram>* request_seconds_;
  prometheus::Family<prometheus::Counter>* bytes_received_;
  prometheus::Family<prometheus::Counter>* bytes_sent_;
  prometheus::Family<prometheus::Gauge>* connections_open_;
  prometheus::Family<prometheus::Counter>* connections_refused_;
  prometheus::Family<prometheus::Counter>* handshake_failures_;
  prometheus::Family<prometheus::Counter>* handshakes_;
  prometheus::Family<prometheus::Counter>* overloaded_;
  prometheus::Family<prometheus::Gauge>* pool_gauges_;
  prometheus::Family<prometheus::Counter>* pool_wait_seconds_;
  prometheus::Family<prometheus::Counter>* pool_tasks_;
  prometheus::Family<prometheus::Gauge>* database_up_;
  prometheus::Counter* identity_lookups_;
  prometheus::Counter* poll_cache_hits_;
  prometheus::Counter* poll_cache_misses_;
  prometheus::Counter* poll_cache_bypasses_;
  prometheus::Counter* action_notifications_;
  prometheus::Gauge* action_listener_up_;
  prometheus::Histogram* upload_batch_size_;
  prometheus::Counter* audit_written_;
  prometheus::Counter* audit_dropped_;
  prometheus::Gauge* audit_queued_;
  prometheus::Counter* uploads_stored_;
  prometheus::Counter* uploads_replayed_;
  prometheus::Counter* upload_devices_stored_;
  std::array<prometheus::Counter*, 6> upload_rows_stored_{};
  prometheus::Family<prometheus::Counter>* uploads_refused_;
  prometheus::Family<prometheus::Gauge>* pipeline_jobs_;
  prometheus::Family<prometheus::Gauge>* pipeline_lag_;
  prometheus::Family<prometheus::Gauge>* feed_items_;
  prometheus::Family<prometheus::Gauge>* feed_lag_;
  prometheus::Family<prometheus::Gauge>* actions_open_;
  prometheus::Gauge* backlog_refreshed_;
  prometheus::Family<prometheus::Counter>* pipeline_jobs_done_;
  prometheus::Family<prometheus::Counter>* pipeline_jobs_failed_;
  prometheus::Family<prometheus::Histogram>* pipeline_batch_seconds_;
  prometheus::Family<prometheus::Counter>* feed_items_sequenced_;
  prometheus::Family<prometheus::Gauge>* certificate_not_after_;
  prometheus::Family<prometheus::Gauge>* certificate_expiry_;
  std::mutex scrape_mutex_;
  double reported_wait_seconds_ = 0;
  std::uint64_t reported_tasks_ = 0;
  std::vector<std::pair<std::string, double>> not_after_;  // role, Unix time; under scrape_mutex_
};

}  // namespace fleetcomm::server
