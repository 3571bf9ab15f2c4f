#pragma once
// The request loop's definition, included only by request_loop_plain.cpp and
// request_loop_tls.cpp: each instantiates it for one stream type, so that the two heaviest
// instantiations of the server compile in parallel.
#include "server/request_loop.hpp"

#include "server/audit_entries.hpp"
#include "server/audit_writer.hpp"
#include "server/db_executor.hpp"
#include "server/log.hpp"
#include "server/operator_auth.hpp"
#include "server/request_id.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <chrono>
#include <random>

namespace fleetcomm::server {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using protocol::ErrorCode;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kFirstReadBytes = 4096;

// Counts a request as in flight for its lifetime; refuses past the configured maximum.
class InFlightSlot {
 public:
  explicit InFlightSlot(ServerState& state) : state_(state) {
    admitted_ = state_.in_flight.fetch_add(1) < state_.config.max_in_flight;
  }
  ~InFlightSlot() { state_.in_flight.fetch_sub(1); }
  InFlightSlot(const InFlightSlot&) = delete;
  InFlightSlot& operator=(const InFlightSlot&) = delete;
  bool admitted() const { return admitted_; }

 private:
  ServerState& state_;
  bool admitted_;
};

// A fleet that retries after an outage must not come back in lock-step.
std::string JitteredRetryAfter(const Config& config) {
  thread_local std::mt19937 generator{std::random_device{}()};
  std::uniform_int_distribution<long long> pick(config.retry_after_min.count(), config.retry_after_max.count());
  return std::to_string(pick(generator));
}

bool IsClientGone(const boost::system::error_code& ec) {
  // end_of_stream/eof: the peer closed between requests. stream_truncated: the peer closed
  // TCP without a TLS close_notify, which many HTTP clients do; nothing was lost.
  return ec == beast::http::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::ssl::error::stream_truncated || ec == asio::error::connection_reset ||
         ec == asio::error::operation_aborted;
}

// Framing that RFC 9112 calls ambiguous is refused outright: it is how requests are smuggled.
std::optional<ApiError> FramingProblem(const HttpRequest& header) {
  const bool has_length = header.count(http::field::content_length) != 0;
  const auto encodings = header.count(http::field::transfer_encoding);
  if (has_length && encodings != 0) {
    return ApiError(ErrorCode::kBadRequest, "Content-Length and Transfer-Encoding together are not allowed");
  }
  if (header.count(http::field::content_length) > 1) return ApiError(ErrorCode::kBadRequest, "repeated Content-Length");
  if (encodings != 0) {
    if (encodings > 1 || !beast::iequals(header[http::field::transfer_encoding], "chunked")) {
      return ApiError(ErrorCode::kNotImplemented, "only the chunked transfer coding is supported");
    }
  }
  return std::nullopt;
}

std::optional<ApiError> ReadErrorToApiError(const boost::system::error_code& ec) {
  if (ec == http::error::header_limit) return ApiError(ErrorCode::kHeaderTooLarge, "request header too large");
  if (ec == http::error::body_limit) return ApiError(ErrorCode::kPayloadTooLarge, "request body too large");
  if (ec == beast::error::timeout) return ApiError(ErrorCode::kRequestTimeout, "request not received in time");
  if (IsClientGone(ec)) return std::nullopt;
  return ApiError(ErrorCode::kBadRequest, "malformed HTTP request");
}

std::string_view ReasonOf(const boost::system::error_code& ec, std::string_view timeout_reason) {
  if (ec == beast::error::timeout) return timeout_reason;
  if (ec == http::error::header_limit) return "header_limit";
  if (ec == http::error::body_limit) return "body_limit";
  if (IsClientGone(ec)) return "client_closed";
  return "bad_request";
}

template <class Stream>
class RequestLoop {
 public:
  RequestLoop(Stream& stream, ConnectionInfo& connection, ListenerContext& listener)
      : stream_(stream), connection_(connection), listener_(listener), config_(listener.state.config) {}

