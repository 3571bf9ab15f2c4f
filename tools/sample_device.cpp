#include "tools/sample_device.hpp"

namespace fleetcomm::tools {

protocol::Device SampleOfficeDevice(const std::string& serial, std::int64_t total_impressions) {
  protocol::Device device;
  device.serial = serial;
  device.manufacturer = "Xerox";
  device.model = "AltaLink C8155";
  device.device_class = "office";
  device.identity = protocol::Identity{"121.010.003.12345", "2024-02-01", "3rd floor", "prn-3f"};
  device.network = protocol::Network{"9c:93:4e:01:02:03", "10.1.2.50", "255.255.255.0", "prn-3f.corp"};
  device.properties = {{"color", "true"}, {"speedPpm", "55"}};
  device.status = protocol::Status{"warning", "idle", 86400, {{"09-582-00", "warning", "marker", std::nullopt,
                                                                "Black toner low", "2026-11-24T02:10:00Z"}}};
  device.faults = {{"75-530-00", "2026-11-20T10:00:00Z", "tray 3", "Paper jam"}};
  device.counters = protocol::Counters{"2026-11-24T03:00:00Z", {{"total-impressions", total_impressions, std::nullopt},
                                                               {"black-impressions", total_impressions / 2, std::nullopt}}};
  device.supplies = {{1, "tonerCartridge", "black", "Black Toner", "006R01746", "TC0001", "impressions", 30000, 28407,
                      std::nullopt},
                     {2, "wasteToner", "unknown", "Waste Toner Box", std::nullopt, std::nullopt, "other", -2, -3,
                      std::nullopt}};
  device.usage = {{"hfsi.fuser.count", "120000"}};
  device.job_log = std::vector<protocol::Job>{{"j1", "salary.pdf", "alice", "2026-11-24T02:00:00Z", std::nullopt,
                                               std::nullopt, 3, 0, false}};
  return device;
}

protocol::Report SampleDeviceReport(const std::string& report_id, const std::string& serial,
                                    std::int64_t total_impressions) {
  protocol::Report report;
  report.id = report_id;
  report.generated_at = "2026-11-24T03:00:00Z";
  report.source = protocol::ReportSource::kDevice;
  report.devices.push_back(SampleOfficeDevice(serial, total_impressions));
  return report;
}

}  // namespace fleetcomm::tools
