#include "auth/agent_certificate_issuer.hpp"

#include "auth/client_certificate.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <optional>
#include <stdexcept>

namespace fleetcomm::auth {
namespace {

constexpr std::size_t kMaxCsrPemBytes = 16 * 1024;
constexpr std::size_t kMaxAgentIdBytes = 64;
constexpr int kMinRsaBits = 2048;
// Larger keys buy nothing and make every handshake with the agent slow.
constexpr int kMaxRsaBits = 8192;
// Agents' clocks drift; a certificate valid only from "now" would fail on a slow clock.
constexpr long kClockSkewS = 5 * 60;
constexpr std::chrono::seconds kMaxLifetime{3650L * 86400};
constexpr std::string_view kPemBegin = "-----BEGIN ";

using BioPtr = std::unique_ptr<BIO, decltype(&BIO_free)>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, EvpPkeyFree>;

struct X509ReqFree {
  void operator()(X509_REQ* req) const { X509_REQ_free(req); }
};
struct BnFree {
  void operator()(BIGNUM* bn) const { BN_free(bn); }
};
struct OpensslFree {
  void operator()(void* p) const { OPENSSL_free(p); }
};
struct X509ExtFree {
  void operator()(X509_EXTENSION* ext) const { X509_EXTENSION_free(ext); }
};

AuthError InvalidCsr(std::string reason) { return {AuthErrc::kInvalidCsr, std::move(reason)}; }

BioPtr MemBio(std::string_view data) {
  return BioPtr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())), &BIO_free);
}

std::string BioToString(BIO* bio) {
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(length > 0 ? length : 0));
}

std::string OpensslErrorText() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  std::array<char, 256> buffer{};
  ERR_error_string_n(code, buffer.data(), buffer.size());
  return buffer.data();
}

// Exactly one PEM block, optionally surrounded by whitespace before and anything after
// the END line: PEM_read_bio alone would skip leading junk and silently take the first
// of several blocks.
std::optional<std::string> PemShapeProblem(std::string_view pem) {
  if (pem.empty()) return "CSR is empty";
  if (pem.size() > kMaxCsrPemBytes) return "CSR is larger than 16 KiB";
  const std::size_t begin = pem.find(kPemBegin);
  if (begin == std::string_view::npos) return "CSR is not PEM";
  if (!std::all_of(pem.begin(), pem.begin() + static_cast<std::ptrdiff_t>(begin),
                   [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; })) {
    return "CSR has data before the PEM block";
  }
  if (pem.find(kPemBegin, begin + kPemBegin.size()) != std::string_view::npos) return "CSR holds more than one PEM block";
  return std::nullopt;
}

AuthResult<std::unique_ptr<X509_REQ, X509ReqFree>> ParseCsr(std::string_view pem) {
  BioPtr bio = MemBio(pem);
  if (!bio) return InvalidCsr("out of memory");
  char* name_raw = nullptr;
  unsigned char* der_raw = nullptr;
  long der_length = 0;
  // PEM_bytes_read_bio checks the label (accepting the legacy NEW CERTIFICATE REQUEST).
  const int ok = PEM_bytes_read_bio(&der_raw, &der_length, &name_raw, PEM_STRING_X509_REQ, bio.get(), nullptr, nullptr);
  ERR_clear_error();
  std::unique_ptr<char, OpensslFree> name(name_raw);
  std::unique_ptr<unsigned char, OpensslFree> der(der_raw);
  if (ok != 1) return InvalidCsr("CSR is not a PEM CERTIFICATE REQUEST");
  const unsigned char* cursor = der.get();
  std::unique_ptr<X509_REQ, X509ReqFree> req(d2i_X509_REQ(nullptr, &cursor, der_length));
  ERR_clear_error();
  if (!req) return InvalidCsr("CSR is not valid DER");
  if (cursor != der.get() + der_length) return InvalidCsr("CSR has trailing bytes after its DER encoding");
  if (X509_REQ_get_version(req.get()) != X509_REQ_VERSION_1) return InvalidCsr("CSR version is not 1");
  return req;
}

std::optional<std::string> KeyProblem(EVP_PKEY* key) {
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_RSA: {
      const int bits = EVP_PKEY_get_bits(key);
      if (bits < kMinRsaBits) return "RSA key shorter than 2048 bits";
      if (bits > kMaxRsaBits) return "RSA key longer than 8192 bits";
      return std::nullopt;
    }
    case EVP_PKEY_EC: {
      // Explicit curve parameters can smuggle a weak curve that merely looks like P-256.
      int explicit_params = 0;
      if (EVP_PKEY_get_int_param(key, OSSL_PKEY_PARAM_EC_DECODED_FROM_EXPLICIT_PARAMS, &explicit_params) == 1 &&
          explicit_params != 0) {
        ERR_clear_error();
        return "EC key uses explicit curve parameters";
      }
      std::array<char, 64> group{};
      std::size_t group_length = 0;
      if (EVP_PKEY_get_group_name(key, group.data(), group.size(), &group_length) != 1) {
        ERR_clear_error();
        return "EC key has no named curve";
      }
      const int nid = OBJ_sn2nid(group.data());
      if (nid != NID_X9_62_prime256v1 && nid != NID_secp384r1) {
        return std::string("EC curve ") + group.data() + " is not P-256 or P-384";
      }
      return std::nullopt;
    }
    default:
      return "CSR key type is not EC or RSA";
  }
}

