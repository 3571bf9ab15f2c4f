#include "server/device_admin_routes.hpp"

#include "server/audit_entries.hpp"
#include "server/db_executor.hpp"
#include "server/device_detail.hpp"
#include "server/json_input.hpp"
#include "server/log.hpp"
#include "server/operator_scope.hpp"
#include "server/representations.hpp"
#include "storage/device_readings.hpp"

namespace fleetcomm::server {
namespace {

namespace asio = boost::asio;
using auth::Role;
using protocol::ErrorCode;

// Reads a device the principal may see; nullopt (-> 404) for absent and out-of-scope alike.
asio::awaitable<storage::StorageResult<std::optional<storage::Device>>> VisibleDevice(ServerState& state,
                                                                                      const RequestContext& context) {
  auto work = [id = context.path_params.at("id")](pqxx::connection_base& c) { return storage::GetDevice(c, id); };
  auto pending = RunDb<std::optional<storage::Device>>(state.pool, std::move(work));
  auto device = co_await std::move(pending);
  if (device && *device && !CanSeeAccount(*context.operator_principal, (*device)->account_id)) {
    co_return std::optional<storage::Device>{};
  }
  co_return device;
}

}  // namespace

void AddDeviceAdminRoutes(Router& router, ServerState& state) {
  const auto readers = Roles::Of({Role::kAdmin, Role::kAuditor, Role::kAccountManager});
  const auto managers = Roles::Of({Role::kAdmin, Role::kAccountManager});

  router.Add(
      http::verb::post, "/api/v1/accounts/{id}/devices", Access::kOperatorToken,
      [&state](RequestContext& context) -> asio::awaitable<HttpResponse> {
        const std::string account_id = context.path_params.at("id");
        if (!CanSeeAccount(*context.operator_principal, account_id)) co_return NotFound();
        auto body = JsonObjectReader::Parse(context.request, {"serial", "manufacturer"});
        if (!body) co_return ErrorResponse(body.error());
        auto serial = body->RequiredString("serial", 128);
        if (!serial) co_return ErrorResponse(serial.error());
        auto manufacturer = body->RequiredString("manufacturer", 100);
        if (!manufacturer) co_return ErrorResponse(manufacturer.error());
        auto check = [account_id](pqxx::connection_base& c) { return storage::GetAccount(c, account_id); };
        auto pending_account = RunDb<std::optional<storage::Account>>(state.pool, std::move(check));
        auto account = co_await std::move(pending_account);
        if (!account) co_return StorageFailure(context, account.error());
        if (!*account) co_return NotFound();
        auto work = [account_id, m = *manufacturer, s = *serial, audit = ChangeEntry(context, 201)](
                        pqxx::connection_base& c) { return storage::ProvisionDevice(c, account_id, m, s, EntryOrNull(audit)); };
        auto pending = RunDb<storage::Device>(state.pool, std::move(work));
        auto device = co_await std::move(pending);
        if (!device) {
          if (device.error().code == storage::StorageErrc::kConflict) {
            co_return ErrorResponse(ApiError(ErrorCode::kConflict, "this device is registered elsewhere or revoked"));
          }
          co_return StorageFailure(context, device.error());
        }
        MarkRecorded(context);
        co_return Json(201, DeviceJson(*device));
      },
      managers);

  router.Add(
      http::verb::get, "/api/v1/devices", Access::kOperatorToken,
      [&state](RequestContext& context) -> asio::awaitable<HttpResponse> {
        auto query = ParseQuery(context.request.target());
        if (!query) co_return ErrorResponse(query.error());
        auto list = ParseListParams(*query);
        if (!list) co_return ErrorResponse(list.error());
        storage::DeviceFilter filter{VisibleAccounts(*context.operator_principal), QueryValue(*query, "account"),
                                     QueryValue(*query, "state"), QueryValue(*query, "serial")};
        auto work = [filter = std::move(filter), p = *list](pqxx::connection_base& c) {
          return storage::ListDevices(c, filter, p.after, p.limit);
        };
        auto pending = RunDb<storage::Page<storage::Device>>(state.pool, std::move(work));
        auto page = co_await std::move(pending);
        if (!page) co_return StorageFailure(context, page.error());
        co_return Json(200, PageJson(*page, DeviceJson));
      },
      readers);

  router.Add(
      http::verb::get, "/api/v1/devices/{id}", Access::kOperatorToken,
      [&state](RequestContext& context) -> asio::awaitable<HttpResponse> {
        auto device = co_await VisibleDevice(state, context);
        if (!device) co_return StorageFailure(context, device.error());
        if (!*device) co_return NotFound();
        auto work = [id = (*device)->id](pqxx::connection_base& c) { return storage::DeviceReadingsDocument(c, id); };
        auto pending = RunDb<std::string>(state.pool, std::move(work));
        auto readings = co_await std::move(pending);
        if (!readings) co_return StorageFailure(context, readings.error());
        co_return Json(200, DeviceDetailJson(**device, nlohmann::json::parse(*readings)));
      },
      readers);

  // Only roles that see every account see pending devices, so only they can assign one.
  router.Add(
      http::verb::post, "/api/v1/devices/{id}/assign", Access::kOperatorToken,
      [&state](RequestContext& context) -> asio::awaitable<HttpResponse> {
        auto body = JsonObjectReader::Parse(context.request, {"account_id"});
        if (!body) co_return ErrorResponse(body.error());
        auto account_id = body->RequiredString("account_id", 64);
        if (!account_id) co_return ErrorResponse(account_id.error());
        auto work = [id = context.path_params.at("id"), a = *account_id, audit = ChangeEntry(context, 200)](
                        pqxx::connection_base& c) { return storage::AssignDevice(c, id, a, EntryOrNull(audit)); };
        auto pending = RunDb<std::optional<storage::Device>>(state.pool, std::move(work));
        auto device = co_await std::move(pending);
        if (!device) {
          if (device.error().code == storage::StorageErrc::kConflict) {
            co_return ErrorResponse(ApiError(ErrorCode::kConflict, "only a pending device can be assigned"));
          }
          if (device.error().code == storage::StorageErrc::kInvalid) {
            co_return ErrorResponse(ApiError(ErrorCode::kInvalidRequest, "no such account"));
          }
          co_return StorageFailure(context, device.error());
        }
        if (!*device) co_return NotFound();
        MarkRecorded(context);
        co_return Json(200, DeviceJson(**device));
      },
      Roles::Of({Role::kAdmin}));

  router.Add(
      http::verb::post, "/api/v1/devices/{id}/revoke", Access::kOperatorToken,
      [&state](RequestContext& context) -> asio::awaitable<HttpResponse> {
        auto visible = co_await VisibleDevice(state, context);
        if (!visible) co_return StorageFailure(context, visible.error());
        if (!*visible) co_return NotFound();
        auto work = [id = (*visible)->id, audit = ChangeEntry(context, 200)](pqxx::connection_base& c) {
          return storage::RevokeDevice(c, id, EntryOrNull(audit));
        };
        auto pending = RunDb<std::optional<storage::Device>>(state.pool, std::move(work));
        auto device = co_await std::move(pending);
        if (!device) co_return StorageFailure(context, device.error());
        if (!*device) co_return NotFound();
        // This instance at once; the others when the notification (migration 0009) arrives.
        state.identities.Invalidate((*device)->id);
        MarkRecorded(context);
        Log(LogLevel::kInfo, "device_revoked",
            {{"request_id", context.request_id}, {"device", (*device)->id},
             {"by", context.operator_principal->token_name}});
        co_return Json(200, DeviceJson(**device));
      },
      managers);
}

}  // namespace fleetcomm::server
