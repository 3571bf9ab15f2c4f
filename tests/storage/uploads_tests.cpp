// storage/uploads against the migrated schema: one transaction per upload (or per group of
// uploads), idempotency by (sender, report id) decided by the database, devices bound per
// account.
#include "storage/accounts.hpp"
#include "storage/device_readings.hpp"
#include "storage/devices.hpp"
#include "storage/uploads.hpp"
#include "tests/support/temp_postgres.hpp"
#include "tools/sample_device.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <string>
#include <thread>

namespace storage = fleetcomm::storage;
namespace protocol = fleetcomm::protocol;
using fleetcomm::testing::QueryNumber;
using fleetcomm::testing::TempPostgres;
using nlohmann::json;

namespace {

std::string NewAccount(pqxx::connection& conn, bool job_consent = false) {
  storage::AccountFields fields;
  fields.name = "Acme";
  fields.job_data_consent = job_consent;
  return storage::CreateAccount(conn, fields).value().id;
}

// A registered, active device with certificate fingerprint `fingerprint`.
std::string ActiveDevice(pqxx::connection& conn, const std::string& account, const std::string& serial,
                         const std::string& fingerprint) {
  storage::ProvisionDevice(conn, account, "Xerox", serial).value();
  auto outcome = storage::RegisterDevice(conn, {"Xerox", serial, "C8155", "1.0", std::nullopt, fingerprint}).value();
  return outcome.device.id;
}

// A device that uploads directly, active, registered with a fingerprint of 64 `fingerprint`s.
storage::UploadSender DirectSender(pqxx::connection& conn, const std::string& account, const std::string& serial,
                                   char fingerprint) {
  return {storage::ClientKind::kDevice, ActiveDevice(conn, account, serial, std::string(64, fingerprint)), account};
}

std::string NewAgent(pqxx::connection& conn, const std::string& account, const std::string& agent_id) {
  pqxx::work tx(conn);
  const std::string key = tx.exec1("INSERT INTO registration_keys (account_id, key_sha256) VALUES ('" + account +
                                   "', sha256(random()::text::bytea)) RETURNING id")[0]
                              .as<std::string>();
  tx.exec_params("INSERT INTO agents (id, account_id, registration_key_id, product, version, site_name, "
                 "contact_email, cert_fingerprint, cert_serial, cert_not_after) VALUES ($1, $2, $3, 'agent-lite', "
                 "'5.6', 'HQ', 'it@example.com', repeat('a', 64), '01', now() + interval '1 year')",
                 agent_id, account, key);
  tx.commit();
  return agent_id;
}

protocol::Device SampleDevice(const std::string& serial, std::int64_t total) {
  return fleetcomm::tools::SampleOfficeDevice(serial, total);
}

protocol::Report DeviceReport(const std::string& id, const std::string& serial, std::int64_t total = 1000) {
  return fleetcomm::tools::SampleDeviceReport(id, serial, total);
}

storage::NewUpload Upload(const storage::UploadSender& sender, const protocol::Report& report, char digest_seed) {
  storage::NewUpload upload;
  upload.sender = sender;
  upload.report = &report;
  upload.content_sha256 = std::string(32, digest_seed);
  upload.zip = "PK-not-really-a-zip";
  upload.report_bytes = 1234;
  return upload;
}

}  // namespace

