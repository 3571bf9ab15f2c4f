#include "storage/uploads.hpp"

#include "storage/db_task.hpp"
#include "storage/pipeline_jobs.hpp"
#include "storage/prepared.hpp"
#include "storage/report_documents.hpp"
#include "storage/sql_params.hpp"
#include "storage/upload_steps.hpp"

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <algorithm>
#include <map>

namespace fleetcomm::storage {
namespace {

using nlohmann::json;

// ON CONFLICT DO NOTHING waits for a racing insert of the same key to commit, so of two
// identical uploads exactly one claims the key; the other then reads the first one's row.
constexpr PreparedSql kClaim{"upload_claim",
    "INSERT INTO uploads (sender_kind, sender_id, account_id, report_id, content_sha256, generated_at, "
    "zip_bytes, report_bytes, device_count) VALUES ($1, $2, $3, $4::uuid, $5, $6::timestamptz, $7, $8, $9) "
    "ON CONFLICT (sender_kind, sender_id, report_id) DO NOTHING "
    "RETURNING id, received_at, (SELECT job_data_consent FROM accounts WHERE id = $3)"};

constexpr PreparedSql kEarlier{"upload_earlier",
    "SELECT content_sha256 = $4, answer FROM uploads WHERE sender_kind = $1 AND sender_id = $2 AND report_id = $3::uuid"};

constexpr PreparedSql kUpdateSenderDevice{"upload_update_sender_device",
    "UPDATE devices SET model = $2, device_class = coalesce($3, device_class), firmware = coalesce($4, firmware), "
    "mac = coalesce($5, mac), disabled_actions = $6::text[], last_upload_at = now(), updated_at = now() "
    "WHERE id = $1 AND state = 'active' RETURNING id"};

// Devices of an agent's report, in key order so that agents sharing devices cannot deadlock.
// Existing devices are updated only when they are active in the agent's own account.
constexpr PreparedSql kUpsertAgentDevices{"upload_upsert_agent_devices", R"SQL(
WITH input AS (
  SELECT * FROM jsonb_to_recordset($2::jsonb) AS r(ord int, manufacturer text, serial text, model text,
                                                    device_class text, firmware text, mac text, disabled_actions text[])
), upserted AS (
  INSERT INTO devices AS d (account_id, manufacturer, serial, model, device_class, firmware, mac, disabled_actions,
                            state, last_upload_at)
  SELECT $1, manufacturer, serial, model, device_class, firmware, mac, disabled_actions, 'active', now()
  FROM input ORDER BY lower(btrim(manufacturer)), serial
  ON CONFLICT (manufacturer_key, serial) DO UPDATE SET
    model = EXCLUDED.model, device_class = coalesce(EXCLUDED.device_class, d.device_class),
    firmware = coalesce(EXCLUDED.firmware, d.firmware), mac = coalesce(EXCLUDED.mac, d.mac),
    disabled_actions = EXCLUDED.disabled_actions, last_upload_at = now(), updated_at = now()
  WHERE d.account_id = $1 AND d.state = 'active'
  RETURNING d.id, d.manufacturer_key, d.serial
)
SELECT i.ord, u.id, e.state, e.account_id = $1
FROM input i
LEFT JOIN upserted u ON u.manufacturer_key = lower(btrim(i.manufacturer)) AND u.serial = i.serial
-- Why a device was not bound, read only for those: a join with all of devices was planned
-- as a scan of the whole table, once per agent upload.
LEFT JOIN LATERAL (SELECT state, account_id FROM devices
                   WHERE u.id IS NULL AND manufacturer_key = lower(btrim(i.manufacturer)) AND serial = i.serial) e
  ON true
)SQL"};

// Everything after the device binding in one statement (one round trip): data-modifying CTEs
// all run, each exactly once. Reports may arrive out of order: only a later report replaces
// the snapshot. $1 upload id, $2 generated at, $3 received at.
constexpr const char* kStoreRowsCtes = R"SQL(
WITH snapshots AS (
  INSERT INTO device_snapshots AS s (device_id, upload_id, generated_at, identity, modules, network, properties,
                                     status, supplies, usage)
  SELECT device_id, $1, $2::timestamptz, identity, modules, network, properties, status, supplies, usage
  FROM jsonb_to_recordset($4::jsonb) AS r(device_id text, identity jsonb, modules jsonb, network jsonb,
                                          properties jsonb, status jsonb, supplies jsonb, usage jsonb)
  ON CONFLICT (device_id) DO UPDATE SET upload_id = EXCLUDED.upload_id, generated_at = EXCLUDED.generated_at,
    identity = EXCLUDED.identity, modules = EXCLUDED.modules, network = EXCLUDED.network,
    properties = EXCLUDED.properties, status = EXCLUDED.status, supplies = EXCLUDED.supplies, usage = EXCLUDED.usage
  WHERE s.generated_at <= EXCLUDED.generated_at
  RETURNING 1
), faults AS (
  INSERT INTO device_faults (device_id, at, code, component, description, upload_id)
  SELECT device_id, coalesce(at, '-infinity'), code, component, description, $1
  FROM jsonb_to_recordset($5::jsonb) AS r(device_id text, at timestamptz, code text, component text, description text)
  ON CONFLICT DO NOTHING RETURNING 1
), counters AS (
  INSERT INTO counter_readings (device_id, counter, read_at, value, reset_at, upload_id)
  SELECT device_id, name, read_at, value, reset_at, $1
  FROM jsonb_to_recordset($6::jsonb) AS r(device_id text, name text, read_at timestamptz, value bigint,
                                          reset_at timestamptz)
  ON CONFLICT DO NOTHING RETURNING 1
), supplies AS (
  INSERT INTO supply_readings (device_id, supply_index, read_at, type, colorant, description, part_number, serial,
                               unit, capacity, level, state, upload_id)
  SELECT r.device_id, r.index, $2::timestamptz, r.type, r.colorant, r.description, r.part_number, r.serial, r.unit,
         r.capacity, r.level, r.state, $1
  FROM jsonb_to_recordset($7::jsonb) AS r(device_id text, index bigint, type text, colorant text, description text,
                                          part_number text, serial text, unit text, capacity bigint, level bigint,
                                          state text)
  ON CONFLICT DO NOTHING RETURNING 1
), usage AS (
  INSERT INTO usage_readings (device_id, read_at, items, upload_id)
  SELECT device_id, $2::timestamptz, items, $1 FROM jsonb_to_recordset($8::jsonb) AS r(device_id text, items jsonb)
  ON CONFLICT DO NOTHING RETURNING 1
), jobs AS (
  INSERT INTO job_log_entries (device_id, received_at, upload_id, job)
  SELECT device_id, $3::timestamptz, $1, job FROM jsonb_to_recordset($9::jsonb) AS r(device_id text, job jsonb)
  RETURNING 1
), seen AS (
  INSERT INTO upload_devices (upload_id, device_id, received_at)
  SELECT $1, d, $3::timestamptz FROM unnest($10::text[]) AS d ON CONFLICT DO NOTHING
), raw AS (
  INSERT INTO raw_uploads (upload_id, received_at, zip) VALUES ($1, $3::timestamptz, $11)
), answer AS (
  UPDATE uploads SET answer = $12::jsonb WHERE id = $1
)SQL";

// The rows each table gained, in the order of UploadOutcome::kRowTables (for the metrics).
constexpr const char* kCountStoredRows =
    "SELECT (SELECT count(*) FROM snapshots), (SELECT count(*) FROM faults), (SELECT count(*) FROM counters), "
    "(SELECT count(*) FROM supplies), (SELECT count(*) FROM usage), (SELECT count(*) FROM jobs)";

// With the request's audit entry ($13, possibly none) in the same statement: no round trip more.
const PreparedSql& StoreRowsStatement() {
  static const std::string sql =
      std::string(kStoreRowsCtes) + "), audit AS (" + AuditInsertSql(13) + ")\n" + kCountStoredRows;
  static const PreparedSql statement{"upload_store_rows", sql.c_str()};
  return statement;
}

// Per device named, its faults past the newest 40 (ties in time: the greater code is newer),
// read backwards from the primary key (device_id, at, code): a few index probes per device,
// where `device_id = ANY($1)` compared every fault row with every element of the array.
constexpr PreparedSql kPruneFaults{"upload_prune_faults", R"SQL(
DELETE FROM device_faults f USING (
  SELECT old.device_id, old.at, old.code
  FROM unnest($1::text[]) AS named(device_id)
  CROSS JOIN LATERAL (SELECT device_id, at, code FROM device_faults
                      WHERE device_id = named.device_id ORDER BY at DESC, code DESC OFFSET 40) old
) beyond
WHERE f.device_id = beyond.device_id AND f.at = beyond.at AND f.code = beyond.code
)SQL"};

constexpr PreparedSql kPolicyEvents{"upload_policy_events",
    "INSERT INTO policy_events (agent_id, received_at, upload_id, event) "
    "SELECT $1, $3::timestamptz, $2, e FROM jsonb_array_elements($4::jsonb) AS e"};

constexpr PreparedSql kUpdateAgent{"upload_update_agent",
    "UPDATE agents SET product = $2, version = $3, security_mode = $4, disabled_actions = $5::text[], "
    "host = coalesce($6::jsonb, host), last_contact_at = now(), last_upload_at = now() WHERE id = $1"};

}  // namespace

namespace upload_steps {

std::string KindName(ClientKind kind) { return kind == ClientKind::kAgent ? "agent" : "device"; }

UploadOutcome OutcomeFromDocument(const json& document) {
  UploadOutcome outcome;
  outcome.upload_id = document.at("upload_id").get<std::string>();
  outcome.report_id = document.at("report_id").get<std::string>();
  outcome.discarded = document.at("discarded").get<std::vector<std::string>>();
  for (const auto& entry : document.at("devices")) {
    outcome.devices.push_back({entry.at("serial").get<std::string>(), entry.at("status").get<std::string>(),
                               entry.value("reason", std::string())});
  }
  return outcome;
}

StorageResult<UploadOutcome> ReplayEarlier(pqxx::transaction_base& tx, const NewUpload& upload) {
  pqxx::binarystring digest(upload.content_sha256);
  auto earlier = ExecPrepared(tx, kEarlier, KindName(upload.sender.kind), upload.sender.id, upload.report->id, digest);
  if (earlier.empty() || earlier[0][1].is_null()) return StorageError::Internal("upload key claimed but not found");
  if (!earlier[0][0].as<bool>()) {
    return StorageError{StorageErrc::kConflict, "report id already stored with other content"};
  }
  UploadOutcome outcome = OutcomeFromDocument(json::parse(earlier[0][1].as<std::string>()));
  outcome.duplicate = true;
  return outcome;
}

namespace {

std::string RejectionReason(const pqxx::row& row) {
  if (row[2].is_null()) return "device could not be stored";
  if (!row[3].is_null() && !row[3].as<bool>()) return "device belongs to another account";
  const std::string state = row[2].as<std::string>();
  if (state == "pending") return "device is pending assignment to an account";
  if (state == "revoked") return "device is revoked";
  return "device belongs to another account";
}

}  // namespace

std::map<std::size_t, std::string> BindDevices(pqxx::transaction_base& tx, const NewUpload& upload,
                                               UploadOutcome& outcome) {
  const auto& devices = upload.report->devices;
  std::map<std::size_t, std::string> refused_reason(upload.refused.begin(), upload.refused.end());
  std::map<std::size_t, std::string> bound;
  std::vector<std::string> reasons(devices.size());
  if (upload.sender.kind == ClientKind::kDevice) {
    for (std::size_t i = 0; i < devices.size(); ++i) {
      if (auto refused = refused_reason.find(i); refused != refused_reason.end()) {
        reasons[i] = refused->second;
        continue;
      }
      const auto& d = devices[i];
      const auto firmware = d.identity ? d.identity->firmware : std::nullopt;
      const auto mac = d.network ? d.network->mac : std::nullopt;
      auto rows = ExecPrepared(tx, kUpdateSenderDevice, upload.sender.id, d.model, OptionalText(d.device_class).get(),
                                 OptionalText(firmware).get(), OptionalText(mac).get(),
                                 TextArrayLiteral(d.disabled_actions));
      if (rows.empty()) {
        reasons[i] = "device is not active";
      } else {
        bound[i] = upload.sender.id;
      }
    }
  } else if (!devices.empty()) {
    JsonText input;
    input.BeginArray();
    for (std::size_t i = 0; i < devices.size(); ++i) {
      const auto& d = devices[i];
      input.BeginObject()
          .Field("ord", i)
          .Field("manufacturer", d.manufacturer)
          .Field("serial", d.serial)
          .Field("model", d.model)
          .Field("device_class", d.device_class)
          .Field("firmware", d.identity ? d.identity->firmware : std::nullopt)
          .Field("mac", d.network ? d.network->mac : std::nullopt)
          .Key("disabled_actions")
          .BeginArray();
      for (const auto& action : d.disabled_actions) input.Value(action);
      input.EndArray().EndObject();
    }
    input.EndArray();
    for (const auto& row : ExecPrepared(tx, kUpsertAgentDevices, upload.sender.account_id, input.Text())) {
      const auto index = row[0].as<std::size_t>();
      if (!row[1].is_null()) {
        bound[index] = row[1].as<std::string>();
      } else {
        reasons[index] = RejectionReason(row);
      }
    }
  }
  FillDeviceOutcomes(upload, bound, reasons, outcome);
  return bound;
}

void FillDeviceOutcomes(const NewUpload& upload, const std::map<std::size_t, std::string>& bound,
                        const std::vector<std::string>& reasons, UploadOutcome& outcome) {
  const auto& devices = upload.report->devices;
  for (std::size_t i = 0; i < devices.size(); ++i) {
    const bool accepted = bound.count(i) != 0;
    outcome.devices.push_back({devices[i].serial, accepted ? "accepted" : "rejected", accepted ? "" : reasons[i]});
  }
}

DeviceRows::DeviceRows() {
  for (JsonText* table : {&snapshots, &faults, &counters, &supplies, &usage, &jobs}) table->BeginArray();
}

void DeviceRows::Finish() {
  for (JsonText* table : {&snapshots, &faults, &counters, &supplies, &usage, &jobs}) table->EndArray();
}

namespace {

JsonText& BeginRow(JsonText& table, const RowTags& tags, const std::string& device_id) {
  return table.BeginObject().Field("ord", tags.ord).Field("upload_id", tags.upload_id).Field("device_id", device_id);
}

// A section the report left out is null.
template <class T>
void DocumentOrNull(JsonText& out, const std::optional<T>& section, void (*write)(JsonText&, const T&)) {
  if (section) {
    write(out, *section);
  } else {
    out.Value(nullptr);
  }
}

void WriteSnapshot(JsonText& out, const protocol::Device& d) {
  out.Key("identity");
  DocumentOrNull(out, d.identity, WriteIdentityDocument);
  out.Key("modules");
  WriteModulesDocument(out, d.modules);
  out.Key("network");
  DocumentOrNull(out, d.network, WriteNetworkDocument);
  out.Key("properties");
  WritePropertiesDocument(out, d.properties);
  out.Key("status");
  DocumentOrNull(out, d.status, WriteStatusDocument);
  out.Key("supplies").BeginArray();
  for (const auto& supply : d.supplies) {
    out.BeginObject();
    WriteSupplyFields(out, supply);
    out.EndObject();
  }
  out.EndArray().Key("usage");
  WriteUsageDocument(out, d.usage);
}

}  // namespace

void CollectRows(const protocol::Report& report, const std::map<std::size_t, std::string>& bound, bool job_consent,
                 const RowTags& tags, DeviceRows& rows) {
  for (const auto& [index, device_id] : bound) {
    const auto& d = report.devices[index];
    BeginRow(rows.snapshots, tags, device_id).Field("generated_at", tags.generated_at);
    WriteSnapshot(rows.snapshots, d);
    rows.snapshots.EndObject();
    for (const auto& supply : d.supplies) {
      BeginRow(rows.supplies, tags, device_id).Field("generated_at", tags.generated_at);
      WriteSupplyFields(rows.supplies, supply);
      rows.supplies.EndObject();
    }
    for (const auto& fault : d.faults) {
      BeginRow(rows.faults, tags, device_id)
          .Field("at", fault.at)
          .Field("code", fault.code)
          .Field("component", fault.component)
          .Field("description", fault.description)
          .EndObject();
    }
    if (!d.faults.empty()) rows.with_faults.push_back(device_id);
    if (d.counters) {
      const std::string& read_at = d.counters->read_at ? *d.counters->read_at : report.generated_at;
      for (const auto& counter : d.counters->items) {
        BeginRow(rows.counters, tags, device_id)
            .Field("name", counter.name)
            .Field("read_at", read_at)
            .Field("value", counter.value)
            .Field("reset_at", counter.reset_at)
            .EndObject();
      }
    }
    if (!d.usage.empty()) {
      BeginRow(rows.usage, tags, device_id).Field("generated_at", tags.generated_at).Key("items");
      WriteUsageDocument(rows.usage, d.usage);
      rows.usage.EndObject();
    }
    if (d.job_log && job_consent) {
      for (const auto& job : *d.job_log) {
        BeginRow(rows.jobs, tags, device_id).Field("received_at", tags.received_at).Key("job");
        WriteJobDocument(rows.jobs, job);
        rows.jobs.EndObject();
      }
    }
  }
}

void PruneFaults(pqxx::transaction_base& tx, const std::vector<std::string>& device_ids) {
  if (!device_ids.empty()) ExecPrepared(tx, kPruneFaults, TextArrayLiteral(device_ids));
}

namespace {

void StoreRows(pqxx::work& tx, DeviceRows& rows, UploadOutcome& outcome, const std::string& generated_at,
               const std::string& received_at, std::string_view zip, const std::vector<std::string>& device_ids,
               const std::string& audit_entries) {
  rows.Finish();
  const auto counts =
      ExecPrepared(tx, StoreRowsStatement(), outcome.upload_id, generated_at, received_at, rows.snapshots.Text(),
                   rows.faults.Text(), rows.counters.Text(), rows.supplies.Text(), rows.usage.Text(), rows.jobs.Text(),
                   TextArrayLiteral(device_ids), pqxx::binarystring(zip.data(), zip.size()),
                   UploadOutcomeDocument(outcome).dump(), audit_entries);
  for (std::size_t i = 0; i < outcome.rows_stored.size(); ++i) {
    outcome.rows_stored[i] = counts[0][static_cast<pqxx::row::size_type>(i)].as<long long>();
  }
  // After the insert, in a statement of its own: a CTE would not see the new faults.
  PruneFaults(tx, rows.with_faults);
}

}  // namespace

// Personal data is kept only with the account's job-data consent (3.3), read in this
// transaction; the answer names what was dropped.
std::vector<std::string> Discarded(const protocol::Report& report, bool job_consent) {
  if (job_consent) return {};
  std::vector<std::string> discarded;
  if (std::any_of(report.devices.begin(), report.devices.end(), [](const auto& d) { return d.job_log.has_value(); })) {
    discarded.push_back("JobLog");
  }
  if (report.agent && report.agent->policy_events) discarded.push_back("PolicyEvents");
  return discarded;
}

void StoreAgent(pqxx::transaction_base& tx, const NewUpload& upload, const std::string& upload_id,
                const std::string& received_at, bool job_consent) {
  const auto& agent = *upload.report->agent;
  std::optional<std::string> host;
  if (agent.host) {
    JsonText document;
    WriteHostDocument(document, *agent.host);
    host = document.Text();
  }
  ExecPrepared(tx, kUpdateAgent, upload.sender.id, agent.product, agent.version,
                 agent.security_mode == protocol::SecurityMode::kLockdown ? "lockdown" : "normal",
                 TextArrayLiteral(agent.disabled_actions), OptionalText(host).get());
  if (job_consent && agent.policy_events && !agent.policy_events->empty()) {
    JsonText events;
    events.BeginArray();
    for (const auto& event : *agent.policy_events) WritePolicyEventDocument(events, event);
    events.EndArray();
    ExecPrepared(tx, kPolicyEvents, upload.sender.id, upload_id, received_at, events.Text());
  }
}

// The entry of a stored upload: bytes_out is the size of the answer the route sends (3.3).
AuditEntry UploadAuditEntry(AuditEntry entry, const UploadOutcome& outcome) {
  json answer = UploadOutcomeDocument(outcome);
  answer["duplicate"] = false;
  entry.status = 201;
  entry.bytes_out = static_cast<long long>(answer.dump().size());
  return entry;
}

}  // namespace upload_steps

json UploadOutcomeDocument(const UploadOutcome& outcome) {
  json devices = json::array();
  for (const auto& device : outcome.devices) {
    json entry{{"serial", device.serial}, {"status", device.status}};
    if (!device.reason.empty()) entry["reason"] = device.reason;
    devices.push_back(std::move(entry));
  }
  return {{"upload_id", outcome.upload_id}, {"report_id", outcome.report_id}, {"devices", std::move(devices)},
          {"discarded", outcome.discarded}};
}

namespace {

using namespace upload_steps;

// One upload inside a transaction that the caller commits. Refusals (kConflict) and
// replays write nothing and leave the transaction usable; anything unexpected throws.
StorageResult<UploadOutcome> StoreUploadIn(pqxx::work& tx, const NewUpload& upload) {
  const protocol::Report& report = *upload.report;
  const std::string kind = KindName(upload.sender.kind);
  pqxx::binarystring digest(upload.content_sha256);
  auto claimed = ExecPrepared(tx, kClaim, kind, upload.sender.id, upload.sender.account_id, report.id, digest,
                              report.generated_at, static_cast<long long>(upload.zip.size()),
                              static_cast<long long>(upload.report_bytes),
                              static_cast<long long>(report.devices.size()));
  if (claimed.empty()) return ReplayEarlier(tx, upload);
  UploadOutcome outcome;
  outcome.upload_id = claimed[0][0].as<std::string>();
  outcome.report_id = report.id;
  const std::string received_at = claimed[0][1].as<std::string>();
  const bool job_consent = !claimed[0][2].is_null() && claimed[0][2].as<bool>();
  outcome.discarded = Discarded(report, job_consent);

  const auto bound = BindDevices(tx, upload, outcome);
  std::vector<std::string> device_ids;
  for (const auto& entry : bound) device_ids.push_back(entry.second);
  std::vector<AuditEntry> audit;
  if (upload.audit) audit.push_back(UploadAuditEntry(*upload.audit, outcome));
  DeviceRows rows;
  CollectRows(report, bound, job_consent, {0, outcome.upload_id, report.generated_at, received_at}, rows);
  StoreRows(tx, rows, outcome, report.generated_at, received_at, upload.zip, device_ids, AuditEntriesParameter(audit));
  if (upload.sender.kind == ClientKind::kAgent && report.agent) {
    StoreAgent(tx, upload, outcome.upload_id, received_at, job_consent);
  }
  // The pipelines' outbox, committed with the upload (never for a duplicate).
  EnqueuePipelineWork(tx, outcome.upload_id, upload.sender.account_id, report, bound);
  return outcome;
}

}  // namespace

StorageResult<UploadOutcome> StoreUpload(pqxx::connection_base& conn, const NewUpload& upload) {
  try {
    pqxx::work tx(conn);
    auto result = StoreUploadIn(tx, upload);
    if (result) tx.commit();
    return result;
  } catch (...) {
    return TranslateCurrentException();
  }
}

std::vector<StorageResult<UploadOutcome>> StoreUploads(pqxx::connection_base& conn,
                                                       const std::vector<const NewUpload*>& uploads) {
  std::vector<StorageResult<UploadOutcome>> results;
  if (uploads.size() > 1) {
    try {
      pqxx::work tx(conn);
      results = StoreBatchIn(tx, uploads);
      tx.commit();
      return results;
    } catch (const pqxx::broken_connection&) {
      // Nothing of the batch can be known to be stored, and nothing more can be tried on
      // this connection: every upload gets 503 and its client retries (idempotently).
      const StorageError lost = TranslateCurrentException();
      return std::vector<StorageResult<UploadOutcome>>(uploads.size(), StorageResult<UploadOutcome>(lost));
    } catch (const pqxx::in_doubt_error&) {
      const StorageError unknown = TranslateCurrentException();
      return std::vector<StorageResult<UploadOutcome>>(uploads.size(), StorageResult<UploadOutcome>(unknown));
    } catch (...) {
      // One upload failed the shared transaction (or two batches deadlocked): nothing of it
      // was committed, so each upload is stored again alone and fails, if at all, alone.
      results.clear();
    }
  }
  for (const NewUpload* upload : uploads) results.push_back(StoreUpload(conn, *upload));
  return results;
}

}  // namespace fleetcomm::storage
