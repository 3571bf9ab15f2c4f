#include "storage/meter_reads.hpp"

#include "storage/pipeline_jobs.hpp"
#include "storage/prepared.hpp"

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <cmath>

namespace fleetcomm::storage {
namespace {

using nlohmann::json;

// The readings these uploads stored for their jobs' devices, each found by its full key
// (device, counter, read time: the readings' primary key; the tables are partitioned by read
// time), each with the previous billable read of its counter already stored and the
// device's speed. A reading that already has its meter read (a job run again after a crash
// or a failed batch) is left out here, by one probe of the unique index, so that the insert
// needs no conflict handling: the device locks order every step of a device, so nothing
// inserts the same read in between.
constexpr PreparedSql kFacts{"meter_facts", R"SQL(
SELECT c.device_id, d.serial, c.counter, c.read_at::text, c.value, extract(epoch FROM c.read_at)::float8,
       extract(epoch FROM c.reset_at)::float8, p.value, extract(epoch FROM p.read_at)::float8,
       s.properties->>'speedPpm', k.account_id, k.upload_id
FROM jsonb_to_recordset($1::jsonb) AS k(upload_id text, account_id text, device_id text, counter text,
                                        read_at timestamptz)
JOIN counter_readings c ON c.device_id = k.device_id AND c.counter = k.counter AND c.read_at = k.read_at
  AND c.upload_id = k.upload_id
JOIN devices d ON d.id = c.device_id
LEFT JOIN device_snapshots s ON s.device_id = c.device_id
LEFT JOIN LATERAL (
  SELECT m.value, m.read_at FROM meter_reads m
  WHERE m.device_id = c.device_id AND m.counter = c.counter AND m.read_at < c.read_at AND m.status = 'billable'
  ORDER BY m.read_at DESC LIMIT 1
) p ON true
WHERE NOT EXISTS (SELECT 1 FROM meter_reads e WHERE e.device_id = c.device_id AND e.counter = c.counter
                  AND e.read_at = c.read_at)
ORDER BY c.device_id, c.counter, c.read_at
)SQL"};

// Both billable and rejected reads go to the feed; a rejected one also raises a service
// event, keyed by the read so that a retried step raises it once. The rows arrive in key
// order already, and most batches reject nothing: those take the plain insert.
constexpr PreparedSql kInsertReads{"meter_insert_reads", R"SQL(
INSERT INTO meter_reads (account_id, device_id, serial, counter, value, read_at, status, reason, upload_id)
SELECT account_id, device_id, serial, counter, value, read_at, status, reason, upload_id
FROM jsonb_to_recordset($1::jsonb) AS r(account_id text, upload_id text, device_id text, serial text,
                                        counter text, value bigint, read_at timestamptz, status text, reason text)
)SQL"};

constexpr PreparedSql kInsertReadsAndEvents{"meter_insert_reads_and_events", R"SQL(
WITH reads AS (
  INSERT INTO meter_reads (account_id, device_id, serial, counter, value, read_at, status, reason, upload_id)
  SELECT account_id, device_id, serial, counter, value, read_at, status, reason, upload_id
  FROM jsonb_to_recordset($1::jsonb) AS r(account_id text, upload_id text, device_id text, serial text,
                                          counter text, value bigint, read_at timestamptz, status text, reason text)
  RETURNING id, account_id, device_id, counter, value, read_at, reason
)
INSERT INTO service_events (source_key, account_id, device_id, kind, code, severity, detail, at)
SELECT 'meter_read:' || id, account_id, device_id, 'meter_read_rejected', reason, 'warning',
       jsonb_build_object('meter_read_id', id, 'counter', counter, 'value', value), read_at
FROM reads WHERE reason IS NOT NULL
ON CONFLICT (source_key) DO NOTHING
)SQL"};

bool IsPrintedPages(const std::string& counter) {
  return counter == "total-impressions" || counter == "black-impressions" || counter == "color-impressions" ||
         counter == "print-impressions" || counter == "copy-impressions" || counter == "fax-impressions" ||
         counter == "large-impressions" || counter == "sheets";
}

std::optional<double> Speed(const pqxx::field& field) {
  if (field.is_null()) return std::nullopt;
  try {
    std::size_t used = 0;
    const std::string text = field.as<std::string>();
    const double value = std::stod(text, &used);
    if (used != text.size() || !std::isfinite(value) || value <= 0) return std::nullopt;
    return value;
  } catch (const std::exception&) {
    return std::nullopt;  // a property is free text: an unusable speed is no speed
  }
}

template <class T>
std::optional<T> Optional(const pqxx::field& field) {
  if (field.is_null()) return std::nullopt;
  return field.as<T>();
}

}  // namespace

MeterJudgement JudgeMeterRead(const MeterReadFacts& facts, const MeterReadOptions& options) {
  if (!facts.previous || !facts.previous_read_at) return {};
  const double previous_at = *facts.previous_read_at;
  // A reset or meter replacement reported after the previous read explains any value.
  if (facts.reset_at && *facts.reset_at > previous_at && *facts.reset_at <= facts.read_at) return {};
  if (facts.value < *facts.previous) return {false, "counter_decreased"};
  const double per_minute = (IsPrintedPages(facts.counter) && facts.speed_ppm)
                                ? *facts.speed_ppm
                                : static_cast<double>(options.max_pages_per_minute);
  const double minutes = (facts.read_at - previous_at) / 60.0;
  const double allowed = std::max(1.0, std::ceil(per_minute * minutes));
  if (static_cast<double>(facts.value - *facts.previous) > allowed) return {false, "implausible_increase"};
  return {};
}

void DeriveMeterReads(pqxx::transaction_base& tx, const std::vector<PipelineJob>& jobs,
                      const MeterReadOptions& options) {
  // One row per reading the jobs name (the outbox lists each device's counters).
  json input = json::array();
  for (const auto& job : jobs) {
    for (const auto& device : json::parse(job.devices)) {
      for (const auto& counter : device.value("counters", json::array())) {
        input.push_back({{"upload_id", job.upload_id},
                         {"account_id", job.account_id},
                         {"device_id", device.at("device_id")},
                         {"counter", counter},
                         {"read_at", device.at("read_at")}});
      }
    }
  }
  if (input.empty()) return;
  json reads = json::array();
  // Rows come ordered by (device, counter, read time): a billable read earlier in this call
  // is the previous read of a later one when it is newer than the stored previous one.
  std::string last_key;
  std::string last_read;  // device, counter and read time: a key named twice is read once
  bool any_rejected = false;
  std::optional<std::int64_t> batch_value;
  std::optional<double> batch_read_at;
  for (const auto& row : ExecPrepared(tx, kFacts, input.dump())) {
    MeterReadFacts facts;
    const std::string device_id = row[0].as<std::string>();
    facts.counter = row[2].as<std::string>();
    const std::string key = device_id + '\n' + facts.counter;
    const std::string read_key = key + '\n' + row[3].as<std::string>();
    if (read_key == last_read) continue;
    last_read = read_key;
    if (key != last_key) {
      last_key = key;
      batch_value.reset();
      batch_read_at.reset();
    }
    facts.value = row[4].as<std::int64_t>();
    facts.read_at = row[5].as<double>();
    facts.reset_at = Optional<double>(row[6]);
    facts.previous = Optional<std::int64_t>(row[7]);
    facts.previous_read_at = Optional<double>(row[8]);
    if (batch_read_at && (!facts.previous_read_at || *batch_read_at > *facts.previous_read_at)) {
      facts.previous = batch_value;
      facts.previous_read_at = batch_read_at;
    }
    facts.speed_ppm = Speed(row[9]);
    const MeterJudgement judgement = JudgeMeterRead(facts, options);
    if (!judgement.billable) any_rejected = true;
    if (judgement.billable) {
      batch_value = facts.value;
      batch_read_at = facts.read_at;
    }
    reads.push_back({{"account_id", row[10].as<std::string>()},
                     {"upload_id", row[11].as<std::string>()},
                     {"device_id", device_id},
                     {"serial", row[1].as<std::string>()},
                     {"counter", facts.counter},
                     {"value", facts.value},
                     {"read_at", row[3].as<std::string>()},
                     {"status", judgement.billable ? "billable" : "rejected"},
                     {"reason", judgement.billable ? json(nullptr) : json(judgement.reason)}});
  }
  if (reads.empty()) return;
  ExecPrepared(tx, any_rejected ? kInsertReadsAndEvents : kInsertReads, reads.dump());
}

}  // namespace fleetcomm::storage
