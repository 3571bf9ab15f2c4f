#pragma once
// Printer models for the fleet simulator taken from SNMP recordings of real printers
// (../shared/fixtures/printers/raw/*.snmprec), through the recording converter
// (printer_recording.hpp): real makes, models, supplies and counters.
#include "tools/simulated_printer.hpp"

#include <string>
#include <vector>

namespace fleetcomm::tools {

// Every `.snmprec` of `dir`, or of `dir/raw` when `dir` holds none, in file-name order.
// Throws std::runtime_error when there is none or a recording cannot be read.
std::vector<PrinterModel> LoadRecordedModels(const std::string& dir);

}  // namespace fleetcomm::tools
