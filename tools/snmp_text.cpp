#include "tools/snmp_text.hpp"

#include <cstdint>

namespace fleetcomm::tools {
namespace {

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void AppendUtf8(std::string& out, std::uint32_t code_point) {
  if (code_point < 0x80) {
    out.push_back(static_cast<char>(code_point));
  } else if (code_point < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (code_point >> 6)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  } else if (code_point < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (code_point >> 12)));
    out.push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (code_point >> 18)));
    out.push_back(static_cast<char>(0x80 | ((code_point >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  }
}

// Length of the well-formed UTF-8 sequence at `i` (1..4), or 0 when it is not one
// (overlong forms, surrogates and values above U+10FFFF included).
std::size_t SequenceLength(std::string_view s, std::size_t i, std::uint32_t& code_point) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char lead = byte(i);
  std::size_t length = 0;
  std::uint32_t minimum = 0;
  if (lead < 0x80) {
    code_point = lead;
    return 1;
  } else if ((lead & 0xE0) == 0xC0) {
    length = 2, minimum = 0x80, code_point = lead & 0x1F;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3, minimum = 0x800, code_point = lead & 0x0F;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4, minimum = 0x10000, code_point = lead & 0x07;
  } else {
    return 0;
  }
  if (i + length > s.size()) return 0;
  for (std::size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    code_point = (code_point << 6) | (byte(i + k) & 0x3F);
  }
  if (code_point < minimum || code_point > 0x10FFFF || (code_point >= 0xD800 && code_point <= 0xDFFF)) return 0;
  return length;
}

bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

}  // namespace

std::string_view StripPmlHeader(std::string_view bytes) {
  if (bytes.size() >= 2 && bytes[0] == '\x01' && bytes[1] == '\x15') bytes.remove_prefix(2);
  return bytes;
}

std::optional<std::string> UnfoldHexString(std::string_view bytes) {
  const auto fold = bytes.find('\n');
  if (fold == std::string_view::npos) return std::nullopt;
  std::string out(bytes.substr(0, fold));
  std::size_t pairs = 0;
  std::size_t i = fold + 1;
  while (i < bytes.size()) {
    if (IsBlank(bytes[i])) {
      ++i;
      continue;
    }
    // Each token is exactly two hex digits followed by a separator or the end.
    if (i + 1 >= bytes.size()) return std::nullopt;
    const int high = HexDigit(bytes[i]);
    const int low = HexDigit(bytes[i + 1]);
    if (high < 0 || low < 0 || (i + 2 < bytes.size() && !IsBlank(bytes[i + 2]))) return std::nullopt;
    // A fold hides text: control bytes (other than NUL padding) mean these were not hex lines.
    const int byte = high * 16 + low;
    if (byte != 0 && byte < 0x20 && !IsBlank(static_cast<char>(byte))) return std::nullopt;
    out.push_back(static_cast<char>(byte));
    ++pairs;
    i += 2;
  }
  if (pairs == 0) return std::nullopt;
  return out;
}

bool IsValidUtf8(std::string_view bytes) {
  std::uint32_t code_point = 0;
  for (std::size_t i = 0; i < bytes.size();) {
    const auto length = SequenceLength(bytes, i, code_point);
    if (length == 0) return false;
    i += length;
  }
  return true;
}

std::string ToUtf8(std::string_view bytes) {
  if (IsValidUtf8(bytes)) return std::string(bytes);
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char c : bytes) AppendUtf8(out, static_cast<unsigned char>(c));
  return out;
}

std::string ReplaceXmlForbidden(std::string_view utf8) {
  std::string out;
  out.reserve(utf8.size());
  std::uint32_t code_point = 0;
  for (std::size_t i = 0; i < utf8.size();) {
    const auto length = SequenceLength(utf8, i, code_point);
    const bool allowed = length != 0 && (code_point >= 0x20 || code_point == '\t' || code_point == '\n' ||
                                         code_point == '\r') &&
                         code_point != 0xFFFE && code_point != 0xFFFF;
    if (allowed) {
      out.append(utf8.substr(i, length));
    } else {
      AppendUtf8(out, 0xFFFD);
    }
    i += length == 0 ? 1 : length;
  }
  return out;
}

std::string SnmpText(std::string_view bytes) {
  bytes = StripPmlHeader(bytes);
  std::string text(bytes);
  if (auto unfolded = UnfoldHexString(bytes)) text = std::move(*unfolded);
  // C firmware pads fixed-size buffers with NULs; they are not part of the text.
  while (!text.empty() && (text.back() == '\0' || IsBlank(text.back()))) text.pop_back();
  std::size_t start = 0;
  while (start < text.size() && IsBlank(text[start])) ++start;
  return ReplaceXmlForbidden(ToUtf8(std::string_view(text).substr(start)));
}

}  // namespace fleetcomm::tools
