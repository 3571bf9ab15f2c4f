#include "server/api_error.hpp"

#include "protocol/protocol_error.hpp"

#include <nlohmann/json.hpp>

#include <stdexcept>

namespace fleetcomm::server {

using protocol::ErrorCode;

ApiError::ApiError(ErrorCode c, std::string msg, std::string detail)
    : ApiError(c, protocol::DefaultHttpStatus(c), std::move(msg), std::move(detail)) {}

ApiError::ApiError(ErrorCode c, int explicit_status, std::string msg, std::string detail)
    : code(c), status(explicit_status), message(std::move(msg)), log_detail(std::move(detail)) {}

void throw_exception_from_error(const ApiError& error, const boost::source_location&) {
  throw std::runtime_error("api error: " + error.message);
}

ApiError FromStorageError(const storage::StorageError& error) {
  using storage::StorageErrc;
  switch (error.code) {
    case StorageErrc::kUnavailable:
      return {ErrorCode::kUnavailable, "the database is unavailable; retry later", error.detail};
    case StorageErrc::kNotFound:
      return {ErrorCode::kNotFound, "not found", error.detail};
    case StorageErrc::kConflict:
      return {ErrorCode::kConflict, "conflicts with existing data", error.detail};
    case StorageErrc::kInvalid:
      return {ErrorCode::kInvalidRequest, "a value was refused", error.detail};
    case StorageErrc::kSchemaMismatch:
      return {ErrorCode::kUnavailable, "the server is not ready; retry later", error.detail};
    case StorageErrc::kInternal:
      break;
  }
  return {ErrorCode::kInternal, "internal error", error.detail};
}

ApiError FromAuthError(const auth::AuthError& error) {
  using auth::AuthErrc;
  switch (error.code) {
    case AuthErrc::kCertificateMissing:
      return {ErrorCode::kCertificateRejected, "a client certificate is required", error.detail};
    case AuthErrc::kCertificateRejected:
      return {ErrorCode::kCertificateRejected, "the client certificate is not acceptable", error.detail};
    case AuthErrc::kTokenMissing:
      return {ErrorCode::kUnauthorized, "a bearer token is required", error.detail};
    case AuthErrc::kTokenInvalid:
      return {ErrorCode::kUnauthorized, "the bearer token is not valid", error.detail};
    case AuthErrc::kInternal:
      return {ErrorCode::kInternal, "internal error", error.detail};
    case AuthErrc::kInvalidCsr:
      return {ErrorCode::kInvalidRequest, "the certificate signing request is not acceptable", error.detail};
  }
  return {ErrorCode::kInternal, "internal error", error.detail};
}

// The decoder's messages are written for clients (line and element, no internals).
ApiError FromProtocolError(const protocol::ProtocolError& error) { return {error.code(), error.what()}; }

std::string ErrorBody(const ApiError& error) {
  nlohmann::json body = {{"error", {{"code", protocol::WireName(error.code)}, {"message", error.message}}}};
  // Replace rather than throw on invalid UTF-8: messages may quote client input.
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace fleetcomm::server
