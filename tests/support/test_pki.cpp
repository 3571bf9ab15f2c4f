#include "tests/support/test_pki.hpp"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace fleetcomm::testing {

void EvpPkeyDeleter::operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
void X509Deleter::operator()(X509* cert) const { X509_free(cert); }

namespace {

template <class T, void (*kFree)(T*)>
struct Free {
  void operator()(T* p) const { kFree(p); }
};
using BioPtr = std::unique_ptr<BIO, Free<BIO, BIO_free_all>>;
using BnPtr = std::unique_ptr<BIGNUM, Free<BIGNUM, BN_free>>;
using Asn1IntegerPtr = std::unique_ptr<ASN1_INTEGER, Free<ASN1_INTEGER, ASN1_INTEGER_free>>;
using Asn1TimePtr = std::unique_ptr<ASN1_TIME, Free<ASN1_TIME, ASN1_TIME_free>>;
using X509ExtensionPtr = std::unique_ptr<X509_EXTENSION, Free<X509_EXTENSION, X509_EXTENSION_free>>;
using X509ReqPtr = std::unique_ptr<X509_REQ, Free<X509_REQ, X509_REQ_free>>;
using X509CrlPtr = std::unique_ptr<X509_CRL, Free<X509_CRL, X509_CRL_free>>;
using X509RevokedPtr = std::unique_ptr<X509_REVOKED, Free<X509_REVOKED, X509_REVOKED_free>>;

[[noreturn]] void ThrowOpenSsl(const std::string& what) {
  std::string message = "test PKI: " + what;
  while (unsigned long code = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof buffer);
    message += std::string("; ") + buffer;
  }
  throw std::runtime_error(message);
}

void Check(bool ok, const std::string& what) {
  if (!ok) ThrowOpenSsl(what);
}

template <class T>
T* CheckPtr(T* p, const std::string& what) {
  if (p == nullptr) ThrowOpenSsl(what);
  return p;
}

BioPtr NewMemBio() { return BioPtr(CheckPtr(BIO_new(BIO_s_mem()), "BIO_new")); }

std::string BioToString(BIO* bio) {
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(size));
}

const EVP_MD* Digest(bool sha1) { return sha1 ? EVP_sha1() : EVP_sha256(); }

void AddNameEntry(X509_NAME* name, int nid, const std::string& value) {
  if (value.empty()) return;
  Check(X509_NAME_add_entry_by_NID(name, nid, MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(value.data()),
                                   static_cast<int>(value.size()), -1, 0) == 1,
        "X509_NAME_add_entry_by_NID");
}

void SetSubject(X509* cert, const CertOptions& options) {
  X509_NAME* name = X509_get_subject_name(cert);
  AddNameEntry(name, NID_organizationName, options.organization);
  AddNameEntry(name, NID_serialNumber, options.serial_number_attr);
  AddNameEntry(name, NID_commonName, options.common_name);
}

void SetRandomSerial(X509* cert) {
  unsigned char bytes[16];
  Check(RAND_bytes(bytes, sizeof bytes) == 1, "RAND_bytes");
  bytes[0] &= 0x7f;  // DER integers are signed; serials must be positive
  bytes[0] |= 0x01;  // and a fixed width keeps them 16 bytes
  BnPtr bn(CheckPtr(BN_bin2bn(bytes, sizeof bytes, nullptr), "BN_bin2bn"));
  CheckPtr(BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert)), "BN_to_ASN1_INTEGER");
}

// ctx must already name subject and issuer; "keyid:always" reads the issuer's SKID.
void AddExtension(X509* cert, X509V3_CTX* ctx, int nid, const std::string& value) {
  X509ExtensionPtr ext(CheckPtr(X509V3_EXT_nconf_nid(nullptr, ctx, nid, value.c_str()),
                                "extension " + std::string(OBJ_nid2sn(nid)) + "=" + value));
  Check(X509_add_ext(cert, ext.get(), -1) == 1, "X509_add_ext");
}

std::string KeyUsage(const CertOptions& options) {
  // A CA with an EKU is meant to pose as a TLS peer too; without digitalSignature OpenSSL
  // would refuse it for its key usage and hide the defect under test (the CA flag).
  if (options.is_ca && options.eku != CertOptions::Eku::kNone) return "critical,digitalSignature,keyCertSign,cRLSign";
  if (options.is_ca) return "critical,keyCertSign,cRLSign";
  return options.key.kind == KeyOptions::kRsa ? "critical,digitalSignature,keyEncipherment"
                                              : "critical,digitalSignature";
}

std::string SubjectAltNames(const CertOptions& options) {
  std::string sans;
  for (const auto& dns : options.dns_sans) sans += (sans.empty() ? "DNS:" : ",DNS:") + dns;
  for (const auto& ip : options.ip_sans) sans += (sans.empty() ? "IP:" : ",IP:") + ip;
  return sans;
}

