#include "storage/operator_tokens.hpp"

#include "storage/db_task.hpp"
#include "storage/prepared.hpp"
#include "storage/sql_params.hpp"

#include <pqxx/pqxx>

namespace fleetcomm::storage {
namespace {

constexpr const char* kInsertToken =
    "INSERT INTO operator_tokens (token_sha256, name, role, account_ids) "
    "VALUES ($1, $2, $3, $4::text[]) RETURNING id";

constexpr PreparedSql kFindToken{"operator_token_find",
    "SELECT id, name, role, account_ids FROM operator_tokens "
    "WHERE token_sha256 = $1 AND revoked_at IS NULL"};


std::vector<std::string> ParseTextArray(const pqxx::field& field) {
  std::vector<std::string> out;
  auto parser = field.as_array();
  for (auto item = parser.get_next(); item.first != pqxx::array_parser::done; item = parser.get_next()) {
    if (item.first == pqxx::array_parser::string_value) out.push_back(std::move(item.second));
  }
  return out;
}

constexpr const char* kListTokens =
    "SELECT id, name, role, account_ids, fleetcomm_rfc3339(created_at), fleetcomm_rfc3339(revoked_at) "
    "FROM operator_tokens ORDER BY id";

constexpr const char* kRevokeToken =
    "UPDATE operator_tokens SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 RETURNING id";

}  // namespace

StorageResult<std::vector<OperatorTokenListing>> ListOperatorTokens(pqxx::connection_base& conn) {
  try {
    pqxx::read_transaction tx(conn);
    std::vector<OperatorTokenListing> out;
    for (const auto& row : tx.exec(kListTokens)) {
      OperatorTokenListing listing{{row[0].as<long long>(), row[1].as<std::string>(), row[2].as<std::string>(),
                                    ParseTextArray(row[3])},
                                   row[4].as<std::string>(),
                                   std::nullopt};
      if (!row[5].is_null()) listing.revoked_at = row[5].as<std::string>();
      out.push_back(std::move(listing));
    }
    return out;
  } catch (...) {
    return TranslateCurrentException();
  }
}

StorageResult<bool> RevokeOperatorToken(pqxx::connection_base& conn, long long id) {
  try {
    pqxx::work tx(conn);
    const bool found = !tx.exec_params(kRevokeToken, id).empty();
    tx.commit();
    return found;
  } catch (...) {
    return TranslateCurrentException();
  }
}

StorageResult<long long> InsertOperatorToken(pqxx::connection_base& conn, const std::string& token_sha256,
                                             const std::string& name, const std::string& role,
                                             const std::vector<std::string>& account_ids) {
  try {
    pqxx::work tx(conn);
    pqxx::binarystring digest(token_sha256);
    auto row = tx.exec_params1(kInsertToken, digest, name, role, TextArrayLiteral(account_ids));
    tx.commit();
    return row[0].as<long long>();
  } catch (...) {
    return TranslateCurrentException();
  }
}

StorageResult<std::optional<OperatorTokenRecord>> FindOperatorToken(pqxx::connection_base& conn,
                                                                    const std::string& token_sha256) {
  try {
    pqxx::nontransaction tx(conn);  // one statement, made on every operator request
    pqxx::binarystring digest(token_sha256);
    auto rows = ExecPrepared(tx, kFindToken, digest);
    if (rows.empty()) return std::optional<OperatorTokenRecord>{};
    const auto& row = rows[0];
    return std::optional<OperatorTokenRecord>{OperatorTokenRecord{
        row[0].as<long long>(), row[1].as<std::string>(), row[2].as<std::string>(),
        ParseTextArray(row[3])}};
  } catch (...) {
    return TranslateCurrentException();
  }
}

}  // namespace fleetcomm::storage
