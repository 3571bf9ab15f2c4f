#include "server/upload_routes.hpp"

#include "server/audit_entries.hpp"
#include "server/cpu_executor.hpp"
#include "server/db_executor.hpp"
#include "server/log.hpp"
#include "server/upload_group_commit.hpp"
#include "server/representations.hpp"
#include "protocol/protocol_error.hpp"
#include "protocol/report_parser.hpp"
#include "protocol/zip_archive.hpp"
#include "storage/diagnostics.hpp"
#include "storage/uploads.hpp"

#include <openssl/evp.h>

#include <algorithm>

namespace fleetcomm::server {
namespace {

namespace asio = boost::asio;
using nlohmann::json;
using protocol::ErrorCode;

struct DecodedUpload {
  std::optional<ApiError> error;
  protocol::Report report;
  std::string content_sha256;  // raw 32 bytes
  std::size_t report_bytes = 0;
};

bool IsZip(const RequestContext& context) {
  const auto content_type = context.request[http::field::content_type];
  return boost::beast::iequals(content_type.substr(0, content_type.find(';')), "application/zip");
}

std::string Sha256(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("SHA-256 failed");
  }
  return std::string(reinterpret_cast<const char*>(digest), length);
}

// Rules that need the sender, not only the document: who may say what.
std::optional<ApiError> CheckSender(const protocol::Report& report, const storage::ClientIdentity& sender) {
  const bool agent = sender.kind == storage::ClientKind::kAgent;
  if (agent != (report.source == protocol::ReportSource::kAgent)) {
    return ApiError(ErrorCode::kInvalidReport, std::string("Report/@source must be \"") + (agent ? "agent" : "device") +
                                                   "\" for this client's certificate");
  }
  // A device named twice in one report is refused by the parser already.
  return std::nullopt;
}

DecodedUpload Decode(const std::string& body, const Config& config) {
  DecodedUpload decoded;
  try {
    const protocol::ArchiveLimits limits{static_cast<std::size_t>(config.upload_max_entries),
                                         config.upload_max_entry_bytes};
    const std::string xml = protocol::ExtractReportXml(body, limits);
    decoded.report_bytes = xml.size();
    decoded.content_sha256 = Sha256(xml);
    // Lockdown (no address stored) is applied by the parser itself.
    decoded.report = protocol::ParseReport(xml);
  } catch (const protocol::ProtocolError& e) {
    decoded.error = FromProtocolError(e);
  } catch (const std::exception& e) {
    decoded.error = ApiError(ErrorCode::kInternal, "internal error", e.what());
  }
  return decoded;
}

// The stored outcome, replayed whole to duplicates, plus whether this answer is a replay.
json UploadAnswer(const storage::UploadOutcome& outcome) {
  json answer = storage::UploadOutcomeDocument(outcome);
  answer["duplicate"] = outcome.duplicate;
  return answer;
}

// A refusal of the upload route, counted by wire code (fleetcomm_uploads_refused_total).
HttpResponse Refuse(ServerState& state, const ApiError& error) {
  state.metrics.UploadRefused(protocol::WireName(error.code));
  return ErrorResponse(error);
}

std::size_t AcceptedDevices(const storage::UploadOutcome& outcome) {
  return static_cast<std::size_t>(std::count_if(outcome.devices.begin(), outcome.devices.end(),
                                                [](const auto& device) { return device.status == "accepted"; }));
}

asio::awaitable<HttpResponse> Upload(ServerState& state, RequestContext& context) {
  if (!IsZip(context)) {
    co_return Refuse(state, ApiError(ErrorCode::kUnsupportedMediaType, "uploads are application/zip"));
  }
  auto decode = [&body = context.request.body(), &config = state.config]() { return Decode(body, config); };
  auto decoding = RunCpu<DecodedUpload>(state.cpu, std::move(decode));
  DecodedUpload decoded = co_await std::move(decoding);
  if (decoded.error) co_return Refuse(state, *decoded.error);
  const storage::ClientIdentity& sender = *context.client;
  if (auto refusal = CheckSender(decoded.report, sender)) co_return Refuse(state, *refusal);

  storage::NewUpload upload;
  upload.sender = {sender.kind, sender.id, sender.account_id.value_or("")};
  upload.content_sha256 = std::move(decoded.content_sha256);
  upload.zip = context.request.body();
  upload.report_bytes = decoded.report_bytes;
  if (sender.kind == storage::ClientKind::kDevice && !decoded.report.devices.empty() &&
      decoded.report.devices.front().serial != context.client_certificate->identity) {
    upload.refused.emplace_back(0, "serial does not match the client certificate");
  }
  if (context.audit) {
    upload.audit = context.audit->entry;
    upload.audit->bytes_in = static_cast<long long>(context.request.body().size());
  }
  upload.report = &decoded.report;
  auto storing = state.upload_writer.Store(upload);
  auto stored = co_await std::move(storing);
  if (!stored) {
    if (stored.error().code == storage::StorageErrc::kConflict) {
      co_return Refuse(state, ApiError(ErrorCode::kReportIdConflict,
                                       "this report id was already stored with different content"));
    }
    state.metrics.UploadRefused(protocol::WireName(FromStorageError(stored.error()).code));
    co_return StorageFailure(context, stored.error());
  }
  if (context.audit && !stored->duplicate) context.audit->recorded = true;  // committed with the upload
  if (stored->duplicate) {
    state.metrics.UploadReplayed();
  } else {
    state.metrics.UploadStored(AcceptedDevices(*stored), stored->rows_stored);
  }
  co_return Json(stored->duplicate ? 200 : 201, UploadAnswer(*stored));
}

// The archive is vetted with the upload limits before anything is stored: a bomb is refused
// whether or not the account would have kept it.
std::optional<ApiError> VetArchive(const std::string& body, const Config& config) {
  try {
    const protocol::ArchiveLimits limits{static_cast<std::size_t>(config.upload_max_entries),
                                         config.upload_max_entry_bytes};
    protocol::ReadAllEntries(body, limits);
  } catch (const protocol::ProtocolError& e) {
    return FromProtocolError(e);
  } catch (const std::exception& e) {
    return ApiError(ErrorCode::kInternal, "internal error", e.what());
  }
  return std::nullopt;
}

asio::awaitable<HttpResponse> Diagnostics(ServerState& state, RequestContext& context) {
  if (!IsZip(context)) co_return ErrorResponse(ApiError(ErrorCode::kUnsupportedMediaType, "diagnostics are application/zip"));
  const auto action_header = context.request["X-Action-Id"];
  std::optional<std::string> action_id;
  if (!action_header.empty()) {
    if (action_header.size() > 64) co_return ErrorResponse(ApiError(ErrorCode::kInvalidRequest, "X-Action-Id is too long"));
    action_id = std::string(action_header);
  }
  auto vet = [&body = context.request.body(), &config = state.config]() { return VetArchive(body, config); };
  auto vetting = RunCpu<std::optional<ApiError>>(state.cpu, std::move(vet));
  auto refusal = co_await std::move(vetting);
  if (refusal) co_return ErrorResponse(*refusal);
  const storage::ClientIdentity& sender = *context.client;
  storage::NewDiagnostics upload{sender.kind, sender.id, sender.account_id.value_or(""), std::move(action_id),
                                 context.request.body()};
  auto work = [&upload, audit = ChangeEntry(context, 201)](pqxx::connection_base& c) {
    return storage::StoreDiagnostics(c, upload, EntryOrNull(audit));
  };
  auto storing = RunDb<std::optional<std::string>>(state.pool, std::move(work));
  auto stored = co_await std::move(storing);
  if (!stored) co_return StorageFailure(context, stored.error());
  if (!*stored) {
    co_return ErrorResponse(ApiError(ErrorCode::kConsentRequired, "this account has not consented to debug data"));
  }
  MarkRecorded(context);  // committed with the logs
  co_return Json(201, {{"diagnostics_id", **stored}});
}

}  // namespace

void AddUploadRoutes(Router& router, ServerState& state) {
  router.Add(http::verb::post, "/rs/v1/uploads", Access::kActiveClient,
             [&state](RequestContext& context) { return Upload(state, context); });
  router.Add(http::verb::post, "/rs/v1/diagnostics", Access::kActiveClient,
             [&state](RequestContext& context) { return Diagnostics(state, context); });
}

}  // namespace fleetcomm::server
