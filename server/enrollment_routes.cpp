#include "server/enrollment_routes.hpp"

#include "auth/agent_certificate_issuer.hpp"
#include "auth/operator_token.hpp"
#include "server/db_executor.hpp"
#include "server/json_input.hpp"
#include "server/log.hpp"
#include "server/next_poll.hpp"
#include "server/representations.hpp"
#include "storage/agents.hpp"

#include <algorithm>
#include <cctype>

namespace fleetcomm::server {
namespace {

namespace asio = boost::asio;
using protocol::ErrorCode;
constexpr std::size_t kMaxCsrBytes = 16 * 1024;

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
  auto csr_pem = body->RequiredString("csr", kMaxCsrBytes, /*multiline=*/true);
  if (!csr_pem) return csr_pem.error();
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
  auto csr = auth::ValidateCsr(*csr_pem);
  if (!csr) return FromAuthError(csr.error());
  EnrolmentRequest out;
  out.registration_key = std::move(*key);
  out.csr = std::make_shared<auth::ValidatedCsr>(std::move(*csr));
  out.enrolment = {auth::SecretDigest(out.registration_key), auth::NewAgentId(), std::move(*product),
                   std::move(*version), std::move(*site_name), std::move(*location), std::move(*email)};
  return out;
}

}  // namespace

void AddEnrollmentRoutes(Router& router, ServerState& state) {
  router.Add(http::verb::post, "/rs/v1/enroll", Access::kPublic,
             [&state](RequestContext& context) -> asio::awaitable<HttpResponse> {
               if (state.agent_issuer == nullptr) {
                 co_return ErrorResponse(ApiError(ErrorCode::kUnavailable, "enrolment is not available"));
               }
               auto request = ReadEnrolment(context.request);
               if (!request) co_return ErrorResponse(request.error());
               const auto* issuer = state.agent_issuer;
               const auto lifetime = state.config.agent_certificate_lifetime;
               auto issue = [issuer, csr = request->csr, id = request->enrolment.agent_id,
                             lifetime]() -> storage::StorageResult<storage::IssuedAgentCertificate> {
                 auto issued = issuer->Issue(*csr, id, lifetime);
                 if (!issued) return storage::StorageError::Internal("certificate issuance: " + issued.error().detail);
                 return storage::IssuedAgentCertificate{issued->certificate_pem, issued->sha256_fingerprint,
                                                        issued->serial_hex, issued->not_after};
               };
               auto work = [e = request->enrolment, issue](pqxx::connection_base& c) {
                 return storage::EnrollAgent(c, e, issue);
               };
               auto pending = RunDb<storage::EnrolledAgent>(state.pool, std::move(work));
               auto enrolled = co_await std::move(pending);
               if (!enrolled) {
                 if (enrolled.error().code == storage::StorageErrc::kNotFound) co_return InvalidKey();
                 co_return StorageFailure(context, enrolled.error());
               }
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