// issuer == nullptr means self-signed.
TestCertificate BuildCertificate(const TestCertificate* issuer, const CertOptions& options) {
  EvpPkeyPtr key = GenerateKey(options.key);
  X509Ptr cert(CheckPtr(X509_new(), "X509_new"));
  X509* x = cert.get();
  Check(X509_set_version(x, X509_VERSION_3) == 1, "X509_set_version");
  SetRandomSerial(x);
  SetSubject(x, options);
  X509* issuer_cert = issuer ? issuer->cert() : x;
  EVP_PKEY* issuer_key = issuer ? issuer->key() : key.get();
  Check(X509_set_issuer_name(x, X509_get_subject_name(issuer_cert)) == 1, "X509_set_issuer_name");
  CheckPtr(X509_gmtime_adj(X509_getm_notBefore(x), options.not_before_offset_s), "notBefore");
  CheckPtr(X509_gmtime_adj(X509_getm_notAfter(x), options.not_after_offset_s), "notAfter");
  Check(X509_set_pubkey(x, key.get()) == 1, "X509_set_pubkey");

  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer_cert, x, nullptr, nullptr, 0);
  AddExtension(x, &ctx, NID_basic_constraints, options.is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
  AddExtension(x, &ctx, NID_key_usage, KeyUsage(options));
  switch (options.eku) {
    case CertOptions::Eku::kNone: break;
    case CertOptions::Eku::kServerAuth: AddExtension(x, &ctx, NID_ext_key_usage, "serverAuth"); break;
    case CertOptions::Eku::kClientAuth: AddExtension(x, &ctx, NID_ext_key_usage, "clientAuth"); break;
    case CertOptions::Eku::kBoth: AddExtension(x, &ctx, NID_ext_key_usage, "serverAuth,clientAuth"); break;
  }
  if (std::string sans = SubjectAltNames(options); !sans.empty()) {
    AddExtension(x, &ctx, NID_subject_alt_name, sans);
  }
  AddExtension(x, &ctx, NID_subject_key_identifier, "hash");
  AddExtension(x, &ctx, NID_authority_key_identifier, "keyid:always");

  Check(X509_sign(x, issuer_key, Digest(options.sha1)) > 0, "X509_sign");
  return TestCertificate(std::move(key), std::move(cert));
}

void WriteFile(const std::string& path, const std::string& content, mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) throw std::runtime_error("test PKI: open " + path + ": " + std::strerror(errno));
  // fchmod because O_CREAT's mode is ignored for a file that already exists.
  bool ok = ::fchmod(fd, mode) == 0 &&
            ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size());
  int saved_errno = errno;
  ::close(fd);
  if (!ok) throw std::runtime_error("test PKI: write " + path + ": " + std::strerror(saved_errno));
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("test PKI: cannot read " + path);
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

}  // namespace

EvpPkeyPtr GenerateKey(const KeyOptions& options) {
  EVP_PKEY* key = nullptr;
  switch (options.kind) {
    case KeyOptions::kEcP256: key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"); break;
    case KeyOptions::kEcP384: key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384"); break;
    case KeyOptions::kRsa:
      key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(options.rsa_bits));
      break;
  }
  return EvpPkeyPtr(CheckPtr(key, "key generation"));
}

std::string PrivateKeyPem(EVP_PKEY* key) {
  BioPtr bio = NewMemBio();
  Check(PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) == 1,
        "PEM_write_bio_PrivateKey");
  return BioToString(bio.get());
}

TestCertificate::TestCertificate(EvpPkeyPtr key, X509Ptr cert) : key_(std::move(key)), cert_(std::move(cert)) {}

TestCertificate TestCertificate::LoadFiles(const std::string& cert_path, const std::string& key_path) {
  std::string cert_pem = ReadFile(cert_path);
  std::string key_pem = ReadFile(key_path);
  BioPtr cert_bio(CheckPtr(BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size())), "BIO"));
  BioPtr key_bio(CheckPtr(BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())), "BIO"));
  X509Ptr cert(CheckPtr(PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr), "read " + cert_path));
  EvpPkeyPtr key(CheckPtr(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr), "read " + key_path));
  return TestCertificate(std::move(key), std::move(cert));
}

std::string TestCertificate::CertPem() const {
  BioPtr bio = NewMemBio();
  Check(PEM_write_bio_X509(bio.get(), cert_.get()) == 1, "PEM_write_bio_X509");
  return BioToString(bio.get());
}

std::string TestCertificate::KeyPem() const { return PrivateKeyPem(key_.get()); }

