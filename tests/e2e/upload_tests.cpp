// Uploads through the real binary (PROTOCOL.md 3.3): stored before the answer, idempotent by
// (sender, report id), visible through the operator API, and every refusal changes nothing.
#include "tests/support/fleet_actors.hpp"
#include "tools/report_writer.hpp"
#include "tools/sample_device.hpp"
#include "tools/zip_writer.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using fleetcomm::testing::CreateAccount;
using fleetcomm::testing::CreateOperatorToken;
using fleetcomm::testing::OperatorCall;
using fleetcomm::testing::PostUpload;
using fleetcomm::testing::QueryNumber;
using fleetcomm::testing::RegisterTestDevice;
using fleetcomm::testing::RunningFleetcomm;
using fleetcomm::tools::WriteReportXml;
using fleetcomm::tools::WriteZip;
using nlohmann::json;
namespace protocol = fleetcomm::protocol;

namespace {

protocol::Device XeroxDevice(const std::string& serial, std::int64_t total) {
  return fleetcomm::tools::SampleOfficeDevice(serial, total);
}

std::string DeviceReportZip(const std::string& report_id, const std::string& serial, std::int64_t total = 123456) {
  return WriteZip({{"report.xml", WriteReportXml(fleetcomm::tools::SampleDeviceReport(report_id, serial, total))}});
}

// Everything an upload could have written, summed: a refused upload must leave it unchanged.
long long StoredRows(const RunningFleetcomm& fleetcomm) {
  return QueryNumber(fleetcomm,
                     "SELECT (SELECT count(*) FROM uploads) + (SELECT count(*) FROM raw_uploads) + "
                     "(SELECT count(*) FROM device_snapshots) + (SELECT count(*) FROM counter_readings) + "
                     "(SELECT count(*) FROM supply_readings) + (SELECT count(*) FROM device_faults) + "
                     "(SELECT count(*) FROM job_log_entries) + (SELECT count(*) FROM devices)");
}

struct ActiveDevice {
  std::string admin;
  std::string account;
  std::string device_id;
};

ActiveDevice ProvisionAndRegister(RunningFleetcomm& fleetcomm) {
  ActiveDevice out;
  out.admin = CreateOperatorToken(fleetcomm, {"--role", "admin"});
  out.account = CreateAccount(fleetcomm, out.admin);
  out.device_id = fleetcomm::testing::ProvisionActiveDevice(fleetcomm, out.admin, out.account,
                                                            fleetcomm.pki.device_xrx0001, "XRX0001");
  return out;
}

}  // namespace

TEST_CASE("uploads: stored, replayed as a duplicate, conflicting content refused, visible to operators",
          "[e2e][uploads]") {
  RunningFleetcomm fleetcomm;
  const ActiveDevice device = ProvisionAndRegister(fleetcomm);
  const std::string report_id = "5d1c3f7e-0d2a-4c53-9a57-5e5b0f1f2a10";

  const auto first = PostUpload(fleetcomm, fleetcomm.pki.device_xrx0001, DeviceReportZip(report_id, "XRX0001"));
  INFO(first.Describe());
  REQUIRE(first.status == 201);
  const json answer = json::parse(first.body);
  CHECK(answer["report_id"] == report_id);
  CHECK(answer["duplicate"] == false);
  CHECK(answer["devices"] == json::parse(R"([{"serial":"XRX0001","status":"accepted"}])"));
  CHECK(answer["discarded"] == json::array({"JobLog"}));  // no job-data consent on this account
  CHECK(QueryNumber(fleetcomm, "SELECT count(*) FROM job_log_entries") == 0);

  // A retry whose zip differs around the same report.xml is the same upload.
  protocol::Report same;
  same.id = report_id;
  same.generated_at = "2026-11-24T03:00:00Z";
  same.devices.push_back(XeroxDevice("XRX0001", 123456));
  const std::string rezipped = WriteZip({{"report.xml", WriteReportXml(same)}}, {false, "stored, not deflated"});
  const auto retry = PostUpload(fleetcomm, fleetcomm.pki.device_xrx0001, rezipped);
  INFO(retry.Describe());
  REQUIRE(retry.status == 200);
  json replayed = json::parse(retry.body);
  CHECK(replayed["duplicate"] == true);
  replayed["duplicate"] = false;
  CHECK(replayed == answer);
  CHECK(QueryNumber(fleetcomm, "SELECT count(*) FROM uploads") == 1);
  CHECK(QueryNumber(fleetcomm, "SELECT count(*) FROM counter_readings") == 2);

  const auto conflict = PostUpload(fleetcomm, fleetcomm.pki.device_xrx0001, DeviceReportZip(report_id, "XRX0001", 999));
  CHECK(conflict.status == 409);
  CHECK(conflict.ErrorCode() == "report_id_conflict");

  const json shown = OperatorCall(fleetcomm, device.admin, "GET", "/api/v1/devices/" + device.device_id, 200);
  CHECK(shown["class"] == "office");
  CHECK(shown["status"]["state"] == "warning");
  CHECK(shown["status"]["alerts"][0]["code"] == "09-582-00");
  CHECK(shown["faults"][0]["code"] == "75-530-00");
  CHECK(shown["network"]["ip"] == "10.1.2.50");
  CHECK(shown["properties"]["speedPpm"] == "55");
  CHECK(shown["counters"] == json::parse(R"([{"name":"black-impressions","value":61728,"read_at":"2026-11-24T03:00:00Z"},
                                             {"name":"total-impressions","value":123456,"read_at":"2026-11-24T03:00:00Z"}])"));
  REQUIRE(shown["supplies"].size() == 2);
  CHECK(shown["supplies"][0]["percent"] == Approx(94.69));
  CHECK(shown["supplies"][1]["percent"].is_null());  // level -3, capacity -2: no amount known
  CHECK(shown["last_upload_at"].is_string());
  CHECK(shown["uploads"][0]["upload_id"] == answer["upload_id"]);
}

