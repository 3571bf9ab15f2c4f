#pragma once
// ApiError is what a handler answers when it refuses: a wire code, a status and a short
// human message for the client. The mapping from each layer's error type to ApiError lives
// here and nowhere else; internal detail goes to the log, never into the message.
#include "auth/auth_error.hpp"
#include "protocol/error_code.hpp"
#include "storage/storage_error.hpp"

#include <string>

namespace fleetcomm::protocol {
class ProtocolError;
}

namespace fleetcomm::server {

struct ApiError {
  protocol::ErrorCode code = protocol::ErrorCode::kInternal;
  int status = 500;
  std::string message;
  std::string log_detail;  // internal: logged, never sent

  ApiError() = default;  // boost::system::result needs it; never sent as is
  ApiError(protocol::ErrorCode c, std::string msg, std::string detail = {});
  ApiError(protocol::ErrorCode c, int explicit_status, std::string msg, std::string detail = {});
};

[[noreturn]] void throw_exception_from_error(const ApiError& error, const boost::source_location& loc);

ApiError FromStorageError(const storage::StorageError& error);
ApiError FromAuthError(const auth::AuthError& error);
ApiError FromProtocolError(const protocol::ProtocolError& error);

// {"error":{"code":"...","message":"..."}}
std::string ErrorBody(const ApiError& error);

}  // namespace fleetcomm::server
