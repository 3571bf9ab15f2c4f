#include "storage/pipeline_jobs.hpp"

#include "storage/db_task.hpp"

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <algorithm>

namespace fleetcomm::storage {
namespace {

using nlohmann::json;

// Only accounts that subscribe get the job, so the flag in force when the upload arrived
// decides, and uploads of other accounts cost nothing more than this statement.
constexpr const char* kEnqueue =
    "INSERT INTO pipeline_jobs (pipeline, upload_id, account_id, devices) "
    "SELECT 'meter_reads', $1, id, $3::jsonb FROM accounts WHERE id = $2 AND meter_billing "
    "ON CONFLICT (pipeline, upload_id) DO NOTHING";

constexpr const char* kClaim =
    "SELECT id, pipeline, upload_id, account_id, devices::text, attempts FROM pipeline_jobs "
    "WHERE finished_at IS NULL AND run_after <= now() ORDER BY run_after, id LIMIT $1 FOR UPDATE SKIP LOCKED";

// ON CONFLICT DO UPDATE locks each row like FOR UPDATE; rows are taken in key order, so two
// batches sharing devices wait for each other instead of deadlocking.
constexpr const char* kLockDevices = R"SQL(
INSERT INTO pipeline_device_locks (device_id)
SELECT DISTINCT d->>'device_id' FROM pipeline_jobs j, jsonb_array_elements(j.devices) d
WHERE j.id = ANY($1::bigint[]) ORDER BY 1
ON CONFLICT (device_id) DO UPDATE SET device_id = EXCLUDED.device_id
)SQL";

constexpr const char* kFinished =
    "UPDATE pipeline_jobs SET finished_at = now(), attempts = attempts + 1, last_error = NULL WHERE id = $1";

constexpr const char* kFailed =
    "UPDATE pipeline_jobs SET attempts = attempts + 1, last_error = $2, "
    "run_after = now() + make_interval(secs => $3) WHERE id = $1";

std::string BigintArrayLiteral(const std::vector<PipelineJob>& jobs) {
  std::string out = "{";
  for (const auto& job : jobs) out += (out.size() > 1 ? "," : "") + std::to_string(job.id);
  return out + "}";
}

}  // namespace

void EnqueuePipelineWork(pqxx::transaction_base& tx, const std::string& upload_id, const std::string& account_id,
                         const protocol::Report& report, const std::map<std::size_t, std::string>& bound) {
  json devices = json::array();
  for (const auto& [index, device_id] : bound) {
    const auto& device = report.devices[index];
    if (!device.counters || device.counters->items.empty()) continue;
    devices.push_back({{"device_id", device_id}, {"read_at", device.counters->read_at.value_or(report.generated_at)}});
  }
  if (devices.empty()) return;
  tx.exec_params(kEnqueue, upload_id, account_id, devices.dump());
}

std::chrono::seconds RetryDelay(const PipelineOptions& options, int failures) {
  long long delay = options.retry_base.count();
  for (int i = 1; i < failures && delay < options.retry_max.count(); ++i) delay *= 2;
  return std::chrono::seconds(std::min<long long>(delay, options.retry_max.count()));
}

PipelineSteps DefaultPipelineSteps(const PipelineOptions& options) {
  const MeterReadOptions meter = options.meter;
  return {{"meter_reads", [meter](pqxx::transaction_base& tx, const PipelineJob& job) {
             DeriveMeterReads(tx, job, meter);
           }}};
}

StorageResult<PipelineBatch> RunPipelineBatch(pqxx::connection_base& conn, const PipelineOptions& options) {
  return RunPipelineBatch(conn, options, DefaultPipelineSteps(options));
}

StorageResult<PipelineBatch> RunPipelineBatch(pqxx::connection_base& conn, const PipelineOptions& options,
                                              const PipelineSteps& steps) {
  try {
    pqxx::work tx(conn);
    std::vector<PipelineJob> jobs;
    for (const auto& row : tx.exec_params(kClaim, options.batch_size)) {
      jobs.push_back({row[0].as<long long>(), row[1].as<std::string>(), row[2].as<std::string>(),
                      row[3].as<std::string>(), row[4].as<std::string>(), row[5].as<int>()});
    }
    PipelineBatch batch;
    batch.claimed = static_cast<int>(jobs.size());
    if (jobs.empty()) return batch;
    tx.exec_params(kLockDevices, BigintArrayLiteral(jobs));
    for (const auto& job : jobs) {
      // A plain SAVEPOINT: the step's writes are undone by ROLLBACK TO, whatever the step did
      // with the transaction object.
      std::string error;
      tx.exec("SAVEPOINT pipeline_step");
      try {
        auto found = steps.find(job.pipeline);
        if (found == steps.end()) throw std::runtime_error("no step for pipeline " + job.pipeline);
        found->second(tx, job);
        tx.exec("RELEASE SAVEPOINT pipeline_step");
      } catch (const pqxx::broken_connection&) {
        throw;  // nothing was committed: the jobs stay due
      } catch (const std::exception& e) {
        error = e.what();
        if (error.empty()) error = "step failed";
        tx.exec("ROLLBACK TO SAVEPOINT pipeline_step");
      }
      if (error.empty()) {
        tx.exec_params(kFinished, job.id);
        ++batch.done;
      } else {
        const auto delay = RetryDelay(options, job.attempts + 1);
        tx.exec_params(kFailed, job.id, error.substr(0, 2000), static_cast<double>(delay.count()));
        ++batch.failed;
      }
    }
    tx.commit();
    return batch;
  } catch (...) {
    return TranslateCurrentException();
  }
}

}  // namespace fleetcomm::storage
