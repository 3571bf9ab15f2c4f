#include "protocol/xml_prescan.hpp"

#include <algorithm>
#include <cstdint>

#include "protocol/protocol_error.hpp"
#include "protocol/utf8.hpp"

namespace fleetcomm::protocol::xml {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

class Scanner {
 public:
  Scanner(std::string_view text, const PrescanLimits& limits) : text_(text), limits_(limits) {}

  void Run() {
    while (pos_ < text_.size()) {
      if (text_[pos_] == '<') {
        Markup();
      } else if (text_[pos_] == '&') {
        if (depth_ == 0) Fail(pos_, "text outside the root element");
        Reference();
      } else {
        if (depth_ == 0 && !IsSpace(text_[pos_])) Fail(pos_, "text outside the root element");
        if (At("]]>")) Fail(pos_, "']]>' is not allowed in text");
        ++pos_;
      }
    }
    if (!root_seen_) Fail(pos_, "no root element");
  }

 private:
  [[noreturn]] void Fail(std::size_t at, const std::string& what) const {
    throw ProtocolError(ErrorCode::kInvalidReport, "line " + std::to_string(LineAt(text_, at)) + ": " + what);
  }
  [[noreturn]] void FailElement(std::size_t at, std::string_view element, const std::string& what) const {
    throw ProtocolError(ErrorCode::kInvalidReport, "line " + std::to_string(LineAt(text_, at)) + ", element " +
                                                       ShortForMessage(element) + ": " + what);
  }

  bool At(std::string_view token) const { return text_.substr(pos_, token.size()) == token; }

  void SkipPast(std::string_view terminator, const char* what) {
    const std::size_t end = text_.find(terminator, pos_);
    if (end == std::string_view::npos) Fail(pos_, std::string("unterminated ") + what);
    pos_ = end + terminator.size();
  }

  void Markup() {
    if (At("<!--")) {
      // "--" may only appear as the end of a comment: pugixml accepts it, XML does not.
      const std::size_t start = pos_;
      pos_ += 4;
      SkipPast("-->", "comment");
      if (text_.substr(start + 4, pos_ - start - 4).find("--") != pos_ - start - 7) Fail(start, "'--' inside a comment");
    } else if (At("<![CDATA[")) {
      if (depth_ == 0) Fail(pos_, "text outside the root element");
      SkipPast("]]>", "CDATA section");
    } else if (At("<!DOCTYPE")) {
      Fail(pos_, "a DOCTYPE is not allowed");
    } else if (At("<!")) {
      Fail(pos_, "markup declarations are not allowed");
    } else if (At("<?")) {
      ProcessingInstruction();
    } else if (At("</")) {
      if (depth_ == 0) Fail(pos_, "end tag without a start tag");
      --depth_;
      SkipPast(">", "end tag");
    } else {
      StartTag();
    }
  }

  // `<?xml ...?>` is the declaration only as the very first thing; anywhere else (or in
  // another case) the target is reserved.
  void ProcessingInstruction() {
    const std::size_t start = pos_;
    pos_ += 2;
    const std::size_t target_end = std::min(text_.find_first_of(" \t\r\n?", pos_), text_.size());
    std::string target(text_.substr(pos_, target_end - pos_));
    std::transform(target.begin(), target.end(), target.begin(),
                   [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; });
    if (target == "xml" && (start != 0 || text_.substr(pos_, 3) != "xml")) {
      Fail(start, "the XML declaration must come first");
    }
    if (target.empty() || target.find(':') != std::string::npos) Fail(start, "bad processing instruction target");
    SkipPast("?>", "processing instruction");
  }

  void StartTag() {
    const std::size_t start = pos_;
    ++pos_;
    const std::size_t name_end = std::min(text_.find_first_of(" \t\r\n/>", pos_), text_.size());
    const std::string_view name = text_.substr(pos_, name_end - pos_);
    if (name.empty()) Fail(start, "XML is not well formed: bad start tag");
    if (depth_ == 0 && root_seen_) FailElement(start, name, "a second root element is not allowed");
    pos_ = name_end;
    for (;;) {
      while (pos_ < text_.size() && IsSpace(text_[pos_])) ++pos_;
      if (pos_ >= text_.size()) FailElement(start, name, "unterminated start tag");
      if (At("/>")) {
        pos_ += 2;
        if (depth_ == 0) root_seen_ = true;
        return;
      }
      if (text_[pos_] == '>') {
        ++pos_;
        root_seen_ = true;
        if (++depth_ > limits_.max_depth) {
          FailElement(start, name, "nesting deeper than " + std::to_string(limits_.max_depth) + " elements");
        }
        return;
      }
      Attribute(start, name);
    }
  }

