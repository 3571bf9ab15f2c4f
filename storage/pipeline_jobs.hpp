#pragma once
// The pipelines' transactional outbox (REQUIREMENTS.md R5): an upload records, in its own
// transaction, which pipeline steps it needs; workers on any number of instances claim due
// jobs with FOR UPDATE SKIP LOCKED and run each step inside the transaction that marks it
// finished, so a step's writes and its completion commit together or not at all. A failed
// step is rolled back to its savepoint, counted, and retried after an exponential back-off.
#include "protocol/report.hpp"
#include "storage/json_text.hpp"
#include "storage/meter_reads.hpp"
#include "storage/storage_error.hpp"
#include "storage/supply_orders.hpp"

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace pqxx {
class connection_base;
class transaction_base;
}  // namespace pqxx

namespace fleetcomm::storage {

// In the upload's transaction, once its rows are written: jobs for the pipelines the
// sender's account subscribes to (meter reads with `meter_billing`, supplies with
// `supplies_contract`; diagnostics for every account). `bound` maps the report's device
// index to the stored device id, as the upload bound them.
void EnqueuePipelineWork(pqxx::transaction_base& tx, const std::string& upload_id, const std::string& account_id,
                         const protocol::Report& report, const std::map<std::size_t, std::string>& bound);

// The same for the uploads of a group commit, inside its batch statement: the INSERT of the
// jobs (a CTE) whose work is parameter $`parameter`, a JSON array that WritePipelineWork
// appends each upload to (false, and nothing written, when the upload has no work).
struct UploadWork {
  std::string upload_id;
  std::string account_id;
  const protocol::Report* report = nullptr;
  const std::map<std::size_t, std::string>* bound = nullptr;
};
std::string PipelineEnqueueSql(int parameter);
bool WritePipelineWork(JsonText& work, std::size_t ord, const UploadWork& upload);

struct PipelineJob {
  long long id = 0;
  std::string pipeline;  // "meter_reads", "supplies", "diagnostics"
  std::string upload_id;
  std::string account_id;
  std::string devices;  // JSON [{"device_id", ...what the step needs to find the upload's rows}]
  int attempts = 0;     // failed attempts before this one
};

// One pipeline step over jobs of its pipeline, in claim order (all of a batch's at once, or
// one at a time after a failure); throws to fail them (their writes are rolled back). A step
// must judge two jobs of one device in one call as it would one after the other.
using PipelineStep = std::function<void(pqxx::transaction_base&, const std::vector<PipelineJob>&)>;
using PipelineSteps = std::map<std::string, PipelineStep>;

struct PipelineOptions {
  int batch_size = 50;  // jobs claimed and committed together
  // This worker claims only share `share` of `shares` (by the jobs' first device): the workers
  // of one runner split the jobs so that their batches rarely wait for each other's device
  // locks. Any split is correct: device locks order the steps whatever claims them.
  int share = 0;
  int shares = 1;
  std::chrono::seconds retry_base{5};
  std::chrono::seconds retry_max{3600};
  MeterReadOptions meter;
  SupplyOptions supplies;
};

struct PipelineJobCounts {
  int done = 0;
  int failed = 0;
};

struct PipelineBatch {
  int claimed = 0;
  int done = 0;
  int failed = 0;
  std::map<std::string, PipelineJobCounts> by_pipeline;  // the same split by pipeline (only those claimed)
};

PipelineSteps DefaultPipelineSteps(const PipelineOptions& options);
// The pipelines DefaultPipelineSteps runs, in name order.
std::vector<std::string> PipelineNames();

// Claims up to batch_size due jobs (skipping those other workers hold), locks their devices
// in key order, runs each job's step in a savepoint and commits once.
StorageResult<PipelineBatch> RunPipelineBatch(pqxx::connection_base& conn, const PipelineOptions& options,
                                              const PipelineSteps& steps);
StorageResult<PipelineBatch> RunPipelineBatch(pqxx::connection_base& conn, const PipelineOptions& options);

// The back-off before attempt `failures` + 1: retry_base * 2^(failures - 1), at most retry_max.
std::chrono::seconds RetryDelay(const PipelineOptions& options, int failures);

}  // namespace fleetcomm::storage
