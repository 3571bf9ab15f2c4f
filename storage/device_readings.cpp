#include "storage/device_readings.hpp"

#include "storage/db_task.hpp"

#include <pqxx/pqxx>

namespace fleetcomm::storage {
namespace {

// The latest read per counter walks the (device_id, counter, read_at) primary key of each
// partition backwards; no sort of the whole history.
constexpr const char* kReadings = R"SQL(
SELECT jsonb_build_object(
  'class', d.device_class,
  'last_upload_at', fleetcomm_rfc3339(d.last_upload_at),
  'snapshot', (SELECT jsonb_build_object('generated_at', fleetcomm_rfc3339(s.generated_at), 'identity', s.identity,
                                         'modules', s.modules, 'network', s.network, 'properties', s.properties,
                                         'status', s.status, 'supplies', s.supplies, 'usage', s.usage)
               FROM device_snapshots s WHERE s.device_id = d.id),
  'faults', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                      'code', f.code, 'at', CASE WHEN f.at = '-infinity' THEN NULL ELSE fleetcomm_rfc3339(f.at) END,
                      'component', f.component, 'description', f.description) ORDER BY f.at DESC, f.code), '[]')
             FROM device_faults f WHERE f.device_id = d.id),
  'counters', (SELECT coalesce(jsonb_agg(jsonb_build_object('name', c.counter, 'value', c.value,
                                                            'read_at', fleetcomm_rfc3339(c.read_at)) ORDER BY c.counter), '[]')
               FROM (SELECT DISTINCT ON (counter) counter, value, read_at FROM counter_readings
                     WHERE device_id = d.id ORDER BY counter, read_at DESC) c),
  'uploads', (SELECT coalesce(jsonb_agg(jsonb_build_object('upload_id', u.upload_id,
                                                           'received_at', fleetcomm_rfc3339(u.received_at))
                                        ORDER BY u.received_at DESC), '[]')
              FROM (SELECT upload_id, received_at FROM upload_devices WHERE device_id = d.id
                    ORDER BY received_at DESC LIMIT 20) u))
FROM devices d WHERE d.id = $1
)SQL";

}  // namespace

StorageResult<std::string> DeviceReadingsDocument(pqxx::connection_base& conn, const std::string& device_id) {
  try {
    pqxx::read_transaction tx(conn);
    auto rows = tx.exec_params(kReadings, device_id);
    if (rows.empty()) return StorageError{StorageErrc::kNotFound, "no such device"};
    return rows[0][0].as<std::string>();
  } catch (...) {
    return TranslateCurrentException();
  }
}

}  // namespace fleetcomm::storage
