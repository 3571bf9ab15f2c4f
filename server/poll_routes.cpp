#include "server/poll_routes.hpp"

#include "server/action_json.hpp"
#include "server/audit_entries.hpp"
#include "server/db_executor.hpp"
#include "server/json_input.hpp"
#include "server/next_poll.hpp"
#include "server/representations.hpp"
#include "storage/action_delivery.hpp"

namespace fleetcomm::server {
namespace {

namespace asio = boost::asio;
using nlohmann::json;
using protocol::ErrorCode;

constexpr std::size_t kMaxResultMessageBytes = 4096;
constexpr std::size_t kMaxResultDataBytes = 64 * 1024;

storage::DeliveryPolicy PolicyOf(const Config& config) {
  return {config.action_lease, config.action_result_deadline, config.action_max_per_poll};
}

HttpResponse PollAnswer(const ServerState& state, json actions, int poll_interval_s) {
  return Json(200, {{"actions", std::move(actions)},
                    {"next_poll_s", JitteredPollSeconds(poll_interval_s, state.config.poll_jitter_percent)}});
}

// An empty answer from the instance's cache costs no database round trip; see
// server/empty_poll_cache.hpp for why it stays right across instances and leases.
asio::awaitable<HttpResponse> Poll(ServerState& state, RequestContext& context) {
  // R4.4: lockdown agents only synchronise printer data.
  if (context.client->lockdown) {
    co_return ErrorResponse(ApiError(ErrorCode::kLockdown, "this agent is in lockdown mode and does not poll"));
  }
  const storage::ClientIdentity& client = *context.client;
  const std::string account = client.account_id.value_or("");
  EmptyPollCache::Ticket ticket;
  if (state.empty_polls.Enabled()) {
    if (const auto interval = state.empty_polls.Lookup(client.id, account, ticket)) {
      state.metrics.PollCacheUsed(ServerMetrics::PollCacheResult::kHit);
      co_return PollAnswer(state, json::array(), *interval);
    }
    state.metrics.PollCacheUsed(ticket.storable ? ServerMetrics::PollCacheResult::kMiss
                                                : ServerMetrics::PollCacheResult::kBypass);
  }
  // A poll that delivers changes the actions: its entry commits with them.
  auto work = [client, policy = PolicyOf(state.config), audit = ChangeEntry(context, 200)](pqxx::connection_base& c) {
    return storage::PollActions(c, client, policy, EntryOrNull(audit));
  };
  auto pending = RunDb<storage::PollOutcome>(state.pool, std::move(work));
  auto polled = co_await std::move(pending);
  if (!polled) co_return StorageFailure(context, polled.error());
  if (polled->audit_recorded) MarkRecorded(context);
  if (ticket.storable) {
    // No lease in force and nothing left: quiet until a notification (or the TTL).
    state.empty_polls.StoreEmpty(ticket, client.id, account, polled->poll_interval_s,
                                 polled->quiet_for.value_or(std::chrono::milliseconds::max()));
  }
  json actions = json::array();
  for (const auto& action : polled->actions) actions.push_back(ClientActionJson(action));
  co_return PollAnswer(state, std::move(actions), polled->poll_interval_s);
}

Parsed<storage::ActionResult> ReadResult(const RequestContext& context) {
  auto body = JsonObjectReader::Parse(context.request, {"status", "message", "data"});
  if (!body) return body.error();
  auto status = body->RequiredString("status", 32);
  if (!status) return status.error();
  if (*status != "succeeded" && *status != "failed" && *status != "rejected" && *status != "in_progress") {
    return ApiError(ErrorCode::kInvalidRequest, "status must be succeeded, failed, rejected or in_progress");
  }
  auto message = body->String("message", kMaxResultMessageBytes, true);
  if (!message) return message.error();
  storage::ActionResult result{std::move(*status), std::move(*message), std::nullopt};
  if (const json* data = body->Raw("data"); data != nullptr && !data->is_null()) {
    if (!data->is_object()) return ApiError(ErrorCode::kInvalidRequest, "data must be a JSON object");
    result.data = data->dump(-1, ' ', false, json::error_handler_t::replace);
    if (result.data->size() > kMaxResultDataBytes) {
      return ApiError(ErrorCode::kInvalidRequest, "data is larger than 64 KiB");
    }
  }
  return result;
}

asio::awaitable<HttpResponse> PostResult(ServerState& state, RequestContext& context) {
  auto result = ReadResult(context);
  if (!result) co_return ErrorResponse(result.error());
  const std::string id = context.path_params.at("id");
  auto work = [&result, &id, client = *context.client, policy = PolicyOf(state.config),
               audit = ChangeEntry(context, 200)](pqxx::connection_base& c) {
    return storage::PostActionResult(c, client, id, *result, policy, EntryOrNull(audit));
  };
  auto pending = RunDb<storage::ResultOutcome>(state.pool, std::move(work));
  auto outcome = co_await std::move(pending);
  if (!outcome) co_return StorageFailure(context, outcome.error());
  switch (outcome->refusal) {
    case storage::ResultRefusal::kNone: break;
    case storage::ResultRefusal::kNotFound: co_return NotFound();
    case storage::ResultRefusal::kFinal:
      co_return ErrorResponse(ApiError(ErrorCode::kActionFinal, "the action is already " + outcome->state));
    case storage::ResultRefusal::kNotDelivered:
      co_return ErrorResponse(ApiError(ErrorCode::kConflict, "the action has not been delivered"));
  }
  if (outcome->audit_recorded) MarkRecorded(context);  // committed with the result
  co_return Json(200, {{"id", id}, {"state", outcome->state}});
}

}  // namespace

void AddPollRoutes(Router& router, ServerState& state) {
  router.Add(http::verb::get, "/rs/v1/actions", Access::kActiveClient,
             [&state](RequestContext& context) { return Poll(state, context); });
  router.Add(http::verb::post, "/rs/v1/actions/{id}/result", Access::kActiveClient,
             [&state](RequestContext& context) { return PostResult(state, context); });
}

}  // namespace fleetcomm::server
