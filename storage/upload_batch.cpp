// A group-commit batch written with statements that each cover every upload of the batch:
// one claim, one update of the sender devices, one statement for all rows, archives,
// answers and audit entries. Per statement PostgreSQL pays executor start-up, partition
// routing and a round trip; per batch instead of per upload, that overhead shrinks with the
// batch. Each upload's result is the one StoreUpload would have given it alone, in the
// order of the batch.
#include "storage/upload_steps.hpp"

#include "storage/pipeline_jobs.hpp"
#include "storage/prepared.hpp"
#include "storage/sql_params.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <set>

namespace fleetcomm::storage::upload_steps {
namespace {

using nlohmann::json;

// Keys are claimed in batch order (the batch is sorted by sender, so concurrent batches lock
// alike). ON CONFLICT DO NOTHING also skips a later upload of the batch with a key an earlier
// one just claimed: each claimed row is matched back to the first upload with its key, and
// the uploads left without a row are replayed or refused once the batch's answers are written.
constexpr PreparedSql kClaimBatch{"upload_claim_batch", R"SQL(
WITH input AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(ord int, sender_kind text, sender_id text, account_id text,
                                                   report_id uuid, sha text, generated_at timestamptz,
                                                   zip_bytes int, report_bytes bigint, device_count int)
), claimed AS (
  INSERT INTO uploads (sender_kind, sender_id, account_id, report_id, content_sha256, generated_at, zip_bytes,
                       report_bytes, device_count)
  SELECT sender_kind, sender_id, account_id, report_id, decode(sha, 'hex'), generated_at, zip_bytes, report_bytes,
         device_count
  FROM input ORDER BY ord
  ON CONFLICT (sender_kind, sender_id, report_id) DO NOTHING
  RETURNING id, sender_kind, sender_id, report_id, received_at, account_id
)
SELECT DISTINCT ON (c.id) i.ord, c.id, c.received_at, a.job_data_consent
FROM claimed c
JOIN input i ON i.sender_kind = c.sender_kind AND i.sender_id = c.sender_id AND i.report_id = c.report_id
LEFT JOIN accounts a ON a.id = c.account_id
ORDER BY c.id, i.ord
)SQL"};

// The sender devices of device-direct uploads, one row per device with the batch's updates
// already folded in order (see FoldSenderUpdates), locked in key order.
constexpr PreparedSql kUpdateSenderDevices{"upload_update_sender_devices", R"SQL(
UPDATE devices d SET model = r.model, device_class = coalesce(r.device_class, d.device_class),
  firmware = coalesce(r.firmware, d.firmware), mac = coalesce(r.mac, d.mac), disabled_actions = r.disabled_actions,
  last_upload_at = now(), updated_at = now()
FROM (SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(id text, model text, device_class text, firmware text,
                                                         mac text, disabled_actions text[]) ORDER BY id) r
WHERE d.id = r.id AND d.state = 'active'
RETURNING d.id
)SQL"};

// Every row of every upload: rows carry their upload's id and its position in the batch (ord),
// and are inserted in batch order, so that of two uploads with the same reading the earlier
// one stores it, as one after the other would. Of several snapshots of one device, the
// newest report's (the later upload's on a tie) is the one offered, as if applied in turn.
// $1..$6 rows, $7 upload devices, $8 uploads {upload_id, received_at, offset, length, answer},
// $9 the archives end to end, $10 audit entries, $11 the pipelines' work (their outbox,
// committed with the uploads, never for a duplicate).
constexpr const char* kStoreBatchCtes = R"SQL(
WITH snapshots AS (
  INSERT INTO device_snapshots AS s (device_id, upload_id, generated_at, identity, modules, network, properties,
                                     status, supplies, usage)
  SELECT DISTINCT ON (device_id) device_id, upload_id, generated_at, identity, modules, network, properties, status,
         supplies, usage
  FROM jsonb_to_recordset($1::jsonb) AS r(ord int, upload_id text, generated_at timestamptz, device_id text,
                                          identity jsonb, modules jsonb, network jsonb, properties jsonb,
                                          status jsonb, supplies jsonb, usage jsonb)
  ORDER BY device_id, generated_at DESC, ord DESC
  ON CONFLICT (device_id) DO UPDATE SET upload_id = EXCLUDED.upload_id, generated_at = EXCLUDED.generated_at,
    identity = EXCLUDED.identity, modules = EXCLUDED.modules, network = EXCLUDED.network,
    properties = EXCLUDED.properties, status = EXCLUDED.status, supplies = EXCLUDED.supplies, usage = EXCLUDED.usage
  WHERE s.generated_at <= EXCLUDED.generated_at
  RETURNING upload_id
), faults AS (
  INSERT INTO device_faults (device_id, at, code, component, description, upload_id)
  SELECT device_id, coalesce(at, '-infinity'), code, component, description, upload_id
  FROM jsonb_to_recordset($2::jsonb) AS r(ord int, upload_id text, device_id text, at timestamptz, code text,
                                          component text, description text)
  ORDER BY ord
  ON CONFLICT DO NOTHING RETURNING upload_id
), counters AS (
  INSERT INTO counter_readings (device_id, counter, read_at, value, reset_at, upload_id)
  SELECT device_id, name, read_at, value, reset_at, upload_id
  FROM jsonb_to_recordset($3::jsonb) AS r(ord int, upload_id text, device_id text, name text, read_at timestamptz,
                                          value bigint, reset_at timestamptz)
  ORDER BY ord
  ON CONFLICT DO NOTHING RETURNING upload_id
), supplies AS (
  INSERT INTO supply_readings (device_id, supply_index, read_at, type, colorant, description, part_number, serial,
                               unit, capacity, level, state, upload_id)
  SELECT r.device_id, r.index, r.generated_at, r.type, r.colorant, r.description, r.part_number, r.serial, r.unit,
         r.capacity, r.level, r.state, r.upload_id
  FROM jsonb_to_recordset($4::jsonb) AS r(ord int, upload_id text, generated_at timestamptz, device_id text,
                                          index bigint, type text, colorant text, description text,
                                          part_number text, serial text, unit text, capacity bigint, level bigint,
                                          state text)
  ORDER BY ord
  ON CONFLICT DO NOTHING RETURNING upload_id
), usage AS (
  INSERT INTO usage_readings (device_id, read_at, items, upload_id)
  SELECT device_id, generated_at, items, upload_id
  FROM jsonb_to_recordset($5::jsonb) AS r(ord int, upload_id text, generated_at timestamptz, device_id text,
                                          items jsonb)
  ORDER BY ord
  ON CONFLICT DO NOTHING RETURNING upload_id
), jobs AS (
  INSERT INTO job_log_entries (device_id, received_at, upload_id, job)
  SELECT device_id, received_at, upload_id, job
  FROM jsonb_to_recordset($6::jsonb) AS r(ord int, upload_id text, received_at timestamptz, device_id text, job jsonb)
  ORDER BY ord
  RETURNING upload_id
), seen AS (
  INSERT INTO upload_devices (upload_id, device_id, received_at)
  SELECT upload_id, device_id, received_at
  FROM jsonb_to_recordset($7::jsonb) AS r(upload_id text, device_id text, received_at timestamptz)
  ON CONFLICT DO NOTHING
), batch AS (
  SELECT * FROM jsonb_to_recordset($8::jsonb) AS r(upload_id text, received_at timestamptz, zip_offset int,
                                                   zip_length int, answer jsonb)
), raw AS (
  INSERT INTO raw_uploads (upload_id, received_at, zip)
  SELECT upload_id, received_at, substring($9::bytea FROM zip_offset + 1 FOR zip_length) FROM batch
), answer AS (
  -- By key, whatever the statistics say: as a join with `batch` (estimated at 100 rows) the
  -- planner reads all of uploads while its statistics are young, milliseconds per batch.
  UPDATE uploads u SET answer = (SELECT b.answer FROM batch b WHERE b.upload_id = u.id)
  WHERE u.id = ANY(ARRAY(SELECT upload_id FROM batch))
)SQL";

// The rows each upload added to each of UploadOutcome::kRowTables (for the metrics).
constexpr const char* kCountBatchRows = R"SQL(
SELECT upload_id, t, count(*) FROM (
  SELECT upload_id, 0 AS t FROM snapshots UNION ALL SELECT upload_id, 1 FROM faults
  UNION ALL SELECT upload_id, 2 FROM counters UNION ALL SELECT upload_id, 3 FROM supplies
  UNION ALL SELECT upload_id, 4 FROM usage UNION ALL SELECT upload_id, 5 FROM jobs
) stored GROUP BY 1, 2
)SQL";

