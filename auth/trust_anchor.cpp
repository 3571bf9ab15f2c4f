#include "auth/trust_anchor.hpp"

#include "auth/client_certificate.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <stdexcept>

namespace fleetcomm::auth {

void TrustAnchor::X509Free::operator()(X509* certificate) const { X509_free(certificate); }

TrustAnchor::TrustAnchor(std::shared_ptr<X509> certificate)
    : certificate_(std::move(certificate)), fingerprint_(Sha256FingerprintHex(certificate_.get())) {}

TrustAnchor TrustAnchor::LoadFile(const std::string& path) {
  std::unique_ptr<FILE, decltype(&std::fclose)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!file) throw std::runtime_error("cannot open CA certificate " + path);
  X509* certificate = PEM_read_X509(file.get(), nullptr, nullptr, nullptr);
  if (certificate == nullptr) throw std::runtime_error("no PEM certificate in " + path);
  return TrustAnchor(std::shared_ptr<X509>(certificate, X509Free{}));
}

bool TrustAnchor::IssuedDirectly(X509* leaf) const {
  if (leaf == nullptr) return false;
  // Name/key-identifier match first (cheap), then the signature itself (decisive).
  if (X509_check_issued(certificate_.get(), leaf) != X509_V_OK) return false;
  EVP_PKEY* key = X509_get0_pubkey(certificate_.get());
  const bool signed_by_anchor = key != nullptr && X509_verify(leaf, key) == 1;
  ERR_clear_error();  // a failed check leaves its reason queued; it must not leak into later calls
  return signed_by_anchor;
}

}  // namespace fleetcomm::auth
