#pragma once
// What the reports said about one device, for GET /api/v1/devices/{id} (PROTOCOL.md 4.2):
// the latest snapshot, the kept fault history, the latest read of each counter and the
// recent uploads, assembled by PostgreSQL in one statement.
#include "storage/storage_error.hpp"

#include <string>

namespace pqxx {
class connection_base;
}

namespace fleetcomm::storage {

// A JSON object: {"class","last_upload_at","snapshot":{...}|null,"faults":[...],"counters":[...],
// "uploads":[...]}. Snapshot documents are those of storage/report_documents.hpp.
StorageResult<std::string> DeviceReadingsDocument(pqxx::connection_base& conn, const std::string& device_id);

}  // namespace fleetcomm::storage
