#include "server/agent_issuance.hpp"

namespace fleetcomm::server {

Parsed<std::shared_ptr<auth::ValidatedCsr>> ReadCsr(const JsonObjectReader& body) {
  auto pem = body.RequiredString("csr", kMaxCsrBytes, /*multiline=*/true);
  if (!pem) return pem.error();
  auto csr = auth::ValidateCsr(*pem);
  if (!csr) return FromAuthError(csr.error());
  return std::make_shared<auth::ValidatedCsr>(std::move(*csr));
}

storage::AgentCertificateIssue IssueAgentCertificate(const auth::AgentCertificateIssuer& issuer,
                                                     std::shared_ptr<auth::ValidatedCsr> csr, std::string agent_id,
                                                     std::chrono::seconds lifetime) {
  return [&issuer, csr = std::move(csr), id = std::move(agent_id),
          lifetime]() -> storage::StorageResult<storage::IssuedAgentCertificate> {
    auto issued = issuer.Issue(*csr, id, lifetime);
    if (!issued) return storage::StorageError::Internal("certificate issuance: " + issued.error().detail);
    return storage::IssuedAgentCertificate{issued->certificate_pem, issued->sha256_fingerprint, issued->serial_hex,
                                           issued->not_after};
  };
}

}  // namespace fleetcomm::server
