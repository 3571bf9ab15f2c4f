#pragma once
// Engineering logs (PROTOCOL.md 3.6): kept only for accounts with debug-data consent,
// decided in the same transaction as the insert.
#include "storage/audit.hpp"
#include "storage/client_identities.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace pqxx {
class connection_base;
}

namespace fleetcomm::storage {

struct NewDiagnostics {
  ClientKind sender_kind = ClientKind::kDevice;
  std::string sender_id;
  std::string account_id;
  std::optional<std::string> action_id;
  std::string_view zip;
};

// The new dg_... id, or nullopt (nothing stored) when the account has not consented.
// `audit` (may be null) is inserted in the same transaction when the logs are stored.
StorageResult<std::optional<std::string>> StoreDiagnostics(pqxx::connection_base& conn, const NewDiagnostics& upload,
                                                           const AuditEntry* audit = nullptr);

}  // namespace fleetcomm::storage
