#pragma once
// Agents (PROTOCOL.md 3.1): enrolment consumes one use of a registration key and records
// the agent with its issued certificate, in one transaction.
#include "storage/storage_error.hpp"

#include <chrono>
#include <functional>
#include <optional>
#include <string>

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

struct EnrolledAgent {
  std::string agent_id;
  std::string account_id;
  std::string certificate_pem;
};

// kNotFound when the key is unknown, revoked, expired or used up (one answer for all);
// `issue` runs only for a usable key, inside the transaction, so a refused enrolment
// signs nothing and a failed one stores nothing.
StorageResult<EnrolledAgent> EnrollAgent(pqxx::connection_base& conn, const AgentEnrolment& enrolment,
                                         const std::function<StorageResult<IssuedAgentCertificate>()>& issue);

}  // namespace fleetcomm::storage
