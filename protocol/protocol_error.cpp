#include "protocol/protocol_error.hpp"

namespace fleetcomm::protocol {

ProtocolError::ProtocolError(ErrorCode code, const std::string& message)
    : std::runtime_error(message), code_(code) {}

}  // namespace fleetcomm::protocol
