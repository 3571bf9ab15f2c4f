#include "storage/device_events.hpp"

#include "storage/pipeline_jobs.hpp"
#include "storage/prepared.hpp"

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

namespace fleetcomm::storage {
namespace {

using nlohmann::json;

// Report times as UTC text with microseconds: they name events (source_key), whatever the
// session's TimeZone.
constexpr PreparedSql kStates{"diagnostics_states", R"SQL(
SELECT k.device_id, to_char(k.generated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), k.alerts::text, extract(epoch FROM k.generated_at)::float8,
       extract(epoch FROM st.generated_at)::float8, st.alerts::text, j.account_id
FROM jsonb_to_recordset($1::jsonb) AS j(upload_id text, account_id text, devices jsonb)
CROSS JOIN LATERAL jsonb_to_recordset(j.devices) AS k(device_id text, generated_at timestamptz, alerts jsonb)
LEFT JOIN device_alert_states st ON st.device_id = k.device_id
WHERE k.alerts IS NOT NULL AND jsonb_typeof(k.alerts) = 'object'
ORDER BY k.device_id, k.generated_at
)SQL"};

constexpr PreparedSql kSaveStates{"diagnostics_save_states", R"SQL(
INSERT INTO device_alert_states AS s (device_id, generated_at, alerts)
SELECT device_id, generated_at, alerts
FROM jsonb_to_recordset($1::jsonb) AS r(device_id text, generated_at timestamptz, alerts jsonb)
ON CONFLICT (device_id) DO UPDATE SET generated_at = EXCLUDED.generated_at, alerts = EXCLUDED.alerts
WHERE s.generated_at < EXCLUDED.generated_at
)SQL"};

constexpr PreparedSql kEvents{"diagnostics_events", R"SQL(
INSERT INTO service_events (source_key, account_id, device_id, kind, code, severity, critical, detail, at)
SELECT source_key, account_id, device_id, kind, code, severity, critical, detail, at
FROM jsonb_to_recordset($1::jsonb) AS r(source_key text, account_id text, device_id text, kind text, code text,
                                        severity text, critical boolean, detail jsonb, at timestamptz)
ON CONFLICT (source_key) DO NOTHING
)SQL"};

// Faults these uploads added to the history (a fault already known keeps its first upload).
constexpr PreparedSql kFaults{"diagnostics_faults", R"SQL(
INSERT INTO service_events (source_key, account_id, device_id, kind, code, severity, critical, detail, at)
SELECT 'fault:' || f.device_id || ':' || coalesce(to_char(f.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                                                  'no time') || ':' || f.code, j.account_id, f.device_id, 'fault', f.code,
       'warning', false, jsonb_build_object('component', f.component, 'description', f.description),
       CASE WHEN f.at = '-infinity' THEN k.generated_at ELSE f.at END
FROM jsonb_to_recordset($1::jsonb) AS j(upload_id text, account_id text, devices jsonb)
CROSS JOIN LATERAL jsonb_to_recordset(j.devices) AS k(device_id text, generated_at timestamptz)
JOIN device_faults f ON f.device_id = k.device_id AND f.upload_id = j.upload_id
ORDER BY f.device_id, f.at, f.code
ON CONFLICT (source_key) DO NOTHING
)SQL"};

json Event(const std::string& kind, const std::string& account_id, const std::string& device_id,
           const std::string& code, const json& alert, const std::string& generated_at, const std::string& at) {
  const std::string severity = alert.value("severity", "info");
  return {{"source_key", kind + ":" + device_id + ":" + code + ":" + generated_at},
          {"account_id", account_id},
          {"device_id", device_id},
          {"kind", kind},
          {"code", code},
          {"severity", severity},
          {"critical", severity == "critical"},
          {"detail", {{"description", alert.value("description", json(nullptr))}}},
          {"at", at}};
}

}  // namespace

void DeriveServiceEvents(pqxx::transaction_base& tx, const std::vector<PipelineJob>& jobs) {
  json input = json::array();
  for (const auto& job : jobs) {
    input.push_back({{"upload_id", job.upload_id}, {"account_id", job.account_id}, {"devices", json::parse(job.devices)}});
  }
  json events = json::array(), states = json::array();
  // Rows come ordered by (device, report time); each is compared with the state the
  // previous row of its device left, starting from the stored one.
  std::string device_id;
  json before, latest_state;
  std::optional<double> judged_at;
  auto flush = [&] {
    if (!latest_state.is_null()) states.push_back(std::move(latest_state));
    latest_state = nullptr;
  };
  for (const auto& row : ExecPrepared(tx, kStates, input.dump())) {
    if (row[0].as<std::string>() != device_id) {
      flush();
      device_id = row[0].as<std::string>();
      before = row[5].is_null() ? json::object() : json::parse(row[5].as<std::string>());
      judged_at = row[4].is_null() ? std::nullopt : std::optional<double>(row[4].as<double>());
    }
    const double generated = row[3].as<double>();
    if (judged_at && generated <= *judged_at) continue;  // not newer than the state
    const std::string generated_at = row[1].as<std::string>();
    const std::string account_id = row[6].as<std::string>();
    json now = json::parse(row[2].as<std::string>());
    for (const auto& [code, alert] : now.items()) {
      if (before.contains(code)) continue;
      const std::string at = alert.contains("at") && alert["at"].is_string() ? alert["at"].get<std::string>() : generated_at;
      events.push_back(Event("alert_raised", account_id, device_id, code, alert, generated_at, at));
    }
    for (const auto& [code, alert] : before.items()) {
      if (!now.contains(code)) {
        events.push_back(Event("alert_cleared", account_id, device_id, code, alert, generated_at, generated_at));
      }
    }
    judged_at = generated;
    latest_state = {{"device_id", device_id}, {"generated_at", generated_at}, {"alerts", now}};
    before = std::move(now);
  }
  flush();
  if (!states.empty()) ExecPrepared(tx, kSaveStates, states.dump());
  if (!events.empty()) ExecPrepared(tx, kEvents, events.dump());
  ExecPrepared(tx, kFaults, input.dump());
}

}  // namespace fleetcomm::storage
