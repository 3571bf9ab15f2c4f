#include "tools/recorded_printer_models.hpp"

#include "tools/printer_recording.hpp"
#include "tools/snmprec.hpp"

#include <algorithm>
#include <filesystem>
#include <stdexcept>

namespace fleetcomm::tools {

namespace {

namespace fs = std::filesystem;

std::vector<fs::path> Recordings(const fs::path& dir) {
  std::vector<fs::path> paths;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(dir, error)) {
    if (entry.path().extension() == ".snmprec") paths.push_back(entry.path());
  }
  std::sort(paths.begin(), paths.end());
  return paths;
}

// Colour when the recording counts colour pages or holds a non-black toner.
bool IsColor(const protocol::Device& device) {
  if (device.counters) {
    for (const auto& counter : device.counters->items) {
      if (counter.name.find("color") != std::string::npos) return true;
    }
  }
  for (const auto& supply : device.supplies) {
    const std::string colorant = supply.colorant.value_or("");
    if (colorant == "cyan" || colorant == "magenta" || colorant == "yellow") return true;
  }
  return false;
}

}  // namespace

std::vector<PrinterModel> LoadRecordedModels(const std::string& dir) {
  auto paths = Recordings(dir);
  if (paths.empty()) paths = Recordings(fs::path(dir) / "raw");
  if (paths.empty()) throw std::runtime_error("no .snmprec recording in " + dir + " or " + dir + "/raw");
  std::vector<PrinterModel> models;
  for (const auto& path : paths) {
    const auto recording = SnmpRecording::Load(path);
    auto device = std::make_shared<protocol::Device>(ReadPrinter(recording, {std::nullopt, path.stem().string()}));
    models.push_back({device->manufacturer, device->model, IsColor(*device), device});
  }
  return models;
}

}  // namespace fleetcomm::tools
