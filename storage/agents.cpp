#include "storage/agents.hpp"

#include "storage/db_task.hpp"
#include "storage/paging.hpp"
#include "storage/sql_params.hpp"

#include <nlohmann/json.hpp>
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

constexpr const char* kRecordCertificate =
    "INSERT INTO agent_certificates (agent_id, fingerprint, serial, not_after, reason) "
    "VALUES ($1, $2, $3, to_timestamp($4::bigint), $5)";

// FOR UPDATE: a revocation committing meanwhile waits for the renewal, or the renewal
// sees the revocation; never a certificate issued to an agent revoked before it.
constexpr const char* kLockActiveAgent = "SELECT 1 FROM agents WHERE id = $1 AND state = 'active' FOR UPDATE";

constexpr const char* kSetCurrentCertificate =
    "UPDATE agents SET cert_fingerprint = $2, cert_serial = $3, cert_not_after = to_timestamp($4::bigint), "
    "last_contact_at = now() WHERE id = $1";

#define FLEETCOMM_AGENT_COLUMNS                                                                                \
  "id, account_id, product, version, security_mode, to_json(disabled_actions)::text, site_name, site_location, " \
  "contact_email, host::text, fleetcomm_rfc3339(last_contact_at), state, fleetcomm_rfc3339(revoked_at), "       \
  "cert_fingerprint, fleetcomm_rfc3339(cert_not_after), fleetcomm_rfc3339(created_at)"

constexpr const char* kSelectById = "SELECT " FLEETCOMM_AGENT_COLUMNS " FROM agents WHERE id = $1";

constexpr const char* kList =
    "SELECT " FLEETCOMM_AGENT_COLUMNS " FROM agents WHERE id > $1 "
    "AND ($2::text[] IS NULL OR account_id = ANY($2::text[])) AND ($3::text IS NULL OR account_id = $3) "
    "AND ($4::text IS NULL OR state = $4) ORDER BY id LIMIT $5";

// Only the first revocation sets revoked_at; repeating it changes nothing.
constexpr const char* kRevoke =
    "UPDATE agents SET state = 'revoked', revoked_at = now() WHERE id = $1 AND state <> 'revoked' "
    "RETURNING " FLEETCOMM_AGENT_COLUMNS;

#undef FLEETCOMM_AGENT_COLUMNS

std::optional<std::string> Nullable(const pqxx::field& field) {
  if (field.is_null()) return std::nullopt;
  return field.as<std::string>();
}

Agent ReadAgent(const pqxx::row& row) {
  Agent agent;
  agent.id = row[0].as<std::string>();
  agent.account_id = row[1].as<std::string>();
  agent.product = row[2].as<std::string>();
  agent.version = row[3].as<std::string>();
  agent.security_mode = row[4].as<std::string>();
  // libpqxx 6.4 has no text[] conversion: the array travels as JSON.
  agent.disabled_actions = nlohmann::json::parse(row[5].as<std::string>()).get<std::vector<std::string>>();
  agent.site_name = row[6].as<std::string>();
  agent.site_location = Nullable(row[7]);
  agent.contact_email = row[8].as<std::string>();
  agent.host_json = Nullable(row[9]);
  agent.last_contact_at = Nullable(row[10]);
  agent.state = row[11].as<std::string>();
  agent.revoked_at = Nullable(row[12]);
  agent.cert_fingerprint = row[13].as<std::string>();
  agent.cert_not_after = row[14].as<std::string>();
  agent.created_at = row[15].as<std::string>();
  return agent;
}

void RecordCertificate(pqxx::work& tx, const std::string& agent_id, const IssuedAgentCertificate& certificate,
                       const char* reason) {
  tx.exec_params(kRecordCertificate, agent_id, certificate.fingerprint, certificate.serial_hex,
                 static_cast<long long>(certificate.not_after), reason);
}

}  // namespace

