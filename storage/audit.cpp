#include "storage/audit.hpp"
#include "storage/audit_fields.hpp"

#include "protocol/utf8.hpp"
#include "storage/db_task.hpp"
#include "storage/prepared.hpp"

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <cstdio>

namespace fleetcomm::storage {
namespace {

using nlohmann::json;

constexpr std::string_view kCutMarker = "...";

// One input character in its stored form.
std::string EscapedCharacter(std::string_view bytes, std::size_t& pos) {
  char32_t code_point = 0;
  const std::size_t start = pos;
  char escaped[8];
  if (!protocol::DecodeUtf8(bytes, pos, code_point)) {
    std::snprintf(escaped, sizeof escaped, "\\x%02X", static_cast<unsigned>(static_cast<unsigned char>(bytes[pos])));
    ++pos;
    return escaped;
  }
  if (code_point < 0x20 || (code_point >= 0x7F && code_point <= 0x9F)) {
    std::snprintf(escaped, sizeof escaped, "\\u%04X", static_cast<unsigned>(code_point));
    return escaped;
  }
  if (code_point == '\\') return "\\\\";
  return std::string(bytes.substr(start, pos - start));
}

json OptionalText(const std::string& value) { return value.empty() ? json(nullptr) : json(value); }

json OptionalJson(const std::string& text) { return text.empty() ? json(nullptr) : json::parse(text); }

json EntryDocument(const AuditEntry& e) {
  return {{"at", AuditTimestamp(e.at)},
          {"listener", e.listener},
          {"kind", e.kind},
          {"request_id", OptionalText(e.request_id)},
          {"identity_kind", OptionalText(e.identity_kind)},
          {"identity_id", OptionalText(e.identity_id)},
          {"cert_fingerprint", OptionalText(e.cert_fingerprint)},
          {"account_id", OptionalText(e.account_id)},
          {"method", OptionalText(e.method)},
          {"path", OptionalText(e.path)},
          {"status", e.status == 0 ? json(nullptr) : json(e.status)},
          {"bytes_in", e.bytes_in},
          {"bytes_out", e.bytes_out < 0 ? json(nullptr) : json(e.bytes_out)},
          {"duration_ms", AuditDurationMs(e)},
          {"error_code", OptionalText(e.error_code)},
          {"remote_address", OptionalText(e.remote_address)},
          {"user_agent", OptionalText(e.user_agent)},
          {"detail", OptionalText(e.detail)},
          {"before", OptionalJson(e.before_json)},
          {"after", OptionalJson(e.after_json)}};
}

// Fields are escaped already; replacing keeps a missed invalid byte from losing an entry.
std::string Dump(const json& documents) { return documents.dump(-1, ' ', false, json::error_handler_t::replace); }

constexpr const char* kInsertHead = R"SQL(
INSERT INTO audit_entries (at, listener, kind, request_id, identity_kind, identity_id, cert_fingerprint, account_id,
                           method, path, status, bytes_in, bytes_out, duration_ms, error_code, remote_address,
                           user_agent, detail, before, after)
SELECT at, listener, kind, request_id, identity_kind, identity_id, cert_fingerprint, account_id, method, path, status,
       bytes_in, bytes_out, duration_ms, error_code, remote_address, user_agent, detail, before, after
FROM ROWS FROM (jsonb_to_recordset()SQL";
constexpr const char* kInsertTail = R"SQL(::jsonb) AS (at timestamptz, listener text, kind text, request_id text,
     identity_kind text, identity_id text, cert_fingerprint text, account_id text, method text, path text,
     status integer, bytes_in bigint, bytes_out bigint, duration_ms bigint, error_code text, remote_address text,
     user_agent text, detail text, before jsonb, after jsonb)) WITH ORDINALITY AS r
)SQL";

const char* RowQuery(AuditedTable table) {
  switch (table) {
    case AuditedTable::kAccounts: return "SELECT to_jsonb(t)::text FROM accounts t WHERE id = $1 FOR UPDATE";
    case AuditedTable::kRegistrationKeys:
      return "SELECT (to_jsonb(t) - 'key_sha256')::text FROM registration_keys t WHERE id = $1 FOR UPDATE";
    case AuditedTable::kDevices: return "SELECT to_jsonb(t)::text FROM devices t WHERE id = $1 FOR UPDATE";
    case AuditedTable::kAgents: return "SELECT to_jsonb(t)::text FROM agents t WHERE id = $1 FOR UPDATE";
    case AuditedTable::kActions: return "SELECT to_jsonb(t)::text FROM actions t WHERE id = $1 FOR UPDATE";
    case AuditedTable::kSoftwareReleases:
      return "SELECT to_jsonb(t)::text FROM software_releases t WHERE id = $1 FOR UPDATE";
  }
  return "SELECT NULL::text WHERE false";
}

