#include "auth/auth_error.hpp"

#include <stdexcept>

namespace fleetcomm::auth {

void throw_exception_from_error(const AuthError& error, const boost::source_location&) {
  throw std::runtime_error("auth error: " + error.detail);
}

}  // namespace fleetcomm::auth
