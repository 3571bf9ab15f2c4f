#pragma once
// The route table: {method, path pattern} -> handler, built once at start-up and then
// only read, so it is shared by every I/O thread without locking. Patterns are literal
// segments and `{name}` placeholders; the pattern doubles as the bounded metrics label.
#include "server/http.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace fleetcomm::server {

// Who may call a route; checked by the session before the body is read.
enum class Access {
  kPublic,             // ops listener, or enrolment (its own credential is in the body)
  kClientCertificate,  // device listener: a verified, acceptable client certificate
  kOperatorToken,      // operator listener: a valid bearer token (roles are checked per route later)
};

struct Route {
  http::verb method;
  std::string pattern;
  Access access;
  Handler handler;
};

struct RouteMatch {
  enum class Outcome { kFound, kNotFound, kMethodNotAllowed } outcome = Outcome::kNotFound;
  const Route* route = nullptr;
  std::map<std::string, std::string> params;
  std::string allowed_methods;  // for 405's Allow header
};

class Router {
 public:
  void Add(http::verb method, std::string pattern, Access access, Handler handler);
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
