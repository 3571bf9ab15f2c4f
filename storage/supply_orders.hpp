#pragma once
// Supplies replenishment (REQUIREMENTS.md R5.2): for accounts with a supplies contract, a
// supply that falls to the account's threshold (or reports low/empty) opens one order while
// none is open for it; the order is fulfilled when a new supply is seen (its serial changes,
// or its level rises by the refill margin above the lowest level seen while open). Every
// change is a supply-order feed event. Downstream marks orders shipped or cancelled.
#include "storage/storage_error.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pqxx {
class connection_base;
class transaction_base;
}  // namespace pqxx

namespace fleetcomm::storage {

struct AuditEntry;
struct PipelineJob;

struct SupplyOptions {
  int refill_margin_percent = 30;
};

struct SupplyFacts {
  std::optional<std::int64_t> level, capacity;
  std::optional<std::string> state, serial;
  int low_percent = 20;  // the account's threshold
};

// Level -3 ("some remaining") never triggers by itself; `empty` always does; otherwise
// `low`, or a percent at or below the threshold (capacity 0, -1, -2: no percent).
bool SupplyNeedsOrder(const SupplyFacts& facts);

// A new supply: another serial than when the order opened, or a percent at least `margin`
// points above the lowest seen while the order was open.
bool SupplyReplaced(const SupplyFacts& facts, const std::optional<std::string>& opened_serial,
                    std::optional<double> lowest_percent, int margin_percent);

// The supplies pipeline step for some uploads' jobs, in claim order: the readings of one
// supply among them are judged in that order, each against what the ones before it left (the
// newest reading judged, the open order and its lowest level), as if the jobs ran one after
// the other, in a handful of statements whatever the number of jobs and devices.
void DeriveSupplyOrders(pqxx::transaction_base& tx, const std::vector<PipelineJob>& jobs, const SupplyOptions& options);

enum class OrderStatusOutcome { kChanged, kUnchanged, kNotFound, kConflict };

// POST /api/v1/supply-orders/{id}/status: opened -> shipped; opened or shipped -> cancelled;
// the same status again changes nothing; anything else (fulfilled, or back) is a conflict.
// A change commits `audit` (the request's entry, if given) with the order before and after.
StorageResult<OrderStatusOutcome> SetSupplyOrderStatus(pqxx::connection_base& conn, const std::string& order_id,
                                                       const std::string& status, const AuditEntry* audit = nullptr);

}  // namespace fleetcomm::storage
