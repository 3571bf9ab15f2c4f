#pragma once
// JSON text written straight into a string, for the parameters of the upload statements:
// an agent's report is thousands of rows a batch, and building nlohmann::json documents of
// them (a std::map per object, an allocation per value) and then dumping them cost the
// server more than PostgreSQL's parsing of the text. Strings must be valid UTF-8 (the report
// parser refuses anything else); duplicate keys are written as given, and jsonb keeps the
// last, as nlohmann's operator[] did.
#include <concepts>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fleetcomm::storage {

class JsonText {
 public:
  JsonText& BeginObject();
  JsonText& EndObject();
  JsonText& BeginArray();
  JsonText& EndArray();
  JsonText& Key(std::string_view key);

  JsonText& Value(std::string_view text);
  JsonText& Value(const std::string& text) { return Value(std::string_view(text)); }
  JsonText& Value(const char* text) { return Value(std::string_view(text)); }
  JsonText& Value(bool flag);
  JsonText& Value(std::nullptr_t);
  template <std::integral T>
  JsonText& Value(T number) {
    return Integer(static_cast<long long>(number));
  }
  // Absent: null, so that every document of a kind has the same keys.
  template <class T>
  JsonText& Value(const std::optional<T>& value) {
    return value ? Value(*value) : Value(nullptr);
  }
  template <class T>
  JsonText& Field(std::string_view key, const T& value) {
    Key(key);
    return Value(value);
  }

  const std::string& Text() const { return out_; }

 private:
  JsonText& Integer(long long number);
  void BeforeValue();
  void AppendEscaped(std::string_view text);

  std::string out_;
  std::vector<bool> first_in_container_;
  bool after_key_ = false;
};

}  // namespace fleetcomm::storage
