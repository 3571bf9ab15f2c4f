#include "protocol/xml_element.hpp"

#include <algorithm>

#include "protocol/protocol_error.hpp"
#include "protocol/report_values.hpp"
#include "protocol/xml_prescan.hpp"

namespace fleetcomm::protocol::xml {
namespace {

constexpr std::string_view kXmlNamespace = "http://www.w3.org/XML/1998/namespace";
constexpr std::string_view kXmlnsNamespace = "http://www.w3.org/2000/xmlns/";

struct QName {
  std::string_view prefix;
  std::string_view local;
};

// nullopt for names with an empty part or more than one colon (not namespace-well-formed).
std::optional<QName> SplitQName(std::string_view name) {
  const std::size_t colon = name.find(':');
  if (colon == std::string_view::npos) return QName{{}, name};
  if (colon == 0 || colon + 1 == name.size() || name.find(':', colon + 1) != std::string_view::npos) {
    return std::nullopt;
  }
  return QName{name.substr(0, colon), name.substr(colon + 1)};
}

bool IsBlank(std::string_view text) {
  return text.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

}  // namespace

Scope::Scope(const Scope* parent, pugi::xml_node element) : parent_(parent) {
  for (pugi::xml_attribute attribute : element.attributes()) {
    const std::string_view name = attribute.name();
    if (name == "xmlns") {
      default_namespace_ = attribute.value();
    } else if (name.starts_with("xmlns:")) {
      prefixes_.emplace_back(name.substr(6), attribute.value());
    }
  }
  std::sort(prefixes_.begin(), prefixes_.end());
}

std::optional<std::string_view> Scope::Resolve(std::string_view prefix) const {
  if (prefix == "xml") return kXmlNamespace;
  for (const Scope* scope = this; scope != nullptr; scope = scope->parent_) {
    if (prefix.empty()) {
      if (scope->default_namespace_) return scope->default_namespace_;
      continue;
    }
    const auto found = std::lower_bound(scope->prefixes_.begin(), scope->prefixes_.end(),
                                        std::pair<std::string_view, std::string_view>{prefix, {}});
    if (found != scope->prefixes_.end() && found->first == prefix) return found->second;
  }
  if (prefix.empty()) return std::string_view{};
  return std::nullopt;
}

Element::Element(std::string_view text, pugi::xml_node node, const Scope& scope)
    : text_(text), node_(node), scope_(scope) {
  const auto qname = SplitQName(node.name());
  if (!qname) Fail("the element name is not a valid qualified name");
  const auto uri = scope.Resolve(qname->prefix);
  if (!uri) Fail("namespace prefix " + ShortForMessage(qname->prefix) + " is not declared");
  local_name_ = qname->local;
  namespace_uri_ = *uri;
}

std::size_t Element::line() const {
  const std::ptrdiff_t offset = node_.offset_debug();
  return offset < 0 ? 0 : LineAt(text_, static_cast<std::size_t>(offset));
}

void Element::Fail(const std::string& what) const {
  throw ProtocolError(ErrorCode::kInvalidReport,
                      "line " + std::to_string(line()) + ", element " + ShortForMessage(node_.name()) + ": " + what);
}

void Element::FailAttribute(const char* attribute, const std::string& what) const {
  Fail("attribute " + ShortForMessage(attribute) + " " + what);
}

std::optional<std::string_view> Element::Raw(const char* name) const {
  const pugi::xml_attribute attribute = node_.attribute(name);
  if (!attribute) return std::nullopt;
  return std::string_view(attribute.value());
}

std::string_view Element::Required(const char* name) const {
  const auto value = Raw(name);
  if (!value) FailAttribute(name, "is required");
  return *value;
}

std::optional<std::string> Element::Text(const char* name) const {
  const auto value = Raw(name);
  return value ? std::optional<std::string>(*value) : std::nullopt;
}

std::string Element::RequiredText(const char* name) const { return std::string(Required(name)); }

std::string Element::RequiredNonBlank(const char* name) const {
  const std::string_view value = Required(name);
  if (IsBlank(value)) FailAttribute(name, "must not be empty");
  return std::string(value);
}

std::optional<std::int64_t> Element::Unsigned(const char* name) const {
  const auto raw = Raw(name);
  if (!raw) return std::nullopt;
  const auto value = values::ParseUnsigned(*raw);
  if (!value) FailAttribute(name, "must be an unsigned integer below 2^63");
  return value;
}

std::optional<std::int64_t> Element::Integer(const char* name, std::int64_t minimum) const {
  const auto raw = Raw(name);
  if (!raw) return std::nullopt;
  const auto value = values::ParseInteger(*raw, minimum);
  if (!value) FailAttribute(name, "must be an integer from " + std::to_string(minimum) + " to 2^63-1");
  return value;
}

std::optional<bool> Element::Boolean(const char* name) const {
  const auto raw = Raw(name);
  if (!raw) return std::nullopt;
  const auto value = values::ParseBoolean(*raw);
  if (!value) FailAttribute(name, "must be true or false");
  return value;
}

std::optional<std::string> Element::Time(const char* name) const {
  const auto raw = Raw(name);
  if (!raw) return std::nullopt;
  if (!values::IsTime(*raw)) FailAttribute(name, "must be an RFC 3339 time with an offset, e.g. 2026-11-24T03:00:00Z");
  return std::string(*raw);
}

std::string Element::RequiredTime(const char* name) const {
  Required(name);
  return *Time(name);
}

std::optional<std::string> Element::OneOf(const char* name, std::span<const std::string_view> allowed) const {
  const auto raw = Raw(name);
  if (!raw) return std::nullopt;
  if (!values::IsOneOf(*raw, allowed)) {
    std::string list;
    for (std::string_view option : allowed) list += (list.empty() ? "" : ", ") + std::string(option);
    FailAttribute(name, "must be one of: " + list);
  }
  return std::string(*raw);
}

std::string Element::RequiredOneOf(const char* name, std::span<const std::string_view> allowed) const {
  Required(name);
  return *OneOf(name, allowed);
}

void CheckElementSyntax(const Element& element) {
  std::vector<std::pair<std::string_view, std::string_view>> expanded;  // (namespace, local)
  for (pugi::xml_attribute attribute : element.node().attributes()) {
    const std::string_view name = attribute.name();
    const auto qname = SplitQName(name);
    if (!qname) element.FailAttribute(attribute.name(), "does not have a valid qualified name");
    if (name == "xmlns" || qname->prefix == "xmlns") {
      const std::string_view uri = attribute.value();
      if (qname->prefix == "xmlns" && (uri.empty() || qname->local == "xmlns" ||
                                       (qname->local == "xml") != (uri == kXmlNamespace))) {
        element.FailAttribute(attribute.name(), "is not a valid namespace declaration");
      }
      expanded.emplace_back(kXmlnsNamespace, qname->prefix.empty() ? std::string_view{} : qname->local);
      continue;
    }
    if (qname->prefix.empty()) {
      expanded.emplace_back(std::string_view{}, name);
      continue;
    }
    const auto uri = element.scope().Resolve(qname->prefix);
    if (!uri) element.FailAttribute(attribute.name(), "uses an undeclared namespace prefix");
    expanded.emplace_back(*uri, qname->local);
  }
  // pugixml keeps duplicate attributes (zeux/pugixml#379) and answers lookups with the
  // first; the same expanded name under two prefixes is a duplicate too.
  std::sort(expanded.begin(), expanded.end());
  const auto duplicate = std::adjacent_find(expanded.begin(), expanded.end());
  if (duplicate != expanded.end()) element.Fail("duplicate attribute " +
                 (duplicate->second.empty() ? std::string("xmlns") : ShortForMessage(duplicate->second)));
}

void CheckForeignSubtree(const Element& element) {
  CheckElementSyntax(element);
  for (pugi::xml_node child = element.node().first_child(); child; child = child.next_sibling()) {
    if (child.type() != pugi::node_element) continue;
    const Scope scope(&element.scope(), child);
    CheckForeignSubtree(Element(element.text(), child, scope));
  }
}

}  // namespace fleetcomm::protocol::xml