std::string AccountOf(AuditedTable table, const std::string& document) {
  if (document.empty()) return {};
  const json row = json::parse(document);
  const char* field = table == AuditedTable::kAccounts ? "id" : "account_id";
  const auto found = row.find(field);
  return found != row.end() && found->is_string() ? found->get<std::string>() : std::string();
}

// One statement for one entry and for a batch: prepared once per connection.
const PreparedSql& InsertStatement() {
  static const std::string sql = AuditInsertSql(1);
  static const PreparedSql statement{"audit_insert", sql.c_str()};
  return statement;
}

}  // namespace

std::string AuditTimestamp(std::chrono::system_clock::time_point at) {
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(at.time_since_epoch()).count();
  const std::time_t seconds = static_cast<std::time_t>(micros / 1000000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[96];
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", utc.tm_year + 1900, utc.tm_mon + 1,
                utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, static_cast<long long>(((micros % 1000000) + 1000000) % 1000000));
  return text;
}

long long AuditDurationMs(const AuditEntry& e) {
  if (e.started == std::chrono::steady_clock::time_point{}) return e.duration_ms;
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - e.started).count();
}

std::string AuditSafeText(const std::string& value) {
  std::size_t pos = 0;
  char32_t code_point = 0;
  while (pos < value.size()) {
    const auto byte = static_cast<unsigned char>(value[pos]);
    if (byte != 0 && byte < 0x80) {
      ++pos;
    } else if (byte == 0 || !protocol::DecodeUtf8(value, pos, code_point)) {
      return AuditText(value, kAuditDetailBytes);
    }
  }
  return value;
}

std::string AuditText(std::string_view bytes, std::size_t max_bytes) {
  std::string out;
  out.reserve(std::min(bytes.size(), max_bytes));
  std::size_t pos = 0;
  std::string escaped;
  while (pos < bytes.size()) {
    std::string_view piece;
    const auto byte = static_cast<unsigned char>(bytes[pos]);
    if (byte >= 0x20 && byte < 0x7F && byte != '\\') {  // printable ASCII, the common case: itself
      piece = bytes.substr(pos++, 1);
    } else {
      escaped = EscapedCharacter(bytes, pos);
      piece = escaped;
    }
    const bool last = pos >= bytes.size();
    // Room is kept for the marker unless this piece ends the input.
    const std::size_t reserve = last ? 0 : kCutMarker.size();
    if (out.size() + piece.size() + reserve > max_bytes) {
      if (out.size() + kCutMarker.size() <= max_bytes) out += kCutMarker;
      break;
    }
    out += piece;
  }
  return out;
}

void InsertAuditEntry(pqxx::transaction_base& tx, const AuditEntry& entry) {
  ExecPrepared(tx, InsertStatement(), Dump(json::array({EntryDocument(entry)})));
}

std::string AuditInsertSql(int parameter, std::string_view only_if) {
  std::string sql = std::string(kInsertHead) + "$" + std::to_string(parameter) + kInsertTail;
  if (!only_if.empty()) sql += "WHERE " + std::string(only_if) + "\n";
  return sql + "ORDER BY r.ordinality\n";
}

std::string AuditEntriesParameter(const std::vector<AuditEntry>& entries) {
  json documents = json::array();
  for (const auto& entry : entries) documents.push_back(EntryDocument(entry));
  return Dump(documents);
}

std::string AuditEntriesParameter(const AuditEntry* entry) {
  return entry == nullptr ? std::string("[]") : Dump(json::array({EntryDocument(*entry)}));
}

std::string AuditRowDocument(pqxx::transaction_base& tx, AuditedTable table, const std::string& id) {
  const auto rows = tx.exec_params(RowQuery(table), id);
  if (rows.empty() || rows[0][0].is_null()) return {};
  return rows[0][0].as<std::string>();
}

void InsertChangeEntry(pqxx::transaction_base& tx, AuditEntry entry, AuditedTable table, std::string before,
                       std::string after) {
  if (entry.account_id.empty()) entry.account_id = AccountOf(table, after.empty() ? before : after);
  entry.before_json = std::move(before);
  entry.after_json = std::move(after);
  InsertAuditEntry(tx, entry);
}

}  // namespace fleetcomm::storage
