#include "server/enrollment_routes.hpp"

#include "auth/operator_token.hpp"
#include "server/agent_issuance.hpp"
#include "server/audit_entries.hpp"
#include "server/db_executor.hpp"
#include "server/json_input.hpp"
#include "server/log.hpp"
#include "server/next_poll.hpp"
#include "server/rate_limiter.hpp"
#include "server/representations.hpp"

#include <algorithm>
#include <cctype>

namespace fleetcomm::server {
namespace {

namespace asio = boost::asio;
using protocol::ErrorCode;

// Unknown, expired, used-up and revoked keys all get exactly this answer.
HttpResponse InvalidKey() {
  return ErrorResponse(ApiError(ErrorCode::kInvalidRegistrationKey, "the registration key is not valid"));
}

// Deliberately simple: one @, a non-empty local part, a dotted domain of letters, digits
// and hyphens. Enough to catch mistakes; deliverability is not ours to judge.
bool LooksLikeEmail(const std::string& email) {
  const auto at = email.find('@');
  if (at == std::string::npos || at == 0 || at > 64 || email.find('@', at + 1) != std::string::npos) return false;
  const std::string domain = email.substr(at + 1);
  if (domain.size() < 3 || domain.find('.') == std::string::npos || domain.front() == '.' || domain.back() == '.' ||
      domain.find("..") != std::string::npos) {
    return false;
  }
  const auto printable = [](char c) { return c > 0x20 && c < 0x7F; };
  const auto domain_char = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.'; };
  return std::all_of(email.begin(), email.begin() + static_cast<long>(at), printable) &&
         std::all_of(domain.begin(), domain.end(), domain_char);
}

struct EnrolmentRequest {
  std::string registration_key;
  std::shared_ptr<auth::ValidatedCsr> csr;  // shared: the database task must be copyable
  storage::AgentEnrolment enrolment;
};

// Either the request, or the answer to give instead.
Parsed<EnrolmentRequest> ReadEnrolment(const HttpRequest& request) {
  auto body = JsonObjectReader::Parse(request, {"registration_key", "csr", "product", "version", "site"});
  if (!body) return body.error();
  auto key = body->RequiredString("registration_key", 100);
  if (!key) return ApiError(ErrorCode::kInvalidRegistrationKey, "the registration key is not valid");
  auto product = body->RequiredString("product", 100);
  if (!product) return product.error();
  auto version = body->RequiredString("version", 50);
  if (!version) return version.error();
  auto site = body->Object("site", {"name", "location", "contact_email"});
  if (!site) return site.error();
  auto site_name = site->RequiredString("name", 200);
  if (!site_name) return site_name.error();
  auto location = site->String("location", 200);
  if (!location) return location.error();
  auto email = site->RequiredString("contact_email", 254);
  if (!email) return email.error();
  if (!LooksLikeEmail(*email)) return ApiError(ErrorCode::kInvalidRequest, "site.contact_email is not an e-mail address");
  // Last: checking the CSR's signature costs more than everything above.
  auto csr = ReadCsr(*body);
  if (!csr) return csr.error();
  EnrolmentRequest out;
  out.registration_key = std::move(*key);
  out.csr = std::move(*csr);
  out.enrolment = {auth::SecretDigest(out.registration_key), auth::NewAgentId(), std::move(*product),
                   std::move(*version), std::move(*site_name), std::move(*location), std::move(*email)};
  return out;
}

// Registration keys are long random secrets, but nothing stops a client from guessing;
// these buckets make guessing slow, by source address and by key (PROTOCOL.md 3.1).
struct EnrolmentLimits {
  explicit EnrolmentLimits(const Config& config)
      : by_address(Options(config)), by_key(Options(config)) {}
  static RateLimiter::Options Options(const Config& config) {
    return {static_cast<double>(config.enroll_rate_per_minute), static_cast<double>(config.enroll_burst),
            static_cast<std::size_t>(config.enroll_tracked_keys)};
  }
  RateLimiter by_address;
  RateLimiter by_key;
};

// "10.1.2.3:50312" -> "10.1.2.3" (and "::1:50312" -> "::1"): a client's ports are free.
std::string AddressOnly(const std::string& remote) {
  const auto colon = remote.rfind(':');
  return colon == std::string::npos ? remote : remote.substr(0, colon);
}

HttpResponse RateLimited(std::chrono::seconds retry_after) {
  HttpResponse response =
      ErrorResponse(ApiError(ErrorCode::kRateLimited, "too many enrolment attempts; retry later"));
  response.set(http::field::retry_after, std::to_string(retry_after.count()));
  return response;
}

}  // namespace

void AddEnrollmentRoutes(Router& router, ServerState& state) {
  // Owned by the handler, which the router keeps for the server's lifetime.
  auto limits = std::make_shared<EnrolmentLimits>(state.config);
  router.Add(http::verb::post, "/rs/v1/enroll", Access::kPublic,
             [&state, limits](RequestContext& context) -> asio::awaitable<HttpResponse> {
               if (state.agent_issuer == nullptr) {
                 co_return ErrorResponse(ApiError(ErrorCode::kUnavailable, "enrolment is not available"));
               }
               // Before any parsing: a flood from one address costs no CSR checks.
               const auto by_address = limits->by_address.Acquire(AddressOnly(context.remote_address));
               if (!by_address.allowed) co_return RateLimited(by_address.retry_after);
               auto request = ReadEnrolment(context.request);
               if (!request) co_return ErrorResponse(request.error());
               const auto by_key = limits->by_key.Acquire(request->enrolment.key_sha256);
               if (!by_key.allowed) co_return RateLimited(by_key.retry_after);
               auto issue = IssueAgentCertificate(*state.agent_issuer, request->csr, request->enrolment.agent_id,
                                                  state.config.agent_certificate_lifetime);
               // The entry names the agent this enrolment creates (its account comes with the row).
               auto audit = ChangeEntry(context, 201);
               if (audit) {
                 audit->identity_kind = "agent";
                 audit->identity_id = request->enrolment.agent_id;
               }
               auto work = [e = request->enrolment, issue, audit = std::move(audit)](pqxx::connection_base& c) {
                 return storage::EnrollAgent(c, e, issue, EntryOrNull(audit));
               };
               auto pending = RunDb<storage::EnrolledAgent>(state.pool, std::move(work));
               auto enrolled = co_await std::move(pending);
               if (!enrolled) {
                 if (enrolled.error().code == storage::StorageErrc::kNotFound) co_return InvalidKey();
                 co_return StorageFailure(context, enrolled.error());
               }
               MarkRecorded(context);
               Log(LogLevel::kInfo, "agent_enrolled",
                   {{"request_id", context.request_id}, {"agent", enrolled->agent_id},
                    {"account", enrolled->account_id}});
               co_return Json(201, {{"agent_id", enrolled->agent_id},
                                    {"account_id", enrolled->account_id},
                                    {"certificate", enrolled->certificate_pem},
                                    {"next_poll_s", kDefaultNextPollSeconds}});
             });
}

}  // namespace fleetcomm::server
