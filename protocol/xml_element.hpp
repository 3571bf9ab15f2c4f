#pragma once
// Namespace-aware access to a pugixml tree. pugixml knows nothing of namespaces, so each
// element's xmlns declarations are collected into a Scope that lives on the stack of the
// (depth-bounded) walk; an Element pairs a node with its resolved namespace and turns
// every refusal into "line N, element X: ..." (kInvalidReport).
#include <pugixml.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fleetcomm::protocol::xml {

class Scope {
 public:
  Scope(const Scope* parent, pugi::xml_node element);

  // The namespace a prefix ("" = default) is bound to here; "" means no namespace;
  // nullopt means the prefix was never declared.
  std::optional<std::string_view> Resolve(std::string_view prefix) const;

 private:
  const Scope* parent_;
  std::optional<std::string_view> default_namespace_;
  std::vector<std::pair<std::string_view, std::string_view>> prefixes_;  // sorted by prefix
};

class Element {
 public:
  // `text` is the parsed buffer, kept for line numbers.
  Element(std::string_view text, pugi::xml_node node, const Scope& scope);

  std::string_view local_name() const { return local_name_; }
  std::string_view namespace_uri() const { return namespace_uri_; }
  pugi::xml_node node() const { return node_; }
  const Scope& scope() const { return scope_; }
  std::string_view text() const { return text_; }
  std::size_t line() const;

  [[noreturn]] void Fail(const std::string& what) const;
  [[noreturn]] void FailAttribute(const char* attribute, const std::string& what) const;

  // Attribute readers: the attribute is unqualified (no namespace), as all of ours are.
  // Absent optional attributes are nullopt; a present but invalid value is refused.
  std::optional<std::string> Text(const char* name) const;
  std::string RequiredText(const char* name) const;
  std::string RequiredNonBlank(const char* name) const;
  std::optional<std::int64_t> Unsigned(const char* name) const;
  std::optional<std::int64_t> Integer(const char* name, std::int64_t minimum) const;
  std::optional<bool> Boolean(const char* name) const;
  std::optional<std::string> Time(const char* name) const;
  std::string RequiredTime(const char* name) const;
  std::optional<std::string> OneOf(const char* name, std::span<const std::string_view> allowed) const;
  std::string RequiredOneOf(const char* name, std::span<const std::string_view> allowed) const;

 private:
  std::optional<std::string_view> Raw(const char* name) const;
  std::string_view Required(const char* name) const;

  std::string_view text_;
  pugi::xml_node node_;
  const Scope& scope_;
  std::string_view local_name_;
  std::string_view namespace_uri_;
};

// Namespace well-formedness and attribute uniqueness of one element (names are QNames,
// prefixes are declared, no two attributes share a raw or an expanded name). pugixml
// checks none of it; the XSD validator does, so we must too.
void CheckElementSyntax(const Element& element);

// The same checks for a whole foreign (vendor) subtree, which is otherwise skipped.
// Recursion is safe: the prescan bounded the depth.
void CheckForeignSubtree(const Element& element);

}  // namespace fleetcomm::protocol::xml
