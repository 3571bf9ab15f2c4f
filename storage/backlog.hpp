#pragma once
// What is waiting in the database, for the metrics: pipeline jobs not finished, feed items
// not sequenced yet, open actions by state. Cluster-wide figures (every instance reads the
// same ones), read by a periodic task, never per scrape.
#include "storage/storage_error.hpp"

#include <string>
#include <vector>

namespace pqxx {
class connection_base;
}

namespace fleetcomm::storage {

struct BacklogQueue {
  std::string name;                 // pipeline, feed or action state
  long long items = 0;
  double oldest_age_seconds = 0;    // pipelines and feeds; 0 when empty
};

struct Backlog {
  // Every pipeline, feed and open action state is present, empty ones with zeros, so that
  // a queue that drains shows 0 instead of keeping its last value.
  std::vector<BacklogQueue> pipelines;  // meter_reads, supplies, diagnostics: unfinished jobs
  std::vector<BacklogQueue> feeds;      // meter_reads, supply_orders, service_events: unsequenced
  std::vector<BacklogQueue> actions;    // awaiting_authorization, queued, delivered, in_progress
};

// One read-only statement under a 2 s statement timeout (the partial indexes of unfinished
// jobs, unsequenced feed rows and open actions keep it small).
StorageResult<Backlog> ReadBacklog(pqxx::connection_base& conn);

}  // namespace fleetcomm::storage
