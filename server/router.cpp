#include "server/router.hpp"

namespace fleetcomm::server {
namespace {

std::vector<std::string> Split(std::string_view path) {
  std::vector<std::string> segments;
  std::size_t start = 1;  // skip the leading '/'
  while (start <= path.size()) {
    const auto end = path.find('/', start);
    const auto stop = end == std::string_view::npos ? path.size() : end;
    segments.emplace_back(path.substr(start, stop - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return segments;
}

bool IsPlaceholder(const std::string& segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

}  // namespace

std::string_view PathOf(std::string_view target) {
  const auto query = target.find('?');
  return query == std::string_view::npos ? target : target.substr(0, query);
}

void Router::Add(http::verb method, std::string pattern, Access access, Handler handler, Roles roles) {
  auto segments = Split(pattern);
  routes_.push_back({{method, std::move(pattern), access, std::move(handler), roles}, std::move(segments)});
}

RouteMatch Router::Match(http::verb method, std::string_view target) const {
  RouteMatch match;
  const std::string_view path = PathOf(target);
  if (path.empty() || path.front() != '/') return match;
  const auto segments = Split(path);
  for (const auto& candidate : routes_) {
    if (candidate.segments.size() != segments.size()) continue;
    std::map<std::string, std::string> params;
    bool matches = true;
    for (std::size_t i = 0; i < segments.size() && matches; ++i) {
      const auto& expected = candidate.segments[i];
      if (IsPlaceholder(expected)) {
        // An empty id never matches a placeholder: "/devices/" is not "/devices/{id}".
        matches = !segments[i].empty();
        params[expected.substr(1, expected.size() - 2)] = segments[i];
      } else {
        matches = expected == segments[i];
      }
    }
    if (!matches) continue;
    if (candidate.route.method == method) {
      match.outcome = RouteMatch::Outcome::kFound;
      match.route = &candidate.route;
      match.params = std::move(params);
      return match;
    }
    match.outcome = RouteMatch::Outcome::kMethodNotAllowed;
    if (!match.allowed_methods.empty()) match.allowed_methods += ", ";
    match.allowed_methods += std::string(http::to_string(candidate.route.method));
  }
  return match;
}

}  // namespace fleetcomm::server
