#pragma once
// What a process with an ops listener reads from the database on a schedule of its own, so
// that a scrape never waits for the database: the schema probe behind fleetcomm_database_up
// and the cluster-wide queue gauges (pipelines, feeds, actions). `serve` and `fleetcomm jobs`
// both run these tasks in their PeriodicRunner.
#include "jobs/periodic_runner.hpp"
#include "server/metrics.hpp"
#include "storage/db_pool.hpp"
#include "storage/migrator.hpp"

#include <vector>

namespace fleetcomm::server {

// The schema this build expects, checked on a pool connection. Blocking: never on an I/O thread.
storage::StorageResult<storage::SchemaState> CheckSchemaBlocking(storage::DbPool& pool);

// At start: false (logged) when the database's schema is not the one this build expects. A
// database that is down is not fatal: /readyz says so, and the pool connects once it is back.
bool SchemaAllowsStart(storage::DbPool& pool);

// `database_probe` (fleetcomm_database_up) and `queue_gauges` (ServerMetrics::SetBacklog),
// every 5 s each.
std::vector<jobs::PeriodicTask> DatabaseProbeTasks(storage::DbPool& pool, ServerMetrics& metrics);

}  // namespace fleetcomm::server
