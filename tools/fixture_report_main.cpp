// fleetcomm-fixture-report RECORDING.snmprec [--serial S] [--report-id UUID] [--generated-at TIME]
// Prints the report.xml a printer with this SNMP recording would upload (PROTOCOL.md 5).
#include <cctype>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <optional>
#include <random>
#include <string>
#include <string_view>

#include "tools/printer_recording.hpp"
#include "tools/report_writer.hpp"
#include "tools/snmprec.hpp"

namespace {

constexpr std::string_view kUsage =
    "usage: fleetcomm-fixture-report RECORDING.snmprec [--serial S] [--report-id UUID] [--generated-at TIME]\n"
    "  --serial        serial to use when the recording holds none\n"
    "  --report-id     Report/@id (default: a random UUID)\n"
    "  --generated-at  Report/@generatedAt, RFC 3339 (default: now, UTC)\n";

bool IsUuid(std::string_view text) {
  if (text.size() != 36) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? text[i] != '-' : !std::isxdigit(static_cast<unsigned char>(text[i]))) return false;
  }
  return true;
}

std::string RandomUuid() {
  std::random_device entropy;
  std::uniform_int_distribution<int> nibble(0, 15);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string uuid;
  for (int i = 0; i < 32; ++i) {
    if (i == 8 || i == 12 || i == 16 || i == 20) uuid.push_back('-');
    int value = nibble(entropy);
    if (i == 12) value = 4;                  // version 4
    if (i == 16) value = 8 | (value & 0x3);  // RFC 4122 variant
    uuid.push_back(kHex[value]);
  }
  return uuid;
}

std::string NowUtc() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

}  // namespace

int main(int argc, char** argv) {
  std::optional<std::string> recording_path, serial, report_id, generated_at;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const auto value = [&]() -> std::optional<std::string> {
      if (i + 1 >= argc) return std::nullopt;
      return std::string(argv[++i]);
    };
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      return 0;
    } else if (arg == "--serial") {
      serial = value();
      if (!serial || serial->empty()) return std::cerr << "--serial needs a value\n" << kUsage, 2;
    } else if (arg == "--report-id") {
      report_id = value();
      if (!report_id || !IsUuid(*report_id)) return std::cerr << "--report-id needs a UUID\n" << kUsage, 2;
      for (auto& c : *report_id) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else if (arg == "--generated-at") {
      generated_at = value();
      if (!generated_at || generated_at->empty()) return std::cerr << "--generated-at needs a time\n" << kUsage, 2;
    } else if (!arg.starts_with("--") && !recording_path) {
      recording_path = std::string(arg);
    } else {
      std::cerr << "unexpected argument " << arg << "\n" << kUsage;
      return 2;
    }
  }
  if (!recording_path) {
    std::cerr << kUsage;
    return 2;
  }
  try {
    const auto recording = fleetcomm::tools::SnmpRecording::Load(*recording_path);
    for (const auto& skipped : recording.Skipped()) {
      std::cerr << *recording_path << ":" << skipped.line << ": skipped: " << skipped.reason << "\n";
    }
    auto device = fleetcomm::tools::ReadPrinter(
        recording, {serial, std::filesystem::path(*recording_path).stem().string()});
    const auto report = fleetcomm::tools::DeviceReport(std::move(device), report_id.value_or(RandomUuid()),
                                                       generated_at.value_or(NowUtc()));
    std::cout << fleetcomm::tools::WriteReportXml(report);
  } catch (const std::exception& e) {
    std::cerr << "fleetcomm-fixture-report: " << e.what() << "\n";
    return 1;
  }
  return std::cout.flush() ? 0 : 1;
}
