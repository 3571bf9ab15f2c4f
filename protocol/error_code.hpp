#pragma once
// The stable error codes of PROTOCOL.md section 1, with the HTTP status each one
// usually travels with. Clients match on these strings: never rename one.
#include <string_view>

namespace fleetcomm::protocol {

enum class ErrorCode {
  kBadRequest,             // 400: malformed HTTP framing or query
  kUnauthorized,           // 401: operator request without a valid bearer token
  kCertificateRejected,    // 401
  kInvalidRegistrationKey, // 401
  kForbidden,              // 403: authenticated, but the role may not do this
  kIdentityMismatch,       // 403
  kRevoked,                // 403
  kDeviceNotActive,        // 403
  kConsentRequired,        // 403
  kLockdown,               // 403 when polling, 409 when queuing
  kNotFound,               // 404
  kMethodNotAllowed,       // 405
  kRequestTimeout,         // 408
  kConflict,               // 409: generic, when no more specific code applies
  kReportIdConflict,       // 409
  kActionFinal,            // 409
  kActionDisabled,         // 409
  kPayloadTooLarge,        // 413
  kUnsupportedMediaType,   // 415
  kInvalidRequest,         // 422
  kInvalidArchive,         // 422
  kInvalidReport,          // 422
  kRateLimited,            // 429
  kHeaderTooLarge,         // 431
  kInternal,               // 500
  kNotImplemented,         // 501: unsupported transfer coding
  kUnavailable,            // 503, always with Retry-After
};

// The string that goes into {"error":{"code":...}}.
std::string_view WireName(ErrorCode code);

// The status the code travels with unless a route documents another one.
int DefaultHttpStatus(ErrorCode code);

}  // namespace fleetcomm::protocol
