#include "server/ops_routes.hpp"

#include "server/db_executor.hpp"
#include "storage/embedded.hpp"
#include "storage/migrator.hpp"

#include <nlohmann/json.hpp>

namespace fleetcomm::server {

namespace asio = boost::asio;

void AddOpsRoutes(Router& router, ServerState& state) {
  router.Add(http::verb::get, "/healthz", Access::kPublic,
             [](RequestContext&) -> asio::awaitable<HttpResponse> { co_return JsonResponse(200, R"({"status":"ok"})"); });

  router.Add(http::verb::get, "/readyz", Access::kPublic, [&state](RequestContext&) -> asio::awaitable<HttpResponse> {
    auto check = [](pqxx::connection_base& conn) { return storage::CheckSchema(conn, storage::EmbeddedMigrations()); };
    auto pending = RunDb<storage::SchemaState>(state.pool, std::move(check));
    auto schema = co_await std::move(pending);
    if (!schema) {
      // Not ready is the expected answer while the database is down: 503, never 500.
      co_return ErrorResponse(ApiError(protocol::ErrorCode::kUnavailable,
                                       schema.error().code == storage::StorageErrc::kSchemaMismatch
                                           ? "database schema is not the one this build expects"
                                           : "database unreachable",
                                       schema.error().detail));
    }
    nlohmann::json body = {{"status", "ready"}, {"schema_version", schema->applied_version}};
    co_return JsonResponse(200, body.dump());
  });

  router.Add(http::verb::get, "/metrics", Access::kPublic, [&state](RequestContext&) -> asio::awaitable<HttpResponse> {
    HttpResponse response{http::status::ok, 11};
    response.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
    response.body() = state.metrics.Serialize(state.pool.Stats());
    co_return response;
  });
}

}  // namespace fleetcomm::server
