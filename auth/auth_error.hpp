#pragma once
// The error type of the auth layer boundary; server/ maps it to HTTP once.
#include <boost/system/result.hpp>

#include <string>

namespace fleetcomm::auth {

enum class AuthErrc {
  kCertificateMissing,   // a route that needs a client certificate got none
  kCertificateRejected,  // presented, chains to a trust anchor, but fails our own checks
  kTokenMissing,
  kTokenInvalid,
  kInternal,    // our own failure (randomness, signing, a caller's invalid argument): 500
  kInvalidCsr,  // an enrolment or renewal CSR we will not sign: the client sent a bad request
};

struct AuthError {
  AuthErrc code;
  std::string detail;  // for logs and audit; never more specific than needed towards clients
};

[[noreturn]] void throw_exception_from_error(const AuthError& error, const boost::source_location& loc);

template <class T>
using AuthResult = boost::system::result<T, AuthError>;

}  // namespace fleetcomm::auth
