#pragma once
// The listeners' TLS contexts. Built from the config at start and again on SIGHUP; a
// reload that fails keeps the contexts in force, so a bad file never locks clients out.
// New connections pick up the current contexts; open ones keep theirs. Thread-safe.
#include "server/config.hpp"

#include <boost/asio/ssl/context.hpp>

#include <memory>
#include <mutex>
#include <string>

typedef struct ssl_st SSL;

namespace fleetcomm::server {

struct TlsContexts {
  std::shared_ptr<boost::asio::ssl::context> device;
  std::shared_ptr<boost::asio::ssl::context> operator_api;
};

// Throws ConfigError naming the file at fault.
TlsContexts BuildTlsContexts(const Config& config);

// The client certificate OpenSSL refused during a handshake on this connection, if any.
// OpenSSL discards a peer certificate that fails verification, so the device context's
// verify callback keeps its description for the failure log (and, later, the audit).
struct RefusedCertificate {
  std::string subject;
  std::string fingerprint;
};
const RefusedCertificate* RefusedPeerCertificate(ssl_st* ssl);

class TlsContextStore {
 public:
  explicit TlsContextStore(TlsContexts initial) : current_(std::move(initial)) {}
  TlsContexts Current() const {
    std::lock_guard lock(mutex_);
    return current_;
  }
  void Replace(TlsContexts next) {
    std::lock_guard lock(mutex_);
    current_ = std::move(next);
  }

 private:
  mutable std::mutex mutex_;
  TlsContexts current_;
};

}  // namespace fleetcomm::server
