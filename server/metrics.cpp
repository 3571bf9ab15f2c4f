#include "server/metrics.hpp"

#include "storage/pipeline_jobs.hpp"
#include "storage/uploads.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <algorithm>

namespace fleetcomm::server {
namespace {

const prometheus::Histogram::BucketBoundaries& LatencyBuckets() {
  static const prometheus::Histogram::BucketBoundaries kBuckets = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  return kBuckets;
}

const prometheus::Histogram::BucketBoundaries& BatchBuckets() {
  static const prometheus::Histogram::BucketBoundaries kBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                                                   1,     2.5,  5,     10,   30,  60};
  return kBuckets;
}

std::string Name(ListenerKind listener) { return std::string(ListenerName(listener)); }

}  // namespace

ServerMetrics::ServerMetrics(Process process)
    : process_(process),
      registry_(std::make_shared<prometheus::Registry>()),
      serving_registry_(std::make_shared<prometheus::Registry>()) {
  using namespace prometheus;
  Registry& serving = *serving_registry_;
  requests_ = &BuildCounter().Name("fleetcomm_http_requests_total")
                   .Help("HTTP requests answered, by listener, route pattern and status")
                   .Register(*registry_);
  request_seconds_ = &BuildHistogram().Name("fleetcomm_http_request_duration_seconds")
                          .Help("Time from a request's first header byte to its response written")
                          .Register(*registry_);
  bytes_received_ = &BuildCounter().Name("fleetcomm_http_request_bytes_total")
                         .Help("Request body bytes received").Register(*registry_);
  bytes_sent_ = &BuildCounter().Name("fleetcomm_http_response_bytes_total")
                     .Help("Response body bytes sent").Register(*registry_);
  connections_open_ = &BuildGauge().Name("fleetcomm_connections_open")
                           .Help("Connections currently open, by listener").Register(*registry_);
  connections_refused_ = &BuildCounter().Name("fleetcomm_connections_refused_total")
                              .Help("Connections closed at accept, by listener and reason").Register(*registry_);
  handshake_failures_ = &BuildCounter().Name("fleetcomm_tls_handshake_failures_total")
                             .Help("TLS handshakes that failed, by listener and reason").Register(serving);
  handshakes_ = &BuildCounter().Name("fleetcomm_tls_handshakes_total")
                     .Help("TLS handshakes completed, by listener (failures: fleetcomm_tls_handshake_failures_total)")
                     .Register(serving);
  overloaded_ = &BuildCounter().Name("fleetcomm_overload_rejections_total")
                     .Help("Requests answered 503 by the in-flight guard").Register(*registry_);
  pool_gauges_ = &BuildGauge().Name("fleetcomm_db_pool_connections")
                      .Help("Database pool connections by state (total, busy) and waiting tasks (queued)")
                      .Register(*registry_);
  pool_wait_seconds_ = &BuildCounter().Name("fleetcomm_db_pool_wait_seconds_total")
                            .Help("Total time database tasks waited for a connection").Register(*registry_);
  pool_tasks_ = &BuildCounter().Name("fleetcomm_db_pool_tasks_total")
                     .Help("Database tasks started").Register(*registry_);
  database_up_ = &BuildGauge().Name("fleetcomm_database_up")
                      .Help("1 when the last periodic probe reached the database with the expected schema")
                      .Register(*registry_);
  identity_lookups_ = &BuildCounter().Name("fleetcomm_identity_lookups_total")
                           .Help("Client identities read from the database (the rest came from connection caches)")
                           .Register(serving).Add({});
  auto& poll_cache = BuildCounter().Name("fleetcomm_empty_poll_cache_total")
                         .Help("Polls by what the empty-poll cache did: hit (answered from memory, no database "
                               "round trip), miss (read the database), bypass (the notification listener was down)")
                         .Register(serving);
  poll_cache_hits_ = &poll_cache.Add({{"result", "hit"}});
  poll_cache_misses_ = &poll_cache.Add({{"result", "miss"}});
  poll_cache_bypasses_ = &poll_cache.Add({{"result", "bypass"}});
  action_notifications_ = &BuildCounter().Name("fleetcomm_action_notifications_total")
                               .Help("Notifications heard on channel fleetcomm_actions").Register(serving).Add({});
  action_listener_up_ = &BuildGauge().Name("fleetcomm_action_listener_up")
                             .Help("1 while this instance LISTENs on fleetcomm_actions (else the empty-poll cache "
                                   "is bypassed)")
                             .Register(serving).Add({});
  upload_batch_size_ = &BuildHistogram().Name("fleetcomm_upload_batch_uploads")
                            .Help("Uploads stored per group-commit transaction")
                            .Register(serving)
                            .Add({}, Histogram::BucketBoundaries{1, 2, 4, 8, 16, 32, 64, 128, 256});
  audit_written_ = &BuildCounter().Name("fleetcomm_audit_entries_written_total")
                        .Help("Audit entries written by the batch writer (entries of changes commit with them)")
                        .Register(serving).Add({});
  audit_dropped_ = &BuildCounter().Name("fleetcomm_audit_entries_dropped_total")
                        .Help("Audit entries dropped because the writer's queue was full")
                        .Register(serving).Add({});
  audit_queued_ = &BuildGauge().Name("fleetcomm_audit_queue_entries")
                       .Help("Audit entries waiting for the batch writer").Register(serving).Add({});
  uploads_stored_ = &BuildCounter().Name("fleetcomm_uploads_stored_total")
                         .Help("Uploads that stored a new report (answered 201)").Register(serving).Add({});
  uploads_replayed_ = &BuildCounter().Name("fleetcomm_uploads_duplicate_total")
                           .Help("Uploads of a report already stored, answered with the stored answer (200)")
                           .Register(serving).Add({});
  upload_devices_stored_ = &BuildCounter().Name("fleetcomm_upload_devices_stored_total")
                                .Help("Devices whose data new reports stored (accepted devices)")
                                .Register(serving).Add({});
  auto& rows = BuildCounter().Name("fleetcomm_upload_rows_stored_total")
                   .Help("Rows new reports added, by table (readings already stored by an earlier upload not counted)")
                   .Register(serving);
  for (std::size_t i = 0; i < upload_rows_stored_.size(); ++i) {
    upload_rows_stored_[i] = &rows.Add({{"table", storage::UploadOutcome::kRowTables[i]}});
  }
  uploads_refused_ = &BuildCounter().Name("fleetcomm_uploads_refused_total")
                          .Help("Uploads the upload route refused, by wire error code (refusals before the route, "
                                "such as 401 or 413, are in fleetcomm_http_requests_total)")
                          .Register(serving);
  pipeline_jobs_ = &BuildGauge().Name("fleetcomm_pipeline_jobs_pending")
                        .Help("Pipeline jobs not finished yet (due or waiting for a retry), by pipeline; "
                              "cluster-wide, refreshed every few seconds")
                        .Register(*registry_);
  pipeline_lag_ = &BuildGauge().Name("fleetcomm_pipeline_lag_seconds")
                       .Help("Age of the oldest unfinished pipeline job, by pipeline (0 when none)")
                       .Register(*registry_);
  feed_items_ = &BuildGauge().Name("fleetcomm_feed_unsequenced_items")
                     .Help("Feed items written but not numbered by the sequencer yet (invisible to readers), by feed")
                     .Register(*registry_);
  feed_lag_ = &BuildGauge().Name("fleetcomm_feed_lag_seconds")
                   .Help("Age of the oldest feed item not numbered yet, by feed (0 when none)")
                   .Register(*registry_);
  actions_open_ = &BuildGauge().Name("fleetcomm_actions_open")
                       .Help("Actions not in a final state, by state; cluster-wide, refreshed every few seconds")
                       .Register(*registry_);
  backlog_refreshed_ = &BuildGauge().Name("fleetcomm_backlog_refreshed_timestamp_seconds")
                            .Help("When the pipeline, feed and action gauges were last read from the database")
                            .Register(*registry_).Add({});
  pipeline_jobs_done_ = &BuildCounter().Name("fleetcomm_pipeline_jobs_done_total")
                             .Help("Pipeline jobs this process ran to completion, by pipeline")
                             .Register(*registry_);
  pipeline_jobs_failed_ = &BuildCounter().Name("fleetcomm_pipeline_jobs_failed_total")
                               .Help("Pipeline job runs that failed in this process and were rolled back, by pipeline "
                                     "(the job is retried after a back-off)")
                               .Register(*registry_);
  pipeline_batch_seconds_ = &BuildHistogram().Name("fleetcomm_pipeline_batch_duration_seconds")
                                 .Help("Time from a pipeline batch's claim to its commit (batches that claimed jobs)")
                                 .Register(*registry_);
  feed_items_sequenced_ = &BuildCounter().Name("fleetcomm_feed_items_sequenced_total")
                               .Help("Feed items this process's sequencer numbered (made visible to readers)")
                               .Register(*registry_);
  certificate_not_after_ = &BuildGauge().Name("fleetcomm_certificate_not_after_timestamp_seconds")
                                .Help("Expiry (notAfter) of the soonest-expiring certificate of each role in force")
                                .Register(serving);
  certificate_expiry_ = &BuildGauge().Name("fleetcomm_certificate_expiry_seconds")
                             .Help("Time left until the soonest-expiring certificate of each role expires "
                                   "(negative once expired)")
                             .Register(serving);
  // Series of known label values start at 0: an absent series is not a zero to rate() and
  // to the alert rules (deploy/prometheus), so it would only appear with its first event.
  for (const ListenerKind listener : {ListenerKind::kDevice, ListenerKind::kOperator, ListenerKind::kOps}) {
    if (process_ == Process::kJobs && listener != ListenerKind::kOps) continue;
    connections_open_->Add({{"listener", Name(listener)}});
    connections_refused_->Add({{"listener", Name(listener)}, {"reason", "max_connections"}});
    overloaded_->Add({{"listener", Name(listener)}});
    if (listener != ListenerKind::kOps) handshakes_->Add({{"listener", Name(listener)}});
  }
}

