#include "storage/pipeline_jobs.hpp"

#include "storage/db_task.hpp"
#include "storage/prepared.hpp"
#include "storage/device_events.hpp"
#include "storage/json_text.hpp"

#include <pqxx/pqxx>

#include <algorithm>

namespace fleetcomm::storage {
namespace {

// A share of the due jobs, by the first device of each job (an agent lists its devices in the
// same order in every report, so its uploads fall into one share): the workers of one runner
// then lock disjoint devices instead of waiting for each other's batches.
constexpr PreparedSql kClaim{"pipeline_claim", "SELECT id, pipeline, upload_id, account_id, devices::text, attempts FROM pipeline_jobs "
    "WHERE finished_at IS NULL AND run_after <= now() "
    "AND (hashtext(coalesce(devices->0->>'device_id', '')) & 2147483647) % $2 = $3 "
    "ORDER BY run_after, id LIMIT $1 FOR UPDATE SKIP LOCKED"};

// ON CONFLICT DO UPDATE locks each row like FOR UPDATE; rows are taken in key order, so two
// batches sharing devices wait for each other instead of deadlocking.
constexpr PreparedSql kLockDevices{"pipeline_lock_devices", R"SQL(
INSERT INTO pipeline_device_locks (device_id)
SELECT DISTINCT d->>'device_id' FROM pipeline_jobs j, jsonb_array_elements(j.devices) d
WHERE j.id = ANY($1::bigint[]) ORDER BY 1
ON CONFLICT (device_id) DO UPDATE SET device_id = EXCLUDED.device_id
)SQL"};

constexpr PreparedSql kFinished{"pipeline_finished", "UPDATE pipeline_jobs SET finished_at = now(), attempts = attempts + 1, last_error = NULL WHERE id = $1"};

constexpr PreparedSql kFinishedAll{"pipeline_finished_all", "UPDATE pipeline_jobs SET finished_at = now(), attempts = attempts + 1, last_error = NULL "
    "WHERE id = ANY($1::bigint[])"};

constexpr PreparedSql kFailed{"pipeline_failed", "UPDATE pipeline_jobs SET attempts = attempts + 1, last_error = $2, "
    "run_after = now() + make_interval(secs => $3) WHERE id = $1"};

// The jobs of one or more uploads, in batch order. Only accounts that subscribe get a job,
// so the flags in force when the upload arrived decide; a pipeline with nothing to look at
// gets no job. $N: the uploads' work (WritePipelineWork).
constexpr const char* kEnqueueHead = R"SQL(
INSERT INTO pipeline_jobs (pipeline, upload_id, account_id, devices)
SELECT p.pipeline, w.upload_id, a.id, p.devices
FROM jsonb_to_recordset()SQL";
constexpr const char* kEnqueueTail = R"SQL(::jsonb) AS w(ord int, upload_id text, account_id text, counters jsonb,
                                           supplies jsonb, diagnostics jsonb)
JOIN accounts a ON a.id = w.account_id
CROSS JOIN LATERAL (VALUES (1, 'meter_reads', w.counters), (2, 'supplies', w.supplies),
                           (3, 'diagnostics', w.diagnostics)) AS p(n, pipeline, devices)
WHERE jsonb_array_length(p.devices) > 0
  AND CASE p.pipeline WHEN 'meter_reads' THEN a.meter_billing WHEN 'supplies' THEN a.supplies_contract ELSE true END
ORDER BY w.ord, p.n
ON CONFLICT (pipeline, upload_id) DO NOTHING
)SQL";

const PreparedSql& EnqueueStatement() {
  static const std::string sql = PipelineEnqueueSql(1);
  static const PreparedSql statement{"pipeline_enqueue_batch", sql.c_str()};
  return statement;
}

// What a device gives each pipeline to look at.
bool HasCounterWork(const protocol::Device& device) { return device.counters && !device.counters->items.empty(); }
bool HasSupplyWork(const protocol::Device& device) { return !device.supplies.empty(); }
bool HasDiagnosticsWork(const protocol::Device& device) { return device.status || !device.faults.empty(); }

bool HasWork(const protocol::Report& report, const std::map<std::size_t, std::string>& bound) {
  return std::any_of(bound.begin(), bound.end(), [&report](const auto& entry) {
    const auto& device = report.devices[entry.first];
    return HasCounterWork(device) || HasSupplyWork(device) || HasDiagnosticsWork(device);
  });
}

