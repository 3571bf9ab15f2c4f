#include "storage/devices.hpp"

#include "storage/db_task.hpp"
#include "storage/paging.hpp"
#include "storage/sql_params.hpp"

#include <pqxx/pqxx>

namespace fleetcomm::storage {
namespace {

#define FLEETCOMM_DEVICE_COLUMNS                                                                          \
  "devices.id, devices.account_id, devices.manufacturer, devices.serial, devices.model, devices.firmware, " \
  "devices.mac, devices.state, devices.cert_fingerprint, "                                                  \
  "to_char(devices.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

// Pre-provisioning claims a pending device or repeats itself; anything else is a conflict
// (the serial is active in another account, or revoked).
constexpr const char* kProvision =
    "INSERT INTO devices (account_id, manufacturer, serial, state) VALUES ($1, $2, $3, 'active') "
    "ON CONFLICT (manufacturer_key, serial) DO UPDATE SET account_id = EXCLUDED.account_id, state = 'active', "
    "updated_at = now() "
    "WHERE devices.state = 'pending' OR (devices.state = 'active' AND devices.account_id = EXCLUDED.account_id) "
    "RETURNING " FLEETCOMM_DEVICE_COLUMNS;

// One statement: two registrations racing for an unknown serial create one pending device.
// A revoked device is left untouched (no row returned) and read separately.
constexpr const char* kRegister =
    "WITH previous AS (SELECT cert_fingerprint FROM devices WHERE manufacturer_key = lower(btrim($1)) "
    "AND serial = $2) "
    "INSERT INTO devices (manufacturer, serial, model, firmware, mac, state, cert_fingerprint, registered_at) "
    "VALUES ($1, $2, $3, $4, $5, 'pending', $6, now()) "
    "ON CONFLICT (manufacturer_key, serial) DO UPDATE SET model = COALESCE(EXCLUDED.model, devices.model), "
    "firmware = COALESCE(EXCLUDED.firmware, devices.firmware), mac = COALESCE(EXCLUDED.mac, devices.mac), "
    "cert_fingerprint = EXCLUDED.cert_fingerprint, registered_at = now(), updated_at = now() "
    "WHERE devices.state <> 'revoked' "
    "RETURNING " FLEETCOMM_DEVICE_COLUMNS ", (SELECT cert_fingerprint FROM previous)";

constexpr const char* kSelectByIdentity =
    "SELECT " FLEETCOMM_DEVICE_COLUMNS " FROM devices WHERE manufacturer_key = lower(btrim($1)) AND serial = $2";

constexpr const char* kSelectById = "SELECT " FLEETCOMM_DEVICE_COLUMNS " FROM devices WHERE id = $1";

constexpr const char* kList =
    "SELECT " FLEETCOMM_DEVICE_COLUMNS " FROM devices WHERE id > $1 "
    "AND ($2::text[] IS NULL OR account_id = ANY($2::text[])) AND ($3::text IS NULL OR account_id = $3) "
    "AND ($4::text IS NULL OR state = $4) AND ($5::text IS NULL OR serial = $5) ORDER BY id LIMIT $6";

constexpr const char* kAssign =
    "UPDATE devices SET account_id = $2, state = 'active', updated_at = now() "
    "WHERE id = $1 AND state = 'pending' RETURNING " FLEETCOMM_DEVICE_COLUMNS;

constexpr const char* kRevoke =
    "UPDATE devices SET state = 'revoked', updated_at = now() WHERE id = $1 RETURNING " FLEETCOMM_DEVICE_COLUMNS;

#undef FLEETCOMM_DEVICE_COLUMNS

std::optional<std::string> Nullable(const pqxx::field& field) {
  if (field.is_null()) return std::nullopt;
  return field.as<std::string>();
}

Device ReadDevice(const pqxx::row& row) {
  return {row[0].as<std::string>(), Nullable(row[1]), row[2].as<std::string>(), row[3].as<std::string>(),
          Nullable(row[4]),         Nullable(row[5]), Nullable(row[6]),         row[7].as<std::string>(),
          Nullable(row[8]),         row[9].as<std::string>()};
}


}  // namespace

StorageResult<Device> ProvisionDevice(pqxx::connection_base& conn, const std::string& account_id,
                                      const std::string& manufacturer, const std::string& serial, const AuditEntry* audit) {
  try {
    pqxx::work tx(conn);
    auto rows = tx.exec_params(kProvision, account_id, manufacturer, serial);
    if (rows.empty()) return StorageError{StorageErrc::kConflict, "device exists in another account or is revoked"};
    Device device = ReadDevice(rows[0]);
    if (audit) {
      InsertChangeEntry(tx, *audit, AuditedTable::kDevices, "", AuditRowDocument(tx, AuditedTable::kDevices, device.id));
    }
    tx.commit();
    return device;
  } catch (...) {
    return TranslateCurrentException();
  }
}

StorageResult<RegistrationOutcome> RegisterDevice(pqxx::connection_base& conn, const Registration& r,
                                                  const AuditEntry* audit) {
  try {
    pqxx::work tx(conn);
    auto rows = tx.exec_params(kRegister, r.manufacturer, r.serial, OptionalText(r.model).get(),
                               OptionalText(r.firmware).get(), OptionalText(r.mac).get(), r.cert_fingerprint);
    RegistrationOutcome outcome;
    if (rows.empty()) {
      outcome.device = ReadDevice(tx.exec_params1(kSelectByIdentity, r.manufacturer, r.serial));
    } else {
      outcome.device = ReadDevice(rows[0]);
      const auto previous = Nullable(rows[0][10]);
      outcome.certificate_changed = previous && *previous != r.cert_fingerprint;
      if (audit) {
        AuditEntry entry = *audit;
        entry.identity_kind = "device";
        entry.identity_id = outcome.device.id;
        entry.account_id = outcome.device.account_id.value_or("");
        entry.status = outcome.device.state == "active" ? 200 : 202;
        InsertAuditEntry(tx, entry);
        outcome.audit_recorded = true;
      }
    }
    tx.commit();
    return outcome;
  } catch (...) {
    return TranslateCurrentException();
  }
}

StorageResult<std::optional<Device>> GetDevice(pqxx::connection_base& conn, const std::string& id) {
  try {
    pqxx::read_transaction tx(conn);
    auto rows = tx.exec_params(kSelectById, id);
    if (rows.empty()) return std::optional<Device>{};
    return std::optional<Device>{ReadDevice(rows[0])};
  } catch (...) {
    return TranslateCurrentException();
  }
}

StorageResult<Page<Device>> ListDevices(pqxx::connection_base& conn, const DeviceFilter& filter,
                                        const std::string& after, int limit) {
  try {
    pqxx::read_transaction tx(conn);
    const auto scope = filter.scope ? std::optional<std::string>(TextArrayLiteral(*filter.scope)) : std::nullopt;
    auto rows = tx.exec_params(kList, after, OptionalText(scope).get(), OptionalText(filter.account_id).get(),
                               OptionalText(filter.state).get(), OptionalText(filter.serial).get(), limit + 1);
    return MakePage<Device>(rows, limit, ReadDevice, [](const Device& d) { return d.id; });
  } catch (...) {
    return TranslateCurrentException();
  }
}

StorageResult<std::optional<Device>> AssignDevice(pqxx::connection_base& conn, const std::string& id,
                                                  const std::string& account_id, const AuditEntry* audit) {
  try {
    pqxx::work tx(conn);
    const std::string before = audit ? AuditRowDocument(tx, AuditedTable::kDevices, id) : "";
    auto rows = tx.exec_params(kAssign, id, account_id);
    if (rows.empty()) {
      auto existing = tx.exec_params(kSelectById, id);
      if (existing.empty()) return std::optional<Device>{};
      return StorageError{StorageErrc::kConflict, "device is not pending"};
    }
    if (audit) InsertChangeEntry(tx, *audit, AuditedTable::kDevices, before, AuditRowDocument(tx, AuditedTable::kDevices, id));
    tx.commit();
    return std::optional<Device>{ReadDevice(rows[0])};
  } catch (...) {
    return TranslateCurrentException();
  }
}

StorageResult<std::optional<Device>> RevokeDevice(pqxx::connection_base& conn, const std::string& id, const AuditEntry* audit) {
  try {
    pqxx::work tx(conn);
    const std::string before = audit ? AuditRowDocument(tx, AuditedTable::kDevices, id) : "";
    auto rows = tx.exec_params(kRevoke, id);
    if (audit && !rows.empty()) {
      InsertChangeEntry(tx, *audit, AuditedTable::kDevices, before, AuditRowDocument(tx, AuditedTable::kDevices, id));
    }
    tx.commit();
    if (rows.empty()) return std::optional<Device>{};
    return std::optional<Device>{ReadDevice(rows[0])};
  } catch (...) {
    return TranslateCurrentException();
  }
}

}  // namespace fleetcomm::storage