ServerMetrics::~ServerMetrics() = default;

void ServerMetrics::ObserveRequest(ListenerKind listener, std::string_view route, unsigned status, double seconds,
                                   std::size_t bytes_in, std::size_t bytes_out) {
  const std::string listener_name = Name(listener);
  const std::string route_name(route);
  requests_->Add({{"listener", listener_name}, {"route", route_name}, {"status", std::to_string(status)}})
      .Increment();
  request_seconds_->Add({{"listener", listener_name}, {"route", route_name}}, LatencyBuckets()).Observe(seconds);
  bytes_received_->Add({{"listener", listener_name}}).Increment(static_cast<double>(bytes_in));
  bytes_sent_->Add({{"listener", listener_name}}).Increment(static_cast<double>(bytes_out));
}

void ServerMetrics::ConnectionOpened(ListenerKind listener) { connections_open_->Add({{"listener", Name(listener)}}).Increment(); }
void ServerMetrics::ConnectionClosed(ListenerKind listener) { connections_open_->Add({{"listener", Name(listener)}}).Decrement(); }

void ServerMetrics::ConnectionRefused(ListenerKind listener, std::string_view reason) {
  connections_refused_->Add({{"listener", Name(listener)}, {"reason", std::string(reason)}}).Increment();
}

void ServerMetrics::HandshakeFailed(ListenerKind listener, std::string_view reason) {
  handshake_failures_->Add({{"listener", Name(listener)}, {"reason", std::string(reason)}}).Increment();
}

