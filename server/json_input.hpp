#pragma once
// Reading request bodies and query strings into typed values, refusing anything malformed
// with 422 invalid_request (or 400 for query syntax) and a message that names the field.
#include "server/http.hpp"

#include <boost/system/result.hpp>
#include <nlohmann/json_fwd.hpp>

#include <map>
#include <optional>
#include <string>

namespace fleetcomm::server {

template <class T>
using Parsed = boost::system::result<T, ApiError>;

// A JSON object body; unknown members are refused so that typos do not pass silently.
class JsonObjectReader {
 public:
  static Parsed<JsonObjectReader> Parse(const HttpRequest& request, std::initializer_list<const char*> known_fields);

  // Strings refuse control characters unless `multiline` (then \n, \r and \t pass: PEM).
  Parsed<std::optional<std::string>> String(const char* field, std::size_t max_bytes, bool multiline = false) const;
  Parsed<std::string> RequiredString(const char* field, std::size_t max_bytes, bool multiline = false) const;
  Parsed<std::optional<bool>> Bool(const char* field) const;
  Parsed<std::optional<long long>> Integer(const char* field, long long min, long long max) const;
  // A required nested object, read with the same rules.
  Parsed<JsonObjectReader> Object(const char* field, std::initializer_list<const char*> known_fields) const;
  // The member as parsed, for free-form values (action params, result data); null if absent.
  const nlohmann::json* Raw(const char* field) const;

  JsonObjectReader(JsonObjectReader&&) noexcept;
  JsonObjectReader& operator=(JsonObjectReader&&) noexcept;
  ~JsonObjectReader();

 private:
  explicit JsonObjectReader(std::unique_ptr<nlohmann::json> object);
  static Parsed<JsonObjectReader> FromValue(std::unique_ptr<nlohmann::json> object, const std::string& where,
                                            std::initializer_list<const char*> known_fields);
  std::unique_ptr<nlohmann::json> object_;
};

// ?a=1&b=x%20y, percent-decoded; 400 on bad escapes or repeated names.
Parsed<std::map<std::string, std::string>> ParseQuery(std::string_view target);

// A query parameter given with a non-empty value; an empty one (?state=) filters nothing.
std::optional<std::string> QueryValue(const std::map<std::string, std::string>& query, const char* name);

struct ListParams {
  int limit = 100;    // ?limit=, 1..1000
  std::string after;  // ?after=<cursor>
};
Parsed<ListParams> ParseListParams(const std::map<std::string, std::string>& query);

// A numeric ?after= cursor as the lists hand it out (a sequence or row id): 0 when empty,
// else 1 to 18 decimal digits (no sign, so it never overflows); `refusal` is the 422's message.
Parsed<long long> ParseNumericCursor(std::string_view text, const char* refusal);

}  // namespace fleetcomm::server