std::string TestCertificate::Sha256FingerprintHex() const {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  Check(X509_digest(cert_.get(), EVP_sha256(), digest, &length) == 1, "X509_digest");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 0x0f];
  }
  return hex;
}

void TestCertificate::WriteFiles(const std::string& dir, const std::string& basename) const {
  WriteFile(dir + "/" + basename + ".crt", CertPem(), 0644);
  WriteFile(dir + "/" + basename + ".key", KeyPem(), 0600);
}

TestCertificate MakeSelfSigned(const CertOptions& options) { return BuildCertificate(nullptr, options); }

TestCertificate MakeSelfSignedCa(CertOptions options) {
  options.is_ca = true;
  return BuildCertificate(nullptr, options);
}

TestCertificate IssueCertificate(const TestCertificate& issuer, const CertOptions& options) {
  return BuildCertificate(&issuer, options);
}

std::string MakeCsrPem(EVP_PKEY* key, const std::string& common_name) {
  X509ReqPtr req(CheckPtr(X509_REQ_new(), "X509_REQ_new"));
  Check(X509_REQ_set_version(req.get(), X509_REQ_VERSION_1) == 1, "X509_REQ_set_version");
  AddNameEntry(X509_REQ_get_subject_name(req.get()), NID_commonName, common_name);
  Check(X509_REQ_set_pubkey(req.get(), key) == 1, "X509_REQ_set_pubkey");
  Check(X509_REQ_sign(req.get(), key, EVP_sha256()) > 0, "X509_REQ_sign");
  BioPtr bio = NewMemBio();
  Check(PEM_write_bio_X509_REQ(bio.get(), req.get()) == 1, "PEM_write_bio_X509_REQ");
  return BioToString(bio.get());
}

std::string MakeCrlPem(const TestCertificate& ca, const std::vector<const TestCertificate*>& revoked,
                       long next_update_offset_s) {
  // Increasing numbers let reload tests tell a newer CRL from an older one.
  static std::atomic<long> crl_number{1};
  X509CrlPtr crl(CheckPtr(X509_CRL_new(), "X509_CRL_new"));
  Check(X509_CRL_set_version(crl.get(), X509_CRL_VERSION_2) == 1, "X509_CRL_set_version");
  Check(X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(ca.cert())) == 1, "X509_CRL_set_issuer_name");
  // An expired CRL must still have lastUpdate before nextUpdate to be well formed.
  long last_update_offset_s = std::min(0L, next_update_offset_s) - 3600;
  Asn1TimePtr last_update(CheckPtr(X509_gmtime_adj(nullptr, last_update_offset_s), "lastUpdate"));
  Asn1TimePtr next_update(CheckPtr(X509_gmtime_adj(nullptr, next_update_offset_s), "nextUpdate"));
  Check(X509_CRL_set1_lastUpdate(crl.get(), last_update.get()) == 1, "X509_CRL_set1_lastUpdate");
  Check(X509_CRL_set1_nextUpdate(crl.get(), next_update.get()) == 1, "X509_CRL_set1_nextUpdate");

  for (const TestCertificate* cert : revoked) {
    X509RevokedPtr entry(CheckPtr(X509_REVOKED_new(), "X509_REVOKED_new"));
    Check(X509_REVOKED_set_serialNumber(entry.get(), X509_get_serialNumber(cert->cert())) == 1,
          "X509_REVOKED_set_serialNumber");
    Check(X509_REVOKED_set_revocationDate(entry.get(), last_update.get()) == 1, "X509_REVOKED_set_revocationDate");
    Check(X509_CRL_add0_revoked(crl.get(), entry.get()) == 1, "X509_CRL_add0_revoked");
    entry.release();  // now owned by the CRL
  }

  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, ca.cert(), nullptr, nullptr, crl.get(), 0);
  X509ExtensionPtr akid(
      CheckPtr(X509V3_EXT_nconf_nid(nullptr, &ctx, NID_authority_key_identifier, "keyid:always"), "CRL AKID"));
  Check(X509_CRL_add_ext(crl.get(), akid.get(), -1) == 1, "X509_CRL_add_ext");
  Asn1IntegerPtr number(CheckPtr(ASN1_INTEGER_new(), "ASN1_INTEGER_new"));
  Check(ASN1_INTEGER_set(number.get(), crl_number++) == 1, "ASN1_INTEGER_set");
  Check(X509_CRL_add1_ext_i2d(crl.get(), NID_crl_number, number.get(), 0, 0) == 1, "crlNumber");

  Check(X509_CRL_sort(crl.get()) == 1, "X509_CRL_sort");
  Check(X509_CRL_sign(crl.get(), ca.key(), EVP_sha256()) > 0, "X509_CRL_sign");
  BioPtr bio = NewMemBio();
  Check(PEM_write_bio_X509_CRL(bio.get(), crl.get()) == 1, "PEM_write_bio_X509_CRL");
  return BioToString(bio.get());
}

