#pragma once
// Upkeep of the partitioned time series: monthly partitions prepared ahead, and raw uploads
// and audit entries beyond their retention removed by dropping whole months (the default partition, which
// only holds rows with odd times, is trimmed row by row).
#include "storage/storage_error.hpp"

#include <chrono>

namespace pqxx {
class connection_base;
}

namespace fleetcomm::storage {

struct RetentionResult {
  bool skipped = false;  // another instance holds the maintenance lock right now
  int partitions_created = 0;
  int partitions_dropped = 0;
  long long default_rows_deleted = 0;
};

StorageResult<RetentionResult> MaintainPartitions(pqxx::connection_base& conn, int months_ahead,
                                                  std::chrono::hours raw_upload_retention,
                                                  std::chrono::hours audit_retention);

}  // namespace fleetcomm::storage
