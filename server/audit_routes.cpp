#include "server/audit_routes.hpp"

#include "server/db_executor.hpp"
#include "server/json_input.hpp"
#include "server/operator_scope.hpp"
#include "server/representations.hpp"
#include "storage/audit_chain.hpp"
#include "storage/audit_query.hpp"

#include <charconv>

namespace fleetcomm::server {
namespace {

namespace asio = boost::asio;
using auth::Role;
using nlohmann::json;
using protocol::ErrorCode;
constexpr int kMaxExportLines = 10000;

// RFC 3339 as the API writes it, or with fractions and offsets: checked loosely here
// (digits where digits belong), exactly by PostgreSQL.
bool LooksLikeTime(const std::string& text) {
  if (text.size() < 20 || text.size() > 40) return false;
  for (std::size_t i : {0u, 1u, 2u, 3u, 5u, 6u, 8u, 9u, 11u, 12u, 14u, 15u, 17u, 18u}) {
    if (text[i] < '0' || text[i] > '9') return false;
  }
  return text[4] == '-' && text[7] == '-' && (text[10] == 'T' || text[10] == 't') && text[13] == ':' &&
         text[16] == ':';
}

Parsed<storage::AuditFilter> ReadFilter(const std::map<std::string, std::string>& query,
                                        const OperatorPrincipal& principal) {
  storage::AuditFilter filter;
  filter.scope = VisibleAccounts(principal);
  filter.account = QueryValue(query, "account");
  filter.path_prefix = QueryValue(query, "path");
  filter.request_id = QueryValue(query, "request_id");
  // actor=kind:id (device:dv_..., agent:ag_..., operator:12, certificate:SERIAL) or a bare id.
  if (auto actor = QueryValue(query, "actor")) {
    const auto colon = actor->find(':');
    if (colon == std::string::npos) {
      filter.identity_id = *actor;
    } else {
      filter.identity_kind = actor->substr(0, colon);
      filter.identity_id = actor->substr(colon + 1);
    }
  }
  for (auto [name, member] : {std::pair{"since", &storage::AuditFilter::since},
                              std::pair{"until", &storage::AuditFilter::until}}) {
    if (auto value = QueryValue(query, name)) {
      if (!LooksLikeTime(*value)) {
        return ApiError(ErrorCode::kInvalidRequest, std::string(name) + " must be an RFC 3339 time");
      }
      filter.*member = *value;
    }
  }
  if (auto status = QueryValue(query, "status")) {
    int value = 0;
    auto [end, ec] = std::from_chars(status->data(), status->data() + status->size(), value);
    if (ec != std::errc() || end != status->data() + status->size() || value < 100 || value > 599) {
      return ApiError(ErrorCode::kInvalidRequest, "status must be an HTTP status code");
    }
    filter.status = value;
  }
  return filter;
}

json VerificationJson(const storage::AuditVerification& v) {
  json body = {{"ok", !v.first_break}, {"entries", v.entries}, {"seals", v.seals}, {"unsealed", v.unsealed}};
  if (v.first_break) {
    const auto& broken = *v.first_break;
    body["first_broken"] = {{"seq", broken.seq == 0 ? json(nullptr) : json(broken.seq)},
                            {"problem", broken.problem},
                            {"seal", broken.seal},
                            {"request_id", broken.request_id.empty() ? json(nullptr) : json(broken.request_id)}};
  }
  return body;
}

asio::awaitable<HttpResponse> List(ServerState& state, RequestContext& context) {
  auto query = ParseQuery(context.request.target());
  if (!query) co_return ErrorResponse(query.error());
  auto list = ParseListParams(*query);
  if (!list) co_return ErrorResponse(list.error());
  auto filter = ReadFilter(*query, *context.operator_principal);
  if (!filter) co_return ErrorResponse(filter.error());
  auto work = [filter = std::move(*filter), p = *list](pqxx::connection_base& c) {
    return storage::ListAuditEntries(c, filter, p.after, p.limit);
  };
  auto pending = RunDb<storage::Page<std::string>>(state.pool, std::move(work));
  auto page = co_await std::move(pending);
  if (!page) co_return StorageFailure(context, page.error());
  co_return Json(200, PageJson(*page, [](const std::string& item) { return json::parse(item); }));
}

// Bounded rather than streamed: at most kMaxExportLines lines per answer; the next part
// starts after the cursor in X-Next-Cursor (docs/api-extensions.md).
asio::awaitable<HttpResponse> Export(ServerState& state, RequestContext& context) {
  auto query = ParseQuery(context.request.target());
  if (!query) co_return ErrorResponse(query.error());
  auto filter = ReadFilter(*query, *context.operator_principal);
  if (!filter) co_return ErrorResponse(filter.error());
  if (!filter->since || !filter->until) {
    co_return ErrorResponse(ApiError(ErrorCode::kInvalidRequest, "since and until are required"));
  }
  auto cursor = ParseNumericCursor(QueryValue(*query, "after").value_or(""), "after must be a cursor from X-Next-Cursor");
  if (!cursor) co_return ErrorResponse(cursor.error());
  auto work = [filter = std::move(*filter), after = *cursor](pqxx::connection_base& c) {
    return storage::ExportAuditEntries(c, filter, after, kMaxExportLines);
  };
  auto pending = RunDb<storage::Page<std::string>>(state.pool, std::move(work));
  auto page = co_await std::move(pending);
  if (!page) co_return StorageFailure(context, page.error());
  std::string body;
  for (const auto& item : page->items) {
    body += item;
    body += '\n';
  }
  HttpResponse response = JsonResponse(200, std::move(body));
  response.set(http::field::content_type, "application/x-ndjson");
  if (page->next) response.set("X-Next-Cursor", *page->next);
  co_return response;
}

asio::awaitable<HttpResponse> Verify(ServerState& state, RequestContext& context) {
  const auto retained_from =
      std::chrono::system_clock::now() - std::chrono::hours(24) * state.config.audit_retention_days;
  auto work = [retained_from](pqxx::connection_base& c) { return storage::VerifyAuditChain(c, retained_from); };
  auto pending = RunDb<storage::AuditVerification>(state.pool, std::move(work));
  auto verified = co_await std::move(pending);
  if (!verified) co_return StorageFailure(context, verified.error());
  co_return Json(200, VerificationJson(*verified));
}

}  // namespace

void AddAuditRoutes(Router& router, ServerState& state) {
  // Account managers read the entries of their accounts; the chain spans every account.
  const auto readers = Roles::Of({Role::kAdmin, Role::kAuditor, Role::kAccountManager});
  const auto auditors = Roles::Of({Role::kAdmin, Role::kAuditor});
  router.Add(http::verb::get, "/api/v1/audit", Access::kOperatorToken,
             [&state](RequestContext& context) { return List(state, context); }, readers);
  router.Add(http::verb::get, "/api/v1/audit/export", Access::kOperatorToken,
             [&state](RequestContext& context) { return Export(state, context); }, readers);
  router.Add(http::verb::get, "/api/v1/audit/verify", Access::kOperatorToken,
             [&state](RequestContext& context) { return Verify(state, context); }, auditors);
}

}  // namespace fleetcomm::server
