#pragma once
// The listeners' TLS contexts. Built from the config at start and again on SIGHUP; a
// reload that fails keeps the contexts in force, so a bad file never locks clients out.
// New connections pick up the current contexts; open ones keep theirs. Thread-safe.
#include "server/config.hpp"

#include <boost/asio/ssl/context.hpp>

#include <memory>
#include <mutex>

namespace fleetcomm::server {

struct TlsContexts {
  std::shared_ptr<boost::asio::ssl::context> device;
  std::shared_ptr<boost::asio::ssl::context> operator_api;
};

// Throws ConfigError naming the file at fault.
TlsContexts BuildTlsContexts(const Config& config);

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