StorageResult<EnrolledAgent> EnrollAgent(pqxx::connection_base& conn, const AgentEnrolment& e,
                                         const AgentCertificateIssue& issue, const AuditEntry* audit) {
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
    RecordCertificate(tx, e.agent_id, *certificate, "enrolment");
    tx.exec_params(kUseKey, key_id);
    if (audit) InsertChangeEntry(tx, *audit, AuditedTable::kAgents, "", AuditRowDocument(tx, AuditedTable::kAgents, e.agent_id));
    tx.commit();
    return EnrolledAgent{e.agent_id, account_id, certificate->certificate_pem};
  } catch (...) {
    return TranslateCurrentException();
  }
}

StorageResult<std::string> RenewAgentCertificate(pqxx::connection_base& conn, const std::string& agent_id,
                                                 const AgentCertificateIssue& issue, const AuditEntry* audit) {
  try {
    pqxx::work tx(conn);
    if (tx.exec_params(kLockActiveAgent, agent_id).empty()) {
      return StorageError{StorageErrc::kNotFound, "agent absent or revoked: " + agent_id};
    }
    const std::string before = audit ? AuditRowDocument(tx, AuditedTable::kAgents, agent_id) : "";
    auto certificate = issue();
    if (!certificate) return certificate.error();
    tx.exec_params(kSetCurrentCertificate, agent_id, certificate->fingerprint, certificate->serial_hex,
                   static_cast<long long>(certificate->not_after));
    RecordCertificate(tx, agent_id, *certificate, "renewal");
    if (audit) InsertChangeEntry(tx, *audit, AuditedTable::kAgents, before, AuditRowDocument(tx, AuditedTable::kAgents, agent_id));
    tx.commit();
    return certificate->certificate_pem;
  } catch (...) {
    return TranslateCurrentException();
  }
}

StorageResult<std::optional<Agent>> GetAgent(pqxx::connection_base& conn, const std::string& id) {
  try {
    pqxx::read_transaction tx(conn);
    auto rows = tx.exec_params(kSelectById, id);
    if (rows.empty()) return std::optional<Agent>{};
    return std::optional<Agent>{ReadAgent(rows[0])};
  } catch (...) {
    return TranslateCurrentException();
  }
}

StorageResult<Page<Agent>> ListAgents(pqxx::connection_base& conn, const AgentFilter& filter,
                                      const std::string& after, int limit) {
  try {
    pqxx::read_transaction tx(conn);
    const auto scope = filter.scope ? std::optional<std::string>(TextArrayLiteral(*filter.scope)) : std::nullopt;
    auto rows = tx.exec_params(kList, after, OptionalText(scope).get(), OptionalText(filter.account_id).get(),
                               OptionalText(filter.state).get(), limit + 1);
    return MakePage<Agent>(rows, limit, ReadAgent, [](const Agent& a) { return a.id; });
  } catch (...) {
    return TranslateCurrentException();
  }
}

StorageResult<std::optional<AgentRevocation>> RevokeAgent(pqxx::connection_base& conn, const std::string& id,
                                                         const AuditEntry* audit) {
  try {
    pqxx::work tx(conn);
    const std::string before = audit ? AuditRowDocument(tx, AuditedTable::kAgents, id) : "";
    auto rows = tx.exec_params(kRevoke, id);
    std::optional<AgentRevocation> outcome;
    if (!rows.empty()) {
      outcome = AgentRevocation{ReadAgent(rows[0]), true};
    } else {
      auto existing = tx.exec_params(kSelectById, id);
      if (!existing.empty()) outcome = AgentRevocation{ReadAgent(existing[0]), false};
    }
    if (audit && outcome) InsertChangeEntry(tx, *audit, AuditedTable::kAgents, before, AuditRowDocument(tx, AuditedTable::kAgents, id));
    tx.commit();
    return outcome;
  } catch (...) {
    return TranslateCurrentException();
  }
}

}  // namespace fleetcomm::storage
