#pragma once
// UTF-8 decoding for untrusted bytes. pugixml and libzip pass bytes through unchecked, and
// PostgreSQL refuses invalid UTF-8 with an error that would otherwise surface as a 5xx.
#include <cstddef>
#include <string_view>

namespace fleetcomm::protocol {

// Decodes one well-formed UTF-8 sequence at `pos` (shortest form, no surrogates, at most
// U+10FFFF) into `code_point` and advances `pos`; false leaves both untouched.
bool DecodeUtf8(std::string_view text, std::size_t& pos, char32_t& code_point);

// XML 1.0 `Char`: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF].
bool IsXmlChar(char32_t code_point);

// Offset of the first byte that is not valid UTF-8 or not an XML Char, or npos.
std::size_t FindInvalidXmlText(std::string_view text);

// True when `text` is valid UTF-8 without C0/C1 controls or DEL.
bool IsPrintableUtf8(std::string_view text);

// The number of UTF-8 bytes that encode `code_point` (1..4).
std::size_t Utf8Length(char32_t code_point);

}  // namespace fleetcomm::protocol
