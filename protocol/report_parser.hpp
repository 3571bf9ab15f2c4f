#pragma once
// report.xml (PROTOCOL.md section 5) to the typed model. Every rule of the section is
// enforced here; a refusal is ProtocolError(kInvalidReport) whose message names the line
// and the element, e.g. "line 12, element Counter: attribute value must be an unsigned
// integer below 2^63". Cost is linear in the input; the input is never expanded
// (no DOCTYPE, hence no entities) and the DOM is only built after a bounded prescan.
#include <string_view>

#include "protocol/report.hpp"

namespace fleetcomm::protocol {

Report ParseReport(std::string_view xml);

}  // namespace fleetcomm::protocol
