#pragma once
// Accounts and their registration keys (PROTOCOL.md section 4, first rows).
#include "storage/audit.hpp"
#include "storage/storage_error.hpp"

#include <optional>
#include <string>
#include <vector>

namespace pqxx {
class connection_base;
}

namespace fleetcomm::storage {

struct Account {
  std::string id;
  std::string name;
  bool meter_billing = false;
  bool supplies_contract = false;
  bool remote_software_updates = false;
  bool debug_data_consent = false;
  bool job_data_consent = false;
  int supply_low_percent = 20;
  std::string created_at;  // RFC 3339, UTC
  int poll_interval_s = 86400;  // next_poll_s of the account's clients, before jitter
};

// Fields of a create or patch; absent ones keep their default (create) or value (patch).
struct AccountFields {
  std::optional<std::string> name;
  std::optional<bool> meter_billing;
  std::optional<bool> supplies_contract;
  std::optional<bool> remote_software_updates;
  std::optional<bool> debug_data_consent;
  std::optional<bool> job_data_consent;
  std::optional<int> supply_low_percent;
  std::optional<int> poll_interval_s;
};

template <class T>
struct Page {
  std::vector<T> items;
  std::optional<std::string> next;  // cursor of the next page, when there is one
};

// Operator changes take the request's audit entry (may be null) and insert it, with the
// row before and after, in the change's transaction when the change happens.
StorageResult<Account> CreateAccount(pqxx::connection_base& conn, const AccountFields& fields,
                                     const AuditEntry* audit = nullptr);

// `scope`: when set, only these account ids are visible (others read as absent).
StorageResult<std::optional<Account>> GetAccount(pqxx::connection_base& conn, const std::string& id);
StorageResult<Page<Account>> ListAccounts(pqxx::connection_base& conn,
                                          const std::optional<std::vector<std::string>>& scope,
                                          const std::string& after, int limit);
StorageResult<std::optional<Account>> PatchAccount(pqxx::connection_base& conn, const std::string& id,
                                                   const AccountFields& fields, const AuditEntry* audit = nullptr);

struct NewRegistrationKey {
  std::string account_id;
  std::string key_sha256;                  // raw 32 bytes
  std::optional<long long> expires_in_s;   // none: never expires
  std::optional<int> max_uses;             // none: unlimited
};

// Returns the key's id, or kNotFound when the account does not exist.
StorageResult<std::string> CreateRegistrationKey(pqxx::connection_base& conn, const NewRegistrationKey& key,
                                                 const AuditEntry* audit = nullptr);

// True when a key of that account was revoked by this call or before.
StorageResult<bool> RevokeRegistrationKey(pqxx::connection_base& conn, const std::string& account_id,
                                          const std::string& key_id, const AuditEntry* audit = nullptr);

}  // namespace fleetcomm::storage
