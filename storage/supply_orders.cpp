#include "storage/supply_orders.hpp"

#include "protocol/supply_level.hpp"
#include "storage/audit.hpp"
#include "storage/db_task.hpp"
#include "storage/pipeline_jobs.hpp"

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

namespace fleetcomm::storage {
namespace {

using nlohmann::json;

// The supply readings this upload stored (keyed by device and report time), each with the
// open order of that supply and the newest reading already judged.
constexpr const char* kFacts = R"SQL(
SELECT s.device_id, s.supply_index, coalesce(s.type, ''), coalesce(s.colorant, ''), s.read_at::text,
       s.level, s.capacity, s.state, s.serial,
       jsonb_build_object('index', s.supply_index, 'type', s.type, 'colorant', s.colorant,
                          'description', s.description, 'part_number', s.part_number, 'serial', s.serial,
                          'unit', s.unit, 'capacity', s.capacity, 'level', s.level, 'state', s.state)::text,
       o.id, o.opened_serial, o.lowest_percent, st.read_at >= s.read_at, a.supply_low_percent
FROM jsonb_to_recordset($2::jsonb) AS k(device_id text, read_at timestamptz)
JOIN supply_readings s ON s.device_id = k.device_id AND s.read_at = k.read_at AND s.upload_id = $1
JOIN accounts a ON a.id = $3
LEFT JOIN supply_orders o ON o.device_id = s.device_id AND o.supply_index = s.supply_index
  AND o.supply_type = coalesce(s.type, '') AND o.colorant = coalesce(s.colorant, '') AND o.status IN ('opened', 'shipped')
LEFT JOIN supply_states st ON st.device_id = s.device_id AND st.supply_index = s.supply_index
  AND st.supply_type = coalesce(s.type, '') AND st.colorant = coalesce(s.colorant, '')
ORDER BY s.device_id, s.supply_index
)SQL";

constexpr const char* kRemember = R"SQL(
INSERT INTO supply_states (device_id, supply_index, supply_type, colorant, read_at)
SELECT device_id, supply_index, supply_type, colorant, read_at
FROM jsonb_to_recordset($1::jsonb) AS r(device_id text, supply_index bigint, supply_type text, colorant text,
                                        read_at timestamptz)
ON CONFLICT (device_id, supply_index, supply_type, colorant) DO UPDATE SET read_at = EXCLUDED.read_at
WHERE supply_states.read_at < EXCLUDED.read_at
)SQL";

constexpr const char* kLowest =
    "UPDATE supply_orders o SET lowest_percent = least(o.lowest_percent, r.percent), updated_at = now() "
    "FROM jsonb_to_recordset($1::jsonb) AS r(order_id text, percent float8) WHERE o.id = r.order_id";

constexpr const char* kFulfil = R"SQL(
WITH done AS (
  UPDATE supply_orders o SET status = 'fulfilled', updated_at = now()
  FROM jsonb_to_recordset($1::jsonb) AS r(order_id text, read_at timestamptz)
  WHERE o.id = r.order_id AND o.status IN ('opened', 'shipped')
  RETURNING o.id, o.account_id, o.device_id, o.supply, r.read_at
)
INSERT INTO supply_order_events (source_key, order_id, account_id, device_id, supply, event, at)
SELECT 'fulfilled:' || id, id, account_id, device_id, supply, 'fulfilled', read_at FROM done
ON CONFLICT (source_key) DO NOTHING
)SQL";

// The partial unique index keeps one open order per supply even against a racing step.
constexpr const char* kOpen = R"SQL(
WITH opened AS (
  INSERT INTO supply_orders (account_id, device_id, supply_index, supply_type, colorant, supply, opened_serial,
                             lowest_percent, status, opened_at)
  SELECT $2, device_id, supply_index, supply_type, colorant, supply, serial, percent, 'opened', read_at
  FROM jsonb_to_recordset($1::jsonb) AS r(device_id text, supply_index bigint, supply_type text, colorant text,
                                          supply jsonb, serial text, percent float8, read_at timestamptz)
  ORDER BY device_id, supply_index
  ON CONFLICT (device_id, supply_index, supply_type, colorant) WHERE status IN ('opened', 'shipped') DO NOTHING
  RETURNING id, account_id, device_id, supply, opened_at
)
INSERT INTO supply_order_events (source_key, order_id, account_id, device_id, supply, event, at)
SELECT 'opened:' || id, id, account_id, device_id, supply, 'opened', opened_at FROM opened
)SQL";

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

void DeriveSupplyOrders(pqxx::transaction_base& tx, const PipelineJob& job, const SupplyOptions& options) {
  json remember = json::array(), lowest = json::array(), fulfil = json::array(), open = json::array();
  for (const auto& row : tx.exec_params(kFacts, job.upload_id, job.devices, job.account_id)) {
    if (!row[13].is_null() && row[13].as<bool>()) continue;  // a newer reading was judged already
    const std::string device_id = row[0].as<std::string>();
    const auto index = row[1].as<std::int64_t>();
    const std::string type = row[2].as<std::string>(), colorant = row[3].as<std::string>();
    const std::string read_at = row[4].as<std::string>();
    SupplyFacts facts{Optional<std::int64_t>(row[5]), Optional<std::int64_t>(row[6]), Optional<std::string>(row[7]),
                      Optional<std::string>(row[8]), row[14].as<int>()};
    const auto percent = protocol::SupplyPercent(facts.level, facts.capacity);
    remember.push_back({{"device_id", device_id}, {"supply_index", index}, {"supply_type", type},
                        {"colorant", colorant}, {"read_at", read_at}});
    bool open_order = !row[10].is_null();
    if (open_order) {
      const std::string order_id = row[10].as<std::string>();
      if (SupplyReplaced(facts, Optional<std::string>(row[11]), Optional<double>(row[12]),
                         options.refill_margin_percent)) {
        fulfil.push_back({{"order_id", order_id}, {"read_at", read_at}});
        open_order = false;
      } else if (percent) {
        lowest.push_back({{"order_id", order_id}, {"percent", *percent}});
      }
    }
    if (!open_order && SupplyNeedsOrder(facts)) {
      open.push_back({{"device_id", device_id}, {"supply_index", index}, {"supply_type", type},
                      {"colorant", colorant}, {"supply", json::parse(row[9].as<std::string>())},
                      {"serial", facts.serial ? json(*facts.serial) : json(nullptr)},
                      {"percent", percent ? json(*percent) : json(nullptr)}, {"read_at", read_at}});
    }
  }
  if (remember.empty()) return;
  tx.exec_params(kRemember, remember.dump());
  if (!lowest.empty()) tx.exec_params(kLowest, lowest.dump());
  if (!fulfil.empty()) tx.exec_params(kFulfil, fulfil.dump());
  if (!open.empty()) tx.exec_params(kOpen, open.dump(), job.account_id);
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
