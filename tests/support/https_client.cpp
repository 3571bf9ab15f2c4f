#include "tests/support/https_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <nlohmann/json.hpp>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace fleetcomm::testing {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using Clock = std::chrono::steady_clock;
using BoostError = boost::system::error_code;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

std::string Lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::unique_ptr<ssl::context> MakeTlsContext(const TlsClientOptions& options) {
  auto context = std::make_unique<ssl::context>(ssl::context::tls_client);
  SSL_CTX* ctx = context->native_handle();
  // Before loading the certificate: OpenSSL refuses to load a key weaker than the level.
  if (options.security_level >= 0) SSL_CTX_set_security_level(ctx, options.security_level);
  if (options.min_version != 0) SSL_CTX_set_min_proto_version(ctx, options.min_version);
  if (options.max_version != 0) SSL_CTX_set_max_proto_version(ctx, options.max_version);
  if (!options.ca_file.empty()) {
    context->load_verify_file(options.ca_file);
    context->set_verify_mode(ssl::verify_peer);
    context->set_verify_callback(ssl::host_name_verification(options.server_name));
  } else {
    context->set_verify_mode(ssl::verify_none);
  }
  // As curl does: OpenSSL then treats a TLS 1.3 session as single-use, marking it not
  // resumable once a handshake resumed it.
  if (options.resume_sessions) {
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  }
  if (!options.cert_file.empty()) {
    context->use_certificate_chain_file(options.cert_file);
    context->use_private_key_file(options.key_file, ssl::context::pem);
  }
  return context;
}

bool IsTlsFailure(const BoostError& ec) {
  return ec.category() == asio::error::get_ssl_category() || ec == ssl::error::stream_truncated;
}

bool IsPeerClose(const BoostError& ec) {
  return ec == asio::error::eof || ec == http::error::end_of_stream || ec == ssl::error::stream_truncated ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec.category() == asio::error::get_ssl_category();
}

// One connection: a TCP stream, optionally wrapped in TLS, driven synchronously by running
// a private io_context until the single pending operation completes or its deadline fires
// (tcp_stream closes the socket then, so the operation always completes).
struct Connection {
  asio::io_context io;
  std::unique_ptr<ssl::context> tls_context;
  std::unique_ptr<beast::tcp_stream> plain;
  std::unique_ptr<TlsStream> secure;
  beast::flat_buffer buffer;
  // The session to offer next (a copy: OpenSSL marks a connection's own session not
  // resumable when the connection ends without close_notify, as Close does).
  std::unique_ptr<SSL_SESSION, decltype(&SSL_SESSION_free)> session{nullptr, &SSL_SESSION_free};
  bool resumed = false;

  beast::tcp_stream& Tcp() { return secure ? beast::get_lowest_layer(*secure) : *plain; }

  template <class Start>
  BoostError Run(Clock::time_point deadline, Start start) {
    BoostError result = asio::error::would_block;
    Tcp().expires_at(deadline);
    start([&result](BoostError ec, auto&&...) { result = ec; });
    io.restart();
    io.run();
    return result;
  }

  // Calls f with the stream requests travel on.
  template <class F>
  BoostError WithStream(F f) {
    if (secure) return f(*secure);
    return f(*plain);
  }

  // Connects and handshakes; fills connected/handshake_ok/error of `result`.
  void Open(std::uint16_t port, const TlsClientOptions* tls, std::chrono::milliseconds timeout, HttpResult& result,
            bool handshake = true) {
    buffer.clear();
    const auto deadline = Clock::now() + timeout;
    if (tls != nullptr && handshake) {
      if (!tls_context) tls_context = MakeTlsContext(*tls);
      secure = std::make_unique<TlsStream>(io, *tls_context);
      plain.reset();
    } else {
      plain = std::make_unique<beast::tcp_stream>(io);
      secure.reset();
    }
    const asio::ip::tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), port);
    BoostError ec = Run(deadline, [&](auto handler) { Tcp().async_connect(endpoint, std::move(handler)); });
    if (ec) {
      result.error = "connect: " + ec.message();
      return;
    }
    result.connected = true;
    if (secure) {
      if (!tls->server_name.empty()) SSL_set_tlsext_host_name(secure->native_handle(), tls->server_name.c_str());
      if (tls->resume_sessions && session) {
        SSL_set_session(secure->native_handle(), session.get());
        // Offered once, as TLS 1.3 clients do (RFC 8446 C.4): the next connection offers
        // the session this one ends with, renewed by the server or not.
        session.reset();
      }
      ec = Run(deadline, [&](auto handler) { secure->async_handshake(ssl::stream_base::client, std::move(handler)); });
      if (ec) {
        result.error = "handshake: " + ec.message();
        result.tls_alert = IsTlsFailure(ec);
        Close();
        return;
      }
      resumed = SSL_session_reused(secure->native_handle()) == 1;
    }
    result.handshake_ok = true;
  }

  bool IsOpen() { return (plain || secure) && Tcp().socket().is_open(); }

  // After an answer: TLS 1.3 tickets arrive after the handshake, before the answer.
  void KeepSession() {
    if (!secure) return;
    SSL_SESSION* current = SSL_get0_session(secure->native_handle());
    if (current != nullptr && SSL_SESSION_is_resumable(current) == 1) session.reset(SSL_SESSION_dup(current));
  }

  void Close() {
    if (plain || secure) {
      BoostError ignored;
      Tcp().socket().close(ignored);
    }
    secure.reset();
    plain.reset();
  }
};

