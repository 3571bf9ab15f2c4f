#include "server/database_probes.hpp"

#include "server/blocking_db.hpp"
#include "server/log.hpp"
#include "storage/backlog.hpp"
#include "storage/embedded.hpp"

#include <stdexcept>

namespace fleetcomm::server {
namespace {

constexpr std::chrono::seconds kDatabaseProbeInterval{5};
// How stale the pipeline, feed and action gauges may be: a scrape interval's worth at most.
constexpr std::chrono::seconds kQueueGaugeInterval{5};

// A failure keeps the last values (and their refresh time); an unreachable database is not
// logged every 5 s: fleetcomm_database_up already says so.
void RefreshBacklogBlocking(storage::DbPool& pool, ServerMetrics& metrics) {
  auto work = [](pqxx::connection_base& c) { return storage::ReadBacklog(c); };
  auto backlog = RunDbBlocking<storage::Backlog>(pool, std::move(work));
  if (!backlog && backlog.error().code == storage::StorageErrc::kUnavailable) return;
  if (!backlog) throw std::runtime_error(backlog.error().detail);
  metrics.SetBacklog(*backlog);
}

}  // namespace

storage::StorageResult<storage::SchemaState> CheckSchemaBlocking(storage::DbPool& pool) {
  return RunDbBlocking<storage::SchemaState>(pool, [](pqxx::connection_base& conn) {
    return storage::CheckSchema(conn, storage::EmbeddedMigrations());
  });
}

bool SchemaAllowsStart(storage::DbPool& pool) {
  auto schema = CheckSchemaBlocking(pool);
  if (schema) return true;
  if (schema.error().code == storage::StorageErrc::kSchemaMismatch) {
    Log(LogLevel::kError, "schema_mismatch", {{"detail", schema.error().detail}});
    return false;
  }
  Log(LogLevel::kWarn, "database_unavailable_at_start", {{"detail", schema.error().detail}});
  return true;
}

std::vector<jobs::PeriodicTask> DatabaseProbeTasks(storage::DbPool& pool, ServerMetrics& metrics) {
  return {{"database_probe", kDatabaseProbeInterval,
           [&pool, &metrics] { metrics.SetDatabaseUp(CheckSchemaBlocking(pool).has_value()); }},
          {"queue_gauges", kQueueGaugeInterval, [&pool, &metrics] { RefreshBacklogBlocking(pool, metrics); }}};
}

}  // namespace fleetcomm::server
