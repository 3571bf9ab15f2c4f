#include "server/http.hpp"

namespace fleetcomm::server {

std::string_view ListenerName(ListenerKind kind) {
  switch (kind) {
    case ListenerKind::kDevice: return "device";
    case ListenerKind::kOperator: return "operator";
    case ListenerKind::kOps: return "ops";
  }
  return "unknown";
}

HttpResponse JsonResponse(unsigned status, std::string body) {
  HttpResponse response{static_cast<http::status>(status), 11};
  response.set(http::field::content_type, "application/json");
  response.set(http::field::cache_control, "no-store");
  response.body() = std::move(body);
  response.prepare_payload();
  return response;
}

HttpResponse ErrorResponse(const ApiError& error) {
  return JsonResponse(static_cast<unsigned>(error.status), ErrorBody(error));
}

}  // namespace fleetcomm::server
