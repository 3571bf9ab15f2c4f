#pragma once
// The steps of storing an upload that the one-upload path (storage/uploads.cpp) and the
// group-commit batch (storage/upload_batch.cpp) share, so that both answer alike. Internal to
// storage/: includes libpqxx.
#include "storage/json_text.hpp"
#include "storage/uploads.hpp"

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <map>
#include <string>
#include <vector>

namespace fleetcomm::storage::upload_steps {

std::string KindName(ClientKind kind);

// The answer stored for replay, read back for a duplicate.
UploadOutcome OutcomeFromDocument(const nlohmann::json& document);

// An earlier upload with the same key: the replay of its answer (duplicate = true) when the
// content is the same, kConflict when not. Used once the key turned out to be taken.
StorageResult<UploadOutcome> ReplayEarlier(pqxx::transaction_base& tx, const NewUpload& upload);

// Agents' devices (upserted in key order) or the sender device, as report index -> device
// id; fills outcome.devices.
std::map<std::size_t, std::string> BindDevices(pqxx::transaction_base& tx, const NewUpload& upload,
                                               UploadOutcome& outcome);

// outcome.devices from the devices bound and the reasons of those refused.
void FillDeviceOutcomes(const NewUpload& upload, const std::map<std::size_t, std::string>& bound,
                        const std::vector<std::string>& reasons, UploadOutcome& outcome);

// Each table's rows as the text of a JSON array (rows of several uploads, in a batch).
// Every row carries its upload's position in the batch (ord), its id and the report's and
// upload's times: the batch statement reads them, the one-upload statement ignores them.
class DeviceRows {
 public:
  DeviceRows();
  // Closes the arrays; the texts are then the statement's parameters.
  void Finish();

  JsonText snapshots, faults, counters, supplies, usage, jobs;
  std::vector<std::string> with_faults;
};

struct RowTags {
  std::size_t ord = 0;
  std::string upload_id;
  std::string generated_at;
  std::string received_at;
};

void CollectRows(const protocol::Report& report, const std::map<std::size_t, std::string>& bound, bool job_consent,
                 const RowTags& tags, DeviceRows& rows);

// Keeps the newest 40 faults of each device named (after the new ones are inserted).
void PruneFaults(pqxx::transaction_base& tx, const std::vector<std::string>& device_ids);

std::vector<std::string> Discarded(const protocol::Report& report, bool job_consent);

void StoreAgent(pqxx::transaction_base& tx, const NewUpload& upload, const std::string& upload_id,
                const std::string& received_at, bool job_consent);

AuditEntry UploadAuditEntry(AuditEntry entry, const UploadOutcome& outcome);

// Several uploads inside the caller's shared transaction, with statements that each cover
// the whole batch (storage/upload_batch.cpp). Results as StoreUploads; throws on anything
// unexpected, leaving the transaction to be rolled back.
std::vector<StorageResult<UploadOutcome>> StoreBatchIn(pqxx::work& tx, const std::vector<const NewUpload*>& uploads);

}  // namespace fleetcomm::storage::upload_steps
