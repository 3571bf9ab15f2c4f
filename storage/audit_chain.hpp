#pragma once
// The audit log's hash chain. Sealing runs asynchronously (a periodic job, one instance at
// a time): requests only insert rows and never wait for it. A seal covers the next entries
// in (xid, seq) order whose inserting transactions have all finished (xid below the xmin
// of the sealer's snapshot), so no row can later appear inside a sealed range except by
// tampering. Verification recomputes every entry digest and seal hash.
#include "storage/storage_error.hpp"

#include <chrono>
#include <optional>
#include <string>

namespace pqxx {
class connection_base;
}

namespace fleetcomm::storage {

struct SealResult {
  bool skipped = false;  // another instance is sealing right now
  int seals = 0;
  long long entries = 0;
};

// Seals up to `max_seals` batches of at most `max_entries` entries each.
StorageResult<SealResult> SealAuditEntries(pqxx::connection_base& conn, int max_entries, int max_seals);

struct AuditBreak {
  long long seq = 0;          // the entry (0 when the seal itself is broken)
  std::string problem;        // altered | removed | inserted | seal_altered
  long long seal = 0;         // the seal whose range holds it
  std::string request_id;     // of the entry as stored now, when there is one
};

struct AuditVerification {
  long long entries = 0;   // sealed entries checked and found intact (before any break)
  long long seals = 0;     // seals checked
  long long unsealed = 0;  // entries not sealed yet (not covered by this check)
  std::optional<AuditBreak> first_break;
};

// Checks the chain from the first seal left (retention drops old seals, and records the last
// one it dropped in audit_trims: the first seal left must follow it), and the entries of
// every seal whose entries are all newer than `retained_from` (older months may have been
// dropped). Stops at the first break, in chain order.
StorageResult<AuditVerification> VerifyAuditChain(pqxx::connection_base& conn,
                                                  std::chrono::system_clock::time_point retained_from);

}  // namespace fleetcomm::storage
