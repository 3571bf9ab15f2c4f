#include "storage/supply_orders.hpp"

#include "protocol/supply_level.hpp"
#include "storage/audit.hpp"
#include "storage/db_task.hpp"
#include "storage/pipeline_jobs.hpp"
#include "storage/prepared.hpp"

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <algorithm>
#include <map>
#include <vector>

namespace fleetcomm::storage {
namespace {

using nlohmann::json;

// The supply readings these uploads stored, each found by its full key (device, index, report
// time: the readings' primary key), each with the open order of that supply and the read time
// of the newest reading already judged. Rows of one supply come in claim order (`ord`).
constexpr PreparedSql kFacts{"supplies_facts", R"SQL(
SELECT s.device_id, s.supply_index, coalesce(s.type, ''), coalesce(s.colorant, ''), s.read_at::text,
       s.level, s.capacity, s.state, s.serial,
       jsonb_build_object('index', s.supply_index, 'type', s.type, 'colorant', s.colorant,
                          'description', s.description, 'part_number', s.part_number, 'serial', s.serial,
                          'unit', s.unit, 'capacity', s.capacity, 'level', s.level, 'state', s.state)::text,
       o.id, o.opened_serial, o.lowest_percent, extract(epoch FROM st.read_at)::float8, a.supply_low_percent,
       k.account_id, extract(epoch FROM s.read_at)::float8
FROM jsonb_to_recordset($1::jsonb) AS k(ord int, upload_id text, account_id text, device_id text, supply_index bigint,
                                        read_at timestamptz)
JOIN supply_readings s ON s.device_id = k.device_id AND s.supply_index = k.supply_index AND s.read_at = k.read_at
  AND s.upload_id = k.upload_id
JOIN accounts a ON a.id = k.account_id
LEFT JOIN supply_orders o ON o.device_id = s.device_id AND o.supply_index = s.supply_index
  AND o.supply_type = coalesce(s.type, '') AND o.colorant = coalesce(s.colorant, '')
  AND o.status IN ('opened', 'shipped')
LEFT JOIN supply_states st ON st.device_id = s.device_id AND st.supply_index = s.supply_index
  AND st.supply_type = coalesce(s.type, '') AND st.colorant = coalesce(s.colorant, '')
ORDER BY s.device_id, s.supply_index, 3, 4, k.ord
)SQL"};

// Feed items are numbered by (created_at, id): events of one step get created_at = the time
// the step started judging (after its devices' locks, so after any earlier step of these
// devices committed) plus their order of happening in microseconds, so that an order opened
// and fulfilled within one batch is read in that order.
constexpr const char* kClock = "SELECT clock_timestamp()::text";

constexpr PreparedSql kRemember{"supplies_remember", R"SQL(
INSERT INTO supply_states (device_id, supply_index, supply_type, colorant, read_at)
SELECT device_id, supply_index, supply_type, colorant, read_at
FROM jsonb_to_recordset($1::jsonb) AS r(device_id text, supply_index bigint, supply_type text, colorant text,
                                        read_at timestamptz)
ON CONFLICT (device_id, supply_index, supply_type, colorant) DO UPDATE SET read_at = EXCLUDED.read_at
WHERE supply_states.read_at < EXCLUDED.read_at
)SQL"};

constexpr PreparedSql kLowest{"supplies_lowest", "UPDATE supply_orders o SET lowest_percent = least(o.lowest_percent, r.percent), updated_at = now() "
    "FROM jsonb_to_recordset($1::jsonb) AS r(order_id text, percent float8) WHERE o.id = r.order_id"};

constexpr PreparedSql kFulfil{"supplies_fulfil", R"SQL(
WITH done AS (
  UPDATE supply_orders o SET status = 'fulfilled', updated_at = now()
  FROM jsonb_to_recordset($1::jsonb) AS r(order_id text, read_at timestamptz, ord int)
  WHERE o.id = r.order_id AND o.status IN ('opened', 'shipped')
  RETURNING o.id, o.account_id, o.device_id, o.supply, r.read_at, r.ord
)
INSERT INTO supply_order_events (source_key, order_id, account_id, device_id, supply, event, at, created_at)
SELECT 'fulfilled:' || id, id, account_id, device_id, supply, 'fulfilled', read_at,
       $2::timestamptz + make_interval(secs => ord / 1e6)
FROM done
ON CONFLICT (source_key) DO NOTHING
)SQL"};

// Orders opened by this step, some already fulfilled by a later reading of the same step.
// The partial unique index keeps one open order per supply even against a racing step. An
// order is found again among the inserted ones by its supply and opening time (one reading
// per supply and time).
constexpr PreparedSql kOpen{"supplies_open", R"SQL(
WITH input AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(account_id text, device_id text, supply_index bigint,
                                                   supply_type text, colorant text, supply jsonb, serial text,
                                                   lowest float8, read_at timestamptz, ord int,
                                                   fulfilled_at timestamptz, fulfilled_ord int)
), opened AS (
  INSERT INTO supply_orders (account_id, device_id, supply_index, supply_type, colorant, supply, opened_serial,
                             lowest_percent, status, opened_at)
  SELECT account_id, device_id, supply_index, supply_type, colorant, supply, serial, lowest,
         CASE WHEN fulfilled_at IS NULL THEN 'opened' ELSE 'fulfilled' END, read_at
  FROM input ORDER BY device_id, supply_index, supply_type, colorant, read_at
  ON CONFLICT (device_id, supply_index, supply_type, colorant) WHERE status IN ('opened', 'shipped') DO NOTHING
  RETURNING id, account_id, device_id, supply_index, supply_type, colorant, supply, opened_at
)
INSERT INTO supply_order_events (source_key, order_id, account_id, device_id, supply, event, at, created_at)
SELECT e.event || ':' || o.id, o.id, o.account_id, o.device_id, o.supply, e.event, e.at,
       $2::timestamptz + make_interval(secs => e.ord / 1e6)
FROM opened o
JOIN input i ON i.device_id = o.device_id AND i.supply_index = o.supply_index AND i.supply_type = o.supply_type
  AND i.colorant = o.colorant AND i.read_at = o.opened_at
CROSS JOIN LATERAL (VALUES ('opened', i.read_at, i.ord), ('fulfilled', i.fulfilled_at, i.fulfilled_ord))
  AS e(event, at, ord)
WHERE e.at IS NOT NULL
)SQL"};

constexpr const char* kOrderDocument = "SELECT to_jsonb(t)::text FROM supply_orders t WHERE id = $1";

constexpr const char* kSetStatus = R"SQL(
SELECT status, account_id, device_id, supply::text FROM supply_orders WHERE id = $1 FOR UPDATE
)SQL";

