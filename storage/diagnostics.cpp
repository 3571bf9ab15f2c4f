#include "storage/diagnostics.hpp"

#include "storage/db_task.hpp"
#include "storage/sql_params.hpp"

#include <pqxx/pqxx>

namespace fleetcomm::storage {
namespace {

// FOR SHARE: a consent withdrawn concurrently waits for this insert or sees it refused.
constexpr const char* kConsent = "SELECT debug_data_consent FROM accounts WHERE id = $1 FOR SHARE";
constexpr const char* kInsert =
    "INSERT INTO diagnostics (sender_kind, sender_id, account_id, action_id, zip) VALUES ($1, $2, $3, $4, $5) "
    "RETURNING id";

}  // namespace

StorageResult<std::optional<std::string>> StoreDiagnostics(pqxx::connection_base& conn, const NewDiagnostics& upload,
                                                           const AuditEntry* audit) {
  try {
    pqxx::work tx(conn);
    auto consent = tx.exec_params(kConsent, upload.account_id);
    if (consent.empty() || !consent[0][0].as<bool>()) return std::optional<std::string>{};
    auto id = tx.exec_params1(kInsert, upload.sender_kind == ClientKind::kAgent ? "agent" : "device", upload.sender_id,
                              upload.account_id, OptionalText(upload.action_id).get(),
                              pqxx::binarystring(upload.zip.data(), upload.zip.size()))[0]
                  .as<std::string>();
    if (audit) InsertAuditEntry(tx, *audit);
    tx.commit();
    return std::optional<std::string>{std::move(id)};
  } catch (...) {
    return TranslateCurrentException();
  }
}

}  // namespace fleetcomm::storage