  asio::awaitable<std::string> Run() {
    for (int index = 0;; ++index) {
      if (listener_.state.draining) co_return "shutdown";
      if (buffer_.size() == 0) {
        // Before the first byte of a request, the idle (or, for the first request, the
        // header) deadline applies; a drain may close the connection while it waits.
        connection_.idle = true;
        Tcp().expires_after(index == 0 ? config_.header_timeout : config_.idle_timeout);
        auto [ec, bytes] = co_await stream_.async_read_some(buffer_.prepare(kFirstReadBytes), kTuple);
        connection_.idle = false;
        if (ec) co_return std::string(ReasonOf(ec, index == 0 ? "header_timeout" : "idle_timeout"));
        buffer_.commit(bytes);
      }
      auto outcome = co_await ServeOne();
      if (outcome) co_return *outcome;
    }
  }

 private:
  beast::tcp_stream& Tcp() { return beast::get_lowest_layer(stream_); }

  // Serves one request; returns a reason when the connection must end.
  asio::awaitable<std::optional<std::string>> ServeOne() {
    started_ = std::chrono::steady_clock::now();
    request_id_ = NewRequestId();
    route_label_ = "unmatched";
    operator_identity_.clear();
    bytes_in_ = 0;
    BeginAuditEntry(audit_.entry, listener_.kind, request_id_, connection_);
    audit_.recorded = false;
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(config_.header_limit_bytes));
    parser.body_limit(config_.body_limit_bytes);

    Tcp().expires_after(config_.header_timeout);
    auto [header_ec, header_bytes] = co_await http::async_read_header(stream_, buffer_, parser, kTuple);
    (void)header_bytes;
    if (header_ec) {
      if (auto error = ReadErrorToApiError(header_ec)) co_await AnswerError(*error, false);
      co_return std::string(ReasonOf(header_ec, "header_timeout"));
    }
    const HttpRequest& header = parser.get();
    DescribeRequest(audit_.entry, header);
    if (auto problem = FramingProblem(header)) {
      co_await AnswerError(*problem, false);
      co_return "bad_framing";
    }

    InFlightSlot slot(listener_.state);
    if (!slot.admitted()) {
      listener_.state.metrics.Overloaded(listener_.kind);
      const ApiError busy(ErrorCode::kUnavailable, "the server is busy; retry later", "max_in_flight");
      co_await AnswerError(busy, false);
      co_return "max_in_flight";
    }

    RouteMatch match = listener_.router.Match(header.method(), header.target());
    if (match.route != nullptr) route_label_ = match.route->pattern;
    RequestContext context{header, request_id_, listener_.kind, connection_.remote_address, {}, {}, false, {}, {},
                           listener_.state.audit.enabled() ? &audit_ : nullptr};
    const Access access = match.route != nullptr ? match.route->access : DefaultAccess();
    auto refusal = co_await CheckAccess(access, context);
    DescribeClient(audit_.entry, connection_);
    if (context.operator_principal) {
      DescribeOperator(audit_.entry, *context.operator_principal);
      operator_identity_ = "operator:" + std::to_string(context.operator_principal->token_id);
    }
    if (refusal) {
      co_await AnswerError(*refusal, false);
      co_return "access_refused";
    }
    // Only an authenticated request names an account by its path: anyone can write a path.
    if (match.route != nullptr) DescribeRouteAccount(audit_.entry, match.route->pattern, match.params);
    if (match.route != nullptr && context.operator_principal &&
        !match.route->roles.Allows(context.operator_principal->role)) {
      const ApiError forbidden(ErrorCode::kForbidden, "this token's role may not use this endpoint");
      co_await AnswerError(forbidden, false);
      co_return "forbidden";
    }
    if (match.outcome != RouteMatch::Outcome::kFound) {
      const bool missing = match.outcome == RouteMatch::Outcome::kNotFound;
      HttpResponse response = ErrorResponse(missing ? ApiError(ErrorCode::kNotFound, "no such resource")
                                                    : ApiError(ErrorCode::kMethodNotAllowed, "method not allowed here"));
      if (!missing) response.set(http::field::allow, match.allowed_methods);
      // Without reading an unwanted body we cannot find the next request: close instead.
      const bool body_pending = !parser.is_done();
      co_await Answer(response, !body_pending, "");
      co_return body_pending ? std::optional<std::string>("unread_body") : std::nullopt;
    }

