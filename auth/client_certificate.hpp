#pragma once
// What fleetcomm checks on a client certificate after OpenSSL verified its chain, and the
// identity it names. OpenSSL accepts certificates that PROTOCOL.md section 2 refuses (no
// EKU at all, CA-flagged leaves, ambiguous subjects): those checks live here.
#include "auth/auth_error.hpp"

#include <string>

typedef struct x509_st X509;

namespace fleetcomm::auth {

struct ClientCertificate {
  std::string identity;            // subject serialNumber, else CN: a device serial or an agent id
  std::string subject;             // RFC 2253 form, bounded and escaped: for logs and audit only
  std::string sha256_fingerprint;  // lowercase hex of the DER encoding
};

// Refuses (kCertificateRejected, with the reason in detail) a certificate without the
// clientAuth EKU, marked as a CA, with an empty, repeated, over-long or non-UTF-8
// identity, an RSA key under 2048 bits, or a SHA-1/MD5 signature.
AuthResult<ClientCertificate> InspectClientCertificate(X509* certificate);

// Bounded, printable form of a subject for logs, even for certificates we refuse.
std::string DescribeSubject(X509* certificate);

std::string Sha256FingerprintHex(X509* certificate);

}  // namespace fleetcomm::auth
