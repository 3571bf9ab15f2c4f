#include "server/operator_routes.hpp"

#include "server/account_routes.hpp"
#include "server/agent_admin_routes.hpp"
#include "server/audit_routes.hpp"
#include "server/action_routes.hpp"
#include "server/device_admin_routes.hpp"
#include "server/feed_routes.hpp"
#include "server/software_routes.hpp"

#include <nlohmann/json.hpp>

namespace fleetcomm::server {

namespace asio = boost::asio;

void AddOperatorRoutes(Router& router, ServerState& state) {
  AddAccountRoutes(router, state);
  AddDeviceAdminRoutes(router, state);
  AddAgentAdminRoutes(router, state);
  AddActionRoutes(router, state);
  AddSoftwareOperatorRoutes(router, state);
  AddFeedRoutes(router, state);
  AddAuditRoutes(router, state);
  // Token introspection: lets an operator's tool check which role and accounts its token
  // carries (documented in docs/api-extensions.md; PROTOCOL.md is silent on it).
  router.Add(http::verb::get, "/api/v1/token", Access::kOperatorToken,
             [](RequestContext& context) -> asio::awaitable<HttpResponse> {
               const auto& principal = *context.operator_principal;
               nlohmann::json body = {{"name", principal.token_name},
                                      {"role", auth::RoleName(principal.role)},
                                      {"accounts", principal.account_ids}};
               co_return JsonResponse(200, body.dump());
             });
}

}  // namespace fleetcomm::server
