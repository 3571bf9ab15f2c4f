#include "server/config.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

using fleetcomm::server::ConfigError;
using fleetcomm::server::ConfigKeys;
using fleetcomm::server::EnvironmentName;
using fleetcomm::server::ParseConfig;

namespace {

const std::string kMinimal =
    "database.url = host=127.0.0.1 dbname=x\n"
    "device.tls_cert = /tmp/s.crt\n"
    "device.tls_key = /tmp/s.key\n"
    "agent.ca_cert = /tmp/a.crt\n";

std::string ErrorOf(const std::string& text, const std::map<std::string, std::string>& env = {}) {
  try {
    ParseConfig(text, env);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("a minimal config gets every documented default", "[config]") {
  const auto config = ParseConfig(kMinimal, {});
  CHECK(config.device_listen.host == "0.0.0.0");
  CHECK(config.device_listen.port == 8443);
  CHECK(config.operator_listen.port == 9443);
  CHECK(config.ops_listen.host == "127.0.0.1");
  CHECK(config.body_limit_bytes == 16u * 1024 * 1024);
  CHECK(config.header_limit_bytes == 16u * 1024);
  CHECK(config.max_in_flight == 512);
  // The operator listener presents the device listener's certificate unless told otherwise.
  CHECK(config.operator_tls.certificate == "/tmp/s.crt");
}

TEST_CASE("environment variables override the file", "[config]") {
  const auto config = ParseConfig(kMinimal + "limits.body_bytes = 2048\n",
                                  {{"FLEETCOMM_LIMITS_BODY_BYTES", "4096"}, {"FLEETCOMM_DEVICE_LISTEN", "[::1]:443"}});
  CHECK(config.body_limit_bytes == 4096);
  CHECK(config.device_listen.host == "::1");
  CHECK(config.device_listen.port == 443);
  CHECK(EnvironmentName("database.pool_size") == "FLEETCOMM_DATABASE_POOL_SIZE");
}

TEST_CASE("config errors name the setting and the place", "[config]") {
  CHECK_THAT(ErrorOf(kMinimal + "limits.body_byte = 1\n"), Catch::Contains("line 5") && Catch::Contains("limits.body_byte"));
  CHECK_THAT(ErrorOf(kMinimal + "limits.max_in_flight = lots\n"), Catch::Contains("limits.max_in_flight"));
  CHECK_THAT(ErrorOf(kMinimal + "database.pool_size = 0\n"), Catch::Contains("from 1 to 512"));
  CHECK_THAT(ErrorOf(kMinimal + "device.listen = 8443\n"), Catch::Contains("HOST:PORT"));
  CHECK_THAT(ErrorOf(kMinimal + "database.url = again\n"), Catch::Contains("set twice"));
  CHECK_THAT(ErrorOf("device.tls_cert = a\ndevice.tls_key = b\nagent.ca_cert = c\n"), Catch::Contains("database.url"));
  CHECK_THAT(ErrorOf(kMinimal, {{"FLEETCOMM_NO_SUCH_THING", "1"}}), Catch::Contains("FLEETCOMM_NO_SUCH_THING"));
  CHECK_THAT(ErrorOf(kMinimal + "limits.retry_after_min_s = 20\n"), Catch::Contains("retry_after"));
  CHECK_THAT(ErrorOf(kMinimal + "log.level = loud\n"), Catch::Contains("log.level"));
  CHECK_THAT(ErrorOf(kMinimal + "just words\n"), Catch::Contains("key = value"));
}

TEST_CASE("the sample config documents exactly the keys the server knows, with their defaults", "[config]") {
  std::ifstream file(std::string(FLEETCOMM_SOURCE_DIR) + "/deploy/fleetcomm.conf.example");
  REQUIRE(file);
  std::stringstream text;
  text << file.rdbuf();
  std::map<std::string, std::pair<bool, std::string>> documented;  // key -> (commented out, value)
  std::string line;
  while (std::getline(text, line)) {
    const bool commented = line.rfind("# ", 0) == 0;
    const std::string body = commented ? line.substr(2) : line;
    const auto equals = body.find(" = ");
    if (equals == std::string::npos) continue;
    const std::string key = body.substr(0, equals);
    if (key.find('.') == std::string::npos || key.find(' ') != std::string::npos) continue;
    documented[key] = {commented, body.substr(equals + 3)};
  }
  REQUIRE(documented.size() == ConfigKeys().size());
  for (const auto& key : ConfigKeys()) {
    INFO(key.name);
    REQUIRE(documented.count(key.name) == 1);
    // Optional settings appear commented out with their exact default.
    if (documented[key.name].first) CHECK(documented[key.name].second == key.default_value);
  }
  // And the sample, with its example values, is itself a valid configuration.
  std::ifstream again(std::string(FLEETCOMM_SOURCE_DIR) + "/deploy/fleetcomm.conf.example");
  std::stringstream whole;
  whole << again.rdbuf();
  CHECK_NOTHROW(ParseConfig(whole.str(), {}));
}

TEST_CASE("database conninfo carries the session settings", "[config]") {
  auto config = ParseConfig(kMinimal + "database.statement_timeout_ms = 2500\n", {});
  CHECK_THAT(config.DatabaseConnInfo(), Catch::Contains("statement_timeout=2500") && Catch::StartsWith("host=127.0.0.1"));
  config.database_url = "postgresql://u@h/db";
  CHECK_THAT(config.DatabaseConnInfo(), Catch::StartsWith("postgresql://u@h/db?connect_timeout="));
}
