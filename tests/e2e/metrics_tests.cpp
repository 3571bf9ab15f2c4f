// The metrics of issue 7 on the ops listener, after real traffic: TLS handshakes, uploads
// stored, replayed and refused, the database-derived queue gauges (refreshed in the
// background), certificate expiry at start and after SIGHUP, and the operator's identity
// in the request log.
#include "tests/support/fleet_actors.hpp"
#include "tests/support/metrics_scrape.hpp"
#include "tools/report_writer.hpp"
#include "tools/sample_device.hpp"
#include "tools/zip_writer.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <openssl/asn1.h>
#include <openssl/x509.h>

#include <signal.h>

#include <cmath>
#include <ctime>

using fleetcomm::testing::CertOptions;
using fleetcomm::testing::ClientTls;
using fleetcomm::testing::ConfigOverrides;
using fleetcomm::testing::CreateAccount;
using fleetcomm::testing::CreateOperatorToken;
using fleetcomm::testing::HttpClient;
using fleetcomm::testing::IssueCertificate;
using fleetcomm::testing::MetricValue;
using fleetcomm::testing::OperatorCall;
using fleetcomm::testing::PostUpload;
using fleetcomm::testing::QueryNumber;
using fleetcomm::testing::RunningFleetcomm;
using fleetcomm::testing::ScrapeMetric;
using fleetcomm::testing::TestCertificate;
using fleetcomm::testing::WaitForMetric;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

std::string DeviceReportZip(const std::string& report_id, const std::string& serial) {
  const auto report = fleetcomm::tools::SampleDeviceReport(report_id, serial, 123456);
  return fleetcomm::tools::WriteZip({{"report.xml", fleetcomm::tools::WriteReportXml(report)}});
}

// Seconds from now until the first certificate of `file` expires.
double SecondsToExpiry(const std::string& cert, const std::string& key) {
  const auto loaded = TestCertificate::LoadFiles(cert, key);
  std::tm tm{};
  REQUIRE(ASN1_TIME_to_tm(X509_get0_notAfter(loaded.cert()), &tm) == 1);
  return static_cast<double>(timegm(&tm) - std::time(nullptr));
}

}  // namespace

