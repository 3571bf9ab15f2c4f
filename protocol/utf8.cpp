#include "protocol/utf8.hpp"

namespace fleetcomm::protocol {
namespace {

bool IsContinuation(unsigned char byte) { return (byte & 0xC0U) == 0x80U; }

}  // namespace

bool DecodeUtf8(std::string_view text, std::size_t& pos, char32_t& code_point) {
  if (pos >= text.size()) return false;
  const auto lead = static_cast<unsigned char>(text[pos]);
  std::size_t length = 0;
  char32_t value = 0;
  char32_t minimum = 0;
  if (lead < 0x80U) {
    code_point = lead;
    ++pos;
    return true;
  } else if ((lead & 0xE0U) == 0xC0U) {
    length = 2, value = lead & 0x1FU, minimum = 0x80;
  } else if ((lead & 0xF0U) == 0xE0U) {
    length = 3, value = lead & 0x0FU, minimum = 0x800;
  } else if ((lead & 0xF8U) == 0xF0U) {
    length = 4, value = lead & 0x07U, minimum = 0x10000;
  } else {
    return false;
  }
  if (text.size() - pos < length) return false;
  for (std::size_t i = 1; i < length; ++i) {
    const auto byte = static_cast<unsigned char>(text[pos + i]);
    if (!IsContinuation(byte)) return false;
    value = (value << 6U) | (byte & 0x3FU);
  }
  // Overlong forms smuggle '/', '<' or NUL past byte-level checks; surrogates are not
  // characters at all.
  if (value < minimum || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) return false;
  code_point = value;
  pos += length;
  return true;
}

bool IsXmlChar(char32_t c) {
  return c == 0x9 || c == 0xA || c == 0xD || (c >= 0x20 && c <= 0xD7FF) ||
         (c >= 0xE000 && c <= 0xFFFD) || (c >= 0x10000 && c <= 0x10FFFF);
}

std::size_t FindInvalidXmlText(std::string_view text) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    // ASCII fast path: most reports are plain ASCII.
    const auto byte = static_cast<unsigned char>(text[pos]);
    if (byte >= 0x20U && byte < 0x80U) {
      ++pos;
      continue;
    }
    const std::size_t start = pos;
    char32_t c = 0;
    if (!DecodeUtf8(text, pos, c) || !IsXmlChar(c)) return start;
  }
  return std::string_view::npos;
}

bool IsPrintableUtf8(std::string_view text) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    char32_t c = 0;
    if (!DecodeUtf8(text, pos, c)) return false;
    if (c < 0x20 || (c >= 0x7F && c <= 0x9F)) return false;
  }
  return true;
}

std::size_t Utf8Length(char32_t c) {
  if (c < 0x80) return 1;
  if (c < 0x800) return 2;
  if (c < 0x10000) return 3;
  return 4;
}

}  // namespace fleetcomm::protocol
