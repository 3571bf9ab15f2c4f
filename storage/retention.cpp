#include "storage/retention.hpp"

#include "storage/db_task.hpp"

#include <pqxx/pqxx>

namespace fleetcomm::storage {
namespace {

constexpr const char* kPartitionedTables[] = {"raw_uploads",     "counter_readings", "supply_readings", "usage_readings",
                                              "job_log_entries", "policy_events",    "audit_entries",   "audit_seals"};

// Any constant shared by every instance: only one of them maintains at a time.
constexpr long long kMaintenanceLock = 0x666c6565745f7274;  // "fleet_rt"

}  // namespace

StorageResult<RetentionResult> MaintainPartitions(pqxx::connection_base& conn, int months_ahead,
                                                  std::chrono::hours raw_upload_retention,
                                                  std::chrono::hours audit_retention) {
  try {
    RetentionResult result;
    pqxx::work tx(conn);
    if (!tx.exec_params1("SELECT pg_try_advisory_xact_lock($1)", kMaintenanceLock)[0].as<bool>()) {
      result.skipped = true;
      return result;
    }
    for (const char* table : kPartitionedTables) {
      result.partitions_created += tx.exec_params1(
          "SELECT fleetcomm_ensure_month_partitions($1, now()::date, (now() + make_interval(months => $2))::date)",
          table, months_ahead)[0].as<int>();
    }
    const long long hours = raw_upload_retention.count();
    result.partitions_dropped = tx.exec_params1(
        "SELECT fleetcomm_drop_month_partitions_before('raw_uploads', now() - make_interval(hours => $1))",
        hours)[0].as<int>();
    // Audit months leave whole: DROP TABLE fires no row trigger. Their seals follow a month
    // later, so that no seal goes before an entry it sealed.
    result.partitions_dropped += tx.exec_params1(
        "SELECT fleetcomm_drop_month_partitions_before('audit_entries', now() - make_interval(hours => $1))",
        audit_retention.count())[0].as<int>();
    result.partitions_dropped += tx.exec_params1(
        "SELECT fleetcomm_trim_audit_seals(now() - make_interval(hours => $1) - interval '1 month')",
        audit_retention.count())[0].as<int>();
    result.default_rows_deleted =
        tx.exec_params("DELETE FROM raw_uploads_default WHERE received_at < now() - make_interval(hours => $1)", hours)
            .affected_rows();
    tx.commit();
    return result;
  } catch (...) {
    return TranslateCurrentException();
  }
}

}  // namespace fleetcomm::storage
