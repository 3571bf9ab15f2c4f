#include "server/json_input.hpp"

#include <nlohmann/json.hpp>

namespace fleetcomm::server {
namespace {

using protocol::ErrorCode;

ApiError Invalid(std::string message) { return ApiError(ErrorCode::kInvalidRequest, std::move(message)); }

bool ValidUtf8(std::string_view text) {
  try {
    (void)nlohmann::json(std::string(text)).dump();
    return true;
  } catch (const nlohmann::json::exception&) {
    return false;
  }
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Parsed<std::string> PercentDecode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] == '%') {
      if (i + 2 >= text.size()) return ApiError(ErrorCode::kBadRequest, "bad % escape in query");
      const int high = HexValue(text[i + 1]);
      const int low = HexValue(text[i + 2]);
      if (high < 0 || low < 0) return ApiError(ErrorCode::kBadRequest, "bad % escape in query");
      out += static_cast<char>(high * 16 + low);
      i += 2;
    } else {
      out += text[i];
    }
  }
  if (!ValidUtf8(out)) return ApiError(ErrorCode::kBadRequest, "query is not UTF-8");
  return out;
}

}  // namespace

JsonObjectReader::JsonObjectReader(std::unique_ptr<nlohmann::json> object) : object_(std::move(object)) {}
JsonObjectReader::JsonObjectReader(JsonObjectReader&&) noexcept = default;
JsonObjectReader& JsonObjectReader::operator=(JsonObjectReader&&) noexcept = default;
JsonObjectReader::~JsonObjectReader() = default;

Parsed<JsonObjectReader> JsonObjectReader::Parse(const HttpRequest& request,
                                                 std::initializer_list<const char*> known_fields) {
  auto object = std::make_unique<nlohmann::json>(nlohmann::json::parse(request.body(), nullptr, false));
  if (object->is_discarded()) return Invalid("the body is not valid JSON");
  return FromValue(std::move(object), "the body", known_fields);
}

Parsed<JsonObjectReader> JsonObjectReader::FromValue(std::unique_ptr<nlohmann::json> object, const std::string& where,
                                                     std::initializer_list<const char*> known_fields) {
  if (!object->is_object()) return Invalid(where + " must be a JSON object");
  for (const auto& [name, value] : object->items()) {
    bool known = false;
    for (const char* field : known_fields) known = known || name == field;
    if (!known) return Invalid("unknown field '" + name.substr(0, 64) + "'");
  }
  return JsonObjectReader(std::move(object));
}

const nlohmann::json* JsonObjectReader::Raw(const char* field) const {
  auto it = object_->find(field);
  return it == object_->end() ? nullptr : &*it;
}

Parsed<JsonObjectReader> JsonObjectReader::Object(const char* field,
                                                  std::initializer_list<const char*> known_fields) const {
  auto it = object_->find(field);
  if (it == object_->end() || it->is_null()) return Invalid(std::string(field) + " is required");
  return FromValue(std::make_unique<nlohmann::json>(*it), field, known_fields);
}

Parsed<std::optional<std::string>> JsonObjectReader::String(const char* field, std::size_t max_bytes,
                                                            bool multiline) const {
  auto it = object_->find(field);
  if (it == object_->end() || it->is_null()) return std::optional<std::string>{};
  if (!it->is_string()) return Invalid(std::string(field) + " must be a string");
  auto value = it->get<std::string>();
  if (value.size() > max_bytes) {
    return Invalid(std::string(field) + " is longer than " + std::to_string(max_bytes) + " bytes");
  }
  for (char c : value) {
    const bool allowed_space = multiline && (c == '\n' || c == '\r' || c == '\t');
    if (static_cast<unsigned char>(c) < 0x20 && !allowed_space) {
      return Invalid(std::string(field) + " contains control characters");
    }
  }
  return std::optional<std::string>(std::move(value));
}

Parsed<std::string> JsonObjectReader::RequiredString(const char* field, std::size_t max_bytes,
                                                     bool multiline) const {
  auto value = String(field, max_bytes, multiline);
  if (!value) return value.error();
  if (!*value || (*value)->empty()) return Invalid(std::string(field) + " is required");
  return std::move(**value);
}

Parsed<std::optional<bool>> JsonObjectReader::Bool(const char* field) const {
  auto it = object_->find(field);
  if (it == object_->end() || it->is_null()) return std::optional<bool>{};
  if (!it->is_boolean()) return Invalid(std::string(field) + " must be true or false");
  return std::optional<bool>(it->get<bool>());
}

Parsed<std::optional<long long>> JsonObjectReader::Integer(const char* field, long long min, long long max) const {
  auto it = object_->find(field);
  if (it == object_->end() || it->is_null()) return std::optional<long long>{};
  if (!it->is_number_integer()) return Invalid(std::string(field) + " must be a whole number");
  const auto value = it->get<long long>();
  if (value < min || value > max) {
    return Invalid(std::string(field) + " must be from " + std::to_string(min) + " to " + std::to_string(max));
  }
  return std::optional<long long>(value);
}

Parsed<std::map<std::string, std::string>> ParseQuery(std::string_view target) {
  std::map<std::string, std::string> query;
  const auto mark = target.find('?');
  if (mark == std::string_view::npos) return query;
  std::string_view rest = target.substr(mark + 1);
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    if (pair.empty()) continue;
    const auto equals = pair.find('=');
    auto name = PercentDecode(pair.substr(0, equals));
    auto value = PercentDecode(equals == std::string_view::npos ? std::string_view{} : pair.substr(equals + 1));
    if (!name) return name.error();
    if (!value) return value.error();
    if (!query.emplace(std::move(*name), std::move(*value)).second) {
      return ApiError(ErrorCode::kBadRequest, "a query parameter is repeated");
    }
  }
  return query;
}

std::optional<std::string> QueryValue(const std::map<std::string, std::string>& query, const char* name) {
  auto it = query.find(name);
  if (it == query.end() || it->second.empty()) return std::nullopt;
  return it->second;
}

Parsed<ListParams> ParseListParams(const std::map<std::string, std::string>& query) {
  ListParams params;
  if (auto it = query.find("limit"); it != query.end()) {
    int limit = 0;
    const auto& text = it->second;
    for (char c : text) {
      if (c < '0' || c > '9' || limit > 100000) return Invalid("limit must be a whole number from 1 to 1000");
      limit = limit * 10 + (c - '0');
    }
    if (text.empty() || limit < 1 || limit > 1000) return Invalid("limit must be a whole number from 1 to 1000");
    params.limit = limit;
  }
  if (auto it = query.find("after"); it != query.end()) params.after = it->second;
  return params;
}

Parsed<long long> ParseNumericCursor(std::string_view text, const char* refusal) {
  if (text.empty()) return 0LL;
  if (text.size() > 18) return Invalid(refusal);
  long long value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return Invalid(refusal);
    value = value * 10 + (c - '0');
  }
  return value;
}

}  // namespace fleetcomm::server