void ServerMetrics::HandshakeSucceeded(ListenerKind listener) {
  handshakes_->Add({{"listener", Name(listener)}}).Increment();
}

void ServerMetrics::Overloaded(ListenerKind listener) { overloaded_->Add({{"listener", Name(listener)}}).Increment(); }

void ServerMetrics::IdentityLookedUp() { identity_lookups_->Increment(); }

void ServerMetrics::PollCacheUsed(PollCacheResult result) {
  switch (result) {
    case PollCacheResult::kHit: poll_cache_hits_->Increment(); break;
    case PollCacheResult::kMiss: poll_cache_misses_->Increment(); break;
    case PollCacheResult::kBypass: poll_cache_bypasses_->Increment(); break;
  }
}

void ServerMetrics::ActionNotified() { action_notifications_->Increment(); }

void ServerMetrics::SetActionListenerUp(bool up) { action_listener_up_->Set(up ? 1 : 0); }

void ServerMetrics::UploadBatchStored(std::size_t uploads) { upload_batch_size_->Observe(static_cast<double>(uploads)); }

void ServerMetrics::AuditWritten(std::size_t entries) { audit_written_->Increment(static_cast<double>(entries)); }
void ServerMetrics::AuditDropped(std::size_t entries) { audit_dropped_->Increment(static_cast<double>(entries)); }
void ServerMetrics::SetAuditQueued(std::size_t entries) { audit_queued_->Set(static_cast<double>(entries)); }