const PreparedSql& StoreBatchStatement() {
  static const std::string sql = std::string(kStoreBatchCtes) + "), audit AS (" + AuditInsertSql(10) +
                                 "), pipeline_work AS (" + PipelineEnqueueSql(11) + ")\n" + kCountBatchRows;
  static const PreparedSql statement{"upload_store_batch", sql.c_str()};
  return statement;
}

std::string Hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 0xf];
  }
  return out;
}

struct Claim {
  std::string upload_id;
  std::string received_at;
  bool job_consent = false;
};

// ord -> claim, for the uploads whose key this batch claimed.
std::map<std::size_t, Claim> ClaimKeys(pqxx::transaction_base& tx, const std::vector<const NewUpload*>& uploads) {
  json input = json::array();
  for (std::size_t i = 0; i < uploads.size(); ++i) {
    const NewUpload& upload = *uploads[i];
    input.push_back({{"ord", i},
                     {"sender_kind", KindName(upload.sender.kind)},
                     {"sender_id", upload.sender.id},
                     {"account_id", upload.sender.account_id},
                     {"report_id", upload.report->id},
                     {"sha", Hex(upload.content_sha256)},
                     {"generated_at", upload.report->generated_at},
                     {"zip_bytes", upload.zip.size()},
                     {"report_bytes", upload.report_bytes},
                     {"device_count", upload.report->devices.size()}});
  }
  std::map<std::size_t, Claim> claims;
  for (const auto& row : ExecPrepared(tx, kClaimBatch, input.dump())) {
    claims[row[0].as<std::size_t>()] = {row[1].as<std::string>(), row[2].as<std::string>(),
                                        !row[3].is_null() && row[3].as<bool>()};
  }
  return claims;
}

