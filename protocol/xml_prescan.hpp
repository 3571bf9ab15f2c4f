#pragma once
// A single linear pass over the raw report, before pugixml sees it. pugixml validates
// neither Unicode, nor references, nor the document's shape (RELIABILITY-ANCHORS 7), and
// building a DOM for a 100,000-deep or 50 MB-attribute document is the cost we refuse to
// pay; so everything that does not need a tree is decided here, in O(n) time and O(1)
// memory, with the offending line in the message.
#include <cstddef>
#include <string>
#include <string_view>

namespace fleetcomm::protocol::xml {

struct PrescanLimits {
  std::size_t max_depth = 16;              // nested elements, root included
  std::size_t max_attribute_bytes = 4096;  // after references are replaced
};

// 1-based line of a byte offset (only computed on the error path).
std::size_t LineAt(std::string_view text, std::size_t offset);

// A client-supplied name cut to a length fit for an error message, on a UTF-8 boundary.
std::string ShortForMessage(std::string_view name);

// Refuses with ProtocolError(kInvalidReport): invalid UTF-8 or a non-XML character; a
// DOCTYPE or any other `<!` declaration; a misplaced XML declaration; an undefined entity,
// a bare `&` or a character reference to a non-XML character; `<` inside an attribute
// value; an attribute value longer than the limit; nesting deeper than the limit; a second
// root element; text or CDATA outside the root element; no root element at all.
// What remains (tag balance, name syntax) is left to pugixml.
void Prescan(std::string_view xml, const PrescanLimits& limits);

}  // namespace fleetcomm::protocol::xml
