#pragma once
// Agents (PROTOCOL.md 3.1 and 4): enrolment consumes one use of a registration key and
// records the agent with its issued certificate, in one transaction; renewal records a
// new certificate; operators list, read and revoke agents.
#include "storage/accounts.hpp"

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace pqxx {
class connection_base;
}

namespace fleetcomm::storage {

struct AgentEnrolment {
  std::string key_sha256;  // digest of the presented registration key
  std::string agent_id;    // chosen by the server
  std::string product;
  std::string version;
  std::string site_name;
  std::optional<std::string> site_location;
  std::string contact_email;
};

struct IssuedAgentCertificate {
  std::string certificate_pem;
  std::string fingerprint;
  std::string serial_hex;
  std::time_t not_after = 0;
};

// Signs a certificate; called inside the transaction that records it, so that nothing is
// signed for a request the database refuses and nothing is stored for a failed signature.
using AgentCertificateIssue = std::function<StorageResult<IssuedAgentCertificate>()>;

struct EnrolledAgent {
  std::string agent_id;
  std::string account_id;
  std::string certificate_pem;
};

// kNotFound when the key is unknown, revoked, expired or used up (one answer for all);
// `issue` runs only for a usable key.
// Both take the request's audit entry (may be null) and insert it, with the agent row
// (before and) after, in the same transaction when they succeed.
StorageResult<EnrolledAgent> EnrollAgent(pqxx::connection_base& conn, const AgentEnrolment& enrolment,
                                         const AgentCertificateIssue& issue, const AuditEntry* audit = nullptr);

// Makes the new certificate the agent's current one and keeps it in the agent's history;
// earlier certificates stay valid (agents are identified by id, not by certificate).
// kNotFound when the agent is absent or revoked; `issue` then does not run.
StorageResult<std::string> RenewAgentCertificate(pqxx::connection_base& conn, const std::string& agent_id,
                                                 const AgentCertificateIssue& issue, const AuditEntry* audit = nullptr);

struct Agent {
  std::string id;
  std::string account_id;
  std::string product;
  std::string version;
  std::string security_mode;  // normal, lockdown
  std::vector<std::string> disabled_actions;
  std::string site_name;
  std::optional<std::string> site_location;
  std::string contact_email;
  std::optional<std::string> host_json;  // the host of the latest report, a JSON object
  std::optional<std::string> last_contact_at;
  std::string state;  // active, revoked
  std::optional<std::string> revoked_at;
  std::string cert_fingerprint;  // the newest certificate
  std::string cert_not_after;
  std::string created_at;
};

StorageResult<std::optional<Agent>> GetAgent(pqxx::connection_base& conn, const std::string& id);

struct AgentFilter {
  std::optional<std::vector<std::string>> scope;  // visible accounts; none: all
  std::optional<std::string> account_id;
  std::optional<std::string> state;
};
StorageResult<Page<Agent>> ListAgents(pqxx::connection_base& conn, const AgentFilter& filter,
                                      const std::string& after, int limit);

struct AgentRevocation {
  Agent agent;
  bool newly_revoked = false;  // false when it was revoked already
};
// Idempotent; nullopt when there is no such agent.
StorageResult<std::optional<AgentRevocation>> RevokeAgent(pqxx::connection_base& conn, const std::string& id,
                                                         const AuditEntry* audit = nullptr);

}  // namespace fleetcomm::storage