TEST_CASE("uploads: a device's report is stored once; a retry is a duplicate, other content a conflict",
          "[uploads]") {
  pqxx::connection conn(TempPostgres::Instance().CreateDatabase());
  const std::string account = NewAccount(conn);
  const std::string device = ActiveDevice(conn, account, "XRX1", std::string(64, 'b'));
  const storage::UploadSender sender{storage::ClientKind::kDevice, device, account};
  const auto report = DeviceReport("5d1c3f7e-0d2a-4c53-9a57-5e5b0f1f2a10", "XRX1");

  auto first = storage::StoreUpload(conn, Upload(sender, report, 'x'));
  INFO((first ? std::string() : first.error().detail));
  REQUIRE(first.has_value());
  CHECK_FALSE(first->duplicate);
  CHECK(first->upload_id.rfind("up_", 0) == 0);
  REQUIRE(first->devices.size() == 1);
  CHECK(first->devices[0].status == "accepted");
  CHECK(QueryNumber(conn, "SELECT count(*) FROM counter_readings") == 2);
  CHECK(QueryNumber(conn, "SELECT count(*) FROM supply_readings") == 2);
  CHECK(QueryNumber(conn, "SELECT count(*) FROM device_faults") == 1);
  CHECK(QueryNumber(conn, "SELECT count(*) FROM raw_uploads") == 1);

  auto again = storage::StoreUpload(conn, Upload(sender, report, 'x'));
  REQUIRE(again.has_value());
  CHECK(again->duplicate);
  CHECK(again->upload_id == first->upload_id);
  CHECK(again->devices[0].status == "accepted");
  CHECK(QueryNumber(conn, "SELECT count(*) FROM uploads") == 1);
  CHECK(QueryNumber(conn, "SELECT count(*) FROM counter_readings") == 2);
  CHECK(QueryNumber(conn, "SELECT count(*) FROM raw_uploads") == 1);

  auto changed = storage::StoreUpload(conn, Upload(sender, report, 'y'));
  REQUIRE_FALSE(changed.has_value());
  CHECK(changed.error().code == storage::StorageErrc::kConflict);
  CHECK(QueryNumber(conn, "SELECT count(*) FROM uploads") == 1);

  // The operator's read: latest counters, the snapshot, the kept faults, the upload history.
  const json readings = json::parse(storage::DeviceReadingsDocument(conn, device).value());
  CHECK(readings["class"] == "office");
  CHECK(readings["snapshot"]["properties"]["speedPpm"] == "55");
  CHECK(readings["snapshot"]["status"]["alerts"][0]["code"] == "09-582-00");
  CHECK(readings["snapshot"]["supplies"][0]["level"] == 28407);
  CHECK(readings["faults"][0]["at"] == "2026-11-20T10:00:00Z");
  REQUIRE(readings["counters"].size() == 2);
  CHECK(readings["counters"][1]["name"] == "total-impressions");
  CHECK(readings["counters"][1]["value"] == 1000);
  CHECK(readings["counters"][1]["read_at"] == "2026-11-24T03:00:00Z");
  CHECK(readings["uploads"][0]["upload_id"] == first->upload_id);
}

TEST_CASE("uploads: an agent's devices join its account; others' and pending devices are rejected", "[uploads]") {
  pqxx::connection conn(TempPostgres::Instance().CreateDatabase());
  const std::string account = NewAccount(conn);
  const std::string other = NewAccount(conn);
  NewAgent(conn, account, "ag_one");
  ActiveDevice(conn, other, "FOREIGN", std::string(64, 'c'));
  storage::RegisterDevice(conn, {"Xerox", "PENDING", "C8155", "1.0", std::nullopt, std::string(64, 'd')}).value();
  const std::string mine = ActiveDevice(conn, account, "MINE", std::string(64, 'e'));

  protocol::Report report = DeviceReport("6d1c3f7e-0d2a-4c53-9a57-5e5b0f1f2a10", "NEW1");
  report.source = protocol::ReportSource::kAgent;
  report.agent = protocol::AgentInfo{"agent-lite", "5.7", protocol::SecurityMode::kNormal, {"restart"}, std::nullopt,
                                     std::nullopt};
  report.devices.push_back(SampleDevice("FOREIGN", 5));
  report.devices.push_back(SampleDevice("PENDING", 5));
  auto seen_directly = SampleDevice("MINE", 5);
  seen_directly.manufacturer = "  XEROX ";  // the same device, however the agent spells its maker
  report.devices.push_back(seen_directly);

  auto stored = storage::StoreUpload(conn, Upload({storage::ClientKind::kAgent, "ag_one", account}, report, 'a'));
  INFO((stored ? std::string() : stored.error().detail));
  REQUIRE(stored.has_value());
  REQUIRE(stored->devices.size() == 4);
  CHECK(stored->devices[0].status == "accepted");
  CHECK(stored->devices[1].status == "rejected");
  CHECK(stored->devices[1].reason == "device belongs to another account");
  CHECK(stored->devices[2].status == "rejected");
  CHECK(stored->devices[2].reason == "device is pending assignment to an account");
  CHECK(stored->devices[3].status == "accepted");
  CHECK(QueryNumber(conn, "SELECT count(*) FROM devices WHERE serial = 'NEW1' AND account_id = '" + account +
                        "' AND state = 'active'") == 1);
  CHECK(QueryNumber(conn, "SELECT count(*) FROM devices WHERE serial = 'MINE'") == 1);
  CHECK(QueryNumber(conn, "SELECT count(*) FROM counter_readings WHERE device_id = '" + mine + "'") == 2);
  CHECK(QueryNumber(conn, "SELECT count(*) FROM counter_readings") == 4);  // nothing for rejected devices
  CHECK(QueryNumber(conn, "SELECT count(*) FROM agents WHERE version = '5.7' AND disabled_actions = '{restart}'") == 1);
}

