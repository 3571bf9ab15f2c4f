#include "server/device_routes.hpp"

#include "server/audit_entries.hpp"
#include "server/db_executor.hpp"
#include "server/enrollment_routes.hpp"
#include "server/json_input.hpp"
#include "server/log.hpp"
#include "server/next_poll.hpp"
#include "server/renewal_routes.hpp"
#include "server/poll_routes.hpp"
#include "server/representations.hpp"
#include "server/software_routes.hpp"
#include "server/upload_routes.hpp"
#include "storage/devices.hpp"

namespace fleetcomm::server {
namespace {

namespace asio = boost::asio;
using protocol::ErrorCode;

Parsed<storage::Registration> ReadRegistration(const RequestContext& context) {
  auto body = JsonObjectReader::Parse(context.request, {"serial", "manufacturer", "model", "firmware", "mac"});
  if (!body) return body.error();
  auto serial = body->RequiredString("serial", 128);
  if (!serial) return serial.error();
  auto manufacturer = body->RequiredString("manufacturer", 100);
  if (!manufacturer) return manufacturer.error();
  auto model = body->String("model", 200);
  if (!model) return model.error();
  auto firmware = body->String("firmware", 200);
  if (!firmware) return firmware.error();
  auto mac = body->String("mac", 64);
  if (!mac) return mac.error();
  return storage::Registration{std::move(*manufacturer), std::move(*serial), std::move(*model), std::move(*firmware),
                               std::move(*mac), context.client_certificate->sha256_fingerprint};
}

}  // namespace

void AddDeviceRoutes(Router& router, ServerState& state) {
  AddEnrollmentRoutes(router, state);
  AddUploadRoutes(router, state);
  AddRenewalRoutes(router, state);
  AddPollRoutes(router, state);
  AddSoftwareDeviceRoutes(router, state);

  // PROTOCOL.md 3.2: the certificate names the serial; the body must agree.
  router.Add(http::verb::post, "/rs/v1/register", Access::kClientCertificate,
             [&state](RequestContext& context) -> asio::awaitable<HttpResponse> {
               if (context.agent_certificate) {
                 co_return ErrorResponse(ApiError(ErrorCode::kIdentityMismatch,
                                                  "an agent certificate cannot register a device"));
               }
               auto registration = ReadRegistration(context);
               if (!registration) co_return ErrorResponse(registration.error());
               if (registration->serial != context.client_certificate->identity) {
                 co_return ErrorResponse(ApiError(ErrorCode::kIdentityMismatch,
                                                  "serial does not match the client certificate"));
               }
               // The entry commits with the registration, as the device's, with 200 or 202.
               auto work = [r = std::move(*registration), audit = ChangeEntry(context, 200)](pqxx::connection_base& c) {
                 return storage::RegisterDevice(c, r, EntryOrNull(audit));
               };
               auto pending = RunDb<storage::RegistrationOutcome>(state.pool, std::move(work));
               auto outcome = co_await std::move(pending);
               if (!outcome) co_return StorageFailure(context, outcome.error());
               if (outcome->audit_recorded) MarkRecorded(context);
               const auto& device = outcome->device;
               if (outcome->certificate_changed) {
                 Log(LogLevel::kInfo, "device_certificate_changed",
                     {{"request_id", context.request_id}, {"device", device.id},
                      {"fingerprint", context.client_certificate->sha256_fingerprint}});
               }
               if (device.state == "revoked") {
                 co_return ErrorResponse(ApiError(ErrorCode::kRevoked, "this device has been revoked"));
               }
               if (device.state == "active") {
                 co_return Json(200, {{"device_id", device.id}, {"state", "active"},
                                      {"next_poll_s", kDefaultNextPollSeconds}});
               }
               co_return Json(202, {{"device_id", device.id}, {"state", "pending"}});
             });
}

}  // namespace fleetcomm::server