HttpResult FromResponse(const http::response<http::string_body>& response) {
  HttpResult result;
  result.connected = result.handshake_ok = result.answered = true;
  result.status = response.result_int();
  for (const auto& field : response) result.headers.emplace(Lower(field.name_string()), std::string(field.value()));
  result.body = response.body();
  return result;
}

}  // namespace

std::string HttpResult::Header(std::string_view name) const {
  auto it = headers.find(Lower(name));
  return it == headers.end() ? std::string() : it->second;
}

bool HttpResult::HasHeader(std::string_view name) const { return headers.count(Lower(name)) != 0; }

std::string HttpResult::ErrorCode() const {
  const auto json = nlohmann::json::parse(body, nullptr, false);
  if (!json.is_object() || !json.contains("error") || !json["error"].is_object()) return {};
  const auto& code = json["error"]["code"];
  return code.is_string() ? code.get<std::string>() : std::string();
}

std::string HttpResult::Describe() const {
  if (!answered) {
    return std::string("no answer (connected=") + (connected ? "yes" : "no") +
           " handshake_ok=" + (handshake_ok ? "yes" : "no") + " tls_alert=" + (tls_alert ? "yes" : "no") +
           "): " + error;
  }
  return "HTTP " + std::to_string(status) + " " + body.substr(0, 300);
}

struct HttpClient::Impl {
  Impl(std::uint16_t p, std::optional<TlsClientOptions> t, std::chrono::milliseconds d)
      : port(p), tls(std::move(t)), timeout(d) {}
  std::uint16_t port;
  std::optional<TlsClientOptions> tls;
  std::chrono::milliseconds timeout;
  Connection connection;
};

HttpClient::HttpClient(std::uint16_t port, std::optional<TlsClientOptions> tls, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>(port, std::move(tls), timeout)) {}

HttpClient::~HttpClient() = default;

HttpResult HttpClient::Connect() {
  HttpResult result;
  if (impl_->connection.IsOpen()) {
    result.connected = result.handshake_ok = true;
    return result;
  }
  ++connections_opened_;
  impl_->connection.Open(impl_->port, impl_->tls ? &*impl_->tls : nullptr, impl_->timeout, result);
  return result;
}

HttpResult HttpClient::Request(const std::string& method, const std::string& target, const Headers& headers,
                               const std::string& body) {
  HttpResult opened = Connect();
  if (!opened.handshake_ok) return opened;
  auto& connection = impl_->connection;

  http::request<http::string_body> request;
  request.method_string(method);
  request.target(target);
  request.version(11);
  request.set(http::field::host, "localhost");
  request.set(http::field::user_agent, "fleetcomm-e2e");
  for (const auto& [name, value] : headers) request.insert(name, value);
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
    request.body() = body;
    request.prepare_payload();
  }

  const auto deadline = Clock::now() + impl_->timeout;
  BoostError ec = connection.WithStream([&](auto& stream) {
    return connection.Run(deadline, [&](auto handler) { http::async_write(stream, request, std::move(handler)); });
  });
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  if (!ec) {
    ec = connection.WithStream([&](auto& stream) {
      return connection.Run(deadline, [&](auto handler) {
        http::async_read(stream, connection.buffer, parser, std::move(handler));
      });
    });
  }
  if (ec) {
    opened.error = ec.message();
    opened.tls_alert = IsTlsFailure(ec);
    connection.Close();
    return opened;
  }
  HttpResult result = FromResponse(parser.get());
  if (impl_->tls && impl_->tls->resume_sessions) connection.KeepSession();
  if (!parser.get().keep_alive()) connection.Close();
  return result;
}