// What each pipeline's job of one upload names: the devices and what the step needs of them,
// as the keys "counters", "supplies" and "diagnostics" of the upload's object.
void WriteWork(JsonText& out, const protocol::Report& report, const std::map<std::size_t, std::string>& bound) {
  // The readings' full keys, so that a step finds them by primary key however many readings
  // of other counters and times the device has.
  out.Key("counters").BeginArray();
  for (const auto& [index, device_id] : bound) {
    const auto& device = report.devices[index];
    if (!HasCounterWork(device)) continue;
    out.BeginObject()
        .Field("device_id", device_id)
        .Field("read_at", device.counters->read_at ? *device.counters->read_at : report.generated_at)
        .Key("counters")
        .BeginArray();
    for (const auto& counter : device.counters->items) out.Value(counter.name);
    out.EndArray().EndObject();
  }
  // Supply readings are stored at the report's time.
  out.EndArray().Key("supplies").BeginArray();
  for (const auto& [index, device_id] : bound) {
    const auto& device = report.devices[index];
    if (!HasSupplyWork(device)) continue;
    out.BeginObject().Field("device_id", device_id).Field("read_at", report.generated_at).Key("indexes").BeginArray();
    for (const auto& supply : device.supplies) out.Value(supply.index);
    out.EndArray().EndObject();
  }
  out.EndArray().Key("diagnostics").BeginArray();
  for (const auto& [index, device_id] : bound) {
    const auto& device = report.devices[index];
    if (!HasDiagnosticsWork(device)) continue;
    // The alerts travel in the job: the device's snapshot may be replaced by a later
    // report before the step runs. No Status element: alerts unknown, not all cleared.
    // Keyed by code: of one code sent twice, jsonb keeps the last.
    out.BeginObject().Field("device_id", device_id).Field("generated_at", report.generated_at).Key("alerts");
    if (!device.status) {
      out.Value(nullptr);
    } else {
      out.BeginObject();
      for (const auto& alert : device.status->alerts) {
        out.Key(alert.code)
            .BeginObject()
            .Field("severity", alert.severity)
            .Field("description", alert.description)
            .Field("at", alert.at)
            .EndObject();
      }
      out.EndObject();
    }
    out.EndObject();
  }
  out.EndArray();
}

std::string BigintArrayLiteral(const std::vector<PipelineJob>& jobs) {
  std::string out = "{";
  for (const auto& job : jobs) out += (out.size() > 1 ? "," : "") + std::to_string(job.id);
  return out + "}";
}

}  // namespace

std::string PipelineEnqueueSql(int parameter) {
  return std::string(kEnqueueHead) + "$" + std::to_string(parameter) + kEnqueueTail;
}

bool WritePipelineWork(JsonText& work, std::size_t ord, const UploadWork& upload) {
  if (!HasWork(*upload.report, *upload.bound)) return false;
  work.BeginObject().Field("ord", ord).Field("upload_id", upload.upload_id).Field("account_id", upload.account_id);
  WriteWork(work, *upload.report, *upload.bound);
  work.EndObject();
  return true;
}

void EnqueuePipelineWork(pqxx::transaction_base& tx, const std::string& upload_id, const std::string& account_id,
                         const protocol::Report& report, const std::map<std::size_t, std::string>& bound) {
  JsonText work;
  work.BeginArray();
  const bool any = WritePipelineWork(work, 0, {upload_id, account_id, &report, &bound});
  work.EndArray();
  if (any) ExecPrepared(tx, EnqueueStatement(), work.Text());
}

std::chrono::seconds RetryDelay(const PipelineOptions& options, int failures) {
  long long delay = options.retry_base.count();
  for (int i = 1; i < failures && delay < options.retry_max.count(); ++i) delay *= 2;
  return std::chrono::seconds(std::min<long long>(delay, options.retry_max.count()));
}

PipelineSteps DefaultPipelineSteps(const PipelineOptions& options) {
  const MeterReadOptions meter = options.meter;
  const SupplyOptions supplies = options.supplies;
  return {{"meter_reads", [meter](pqxx::transaction_base& tx, const std::vector<PipelineJob>& jobs) {
             DeriveMeterReads(tx, jobs, meter);
           }},
          {"supplies", [supplies](pqxx::transaction_base& tx, const std::vector<PipelineJob>& jobs) {
             DeriveSupplyOrders(tx, jobs, supplies);
           }},
          {"diagnostics", [](pqxx::transaction_base& tx, const std::vector<PipelineJob>& jobs) {
             DeriveServiceEvents(tx, jobs);
           }}};
}

