#include "server/certificate_expiry.hpp"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <ctime>
#include <memory>
#include <optional>

namespace fleetcomm::server {
namespace {

using Clock = std::chrono::system_clock;

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct X509Free {
  void operator()(X509* cert) const { X509_free(cert); }
};

// The soonest notAfter of the PEM certificates in `file`.
Clock::time_point SoonestInFile(const std::string& file) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new_file(file.c_str(), "r"));
  if (!bio) {
    ERR_clear_error();
    throw ConfigError("cannot read certificate file " + file);
  }
  std::optional<Clock::time_point> soonest;
  while (std::unique_ptr<X509, X509Free> cert{PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)}) {
    std::tm tm{};
    if (ASN1_TIME_to_tm(X509_get0_notAfter(cert.get()), &tm) != 1) continue;
    const auto not_after = Clock::from_time_t(timegm(&tm));
    soonest = soonest ? std::min(*soonest, not_after) : not_after;
  }
  ERR_clear_error();  // the loop ends on "no start line"
  if (!soonest) throw ConfigError("no certificate in " + file);
  return *soonest;
}

void AddRole(std::vector<CertificateExpiry>& out, const char* role, const std::vector<std::string>& files) {
  std::optional<Clock::time_point> soonest;
  for (const auto& file : files) {
    if (file.empty()) continue;
    const auto not_after = SoonestInFile(file);
    soonest = soonest ? std::min(*soonest, not_after) : not_after;
  }
  if (soonest) out.push_back({role, *soonest});
}

}  // namespace

std::vector<CertificateExpiry> ReadCertificateExpiries(const Config& config) {
  std::vector<CertificateExpiry> out;
  AddRole(out, "device_server", {config.device_tls.certificate});
  AddRole(out, "operator_server", {config.operator_tls.certificate});
  AddRole(out, "agent_ca", {config.agent_ca.certificate});
  AddRole(out, "device_trust_anchors", config.device_trust_anchors);
  return out;
}

}  // namespace fleetcomm::server
