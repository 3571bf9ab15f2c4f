#pragma once
// Devices: pre-provisioning by operators, registration by devices (PROTOCOL.md 3.2),
// pending devices, assignment and revocation (4.2).
#include "storage/accounts.hpp"

namespace fleetcomm::storage {

struct Device {
  std::string id;
  std::optional<std::string> account_id;
  std::string manufacturer;
  std::string serial;
  std::optional<std::string> model;
  std::optional<std::string> firmware;
  std::optional<std::string> mac;
  std::string state;  // active, pending, revoked
  std::optional<std::string> cert_fingerprint;
  std::string created_at;
};

// kConflict when the device exists already (in any account).
StorageResult<Device> ProvisionDevice(pqxx::connection_base& conn, const std::string& account_id,
                                      const std::string& manufacturer, const std::string& serial,
                                      const AuditEntry* audit = nullptr);

struct Registration {
  std::string manufacturer;
  std::string serial;
  std::optional<std::string> model;
  std::optional<std::string> firmware;
  std::optional<std::string> mac;
  std::string cert_fingerprint;
};

struct RegistrationOutcome {
  Device device;
  bool certificate_changed = false;  // a known device came back with another certificate
  bool audit_recorded = false;       // the request's entry committed with the registration
};

// Binds the device: pre-provisioned -> active, unknown -> pending, revoked stays revoked
// (the caller refuses). Idempotent; updates model, firmware and mac. One statement, so two
// registrations racing for a new serial create one device. Unless the device is revoked
// (nothing changes), `audit` (the request's entry, if given) commits with it, naming the
// device and its account, with the status of the answer (PROTOCOL.md 3.2: 200 active,
// 202 pending).
StorageResult<RegistrationOutcome> RegisterDevice(pqxx::connection_base& conn, const Registration& registration,
                                                  const AuditEntry* audit = nullptr);

StorageResult<std::optional<Device>> GetDevice(pqxx::connection_base& conn, const std::string& id);

struct DeviceFilter {
  std::optional<std::vector<std::string>> scope;  // visible accounts; none: all (pending included)
  std::optional<std::string> account_id;
  std::optional<std::string> state;
  std::optional<std::string> serial;
};
StorageResult<Page<Device>> ListDevices(pqxx::connection_base& conn, const DeviceFilter& filter,
                                        const std::string& after, int limit);

// pending -> active in the account; kConflict when the device is not pending.
StorageResult<std::optional<Device>> AssignDevice(pqxx::connection_base& conn, const std::string& id,
                                                  const std::string& account_id, const AuditEntry* audit = nullptr);
StorageResult<std::optional<Device>> RevokeDevice(pqxx::connection_base& conn, const std::string& id,
                                                  const AuditEntry* audit = nullptr);

}  // namespace fleetcomm::storage
