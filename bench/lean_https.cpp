#include "bench/lean_https.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <openssl/err.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace fleetcomm::bench {
namespace {

std::string SslError(const char* what) {
  char text[256] = "unknown";
  if (const unsigned long code = ERR_get_error(); code != 0) ERR_error_string_n(code, text, sizeof text);
  ERR_clear_error();
  return std::string(what) + ": " + text;
}

}  // namespace

LeanTlsContext::LeanTlsContext(const std::string& ca_file, const std::string& cert_file, const std::string& key_file)
    : ctx_(SSL_CTX_new(TLS_client_method())) {
  if (ctx_ == nullptr) throw std::runtime_error(SslError("SSL_CTX_new"));
  SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
  // Sessions are kept by the caller (TakeSession), not in an internal cache.
  SSL_CTX_set_session_cache_mode(ctx_, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  if (SSL_CTX_load_verify_locations(ctx_, ca_file.c_str(), nullptr) != 1 ||
      (!cert_file.empty() && (SSL_CTX_use_certificate_chain_file(ctx_, cert_file.c_str()) != 1 ||
                              SSL_CTX_use_PrivateKey_file(ctx_, key_file.c_str(), SSL_FILETYPE_PEM) != 1))) {
    SSL_CTX_free(ctx_);
    throw std::runtime_error(SslError("client credentials"));
  }
}

LeanTlsContext::~LeanTlsContext() { SSL_CTX_free(ctx_); }

LeanHttpsConnection::~LeanHttpsConnection() { Close(); }

void LeanHttpsConnection::Close() {
  if (ssl_ != nullptr) {
    // close_notify, as curl sends: OpenSSL marks the session of a connection freed without
    // it as not resumable.
    SSL_shutdown(ssl_);
    SSL_free(ssl_);
    ssl_ = nullptr;
  }
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  buffer_.clear();
}

bool LeanHttpsConnection::Connect(SSL_SESSION* session) {
  Close();
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw std::runtime_error("socket");
  const int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port_);
  if (::inet_pton(AF_INET, host_.c_str(), &address.sin_addr) != 1) throw std::runtime_error("not an IPv4 address: " + host_);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    throw std::runtime_error(std::string("connect: ") + std::strerror(errno));
  }
  ssl_ = SSL_new(context_.get());
  SSL_set_fd(ssl_, fd_);
  SSL_set_tlsext_host_name(ssl_, "localhost");
  SSL_set1_host(ssl_, "localhost");
  if (session != nullptr) SSL_set_session(ssl_, session);
  if (SSL_connect(ssl_) != 1) throw std::runtime_error(SslError("handshake"));
  return SSL_session_reused(ssl_) == 1;
}

SSL_SESSION* LeanHttpsConnection::TakeSession() const { return ssl_ == nullptr ? nullptr : SSL_get1_session(ssl_); }

LeanResponse LeanHttpsConnection::Exchange(const std::string& raw) {
  if (ssl_ == nullptr) Connect();
  if (SSL_write(ssl_, raw.data(), static_cast<int>(raw.size())) <= 0) throw std::runtime_error(SslError("write"));
  char chunk[16384];
  std::size_t header_end = std::string::npos;
  std::size_t need = 0;
  for (;;) {
    if (header_end == std::string::npos && (header_end = buffer_.find("\r\n\r\n")) != std::string::npos) {
      header_end += 4;
      const auto at = buffer_.find("Content-Length: ");
      if (at == std::string::npos || at > header_end) throw std::runtime_error("response without Content-Length");
      need = header_end + std::stoul(buffer_.substr(at + 16, 12));
    }
    if (header_end != std::string::npos && buffer_.size() >= need) break;
    const int got = SSL_read(ssl_, chunk, sizeof chunk);
    if (got <= 0) throw std::runtime_error(SslError("read"));
    buffer_.append(chunk, static_cast<std::size_t>(got));
  }
  LeanResponse response;
  response.status = static_cast<unsigned>(std::stoul(buffer_.substr(9, 3)));
  response.body = buffer_.substr(header_end, need - header_end);
  if (const auto at = buffer_.find("Retry-After: "); at != std::string::npos && at < header_end) {
    response.retry_after_s = std::atoi(buffer_.c_str() + at + 13);
  }
  buffer_.erase(0, need);
  return response;
}

std::string RawRequest(const std::string& method, const std::string& target, const std::string& json_body) {
  std::string raw = method + " " + target + " HTTP/1.1\r\nHost: localhost\r\n";
  if (!json_body.empty() || method == "POST") {
    raw += "Content-Type: application/json\r\nContent-Length: " + std::to_string(json_body.size()) + "\r\n";
  }
  return raw + "\r\n" + json_body;
}

std::string RawRequest(const std::string& method, const std::string& target, const std::string& content_type,
                       const std::string& body) {
  return method + " " + target + " HTTP/1.1\r\nHost: localhost\r\nContent-Type: " + content_type +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

}  // namespace fleetcomm::bench