bool HttpClient::IsOpen() const { return impl_->connection.IsOpen(); }

bool HttpClient::WaitForServerClose(std::chrono::milliseconds timeout) {
  auto& connection = impl_->connection;
  if (!connection.IsOpen()) return true;
  char byte = 0;
  const BoostError ec = connection.WithStream([&](auto& stream) {
    return connection.Run(Clock::now() + timeout, [&](auto handler) {
      stream.async_read_some(asio::buffer(&byte, 1), std::move(handler));
    });
  });
  connection.Close();  // a timeout closed it too; either way it is unusable now
  return ec && ec != beast::error::timeout && IsPeerClose(ec);
}

void HttpClient::Close() { impl_->connection.Close(); }

bool HttpClient::Resumed() const { return impl_->connection.resumed; }

std::string HttpClient::PeerFingerprint() const {
  auto& connection = impl_->connection;
  if (!connection.secure) return {};
  X509* cert = SSL_get0_peer_certificate(connection.secure->native_handle());
  if (cert == nullptr) return {};
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (X509_digest(cert, EVP_sha256(), digest, &length) != 1) return {};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 0xF];
  }
  return hex;
}

struct RawConnection::Impl {
  Connection connection;
};

RawConnection::RawConnection() : impl_(std::make_unique<Impl>()) {}

RawConnection::RawConnection(std::uint16_t port, std::optional<TlsClientOptions> tls,
                             std::chrono::milliseconds timeout)
    : RawConnection() {
  HttpResult result;
  impl_->connection.Open(port, tls ? &*tls : nullptr, timeout, result);
  if (!result.handshake_ok) {
    throw std::runtime_error("RawConnection to port " + std::to_string(port) + ": " + result.error);
  }
}

std::unique_ptr<RawConnection> RawConnection::TcpOnly(std::uint16_t port) {
  std::unique_ptr<RawConnection> raw(new RawConnection());
  HttpResult result;
  raw->impl_->connection.Open(port, nullptr, std::chrono::seconds(5), result, false);
  if (!result.connected) throw std::runtime_error("TCP connect to port " + std::to_string(port) + ": " + result.error);
  return raw;
}

RawConnection::~RawConnection() = default;

bool RawConnection::Send(std::string_view bytes) {
  auto& connection = impl_->connection;
  if (!connection.IsOpen()) return false;
  const BoostError ec = connection.WithStream([&](auto& stream) {
    return connection.Run(Clock::now() + std::chrono::seconds(5), [&](auto handler) {
      asio::async_write(stream, asio::buffer(bytes.data(), bytes.size()), std::move(handler));
    });
  });
  return !ec;
}

RawReadResult RawConnection::ReadAtLeast(std::size_t bytes, std::chrono::milliseconds timeout) {
  auto& connection = impl_->connection;
  RawReadResult result;
  const auto start = Clock::now();
  const auto deadline = start + timeout;
  char chunk[4096];
  while (result.data.size() < bytes) {
    if (!connection.IsOpen()) {
      result.closed = true;
      result.end = "closed";
      break;
    }
    std::size_t received = 0;
    const BoostError ec = connection.WithStream([&](auto& stream) {
      return connection.Run(deadline, [&](auto handler) {
        stream.async_read_some(asio::buffer(chunk), [&received, handler = std::move(handler)](
                                                        BoostError read_ec, std::size_t n) mutable {
          received = n;
          handler(read_ec);
        });
      });
    });
    result.data.append(chunk, received);
    if (ec) {
      result.closed = ec != beast::error::timeout;
      result.end = ec == beast::error::timeout ? "timeout" : IsPeerClose(ec) ? "eof" : ec.message();
      connection.Close();
      break;
    }
  }
  result.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  return result;
}

RawReadResult RawConnection::ReadUntilClose(std::chrono::milliseconds timeout) {
  return ReadAtLeast(static_cast<std::size_t>(-1), timeout);
}

std::optional<HttpResult> ParseHttpResponse(std::string_view raw) {
  http::response_parser<http::string_body> parser;
  parser.eager(true);
  parser.body_limit(64 * 1024 * 1024);
  std::size_t offset = 0;
  while (!parser.is_done()) {
    BoostError ec;
    const std::size_t used = parser.put(asio::buffer(raw.data() + offset, raw.size() - offset), ec);
    offset += used;
    if (ec && ec != http::error::need_more) return std::nullopt;
    if (used == 0) return std::nullopt;  // incomplete
  }
  return FromResponse(parser.get());
}

}  // namespace fleetcomm::testing
