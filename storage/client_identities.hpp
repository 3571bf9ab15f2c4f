#pragma once
// Who a verified client certificate belongs to, as the device listener needs it on every
// request (PROTOCOL.md 2): one indexed read, cached per connection by the server.
#include "storage/storage_error.hpp"

#include <optional>
#include <string>

namespace pqxx {
class connection_base;
}

namespace fleetcomm::storage {

enum class ClientKind { kDevice, kAgent };

struct ClientIdentity {
  ClientKind kind = ClientKind::kDevice;
  std::string id;                         // dv_... or ag_...
  std::optional<std::string> account_id;  // none for a pending device
  std::string state;                      // devices: active, pending, revoked; agents: active, revoked
  bool lockdown = false;                  // agents whose latest report asked for lockdown
};

// A device is found by the fingerprint it registered with: a device that presents another
// certificate must register again (which records and audits the change).
StorageResult<std::optional<ClientIdentity>> FindDeviceByCertificate(pqxx::connection_base& conn,
                                                                     const std::string& fingerprint);

// An agent is named by its certificate's CN, which only fleetcomm's agent CA signs.
StorageResult<std::optional<ClientIdentity>> FindAgent(pqxx::connection_base& conn, const std::string& agent_id);

}  // namespace fleetcomm::storage
