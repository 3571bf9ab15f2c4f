#pragma once
// A throwaway X.509 PKI built in memory with OpenSSL, so tests can create exactly the
// certificate they need (including the malformed ones PROTOCOL.md section 2 says the
// server must refuse) without shelling out to the openssl CLI. Failures throw
// std::runtime_error carrying the OpenSSL error text.
#include <openssl/types.h>

#include <memory>
#include <string>
#include <vector>

namespace fleetcomm::testing {

struct EvpPkeyDeleter {
  void operator()(EVP_PKEY* key) const;
};
struct X509Deleter {
  void operator()(X509* cert) const;
};
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, EvpPkeyDeleter>;
using X509Ptr = std::unique_ptr<X509, X509Deleter>;

struct KeyOptions {
  enum Kind { kEcP256, kEcP384, kRsa } kind = kEcP256;
  int rsa_bits = 2048;
};

struct CertOptions {
  enum class Eku { kNone, kServerAuth, kClientAuth, kBoth };

  std::string common_name;         // empty = no CN attribute
  std::string serial_number_attr;  // subject serialNumber; empty = none
  std::string organization;        // empty = none
  bool is_ca = false;
  Eku eku = Eku::kNone;  // kNone omits the extension entirely, which OpenSSL accepts
  std::vector<std::string> dns_sans;
  std::vector<std::string> ip_sans;
  long not_before_offset_s = -3600;  // relative to now; the hour absorbs clock skew
  long not_after_offset_s = 30L * 86400;
  bool sha1 = false;  // sign with SHA-1 instead of SHA-256
  KeyOptions key;
};

EvpPkeyPtr GenerateKey(const KeyOptions& options);
std::string PrivateKeyPem(EVP_PKEY* key);  // PKCS#8, unencrypted

class TestCertificate {
 public:
  TestCertificate(EvpPkeyPtr key, X509Ptr cert);
  // Reads the first certificate of cert_path and the private key of key_path.
  static TestCertificate LoadFiles(const std::string& cert_path, const std::string& key_path);

  std::string CertPem() const;
  std::string KeyPem() const;
  std::string Sha256FingerprintHex() const;  // lowercase hex of the DER digest, 64 chars
  X509* cert() const { return cert_.get(); }
  EVP_PKEY* key() const { return key_.get(); }
  // Writes dir/basename.crt and dir/basename.key (mode 0600, as a server would demand).
  void WriteFiles(const std::string& dir, const std::string& basename) const;

 private:
  EvpPkeyPtr key_;
  X509Ptr cert_;
};

// Honours options.is_ca, so it also makes self-signed leaves.
TestCertificate MakeSelfSigned(const CertOptions& options);
// Same, with is_ca forced on.
TestCertificate MakeSelfSignedCa(CertOptions options);
// CA: basicConstraints critical CA:TRUE, keyUsage keyCertSign+cRLSign. Leaf: CA:FALSE,
// keyUsage digitalSignature (+keyEncipherment for RSA). Both: the requested EKU and SANs,
// SKID/AKID, a random positive 128-bit serial.
TestCertificate IssueCertificate(const TestCertificate& issuer, const CertOptions& options);

// SHA-256 signed PKCS#10 request with subject CN=common_name.
std::string MakeCsrPem(EVP_PKEY* key, const std::string& common_name);

// A v2 CRL signed by ca. A negative next_update_offset_s gives an already expired CRL.
std::string MakeCrlPem(const TestCertificate& ca, const std::vector<const TestCertificate*>& revoked,
                       long next_update_offset_s = 7L * 86400);

struct CertKeyPaths {
  std::string cert;
  std::string key;
};

// What WriteStandardTestPki leaves in dir. Device certificates carry O=Acme Printers, a
// clientAuth EKU and subject serialNumber=CN; each bad one has exactly one defect, and a
// serial of its own, except rogue which impersonates XRX0001.
struct TestPkiFiles {
  std::string dir;
  CertKeyPaths server_ca;  // server-ca.*: trust anchor for clients checking the server
  CertKeyPaths server;     // server.*: CN/SAN localhost + IP 127.0.0.1, serverAuth, P-256
  CertKeyPaths device_ca;  // device-ca.*: "Acme Printers Device CA", the manufacturer anchor
  CertKeyPaths agent_ca;   // agent-ca.*: the server's agent-issuing CA
  CertKeyPaths device_xrx0001;
  CertKeyPaths device_xrx0002;
  CertKeyPaths device_expired;     // XRX0003, validity entirely in the past
  CertKeyPaths device_noeku;       // XRX0004, no EKU extension at all
  CertKeyPaths device_serverauth;  // XRX0005, serverAuth only
  CertKeyPaths device_ca_flagged;  // XRX0006, CA:TRUE + clientAuth, issued by device CA
  CertKeyPaths device_rsa1024;     // XRX0007, RSA 1024
  CertKeyPaths device_sha1;        // XRX0008, SHA-1 signature
  CertKeyPaths device_not_yet_valid;  // XRX0009, valid from tomorrow
  CertKeyPaths device_chained;  // XRX0010, issued by device_ca_flagged; .crt holds leaf then intermediate
  CertKeyPaths device_rogue;    // XRX0001, from rogue_ca
  CertKeyPaths rogue_ca;        // rogue-device-ca.*: untrusted, same subject DN as device_ca
};

TestPkiFiles WriteStandardTestPki(const std::string& dir);

}  // namespace fleetcomm::testing
