#include "storage/agents.hpp"

#include "storage/db_task.hpp"
#include "storage/sql_params.hpp"

#include <pqxx/pqxx>

namespace fleetcomm::storage {
namespace {

// FOR UPDATE serialises enrolments on one key, so max_uses can never be exceeded.
constexpr const char* kLockUsableKey =
    "SELECT id, account_id FROM registration_keys WHERE key_sha256 = $1 AND revoked_at IS NULL "
    "AND (expires_at IS NULL OR expires_at > now()) AND (max_uses IS NULL OR uses < max_uses) FOR UPDATE";

constexpr const char* kUseKey = "UPDATE registration_keys SET uses = uses + 1 WHERE id = $1";

constexpr const char* kInsertAgent =
    "INSERT INTO agents (id, account_id, registration_key_id, product, version, site_name, site_location, "
    "contact_email, cert_fingerprint, cert_serial, cert_not_after) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, to_timestamp($11::bigint))";

}  // namespace

StorageResult<EnrolledAgent> EnrollAgent(pqxx::connection_base& conn, const AgentEnrolment& e,
                                         const std::function<StorageResult<IssuedAgentCertificate>()>& issue) {
  try {
    pqxx::work tx(conn);
    pqxx::binarystring digest(e.key_sha256);
    auto keys = tx.exec_params(kLockUsableKey, digest);
    if (keys.empty()) return StorageError{StorageErrc::kNotFound, "registration key unknown or not usable"};
    const std::string key_id = keys[0][0].as<std::string>();
    const std::string account_id = keys[0][1].as<std::string>();
    auto certificate = issue();
    if (!certificate) return certificate.error();
    tx.exec_params(kInsertAgent, e.agent_id, account_id, key_id, e.product, e.version, e.site_name,
                   OptionalText(e.site_location).get(), e.contact_email, certificate->fingerprint,
                   certificate->serial_hex, static_cast<long long>(certificate->not_after));
    tx.exec_params(kUseKey, key_id);
    tx.commit();
    return EnrolledAgent{e.agent_id, account_id, certificate->certificate_pem};
  } catch (...) {
    return TranslateCurrentException();
  }
}

}  // namespace fleetcomm::storage
