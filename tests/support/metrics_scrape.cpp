#include "tests/support/metrics_scrape.hpp"

#include <catch2/catch.hpp>

#include <sstream>

namespace fleetcomm::testing {

std::optional<double> ScrapeMetric(const ServerPorts& ports, const std::string& name) {
  HttpClient ops(ports.ops, std::nullopt);
  std::istringstream lines(ops.Get("/metrics").body);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(name + " ", 0) == 0) return std::stod(line.substr(name.size() + 1));
  }
  return std::nullopt;
}

double MetricValue(const ServerPorts& ports, const std::string& name) {
  const auto value = ScrapeMetric(ports, name);
  if (!value) FAIL("metric " << name << " not found on /metrics");
  return value.value_or(0);
}

}  // namespace fleetcomm::testing
