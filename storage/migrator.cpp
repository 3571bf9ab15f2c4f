#include "storage/migrator.hpp"

#include "storage/db_task.hpp"

#include <pqxx/pqxx>

#include <map>

namespace fleetcomm::storage {
namespace {

// Arbitrary but fixed: every fleetcomm instance migrating one database takes this lock.
constexpr long long kMigrationLockKey = 0x666c656574636d;  // "fleetcm"

constexpr const char* kCreateMigrationsTable = R"sql(
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer     PRIMARY KEY,
    name       text        NOT NULL,
    sha256     text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
))sql";

// The checksum is computed by PostgreSQL so that storage/ needs no hashing code of its own.
constexpr const char* kChecksum = "SELECT encode(sha256(convert_to($1, 'UTF8')), 'hex')";

constexpr const char* kRecordMigration =
    "INSERT INTO schema_migrations (version, name, sha256) "
    "VALUES ($1, $2, encode(sha256(convert_to($3, 'UTF8')), 'hex'))";

struct AppliedMigration {
  std::string name;
  std::string sha256;
};

std::map<int, AppliedMigration> ReadApplied(pqxx::work& tx) {
  std::map<int, AppliedMigration> applied;
  const bool table_exists =
      tx.exec1("SELECT to_regclass('schema_migrations') IS NOT NULL")[0].as<bool>();
  if (!table_exists) return applied;
  for (const auto& row : tx.exec("SELECT version, name, sha256 FROM schema_migrations ORDER BY version")) {
    applied[row[0].as<int>()] = {row[1].as<std::string>(), row[2].as<std::string>()};
  }
  return applied;
}

std::string Checksum(pqxx::work& tx, std::string_view sql) {
  return tx.exec_params1(kChecksum, std::string(sql))[0].as<std::string>();
}

// Compares what the database recorded with what this build carries.
StorageResult<SchemaState> Compare(pqxx::work& tx, const std::map<int, AppliedMigration>& applied,
                                   const std::vector<Migration>& migrations) {
  SchemaState state;
  state.applied_version = applied.empty() ? 0 : applied.rbegin()->first;
  state.expected_version = migrations.empty() ? 0 : migrations.back().version;
  std::map<int, const Migration*> known;
  for (const auto& m : migrations) known[m.version] = &m;
  for (const auto& [version, record] : applied) {
    auto it = known.find(version);
    if (it == known.end()) {
      return StorageError{StorageErrc::kSchemaMismatch,
                          "database has migration " + std::to_string(version) + " (" + record.name +
                              ") that this build does not know: the schema is newer than this binary; "
                              "run a newer fleetcomm"};
    }
    if (Checksum(tx, it->second->sql) != record.sha256) {
      return StorageError{StorageErrc::kSchemaMismatch,
                          "migration " + it->second->name +
                              " was changed after it was applied; restore the original file and add "
                              "a new migration instead"};
    }
  }
  return state;
}

}  // namespace

StorageResult<std::vector<int>> ApplyMigrations(pqxx::connection_base& conn, const std::vector<Migration>& migrations) {
  try {
    pqxx::nontransaction session(conn);
    session.exec_params("SELECT pg_advisory_lock($1)", kMigrationLockKey);
    session.commit();
    struct Unlock {
      pqxx::connection_base& c;
      ~Unlock() {
        try {
          pqxx::nontransaction s(c);
          s.exec_params("SELECT pg_advisory_unlock($1)", kMigrationLockKey);
        } catch (...) {
          // The lock dies with the session anyway.
        }
      }
    } unlock{conn};

    {
      pqxx::work tx(conn);
      tx.exec(kCreateMigrationsTable);
      tx.commit();
    }
    std::map<int, AppliedMigration> applied;
    {
      pqxx::work tx(conn);
      applied = ReadApplied(tx);
      auto state = Compare(tx, applied, migrations);
      if (!state) return state.error();
    }
    std::vector<int> done;
    for (const auto& m : migrations) {
      if (applied.count(m.version) != 0) continue;
      pqxx::work tx(conn);
      tx.exec(std::string(m.sql));
      tx.exec_params(kRecordMigration, m.version, m.name, std::string(m.sql));
      tx.commit();
      done.push_back(m.version);
    }
    return done;
  } catch (...) {
    return TranslateCurrentException();
  }
}

StorageResult<SchemaState> CheckSchema(pqxx::connection_base& conn, const std::vector<Migration>& migrations) {
  try {
    pqxx::work tx(conn);
    auto applied = ReadApplied(tx);
    auto state = Compare(tx, applied, migrations);
    if (!state) return state;
    if (state->applied_version < state->expected_version) {
      return StorageError{StorageErrc::kSchemaMismatch,
                          "database schema is at version " + std::to_string(state->applied_version) +
                              ", this build expects " + std::to_string(state->expected_version) +
                              "; run `fleetcomm migrate --config FILE`"};
    }
    return state;
  } catch (...) {
    return TranslateCurrentException();
  }
}

}  // namespace fleetcomm::storage