namespace {

CertKeyPaths Write(const TestCertificate& cert, const std::string& dir, const std::string& basename) {
  cert.WriteFiles(dir, basename);
  return {dir + "/" + basename + ".crt", dir + "/" + basename + ".key"};
}

CertOptions CaOptions(std::string organization, std::string common_name) {
  CertOptions options;
  options.organization = std::move(organization);
  options.common_name = std::move(common_name);
  options.is_ca = true;
  options.not_after_offset_s = 365L * 86400;
  return options;
}

CertOptions DeviceOptions(const std::string& serial) {
  CertOptions options;
  options.organization = "Acme Printers";
  options.common_name = serial;
  options.serial_number_attr = serial;
  options.eku = CertOptions::Eku::kClientAuth;
  return options;
}

}  // namespace

TestPkiFiles WriteStandardTestPki(const std::string& dir) {
  TestPkiFiles files;
  files.dir = dir;

  TestCertificate server_ca = MakeSelfSignedCa(CaOptions("fleetcomm test", "fleetcomm test server CA"));
  files.server_ca = Write(server_ca, dir, "server-ca");
  CertOptions server_options;
  server_options.common_name = "localhost";
  server_options.eku = CertOptions::Eku::kServerAuth;
  server_options.dns_sans = {"localhost"};
  server_options.ip_sans = {"127.0.0.1"};
  files.server = Write(IssueCertificate(server_ca, server_options), dir, "server");

  TestCertificate agent_ca = MakeSelfSignedCa(CaOptions("fleetcomm test", "fleetcomm test agent CA"));
  files.agent_ca = Write(agent_ca, dir, "agent-ca");

  CertOptions device_ca_options = CaOptions("Acme Printers", "Acme Printers Device CA");
  TestCertificate device_ca = MakeSelfSignedCa(device_ca_options);
  files.device_ca = Write(device_ca, dir, "device-ca");
  TestCertificate rogue_ca = MakeSelfSignedCa(device_ca_options);
  files.rogue_ca = Write(rogue_ca, dir, "rogue-device-ca");

  files.device_xrx0001 = Write(IssueCertificate(device_ca, DeviceOptions("XRX0001")), dir, "device-XRX0001");
  files.device_xrx0002 = Write(IssueCertificate(device_ca, DeviceOptions("XRX0002")), dir, "device-XRX0002");

  CertOptions expired = DeviceOptions("XRX0003");
  expired.not_before_offset_s = -2L * 86400;
  expired.not_after_offset_s = -86400;
  files.device_expired = Write(IssueCertificate(device_ca, expired), dir, "device-expired");

  CertOptions noeku = DeviceOptions("XRX0004");
  noeku.eku = CertOptions::Eku::kNone;
  files.device_noeku = Write(IssueCertificate(device_ca, noeku), dir, "device-noeku");

  CertOptions serverauth = DeviceOptions("XRX0005");
  serverauth.eku = CertOptions::Eku::kServerAuth;
  files.device_serverauth = Write(IssueCertificate(device_ca, serverauth), dir, "device-serverauth");

  CertOptions ca_flagged_options = DeviceOptions("XRX0006");
  ca_flagged_options.is_ca = true;
  TestCertificate ca_flagged = IssueCertificate(device_ca, ca_flagged_options);
  files.device_ca_flagged = Write(ca_flagged, dir, "device-ca-flagged");

  CertOptions rsa1024 = DeviceOptions("XRX0007");
  rsa1024.key = {KeyOptions::kRsa, 1024};
  files.device_rsa1024 = Write(IssueCertificate(device_ca, rsa1024), dir, "device-rsa1024");

  CertOptions sha1 = DeviceOptions("XRX0008");
  sha1.sha1 = true;
  files.device_sha1 = Write(IssueCertificate(device_ca, sha1), dir, "device-sha1");

  CertOptions not_yet_valid = DeviceOptions("XRX0009");
  not_yet_valid.not_before_offset_s = 86400;
  files.device_not_yet_valid = Write(IssueCertificate(device_ca, not_yet_valid), dir, "device-not-yet-valid");

  // The client must send the intermediate, so the .crt is a chain file.
  TestCertificate chained = IssueCertificate(ca_flagged, DeviceOptions("XRX0010"));
  files.device_chained = Write(chained, dir, "device-chained");
  WriteFile(files.device_chained.cert, chained.CertPem() + ca_flagged.CertPem(), 0644);

  files.device_rogue = Write(IssueCertificate(rogue_ca, DeviceOptions("XRX0001")), dir, "device-rogue");
  return files;
}

}  // namespace fleetcomm::testing