TEST_CASE("uploads: the same counters from the device and from an agent are one reading", "[uploads]") {
  pqxx::connection conn(TempPostgres::Instance().CreateDatabase());
  const std::string account = NewAccount(conn);
  NewAgent(conn, account, "ag_two");
  const std::string device = ActiveDevice(conn, account, "XRX9", std::string(64, 'f'));
  const auto direct = DeviceReport("7d1c3f7e-0d2a-4c53-9a57-5e5b0f1f2a10", "XRX9");
  auto first = storage::StoreUpload(conn, Upload({storage::ClientKind::kDevice, device, account}, direct, 'd'));
  REQUIRE(first.has_value());
  CHECK(first->rows_stored[2] == 2);  // counter_readings (UploadOutcome::kRowTables)
  CHECK(first->rows_stored[0] == 1);  // device_snapshots
  protocol::Report via_agent = DeviceReport("7d1c3f7e-0d2a-4c53-9a57-5e5b0f1f2a10", "XRX9");
  via_agent.source = protocol::ReportSource::kAgent;
  via_agent.agent = protocol::AgentInfo{"agent-lite", "5.6", protocol::SecurityMode::kNormal, {}, std::nullopt,
                                        std::nullopt};
  auto stored = storage::StoreUpload(conn, Upload({storage::ClientKind::kAgent, "ag_two", account}, via_agent, 'd'));
  REQUIRE(stored.has_value());
  CHECK_FALSE(stored->duplicate);  // another sender: another upload
  CHECK(QueryNumber(conn, "SELECT count(*) FROM uploads") == 2);
  CHECK(QueryNumber(conn, "SELECT count(*) FROM counter_readings") == 2);
  CHECK(stored->rows_stored[2] == 0);  // the readings were the device's already: not counted twice
}

TEST_CASE("uploads: the newest 40 faults are kept per device", "[uploads]") {
  pqxx::connection conn(TempPostgres::Instance().CreateDatabase());
  const std::string account = NewAccount(conn);
  const std::string device = ActiveDevice(conn, account, "XRX2", std::string(64, '1'));
  auto report = DeviceReport("8d1c3f7e-0d2a-4c53-9a57-5e5b0f1f2a10", "XRX2");
  report.devices[0].faults.clear();
  for (int day = 1; day <= 45; ++day) {
    char at[32];
    std::snprintf(at, sizeof at, "2026-10-%02dT10:00:00Z", day <= 31 ? day : 31);
    report.devices[0].faults.push_back({"F" + std::to_string(day), at, std::nullopt, std::nullopt});
  }
  REQUIRE(storage::StoreUpload(conn, Upload({storage::ClientKind::kDevice, device, account}, report, 'f')).has_value());
  CHECK(QueryNumber(conn, "SELECT count(*) FROM device_faults") == 40);
  CHECK(QueryNumber(conn, "SELECT count(*) FROM device_faults WHERE code = 'F1'") == 0);
  CHECK(QueryNumber(conn, "SELECT count(*) FROM device_faults WHERE code = 'F45'") == 1);
}

