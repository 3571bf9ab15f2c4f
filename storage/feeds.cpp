#include "storage/feeds.hpp"

#include "storage/db_task.hpp"

#include <pqxx/pqxx>

#include <string>

namespace fleetcomm::storage {
namespace {

// The page is assembled in the database: one row, whatever the limit.
constexpr const char* kMeterReads = R"SQL(
SELECT coalesce(json_agg(json_build_object(
         'id', id, 'account_id', account_id, 'device_id', device_id, 'serial', serial, 'counter', counter,
         'value', value, 'read_at', fleetcomm_rfc3339(read_at), 'status', status, 'reason', reason) ORDER BY seq),
       '[]')::text, max(seq)
FROM (SELECT * FROM meter_reads WHERE seq > $1 ORDER BY seq LIMIT $2) page
)SQL";

constexpr const char* kServiceEvents = R"SQL(
SELECT coalesce(json_agg(json_build_object(
         'id', id, 'account_id', account_id, 'device_id', device_id, 'kind', kind, 'code', code,
         'severity', severity, 'critical', critical, 'detail', detail, 'at', fleetcomm_rfc3339(at)) ORDER BY seq),
       '[]')::text, max(seq)
FROM (SELECT * FROM service_events WHERE seq > $1 ORDER BY seq LIMIT $2) page
)SQL";

constexpr const char* kSupplyOrders = R"SQL(
SELECT coalesce(json_agg(json_build_object(
         'id', id, 'order_id', order_id, 'account_id', account_id, 'device_id', device_id, 'supply', supply,
         'event', event, 'at', fleetcomm_rfc3339(at)) ORDER BY seq),
       '[]')::text, max(seq)
FROM (SELECT * FROM supply_order_events WHERE seq > $1 ORDER BY seq LIMIT $2) page
)SQL";

// One sequencer in the whole cluster at a time; the others skip their turn. The lock is
// released at commit, after the numbers became visible, so the next run numbers above them.
constexpr long long kSequencerLock = 0x666c656574736571;  // "fleetseq"

// nextval is taken in created order within a run; all of a run's numbers appear at once.
// `table` is one of the three feed tables named below, never input.
std::string SequenceSql(const char* table) {
  return std::string("UPDATE ") + table + " t SET seq = n.seq FROM (SELECT id, nextval('feed_seq') AS seq " +
         "FROM (SELECT id FROM " + table + " WHERE seq IS NULL ORDER BY created_at, id LIMIT $1) o) n " +
         "WHERE t.id = n.id";
}

const char* PageQuery(Feed feed) {
  switch (feed) {
    case Feed::kMeterReads: return kMeterReads;
    case Feed::kSupplyOrders: return kSupplyOrders;
    case Feed::kServiceEvents: break;
  }
  return kServiceEvents;
}

}  // namespace

StorageResult<FeedPage> ReadFeed(pqxx::connection_base& conn, Feed feed, long long after, int limit) {
  try {
    pqxx::nontransaction tx(conn);
    const auto row = tx.exec_params1(PageQuery(feed), after, limit);
    FeedPage page;
    page.items = row[0].as<std::string>();
    if (!row[1].is_null()) page.next = row[1].as<std::string>();
    return page;
  } catch (...) {
    return TranslateCurrentException();
  }
}

StorageResult<SequencedItems> SequenceFeeds(pqxx::connection_base& conn, int max_items) {
  try {
    pqxx::work tx(conn);
    SequencedItems result;
    if (!tx.exec_params1("SELECT pg_try_advisory_xact_lock($1)", kSequencerLock)[0].as<bool>()) return result;
    result.ran = true;
    result.items += tx.exec_params(SequenceSql("meter_reads"), max_items).affected_rows();
    result.items += tx.exec_params(SequenceSql("supply_order_events"), max_items).affected_rows();
    result.items += tx.exec_params(SequenceSql("service_events"), max_items).affected_rows();
    tx.commit();
    return result;
  } catch (...) {
    return TranslateCurrentException();
  }
}

}  // namespace fleetcomm::storage
