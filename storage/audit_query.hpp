#pragma once
// Reading the audit log (PROTOCOL.md 4.4): filtered lists, newest first, with a keyset
// cursor on the entry's sequence number, and time-range exports oldest first. Entries come
// back as the JSON documents of the API, built in SQL.
#include "storage/accounts.hpp"

#include <optional>
#include <string>
#include <vector>

namespace pqxx {
class connection_base;
}

namespace fleetcomm::storage {

struct AuditFilter {
  std::optional<std::vector<std::string>> scope;  // accounts visible; nullopt: every entry
  std::optional<std::string> account;
  std::optional<std::string> identity_kind;
  std::optional<std::string> identity_id;
  std::optional<std::string> path_prefix;
  std::optional<std::string> request_id;
  std::optional<std::string> since;  // RFC 3339, inclusive
  std::optional<std::string> until;  // RFC 3339, exclusive
  std::optional<int> status;
};

// Items are JSON object texts; `after` is the cursor of the previous page (empty: first).
StorageResult<Page<std::string>> ListAuditEntries(pqxx::connection_base& conn, const AuditFilter& filter,
                                                  const std::string& after, int limit);

// Oldest first, entries with seq > `after` (0: from the start): one JSON object text each.
StorageResult<Page<std::string>> ExportAuditEntries(pqxx::connection_base& conn, const AuditFilter& filter,
                                                    long long after, int limit);

}  // namespace fleetcomm::storage
