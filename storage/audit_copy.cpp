// The batch path of the audit log: COPY instead of one INSERT over a JSON document. Read-only
// requests (empty polls above all) are the bulk of the log; parsing a JSON array in
// PostgreSQL and building it with nlohmann in the server cost about twice what COPY's text
// rows cost, per entry.
#include "storage/audit.hpp"
#include "storage/audit_fields.hpp"
#include "storage/db_task.hpp"

#include <pqxx/pqxx>

#include <array>

namespace fleetcomm::storage {

// One field of a COPY row, null or text; libpqxx escapes the text for COPY.
struct CopyField {
  std::string text;
  bool null = false;
};

}  // namespace fleetcomm::storage

namespace pqxx {

template <>
struct string_traits<fleetcomm::storage::CopyField> {
  static constexpr const char* name() noexcept { return "CopyField"; }
  static constexpr bool has_null() noexcept { return true; }
  static bool is_null(const fleetcomm::storage::CopyField& field) { return field.null; }
  static fleetcomm::storage::CopyField null() { return {{}, true}; }
  static std::string to_string(const fleetcomm::storage::CopyField& field) { return field.text; }
};

}  // namespace pqxx

namespace fleetcomm::storage {
namespace {

constexpr std::array<const char*, 20> kColumns = {
    "at", "listener", "kind", "request_id", "identity_kind",
    "identity_id", "cert_fingerprint", "account_id", "method", "path",
    "status", "bytes_in", "bytes_out", "duration_ms", "error_code",
    "remote_address", "user_agent", "detail", "before", "after"};

CopyField Text(const std::string& value) { return {AuditSafeText(value), false}; }
CopyField OptionalText(const std::string& value) {
  return value.empty() ? CopyField{{}, true} : CopyField{AuditSafeText(value), false};
}
CopyField Number(long long value) { return {std::to_string(value), false}; }
// JSON documents come from PostgreSQL's to_jsonb or nlohmann: valid UTF-8 without NUL already.
CopyField OptionalJson(const std::string& text) { return text.empty() ? CopyField{{}, true} : CopyField{text, false}; }

std::array<CopyField, kColumns.size()> Row(const AuditEntry& e) {
  return {CopyField{AuditTimestamp(e.at), false},
          Text(e.listener),
          Text(e.kind),
          OptionalText(e.request_id),
          OptionalText(e.identity_kind),
          OptionalText(e.identity_id),
          OptionalText(e.cert_fingerprint),
          OptionalText(e.account_id),
          OptionalText(e.method),
          OptionalText(e.path),
          e.status == 0 ? CopyField{{}, true} : Number(e.status),
          Number(e.bytes_in),
          e.bytes_out < 0 ? CopyField{{}, true} : Number(e.bytes_out),
          Number(AuditDurationMs(e)),
          OptionalText(e.error_code),
          OptionalText(e.remote_address),
          OptionalText(e.user_agent),
          OptionalText(e.detail),
          OptionalJson(e.before_json),
          OptionalJson(e.after_json)};
}

}  // namespace

StorageResult<long long> InsertAuditEntries(pqxx::connection_base& conn, const std::vector<AuditEntry>& entries) {
  try {
    if (entries.empty()) return 0LL;
    pqxx::work tx(conn);
    pqxx::stream_to copy(tx, "audit_entries", kColumns);
    for (const auto& entry : entries) copy << Row(entry);
    copy.complete();
    tx.commit();
    return static_cast<long long>(entries.size());
  } catch (...) {
    return TranslateCurrentException();
  }
}

}  // namespace fleetcomm::storage
