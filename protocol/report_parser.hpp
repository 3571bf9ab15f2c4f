#pragma once
// report.xml (PROTOCOL.md section 5) to the typed model. Every rule of the section is
// enforced here; a refusal is ProtocolError(kInvalidReport) whose message names the line
// and the element, e.g. "line 12, element Counter: attribute value must be an unsigned
// integer below 2^63". Cost is linear in the input; the input is never expanded
// (no DOCTYPE, hence no entities) and the DOM is only built after a bounded prescan.
#include <string_view>

#include "protocol/report.hpp"

namespace fleetcomm::protocol {

// Choices where PROTOCOL.md is silent (refusals are invalid_report like the rest):
// - in lockdown, Host::ip and every Network::ip are already dropped from the result;
// - child order is free, except that JobLog and PolicyEvents must be the last element;
//   singular children (Identity, Status, Counters, Host...) may appear at most once;
// - unknown disabledActions names, a Counter name twice in one Counters, the same
//   (manufacturer, serial) twice in one report, and text inside our elements are refused;
// - elements in no namespace are refused (they are neither ours nor a vendor's);
// - Agent/@product and @version are optional (empty when absent); Fault/@code, Supply/@index,
//   Property and Usage Item name/value are required, as the typed model needs them;
// - Identity/@installDate and Module/@installDate are kept as text (no format is given).
Report ParseReport(std::string_view xml);

}  // namespace fleetcomm::protocol
