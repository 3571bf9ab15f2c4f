#include "server/crl_store.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <cstdio>
#include <memory>
#include <vector>

namespace fleetcomm::server {
namespace {

struct FileClose {
  void operator()(FILE* file) const { std::fclose(file); }
};

std::vector<X509*> ReadAnchors(const Config& config) {
  std::vector<X509*> anchors;
  for (const auto& path : config.device_trust_anchors) {
    std::unique_ptr<FILE, FileClose> file(std::fopen(path.c_str(), "rb"));
    if (!file) continue;  // the TLS context reports unreadable anchors itself
    while (X509* anchor = PEM_read_X509(file.get(), nullptr, nullptr, nullptr)) anchors.push_back(anchor);
    ERR_clear_error();  // the end of the file reads as an error
  }
  return anchors;
}

// A CRL counts only if one of our anchors signed it and it has not expired.
void CheckCrl(X509_CRL* crl, const std::vector<X509*>& anchors, const std::string& path) {
  X509* issuer = nullptr;
  for (X509* anchor : anchors) {
    if (X509_NAME_cmp(X509_get_subject_name(anchor), X509_CRL_get_issuer(crl)) == 0 &&
        X509_CRL_verify(crl, X509_get0_pubkey(anchor)) == 1) {
      issuer = anchor;
    }
  }
  ERR_clear_error();
  if (issuer == nullptr) throw ConfigError("device.crls: " + path + " is not signed by a device trust anchor");
  const ASN1_TIME* next_update = X509_CRL_get0_nextUpdate(crl);
  if (next_update != nullptr && X509_cmp_current_time(next_update) < 0) {
    throw ConfigError("device.crls: " + path + " has expired (nextUpdate is in the past)");
  }
}

}  // namespace

void LoadDeviceCrls(SSL_CTX* ctx, const Config& config) {
  if (config.device_crls.empty()) return;
  const std::vector<X509*> anchors = ReadAnchors(config);
  struct FreeAnchors {
    const std::vector<X509*>& list;
    ~FreeAnchors() {
      for (X509* anchor : list) X509_free(anchor);
    }
  } free_anchors{anchors};
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  for (const auto& path : config.device_crls) {
    std::unique_ptr<FILE, FileClose> file(std::fopen(path.c_str(), "rb"));
    if (!file) throw ConfigError("device.crls: cannot open " + path);
    int count = 0;
    while (X509_CRL* crl = PEM_read_X509_CRL(file.get(), nullptr, nullptr, nullptr)) {
      std::unique_ptr<X509_CRL, decltype(&X509_CRL_free)> owned(crl, &X509_CRL_free);
      CheckCrl(crl, anchors, path);
      if (X509_STORE_add_crl(store, crl) != 1) throw ConfigError("device.crls: cannot add " + path);
      ++count;
    }
    ERR_clear_error();
    if (count == 0) throw ConfigError("device.crls: no PEM CRL in " + path);
  }
  X509_VERIFY_PARAM_set_flags(SSL_CTX_get0_param(ctx), X509_V_FLAG_CRL_CHECK);
}

bool ForgiveMissingCrl(X509_STORE_CTX* store) {
  if (X509_STORE_CTX_get_error(store) != X509_V_ERR_UNABLE_TO_GET_CRL) return false;
  X509_STORE_CTX_set_error(store, X509_V_OK);
  return true;
}

}  // namespace fleetcomm::server
