#pragma once
// The audit log (PROTOCOL.md 4.6): entries written either inside the transaction of the
// change they record (InsertAuditEntry) or in batches (InsertAuditEntries), never updated.
// Text fields arrive bounded and escaped (AuditText), so any bytes a client sends are stored
// as valid UTF-8 without control characters.
#include "storage/storage_error.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pqxx {
class connection_base;
class transaction_base;
}  // namespace pqxx

namespace fleetcomm::storage {

// Bounds of the free-text fields, in bytes of the escaped form.
constexpr std::size_t kAuditPathBytes = 2048;
constexpr std::size_t kAuditUserAgentBytes = 512;
constexpr std::size_t kAuditDetailBytes = 1024;

// `bytes` made safe to store and print: valid UTF-8 kept, control characters (C0, DEL, C1)
// written \u00XX, backslash \\, bytes that are not UTF-8 \xNN; cut at a character boundary
// so that the result has at most `max_bytes` bytes, a cut marked with a trailing "...".
std::string AuditText(std::string_view bytes, std::size_t max_bytes);

struct AuditEntry {
  std::chrono::system_clock::time_point at;
  std::string listener;  // device | operator
  std::string kind = "request";
  std::string request_id;
  std::string identity_kind;  // empty when nobody was identified
  std::string identity_id;
  std::string cert_fingerprint;
  std::string account_id;
  std::string method;
  std::string path;  // AuditText, kAuditPathBytes
  int status = 0;
  long long bytes_in = 0;
  long long bytes_out = 0;  // negative: not known when the entry was written (stored as null)
  long long duration_ms = 0;
  // When set, duration_ms is measured from here at insert time (entries committed with
  // their change: the time up to the commit).
  std::chrono::steady_clock::time_point started{};
  std::string error_code;
  std::string remote_address;  // empty for lockdown agents
  std::string user_agent;      // AuditText, kAuditUserAgentBytes
  std::string detail;          // AuditText, kAuditDetailBytes
  std::string before_json;     // operator changes: the object before and after, as JSON text
  std::string after_json;
};

// Inside a caller's transaction: the entry commits or rolls back with the change it records.
void InsertAuditEntry(pqxx::transaction_base& tx, const AuditEntry& entry);

// The tables whose rows operator changes record before and after.
enum class AuditedTable { kAccounts, kRegistrationKeys, kDevices, kAgents, kActions, kSoftwareReleases };

// The row as JSON text (digests of secrets left out), locked for the rest of the
// transaction so that the change that follows starts from exactly this; "" when absent.
std::string AuditRowDocument(pqxx::transaction_base& tx, AuditedTable table, const std::string& id);

// An operator change's entry with its before and after ("" for none), in the change's
// transaction. Without an account of its own, the entry takes the row's (account_id, or
// the id of an account).
void InsertChangeEntry(pqxx::transaction_base& tx, AuditEntry entry, AuditedTable table, std::string before,
                       std::string after);

// For a statement that writes entries along with other rows (as a data-modifying CTE):
// the INSERT of the entries in JSON parameter $`parameter` (only when the SQL condition
// `only_if` holds, if one is given), and that parameter's value ("[]" for no entry).
std::string AuditInsertSql(int parameter, std::string_view only_if = {});
std::string AuditEntriesParameter(const std::vector<AuditEntry>& entries);
std::string AuditEntriesParameter(const AuditEntry* entry);

// A batch in one statement and one transaction; returns how many were written.
StorageResult<long long> InsertAuditEntries(pqxx::connection_base& conn, const std::vector<AuditEntry>& entries);

}  // namespace fleetcomm::storage
