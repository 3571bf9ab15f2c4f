#include "auth/client_certificate.hpp"

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <array>
#include <memory>
#include <optional>

namespace fleetcomm::auth {
namespace {

constexpr std::size_t kMaxIdentityBytes = 128;
constexpr std::size_t kMaxSubjectBytes = 512;
constexpr int kMinRsaBits = 2048;

AuthError Rejected(std::string reason) { return {AuthErrc::kCertificateRejected, std::move(reason)}; }

bool IsValidUtf8WithoutControls(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if (c < 0x20 || c == 0x7F) return false;
      ++i;
      continue;
    }
    int extra = 0;
    std::uint32_t code = 0;
    if ((c & 0xE0) == 0xC0) {
      extra = 1;
      code = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2;
      code = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3;
      code = c & 0x07;
    } else {
      return false;
    }
    if (i + static_cast<std::size_t>(extra) >= text.size()) return false;
    for (int k = 1; k <= extra; ++k) {
      const auto cc = static_cast<unsigned char>(text[i + static_cast<std::size_t>(k)]);
      if ((cc & 0xC0) != 0x80) return false;
      code = (code << 6) | (cc & 0x3F);
    }
    static constexpr std::array<std::uint32_t, 4> kMinForLength = {0, 0x80, 0x800, 0x10000};
    if (code < kMinForLength[static_cast<std::size_t>(extra)] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) {
      return false;
    }
    i += static_cast<std::size_t>(extra) + 1;
  }
  return true;
}

// The value of the entry with `nid` in the subject; `count` tells absent (0), repeated
// (>1) and undecodable (-1) apart.
std::string SubjectEntry(X509_NAME* name, int nid, int& count) {
  count = 0;
  std::string value;
  for (int pos = X509_NAME_get_index_by_NID(name, nid, -1); pos >= 0;
       pos = X509_NAME_get_index_by_NID(name, nid, pos)) {
    ++count;
    ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, pos));
    unsigned char* utf8 = nullptr;
    const int length = ASN1_STRING_to_UTF8(&utf8, data);
    if (length < 0) {
      value.clear();
      count = -1;  // undecodable
      return value;
    }
    value.assign(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(length));
    OPENSSL_free(utf8);
  }
  return value;
}

AuthResult<std::string> Identity(X509* certificate) {
  X509_NAME* subject = X509_get_subject_name(certificate);
  int count = 0;
  std::string identity = SubjectEntry(subject, NID_serialNumber, count);
  const char* source = "serialNumber";
  if (count == 0) {
    identity = SubjectEntry(subject, NID_commonName, count);
    source = "CN";
  }
  if (count < 0) return Rejected(std::string("subject ") + source + " cannot be decoded");
  if (count == 0) return Rejected("subject has neither serialNumber nor CN");
  if (count > 1) return Rejected(std::string("subject has more than one ") + source);
  if (identity.empty()) return Rejected(std::string("subject ") + source + " is empty");
  if (identity.size() > kMaxIdentityBytes) return Rejected(std::string("subject ") + source + " is too long");
  if (!IsValidUtf8WithoutControls(identity)) {
    return Rejected(std::string("subject ") + source + " is not printable UTF-8");
  }
  return identity;
}

std::optional<std::string> KeyProblem(X509* certificate) {
  EVP_PKEY* key = X509_get0_pubkey(certificate);
  if (key == nullptr) return "certificate has no usable public key";
  const int type = EVP_PKEY_get_base_id(key);
  if (type == EVP_PKEY_RSA && EVP_PKEY_get_bits(key) < kMinRsaBits) return "RSA key shorter than 2048 bits";
  if (type == EVP_PKEY_EC && EVP_PKEY_get_bits(key) < 256) return "EC key shorter than 256 bits";
  return std::nullopt;
}

std::optional<std::string> SignatureProblem(X509* certificate) {
  int digest_nid = NID_undef;
  if (X509_get_signature_info(certificate, &digest_nid, nullptr, nullptr, nullptr) != 1) {
    return "signature algorithm not recognised";
  }
  if (digest_nid == NID_sha1 || digest_nid == NID_md5 || digest_nid == NID_md5_sha1) return "weak signature digest";
  return std::nullopt;
}

}  // namespace

AuthResult<ClientCertificate> InspectClientCertificate(X509* certificate) {
  if (certificate == nullptr) return AuthError{AuthErrc::kCertificateMissing, "no client certificate"};
  // X509_get_extension_flags also makes OpenSSL cache the extensions it parsed.
  const std::uint32_t flags = X509_get_extension_flags(certificate);
  if ((flags & EXFLAG_INVALID) != 0) return Rejected("certificate extensions are malformed");
  if ((flags & EXFLAG_CA) != 0) return Rejected("certificate is marked as a CA");
  if ((flags & EXFLAG_XKUSAGE) == 0) return Rejected("certificate has no extended key usage");
  if ((X509_get_extended_key_usage(certificate) & XKU_SSL_CLIENT) == 0) {
    return Rejected("certificate lacks the clientAuth extended key usage");
  }
  if (auto problem = KeyProblem(certificate)) return Rejected(*problem);
  if (auto problem = SignatureProblem(certificate)) return Rejected(*problem);
  auto identity = Identity(certificate);
  if (!identity) return identity.error();
  return ClientCertificate{std::move(*identity), DescribeSubject(certificate), Sha256FingerprintHex(certificate)};
}

std::string DescribeSubject(X509* certificate) {
  if (certificate == nullptr) return {};
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
  if (!bio) return {};
  // RFC 2253 escaping plus ESC_MSB hex-escapes every non-ASCII byte: one printable line.
  X509_NAME_print_ex(bio.get(), X509_get_subject_name(certificate), 0,
                     (XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) | ASN1_STRFLGS_ESC_MSB | ASN1_STRFLGS_ESC_CTRL);
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio.get(), &data);
  std::string text(data, static_cast<std::size_t>(length > 0 ? length : 0));
  if (text.size() > kMaxSubjectBytes) text = text.substr(0, kMaxSubjectBytes) + "...";
  return text;
}

std::string Sha256FingerprintHex(X509* certificate) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  if (certificate == nullptr || X509_digest(certificate, EVP_sha256(), digest.data(), &length) != 1) return {};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(length * 2);
  for (unsigned int i = 0; i < length; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0x0F];
  }
  return out;
}

}  // namespace fleetcomm::auth
