#pragma once
// The software catalogue (PROTOCOL.md 3.5, 4): releases per model, and the answer for one
// device's model and current firmware.
#include "storage/audit.hpp"
#include "storage/storage_error.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pqxx {
class connection_base;
}

namespace fleetcomm::storage {

struct SoftwareRelease {
  std::string id;
  std::string model;
  std::string version;
  std::string url;
  std::string sha256;  // lowercase hex
  long long size = 0;
  std::optional<std::string> min_firmware;
  std::string install_after;  // RFC 3339
  std::string created_at;
};

struct NewSoftwareRelease {
  std::string model;
  std::string version;
  std::vector<std::int64_t> version_key;  // protocol::VersionKey of version
  std::string url;
  std::string sha256;
  long long size = 0;
  std::optional<std::string> min_firmware;
  std::vector<std::int64_t> min_firmware_key;  // empty: any firmware
  std::optional<std::string> install_after;    // RFC 3339; none: now
};

// kConflict when the model already has this version.
StorageResult<SoftwareRelease> AddSoftwareRelease(pqxx::connection_base& conn, const NewSoftwareRelease& release,
                                                  const AuditEntry* audit = nullptr);

struct SoftwareOffer {
  bool updates_enabled = false;  // the account's remote_software_updates
  std::optional<SoftwareRelease> release;
};

// The newest release of `model` newer than `firmware_key` whose min_firmware is at most
// `firmware_key`; none when the account turned remote updates off.
StorageResult<SoftwareOffer> FindSoftwareUpdate(pqxx::connection_base& conn, const std::string& account_id,
                                                const std::string& model,
                                                const std::vector<std::int64_t>& firmware_key);

}  // namespace fleetcomm::storage