TEST_CASE("uploads: a group commit answers each upload as if alone, duplicates and conflicts included",
          "[uploads][group_commit]") {
  pqxx::connection conn(TempPostgres::Instance().CreateDatabase());
  const std::string account = NewAccount(conn);
  const storage::UploadSender one = DirectSender(conn, account, "XRX1", 'b');
  const storage::UploadSender two = DirectSender(conn, account, "XRX2", 'c');
  const auto first_report = DeviceReport("5d1c3f7e-0d2a-4c53-9a57-5e5b0f1f2a10", "XRX1");
  const auto second_report = DeviceReport("6e2d4f8a-1e3b-4d64-8b68-6f6c1f2f3b21", "XRX2", 2000);
  const auto first = Upload(one, first_report, 'x');
  const auto second = Upload(two, second_report, 'x');
  const auto retry = Upload(one, first_report, 'x');     // same key, same content
  const auto changed = Upload(one, first_report, 'y');   // same key, other content

  auto results = storage::StoreUploads(conn, {&first, &second, &retry, &changed});
  REQUIRE(results.size() == 4);
  REQUIRE(results[0].has_value());
  REQUIRE(results[1].has_value());
  REQUIRE(results[2].has_value());
  CHECK_FALSE(results[0]->duplicate);
  CHECK_FALSE(results[1]->duplicate);
  CHECK(results[0]->upload_id != results[1]->upload_id);
  CHECK(results[2]->duplicate);
  CHECK(results[2]->upload_id == results[0]->upload_id);
  REQUIRE_FALSE(results[3].has_value());
  CHECK(results[3].error().code == storage::StorageErrc::kConflict);
  CHECK(QueryNumber(conn, "SELECT count(*) FROM uploads") == 2);
  CHECK(QueryNumber(conn, "SELECT count(DISTINCT received_at) FROM uploads") == 1);  // one shared transaction
  CHECK(QueryNumber(conn, "SELECT count(*) FROM raw_uploads") == 2);
  CHECK(QueryNumber(conn, "SELECT count(*) FROM counter_readings WHERE device_id = '" + two.id + "'") == 2);
  CHECK(QueryNumber(conn, "SELECT max(value) FROM counter_readings WHERE device_id = '" + two.id + "'") == 2000);
  // The pipelines' outbox, written by the batch statement: a job per stored upload, none for
  // the duplicate or the conflict.
  CHECK(QueryNumber(conn, "SELECT count(*) FROM pipeline_jobs WHERE pipeline = 'diagnostics'") == 2);
  CHECK(QueryNumber(conn, "SELECT count(DISTINCT j.upload_id) FROM pipeline_jobs j JOIN uploads u ON u.id = j.upload_id "
                          "WHERE u.id IN ('" + results[0]->upload_id + "', '" + results[1]->upload_id + "')") == 2);
}

