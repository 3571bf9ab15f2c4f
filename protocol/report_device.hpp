#pragma once
// Internal to the report parser: one Device element and everything below it.
#include "protocol/report.hpp"
#include "protocol/xml_element.hpp"

namespace fleetcomm::protocol::detail {

Device MapDevice(const xml::Element& element);

// Shared with Agent: space-separated action types, each one known (see the .cpp).
std::vector<std::string> DisabledActions(const xml::Element& element);

}  // namespace fleetcomm::protocol::detail
