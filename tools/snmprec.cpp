#include "tools/snmprec.hpp"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <limits>
#include <sstream>

namespace fleetcomm::tools {
namespace {

template <typename T>
std::optional<T> ParseNumber(std::string_view text) {
  T value{};
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> DecodeHex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::string bytes;
  bytes.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const int high = HexDigit(hex[i]);
    const int low = HexDigit(hex[i + 1]);
    if (high < 0 || low < 0) return std::nullopt;
    bytes.push_back(static_cast<char>(high * 16 + low));
  }
  return bytes;
}

bool IsDottedQuad(std::string_view text) {
  int parts = 0;
  while (true) {
    const auto dot = text.find('.');
    const auto part = ParseNumber<unsigned>(text.substr(0, dot));
    if (!part || *part > 255) return false;
    ++parts;
    if (dot == std::string_view::npos) break;
    text.remove_prefix(dot + 1);
  }
  return parts == 4;
}

std::string DottedQuad(std::string_view four_bytes) {
  std::string out;
  for (std::size_t i = 0; i < four_bytes.size(); ++i) {
    if (i != 0) out.push_back('.');
    out += std::to_string(static_cast<unsigned char>(four_bytes[i]));
  }
  return out;
}

// The error message of a value that does not decode, or nullopt on success.
std::optional<std::string> Decode(std::string_view type, std::string_view text, SnmpValue& out) {
  const bool hex = type.size() > 1 && type.back() == 'x';
  if (hex) type.remove_suffix(1);
  std::string bytes(text);
  if (hex) {
    auto decoded = DecodeHex(text);
    if (!decoded) return "bad hex value";
    bytes = std::move(*decoded);
  }
  if (type == "2" && !hex) {
    out.type = SnmpType::kInteger;
    out.number = ParseNumber<std::int64_t>(text);
    if (!out.number) return "bad INTEGER";
    return std::nullopt;
  }
  if (type == "4" || type == "68") {
    out.type = type == "4" ? SnmpType::kOctetString : SnmpType::kOpaque;
    out.bytes = std::move(bytes);
    return std::nullopt;
  }
  if (type == "5" && !hex) {
    out.type = SnmpType::kNull;
    return std::nullopt;
  }
  if (type == "6" && !hex) {
    const auto oid = ParseOid(text);
    if (!oid) return "bad OBJECT IDENTIFIER";
    out.type = SnmpType::kObjectId;
    out.bytes = OidToString(*oid);
    return std::nullopt;
  }
  if (type == "64") {
    out.type = SnmpType::kIpAddress;
    if (hex) {
      if (bytes.size() != 4) return "IpAddress is not 4 bytes";
      out.bytes = DottedQuad(bytes);
    } else {
      if (!IsDottedQuad(text)) return "bad IpAddress";
      out.bytes = std::string(text);
    }
    return std::nullopt;
  }
  if ((type == "65" || type == "66" || type == "67" || type == "70") && !hex) {
    out.type = type == "65"   ? SnmpType::kCounter32
               : type == "66" ? SnmpType::kGauge32
               : type == "67" ? SnmpType::kTimeTicks
                              : SnmpType::kCounter64;
    out.unsigned_number = ParseNumber<std::uint64_t>(text);
    if (!out.unsigned_number) return "bad unsigned number";
    if (type != "70" && *out.unsigned_number > std::numeric_limits<std::uint32_t>::max()) {
      return "32-bit value out of range";
    }
    if (*out.unsigned_number <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      out.number = static_cast<std::int64_t>(*out.unsigned_number);
    }
    return std::nullopt;
  }
  return "unknown type " + std::string(type) + (hex ? "x" : "");
}

}  // namespace

std::optional<Oid> ParseOid(std::string_view text) {
  if (!text.empty() && text.front() == '.') text.remove_prefix(1);
  if (text.empty()) return std::nullopt;
  Oid oid;
  while (true) {
    const auto dot = text.find('.');
    const auto arc = ParseNumber<std::uint32_t>(text.substr(0, dot));
    if (!arc) return std::nullopt;
    oid.push_back(*arc);
    if (dot == std::string_view::npos) break;
    text.remove_prefix(dot + 1);
  }
  return oid;
}

std::string OidToString(const Oid& oid) {
  std::string out;
  for (std::size_t i = 0; i < oid.size(); ++i) {
    if (i != 0) out.push_back('.');
    out += std::to_string(oid[i]);
  }
  return out;
}

SnmpRecording SnmpRecording::Parse(std::string_view text) {
  SnmpRecording recording;
  std::size_t line_number = 0;
  while (!text.empty()) {
    const auto newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    // Only the first two separators count: an OCTET STRING may itself contain '|'.
    const auto first = line.find('|');
    const auto second = first == std::string_view::npos ? first : line.find('|', first + 1);
    if (second == std::string_view::npos) {
      recording.skipped_.push_back({line_number, "not OID|TYPE|VALUE"});
      continue;
    }
    const auto oid = ParseOid(line.substr(0, first));
    if (!oid) {
      recording.skipped_.push_back({line_number, "bad OID"});
      continue;
    }
    SnmpValue value;
    if (auto error = Decode(line.substr(first + 1, second - first - 1), line.substr(second + 1), value)) {
      recording.skipped_.push_back({line_number, std::move(*error)});
      continue;
    }
    recording.values_.emplace(std::move(*oid), std::move(value));
  }
  return recording;
}

SnmpRecording SnmpRecording::Load(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw SnmpRecordingError("cannot open " + path.string());
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) throw SnmpRecordingError("cannot read " + path.string());
  return Parse(content.str());
}

const SnmpValue* SnmpRecording::Get(std::string_view oid) const {
  const auto parsed = ParseOid(oid);
  return parsed ? Get(*parsed) : nullptr;
}

const SnmpValue* SnmpRecording::Get(const Oid& oid) const {
  const auto it = values_.find(oid);
  return it == values_.end() ? nullptr : &it->second;
}

std::vector<WalkEntry> SnmpRecording::Walk(std::string_view column) const {
  const auto parsed = ParseOid(column);
  return parsed ? Walk(*parsed) : std::vector<WalkEntry>{};
}

std::vector<WalkEntry> SnmpRecording::Walk(const Oid& column) const {
  std::vector<WalkEntry> entries;
  for (auto it = values_.upper_bound(column); it != values_.end(); ++it) {
    const Oid& oid = it->first;
    if (oid.size() <= column.size() || !std::equal(column.begin(), column.end(), oid.begin())) break;
    entries.push_back({Oid(oid.begin() + static_cast<std::ptrdiff_t>(column.size()), oid.end()), &it->second});
  }
  return entries;
}

}  // namespace fleetcomm::tools
