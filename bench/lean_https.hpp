#pragma once
// A minimal blocking HTTPS/1.1 client on raw OpenSSL for request-rate benchmarks: the
// test client (tests/support/https_client.hpp) runs an io_context and Beast's parser per
// request, which would cost the load generator as much CPU as the server it measures.
// Knows Content-Length bodies only (all fleetcomm answers). One per thread.
#include <openssl/ssl.h>

#include <cstdint>
#include <string>
#include <utility>

namespace fleetcomm::bench {

// One client TLS context: verifies the server against `ca_file`, presents cert/key (none
// when `cert_file` is empty: agent enrolment).
class LeanTlsContext {
 public:
  LeanTlsContext(const std::string& ca_file, const std::string& cert_file, const std::string& key_file);
  ~LeanTlsContext();
  LeanTlsContext(const LeanTlsContext&) = delete;
  LeanTlsContext& operator=(const LeanTlsContext&) = delete;
  SSL_CTX* get() const { return ctx_; }

 private:
  SSL_CTX* ctx_;
};

struct LeanResponse {
  unsigned status = 0;
  std::string body;
  int retry_after_s = -1;  // the Retry-After header in seconds; -1 when absent
};

class LeanHttpsConnection {
 public:
  // `host`: an IPv4 address; the server's certificate must name "localhost" (SNI too).
  LeanHttpsConnection(const LeanTlsContext& context, std::uint16_t port, std::string host = "127.0.0.1")
      : context_(context), port_(port), host_(std::move(host)) {}
  ~LeanHttpsConnection();
  LeanHttpsConnection(const LeanHttpsConnection&) = delete;
  LeanHttpsConnection& operator=(const LeanHttpsConnection&) = delete;

  // TCP connect and TLS handshake, offering `session` (TLS 1.3 ticket) when not null.
  // Returns whether the server resumed it. Throws on failure.
  bool Connect(SSL_SESSION* session = nullptr);
  // Sends `raw` (a whole request) and reads one response; connects first if needed.
  LeanResponse Exchange(const std::string& raw);
  // The session to resume with (owned by the caller), once the server sent a ticket.
  SSL_SESSION* TakeSession() const;
  void Close();

 private:
  const LeanTlsContext& context_;
  std::uint16_t port_;
  std::string host_;
  int fd_ = -1;
  SSL* ssl_ = nullptr;
  std::string buffer_;
};

// "GET <target>" / "POST <target>" with a JSON body, Host: localhost, keep-alive.
std::string RawRequest(const std::string& method, const std::string& target, const std::string& json_body = {});
// "<method> <target>" with `body` of `content_type` (an upload's application/zip).
std::string RawRequest(const std::string& method, const std::string& target, const std::string& content_type,
                       const std::string& body);

}  // namespace fleetcomm::bench
