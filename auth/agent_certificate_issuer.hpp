#pragma once
// Agent enrolment (PROTOCOL.md section 3.1): checking an agent's CSR and signing its
// client certificate with the server's agent-issuing CA. Only the CSR's public key is
// used; its subject and extensions are ignored, the server decides what it certifies.
#include "auth/auth_error.hpp"

#include <chrono>
#include <ctime>
#include <memory>
#include <string>
#include <string_view>

typedef struct evp_pkey_st EVP_PKEY;
typedef struct x509_st X509;

namespace fleetcomm::auth {

struct EvpPkeyFree {
  void operator()(EVP_PKEY* key) const;
};
struct X509Free {
  void operator()(X509* cert) const;
};

class ValidatedCsr {
 public:
  explicit ValidatedCsr(std::unique_ptr<EVP_PKEY, EvpPkeyFree> public_key) : public_key_(std::move(public_key)) {}
  EVP_PKEY* public_key() const { return public_key_.get(); }

 private:
  std::unique_ptr<EVP_PKEY, EvpPkeyFree> public_key_;
};

// Refuses (kInvalidCsr, reason in detail) input over 16 KiB, anything but exactly one PEM
// CERTIFICATE REQUEST block, a bad self-signature, and keys other than EC P-256/P-384 or
// RSA 2048..8192 bits.
AuthResult<ValidatedCsr> ValidateCsr(std::string_view pem);

struct IssuedCertificate {
  std::string certificate_pem;     // leaf then the issuing CA: the chain the agent presents
  std::string sha256_fingerprint;  // lowercase hex of the leaf DER, as Sha256FingerprintHex
  std::string serial_hex;          // lowercase
  std::time_t not_after = 0;
};

class AgentCertificateIssuer {
 public:
  // Throws std::runtime_error naming the file when a file is unreadable, the certificate
  // is not a CA, or the key does not belong to it.
  AgentCertificateIssuer(const std::string& ca_cert_path, const std::string& ca_key_path);

  // Safe to call concurrently: the CA certificate and key are only read. agent_id must be
  // 1..64 characters of [A-Za-z0-9_-]; lifetime between 1 s and 10 years.
  AuthResult<IssuedCertificate> Issue(const ValidatedCsr& csr, const std::string& agent_id,
                                      std::chrono::seconds lifetime) const;

 private:
  std::unique_ptr<X509, X509Free> ca_cert_;
  std::unique_ptr<EVP_PKEY, EvpPkeyFree> ca_key_;
  std::string ca_cert_pem_;
};

// "ag_" and 20 random lowercase hex digits: the id, and the CN of the agent's certificate.
std::string NewAgentId();

}  // namespace fleetcomm::auth
