#pragma once
// libpqxx 6.4 binds a null `const char*` as SQL NULL and has no std::optional support:
// optional values travel as text (or NULL) and the SQL casts them.
#include <optional>
#include <string>
#include <vector>

namespace fleetcomm::storage {

class OptionalText {
 public:
  explicit OptionalText(const std::optional<std::string>& v) : value_(v) {}
  explicit OptionalText(const std::optional<bool>& v) {
    if (v) value_ = *v ? "true" : "false";
  }
  template <class Integer, class = std::enable_if_t<std::is_integral_v<Integer>>>
  explicit OptionalText(const std::optional<Integer>& v) {
    if (v) value_ = std::to_string(*v);
  }
  const char* get() const { return value_ ? value_->c_str() : nullptr; }

 private:
  std::optional<std::string> value_;
};

// A PostgreSQL text[] literal, every element quoted and escaped, for `$n::text[]`.
inline std::string TextArrayLiteral(const std::vector<std::string>& items) {
  std::string out = "{";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i != 0) out += ',';
    out += '"';
    for (char c : items[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

}  // namespace fleetcomm::storage