  void Attribute(std::size_t tag_start, std::string_view element) {
    const std::size_t name_end = std::min(text_.find_first_of(" \t\r\n=/>", pos_), text_.size());
    const std::string_view name = text_.substr(pos_, name_end - pos_);
    pos_ = name_end;
    while (pos_ < text_.size() && IsSpace(text_[pos_])) ++pos_;
    if (name.empty() || pos_ >= text_.size() || text_[pos_] != '=') {
      FailElement(tag_start, element, "XML is not well formed: bad attribute");
    }
    ++pos_;
    while (pos_ < text_.size() && IsSpace(text_[pos_])) ++pos_;
    if (pos_ >= text_.size() || (text_[pos_] != '"' && text_[pos_] != '\'')) {
      FailElement(tag_start, element, "XML is not well formed: attribute value without quotes");
    }
    const char quote = text_[pos_++];
    std::size_t length = 0;  // of the value as pugixml will store it
    while (pos_ < text_.size() && text_[pos_] != quote) {
      if (text_[pos_] == '<') FailElement(tag_start, element, "'<' in the value of attribute " + ShortForMessage(name));
      if (text_[pos_] == '&') {
        length += Reference();
      } else {
        // A CR LF pair is normalised to one character.
        if (!(text_[pos_] == '\r' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '\n')) ++length;
        ++pos_;
      }
      if (length > limits_.max_attribute_bytes) {
        FailElement(tag_start, element,
                    "attribute " + ShortForMessage(name) + " is longer than " +
                        std::to_string(limits_.max_attribute_bytes) + " bytes");
      }
    }
    if (pos_ >= text_.size()) FailElement(tag_start, element, "unterminated attribute value");
    ++pos_;
  }

  // Validates the reference at pos_ and returns the UTF-8 length of what it stands for.
  std::size_t Reference() {
    const std::size_t start = pos_;
    const std::size_t end = text_.find(';', pos_);
    // Longest legal reference: "&#x10FFFF;" or "&#1114111;" (leading zeros aside).
    if (end == std::string_view::npos || end - start > 32) Fail(start, "bare '&' or unterminated reference");
    const std::string_view body = text_.substr(start + 1, end - start - 1);
    pos_ = end + 1;
    if (body == "lt" || body == "gt" || body == "amp" || body == "apos" || body == "quot") return 1;
    if (body.size() < 2 || body[0] != '#') Fail(start, "undefined entity (only the five XML entities exist)");
    const bool hex = body[1] == 'x';
    const std::string_view digits = body.substr(hex ? 2 : 1);
    std::uint32_t value = 0;
    for (char c : digits) {
      int digit = -1;
      if (c >= '0' && c <= '9') digit = c - '0';
      if (hex && c >= 'a' && c <= 'f') digit = c - 'a' + 10;
      if (hex && c >= 'A' && c <= 'F') digit = c - 'A' + 10;
      if (digit < 0) Fail(start, "bad character reference");
      value = value * (hex ? 16U : 10U) + static_cast<std::uint32_t>(digit);
      if (value > 0x10FFFF) Fail(start, "character reference to a character not allowed in XML");
    }
    if (digits.empty()) Fail(start, "bad character reference");
    if (!IsXmlChar(value)) Fail(start, "character reference to a character not allowed in XML");
    return Utf8Length(value);
  }

  std::string_view text_;
  const PrescanLimits& limits_;
  std::size_t pos_ = 0;
  std::size_t depth_ = 0;
  bool root_seen_ = false;
};

}  // namespace

std::string ShortForMessage(std::string_view name) {
  constexpr std::size_t kMax = 64;
  if (name.size() <= kMax) return std::string(name);
  std::size_t cut = kMax;
  while (cut > 0 && (static_cast<unsigned char>(name[cut]) & 0xC0U) == 0x80U) --cut;
  return std::string(name.substr(0, cut)) + "...";
}

std::size_t LineAt(std::string_view text, std::size_t offset) {
  offset = std::min(offset, text.size());
  return 1 + static_cast<std::size_t>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(offset), '\n'));
}

void Prescan(std::string_view xml, const PrescanLimits& limits) {
  const std::size_t bad = FindInvalidXmlText(xml);
  if (bad != std::string_view::npos) {
    throw ProtocolError(ErrorCode::kInvalidReport,
                        "line " + std::to_string(LineAt(xml, bad)) +
                            ": invalid UTF-8 or a character not allowed in XML");
  }
  Scanner(xml, limits).Run();
}

}  // namespace fleetcomm::protocol::xml
