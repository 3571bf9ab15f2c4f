#pragma once
// Meter reads for billing (REQUIREMENTS.md R5.1): one per (device, counter, read time),
// derived from the counter readings an upload actually stored (a reading refused as a
// duplicate belongs to the upload that stored it first), judged against the previous
// billable read of that counter by read time.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pqxx {
class transaction_base;
}

namespace fleetcomm::storage {

struct PipelineJob;

struct MeterReadOptions {
  // Pages per minute assumed when the device gives no speedPpm property, and for counters
  // that are not printed pages (scans, faxes, vendor counters).
  int max_pages_per_minute = 300;
};

struct MeterReadFacts {
  std::string counter;
  std::int64_t value = 0;
  double read_at = 0;                     // seconds since the epoch
  std::optional<double> reset_at;         // Counter/@resetAt
  std::optional<std::int64_t> previous;   // the previous billable read of the counter
  std::optional<double> previous_read_at;
  std::optional<double> speed_ppm;        // the device's speedPpm property
};

struct MeterJudgement {
  bool billable = true;
  std::string reason;  // counter_decreased, implausible_increase; empty when billable
};

// Pure rule: a decrease is rejected unless the counter was reset after the previous read
// (and not after this one); an increase beyond speed x elapsed minutes (rounded up, at
// least one page) is rejected. The first read of a counter is billable.
MeterJudgement JudgeMeterRead(const MeterReadFacts& facts, const MeterReadOptions& options);

// The meter_reads pipeline step for some uploads' jobs: writes their meter reads (ON CONFLICT
// DO NOTHING on (device, counter, read time)) and a service event for each rejected one.
// Reads of one counter in several of these uploads are judged in read-time order, each
// against the billable ones before it.
void DeriveMeterReads(pqxx::transaction_base& tx, const std::vector<PipelineJob>& jobs,
                      const MeterReadOptions& options);

}  // namespace fleetcomm::storage
