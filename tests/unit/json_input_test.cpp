#include "server/json_input.hpp"

#include <catch2/catch.hpp>

using namespace fleetcomm::server;

namespace {

HttpRequest WithBody(std::string body) {
  HttpRequest request{http::verb::post, "/x", 11};
  request.body() = std::move(body);
  return request;
}

}  // namespace

TEST_CASE("query strings are percent-decoded and refused when malformed", "[json_input]") {
  auto query = ParseQuery("/api/v1/devices?state=pending&serial=A%2FB+C&empty=");
  REQUIRE(query.has_value());
  CHECK(query->at("state") == "pending");
  CHECK(query->at("serial") == "A/B C");
  CHECK(query->at("empty").empty());
  CHECK(ParseQuery("/x").value().empty());
  CHECK(ParseQuery("/x?a=%4").error().status == 400);
  CHECK(ParseQuery("/x?a=%zz").error().status == 400);
  CHECK(ParseQuery("/x?a=1&a=2").error().status == 400);
  CHECK(ParseQuery("/x?a=%ff%fe").error().status == 400);  // not UTF-8
}

TEST_CASE("list parameters default and bound", "[json_input]") {
  CHECK(ParseListParams({}).value().limit == 100);
  CHECK(ParseListParams({{"limit", "1000"}, {"after", "ac_1"}}).value().after == "ac_1");
  CHECK(ParseListParams({{"limit", "1001"}}).error().status == 422);
  CHECK(ParseListParams({{"limit", "-1"}}).error().status == 422);
  CHECK(ParseListParams({{"limit", "99999999999999999999"}}).error().status == 422);
}

TEST_CASE("JSON bodies: types, lengths and unknown fields", "[json_input]") {
  auto reader = JsonObjectReader::Parse(WithBody(R"({"name":"ok","flag":true,"n":5})"), {"name", "flag", "n", "opt"});
  REQUIRE(reader.has_value());
  CHECK(reader->RequiredString("name", 10).value() == "ok");
  CHECK(reader->RequiredString("name", 1).error().status == 422);
  CHECK_FALSE(reader->String("opt", 10).value().has_value());
  CHECK(reader->RequiredString("opt", 10).error().message == "opt is required");
  CHECK(reader->Bool("flag").value() == std::optional<bool>(true));
  CHECK(reader->Bool("name").error().status == 422);
  CHECK(reader->Integer("n", 1, 5).value() == std::optional<long long>(5));
  CHECK(reader->Integer("n", 6, 9).error().status == 422);
  CHECK(JsonObjectReader::Parse(WithBody(R"({"other":1})"), {"name"}).error().message == "unknown field 'other'");
  CHECK(JsonObjectReader::Parse(WithBody("[]"), {}).error().status == 422);
  CHECK(JsonObjectReader::Parse(WithBody("{"), {}).error().status == 422);
  auto control = JsonObjectReader::Parse(WithBody(R"({"name":"a\u0001b"})"), {"name"});
  REQUIRE(control.has_value());
  CHECK(control->String("name", 10).error().status == 422);
  auto pem = JsonObjectReader::Parse(WithBody(R"({"csr":"-----BEGIN\nabc\r\n","bell":"a\u0007"})"), {"csr", "bell"});
  REQUIRE(pem.has_value());
  CHECK(pem->String("csr", 100).error().status == 422);
  CHECK(pem->RequiredString("csr", 100, true).value() == "-----BEGIN\nabc\r\n");
  CHECK(pem->String("bell", 100, true).error().status == 422);
}

TEST_CASE("a numeric cursor is empty (0) or 1 to 18 digits; anything else is a 422 naming the cursor", "[json_input]") {
  CHECK(ParseNumericCursor("", "bad cursor").value() == 0);
  CHECK(ParseNumericCursor("0", "bad cursor").value() == 0);
  CHECK(ParseNumericCursor("000042", "bad cursor").value() == 42);
  CHECK(ParseNumericCursor("999999999999999999", "bad cursor").value() == 999999999999999999LL);
  for (const char* refused : {"-1", "+1", "1x", " 1", "1.5", "0x10", "9999999999999999999", "1234567890123456789"}) {
    INFO(refused);
    const auto parsed = ParseNumericCursor(refused, "bad cursor");
    REQUIRE_FALSE(parsed.has_value());
    CHECK(parsed.error().status == 422);
    CHECK(parsed.error().message == "bad cursor");
  }
}
