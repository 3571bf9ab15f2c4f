#include "server/account_routes.hpp"

#include "auth/operator_token.hpp"
#include "server/audit_entries.hpp"
#include "server/db_executor.hpp"
#include "server/json_input.hpp"
#include "server/operator_scope.hpp"
#include "server/representations.hpp"

namespace fleetcomm::server {
namespace {

namespace asio = boost::asio;
using auth::Role;
constexpr long long kMaxKeyLifetimeSeconds = 10LL * 366 * 24 * 3600;

Parsed<storage::AccountFields> ReadAccountFields(const HttpRequest& request, bool creating) {
  auto body = JsonObjectReader::Parse(request, {"name", "meter_billing", "supplies_contract", "remote_software_updates",
                                                "debug_data_consent", "job_data_consent", "supply_low_percent",
                                                "poll_interval_s"});
  if (!body) return body.error();
  storage::AccountFields fields;
  if (creating) {
    auto name = body->RequiredString("name", 200);
    if (!name) return name.error();
    fields.name = std::move(*name);
  } else {
    auto name = body->String("name", 200);
    if (!name) return name.error();
    if (*name && (*name)->empty()) return ApiError(protocol::ErrorCode::kInvalidRequest, "name must not be empty");
    fields.name = std::move(*name);
  }
  struct Flag {
    const char* name;
    std::optional<bool> storage::AccountFields::*member;
  };
  for (const Flag& flag : {Flag{"meter_billing", &storage::AccountFields::meter_billing},
                           Flag{"supplies_contract", &storage::AccountFields::supplies_contract},
                           Flag{"remote_software_updates", &storage::AccountFields::remote_software_updates},
                           Flag{"debug_data_consent", &storage::AccountFields::debug_data_consent},
                           Flag{"job_data_consent", &storage::AccountFields::job_data_consent}}) {
    auto value = body->Bool(flag.name);
    if (!value) return value.error();
    fields.*flag.member = *value;
  }
  auto percent = body->Integer("supply_low_percent", 0, 100);
  if (!percent) return percent.error();
  if (*percent) fields.supply_low_percent = static_cast<int>(**percent);
  auto poll = body->Integer("poll_interval_s", 60, 604800);
  if (!poll) return poll.error();
  if (*poll) fields.poll_interval_s = static_cast<int>(**poll);
  return fields;
}

}  // namespace

void AddAccountRoutes(Router& router, ServerState& state) {
  const auto readers = Roles::Of({Role::kAdmin, Role::kAuditor, Role::kAccountManager});
  const auto managers = Roles::Of({Role::kAdmin, Role::kAccountManager});

  router.Add(
      http::verb::post, "/api/v1/accounts", Access::kOperatorToken,
      [&state](RequestContext& context) -> asio::awaitable<HttpResponse> {
        auto fields = ReadAccountFields(context.request, true);
        if (!fields) co_return ErrorResponse(fields.error());
        auto work = [f = std::move(*fields), audit = ChangeEntry(context, 201)](pqxx::connection_base& c) {
          return storage::CreateAccount(c, f, EntryOrNull(audit));
        };
        auto pending = RunDb<storage::Account>(state.pool, std::move(work));
        auto created = co_await std::move(pending);
        if (!created) co_return StorageFailure(context, created.error());
        MarkRecorded(context);
        co_return Json(201, AccountJson(*created));
      },
      Roles::Of({Role::kAdmin}));

  router.Add(
      http::verb::get, "/api/v1/accounts", Access::kOperatorToken,
      [&state](RequestContext& context) -> asio::awaitable<HttpResponse> {
        auto query = ParseQuery(context.request.target());
        if (!query) co_return ErrorResponse(query.error());
        auto list = ParseListParams(*query);
        if (!list) co_return ErrorResponse(list.error());
        auto work = [scope = VisibleAccounts(*context.operator_principal), p = *list](pqxx::connection_base& c) {
          return storage::ListAccounts(c, scope, p.after, p.limit);
        };
        auto pending = RunDb<storage::Page<storage::Account>>(state.pool, std::move(work));
        auto page = co_await std::move(pending);
        if (!page) co_return StorageFailure(context, page.error());
        co_return Json(200, PageJson(*page, AccountJson));
      },
      readers);

  router.Add(
      http::verb::get, "/api/v1/accounts/{id}", Access::kOperatorToken,
      [&state](RequestContext& context) -> asio::awaitable<HttpResponse> {
        const std::string id = context.path_params.at("id");
        if (!CanSeeAccount(*context.operator_principal, id)) co_return NotFound();
        auto work = [id](pqxx::connection_base& c) { return storage::GetAccount(c, id); };
        auto pending = RunDb<std::optional<storage::Account>>(state.pool, std::move(work));
        auto account = co_await std::move(pending);
        if (!account) co_return StorageFailure(context, account.error());
        if (!*account) co_return NotFound();
        co_return Json(200, AccountJson(**account));
      },
      readers);

  router.Add(
      http::verb::patch, "/api/v1/accounts/{id}", Access::kOperatorToken,
      [&state](RequestContext& context) -> asio::awaitable<HttpResponse> {
        const std::string id = context.path_params.at("id");
        if (!CanSeeAccount(*context.operator_principal, id)) co_return NotFound();
        auto fields = ReadAccountFields(context.request, false);
        if (!fields) co_return ErrorResponse(fields.error());
        auto work = [id, f = std::move(*fields), audit = ChangeEntry(context, 200)](pqxx::connection_base& c) {
          return storage::PatchAccount(c, id, f, EntryOrNull(audit));
        };
        auto pending = RunDb<std::optional<storage::Account>>(state.pool, std::move(work));
        auto account = co_await std::move(pending);
        if (!account) co_return StorageFailure(context, account.error());
        if (!*account) co_return NotFound();
        // Cached empty polls carry the poll interval: this instance forgets them at once,
        // the others on the notification (migration 0009).
        state.empty_polls.Invalidate(id);
        MarkRecorded(context);
        co_return Json(200, AccountJson(**account));
      },
      managers);

  router.Add(
      http::verb::post, "/api/v1/accounts/{id}/registration-keys", Access::kOperatorToken,
      [&state](RequestContext& context) -> asio::awaitable<HttpResponse> {
        const std::string id = context.path_params.at("id");
        if (!CanSeeAccount(*context.operator_principal, id)) co_return NotFound();
        auto body = JsonObjectReader::Parse(context.request, {"expires_in_s", "max_uses"});
        if (!body) co_return ErrorResponse(body.error());
        auto expires = body->Integer("expires_in_s", 60, kMaxKeyLifetimeSeconds);
        if (!expires) co_return ErrorResponse(expires.error());
        auto max_uses = body->Integer("max_uses", 1, 1000000);
        if (!max_uses) co_return ErrorResponse(max_uses.error());
        // The secret exists only in this answer; the database keeps its digest.
        const std::string secret = auth::GenerateRegistrationKey();
        storage::NewRegistrationKey key{id, auth::SecretDigest(secret), *expires,
                                        *max_uses ? std::optional<int>(static_cast<int>(**max_uses)) : std::nullopt};
        auto work = [key = std::move(key), audit = ChangeEntry(context, 201)](pqxx::connection_base& c) {
          return storage::CreateRegistrationKey(c, key, EntryOrNull(audit));
        };
        auto pending = RunDb<std::string>(state.pool, std::move(work));
        auto key_id = co_await std::move(pending);
        if (!key_id) {
          if (key_id.error().code == storage::StorageErrc::kNotFound) co_return NotFound();
          co_return StorageFailure(context, key_id.error());
        }
        MarkRecorded(context);
        nlohmann::json answer = {{"id", *key_id}, {"secret", secret}, {"account_id", id},
                                 {"expires_in_s", *expires ? nlohmann::json(**expires) : nlohmann::json(nullptr)},
                                 {"max_uses", *max_uses ? nlohmann::json(**max_uses) : nlohmann::json(nullptr)}};
        co_return Json(201, answer);
      },
      managers);

  router.Add(
      http::verb::delete_, "/api/v1/accounts/{id}/registration-keys/{kid}", Access::kOperatorToken,
      [&state](RequestContext& context) -> asio::awaitable<HttpResponse> {
        const std::string id = context.path_params.at("id");
        const std::string key_id = context.path_params.at("kid");
        if (!CanSeeAccount(*context.operator_principal, id)) co_return NotFound();
        auto work = [id, key_id, audit = ChangeEntry(context, 200)](pqxx::connection_base& c) {
          return storage::RevokeRegistrationKey(c, id, key_id, EntryOrNull(audit));
        };
        auto pending = RunDb<bool>(state.pool, std::move(work));
        auto revoked = co_await std::move(pending);
        if (!revoked) co_return StorageFailure(context, revoked.error());
        if (!*revoked) co_return NotFound();
        MarkRecorded(context);
        co_return Json(200, {{"id", key_id}, {"revoked", true}});
      },
      managers);
}

}  // namespace fleetcomm::server
