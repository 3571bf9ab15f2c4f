#include "server/software_routes.hpp"

#include "protocol/report_values.hpp"
#include "protocol/software_version.hpp"
#include "server/audit_entries.hpp"
#include "server/db_executor.hpp"
#include "server/json_input.hpp"
#include "server/representations.hpp"
#include "storage/software.hpp"

namespace fleetcomm::server {
namespace {

namespace asio = boost::asio;
using nlohmann::json;
using protocol::ErrorCode;

ApiError Invalid(std::string message) { return ApiError(ErrorCode::kInvalidRequest, std::move(message)); }

bool IsSha256Hex(std::string& text) {
  if (text.size() != 64) return false;
  for (char& c : text) {
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

Parsed<storage::NewSoftwareRelease> ReadRelease(const RequestContext& context) {
  auto body = JsonObjectReader::Parse(context.request,
                                      {"model", "version", "url", "sha256", "size", "min_firmware", "install_after"});
  if (!body) return body.error();
  auto model = body->RequiredString("model", 200);
  if (!model) return model.error();
  auto version = body->RequiredString("version", 100);
  if (!version) return version.error();
  auto url = body->RequiredString("url", 2048);
  if (!url) return url.error();
  auto sha256 = body->RequiredString("sha256", 64);
  if (!sha256) return sha256.error();
  auto size = body->Integer("size", 0, 1LL << 53);
  if (!size) return size.error();
  auto min_firmware = body->String("min_firmware", 100);
  if (!min_firmware) return min_firmware.error();
  auto install_after = body->String("install_after", 64);
  if (!install_after) return install_after.error();

  storage::NewSoftwareRelease release;
  auto version_key = protocol::VersionKey(*version);
  if (!version_key) return Invalid("version must be numbers separated by dots, such as 1.2.3");
  if (url->rfind("https://", 0) != 0) return Invalid("url must be an https:// URL");
  if (!IsSha256Hex(*sha256)) return Invalid("sha256 must be 64 hexadecimal digits");
  if (!*size) return Invalid("size is required");
  if (*min_firmware) {
    auto key = protocol::VersionKey(**min_firmware);
    if (!key) return Invalid("min_firmware must be numbers separated by dots, such as 1.2.3");
    release.min_firmware_key = std::move(*key);
  }
  if (*install_after && !protocol::values::IsTime(**install_after)) {
    return Invalid("install_after must be an RFC 3339 time with an offset");
  }
  release.model = std::move(*model);
  release.version = std::move(*version);
  release.version_key = std::move(*version_key);
  release.url = std::move(*url);
  release.sha256 = std::move(*sha256);
  release.size = **size;
  release.min_firmware = std::move(*min_firmware);
  release.install_after = std::move(*install_after);
  return release;
}

json ReleaseJson(const storage::SoftwareRelease& r) {
  return {{"id", r.id},
          {"model", r.model},
          {"version", r.version},
          {"url", r.url},
          {"sha256", r.sha256},
          {"size", r.size},
          {"min_firmware", r.min_firmware ? json(*r.min_firmware) : json(nullptr)},
          {"install_after", r.install_after},
          {"created_at", r.created_at}};
}

asio::awaitable<HttpResponse> AddRelease(ServerState& state, RequestContext& context) {
  auto release = ReadRelease(context);
  if (!release) co_return ErrorResponse(release.error());
  auto work = [&release, audit = ChangeEntry(context, 201)](pqxx::connection_base& c) {
    return storage::AddSoftwareRelease(c, *release, EntryOrNull(audit));
  };
  auto pending = RunDb<storage::SoftwareRelease>(state.pool, std::move(work));
  auto added = co_await std::move(pending);
  if (!added) {
    if (added.error().code == storage::StorageErrc::kConflict) {
      co_return ErrorResponse(ApiError(ErrorCode::kConflict, "this model already has this version"));
    }
    co_return StorageFailure(context, added.error());
  }
  MarkRecorded(context);
  co_return Json(201, ReleaseJson(*added));
}

HttpResponse NoContent() {
  HttpResponse response{http::status::no_content, 11};
  response.set(http::field::cache_control, "no-store");
  return response;
}

asio::awaitable<HttpResponse> Offer(ServerState& state, RequestContext& context) {
  auto query = ParseQuery(context.request.target());
  if (!query) co_return ErrorResponse(query.error());
  auto model = query->find("model");
  auto firmware = query->find("firmware");
  if (model == query->end() || model->second.empty() || model->second.size() > 200) {
    co_return ErrorResponse(Invalid("model is required (at most 200 bytes)"));
  }
  if (firmware == query->end()) co_return ErrorResponse(Invalid("firmware is required"));
  auto firmware_key = protocol::VersionKey(firmware->second);
  if (!firmware_key) co_return ErrorResponse(Invalid("firmware must be numbers separated by dots, such as 1.2.3"));
  auto work = [account = context.client->account_id.value_or(""), model = model->second,
               key = std::move(*firmware_key)](pqxx::connection_base& c) {
    return storage::FindSoftwareUpdate(c, account, model, key);
  };
  auto pending = RunDb<storage::SoftwareOffer>(state.pool, std::move(work));
  auto offer = co_await std::move(pending);
  if (!offer) co_return StorageFailure(context, offer.error());
  if (!offer->updates_enabled || !offer->release) co_return NoContent();
  const auto& r = *offer->release;
  co_return Json(200, {{"version", r.version}, {"url", r.url}, {"sha256", r.sha256}, {"size", r.size},
                       {"install_after", r.install_after}});
}

}  // namespace

void AddSoftwareOperatorRoutes(Router& router, ServerState& state) {
  router.Add(
      http::verb::post, "/api/v1/software", Access::kOperatorToken,
      [&state](RequestContext& context) { return AddRelease(state, context); }, Roles::Of({auth::Role::kAdmin}));
}

void AddSoftwareDeviceRoutes(Router& router, ServerState& state) {
  router.Add(http::verb::get, "/rs/v1/software", Access::kActiveClient,
             [&state](RequestContext& context) { return Offer(state, context); });
}

}  // namespace fleetcomm::server
