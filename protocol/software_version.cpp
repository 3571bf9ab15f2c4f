#include "protocol/software_version.hpp"

namespace fleetcomm::protocol {

std::optional<std::vector<std::int64_t>> VersionKey(std::string_view text) {
  constexpr std::size_t kMaxComponents = 32;
  constexpr std::size_t kMaxDigits = 18;  // fits in a signed 64-bit integer
  std::vector<std::int64_t> key;
  std::size_t start = 0;
  for (;;) {
    const auto dot = text.find('.', start);
    const auto part = text.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (part.empty() || part.size() > kMaxDigits || key.size() == kMaxComponents) return std::nullopt;
    std::int64_t value = 0;
    for (char c : part) {
      if (c < '0' || c > '9') return std::nullopt;
      value = value * 10 + (c - '0');
    }
    key.push_back(value);
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  while (key.size() > 1 && key.back() == 0) key.pop_back();
  return key;
}

}  // namespace fleetcomm::protocol