TEST_CASE("uploads: every refusal has its answer and changes nothing", "[e2e][uploads]") {
  RunningFleetcomm fleetcomm(fleetcomm::testing::ConfigOverrides{{"uploads.max_report_bytes", "1048576"}});
  ProvisionAndRegister(fleetcomm);
  const auto before = StoredRows(fleetcomm);
  const std::string id = "6d1c3f7e-0d2a-4c53-9a57-5e5b0f1f2a10";
  const std::string good_xml = WriteReportXml([&] {
    protocol::Report r;
    r.id = id;
    r.generated_at = "2026-11-24T03:00:00Z";
    r.devices.push_back(XeroxDevice("XRX0001", 1));
    return r;
  }());
  std::string doctype = good_xml;
  doctype.insert(doctype.find("<Report"), "<!DOCTYPE Report [<!ENTITY x \"y\">]>\n");
  std::string unknown_element = good_xml;
  unknown_element.insert(unknown_element.find("</Report>"), "<Gadget/>");
  std::string agent_source = good_xml;
  agent_source.replace(agent_source.find("source=\"device\""), 15, "source=\"agent\"");

  struct Case {
    std::string name;
    std::string body;
    std::string content_type;
    unsigned status;
    std::string code;
  };
  const std::vector<Case> cases = {
      {"json body", "{}", "application/json", 415, "unsupported_media_type"},
      {"not a zip", "PK\x03\x04 this is not a zip", "application/zip", 422, "invalid_archive"},
      {"truncated zip", DeviceReportZip(id, "XRX0001").substr(0, 60), "application/zip", 422, "invalid_archive"},
      {"zip bomb", WriteZip({{"report.xml", std::string(4 << 20, '\0')}}), "application/zip", 413, "payload_too_large"},
      {"two entries", WriteZip({{"report.xml", good_xml}, {"extra.txt", "x"}}), "application/zip", 422, "invalid_archive"},
      {"wrong name", WriteZip({{"../report.xml", good_xml}}), "application/zip", 422, "invalid_archive"},
      {"doctype", WriteZip({{"report.xml", doctype}}), "application/zip", 422, "invalid_report"},
      {"unknown element", WriteZip({{"report.xml", unknown_element}}), "application/zip", 422, "invalid_report"},
      {"agent report from a device", WriteZip({{"report.xml", agent_source}}), "application/zip", 422, "invalid_report"},
  };
  for (const auto& c : cases) {
    const auto result = PostUpload(fleetcomm, fleetcomm.pki.device_xrx0001, c.body, c.content_type);
    INFO(c.name << ": " << result.Describe());
    CHECK(result.status == c.status);
    CHECK(result.ErrorCode() == c.code);
    if (c.code == "invalid_report") CHECK_THAT(result.body, Catch::Contains("line"));
  }
  CHECK(StoredRows(fleetcomm) == before);
}

