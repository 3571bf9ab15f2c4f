#pragma once
// report.xml (PROTOCOL.md section 5) from the typed report model: every element and
// attribute of protocol/report.hpp, in the order of the section's example. The writer
// serialises what it is given and checks no protocol rule (so that tests can also build
// reports the server must refuse); it only guarantees well-formed XML, and throws
// ReportWriteError for a string that XML cannot carry (invalid UTF-8, or a character
// XML 1.0 forbids, such as U+0001).
#include <stdexcept>
#include <string>
#include <string_view>

#include "protocol/report.hpp"

namespace fleetcomm::tools {

class ReportWriteError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

std::string WriteReportXml(const protocol::Report& report);
// Appends to `out`, for callers generating many or large reports.
void AppendReportXml(std::string& out, const protocol::Report& report);

// An attribute value's text inside double quotes: & < > " escaped, and tab, LF and CR
// as character references so that attribute-value normalisation keeps them.
std::string EscapeAttribute(std::string_view value);

}  // namespace fleetcomm::tools