constexpr const char* kStatusChange = R"SQL(
WITH changed AS (
  UPDATE supply_orders SET status = $2, updated_at = now() WHERE id = $1
  RETURNING id, account_id, device_id, supply, updated_at
)
INSERT INTO supply_order_events (source_key, order_id, account_id, device_id, supply, event, at)
SELECT $2 || ':' || id, id, account_id, device_id, supply, $2, updated_at FROM changed
)SQL";

template <class T>
std::optional<T> Optional(const pqxx::field& field) {
  if (field.is_null()) return std::nullopt;
  return field.as<T>();
}

}  // namespace

bool SupplyNeedsOrder(const SupplyFacts& facts) {
  if (facts.state == "empty") return true;
  if (facts.level == -3) return false;
  if (facts.state == "low") return true;
  const auto percent = protocol::SupplyPercent(facts.level, facts.capacity);
  return percent && *percent <= static_cast<double>(facts.low_percent);
}

bool SupplyReplaced(const SupplyFacts& facts, const std::optional<std::string>& opened_serial,
                    std::optional<double> lowest_percent, int margin_percent) {
  if (facts.serial && opened_serial && !facts.serial->empty() && *facts.serial != *opened_serial) return true;
  const auto percent = protocol::SupplyPercent(facts.level, facts.capacity);
  return percent && lowest_percent && *percent >= *lowest_percent + static_cast<double>(margin_percent);
}

namespace {

// An order open for one supply while the step goes through its readings: one already stored
// (`id`), or one this step opens (`pending`, an index into the orders to insert).
struct OpenOrder {
  std::string id;
  std::size_t pending = 0;
  std::optional<std::string> opened_serial;
  std::optional<double> lowest_percent;
};

double Lower(std::optional<double> lowest, double percent) { return lowest ? std::min(*lowest, percent) : percent; }

}  // namespace

