#include "server/connection.hpp"

#include "auth/trust_anchor.hpp"
#include "server/audit_entries.hpp"
#include "server/audit_writer.hpp"
#include "server/log.hpp"
#include "server/request_id.hpp"
#include "server/request_loop.hpp"
#include "server/tls_contexts.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

namespace fleetcomm::server {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::chrono::seconds kTlsShutdownTimeout{2};

std::string RemoteAddress(const asio::ip::tcp::socket& socket) {
  boost::system::error_code ec;
  const auto endpoint = socket.remote_endpoint(ec);
  if (ec) return "unknown";
  return endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
}

// A bounded label for the metrics, from OpenSSL's verdict on the peer's certificate.
std::string_view HandshakeFailureReason(const boost::system::error_code& ec, SSL* ssl) {
  if (ec == beast::error::timeout) return "timeout";
  switch (SSL_get_verify_result(ssl)) {
    case X509_V_OK: break;
    case X509_V_ERR_CERT_HAS_EXPIRED: return "certificate_expired";
    case X509_V_ERR_CERT_NOT_YET_VALID: return "certificate_not_yet_valid";
    case X509_V_ERR_CERT_REVOKED: return "certificate_revoked";
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
    case X509_V_ERR_CERT_CHAIN_TOO_LONG: return "unknown_ca";
    case X509_V_ERR_INVALID_PURPOSE: return "certificate_purpose";
    case X509_V_ERR_EE_KEY_TOO_SMALL:
    case X509_V_ERR_CA_KEY_TOO_SMALL:
    case X509_V_ERR_CA_MD_TOO_WEAK: return "certificate_weak";
    default: return "certificate_invalid";
  }
  if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated || ec == asio::error::connection_reset) {
    return "client_closed";
  }
  return "protocol";
}

// Registers the connection for drains; unregisters on scope exit. `alive` is read and
// written only on the connection's strand, so a closer that arrives late does nothing.
class DrainRegistration {
 public:
  DrainRegistration(ServerState& state, beast::tcp_stream& tcp, ConnectionInfo& info)
      : state_(state), alive_(std::make_shared<bool>(true)) {
    auto executor = tcp.get_executor();
    id_ = state_.connections.Add([executor, alive = alive_, &tcp, &info] {
      asio::post(executor, [alive, &tcp, &info] {
        if (*alive && info.idle) tcp.socket().close();
      });
    });
  }
  ~DrainRegistration() {
    *alive_ = false;
    state_.connections.Remove(id_);
  }
  DrainRegistration(const DrainRegistration&) = delete;
  DrainRegistration& operator=(const DrainRegistration&) = delete;

 private:
  ServerState& state_;
  std::shared_ptr<bool> alive_;
  std::uint64_t id_ = 0;
};

class OpenConnection {
 public:
  explicit OpenConnection(ListenerContext& listener) : listener_(listener) {
    listener_.state.metrics.ConnectionOpened(listener_.kind);
  }
  ~OpenConnection() {
    listener_.open_connections.fetch_sub(1);
    listener_.state.metrics.ConnectionClosed(listener_.kind);
  }
  OpenConnection(const OpenConnection&) = delete;
  OpenConnection& operator=(const OpenConnection&) = delete;

 private:
  ListenerContext& listener_;
};

void LogClose(const ConnectionInfo& info, ListenerKind kind, std::string_view reason) {
  Log(LogLevel::kDebug, "connection_closed",
      {{"conn", info.id}, {"listener", ListenerName(kind)}, {"remote", info.remote_address}, {"reason", reason}});
}

}  // namespace

asio::awaitable<void> ServeTlsConnection(asio::ip::tcp::socket socket, ListenerContext& listener,
                                         std::shared_ptr<asio::ssl::context> tls) {
  OpenConnection open(listener);
  ConnectionInfo info;
  info.id = NewRequestId();
  info.remote_address = RemoteAddress(socket);
  beast::ssl_stream<beast::tcp_stream> stream(std::move(socket), *tls);
  auto& tcp = beast::get_lowest_layer(stream);
  DrainRegistration registration(listener.state, tcp, info);
  const auto& config = listener.state.config;

  tcp.expires_after(config.handshake_timeout);
  auto [handshake_ec] = co_await stream.async_handshake(asio::ssl::stream_base::server, kTuple);
  if (handshake_ec) {
    SSL* ssl = stream.native_handle();
    const auto reason = HandshakeFailureReason(handshake_ec, ssl);
    listener.state.metrics.HandshakeFailed(listener.kind, reason);
    X509* presented = SSL_get0_peer_certificate(ssl);
    const RefusedCertificate* refused = RefusedPeerCertificate(ssl);
    const long verify = SSL_get_verify_result(ssl);
    Log(LogLevel::kInfo, "tls_handshake_failed",
        {{"conn", info.id},
         {"listener", ListenerName(listener.kind)},
         {"remote", info.remote_address},
         {"reason", reason},
         {"detail", verify != X509_V_OK ? X509_verify_cert_error_string(verify) : handshake_ec.message()},
         {"subject", refused != nullptr ? refused->subject : auth::DescribeSubject(presented)},
         {"fingerprint", refused != nullptr ? refused->fingerprint : auth::Sha256FingerprintHex(presented)}});
    listener.state.audit.Submit(HandshakeAuditEntry(
        listener.kind, info, reason, verify != X509_V_OK ? X509_verify_cert_error_string(verify) : handshake_ec.message(),
        refused != nullptr ? refused->subject : auth::DescribeSubject(presented),
        refused != nullptr ? refused->fingerprint : auth::Sha256FingerprintHex(presented)));
    co_return;
  }
  listener.state.metrics.HandshakeSucceeded(listener.kind);
  if (listener.kind == ListenerKind::kDevice) {
    // Inspected once per connection: every request of a keep-alive connection reuses it.
    if (X509* peer = SSL_get0_peer_certificate(stream.native_handle())) {
      info.certificate = auth::InspectClientCertificate(peer);
      info.agent_certificate = *info.certificate && listener.state.agent_anchor->IssuedDirectly(peer);
      if (!*info.certificate) {
        Log(LogLevel::kInfo, "client_certificate_refused",
            {{"conn", info.id}, {"remote", info.remote_address}, {"reason", info.certificate->error().detail},
             {"subject", auth::DescribeSubject(peer)}, {"fingerprint", auth::Sha256FingerprintHex(peer)}});
      }
    }
  }

  const std::string reason = co_await RunRequestLoop(stream, info, listener);
  if (tcp.socket().is_open()) {
    tcp.expires_after(kTlsShutdownTimeout);
    co_await stream.async_shutdown(kTuple);
  }
  LogClose(info, listener.kind, reason);
}

asio::awaitable<void> ServePlainConnection(asio::ip::tcp::socket socket, ListenerContext& listener) {
  OpenConnection open(listener);
  ConnectionInfo info;
  info.id = NewRequestId();
  info.remote_address = RemoteAddress(socket);
  beast::tcp_stream stream(std::move(socket));
  DrainRegistration registration(listener.state, stream, info);
  const std::string reason = co_await RunRequestLoop(stream, info, listener);
  boost::system::error_code ignored;
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  LogClose(info, listener.kind, reason);
}

}  // namespace fleetcomm::server