TEST_CASE("uploads: in a group commit, sender devices take the claimed uploads' fields in order; a revoked one "
          "binds nothing", "[uploads][group_commit]") {
  pqxx::connection conn(TempPostgres::Instance().CreateDatabase());
  const std::string account = NewAccount(conn);
  const storage::UploadSender one = DirectSender(conn, account, "XRX1", 'b');
  const storage::UploadSender gone = DirectSender(conn, account, "XRX2", 'c');
  {
    pqxx::work tx(conn);
    tx.exec_params("UPDATE devices SET state = 'revoked' WHERE id = $1", gone.id);
    tx.commit();
  }
  auto with_firmware = DeviceReport("3c1c3f7e-0d2a-4c53-9a57-5e5b0f1f2a10", "XRX1");
  with_firmware.devices[0].identity->firmware = "7.1";
  with_firmware.devices[0].disabled_actions = {"restart"};
  auto without_firmware = DeviceReport("4d2d4f8a-1e3b-4d64-8b68-6f6c1f2f3b21", "XRX1", 2000);
  without_firmware.devices[0].identity->firmware.reset();
  without_firmware.devices[0].model = "C8170";
  without_firmware.devices[0].disabled_actions = {"firmware_upgrade", "restart"};
  auto conflicting = DeviceReport("3c1c3f7e-0d2a-4c53-9a57-5e5b0f1f2a10", "XRX1");  // first one's key
  conflicting.devices[0].model = "NOT-STORED";
  const auto revoked_report = DeviceReport("5e3e5f9b-2f4c-4e75-9c79-7a7d2a3a4c32", "XRX2");
  const auto first = Upload(one, with_firmware, 'f');
  const auto second = Upload(one, without_firmware, 's');
  const auto conflict = Upload(one, conflicting, 'x');
  const auto revoked = Upload(gone, revoked_report, 'r');

  auto results = storage::StoreUploads(conn, {&first, &second, &conflict, &revoked});
  REQUIRE(results.size() == 4);
  REQUIRE(results[0].has_value());
  REQUIRE(results[1].has_value());
  CHECK(results[0]->devices[0].status == "accepted");
  CHECK(results[1]->devices[0].status == "accepted");
  REQUIRE_FALSE(results[2].has_value());
  CHECK(results[2].error().code == storage::StorageErrc::kConflict);
  REQUIRE(results[3].has_value());
  CHECK(results[3]->devices[0].status == "rejected");
  CHECK(results[3]->devices[0].reason == "device is not active");
  // The last model and disabled actions, the last firmware given; nothing of the conflict.
  CHECK(QueryNumber(conn, "SELECT count(*) FROM devices WHERE id = '" + one.id + "' AND model = 'C8170' "
                          "AND firmware = '7.1' AND disabled_actions = ARRAY['firmware_upgrade', 'restart'] "
                          "AND last_upload_at IS NOT NULL") == 1);
  CHECK(QueryNumber(conn, "SELECT count(*) FROM devices WHERE id = '" + gone.id + "' AND state = 'revoked' "
                          "AND last_upload_at IS NULL") == 1);
  CHECK(QueryNumber(conn, "SELECT count(*) FROM counter_readings WHERE device_id = '" + gone.id + "'") == 0);
}

TEST_CASE("uploads: an upload that fails a group commit fails alone; the others are stored", "[uploads][group_commit]") {
  pqxx::connection conn(TempPostgres::Instance().CreateDatabase());
  const std::string account = NewAccount(conn);
  const storage::UploadSender one = DirectSender(conn, account, "XRX1", 'b');
  // A sender whose account does not exist breaks a foreign key inside the shared transaction.
  const storage::UploadSender broken{storage::ClientKind::kDevice, one.id, "ac_missing"};
  const auto good_report = DeviceReport("5d1c3f7e-0d2a-4c53-9a57-5e5b0f1f2a10", "XRX1");
  const auto bad_report = DeviceReport("7f3e5a9b-2f4c-4e75-9c79-7a7d2a3a4c32", "XRX1", 3000);
  const auto good = Upload(one, good_report, 'x');
  const auto bad = Upload(broken, bad_report, 'z');

  auto results = storage::StoreUploads(conn, {&bad, &good});
  REQUIRE(results.size() == 2);
  CHECK_FALSE(results[0].has_value());
  REQUIRE(results[1].has_value());
  CHECK_FALSE(results[1]->duplicate);
  CHECK(QueryNumber(conn, "SELECT count(*) FROM uploads") == 1);
  CHECK(QueryNumber(conn, "SELECT count(*) FROM uploads WHERE account_id = 'ac_missing'") == 0);
  CHECK(QueryNumber(conn, "SELECT max(value) FROM counter_readings") == 1000);
}

TEST_CASE("uploads: two identical uploads racing store one report", "[uploads]") {
  const std::string database = TempPostgres::Instance().CreateDatabase();
  pqxx::connection setup(database);
  const std::string account = NewAccount(setup);
  const std::string device = ActiveDevice(setup, account, "XRX3", std::string(64, '2'));
  const auto report = DeviceReport("9d1c3f7e-0d2a-4c53-9a57-5e5b0f1f2a10", "XRX3");
  const storage::UploadSender sender{storage::ClientKind::kDevice, device, account};

  for (int round = 0; round < 5; ++round) {
    pqxx::connection a(database), b(database);
    {
      pqxx::work clear(setup);
      clear.exec("DELETE FROM upload_devices; DELETE FROM raw_uploads; DELETE FROM uploads");
      clear.commit();
    }
    storage::StorageResult<storage::UploadOutcome> first = storage::StorageError{}, second = storage::StorageError{};
    std::thread racer([&] { first = storage::StoreUpload(a, Upload(sender, report, 'r')); });
    second = storage::StoreUpload(b, Upload(sender, report, 'r'));
    racer.join();
    REQUIRE(first.has_value());
    REQUIRE(second.has_value());
    CHECK(first->duplicate != second->duplicate);
    CHECK(first->upload_id == second->upload_id);
    CHECK(QueryNumber(setup, "SELECT count(*) FROM uploads") == 1);
  }
}

