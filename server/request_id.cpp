#include "server/request_id.hpp"

#include <cstdio>
#include <random>

namespace fleetcomm::server {

std::string NewRequestId() {
  thread_local std::mt19937_64 generator{std::random_device{}()};
  char buffer[17];
  std::snprintf(buffer, sizeof buffer, "%016llx", static_cast<unsigned long long>(generator()));
  return buffer;
}

}  // namespace fleetcomm::server