// The device-direct uploads' updates of their sender device, applied in batch order and
// folded into one row per device: the last upload's model and disabled actions, and for the
// coalesced fields the last value given. Returns the devices that were active.
std::set<std::string> UpdateSenderDevices(pqxx::transaction_base& tx, const std::vector<const NewUpload*>& uploads,
                                          const std::map<std::size_t, Claim>& claims) {
  std::map<std::string, json> folded;
  for (const auto& [ord, claim] : claims) {
    const NewUpload& upload = *uploads[ord];
    if (upload.sender.kind != ClientKind::kDevice) continue;
    const auto& devices = upload.report->devices;
    for (std::size_t i = 0; i < devices.size(); ++i) {
      if (std::any_of(upload.refused.begin(), upload.refused.end(), [i](const auto& r) { return r.first == i; })) {
        continue;
      }
      const auto& d = devices[i];
      json& row = folded[upload.sender.id];
      if (row.is_null()) {
        row = {{"id", upload.sender.id}, {"device_class", nullptr}, {"firmware", nullptr}, {"mac", nullptr}};
      }
      row["model"] = d.model;
      row["disabled_actions"] = d.disabled_actions;
      if (d.device_class) row["device_class"] = *d.device_class;
      if (d.identity && d.identity->firmware) row["firmware"] = *d.identity->firmware;
      if (d.network && d.network->mac) row["mac"] = *d.network->mac;
    }
  }
  std::set<std::string> active;
  if (folded.empty()) return active;
  json input = json::array();
  for (auto& entry : folded) input.push_back(std::move(entry.second));
  for (const auto& row : ExecPrepared(tx, kUpdateSenderDevices, input.dump())) active.insert(row[0].as<std::string>());
  return active;
}

std::map<std::size_t, std::string> BindSenderDevice(const NewUpload& upload, const std::set<std::string>& active,
                                                    UploadOutcome& outcome) {
  const auto& devices = upload.report->devices;
  std::map<std::size_t, std::string> bound;
  std::vector<std::string> reasons(devices.size());
  for (std::size_t i = 0; i < devices.size(); ++i) {
    auto refused = std::find_if(upload.refused.begin(), upload.refused.end(), [i](const auto& r) { return r.first == i; });
    if (refused != upload.refused.end()) {
      reasons[i] = refused->second;
    } else if (active.count(upload.sender.id) == 0) {
      reasons[i] = "device is not active";
    } else {
      bound[i] = upload.sender.id;
    }
  }
  FillDeviceOutcomes(upload, bound, reasons, outcome);
  return bound;
}

struct BatchRows {
  BatchRows() {
    seen.BeginArray();
    work.BeginArray();
  }
  DeviceRows rows;
  JsonText seen, work;
  json batch = json::array();
  std::string zips;
  std::vector<AuditEntry> audit;
};