TEST_CASE("uploads: two uploads of one device in a group commit store both readings; the newer report's snapshot wins",
          "[uploads][group_commit]") {
  pqxx::connection conn(TempPostgres::Instance().CreateDatabase());
  const std::string account = NewAccount(conn, true);
  const storage::UploadSender one = DirectSender(conn, account, "XRX1", 'b');
  // The newer report comes first in the batch: applied in turn, the older one would not
  // replace its snapshot either.
  auto newer_report = DeviceReport("1a1c3f7e-0d2a-4c53-9a57-5e5b0f1f2a10", "XRX1", 2000);
  newer_report.generated_at = "2026-11-24T05:00:00Z";
  newer_report.devices[0].counters->read_at = "2026-11-24T05:00:00Z";
  newer_report.devices[0].model = "C8170";
  auto older_report = DeviceReport("2b2d4f8a-1e3b-4d64-8b68-6f6c1f2f3b21", "XRX1", 1000);
  older_report.generated_at = "2026-11-24T04:00:00Z";
  older_report.devices[0].counters->read_at = "2026-11-24T04:00:00Z";
  const auto newer = Upload(one, newer_report, 'n');
  const auto older = Upload(one, older_report, 'o');

  auto results = storage::StoreUploads(conn, {&newer, &older});
  REQUIRE(results.size() == 2);
  REQUIRE(results[0].has_value());
  REQUIRE(results[1].has_value());
  CHECK(results[0]->upload_id != results[1]->upload_id);
  CHECK(results[0]->devices[0].status == "accepted");
  CHECK(results[1]->devices[0].status == "accepted");
  CHECK(results[0]->rows_stored[2] == 2);  // counter_readings: each upload its own two
  CHECK(results[1]->rows_stored[2] == 2);
  // One shared transaction (now() is its start): not the fallback of one transaction each.
  CHECK(QueryNumber(conn, "SELECT count(DISTINCT received_at) FROM uploads") == 1);
  CHECK(QueryNumber(conn, "SELECT count(*) FROM counter_readings") == 4);
  CHECK(QueryNumber(conn, "SELECT count(*) FROM upload_devices") == 2);
  CHECK(QueryNumber(conn, "SELECT count(*) FROM raw_uploads") == 2);
  CHECK(QueryNumber(conn, "SELECT count(*) FROM device_snapshots WHERE upload_id = '" + results[0]->upload_id +
                              "'") == 1);
  // The sender device took the last upload's fields, as two updates in a row would leave it.
  CHECK(QueryNumber(conn, "SELECT count(*) FROM devices WHERE id = '" + one.id + "' AND model = '" +
                              older_report.devices[0].model + "'") == 1);
  // The same fault in both: stored once, by the earlier upload of the batch.
  CHECK(QueryNumber(conn, "SELECT count(*) FROM device_faults WHERE upload_id = '" + results[0]->upload_id + "'") == 1);
  CHECK(QueryNumber(conn, "SELECT count(*) FROM device_faults") == 1);
  // Each answer is stored for its replay.
  auto replay = storage::StoreUpload(conn, older);
  REQUIRE(replay.has_value());
  CHECK(replay->duplicate);
  CHECK(replay->upload_id == results[1]->upload_id);
}