void DeriveSupplyOrders(pqxx::transaction_base& tx, const std::vector<PipelineJob>& jobs,
                        const SupplyOptions& options) {
  // One row per supply reading the jobs name (the outbox lists each device's supply indexes).
  json input = json::array();
  for (std::size_t ord = 0; ord < jobs.size(); ++ord) {
    const auto& job = jobs[ord];
    for (const auto& device : json::parse(job.devices)) {
      for (const auto& index : device.value("indexes", json::array())) {
        input.push_back({{"ord", ord}, {"upload_id", job.upload_id}, {"account_id", job.account_id},
                         {"device_id", device.at("device_id")}, {"supply_index", index},
                         {"read_at", device.at("read_at")}});
      }
    }
  }
  if (input.empty()) return;
  json remember = json::array(), opened = json::array(), fulfil = json::array();
  std::map<std::string, double> lowest;  // stored open order -> the lowest percent seen now
  int events = 0;                        // events so far, in the order they happen
  // Rows come grouped by supply, each supply's in claim order: every reading is judged
  // against what the ones before it left, as if the jobs ran one after the other.
  std::string last_key;
  std::optional<double> judged_at;
  std::optional<OpenOrder> open;
  json latest;
  auto flush = [&] {
    if (!latest.is_null()) remember.push_back(std::move(latest));
    latest = nullptr;
  };
  for (const auto& row : ExecPrepared(tx, kFacts, input.dump())) {
    const std::string device_id = row[0].as<std::string>();
    const auto index = row[1].as<std::int64_t>();
    const std::string type = row[2].as<std::string>(), colorant = row[3].as<std::string>();
    const std::string key = device_id + '\n' + std::to_string(index) + '\n' + type + '\n' + colorant;
    if (key != last_key) {
      flush();
      last_key = key;
      judged_at = Optional<double>(row[13]);
      open.reset();
      if (!row[10].is_null()) {
        open = OpenOrder{row[10].as<std::string>(), 0, Optional<std::string>(row[11]), Optional<double>(row[12])};
      }
    }
    const double read_epoch = row[16].as<double>();
    if (judged_at && read_epoch <= *judged_at) continue;  // a newer reading was judged already
    judged_at = read_epoch;
    const std::string read_at = row[4].as<std::string>();
    SupplyFacts facts{Optional<std::int64_t>(row[5]), Optional<std::int64_t>(row[6]), Optional<std::string>(row[7]),
                      Optional<std::string>(row[8]), row[14].as<int>()};
    const auto percent = protocol::SupplyPercent(facts.level, facts.capacity);
    latest = {{"device_id", device_id}, {"supply_index", index}, {"supply_type", type},
              {"colorant", colorant}, {"read_at", read_at}};
    if (open) {
      if (SupplyReplaced(facts, open->opened_serial, open->lowest_percent, options.refill_margin_percent)) {
        if (open->id.empty()) {
          opened[open->pending]["fulfilled_at"] = read_at;
          opened[open->pending]["fulfilled_ord"] = events++;
        } else {
          fulfil.push_back({{"order_id", open->id}, {"read_at", read_at}, {"ord", events++}});
        }
        open.reset();
      } else if (percent) {
        open->lowest_percent = Lower(open->lowest_percent, *percent);
        if (open->id.empty()) {
          opened[open->pending]["lowest"] = *open->lowest_percent;
        } else {
          lowest[open->id] = *open->lowest_percent;
        }
      }
    }
    if (!open && SupplyNeedsOrder(facts)) {
      open = OpenOrder{"", opened.size(), facts.serial, percent};
      opened.push_back({{"account_id", row[15].as<std::string>()}, {"device_id", device_id}, {"supply_index", index},
                        {"supply_type", type}, {"colorant", colorant},
                        {"supply", json::parse(row[9].as<std::string>())},
                        {"serial", facts.serial ? json(*facts.serial) : json(nullptr)},
                        {"lowest", percent ? json(*percent) : json(nullptr)}, {"read_at", read_at},
                        {"ord", events++}});
    }
  }
  flush();
  if (remember.empty()) return;
  ExecPrepared(tx, kRemember, remember.dump());
  if (!lowest.empty()) {
    json rows = json::array();
    for (const auto& [order_id, percent] : lowest) rows.push_back({{"order_id", order_id}, {"percent", percent}});
    ExecPrepared(tx, kLowest, rows.dump());
  }
  if (fulfil.empty() && opened.empty()) return;
  const std::string started = tx.exec(kClock)[0][0].as<std::string>();
  if (!fulfil.empty()) ExecPrepared(tx, kFulfil, fulfil.dump(), started);
  if (!opened.empty()) ExecPrepared(tx, kOpen, opened.dump(), started);
}

StorageResult<OrderStatusOutcome> SetSupplyOrderStatus(pqxx::connection_base& conn, const std::string& order_id,
                                                       const std::string& status, const AuditEntry* audit) {
  try {
    pqxx::work tx(conn);
    auto rows = tx.exec_params(kSetStatus, order_id);
    if (rows.empty()) return OrderStatusOutcome::kNotFound;
    const std::string current = rows[0][0].as<std::string>();
    if (current == status) return OrderStatusOutcome::kUnchanged;
    const bool allowed = (status == "shipped" && current == "opened") ||
                         (status == "cancelled" && (current == "opened" || current == "shipped"));
    if (!allowed) return OrderStatusOutcome::kConflict;
    // The row is locked (kSetStatus): "before" is what the change starts from.
    const std::string before = audit ? tx.exec_params1(kOrderDocument, order_id)[0].as<std::string>() : "";
    tx.exec_params(kStatusChange, order_id, status);
    if (audit) {
      AuditEntry entry = *audit;
      entry.account_id = rows[0][1].as<std::string>();
      entry.before_json = before;
      entry.after_json = tx.exec_params1(kOrderDocument, order_id)[0].as<std::string>();
      InsertAuditEntry(tx, entry);
    }
    tx.commit();
    return OrderStatusOutcome::kChanged;
  } catch (...) {
    return TranslateCurrentException();
  }
}

}  // namespace fleetcomm::storage