void ServerMetrics::UploadStored(std::size_t devices, const std::array<long long, 6>& rows_by_table) {
  uploads_stored_->Increment();
  upload_devices_stored_->Increment(static_cast<double>(devices));
  for (std::size_t i = 0; i < rows_by_table.size(); ++i) {
    upload_rows_stored_[i]->Increment(static_cast<double>(rows_by_table[i]));
  }
}

void ServerMetrics::UploadReplayed() { uploads_replayed_->Increment(); }

void ServerMetrics::UploadRefused(std::string_view code) {
  uploads_refused_->Add({{"code", std::string(code)}}).Increment();
}

void ServerMetrics::SetBacklog(const storage::Backlog& backlog) {
  for (const auto& queue : backlog.pipelines) {
    pipeline_jobs_->Add({{"pipeline", queue.name}}).Set(static_cast<double>(queue.items));
    pipeline_lag_->Add({{"pipeline", queue.name}}).Set(queue.oldest_age_seconds);
  }
  for (const auto& queue : backlog.feeds) {
    feed_items_->Add({{"feed", queue.name}}).Set(static_cast<double>(queue.items));
    feed_lag_->Add({{"feed", queue.name}}).Set(queue.oldest_age_seconds);
  }
  for (const auto& queue : backlog.actions) {
    actions_open_->Add({{"state", queue.name}}).Set(static_cast<double>(queue.items));
  }
  backlog_refreshed_->SetToCurrentTime();
}

void ServerMetrics::PipelinesStarted(const std::vector<std::string>& pipelines) {
  for (const auto& pipeline : pipelines) {
    pipeline_jobs_done_->Add({{"pipeline", pipeline}});
    pipeline_jobs_failed_->Add({{"pipeline", pipeline}});
  }
  pipeline_batch_seconds_->Add({}, BatchBuckets());
  feed_items_sequenced_->Add({});
}

void ServerMetrics::PipelineBatchCommitted(const storage::PipelineBatch& batch, double seconds) {
  for (const auto& [pipeline, counts] : batch.by_pipeline) {
    pipeline_jobs_done_->Add({{"pipeline", pipeline}}).Increment(static_cast<double>(counts.done));
    pipeline_jobs_failed_->Add({{"pipeline", pipeline}}).Increment(static_cast<double>(counts.failed));
  }
  pipeline_batch_seconds_->Add({}, BatchBuckets()).Observe(seconds);
}

void ServerMetrics::FeedItemsSequenced(long long items) {
  feed_items_sequenced_->Add({}).Increment(static_cast<double>(items));
}

void ServerMetrics::SetCertificateExpiry(std::string_view role, std::chrono::system_clock::time_point not_after) {
  const double unix_seconds = std::chrono::duration<double>(not_after.time_since_epoch()).count();
  certificate_not_after_->Add({{"role", std::string(role)}}).Set(unix_seconds);
  std::lock_guard lock(scrape_mutex_);
  auto it = std::find_if(not_after_.begin(), not_after_.end(), [&](const auto& entry) { return entry.first == role; });
  if (it == not_after_.end()) not_after_.emplace_back(std::string(role), unix_seconds);
  else it->second = unix_seconds;
}

void ServerMetrics::SetDatabaseUp(bool up) { database_up_->Add({}).Set(up ? 1 : 0); }

std::string ServerMetrics::Serialize(const storage::DbPoolStats& pool) {
  {
    std::lock_guard lock(scrape_mutex_);
    pool_gauges_->Add({{"state", "total"}}).Set(pool.connections);
    pool_gauges_->Add({{"state", "busy"}}).Set(pool.busy);
    pool_gauges_->Add({{"state", "queued"}}).Set(pool.queued);
    // The pool keeps running totals; counters only move forward by the difference.
    pool_wait_seconds_->Add({}).Increment(pool.total_wait_seconds - reported_wait_seconds_);
    pool_tasks_->Add({}).Increment(static_cast<double>(pool.tasks_started - reported_tasks_));
    reported_wait_seconds_ = pool.total_wait_seconds;
    reported_tasks_ = pool.tasks_started;
    // Time left moves with the clock: recomputed here, from what the last (re)load set.
    const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    for (const auto& [role, not_after] : not_after_) certificate_expiry_->Add({{"role", role}}).Set(not_after - now);
  }
  auto families = registry_->Collect();
  if (process_ == Process::kServe) {
    auto serving = serving_registry_->Collect();
    families.insert(families.end(), std::make_move_iterator(serving.begin()), std::make_move_iterator(serving.end()));
  }
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace fleetcomm::server
