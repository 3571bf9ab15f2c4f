#pragma once
// Storing one upload (PROTOCOL.md 3.3) in one transaction: the idempotency record, the
// devices it names, their snapshots and time series, and the original archive. The caller
// has already parsed the report and applied lockdown; the account's job-data consent is
// read here, in the same transaction, and personal data is dropped without it.
#include "protocol/report.hpp"
#include "storage/audit.hpp"
#include "storage/client_identities.hpp"

#include <nlohmann/json_fwd.hpp>

#include <array>
#include <string>
#include <string_view>
#include <vector>

namespace pqxx {
class connection_base;
}

namespace fleetcomm::storage {

struct UploadSender {
  ClientKind kind = ClientKind::kDevice;
  std::string id;
  std::string account_id;
};

struct NewUpload {
  UploadSender sender;
  const protocol::Report* report = nullptr;
  std::string content_sha256;  // 32 raw bytes: SHA-256 of the inflated report.xml
  std::string_view zip;        // the archive as received, kept for reprocessing
  std::size_t report_bytes = 0;
  // Device-direct uploads: indexes of report->devices already refused by the caller
  // (serial mismatch), with their reason; never stored.
  std::vector<std::pair<std::size_t, std::string>> refused;
  // The request's audit entry, inserted in the upload's transaction when it stores a new
  // report (status 201); a duplicate or a refusal stores nothing, and the caller queues it.
  std::optional<AuditEntry> audit;
};

struct DeviceOutcome {
  std::string serial;
  std::string status;  // accepted | rejected
  std::string reason;  // empty when accepted
};

struct UploadOutcome {
  std::string upload_id;
  std::string report_id;
  bool duplicate = false;
  std::vector<DeviceOutcome> devices;
  std::vector<std::string> discarded;
  // Rows this upload added to each of kRowTables (a replay added none), for the metrics;
  // readings already stored by an earlier upload are not counted.
  static constexpr const char* kRowTables[] = {"device_snapshots", "device_faults",  "counter_readings",
                                               "supply_readings",  "usage_readings", "job_log_entries"};
  std::array<long long, 6> rows_stored{};
};

// {"upload_id","report_id","devices":[{"serial","status"[,"reason"]}],"discarded":[...]}: the
// upload answer of PROTOCOL.md 3.3 without "duplicate", as stored for replay.
nlohmann::json UploadOutcomeDocument(const UploadOutcome& outcome);

// kConflict when the sender already stored this report id with other content. A duplicate
// (same content) returns the first outcome with duplicate = true and writes nothing.
StorageResult<UploadOutcome> StoreUpload(pqxx::connection_base& conn, const NewUpload& upload);

// Group commit: several uploads in one transaction, so that they share one commit (one WAL
// flush) instead of paying one each, written with statements that each cover the whole
// batch (storage/upload_batch.cpp). Results are in the order of `uploads`, each exactly
// what StoreUpload would have answered. When the shared transaction fails (one upload hit
// an unexpected error, or two batches deadlocked) nothing of it is committed and each
// upload is stored again alone, so one bad upload cannot fail the others.
std::vector<StorageResult<UploadOutcome>> StoreUploads(pqxx::connection_base& conn,
                                                       const std::vector<const NewUpload*>& uploads);

}  // namespace fleetcomm::storage
