#pragma once
// Reading the server's Prometheus metrics from its ops listener.
#include "tests/support/server_process.hpp"

#include <chrono>
#include <functional>
#include <optional>
#include <set>
#include <string>

namespace fleetcomm::testing {

// The value of one sample on the ops listener's /metrics, `name` with its labels as exposed
// (`fleetcomm_x_total{result="hit"}`); nullopt when absent. Usable outside tests.
std::optional<double> ScrapeMetric(const ServerPorts& ports, const std::string& name);

// The same in a test: fails the test when absent.
double MetricValue(const ServerPorts& ports, const std::string& name);

// For gauges refreshed in the background: scrapes until `accept` holds for the sample (or
// `timeout` passes) and returns the last value seen, nullopt if the sample never appeared.
std::optional<double> WaitForMetric(const ServerPorts& ports, const std::string& name,
                                    const std::function<bool(double)>& accept, std::chrono::milliseconds timeout);

// The whole exposition text of /metrics.
std::string ScrapeAll(const ServerPorts& ports);

// Every name a query may use against this exposition: the families of its # TYPE lines and
// the names of its samples (a histogram's _bucket, _sum and _count).
std::set<std::string> ExposedMetricNames(const std::string& exposition);

}  // namespace fleetcomm::testing