TEST_CASE("metrics: handshakes, uploads stored, replayed and refused, queue gauges, certificate expiry",
          "[e2e][metrics]") {
  // No pipeline worker in this instance: the upload's jobs stay pending, so lag is visible.
  RunningFleetcomm fleetcomm(ConfigOverrides{{"pipelines.workers", "0"}});
  const auto& ports = fleetcomm.config.ports;
  const std::string admin = CreateOperatorToken(fleetcomm, {"--role", "admin", "--name", "metrics-admin"});
  const std::string account = CreateAccount(fleetcomm, admin, {{"name", "Metrics"}, {"meter_billing", true}});
  const std::string device_id =
      fleetcomm::testing::ProvisionActiveDevice(fleetcomm, admin, account, fleetcomm.pki.device_xrx0001, "XRX0001");

  const std::string report = DeviceReportZip("7a1c3f7e-0d2a-4c53-9a57-5e5b0f1f2a10", "XRX0001");
  REQUIRE(PostUpload(fleetcomm, fleetcomm.pki.device_xrx0001, report).status == 201);
  REQUIRE(PostUpload(fleetcomm, fleetcomm.pki.device_xrx0001, report).status == 200);
  CHECK(PostUpload(fleetcomm, fleetcomm.pki.device_xrx0001, report, "application/xml").ErrorCode() ==
        "unsupported_media_type");
  CHECK(PostUpload(fleetcomm, fleetcomm.pki.device_xrx0001, "not a zip").ErrorCode() == "invalid_archive");

  {  // tls handshakes by listener, and failures
    CHECK(MetricValue(ports, "fleetcomm_tls_handshakes_total{listener=\"device\"}") >= 4);
    CHECK(MetricValue(ports, "fleetcomm_tls_handshakes_total{listener=\"operator\"}") >= 2);
    const std::string expired_name =
        "fleetcomm_tls_handshake_failures_total{listener=\"device\",reason=\"certificate_expired\"}";
    const double failed_before = ScrapeMetric(ports, expired_name).value_or(0);
    HttpClient expired(ports.device, ClientTls(fleetcomm.pki, &fleetcomm.pki.device_expired));
    // Under TLS 1.3 the client may believe the handshake done before the server's verdict.
    CHECK(expired.Get("/rs/v1/actions").status != 200);
    const auto failed = WaitForMetric(ports, expired_name, [&](double v) { return v > failed_before; }, 5s);
    CHECK(failed.value_or(0) == failed_before + 1);
  }

  {  // uploads: one stored with its device and rows, one replayed, two refused by code
    CHECK(MetricValue(ports, "fleetcomm_uploads_stored_total") == 1);
    CHECK(MetricValue(ports, "fleetcomm_uploads_duplicate_total") == 1);
    CHECK(MetricValue(ports, "fleetcomm_upload_devices_stored_total") == 1);
    // As many rows as the tables hold: this upload is the only one.
    for (const std::string table : {"device_snapshots", "device_faults", "counter_readings", "supply_readings"}) {
      INFO(table);
      const double stored = MetricValue(ports, "fleetcomm_upload_rows_stored_total{table=\"" + table + "\"}");
      CHECK(stored == static_cast<double>(QueryNumber(fleetcomm, "SELECT count(*) FROM " + table)));
      CHECK(stored >= 1);
    }
    CHECK(MetricValue(ports, "fleetcomm_upload_rows_stored_total{table=\"job_log_entries\"}") == 0);  // no consent
    CHECK(MetricValue(ports, "fleetcomm_uploads_refused_total{code=\"unsupported_media_type\"}") == 1);
    CHECK(MetricValue(ports, "fleetcomm_uploads_refused_total{code=\"invalid_archive\"}") == 1);
  }

  {  // pipeline, feed and action gauges follow the database
    const json restart = OperatorCall(fleetcomm, admin, "POST", "/api/v1/devices/" + device_id + "/actions", 201,
                                      {{"type", "restart"}});
    REQUIRE(restart["state"] == "awaiting_authorization");
    const json status = OperatorCall(fleetcomm, admin, "POST", "/api/v1/devices/" + device_id + "/actions", 201,
                                     {{"type", "get_status"}});
    REQUIRE(status["state"] == "queued");
    // A feed item the sequencer has not numbered (no worker runs here), written 90 s ago.
    REQUIRE(QueryNumber(fleetcomm,
                        "WITH e AS (INSERT INTO service_events (source_key, account_id, device_id, kind, code, "
                        "severity, at, created_at) VALUES ('metrics-test', '" + account + "', '" + device_id +
                            "', 'alert_raised', 'x', 'warning', now(), now() - interval '90 seconds') RETURNING 1) "
                            "SELECT count(*) FROM e") == 1);
    REQUIRE(QueryNumber(fleetcomm, "SELECT count(*) FROM pipeline_jobs "
                                   "WHERE pipeline = 'meter_reads' AND finished_at IS NULL") == 1);

    // Refreshed every 5 s by a periodic task, not at the scrape.
    const auto lag = WaitForMetric(ports, "fleetcomm_feed_lag_seconds{feed=\"service_events\"}",
                                   [](double v) { return v >= 90; }, 15s);
    REQUIRE(lag);
    CHECK(*lag >= 90);
    CHECK(*lag < 200);
    const auto queued = WaitForMetric(ports, "fleetcomm_actions_open{state=\"queued\"}",
                                      [](double v) { return v == 1; }, 15s);
    CHECK(queued.value_or(-1) == 1);
    CHECK(MetricValue(ports, "fleetcomm_actions_open{state=\"awaiting_authorization\"}") == 1);
    CHECK(MetricValue(ports, "fleetcomm_actions_open{state=\"in_progress\"}") == 0);
    CHECK(MetricValue(ports, "fleetcomm_feed_unsequenced_items{feed=\"service_events\"}") == 1);
    CHECK(MetricValue(ports, "fleetcomm_feed_unsequenced_items{feed=\"meter_reads\"}") == 0);
    CHECK(MetricValue(ports, "fleetcomm_feed_lag_seconds{feed=\"meter_reads\"}") == 0);
    CHECK(MetricValue(ports, "fleetcomm_pipeline_jobs_pending{pipeline=\"meter_reads\"}") == 1);
    const double job_lag = MetricValue(ports, "fleetcomm_pipeline_lag_seconds{pipeline=\"meter_reads\"}");
    CHECK(job_lag >= 0);
    CHECK(job_lag < 60);
    CHECK(MetricValue(ports, "fleetcomm_pipeline_jobs_pending{pipeline=\"supplies\"}") == 0);  // no contract
    const double refreshed = MetricValue(ports, "fleetcomm_backlog_refreshed_timestamp_seconds");
    CHECK(std::abs(refreshed - static_cast<double>(std::time(nullptr))) < 30);
  }

  {  // certificate expiry by role, as in the files
    const auto& pki = fleetcomm.pki;
    const double server = MetricValue(ports, "fleetcomm_certificate_expiry_seconds{role=\"device_server\"}");
    CHECK(server == Approx(SecondsToExpiry(pki.server.cert, pki.server.key)).margin(60));
    CHECK(server > 86400);
    CHECK(MetricValue(ports, "fleetcomm_certificate_expiry_seconds{role=\"operator_server\"}") ==
          Approx(server).margin(60));
    CHECK(MetricValue(ports, "fleetcomm_certificate_expiry_seconds{role=\"agent_ca\"}") ==
          Approx(SecondsToExpiry(pki.agent_ca.cert, pki.agent_ca.key)).margin(60));
    CHECK(MetricValue(ports, "fleetcomm_certificate_expiry_seconds{role=\"device_trust_anchors\"}") ==
          Approx(SecondsToExpiry(pki.device_ca.cert, pki.device_ca.key)).margin(60));
    CHECK(MetricValue(ports, "fleetcomm_certificate_not_after_timestamp_seconds{role=\"device_server\"}") ==
          Approx(static_cast<double>(std::time(nullptr)) + server).margin(60));
  }

  {  // the request log names the operator token, as the audit entry does
    OperatorCall(fleetcomm, admin, "GET", "/api/v1/accounts/" + account, 200);
    const long long token_id = QueryNumber(fleetcomm, "SELECT id FROM operator_tokens WHERE name = 'metrics-admin'");
    CHECK(fleetcomm.process.WaitForLog("identity=operator:" + std::to_string(token_id) + " route=/api/v1/accounts/{id}",
                                       1, 5s));
  }
}

