#pragma once
// The one exception type of protocol/: decoding an upload either yields a typed value or
// throws this. what() is written for the client (it goes into {"error":{"message":...}}),
// so it never carries paths, library internals or more than a short excerpt of input.
#include <stdexcept>
#include <string>

#include "protocol/error_code.hpp"

namespace fleetcomm::protocol {

class ProtocolError : public std::runtime_error {
 public:
  ProtocolError(ErrorCode code, const std::string& message);

  ErrorCode code() const noexcept { return code_; }

 private:
  ErrorCode code_;
};

}  // namespace fleetcomm::protocol
