#include "server/device_routes.hpp"

namespace fleetcomm::server {

void AddDeviceRoutes(Router&, ServerState&) {
  // Registration, enrolment, uploads and polling arrive with their issues; until then
  // every path answers 401 without an acceptable certificate and 404 with one.
}

}  // namespace fleetcomm::server
