#pragma once
// Operator tokens as stored: a SHA-256 digest, a role and the accounts it may see.
#include "storage/storage_error.hpp"

#include <optional>
#include <string>
#include <vector>

namespace pqxx {
class connection_base;
}

namespace fleetcomm::storage {

struct OperatorTokenRecord {
  long long id = 0;
  std::string name;
  std::string role;
  std::vector<std::string> account_ids;
};

StorageResult<long long> InsertOperatorToken(pqxx::connection_base& conn, const std::string& token_sha256,
                                             const std::string& name, const std::string& role,
                                             const std::vector<std::string>& account_ids);

struct OperatorTokenListing {
  OperatorTokenRecord token;
  std::string created_at;                 // RFC 3339, UTC
  std::optional<std::string> revoked_at;  // RFC 3339, UTC
};

// Every token, oldest first; never their secrets (only digests are stored anyway).
StorageResult<std::vector<OperatorTokenListing>> ListOperatorTokens(pqxx::connection_base& conn);

// Revokes at once (the operator listener reads tokens on every request). Idempotent: the
// first revocation time is kept. False when no token has that id.
StorageResult<bool> RevokeOperatorToken(pqxx::connection_base& conn, long long id);

// Finds a token that is not revoked; nullopt when none matches.
StorageResult<std::optional<OperatorTokenRecord>> FindOperatorToken(pqxx::connection_base& conn,
                                                                    const std::string& token_sha256);

}  // namespace fleetcomm::storage
