#pragma once
// What enrolment and renewal (PROTOCOL.md 3.1) share: the CSR field and signing a
// certificate for an agent id with the server's agent CA.
#include "auth/agent_certificate_issuer.hpp"
#include "server/json_input.hpp"
#include "storage/agents.hpp"

#include <chrono>
#include <memory>
#include <string>

namespace fleetcomm::server {

inline constexpr std::size_t kMaxCsrBytes = 16 * 1024;

// The body's required "csr", validated (422 invalid_request otherwise). Shared, because
// database tasks must be copyable.
Parsed<std::shared_ptr<auth::ValidatedCsr>> ReadCsr(const JsonObjectReader& body);

// The signing step handed to storage, which runs it inside the transaction recording it.
storage::AgentCertificateIssue IssueAgentCertificate(const auth::AgentCertificateIssuer& issuer,
                                                     std::shared_ptr<auth::ValidatedCsr> csr, std::string agent_id,
                                                     std::chrono::seconds lifetime);

}  // namespace fleetcomm::server