bool IsValidAgentId(const std::string& agent_id) {
  if (agent_id.empty() || agent_id.size() > kMaxAgentIdBytes) return false;
  return std::all_of(agent_id.begin(), agent_id.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

std::string ReadFile(const std::string& path, const char* what) {
  BioPtr bio(BIO_new_file(path.c_str(), "rb"), &BIO_free);
  if (!bio) {
    ERR_clear_error();
    throw std::runtime_error(std::string("cannot read ") + what + " " + path);
  }
  BioPtr out(BIO_new(BIO_s_mem()), &BIO_free);
  std::array<char, 4096> buffer{};
  int n = 0;
  while ((n = BIO_read(bio.get(), buffer.data(), static_cast<int>(buffer.size()))) > 0) {
    BIO_write(out.get(), buffer.data(), n);
  }
  return BioToString(out.get());
}

// A random positive serial: RFC 5280 wants it unique per CA, and unpredictability keeps
// chosen-prefix collisions on the signature out of reach.
AuthResult<std::unique_ptr<BIGNUM, BnFree>> RandomSerial() {
  std::array<unsigned char, 16> bytes{};
  do {
    if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
      return AuthError{AuthErrc::kInternal, "random generator failed: " + OpensslErrorText()};
    }
    bytes[0] &= 0x7F;
  } while (std::all_of(bytes.begin(), bytes.end(), [](unsigned char b) { return b == 0; }));
  return std::unique_ptr<BIGNUM, BnFree>(BN_bin2bn(bytes.data(), static_cast<int>(bytes.size()), nullptr));
}

bool AddExtension(X509* cert, X509V3_CTX* ctx, int nid, const char* value) {
  std::unique_ptr<X509_EXTENSION, X509ExtFree> ext(X509V3_EXT_nconf_nid(nullptr, ctx, nid, value));
  return ext && X509_add_ext(cert, ext.get(), -1) == 1;
}

std::string Lowercase(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

}  // namespace

void EvpPkeyFree::operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
void X509Free::operator()(X509* cert) const { X509_free(cert); }

AuthResult<ValidatedCsr> ValidateCsr(std::string_view pem) {
  if (auto problem = PemShapeProblem(pem)) return InvalidCsr(*problem);
  // The PEM reader wants BEGIN at the start of a line; the shape check allowed whitespace before it.
  auto req = ParseCsr(pem.substr(pem.find(kPemBegin)));
  if (!req) return req.error();
  EvpPkeyPtr key(X509_REQ_get_pubkey(req->get()));
  if (!key) {
    ERR_clear_error();
    return InvalidCsr("CSR public key cannot be decoded");
  }
  if (auto problem = KeyProblem(key.get())) return InvalidCsr(*problem);
  // Proof of possession: whoever sent the CSR holds the private key.
  const int verified = X509_REQ_verify(req->get(), key.get());
  ERR_clear_error();
  if (verified != 1) return InvalidCsr("CSR signature does not verify");
  return ValidatedCsr(std::move(key));
}

AgentCertificateIssuer::AgentCertificateIssuer(const std::string& ca_cert_path, const std::string& ca_key_path) {
  ca_cert_pem_ = ReadFile(ca_cert_path, "agent CA certificate");
  BioPtr cert_bio = MemBio(ca_cert_pem_);
  ca_cert_.reset(PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr));
  if (!ca_cert_) throw std::runtime_error("no PEM certificate in agent CA certificate " + ca_cert_path + ": " + OpensslErrorText());
  // Only the first certificate is the issuer; re-encode it so the chain we hand out
  // carries exactly one CA certificate whatever else the file holds.
  BioPtr pem_out(BIO_new(BIO_s_mem()), &BIO_free);
  if (!pem_out || PEM_write_bio_X509(pem_out.get(), ca_cert_.get()) != 1) {
    throw std::runtime_error("cannot encode agent CA certificate " + ca_cert_path);
  }
  ca_cert_pem_ = BioToString(pem_out.get());

  std::string key_pem = ReadFile(ca_key_path, "agent CA key");
  BioPtr key_bio = MemBio(key_pem);
  ca_key_.reset(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  key_bio.reset();
  OPENSSL_cleanse(key_pem.data(), key_pem.size());  // the parsed key is all we keep
  if (!ca_key_) throw std::runtime_error("no usable PEM private key in agent CA key " + ca_key_path + ": " + OpensslErrorText());

  // X509_check_ca also fills the extension cache now, so concurrent Issue calls only read.
  if (X509_check_ca(ca_cert_.get()) != 1) {
    throw std::runtime_error("agent CA certificate " + ca_cert_path + " is not a CA (basicConstraints CA:TRUE, keyCertSign)");
  }
  if (X509_get0_subject_key_id(ca_cert_.get()) == nullptr) {
    throw std::runtime_error("agent CA certificate " + ca_cert_path + " has no subject key identifier");
  }
  if (X509_check_private_key(ca_cert_.get(), ca_key_.get()) != 1) {
    ERR_clear_error();
    throw std::runtime_error("agent CA key " + ca_key_path + " does not match certificate " + ca_cert_path);
  }
}

AuthResult<IssuedCertificate> AgentCertificateIssuer::Issue(const ValidatedCsr& csr, const std::string& agent_id,
                                                            std::chrono::seconds lifetime) const {
  // The agent id and lifetime come from the server, not the client: a bad one is ours.
  if (!IsValidAgentId(agent_id)) return AuthError{AuthErrc::kInternal, "agent id must be 1 to 64 characters of [A-Za-z0-9_-]"};
  if (lifetime <= std::chrono::seconds::zero() || lifetime > kMaxLifetime) {
    return AuthError{AuthErrc::kInternal, "certificate lifetime out of range"};
  }
  // Everything past argument checks is our own failure, not the client's.
  auto failed = [](const char* step) {
    return AuthError{AuthErrc::kInternal, std::string(step) + ": " + OpensslErrorText()};
  };

  X509Ptr cert(X509_new());
  if (!cert) return failed("X509_new");
  auto serial = RandomSerial();
  if (!serial) return serial.error();
  if (X509_set_version(cert.get(), X509_VERSION_3) != 1) return failed("X509_set_version");
  ASN1_INTEGER* serial_field = X509_get_serialNumber(cert.get());
  if (BN_to_ASN1_INTEGER(serial->get(), serial_field) == nullptr) return failed("serial");

  X509_NAME* subject = X509_get_subject_name(cert.get());
  if (X509_NAME_add_entry_by_NID(subject, NID_commonName, MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(agent_id.data()),
                                 static_cast<int>(agent_id.size()), -1, 0) != 1) {
    return failed("subject");
  }
  if (X509_set_issuer_name(cert.get(), X509_get_subject_name(ca_cert_.get())) != 1) return failed("issuer");

  std::time_t now = std::time(nullptr);
  const long days = static_cast<long>(lifetime.count() / 86400);
  const long seconds = static_cast<long>(lifetime.count() % 86400);
  if (X509_time_adj_ex(X509_getm_notBefore(cert.get()), 0, -kClockSkewS, &now) == nullptr ||
      X509_time_adj_ex(X509_getm_notAfter(cert.get()), static_cast<int>(days), seconds, &now) == nullptr) {
    return failed("validity");
  }
  if (X509_set_pubkey(cert.get(), csr.public_key()) != 1) return failed("X509_set_pubkey");

  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, ca_cert_.get(), cert.get(), nullptr, nullptr, 0);
  const bool rsa = EVP_PKEY_get_base_id(csr.public_key()) == EVP_PKEY_RSA;
  if (!AddExtension(cert.get(), &ctx, NID_basic_constraints, "critical,CA:FALSE") ||
      !AddExtension(cert.get(), &ctx, NID_key_usage,
                    rsa ? "critical,digitalSignature,keyEncipherment" : "critical,digitalSignature") ||
      !AddExtension(cert.get(), &ctx, NID_ext_key_usage, "clientAuth") ||
      !AddExtension(cert.get(), &ctx, NID_subject_key_identifier, "hash") ||
      !AddExtension(cert.get(), &ctx, NID_authority_key_identifier, "keyid:always")) {
    return failed("extensions");
  }
  if (X509_sign(cert.get(), ca_key_.get(), EVP_sha256()) <= 0) return failed("X509_sign");

  BioPtr out(BIO_new(BIO_s_mem()), &BIO_free);
  if (!out || PEM_write_bio_X509(out.get(), cert.get()) != 1) return failed("PEM_write_bio_X509");
  std::unique_ptr<char, OpensslFree> serial_hex(BN_bn2hex(serial->get()));
  if (!serial_hex) return failed("BN_bn2hex");

  IssuedCertificate issued;
  issued.certificate_pem = BioToString(out.get()) + ca_cert_pem_;
  issued.sha256_fingerprint = Sha256FingerprintHex(cert.get());
  issued.serial_hex = Lowercase(serial_hex.get());
  issued.not_after = now + static_cast<std::time_t>(lifetime.count());
  return issued;
}

std::string NewAgentId() {
  std::array<unsigned char, 10> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) throw std::runtime_error("RAND_bytes failed");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id = "ag_";
  for (unsigned char b : bytes) {
    id += kHex[b >> 4];
    id += kHex[b & 0x0F];
  }
  return id;
}

}  // namespace fleetcomm::auth
