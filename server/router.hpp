#pragma once
// The route table: {method, path pattern} -> handler, built once at start-up and then
// only read, so it is shared by every I/O thread without locking. Patterns are literal
// segments and `{name}` placeholders; the pattern doubles as the bounded metrics label.
#include "server/http.hpp"

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace fleetcomm::server {

// Who may call a route; checked by the session before the body is read.
enum class Access {
  kPublic,             // ops listener, or enrolment (its own credential is in the body)
  kClientCertificate,  // device listener: a verified, acceptable client certificate (registration)
  kActiveClient,       // device listener: the certificate of an active device or agent, not revoked
  kOperatorToken,      // operator listener: a valid bearer token (roles are checked per route later)
};

// Which operator roles may call a route; checked once, by the session, before the body
// is read (403 forbidden otherwise). Ignored on listeners without operator tokens.
class Roles {
 public:
  static Roles Any() { return Roles(0); }
  static Roles Of(std::initializer_list<auth::Role> roles) {
    unsigned mask = 0;
    for (auto role : roles) mask |= Bit(role);
    return Roles(mask);
  }
  bool Allows(auth::Role role) const { return mask_ == 0 || (mask_ & Bit(role)) != 0; }

 private:
  explicit Roles(unsigned mask) : mask_(mask) {}
  static unsigned Bit(auth::Role role) { return 1u << static_cast<unsigned>(role); }
  unsigned mask_;
};

struct Route {
  http::verb method;
  std::string pattern;
  Access access;
  Handler handler;
  Roles roles = Roles::Any();
};

struct RouteMatch {
  enum class Outcome { kFound, kNotFound, kMethodNotAllowed } outcome = Outcome::kNotFound;
  const Route* route = nullptr;
  std::map<std::string, std::string> params;
  std::string allowed_methods;  // for 405's Allow header
};

class Router {
 public:
  void Add(http::verb method, std::string pattern, Access access, Handler handler, Roles roles = Roles::Any());
  RouteMatch Match(http::verb method, std::string_view target) const;

 private:
  struct CompiledRoute {
    Route route;
    std::vector<std::string> segments;
  };
  std::vector<CompiledRoute> routes_;
};

// Splits "/a/b?x=1" into its path "/a/b" (the query is handed to handlers whole).
std::string_view PathOf(std::string_view target);

}  // namespace fleetcomm::server
