#include "server/agent_admin_routes.hpp"

#include "server/audit_entries.hpp"
#include "server/db_executor.hpp"
#include "server/json_input.hpp"
#include "server/log.hpp"
#include "server/operator_scope.hpp"
#include "server/representations.hpp"

namespace fleetcomm::server {
namespace {

namespace asio = boost::asio;
using auth::Role;

// Reads an agent the principal may see; nullopt (-> 404) for absent and out-of-scope alike.
asio::awaitable<storage::StorageResult<std::optional<storage::Agent>>> VisibleAgent(ServerState& state,
                                                                                    const RequestContext& context) {
  auto work = [id = context.path_params.at("id")](pqxx::connection_base& c) { return storage::GetAgent(c, id); };
  auto pending = RunDb<std::optional<storage::Agent>>(state.pool, std::move(work));
  auto agent = co_await std::move(pending);
  if (agent && *agent && !CanSeeAccount(*context.operator_principal, (*agent)->account_id)) {
    co_return std::optional<storage::Agent>{};
  }
  co_return agent;
}

}  // namespace

void AddAgentAdminRoutes(Router& router, ServerState& state) {
  const auto readers = Roles::Of({Role::kAdmin, Role::kAuditor, Role::kAccountManager});
  const auto managers = Roles::Of({Role::kAdmin, Role::kAccountManager});

  router.Add(
      http::verb::get, "/api/v1/agents", Access::kOperatorToken,
      [&state](RequestContext& context) -> asio::awaitable<HttpResponse> {
        auto query = ParseQuery(context.request.target());
        if (!query) co_return ErrorResponse(query.error());
        auto list = ParseListParams(*query);
        if (!list) co_return ErrorResponse(list.error());
        storage::AgentFilter filter{VisibleAccounts(*context.operator_principal), QueryValue(*query, "account"),
                                    QueryValue(*query, "state")};
        auto work = [filter = std::move(filter), p = *list](pqxx::connection_base& c) {
          return storage::ListAgents(c, filter, p.after, p.limit);
        };
        auto pending = RunDb<storage::Page<storage::Agent>>(state.pool, std::move(work));
        auto page = co_await std::move(pending);
        if (!page) co_return StorageFailure(context, page.error());
        co_return Json(200, PageJson(*page, AgentJson));
      },
      readers);

  router.Add(
      http::verb::get, "/api/v1/agents/{id}", Access::kOperatorToken,
      [&state](RequestContext& context) -> asio::awaitable<HttpResponse> {
        auto agent = co_await VisibleAgent(state, context);
        if (!agent) co_return StorageFailure(context, agent.error());
        if (!*agent) co_return NotFound();
        co_return Json(200, AgentJson(**agent));
      },
      readers);

  // Takes effect on the device listener within device.identity_cache_seconds, on every
  // instance: each connection looks its identity up again once its cache entry is stale.
  router.Add(
      http::verb::post, "/api/v1/agents/{id}/revoke", Access::kOperatorToken,
      [&state](RequestContext& context) -> asio::awaitable<HttpResponse> {
        auto visible = co_await VisibleAgent(state, context);
        if (!visible) co_return StorageFailure(context, visible.error());
        if (!*visible) co_return NotFound();
        auto work = [id = (*visible)->id, audit = ChangeEntry(context, 200)](pqxx::connection_base& c) {
          return storage::RevokeAgent(c, id, EntryOrNull(audit));
        };
        auto pending = RunDb<std::optional<storage::AgentRevocation>>(state.pool, std::move(work));
        auto revoked = co_await std::move(pending);
        if (!revoked) co_return StorageFailure(context, revoked.error());
        if (!*revoked) co_return NotFound();
        MarkRecorded(context);
        const auto& agent = (*revoked)->agent;
        // This instance at once; the others when the notification (migration 0009) arrives.
        state.identities.Invalidate(agent.id);
        Log(LogLevel::kInfo, "agent_revoked",
            {{"request_id", context.request_id}, {"agent", agent.id}, {"account", agent.account_id},
             {"by", context.operator_principal->token_name}, {"already_revoked", (*revoked)->newly_revoked ? "false" : "true"}});
        co_return Json(200, AgentJson(agent));
      },
      managers);
}

}  // namespace fleetcomm::server