    if (!parser.is_done()) {
      if (beast::iequals(header[http::field::expect], "100-continue")) {
        http::response<http::empty_body> go_on{http::status::continue_, 11};
        Tcp().expires_after(config_.write_timeout);
        auto [ec, n] = co_await http::async_write(stream_, go_on, kTuple);
        (void)n;
        if (ec) co_return "write_failed";
      }
      // One deadline for the whole body: a client trickling bytes gains nothing.
      Tcp().expires_after(config_.body_timeout);
      auto [body_ec, body_bytes] = co_await http::async_read(stream_, buffer_, parser, kTuple);
      (void)body_bytes;
      if (body_ec) {
        if (auto error = ReadErrorToApiError(body_ec)) co_await AnswerError(*error, false);
        co_return std::string(ReasonOf(body_ec, "body_timeout"));
      }
    }
    bytes_in_ = parser.get().body().size();
    context.path_params = std::move(match.params);

    HttpResponse response = co_await Dispatch(*match.route, context);
    const bool keep_alive = parser.get().keep_alive() && !listener_.state.draining;
    if (!co_await Answer(response, keep_alive, "")) co_return "write_failed";
    if (!keep_alive) co_return std::string(listener_.state.draining ? "shutdown" : "client_requested_close");
    co_return std::nullopt;
  }

  Access DefaultAccess() const {
    switch (listener_.kind) {
      case ListenerKind::kDevice: return Access::kClientCertificate;
      case ListenerKind::kOperator: return Access::kOperatorToken;
      case ListenerKind::kOps: break;
    }
    return Access::kPublic;
  }

  asio::awaitable<std::optional<ApiError>> CheckAccess(Access access, RequestContext& context) {
    switch (access) {
      case Access::kPublic:
        co_return std::nullopt;
      case Access::kClientCertificate:
      case Access::kActiveClient:
        if (!connection_.certificate) co_return FromAuthError({auth::AuthErrc::kCertificateMissing, "no certificate"});
        if (!*connection_.certificate) co_return FromAuthError(connection_.certificate->error());
        context.client_certificate = **connection_.certificate;
        context.agent_certificate = connection_.agent_certificate;
        if (access == Access::kClientCertificate) co_return std::nullopt;
        co_return co_await ResolveClient(context);
      case Access::kOperatorToken: {
        auto principal = co_await AuthenticateOperator(listener_.state.pool, context.request);
        if (!principal) co_return principal.error();
        context.operator_principal = std::move(*principal);
        co_return std::nullopt;
      }
    }
    co_return ApiError(ErrorCode::kInternal, "internal error");
  }

  // The identity behind the certificate, from the connection's cache while it is fresh, else
  // the instance's: a client costs one indexed read per device.identity_cache_seconds.
  asio::awaitable<std::optional<ApiError>> ResolveClient(RequestContext& context) {
    const auto now = std::chrono::steady_clock::now();
    std::uint64_t generation = 0;
    if (!connection_.identity || now - connection_.identity_resolved_at >= config_.identity_cache_ttl) {
      connection_.identity.reset();
      // A new connection of a client seen recently on this instance: no read (identity_cache.hpp).
      if (auto shared = listener_.state.identities.Find(context.client_certificate->sha256_fingerprint, generation, now)) {
        connection_.identity = std::move(shared->identity);
        connection_.identity_resolved_at = shared->read_at;
      }
    }
    if (!connection_.identity) {
      auto lookup = [agent = connection_.agent_certificate, certificate = *context.client_certificate](
                        pqxx::connection_base& c) -> storage::StorageResult<std::optional<storage::ClientIdentity>> {
        return agent ? storage::FindAgent(c, certificate.identity)
                     : storage::FindDeviceByCertificate(c, certificate.sha256_fingerprint);
      };
      auto pending = RunDb<std::optional<storage::ClientIdentity>>(listener_.state.pool, std::move(lookup));
      auto found = co_await std::move(pending);
      listener_.state.metrics.IdentityLookedUp();
      if (!found) co_return FromStorageError(found.error());
      if (!*found) {
        if (connection_.agent_certificate) {
          co_return ApiError(ErrorCode::kCertificateRejected, "unknown agent", "agent certificate without an agent");
        }
        co_return ApiError(ErrorCode::kDeviceNotActive, "this certificate is not registered: POST /rs/v1/register first");
      }
      listener_.state.identities.Store(context.client_certificate->sha256_fingerprint, **found, generation, now);
      connection_.identity = std::move(**found);
      connection_.identity_resolved_at = now;
    }
    const storage::ClientIdentity& identity = *connection_.identity;
    if (identity.state == "revoked") {
      co_return ApiError(ErrorCode::kCertificateRejected, "certificate rejected", "identity revoked: " + identity.id);
    }
    if (identity.state != "active") {
      co_return ApiError(ErrorCode::kDeviceNotActive, "this device is pending: an operator must assign it to an account");
    }
    context.client = identity;
    co_return std::nullopt;
  }

