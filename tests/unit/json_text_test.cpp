#include "storage/json_text.hpp"
#include "storage/report_documents.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>

using fleetcomm::storage::JsonText;
using nlohmann::json;

TEST_CASE("json text: nesting, separators and every kind of value", "[json_text]") {
  JsonText out;
  out.BeginArray();
  out.BeginObject()
      .Field("name", std::string("toner"))
      .Field("level", std::int64_t{-3})
      .Field("max", std::numeric_limits<std::int64_t>::max())
      .Field("count", std::size_t{7})
      .Field("ok", true)
      .Field("missing", std::optional<std::string>())
      .Field("present", std::optional<std::int64_t>(42))
      .Key("list")
      .BeginArray()
      .Value("a")
      .Value(nullptr)
      .BeginObject()
      .EndObject()
      .BeginArray()
      .EndArray()
      .EndArray()
      .EndObject();
  out.BeginObject().EndObject();
  out.EndArray();
  CHECK(out.Text() ==
        R"([{"name":"toner","level":-3,"max":9223372036854775807,"count":7,"ok":true,"missing":null,)"
        R"("present":42,"list":["a",null,{},[]]},{}])");
  const json parsed = json::parse(out.Text());
  CHECK(parsed[0]["max"].get<std::int64_t>() == std::numeric_limits<std::int64_t>::max());
}

TEST_CASE("json text: strings and keys are escaped as JSON requires, UTF-8 passes through", "[json_text]") {
  const std::string tricky = std::string("quote\" backslash\\ tab\t newline\n cr\r bell\x07 nul") + '\0' +
                             " unit\x1f del\x7f caf\xc3\xa9 \xe2\x82\xac";
  JsonText out;
  out.BeginObject().Field(tricky, tricky).EndObject();
  CHECK(out.Text().find('\0') == std::string::npos);
  CHECK(out.Text().find("\\u0007") != std::string::npos);
  CHECK(out.Text().find("\\u0000") != std::string::npos);
  CHECK(out.Text().find("caf\xc3\xa9") != std::string::npos);
  // Read back by an independent parser: the same key and value, byte for byte.
  const json parsed = json::parse(out.Text());
  REQUIRE(parsed.size() == 1);
  CHECK(parsed.begin().key() == tricky);
  CHECK(parsed.begin().value().get<std::string>() == tricky);
}

TEST_CASE("json text: a property sent twice is written twice, the last one after", "[json_text]") {
  JsonText out;
  fleetcomm::storage::WritePropertiesDocument(out, {{"duplex", "off"}, {"duplex", "on"}, {"tray", "2"}});
  CHECK(out.Text() == R"({"duplex":"off","duplex":"on","tray":"2"})");
  // nlohmann, like jsonb, keeps the last of duplicate keys.
  CHECK(json::parse(out.Text())["duplex"] == "on");
}
