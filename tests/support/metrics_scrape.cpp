#include "tests/support/metrics_scrape.hpp"

#include <catch2/catch.hpp>

#include <sstream>
#include <thread>

namespace fleetcomm::testing {

std::string ScrapeAll(const ServerPorts& ports) {
  HttpClient ops(ports.ops, std::nullopt);
  return ops.Get("/metrics").body;
}

std::optional<double> ScrapeMetric(const ServerPorts& ports, const std::string& name) {
  std::istringstream lines(ScrapeAll(ports));
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

std::optional<double> WaitForMetric(const ServerPorts& ports, const std::string& name,
                                    const std::function<bool(double)>& accept, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto value = ScrapeMetric(ports, name);
    if ((value && accept(*value)) || std::chrono::steady_clock::now() >= deadline) return value;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

std::set<std::string> ExposedMetricNames(const std::string& exposition) {
  std::set<std::string> names;
  std::istringstream lines(exposition);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("# TYPE ", 0) == 0) {
      const std::string rest = line.substr(7);
      names.insert(rest.substr(0, rest.find(' ')));
    } else if (!line.empty() && line[0] != '#') {
      names.insert(line.substr(0, line.find_first_of("{ ")));
    }
  }
  return names;
}

}  // namespace fleetcomm::testing
