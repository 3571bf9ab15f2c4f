#pragma once
// Report documents shared by the parser and XSD tests.
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>

namespace fleetcomm::testing {

// The example of PROTOCOL.md section 5, read at test time so that it stays exact.
inline std::string ProtocolExample() {
  std::ifstream in(std::string(FLEETCOMM_SHARED_DIR) + "/PROTOCOL.md");
  std::stringstream text;
  text << in.rdbuf();
  const std::string doc = text.str();
  const std::string fence = "```xml\n";
  const std::size_t start = doc.find(fence);
  const std::size_t end = doc.find("```", start + fence.size());
  if (start == std::string::npos || end == std::string::npos) throw std::runtime_error("no xml example in PROTOCOL.md");
  return doc.substr(start + fence.size(), end - start - fence.size());
}

inline std::string ReportDoc(std::string_view body, std::string_view source = "device") {
  return "<Report xmlns=\"urn:fleetcomm:report:1\" id=\"0b8c7a52-3f7e-4a7b-9f65-1d2e3c4b5a69\"\n"
         "        generatedAt=\"2026-11-24T03:00:00Z\" source=\"" +
         std::string(source) + "\">\n" + std::string(body) + "\n</Report>\n";
}

inline std::string DeviceDoc(std::string_view children, std::string_view device_attributes = "") {
  return ReportDoc("  <Device serial=\"S1\" manufacturer=\"Xerox\" model=\"M1\"" + std::string(device_attributes) +
                   ">\n" + std::string(children) + "\n  </Device>");
}

inline std::string AgentDoc(std::string_view agent, std::string_view devices = "") {
  return ReportDoc(std::string(agent) + "\n" + std::string(devices), "agent");
}

}  // namespace fleetcomm::testing
