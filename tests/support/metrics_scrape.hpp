#pragma once
// Reading the server's Prometheus metrics from its ops listener.
#include "tests/support/server_process.hpp"

#include <optional>
#include <string>

namespace fleetcomm::testing {

// The value of one sample on the ops listener's /metrics, `name` with its labels as exposed
// (`fleetcomm_x_total{result="hit"}`); nullopt when absent. Usable outside tests.
std::optional<double> ScrapeMetric(const ServerPorts& ports, const std::string& name);

// The same in a test: fails the test when absent.
double MetricValue(const ServerPorts& ports, const std::string& name);

}  // namespace fleetcomm::testing
