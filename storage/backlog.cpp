#include "storage/backlog.hpp"

#include "storage/db_task.hpp"

#include <pqxx/pqxx>

#include <algorithm>

namespace fleetcomm::storage {
namespace {

constexpr const char* kPipelines[] = {"meter_reads", "supplies", "diagnostics"};
constexpr const char* kFeeds[] = {"meter_reads", "supply_orders", "service_events"};
constexpr const char* kOpenActionStates[] = {"awaiting_authorization", "queued", "delivered", "in_progress"};

// Each part reads a partial index: pipeline_jobs_due, *_unsequenced, actions_open_expiry.
constexpr const char* kBacklogSql = R"SQL(
SELECT 'pipeline', pipeline, count(*), extract(epoch FROM now() - min(created_at))::float8
FROM pipeline_jobs WHERE finished_at IS NULL GROUP BY pipeline
UNION ALL
SELECT 'feed', 'meter_reads', count(*), coalesce(extract(epoch FROM now() - min(created_at))::float8, 0)
FROM meter_reads WHERE seq IS NULL
UNION ALL
SELECT 'feed', 'supply_orders', count(*), coalesce(extract(epoch FROM now() - min(created_at))::float8, 0)
FROM supply_order_events WHERE seq IS NULL
UNION ALL
SELECT 'feed', 'service_events', count(*), coalesce(extract(epoch FROM now() - min(created_at))::float8, 0)
FROM service_events WHERE seq IS NULL
UNION ALL
SELECT 'action', state, count(*), 0::float8
FROM actions WHERE state IN ('awaiting_authorization', 'queued', 'delivered', 'in_progress') GROUP BY state
)SQL";

template <std::size_t N>
std::vector<BacklogQueue> Empty(const char* const (&names)[N]) {
  std::vector<BacklogQueue> queues;
  for (const char* name : names) queues.push_back({name, 0, 0});
  return queues;
}

void Set(std::vector<BacklogQueue>& queues, const std::string& name, long long items, double age) {
  auto it = std::find_if(queues.begin(), queues.end(), [&](const BacklogQueue& q) { return q.name == name; });
  if (it == queues.end()) return;  // a value the schema's checks would refuse: not a label
  it->items = items;
  // Clocks of client-chosen times are not involved (created_at and queued_at are the
  // database's now()), but a tiny negative from rounding is not an age.
  it->oldest_age_seconds = std::max(0.0, age);
}

}  // namespace

StorageResult<Backlog> ReadBacklog(pqxx::connection_base& conn) {
  try {
    Backlog backlog{Empty(kPipelines), Empty(kFeeds), Empty(kOpenActionStates)};
    pqxx::read_transaction tx(conn);
    tx.exec("SET LOCAL statement_timeout = '2s'");
    for (const auto& row : tx.exec(kBacklogSql)) {
      const std::string kind = row[0].as<std::string>();
      const std::string name = row[1].as<std::string>();
      const long long items = row[2].as<long long>();
      const double age = row[3].is_null() ? 0.0 : row[3].as<double>();
      if (kind == "pipeline") Set(backlog.pipelines, name, items, age);
      else if (kind == "feed") Set(backlog.feeds, name, items, age);
      else Set(backlog.actions, name, items, age);
    }
    tx.commit();
    return backlog;
  } catch (...) {
    return TranslateCurrentException();
  }
}

}  // namespace fleetcomm::storage
