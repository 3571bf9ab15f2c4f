#include "storage/accounts.hpp"

#include "storage/db_task.hpp"
#include "storage/paging.hpp"
#include "storage/sql_params.hpp"

#include <pqxx/pqxx>

namespace fleetcomm::storage {
namespace {

constexpr const char* kAccountColumns =
    "id, name, meter_billing, supplies_contract, remote_software_updates, debug_data_consent, job_data_consent, "
    "supply_low_percent, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), poll_interval_s";

const std::string kInsertAccount = std::string(
    "INSERT INTO accounts (name, meter_billing, supplies_contract, remote_software_updates, debug_data_consent, "
    "job_data_consent, supply_low_percent, poll_interval_s) VALUES ($1, COALESCE($2::boolean, false), COALESCE($3::boolean, false), "
    "COALESCE($4::boolean, false), COALESCE($5::boolean, false), COALESCE($6::boolean, false), "
    "COALESCE($7::integer, 20), COALESCE($8::integer, 86400)) RETURNING ") + kAccountColumns;

const std::string kPatchAccount = std::string(
    "UPDATE accounts SET name = COALESCE($2, name), meter_billing = COALESCE($3::boolean, meter_billing), "
    "supplies_contract = COALESCE($4::boolean, supplies_contract), "
    "remote_software_updates = COALESCE($5::boolean, remote_software_updates), "
    "debug_data_consent = COALESCE($6::boolean, debug_data_consent), "
    "job_data_consent = COALESCE($7::boolean, job_data_consent), "
    "supply_low_percent = COALESCE($8::integer, supply_low_percent), "
    "poll_interval_s = COALESCE($9::integer, poll_interval_s), updated_at = now() "
    "WHERE id = $1 RETURNING ") + kAccountColumns;

const std::string kSelectAccount = std::string("SELECT ") + kAccountColumns + " FROM accounts WHERE id = $1";

// Keyset pagination on the primary key: stable under concurrent inserts, one index scan.
const std::string kListAccounts = std::string("SELECT ") + kAccountColumns +
                                  " FROM accounts WHERE id > $1 AND ($2::text[] IS NULL OR id = ANY($2::text[])) "
                                  "ORDER BY id LIMIT $3";

constexpr const char* kInsertKey =
    "INSERT INTO registration_keys (account_id, key_sha256, expires_at, max_uses) "
    "SELECT id, $2, now() + make_interval(secs => $3::bigint), $4::integer FROM accounts WHERE id = $1 "
    "RETURNING id";

constexpr const char* kRevokeKey =
    "UPDATE registration_keys SET revoked_at = COALESCE(revoked_at, now()) "
    "WHERE id = $2 AND account_id = $1 RETURNING id";

Account ReadAccount(const pqxx::row& row) {
  return {row[0].as<std::string>(), row[1].as<std::string>(), row[2].as<bool>(), row[3].as<bool>(),
          row[4].as<bool>(),        row[5].as<bool>(),        row[6].as<bool>(), row[7].as<int>(),
          row[8].as<std::string>(), row[9].as<int>()};
}


}  // namespace

StorageResult<Account> CreateAccount(pqxx::connection_base& conn, const AccountFields& f, const AuditEntry* audit) {
  try {
    pqxx::work tx(conn);
    auto row = tx.exec_params1(kInsertAccount, OptionalText(f.name).get(), OptionalText(f.meter_billing).get(),
                               OptionalText(f.supplies_contract).get(), OptionalText(f.remote_software_updates).get(),
                               OptionalText(f.debug_data_consent).get(), OptionalText(f.job_data_consent).get(),
                               OptionalText(f.supply_low_percent).get(), OptionalText(f.poll_interval_s).get());
    Account account = ReadAccount(row);
    if (audit) {
      InsertChangeEntry(tx, *audit, AuditedTable::kAccounts, "", AuditRowDocument(tx, AuditedTable::kAccounts, account.id));
    }
    tx.commit();
    return account;
  } catch (...) {
    return TranslateCurrentException();
  }
}

StorageResult<std::optional<Account>> GetAccount(pqxx::connection_base& conn, const std::string& id) {
  try {
    pqxx::read_transaction tx(conn);
    auto rows = tx.exec_params(kSelectAccount, id);
    if (rows.empty()) return std::optional<Account>{};
    return std::optional<Account>{ReadAccount(rows[0])};
  } catch (...) {
    return TranslateCurrentException();
  }
}

StorageResult<Page<Account>> ListAccounts(pqxx::connection_base& conn,
                                          const std::optional<std::vector<std::string>>& scope,
                                          const std::string& after, int limit) {
  try {
    pqxx::read_transaction tx(conn);
    const std::optional<std::string> scope_array = scope ? std::optional<std::string>(TextArrayLiteral(*scope)) : std::nullopt;
    // One row more than asked tells whether a next page exists.
    auto rows = tx.exec_params(kListAccounts, after, OptionalText(scope_array).get(), limit + 1);
    return MakePage<Account>(rows, limit, ReadAccount, [](const Account& a) { return a.id; });
  } catch (...) {
    return TranslateCurrentException();
  }
}

StorageResult<std::optional<Account>> PatchAccount(pqxx::connection_base& conn, const std::string& id,
                                                   const AccountFields& f, const AuditEntry* audit) {
  try {
    pqxx::work tx(conn);
    const std::string before = audit ? AuditRowDocument(tx, AuditedTable::kAccounts, id) : "";
    auto rows = tx.exec_params(kPatchAccount, id, OptionalText(f.name).get(), OptionalText(f.meter_billing).get(),
                               OptionalText(f.supplies_contract).get(), OptionalText(f.remote_software_updates).get(),
                               OptionalText(f.debug_data_consent).get(), OptionalText(f.job_data_consent).get(),
                               OptionalText(f.supply_low_percent).get(), OptionalText(f.poll_interval_s).get());
    if (audit && !rows.empty()) {
      InsertChangeEntry(tx, *audit, AuditedTable::kAccounts, before, AuditRowDocument(tx, AuditedTable::kAccounts, id));
    }
    tx.commit();
    if (rows.empty()) return std::optional<Account>{};
    return std::optional<Account>{ReadAccount(rows[0])};
  } catch (...) {
    return TranslateCurrentException();
  }
}

StorageResult<std::string> CreateRegistrationKey(pqxx::connection_base& conn, const NewRegistrationKey& key,
                                                 const AuditEntry* audit) {
  try {
    pqxx::work tx(conn);
    pqxx::binarystring digest(key.key_sha256);
    auto rows = tx.exec_params(kInsertKey, key.account_id, digest, OptionalText(key.expires_in_s).get(),
                               OptionalText(key.max_uses).get());
    if (audit && !rows.empty()) {
      InsertChangeEntry(tx, *audit, AuditedTable::kRegistrationKeys, "",
                        AuditRowDocument(tx, AuditedTable::kRegistrationKeys, rows[0][0].as<std::string>()));
    }
    tx.commit();
    if (rows.empty()) return StorageError{StorageErrc::kNotFound, "no account " + key.account_id};
    return rows[0][0].as<std::string>();
  } catch (...) {
    return TranslateCurrentException();
  }
}

StorageResult<bool> RevokeRegistrationKey(pqxx::connection_base& conn, const std::string& account_id,
                                          const std::string& key_id, const AuditEntry* audit) {
  try {
    pqxx::work tx(conn);
    const std::string before = audit ? AuditRowDocument(tx, AuditedTable::kRegistrationKeys, key_id) : "";
    auto rows = tx.exec_params(kRevokeKey, account_id, key_id);
    if (audit && !rows.empty()) {
      InsertChangeEntry(tx, *audit, AuditedTable::kRegistrationKeys, before,
                        AuditRowDocument(tx, AuditedTable::kRegistrationKeys, key_id));
    }
    tx.commit();
    return !rows.empty();
  } catch (...) {
    return TranslateCurrentException();
  }
}

}  // namespace fleetcomm::storage
