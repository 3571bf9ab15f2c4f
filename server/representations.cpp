#include "server/representations.hpp"

#include "server/log.hpp"

namespace fleetcomm::server {

namespace {

nlohmann::json OrNull(const std::optional<std::string>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

}  // namespace

nlohmann::json AccountJson(const storage::Account& a) {
  return {{"id", a.id},
          {"name", a.name},
          {"meter_billing", a.meter_billing},
          {"supplies_contract", a.supplies_contract},
          {"remote_software_updates", a.remote_software_updates},
          {"debug_data_consent", a.debug_data_consent},
          {"job_data_consent", a.job_data_consent},
          {"supply_low_percent", a.supply_low_percent},
          {"poll_interval_s", a.poll_interval_s},
          {"created_at", a.created_at}};
}

nlohmann::json DeviceJson(const storage::Device& d) {
  return {{"id", d.id},
          {"account_id", OrNull(d.account_id)},
          {"serial", d.serial},
          {"manufacturer", d.manufacturer},
          {"model", OrNull(d.model)},
          {"firmware", OrNull(d.firmware)},
          {"mac", OrNull(d.mac)},
          {"state", d.state},
          {"certificate_fingerprint", OrNull(d.cert_fingerprint)},
          {"created_at", d.created_at}};
}

nlohmann::json AgentJson(const storage::Agent& a) {
  // host is stored as the JSON the ingestion wrote; a row it could not parse shows null
  // rather than failing the whole read.
  nlohmann::json host = a.host_json ? nlohmann::json::parse(*a.host_json, nullptr, false) : nlohmann::json(nullptr);
  if (host.is_discarded()) host = nullptr;
  return {{"id", a.id},
          {"account_id", a.account_id},
          {"product", a.product},
          {"version", a.version},
          {"security_mode", a.security_mode},
          {"disabled_actions", a.disabled_actions},
          {"site", {{"name", a.site_name}, {"location", OrNull(a.site_location)}, {"contact_email", a.contact_email}}},
          {"host", std::move(host)},
          {"last_contact_at", OrNull(a.last_contact_at)},
          {"state", a.state},
          {"revoked_at", OrNull(a.revoked_at)},
          {"certificate", {{"fingerprint", a.cert_fingerprint}, {"not_after", a.cert_not_after}}},
          {"created_at", a.created_at}};
}

HttpResponse StorageFailure(const RequestContext& context, const storage::StorageError& error) {
  const ApiError api = FromStorageError(error);
  Log(api.status >= 500 ? LogLevel::kWarn : LogLevel::kInfo, "storage_error",
      {{"request_id", context.request_id}, {"detail", error.detail}});
  return ErrorResponse(api);
}

HttpResponse NotFound() { return ErrorResponse(ApiError(protocol::ErrorCode::kNotFound, "not found")); }

HttpResponse Json(unsigned status, const nlohmann::json& body) {
  return JsonResponse(status, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace fleetcomm::server
