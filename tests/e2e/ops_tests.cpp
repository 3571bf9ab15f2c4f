// The plain-HTTP ops listener (PROTOCOL.md section 1): liveness, readiness that follows the
// database without a restart, and metrics.
#include "tests/support/server_process.hpp"
#include "tests/support/temp_postgres.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <thread>

using fleetcomm::testing::DatabaseOutage;
using fleetcomm::testing::HttpClient;
using fleetcomm::testing::HttpResult;
using fleetcomm::testing::RunningFleetcomm;
using namespace std::chrono_literals;

namespace {

// Polls /readyz until it answers `status` or `timeout` passes; returns the last answer.
HttpResult WaitForReadyz(std::uint16_t port, unsigned status, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    HttpClient client(port, std::nullopt, 3s);
    HttpResult result = client.Get("/readyz");
    if (result.status == status || std::chrono::steady_clock::now() >= deadline) return result;
    std::this_thread::sleep_for(200ms);
  }
}

}  // namespace

TEST_CASE("ops: healthz, readyz with the schema version, metrics", "[e2e][ops]") {
  RunningFleetcomm fleetcomm;
  HttpClient client(fleetcomm.config.ports.ops, std::nullopt);

  const auto health = client.Get("/healthz");
  INFO(health.Describe());
  CHECK(health.status == 200);
  CHECK(health.HasHeader("X-Request-Id"));

  const auto ready = client.Get("/readyz");
  INFO(ready.Describe());
  REQUIRE(ready.status == 200);
  const auto body = nlohmann::json::parse(ready.body, nullptr, false);
  REQUIRE(body.is_object());
  CHECK(body.value("status", "") == "ready");
  REQUIRE(body.contains("schema_version"));
  CHECK(body["schema_version"].is_number_integer());
  CHECK(body["schema_version"].get<int>() >= 1);

  const auto metrics = client.Get("/metrics");
  INFO(metrics.Describe());
  CHECK(metrics.status == 200);
  CHECK_THAT(metrics.Header("Content-Type"), Catch::StartsWith("text/plain"));
  CHECK_THAT(metrics.body, Catch::Contains("fleetcomm_http_requests_total"));
  // The three requests above went over one connection.
  CHECK(client.ConnectionsOpened() == 1);

  const auto missing = client.Get("/nope");
  CHECK(missing.status == 404);
  CHECK(missing.ErrorCode() == "not_found");
}

TEST_CASE("ops: readyz is 503 with Retry-After while the database is down, 200 again after", "[e2e][ops]") {
  RunningFleetcomm fleetcomm;
  const auto port = fleetcomm.config.ports.ops;
  REQUIRE(WaitForReadyz(port, 200, 5s).status == 200);
  {
    DatabaseOutage outage;
    const auto down = WaitForReadyz(port, 503, 10s);
    INFO(down.Describe() << "\nlog:\n" << fleetcomm.process.LogTail());
    REQUIRE(down.status == 503);
    CHECK(down.ErrorCode() == "unavailable");
    CHECK_FALSE(down.Header("Retry-After").empty());
    // No internals on the wire (PROTOCOL.md 1): no libpq text, no host or port.
    CHECK_THAT(down.body, !Catch::Contains("127.0.0.1") && !Catch::Contains("connection"));
    // Liveness is not readiness: the process is fine.
    CHECK(HttpClient(port, std::nullopt).Get("/healthz").status == 200);
    outage.End();
    const auto up = WaitForReadyz(port, 200, 10s);
    INFO(up.Describe() << "\nlog:\n" << fleetcomm.process.LogTail());
    CHECK(up.status == 200);
  }
  CHECK(fleetcomm.process.Running());
}
