#include "server/feed_routes.hpp"

#include "server/audit_entries.hpp"
#include "server/db_executor.hpp"
#include "server/json_input.hpp"
#include "server/representations.hpp"
#include "storage/feeds.hpp"
#include "storage/supply_orders.hpp"

namespace fleetcomm::server {
namespace {

namespace asio = boost::asio;
using auth::Role;

// A cursor is the feed position of an item, as `next` gave it: a whole number.
Handler FeedHandler(ServerState& state, storage::Feed feed) {
  return [&state, feed](RequestContext& context) -> asio::awaitable<HttpResponse> {
    auto query = ParseQuery(context.request.target());
    if (!query) co_return ErrorResponse(query.error());
    auto list = ParseListParams(*query);
    if (!list) co_return ErrorResponse(list.error());
    auto cursor = ParseNumericCursor(list->after, "after must be a cursor that next gave");
    if (!cursor) co_return ErrorResponse(cursor.error());
    auto work = [feed, after = *cursor, limit = list->limit](pqxx::connection_base& c) {
      return storage::ReadFeed(c, feed, after, limit);
    };
    auto pending = RunDb<storage::FeedPage>(state.pool, std::move(work));
    auto page = co_await std::move(pending);
    if (!page) co_return StorageFailure(context, page.error());
    // The items arrive as one JSON array from the database: no re-parsing per item.
    std::string body = "{\"items\":" + page->items + ",\"next\":" + (page->next ? "\"" + *page->next + "\"" : "null") + "}";
    co_return JsonResponse(200, std::move(body));
  };
}

Handler OrderStatusHandler(ServerState& state) {
  return [&state](RequestContext& context) -> asio::awaitable<HttpResponse> {
    auto body = JsonObjectReader::Parse(context.request, {"status"});
    if (!body) co_return ErrorResponse(body.error());
    auto status = body->RequiredString("status", 20);
    if (!status) co_return ErrorResponse(status.error());
    if (*status != "shipped" && *status != "cancelled") {
      const ApiError invalid(protocol::ErrorCode::kInvalidRequest, "status must be shipped or cancelled");
      co_return ErrorResponse(invalid);
    }
    auto work = [id = context.path_params.at("id"), wanted = *status,
                 audit = ChangeEntry(context, 200)](pqxx::connection_base& c) {
      return storage::SetSupplyOrderStatus(c, id, wanted, EntryOrNull(audit));
    };
    auto pending = RunDb<storage::OrderStatusOutcome>(state.pool, std::move(work));
    auto outcome = co_await std::move(pending);
    if (!outcome) co_return StorageFailure(context, outcome.error());
    if (*outcome == storage::OrderStatusOutcome::kNotFound) co_return NotFound();
    if (*outcome == storage::OrderStatusOutcome::kConflict) {
      const ApiError conflict(protocol::ErrorCode::kConflict,
                              "the order cannot take that status (shipped needs an opened order; fulfilled and "
                              "cancelled orders are final)");
      co_return ErrorResponse(conflict);
    }
    if (*outcome == storage::OrderStatusOutcome::kChanged) MarkRecorded(context);  // committed with the change
    nlohmann::json answer = {{"id", context.path_params.at("id")}, {"status", *status}};
    co_return Json(200, answer);
  };
}

}  // namespace

// Feeds carry every account's items: they are for downstream jobs (consumer) and admins.
// Account managers and auditors are refused (403), rather than served a filtered feed whose
// positions would leak other accounts' activity.
void AddFeedRoutes(Router& router, ServerState& state) {
  const auto readers = Roles::Of({Role::kAdmin, Role::kConsumer});
  router.Add(http::verb::get, "/api/v1/feeds/meter-reads", Access::kOperatorToken,
             FeedHandler(state, storage::Feed::kMeterReads), readers);
  router.Add(http::verb::get, "/api/v1/feeds/supply-orders", Access::kOperatorToken,
             FeedHandler(state, storage::Feed::kSupplyOrders), readers);
  router.Add(http::verb::get, "/api/v1/feeds/service-events", Access::kOperatorToken,
             FeedHandler(state, storage::Feed::kServiceEvents), readers);
  // Downstream replenishment reports what it did with an order; each change is a feed event.
  router.Add(http::verb::post, "/api/v1/supply-orders/{id}/status", Access::kOperatorToken, OrderStatusHandler(state),
             readers);
}

}  // namespace fleetcomm::server