TEST_CASE("uploads: unregistered and pending devices may not upload; consent keeps job logs", "[e2e][uploads]") {
  RunningFleetcomm fleetcomm;
  const std::string admin = CreateOperatorToken(fleetcomm, {"--role", "admin"});
  const std::string zip = DeviceReportZip("7d1c3f7e-0d2a-4c53-9a57-5e5b0f1f2a10", "XRX0002");
  const auto unregistered = PostUpload(fleetcomm, fleetcomm.pki.device_xrx0002, zip);
  CHECK(unregistered.status == 403);
  CHECK(unregistered.ErrorCode() == "device_not_active");

  const auto pending = RegisterTestDevice(fleetcomm, fleetcomm.pki.device_xrx0002, "XRX0002");
  REQUIRE(pending.status == 202);
  const auto refused = PostUpload(fleetcomm, fleetcomm.pki.device_xrx0002, zip);
  CHECK(refused.status == 403);
  CHECK(refused.ErrorCode() == "device_not_active");
  CHECK(QueryNumber(fleetcomm, "SELECT count(*) FROM uploads") == 0);

  // Once an operator assigns it to an account with job-data consent, its job log is kept.
  const std::string account = CreateAccount(fleetcomm, admin, {{"job_data_consent", true}});
  const std::string device_id = json::parse(pending.body)["device_id"];
  OperatorCall(fleetcomm, admin, "POST", "/api/v1/devices/" + device_id + "/assign", 200, {{"account_id", account}});
  // The connection cache is per connection: PostUpload opens a new one.
  const auto accepted = PostUpload(fleetcomm, fleetcomm.pki.device_xrx0002, zip);
  INFO(accepted.Describe());
  REQUIRE(accepted.status == 201);
  CHECK(json::parse(accepted.body)["discarded"] == json::array());
  CHECK(QueryNumber(fleetcomm, "SELECT count(*) FROM job_log_entries") == 1);
}

TEST_CASE("devices: a revoked device is refused at once; a rejected pending device cannot register",
          "[e2e][uploads][revocation]") {
  RunningFleetcomm fleetcomm;
  const ActiveDevice device = ProvisionAndRegister(fleetcomm);
  REQUIRE(PostUpload(fleetcomm, fleetcomm.pki.device_xrx0001,
                     DeviceReportZip("8d1c3f7e-0d2a-4c53-9a57-5e5b0f1f2a10", "XRX0001"))
              .status == 201);
  const json revoked = OperatorCall(fleetcomm, device.admin, "POST", "/api/v1/devices/" + device.device_id + "/revoke", 200);
  CHECK(revoked["state"] == "revoked");
  const auto refused = PostUpload(fleetcomm, fleetcomm.pki.device_xrx0001,
                                  DeviceReportZip("9d1c3f7e-0d2a-4c53-9a57-5e5b0f1f2a10", "XRX0001"));
  CHECK(refused.status == 401);
  CHECK(refused.ErrorCode() == "certificate_rejected");
  const auto again = RegisterTestDevice(fleetcomm, fleetcomm.pki.device_xrx0001, "XRX0001");
  CHECK(again.status == 403);
  CHECK(again.ErrorCode() == "revoked");

  // An operator rejects a device that registered on its own: it stays out.
  const auto pending = RegisterTestDevice(fleetcomm, fleetcomm.pki.device_xrx0002, "XRX0002");
  REQUIRE(pending.status == 202);
  const std::string pending_id = json::parse(pending.body)["device_id"];
  OperatorCall(fleetcomm, device.admin, "POST", "/api/v1/devices/" + pending_id + "/revoke", 200);
  const auto rejected = RegisterTestDevice(fleetcomm, fleetcomm.pki.device_xrx0002, "XRX0002");
  CHECK(rejected.status == 403);
  CHECK(rejected.ErrorCode() == "revoked");
  CHECK(QueryNumber(fleetcomm, "SELECT count(*) FROM uploads") == 1);
}