TEST_CASE("metrics: SIGHUP updates the certificate expiry to the reloaded certificate's", "[e2e][metrics]") {
  RunningFleetcomm fleetcomm;
  const auto& pki = fleetcomm.pki;
  const auto& ports = fleetcomm.config.ports;
  const double before = MetricValue(ports, "fleetcomm_certificate_expiry_seconds{role=\"device_server\"}");

  const auto ca = TestCertificate::LoadFiles(pki.server_ca.cert, pki.server_ca.key);
  CertOptions options;
  options.common_name = "localhost";
  options.eku = CertOptions::Eku::kServerAuth;
  options.dns_sans = {"localhost"};
  options.ip_sans = {"127.0.0.1"};
  options.not_after_offset_s = 3L * 86400;
  IssueCertificate(ca, options).WriteFiles(pki.dir, "server");
  REQUIRE(std::abs(before - 3 * 86400) > 3600);  // the test tells the two apart

  fleetcomm.process.Signal(SIGHUP);
  INFO("log:\n" << fleetcomm.process.LogTail());
  REQUIRE(fleetcomm.process.WaitForLog("event=tls_reloaded", 1, 5s));
  CHECK(MetricValue(ports, "fleetcomm_certificate_expiry_seconds{role=\"device_server\"}") ==
        Approx(3 * 86400).margin(120));
  CHECK(MetricValue(ports, "fleetcomm_certificate_expiry_seconds{role=\"operator_server\"}") ==
        Approx(3 * 86400).margin(120));
}
