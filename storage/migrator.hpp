#pragma once
// Applies the embedded schema migrations and checks the schema a database is at.
// Each migration runs in its own transaction, under a session advisory lock, so that
// several instances starting together apply each migration exactly once.
#include "storage/storage_error.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace pqxx {
class connection_base;
}

namespace fleetcomm::storage {

struct Migration {
  int version;
  std::string name;
  std::string_view sql;
};

struct SchemaState {
  int applied_version = 0;   // highest applied version, 0 for an empty database
  int expected_version = 0;  // highest version this build carries
};

// Returns the versions applied by this call (empty when already current).
// Refuses (kSchemaMismatch) when an applied migration's text changed or the database
// holds a version this build does not know.
StorageResult<std::vector<int>> ApplyMigrations(pqxx::connection_base& conn, const std::vector<Migration>& migrations);

// Verifies applied == expected and every checksum; kSchemaMismatch with a message that
// says which way the schema is off and what to run.
StorageResult<SchemaState> CheckSchema(pqxx::connection_base& conn, const std::vector<Migration>& migrations);

}  // namespace fleetcomm::storage
