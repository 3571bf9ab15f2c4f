#pragma once
// One office printer as a report describes it, with every section filled: the common
// fixture of storage tests, end-to-end tests and benchmarks (about 14 stored rows).
#include "protocol/report.hpp"

#include <cstdint>
#include <string>

namespace fleetcomm::tools {

// Xerox AltaLink C8155: a toner alert, one fault, total and black counters read at
// 2026-11-24T03:00:00Z, a black toner at 28407/30000 and a waste-toner box without amounts
// (level -3, capacity -2), one usage item, one job-log entry (personal data).
protocol::Device SampleOfficeDevice(const std::string& serial, std::int64_t total_impressions);

// A device-direct report of SampleOfficeDevice, generated at 2026-11-24T03:00:00Z.
protocol::Report SampleDeviceReport(const std::string& report_id, const std::string& serial,
                                    std::int64_t total_impressions);

}  // namespace fleetcomm::tools
