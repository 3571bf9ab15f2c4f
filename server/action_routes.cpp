#include "server/action_routes.hpp"

#include "server/action_json.hpp"
#include "server/action_params.hpp"
#include "server/audit_entries.hpp"
#include "server/db_executor.hpp"
#include "server/json_input.hpp"
#include "server/operator_scope.hpp"
#include "server/representations.hpp"
#include "storage/actions.hpp"

namespace fleetcomm::server {
namespace {

namespace asio = boost::asio;
using auth::Role;
using protocol::ErrorCode;

constexpr long long kDefaultExpirySeconds = 604800;  // PROTOCOL.md 4: 7 days
constexpr long long kMaxExpirySeconds = 90 * 86400;

// Who did it, as the history records it: the token's name (its id when unnamed).
std::string OperatorName(const OperatorPrincipal& principal) {
  return principal.token_name.empty() ? "token:" + std::to_string(principal.token_id) : principal.token_name;
}

asio::awaitable<HttpResponse> Queue(ServerState& state, RequestContext& context, storage::ClientKind kind) {
  auto body = JsonObjectReader::Parse(context.request, {"type", "params", "expires_in_s"});
  if (!body) co_return ErrorResponse(body.error());
  auto type = body->RequiredString("type", 64);
  if (!type) co_return ErrorResponse(type.error());
  auto expires_in = body->Integer("expires_in_s", 60, kMaxExpirySeconds);
  if (!expires_in) co_return ErrorResponse(expires_in.error());
  auto validated = ValidateAction(*type, body->Raw("params"), kind);
  if (!validated) co_return ErrorResponse(validated.error());

  storage::NewAction action;
  action.target_kind = kind;
  action.target_id = context.path_params.at("id");
  action.scope = VisibleAccounts(*context.operator_principal);
  action.type = std::move(validated->type);
  action.params = std::move(validated->params);
  action.expires_in = std::chrono::seconds(expires_in->value_or(kDefaultExpirySeconds));
  action.by = OperatorName(*context.operator_principal);
  action.release_version = std::move(validated->release_version);
  auto work = [&action, audit = ChangeEntry(context, 201)](pqxx::connection_base& c) {
    return storage::QueueAction(c, action, EntryOrNull(audit));
  };
  auto pending = RunDb<storage::QueueOutcome>(state.pool, std::move(work));
  auto outcome = co_await std::move(pending);
  if (!outcome) co_return StorageFailure(context, outcome.error());
  using storage::QueueRefusal;
  switch (outcome->refusal) {
    case QueueRefusal::kNone: break;
    case QueueRefusal::kNotFound: co_return NotFound();
    case QueueRefusal::kNotActive:
      co_return ErrorResponse(ApiError(ErrorCode::kConflict, "the target is not active"));
    case QueueRefusal::kLockdown:
      co_return ErrorResponse(ApiError(ErrorCode::kLockdown, 409, "this agent is in lockdown mode"));
    case QueueRefusal::kDisabled:
      co_return ErrorResponse(ApiError(ErrorCode::kActionDisabled, "the client has turned this action type off"));
    case QueueRefusal::kNoRelease:
      co_return ErrorResponse(ApiError(ErrorCode::kInvalidRequest,
                                       "params.version: no such release for the target's model in the catalogue"));
  }
  // The target's cached empty poll on this instance goes at once; other instances hear the
  // notification (migration 0009) a moment later.
  state.empty_polls.Invalidate(outcome->action->target_id);
  MarkRecorded(context);
  co_return Json(201, ActionJson(*outcome->action));
}

asio::awaitable<HttpResponse> List(ServerState& state, RequestContext& context) {
  auto query = ParseQuery(context.request.target());
  if (!query) co_return ErrorResponse(query.error());
  auto list = ParseListParams(*query);
  if (!list) co_return ErrorResponse(list.error());
  auto cursor = ParseNumericCursor(list->after, "after: not a cursor of this list");
  if (!cursor) co_return ErrorResponse(cursor.error());
  storage::ActionFilter filter{VisibleAccounts(*context.operator_principal), QueryValue(*query, "account"),
                               QueryValue(*query, "target"), QueryValue(*query, "state")};
  auto work = [&filter, after = *cursor, limit = list->limit](pqxx::connection_base& c) {
    return storage::ListActions(c, filter, after, limit);
  };
  auto pending = RunDb<storage::Page<storage::Action>>(state.pool, std::move(work));
  auto page = co_await std::move(pending);
  if (!page) co_return StorageFailure(context, page.error());
  co_return Json(200, PageJson(*page, ActionJson));
}

asio::awaitable<HttpResponse> Read(ServerState& state, RequestContext& context) {
  auto work = [id = context.path_params.at("id"), scope = VisibleAccounts(*context.operator_principal)](
                  pqxx::connection_base& c) { return storage::GetAction(c, id, scope); };
  auto pending = RunDb<std::optional<storage::Action>>(state.pool, std::move(work));
  auto action = co_await std::move(pending);
  if (!action) co_return StorageFailure(context, action.error());
  if (!*action) co_return NotFound();
  co_return Json(200, ActionJson(**action));
}

HttpResponse ChangeAnswer(RequestContext& context, const storage::StorageResult<storage::ChangeOutcome>& outcome,
                          const char* wrong_state) {
  if (!outcome) return StorageFailure(context, outcome.error());
  switch (outcome->refusal) {
    case storage::ChangeRefusal::kNone: break;
    case storage::ChangeRefusal::kNotFound: return NotFound();
    case storage::ChangeRefusal::kWrongState: return ErrorResponse(ApiError(ErrorCode::kConflict, wrong_state));
    case storage::ChangeRefusal::kFinal:
      return ErrorResponse(ApiError(ErrorCode::kActionFinal, "the action is already in a final state"));
  }
  MarkRecorded(context);  // the change committed with its entry
  return Json(200, ActionJson(*outcome->action));
}

asio::awaitable<HttpResponse> Authorize(ServerState& state, RequestContext& context) {
  auto body = JsonObjectReader::Parse(context.request, {"authorized_by", "reference"});
  if (!body) co_return ErrorResponse(body.error());
  auto authorized_by = body->RequiredString("authorized_by", 200);
  if (!authorized_by) co_return ErrorResponse(authorized_by.error());
  auto reference = body->RequiredString("reference", 200);
  if (!reference) co_return ErrorResponse(reference.error());
  storage::Authorisation authorisation{std::move(*authorized_by), std::move(*reference),
                                       OperatorName(*context.operator_principal)};
  auto work = [&authorisation, id = context.path_params.at("id"), scope = VisibleAccounts(*context.operator_principal),
               audit = ChangeEntry(context, 200)](pqxx::connection_base& c) {
    return storage::AuthorizeAction(c, id, scope, authorisation, EntryOrNull(audit));
  };
  auto pending = RunDb<storage::ChangeOutcome>(state.pool, std::move(work));
  auto outcome = co_await std::move(pending);
  if (outcome && outcome->action) state.empty_polls.Invalidate(outcome->action->target_id);  // as after queuing
  co_return ChangeAnswer(context, outcome, "the action is not awaiting authorisation");
}

asio::awaitable<HttpResponse> Cancel(ServerState& state, RequestContext& context) {
  auto work = [id = context.path_params.at("id"), scope = VisibleAccounts(*context.operator_principal),
               by = OperatorName(*context.operator_principal), audit = ChangeEntry(context, 200)](pqxx::connection_base& c) {
    return storage::CancelAction(c, id, scope, by, EntryOrNull(audit));
  };
  auto pending = RunDb<storage::ChangeOutcome>(state.pool, std::move(work));
  auto outcome = co_await std::move(pending);
  co_return ChangeAnswer(context, outcome, "the action cannot be cancelled now");
}

}  // namespace

void AddActionRoutes(Router& router, ServerState& state) {
  const auto readers = Roles::Of({Role::kAdmin, Role::kAuditor, Role::kAccountManager});
  const auto managers = Roles::Of({Role::kAdmin, Role::kAccountManager});
  router.Add(
      http::verb::post, "/api/v1/devices/{id}/actions", Access::kOperatorToken,
      [&state](RequestContext& context) { return Queue(state, context, storage::ClientKind::kDevice); }, managers);
  router.Add(
      http::verb::post, "/api/v1/agents/{id}/actions", Access::kOperatorToken,
      [&state](RequestContext& context) { return Queue(state, context, storage::ClientKind::kAgent); }, managers);
  router.Add(
      http::verb::get, "/api/v1/actions", Access::kOperatorToken,
      [&state](RequestContext& context) { return List(state, context); }, readers);
  router.Add(
      http::verb::get, "/api/v1/actions/{id}", Access::kOperatorToken,
      [&state](RequestContext& context) { return Read(state, context); }, readers);
  router.Add(
      http::verb::post, "/api/v1/actions/{id}/authorize", Access::kOperatorToken,
      [&state](RequestContext& context) { return Authorize(state, context); }, managers);
  router.Add(
      http::verb::post, "/api/v1/actions/{id}/cancel", Access::kOperatorToken,
      [&state](RequestContext& context) { return Cancel(state, context); }, managers);
}

}  // namespace fleetcomm::server
