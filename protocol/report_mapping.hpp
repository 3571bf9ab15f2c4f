#pragma once
// Internal to the report parser: the child-element walk shared by every element of the
// format. Each element lists its children as a table of rules; what is not in the table
// is refused if it is in our namespace and skipped (after a syntax check) if it is not.
#include <array>
#include <cstddef>
#include <string>
#include <string_view>

#include "protocol/xml_element.hpp"

namespace fleetcomm::protocol::detail {

inline constexpr std::string_view kReportNamespace = "urn:fleetcomm:report:1";

template <class Target>
struct ChildRule {
  std::string_view name;
  bool at_most_once;
  bool must_be_last;  // JobLog, PolicyEvents: nothing at all may follow them
  void (*map)(const xml::Element& child, Target& target);
};

// Text is refused inside our elements: none of them has character content.
template <class Target, std::size_t N>
void MapChildren(const xml::Element& parent, const std::array<ChildRule<Target>, N>& rules, Target& target) {
  std::array<bool, N> seen{};
  std::string_view closed_by;
  for (pugi::xml_node node = parent.node().first_child(); node; node = node.next_sibling()) {
    if (node.type() == pugi::node_pcdata || node.type() == pugi::node_cdata) {
      parent.Fail("text content is not allowed here");
    }
    if (node.type() != pugi::node_element) continue;
    const xml::Scope scope(&parent.scope(), node);
    const xml::Element child(parent.text(), node, scope);
    if (!closed_by.empty()) child.Fail("no element may follow " + std::string(closed_by));
    if (child.namespace_uri() != kReportNamespace) {
      if (child.namespace_uri().empty()) child.Fail("elements in no namespace are not allowed");
      xml::CheckForeignSubtree(child);  // a vendor extension: ignored
      continue;
    }
    xml::CheckElementSyntax(child);
    std::size_t index = 0;
    while (index < N && rules[index].name != child.local_name()) ++index;
    if (index == N) {
      child.Fail("unknown element in namespace " + std::string(kReportNamespace) + " inside " +
                 std::string(parent.local_name()));
    }
    if (rules[index].at_most_once && seen[index]) child.Fail("may appear only once here");
    seen[index] = true;
    rules[index].map(child, target);
    if (rules[index].must_be_last) closed_by = rules[index].name;
  }
}

// For elements without children of ours.
template <class Target>
void MapNoChildren(const xml::Element& element, Target& target) {
  MapChildren(element, std::array<ChildRule<Target>, 0>{}, target);
}

}  // namespace fleetcomm::protocol::detail