TEST_CASE("uploads: a group commit replays uploads stored before it and refuses other content for their key",
          "[uploads][group_commit]") {
  pqxx::connection conn(TempPostgres::Instance().CreateDatabase());
  const std::string account = NewAccount(conn);
  NewAgent(conn, account, "ag_one");
  const storage::UploadSender one = DirectSender(conn, account, "XRX1", 'b');
  const storage::UploadSender agent{storage::ClientKind::kAgent, "ag_one", account};
  const auto stored_report = DeviceReport("3c1c3f7e-0d2a-4c53-9a57-5e5b0f1f2a10", "XRX1");
  const auto first = Upload(one, stored_report, 'x');
  auto before = storage::StoreUpload(conn, first);
  REQUIRE(before.has_value());

  protocol::Report agent_report = DeviceReport("4d2d4f8a-1e3b-4d64-8b68-6f6c1f2f3b21", "AGT1", 7);
  agent_report.source = protocol::ReportSource::kAgent;
  agent_report.agent = protocol::AgentInfo{"agent-lite", "5.8", protocol::SecurityMode::kNormal, {}, std::nullopt,
                                           std::nullopt};
  agent_report.devices.push_back(SampleDevice("AGT2", 9));
  const auto retry = Upload(one, stored_report, 'x');
  const auto changed = Upload(one, stored_report, 'y');
  const auto from_agent = Upload(agent, agent_report, 'a');
  const auto agent_changed = Upload(agent, agent_report, 'b');  // same key in the same batch, other content

  auto results = storage::StoreUploads(conn, {&retry, &from_agent, &changed, &agent_changed});
  REQUIRE(results.size() == 4);
  REQUIRE(results[0].has_value());
  CHECK(results[0]->duplicate);
  CHECK(results[0]->upload_id == before->upload_id);
  REQUIRE(results[1].has_value());
  CHECK_FALSE(results[1]->duplicate);
  REQUIRE(results[1]->devices.size() == 2);
  CHECK(results[1]->devices[1].status == "accepted");
  REQUIRE_FALSE(results[2].has_value());
  CHECK(results[2].error().code == storage::StorageErrc::kConflict);
  REQUIRE_FALSE(results[3].has_value());
  CHECK(results[3].error().code == storage::StorageErrc::kConflict);
  CHECK(QueryNumber(conn, "SELECT count(*) FROM uploads") == 2);
  CHECK(QueryNumber(conn, "SELECT count(*) FROM raw_uploads") == 2);
  CHECK(QueryNumber(conn, "SELECT count(*) FROM devices WHERE serial IN ('AGT1', 'AGT2')") == 2);
  CHECK(QueryNumber(conn, "SELECT count(*) FROM agents WHERE version = '5.8'") == 1);
}

TEST_CASE("uploads: an upload failing the batch's row statement is stored alone and fails alone",
          "[uploads][group_commit]") {
  pqxx::connection conn(TempPostgres::Instance().CreateDatabase());
  const std::string account = NewAccount(conn);
  const storage::UploadSender one = DirectSender(conn, account, "XRX1", 'b');
  const storage::UploadSender two = DirectSender(conn, account, "XRX2", 'c');
  const auto good_report = DeviceReport("5e1c3f7e-0d2a-4c53-9a57-5e5b0f1f2a10", "XRX1");
  auto bad_report = DeviceReport("6f2d4f8a-1e3b-4d64-8b68-6f6c1f2f3b21", "XRX2");
  bad_report.devices[0].counters->items[0].value = -1;  // breaks CHECK (value >= 0) in the shared statement
  const auto good = Upload(one, good_report, 'g');
  const auto bad = Upload(two, bad_report, 'h');

  auto results = storage::StoreUploads(conn, {&good, &bad});
  REQUIRE(results.size() == 2);
  REQUIRE(results[0].has_value());
  CHECK_FALSE(results[0]->duplicate);
  CHECK_FALSE(results[1].has_value());
  CHECK(QueryNumber(conn, "SELECT count(*) FROM uploads") == 1);
  CHECK(QueryNumber(conn, "SELECT count(*) FROM raw_uploads") == 1);
  CHECK(QueryNumber(conn, "SELECT count(*) FROM counter_readings WHERE device_id = '" + two.id + "'") == 0);
}
