#include "server/renewal_routes.hpp"

#include "server/agent_issuance.hpp"
#include "server/audit_entries.hpp"
#include "server/db_executor.hpp"
#include "server/log.hpp"
#include "server/representations.hpp"

namespace fleetcomm::server {
namespace {

namespace asio = boost::asio;
using protocol::ErrorCode;

}  // namespace

void AddRenewalRoutes(Router& router, ServerState& state) {
  // kActiveClient: the session has already refused revoked and unknown agents (401
  // certificate_rejected), so only an active agent's current or earlier, unexpired
  // certificate gets here.
  router.Add(http::verb::post, "/rs/v1/renew", Access::kActiveClient,
             [&state](RequestContext& context) -> asio::awaitable<HttpResponse> {
               // Device certificates come from their manufacturer; fleetcomm issues only agents'.
               if (!context.agent_certificate || !context.client || context.client->kind != storage::ClientKind::kAgent) {
                 co_return ErrorResponse(
                     ApiError(ErrorCode::kIdentityMismatch, "only agent certificates are renewed here"));
               }
               if (state.agent_issuer == nullptr) {
                 co_return ErrorResponse(ApiError(ErrorCode::kUnavailable, "renewal is not available"));
               }
               auto body = JsonObjectReader::Parse(context.request, {"csr"});
               if (!body) co_return ErrorResponse(body.error());
               auto csr = ReadCsr(*body);
               if (!csr) co_return ErrorResponse(csr.error());
               const std::string agent_id = context.client->id;
               auto issue = IssueAgentCertificate(*state.agent_issuer, std::move(*csr), agent_id,
                                                  state.config.agent_certificate_lifetime);
               auto work = [agent_id, issue, audit = ChangeEntry(context, 201)](pqxx::connection_base& c) {
                 return storage::RenewAgentCertificate(c, agent_id, issue, EntryOrNull(audit));
               };
               auto pending = RunDb<std::string>(state.pool, std::move(work));
               auto renewed = co_await std::move(pending);
               if (!renewed) {
                 // Revoked after this connection's identity was cached: same answer as at the door.
                 if (renewed.error().code == storage::StorageErrc::kNotFound) {
                   co_return ErrorResponse(ApiError(ErrorCode::kCertificateRejected, "certificate rejected"));
                 }
                 co_return StorageFailure(context, renewed.error());
               }
               MarkRecorded(context);
               Log(LogLevel::kInfo, "agent_certificate_renewed",
                   {{"request_id", context.request_id}, {"agent", agent_id},
                    {"previous_fingerprint", context.client_certificate->sha256_fingerprint}});
               co_return Json(201, {{"certificate", *renewed}});
             });
}

}  // namespace fleetcomm::server