std::vector<std::string> PipelineNames() {
  std::vector<std::string> names;
  for (const auto& [name, step] : DefaultPipelineSteps({})) names.push_back(name);
  return names;
}

StorageResult<PipelineBatch> RunPipelineBatch(pqxx::connection_base& conn, const PipelineOptions& options) {
  return RunPipelineBatch(conn, options, DefaultPipelineSteps(options));
}

namespace {

// A step failed on the fast path: the batch is rolled back and run again step by step.
struct StepFailedUnisolated {};

const PipelineStep& StepFor(const PipelineSteps& steps, const PipelineJob& job) {
  auto found = steps.find(job.pipeline);
  if (found == steps.end()) throw std::runtime_error("no step for pipeline " + job.pipeline);
  return found->second;
}

// `isolate` false: every step in the one transaction, then all marked finished by one
// statement (the common case, a few round trips per job). True: each step in a savepoint,
// so that a failing one is rolled back alone and recorded.
PipelineBatch RunBatchOnce(pqxx::connection_base& conn, const PipelineOptions& options, const PipelineSteps& steps,
                           bool isolate) {
  pqxx::work tx(conn);
  std::vector<PipelineJob> jobs;
  auto claim = [&](int shares, int share) {
    for (const auto& row : ExecPrepared(tx, kClaim, options.batch_size, shares, share)) {
      jobs.push_back({row[0].as<long long>(), row[1].as<std::string>(), row[2].as<std::string>(),
                      row[3].as<std::string>(), row[4].as<std::string>(), row[5].as<int>()});
    }
  };
  const int shares = std::max(1, options.shares);
  claim(shares, ((options.share % shares) + shares) % shares);
  // Nothing in its own share: help with the others' rather than idle.
  if (jobs.empty() && shares > 1) claim(1, 0);
  PipelineBatch batch;
  batch.claimed = static_cast<int>(jobs.size());
  if (jobs.empty()) return batch;
  ExecPrepared(tx, kLockDevices, BigintArrayLiteral(jobs));
  if (!isolate) {
    try {
      // One call per pipeline, with its jobs in claim order.
      std::map<std::string, std::vector<PipelineJob>> by_pipeline;
      for (const auto& job : jobs) by_pipeline[job.pipeline].push_back(job);
      for (const auto& [pipeline, group] : by_pipeline) StepFor(steps, group.front())(tx, group);
    } catch (const pqxx::broken_connection&) {
      throw;  // nothing was committed: the jobs stay due
    } catch (const std::exception&) {
      throw StepFailedUnisolated{};  // tx's destructor rolls everything back
    }
    ExecPrepared(tx, kFinishedAll, BigintArrayLiteral(jobs));
    tx.commit();
    batch.done = batch.claimed;
    for (const auto& job : jobs) ++batch.by_pipeline[job.pipeline].done;
    return batch;
  }
  for (const auto& job : jobs) {
    // A plain SAVEPOINT: the step's writes are undone by ROLLBACK TO, whatever the step did
    // with the transaction object.
    std::string error;
    tx.exec("SAVEPOINT pipeline_step");
    try {
      StepFor(steps, job)(tx, {job});
      tx.exec("RELEASE SAVEPOINT pipeline_step");
    } catch (const pqxx::broken_connection&) {
      throw;
    } catch (const std::exception& e) {
      error = e.what();
      if (error.empty()) error = "step failed";
      tx.exec("ROLLBACK TO SAVEPOINT pipeline_step");
    }
    if (error.empty()) {
      ExecPrepared(tx, kFinished, job.id);
      ++batch.done;
      ++batch.by_pipeline[job.pipeline].done;
    } else {
      const auto delay = RetryDelay(options, job.attempts + 1);
      ExecPrepared(tx, kFailed, job.id, error.substr(0, 2000), static_cast<double>(delay.count()));
      ++batch.failed;
      ++batch.by_pipeline[job.pipeline].failed;
    }
  }
  tx.commit();
  return batch;
}

}  // namespace

StorageResult<PipelineBatch> RunPipelineBatch(pqxx::connection_base& conn, const PipelineOptions& options,
                                              const PipelineSteps& steps) {
  try {
    try {
      return RunBatchOnce(conn, options, steps, false);
    } catch (const StepFailedUnisolated&) {
      return RunBatchOnce(conn, options, steps, true);
    }
  } catch (...) {
    return TranslateCurrentException();
  }
}

}  // namespace fleetcomm::storage
