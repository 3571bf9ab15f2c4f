// deploy/prometheus/fleetcomm-alerts.yml and deploy/grafana/fleetcomm-dashboard.json against
// a real Prometheus (Debian's package) scraping the real binary: promtool accepts the rules,
// Prometheus loads and evaluates every one without error, every dashboard query evaluates,
// and the key panels show live figures after some traffic. Grafana is not in Debian, so the
// dashboard's JSON itself is not loaded by Grafana here (monitoring_config_tests.cpp checks
// its structure); its queries are Grafana's variables replaced as Grafana would.
#include "tests/support/fleet_actors.hpp"
#include "tests/support/prometheus_process.hpp"
#include "tools/report_writer.hpp"
#include "tools/sample_device.hpp"
#include "tools/zip_writer.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cmath>
#include <functional>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using fleetcomm::testing::ClientTls;
using fleetcomm::testing::CreateAccount;
using fleetcomm::testing::CreateOperatorToken;
using fleetcomm::testing::HttpClient;
using fleetcomm::testing::PrometheusProcess;
using fleetcomm::testing::RunningFleetcomm;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

const std::string kSourceDir = FLEETCOMM_SOURCE_DIR;

std::string ReadSourceFile(const std::string& relative) {
  std::ifstream in(kSourceDir + "/" + relative, std::ios::binary);
  REQUIRE(in.good());
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void ReplaceAll(std::string& text, const std::string& from, const std::string& to) {
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
}

struct PanelQuery {
  std::string title;
  std::string expr;  // as Prometheus receives it from Grafana
};

// Grafana's variables as it would send them: instance "All" (its allValue), and a rate
// interval of four scrape intervals.
std::string AsGrafanaSends(std::string expr) {
  ReplaceAll(expr, "$__rate_interval", "4s");
  ReplaceAll(expr, "$instance", ".*");
  return expr;
}

void CollectPanelQueries(const json& panels, std::vector<PanelQuery>& out) {
  for (const auto& panel : panels) {
    if (panel.contains("panels")) CollectPanelQueries(panel["panels"], out);
    if (!panel.contains("targets")) continue;
    for (const auto& target : panel["targets"]) {
      out.push_back({panel.value("title", ""), AsGrafanaSends(target["expr"].get<std::string>())});
    }
  }
}

// The first sample's value of an instant vector answer; NaN when there is none.
double FirstValue(const json& answer) {
  if (answer.value("status", "") != "success" || answer["data"]["result"].empty()) return std::nan("");
  return std::stod(answer["data"]["result"][0]["value"][1].get<std::string>());
}

// Asks `query` until `accept` holds for some sample of its answer, or 30 s pass; calls
// `traffic` before each try (rates need requests within their window). Returns the last answer.
json QueryUntil(const PrometheusProcess& prometheus, const std::string& query,
                const std::function<bool(double)>& accept, const std::function<void()>& traffic) {
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  for (;;) {
    traffic();
    const json answer = prometheus.Api("query", {{"query", query}});
    if (answer.value("status", "") == "success") {
      for (const auto& sample : answer["data"]["result"]) {
        const double value = std::stod(sample["value"][1].get<std::string>());
        if (!std::isnan(value) && accept(value)) return answer;
      }
    }
    if (std::chrono::steady_clock::now() > deadline) return answer;
    std::this_thread::sleep_for(250ms);
  }
}

}  // namespace