void AddUpload(BatchRows& batch, std::size_t ord, const NewUpload& upload, const Claim& claim,
               const UploadOutcome& outcome, const std::map<std::size_t, std::string>& bound) {
  CollectRows(*upload.report, bound, claim.job_consent,
              {ord, outcome.upload_id, upload.report->generated_at, claim.received_at}, batch.rows);
  for (const auto& entry : bound) {
    batch.seen.BeginObject()
        .Field("upload_id", outcome.upload_id)
        .Field("device_id", entry.second)
        .Field("received_at", claim.received_at)
        .EndObject();
  }
  batch.batch.push_back({{"upload_id", outcome.upload_id},
                         {"received_at", claim.received_at},
                         {"zip_offset", batch.zips.size()},
                         {"zip_length", upload.zip.size()},
                         {"answer", UploadOutcomeDocument(outcome)}});
  batch.zips.append(upload.zip);
  if (upload.audit) batch.audit.push_back(UploadAuditEntry(*upload.audit, outcome));
  WritePipelineWork(batch.work, ord, {outcome.upload_id, upload.sender.account_id, upload.report, &bound});
}

void StoreBatchRows(pqxx::transaction_base& tx, BatchRows& batch, std::map<std::string, UploadOutcome*>& by_id) {
  DeviceRows& rows = batch.rows;
  rows.Finish();
  batch.seen.EndArray();
  batch.work.EndArray();
  const auto counts = ExecPrepared(tx, StoreBatchStatement(), rows.snapshots.Text(), rows.faults.Text(),
                                   rows.counters.Text(), rows.supplies.Text(), rows.usage.Text(), rows.jobs.Text(),
                                   batch.seen.Text(), batch.batch.dump(),
                                   pqxx::binarystring(batch.zips.data(), batch.zips.size()),
                                   AuditEntriesParameter(batch.audit), batch.work.Text());
  for (const auto& row : counts) {
    auto found = by_id.find(row[0].as<std::string>());
    const auto table = row[1].as<std::size_t>();
    if (found != by_id.end() && table < found->second->rows_stored.size()) {
      found->second->rows_stored[table] = row[2].as<long long>();
    }
  }
  // After the insert, in a statement of its own: a CTE would not see the new faults.
  std::sort(rows.with_faults.begin(), rows.with_faults.end());
  rows.with_faults.erase(std::unique(rows.with_faults.begin(), rows.with_faults.end()), rows.with_faults.end());
  PruneFaults(tx, rows.with_faults);
}

}  // namespace

std::vector<StorageResult<UploadOutcome>> StoreBatchIn(pqxx::work& tx, const std::vector<const NewUpload*>& uploads) {
  const auto claims = ClaimKeys(tx, uploads);
  const auto active = UpdateSenderDevices(tx, uploads, claims);

  std::vector<std::optional<UploadOutcome>> outcomes(uploads.size());
  std::vector<std::map<std::size_t, std::string>> bindings(uploads.size());
  std::map<std::string, UploadOutcome*> by_id;
  BatchRows batch;
  for (const auto& [ord, claim] : claims) {
    const NewUpload& upload = *uploads[ord];
    UploadOutcome& outcome = outcomes[ord].emplace();
    outcome.upload_id = claim.upload_id;
    outcome.report_id = upload.report->id;
    outcome.discarded = Discarded(*upload.report, claim.job_consent);
    // Agents' devices stay one statement per upload: two agents' reports may name one device.
    bindings[ord] = upload.sender.kind == ClientKind::kDevice ? BindSenderDevice(upload, active, outcome)
                                                              : BindDevices(tx, upload, outcome);
    AddUpload(batch, ord, upload, claim, outcome, bindings[ord]);
    by_id[outcome.upload_id] = &outcome;
  }
  if (!claims.empty()) StoreBatchRows(tx, batch, by_id);

  std::vector<StorageResult<UploadOutcome>> results;
  results.reserve(uploads.size());
  for (std::size_t ord = 0; ord < uploads.size(); ++ord) {
    const NewUpload& upload = *uploads[ord];
    if (!outcomes[ord]) {
      // Its key was taken, before this batch or by an earlier upload of it (answer written).
      results.push_back(ReplayEarlier(tx, upload));
      continue;
    }
    const Claim& claim = claims.at(ord);
    if (upload.sender.kind == ClientKind::kAgent && upload.report->agent) {
      StoreAgent(tx, upload, claim.upload_id, claim.received_at, claim.job_consent);
    }
    results.emplace_back(std::move(*outcomes[ord]));
  }
  return results;
}

}  // namespace fleetcomm::storage::upload_steps
