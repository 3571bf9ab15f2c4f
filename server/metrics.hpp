#pragma once
// The server's Prometheus metrics, declared in one place. Label values are bounded:
// listener names, route patterns (never raw paths), status codes and fixed reasons.
// Thread-safe (prometheus-cpp families lock internally).
#include "server/http.hpp"
#include "storage/db_pool.hpp"

#include <memory>
#include <mutex>
#include <string>

namespace prometheus {
class Registry;
template <typename T>
class Family;
class Counter;
class Gauge;
class Histogram;
}  // namespace prometheus

namespace fleetcomm::server {

class ServerMetrics {
 public:
  ServerMetrics();
  ~ServerMetrics();

  void ObserveRequest(ListenerKind listener, std::string_view route, unsigned status, double seconds,
                      std::size_t bytes_in, std::size_t bytes_out);
  void ConnectionOpened(ListenerKind listener);
  void ConnectionClosed(ListenerKind listener);
  void ConnectionRefused(ListenerKind listener, std::string_view reason);
  void HandshakeFailed(ListenerKind listener, std::string_view reason);
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

  // Prometheus text exposition format, with the pool gauges refreshed first.
  std::string Serialize(const storage::DbPoolStats& pool);

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>* requests_;
  prometheus::Family<prometheus::Histogram>* request_seconds_;
  prometheus::Family<prometheus::Counter>* bytes_received_;
  prometheus::Family<prometheus::Counter>* bytes_sent_;
  prometheus::Family<prometheus::Gauge>* connections_open_;
  prometheus::Family<prometheus::Counter>* connections_refused_;
  prometheus::Family<prometheus::Counter>* handshake_failures_;
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
  std::mutex scrape_mutex_;
  double reported_wait_seconds_ = 0;
  std::uint64_t reported_tasks_ = 0;
};

}  // namespace fleetcomm::server