TEST_CASE("monitoring: a real Prometheus loads the alert rules and runs every dashboard query on live figures",
          "[e2e][metrics][deploy][prometheus]") {
  const std::string prometheus_binary = fleetcomm::testing::FindProgram("prometheus");
  const std::string promtool = fleetcomm::testing::FindProgram("promtool");
  INFO("prometheus and promtool come with Debian's prometheus package: run deploy/install-deps.sh");
  REQUIRE_FALSE(prometheus_binary.empty());
  REQUIRE_FALSE(promtool.empty());

  const std::string rules_file = kSourceDir + "/deploy/prometheus/fleetcomm-alerts.yml";
  const auto checked = fleetcomm::testing::RunProgram({promtool, "check", "rules", rules_file});
  INFO(checked.out << checked.err);
  REQUIRE(checked.exit_code == 0);
  CHECK_THAT(checked.out, Catch::Contains("SUCCESS"));
  std::size_t alert_count = 0;
  {
    std::istringstream lines(ReadSourceFile("deploy/prometheus/fleetcomm-alerts.yml"));
    for (std::string line; std::getline(lines, line);) {
      if (line.find("- alert:") != std::string::npos) ++alert_count;
    }
  }
  REQUIRE(alert_count > 0);

  RunningFleetcomm fleetcomm;
  const auto& ports = fleetcomm.config.ports;
  PrometheusProcess prometheus(prometheus_binary, fleetcomm.dir.File("prometheus"),
                               "127.0.0.1:" + std::to_string(ports.ops), {rules_file});

  // Traffic on both listeners, new TLS connections included: an upload, polls, operator reads.
  const std::string admin = CreateOperatorToken(fleetcomm, {"--role", "admin"});
  const std::string account = CreateAccount(fleetcomm, admin);
  fleetcomm::testing::ProvisionActiveDevice(fleetcomm, admin, account, fleetcomm.pki.device_xrx0001, "XRX0001");
  const std::string report = fleetcomm::tools::WriteZip({{"report.xml", fleetcomm::tools::WriteReportXml(
      fleetcomm::tools::SampleDeviceReport("5d1c3f7e-0d2a-4c53-9a57-5e5b0f1f2a10", "XRX0001", 1000))}});
  REQUIRE(fleetcomm::testing::PostUpload(fleetcomm, fleetcomm.pki.device_xrx0001, report).status == 201);
  const auto traffic = [&] {
    HttpClient device(ports.device, ClientTls(fleetcomm.pki, &fleetcomm.pki.device_xrx0001));
    CHECK(device.Get("/rs/v1/actions").status == 200);
    fleetcomm::testing::OperatorCall(fleetcomm, admin, "GET", "/api/v1/accounts", 200);
  };

  // The target is up: Prometheus scrapes the ops listener's /metrics.
  const json up = QueryUntil(prometheus, "up{job=\"fleetcomm\"}", [](double v) { return v == 1; }, traffic);
  INFO("up: " << up.dump() << "\nprometheus log:\n" << prometheus.LogTail());
  REQUIRE(FirstValue(up) == 1);

  // Every rule loaded from the file and, once evaluated, healthy.
  json groups;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  for (;;) {
    const json rules = prometheus.Api("rules");
    REQUIRE(rules.value("status", "") == "success");
    groups = rules["data"]["groups"];
    bool evaluated = !groups.empty();
    for (const auto& group : groups) {
      for (const auto& rule : group["rules"]) evaluated = evaluated && rule.value("health", "") != "unknown";
    }
    if (evaluated || std::chrono::steady_clock::now() > deadline) break;
    std::this_thread::sleep_for(250ms);
  }
  std::size_t loaded = 0;
  for (const auto& group : groups) {
    CHECK(group["file"] == rules_file);
    for (const auto& rule : group["rules"]) {
      ++loaded;
      INFO(rule.dump());
      CHECK(rule["type"] == "alerting");
      CHECK(rule["health"] == "ok");
      CHECK(rule.value("lastError", "").empty());
    }
  }
  CHECK(loaded == alert_count);

  // Every panel's query (and the instance variable's) evaluates without error.
  const json dashboard = json::parse(ReadSourceFile("deploy/grafana/fleetcomm-dashboard.json"));
  std::vector<PanelQuery> queries;
  CollectPanelQueries(dashboard["panels"], queries);
  REQUIRE(queries.size() > 20);
  for (const auto& query : queries) {
    const json answer = prometheus.Api("query", {{"query", query.expr}});
    INFO(query.title << ": " << query.expr << "\n-> " << answer.dump());
    CHECK(answer.value("status", "") == "success");
  }
  const json instances = prometheus.Api("series", {{"match[]", "fleetcomm_database_up"}});
  REQUIRE(instances.value("status", "") == "success");
  REQUIRE(instances["data"].size() == 1);
  CHECK(instances["data"][0]["instance"] == "127.0.0.1:" + std::to_string(ports.ops));

  // The key panels show live figures: what the traffic above and below did (a panel's first query).
  const auto panel = [&queries](const std::string& title) {
    for (const auto& query : queries) {
      if (query.title == title) return query.expr;
    }
    FAIL("no panel titled " << title);
    return std::string();
  };
  const auto positive = [](double v) { return v > 0; };
  for (const std::string title : {"Request rate by route", "Latency p99 by route", "TLS handshakes by listener",
                                  "Empty-poll cache", "Audit entries written / dropped"}) {
    const json answer = QueryUntil(prometheus, panel(title), positive, traffic);
    INFO(title << ": " << answer.dump());
    bool some_positive = false;  // routes without requests within the window are NaN
    for (const auto& sample : answer["data"]["result"]) {
      some_positive = some_positive || std::stod(sample["value"][1].get<std::string>()) > 0;
    }
    CHECK(some_positive);
  }
  CHECK(FirstValue(QueryUntil(prometheus, panel("Database up"), positive, traffic)) == 1);
  const double days = FirstValue(QueryUntil(prometheus, panel("Certificate expiry (days left)"), positive, traffic));
  CHECK(days > 1);
  CHECK(days < 10000);
}
