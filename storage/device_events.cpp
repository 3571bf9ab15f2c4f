#include "storage/device_events.hpp"

#include "storage/pipeline_jobs.hpp"

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

namespace fleetcomm::storage {
namespace {

using nlohmann::json;

constexpr const char* kStates = R"SQL(
SELECT k.device_id, k.generated_at::text, k.alerts::text, coalesce(st.generated_at >= k.generated_at, false),
       st.alerts::text
FROM jsonb_to_recordset($1::jsonb) AS k(device_id text, generated_at timestamptz, alerts jsonb)
LEFT JOIN device_alert_states st ON st.device_id = k.device_id
WHERE k.alerts IS NOT NULL AND jsonb_typeof(k.alerts) = 'object'
ORDER BY k.device_id
)SQL";

constexpr const char* kSaveStates = R"SQL(
INSERT INTO device_alert_states AS s (device_id, generated_at, alerts)
SELECT device_id, generated_at, alerts
FROM jsonb_to_recordset($1::jsonb) AS r(device_id text, generated_at timestamptz, alerts jsonb)
ON CONFLICT (device_id) DO UPDATE SET generated_at = EXCLUDED.generated_at, alerts = EXCLUDED.alerts
WHERE s.generated_at < EXCLUDED.generated_at
)SQL";

constexpr const char* kEvents = R"SQL(
INSERT INTO service_events (source_key, account_id, device_id, kind, code, severity, critical, detail, at)
SELECT source_key, $2, device_id, kind, code, severity, critical, detail, at
FROM jsonb_to_recordset($1::jsonb) AS r(source_key text, device_id text, kind text, code text, severity text,
                                        critical boolean, detail jsonb, at timestamptz)
ON CONFLICT (source_key) DO NOTHING
)SQL";

// Faults this upload added to the history (a fault already known keeps its first upload).
constexpr const char* kFaults = R"SQL(
INSERT INTO service_events (source_key, account_id, device_id, kind, code, severity, critical, detail, at)
SELECT 'fault:' || f.device_id || ':' || f.at::text || ':' || f.code, $3, f.device_id, 'fault', f.code, 'warning',
       false, jsonb_build_object('component', f.component, 'description', f.description),
       CASE WHEN f.at = '-infinity' THEN k.generated_at ELSE f.at END
FROM jsonb_to_recordset($2::jsonb) AS k(device_id text, generated_at timestamptz)
JOIN device_faults f ON f.device_id = k.device_id AND f.upload_id = $1
ORDER BY f.device_id, f.at, f.code
ON CONFLICT (source_key) DO NOTHING
)SQL";

json Event(const std::string& kind, const std::string& device_id, const std::string& code, const json& alert,
           const std::string& generated_at, const std::string& at) {
  const std::string severity = alert.value("severity", "info");
  return {{"source_key", kind + ":" + device_id + ":" + code + ":" + generated_at},
          {"device_id", device_id},
          {"kind", kind},
          {"code", code},
          {"severity", severity},
          {"critical", severity == "critical"},
          {"detail", {{"description", alert.value("description", json(nullptr))}}},
          {"at", at}};
}

}  // namespace

void DeriveServiceEvents(pqxx::transaction_base& tx, const PipelineJob& job) {
  json events = json::array(), states = json::array();
  for (const auto& row : tx.exec_params(kStates, job.devices)) {
    if (row[3].as<bool>()) continue;  // an older report than the one already judged
    const std::string device_id = row[0].as<std::string>();
    const std::string generated_at = row[1].as<std::string>();
    const json now = json::parse(row[2].as<std::string>());
    const json before = row[4].is_null() ? json::object() : json::parse(row[4].as<std::string>());
    for (const auto& [code, alert] : now.items()) {
      if (before.contains(code)) continue;
      const std::string at = alert.contains("at") && alert["at"].is_string() ? alert["at"].get<std::string>() : generated_at;
      events.push_back(Event("alert_raised", device_id, code, alert, generated_at, at));
    }
    for (const auto& [code, alert] : before.items()) {
      if (!now.contains(code)) events.push_back(Event("alert_cleared", device_id, code, alert, generated_at, generated_at));
    }
    states.push_back({{"device_id", device_id}, {"generated_at", generated_at}, {"alerts", now}});
  }
  if (!states.empty()) tx.exec_params(kSaveStates, states.dump());
  if (!events.empty()) tx.exec_params(kEvents, events.dump(), job.account_id);
  tx.exec_params(kFaults, job.upload_id, job.devices, job.account_id);
}

}  // namespace fleetcomm::storage