  asio::awaitable<HttpResponse> Dispatch(const Route& route, RequestContext& context) {
    // No exception crosses into the session: a handler that throws is a 500, logged with
    // the request id, and the connection goes on.
    std::optional<HttpResponse> response;
    try {
      response = co_await route.handler(context);
    } catch (const std::exception& e) {
      Log(LogLevel::kError, "handler_failed", {{"request_id", request_id_}, {"route", route.pattern}, {"error", e.what()}});
    }
    if (!response) co_return ErrorResponse(ApiError(ErrorCode::kInternal, "internal error"));
    co_return std::move(*response);
  }

  asio::awaitable<bool> AnswerError(const ApiError& error, bool keep_alive) {
    HttpResponse response = ErrorResponse(error);
    if (error.status == 401 && listener_.kind == ListenerKind::kOperator) {
      response.set(http::field::www_authenticate, "Bearer");
    }
    co_return co_await Answer(response, keep_alive, error.log_detail);
  }

  // Writes the response and records it once (metrics, request log). False if the write
  // failed. Takes references, never temporaries: see docs/coroutines.md.
  asio::awaitable<bool> Answer(HttpResponse& response, bool keep_alive, std::string_view detail) {
    response.set(http::field::server, "fleetcomm");
    response.set("X-Request-Id", request_id_);
    if (response.result_int() == 503 && response.count(http::field::retry_after) == 0) {
      response.set(http::field::retry_after, JitteredRetryAfter(config_));
    }
    response.keep_alive(keep_alive);
    response.prepare_payload();
    const unsigned status = response.result_int();
    const std::size_t bytes_out = response.body().size();
    Tcp().expires_after(config_.write_timeout);
    auto [ec, written] = co_await http::async_write(stream_, response, kTuple);
    (void)written;
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    listener_.state.metrics.ObserveRequest(listener_.kind, route_label_, status, seconds, bytes_in_, bytes_out);
    if (!audit_.recorded && listener_.kind != ListenerKind::kOps) {  // ops is not audited (4.6)
      FinishAuditEntry(audit_.entry, response, bytes_in_, seconds);
      listener_.state.audit.Submit(std::move(audit_.entry));
    }
    Log(status >= 500 ? LogLevel::kWarn : LogLevel::kInfo, "request",
        {{"request_id", request_id_},
         {"conn", connection_.id},
         {"listener", ListenerName(listener_.kind)},
         {"remote", connection_.remote_address},
         {"identity", IdentityForLog()},
         {"route", route_label_},
         {"status", status},
         {"duration_ms", static_cast<long long>(seconds * 1000)},
         {"detail", detail}});
    co_return !ec;
  }

  std::string IdentityForLog() const {
    if (!operator_identity_.empty()) return operator_identity_;  // the token's id, as in the audit entry
    if (connection_.identity) return connection_.identity->id;
    if (connection_.certificate && *connection_.certificate) return "cert:" + (*connection_.certificate)->identity;
    return "-";
  }

  Stream& stream_;
  ConnectionInfo& connection_;
  ListenerContext& listener_;
  const Config& config_;
  beast::flat_buffer buffer_;
  std::chrono::steady_clock::time_point started_;
  std::string request_id_;
  std::string route_label_;
  std::string operator_identity_;
  std::size_t bytes_in_ = 0;
  AuditRecord audit_;
};

}  // namespace

template <class Stream>
asio::awaitable<std::string> RunRequestLoop(Stream& stream, ConnectionInfo& connection, ListenerContext& listener) {
  RequestLoop<Stream> loop(stream, connection, listener);
  co_return co_await loop.Run();
}

}  // namespace fleetcomm::server
