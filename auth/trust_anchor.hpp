#pragma once
// One configured CA certificate, asked "did you sign this leaf directly?". OpenSSL's
// verification says only that *some* anchor signed a client certificate; which one decides
// whether the client is a device or an agent, so the answer is a signature check, never a
// name comparison (a manufacturer CA could choose the agent CA's subject name).
#include <memory>
#include <string>

typedef struct x509_st X509;

namespace fleetcomm::auth {

class TrustAnchor {
 public:
  // Throws std::runtime_error naming the file when it holds no readable PEM certificate.
  static TrustAnchor LoadFile(const std::string& path);

  bool IssuedDirectly(X509* leaf) const;
  const std::string& Sha256Fingerprint() const { return fingerprint_; }

 private:
  struct X509Free {
    void operator()(X509* certificate) const;
  };
  explicit TrustAnchor(std::shared_ptr<X509> certificate);
  std::shared_ptr<X509> certificate_;
  std::string fingerprint_;
};

}  // namespace fleetcomm::auth
