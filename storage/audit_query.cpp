#include "storage/audit_query.hpp"

#include "storage/db_task.hpp"
#include "storage/paging.hpp"
#include "storage/sql_params.hpp"

#include <pqxx/pqxx>

namespace fleetcomm::storage {
namespace {

constexpr const char* kDocument = R"SQL(
jsonb_build_object('seq', seq, 'at', to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
  'listener', listener, 'kind', kind, 'request_id', request_id,
  'identity', CASE WHEN identity_kind IS NULL THEN NULL
                   ELSE jsonb_build_object('kind', identity_kind, 'id', identity_id) END,
  'certificate_fingerprint', cert_fingerprint, 'account_id', account_id, 'method', method, 'path', path,
  'status', status, 'bytes_in', bytes_in, 'bytes_out', bytes_out, 'duration_ms', duration_ms,
  'error_code', error_code, 'remote_address', remote_address, 'user_agent', user_agent, 'detail', detail,
  'before', before, 'after', after)::text
)SQL";

// Account managers see only entries of their accounts: entries without one are not theirs.
constexpr const char* kWhere = R"SQL(
WHERE ($1::text[] IS NULL OR account_id = ANY($1::text[]))
  AND ($2::text IS NULL OR account_id = $2)
  AND ($3::text IS NULL OR identity_kind = $3)
  AND ($4::text IS NULL OR identity_id = $4)
  AND ($5::text IS NULL OR left(path, length($5)) = $5)
  AND ($6::text IS NULL OR request_id = $6)
  AND ($7::timestamptz IS NULL OR at >= $7::timestamptz)
  AND ($8::timestamptz IS NULL OR at < $8::timestamptz)
  AND ($9::integer IS NULL OR status = $9::integer)
)SQL";

std::optional<std::string> ScopeLiteral(const AuditFilter& filter) {
  if (!filter.scope) return std::nullopt;
  return TextArrayLiteral(*filter.scope);
}

pqxx::result Query(pqxx::transaction_base& tx, const std::string& sql, const AuditFilter& filter,
                   const std::optional<long long>& cursor, int limit) {
  return tx.exec_params(sql, OptionalText(ScopeLiteral(filter)).get(), OptionalText(filter.account).get(),
                        OptionalText(filter.identity_kind).get(), OptionalText(filter.identity_id).get(),
                        OptionalText(filter.path_prefix).get(), OptionalText(filter.request_id).get(),
                        OptionalText(filter.since).get(), OptionalText(filter.until).get(),
                        OptionalText(filter.status).get(), OptionalText(cursor).get(), limit + 1);
}

Page<std::string> ReadPage(const pqxx::result& rows, int limit) {
  Page<std::string> page;
  std::string last_seq;
  for (const auto& row : rows) {
    if (static_cast<int>(page.items.size()) == limit) {
      page.next = last_seq;
      break;
    }
    last_seq = row[0].as<std::string>();
    page.items.push_back(row[1].as<std::string>());
  }
  return page;
}

}  // namespace

StorageResult<Page<std::string>> ListAuditEntries(pqxx::connection_base& conn, const AuditFilter& filter,
                                                  const std::string& after, int limit) {
  try {
    std::optional<long long> cursor;
    if (!after.empty()) {
      try {
        cursor = std::stoll(after);
      } catch (const std::exception&) {
        return StorageError{StorageErrc::kInvalid, "bad cursor"};
      }
    }
    const std::string sql = std::string("SELECT seq, ") + kDocument + " FROM audit_entries " + kWhere +
                            " AND ($10::bigint IS NULL OR seq < $10::bigint) ORDER BY seq DESC LIMIT $11";
    pqxx::read_transaction tx(conn);
    return ReadPage(Query(tx, sql, filter, cursor, limit), limit);
  } catch (...) {
    return TranslateCurrentException();
  }
}

StorageResult<Page<std::string>> ExportAuditEntries(pqxx::connection_base& conn, const AuditFilter& filter,
                                                    long long after, int limit) {
  try {
    const std::string sql = std::string("SELECT seq, ") + kDocument + " FROM audit_entries " + kWhere +
                            " AND seq > $10::bigint ORDER BY seq LIMIT $11";
    pqxx::read_transaction tx(conn);
    return ReadPage(Query(tx, sql, filter, after, limit), limit);
  } catch (...) {
    return TranslateCurrentException();
  }
}

}  // namespace fleetcomm::storage
