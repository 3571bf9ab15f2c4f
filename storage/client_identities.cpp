#include "storage/client_identities.hpp"

#include "storage/db_task.hpp"
#include "storage/prepared.hpp"

#include <pqxx/pqxx>

namespace fleetcomm::storage {
namespace {

constexpr PreparedSql kDeviceByFingerprint{"identity_device_by_fingerprint",
    "SELECT id, account_id, state FROM devices WHERE cert_fingerprint = $1 ORDER BY updated_at DESC LIMIT 1"};

constexpr PreparedSql kAgentById{"identity_agent_by_id",
    "SELECT id, account_id, state, security_mode = 'lockdown' FROM agents WHERE id = $1"};

}  // namespace

StorageResult<std::optional<ClientIdentity>> FindDeviceByCertificate(pqxx::connection_base& conn,
                                                                     const std::string& fingerprint) {
  try {
    // One statement, made for every new connection: no BEGIN/COMMIT round trips.
    pqxx::nontransaction tx(conn);
    auto rows = ExecPrepared(tx, kDeviceByFingerprint, fingerprint);
    if (rows.empty()) return std::optional<ClientIdentity>{};
    ClientIdentity identity{ClientKind::kDevice, rows[0][0].as<std::string>(), std::nullopt,
                            rows[0][2].as<std::string>(), false};
    if (!rows[0][1].is_null()) identity.account_id = rows[0][1].as<std::string>();
    return std::optional<ClientIdentity>{std::move(identity)};
  } catch (...) {
    return TranslateCurrentException();
  }
}

StorageResult<std::optional<ClientIdentity>> FindAgent(pqxx::connection_base& conn, const std::string& agent_id) {
  try {
    pqxx::nontransaction tx(conn);
    auto rows = ExecPrepared(tx, kAgentById, agent_id);
    if (rows.empty()) return std::optional<ClientIdentity>{};
    return std::optional<ClientIdentity>{ClientIdentity{ClientKind::kAgent, rows[0][0].as<std::string>(),
                                                        rows[0][1].as<std::string>(), rows[0][2].as<std::string>(),
                                                        rows[0][3].as<bool>()}};
  } catch (...) {
    return TranslateCurrentException();
  }
}

}  // namespace fleetcomm::storage
