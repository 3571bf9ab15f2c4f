#include "protocol/error_code.hpp"

namespace fleetcomm::protocol {
namespace {

struct CodeInfo {
  std::string_view wire_name;
  int http_status;
};

CodeInfo Info(ErrorCode code) {
  switch (code) {
    case ErrorCode::kBadRequest: return {"bad_request", 400};
    case ErrorCode::kUnauthorized: return {"unauthorized", 401};
    case ErrorCode::kCertificateRejected: return {"certificate_rejected", 401};
    case ErrorCode::kInvalidRegistrationKey: return {"invalid_registration_key", 401};
    case ErrorCode::kForbidden: return {"forbidden", 403};
    case ErrorCode::kIdentityMismatch: return {"identity_mismatch", 403};
    case ErrorCode::kRevoked: return {"revoked", 403};
    case ErrorCode::kDeviceNotActive: return {"device_not_active", 403};
    case ErrorCode::kConsentRequired: return {"consent_required", 403};
    case ErrorCode::kLockdown: return {"lockdown", 403};
    case ErrorCode::kNotFound: return {"not_found", 404};
    case ErrorCode::kMethodNotAllowed: return {"method_not_allowed", 405};
    case ErrorCode::kRequestTimeout: return {"request_timeout", 408};
    case ErrorCode::kConflict: return {"conflict", 409};
    case ErrorCode::kReportIdConflict: return {"report_id_conflict", 409};
    case ErrorCode::kActionFinal: return {"action_final", 409};
    case ErrorCode::kActionDisabled: return {"action_disabled", 409};
    case ErrorCode::kPayloadTooLarge: return {"payload_too_large", 413};
    case ErrorCode::kUnsupportedMediaType: return {"unsupported_media_type", 415};
    case ErrorCode::kInvalidRequest: return {"invalid_request", 422};
    case ErrorCode::kInvalidArchive: return {"invalid_archive", 422};
    case ErrorCode::kInvalidReport: return {"invalid_report", 422};
    case ErrorCode::kRateLimited: return {"rate_limited", 429};
    case ErrorCode::kHeaderTooLarge: return {"header_too_large", 431};
    case ErrorCode::kInternal: return {"internal", 500};
    case ErrorCode::kNotImplemented: return {"not_implemented", 501};
    case ErrorCode::kUnavailable: return {"unavailable", 503};
  }
  return {"internal", 500};
}

}  // namespace

std::string_view WireName(ErrorCode code) { return Info(code).wire_name; }
int DefaultHttpStatus(ErrorCode code) { return Info(code).http_status; }

}  // namespace fleetcomm::protocol
