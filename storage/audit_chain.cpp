#include "storage/audit_chain.hpp"

#include "storage/db_task.hpp"

#include <pqxx/pqxx>

#include <algorithm>
#include <map>
#include <set>

namespace fleetcomm::storage {
namespace {

// Any constant shared by every instance: only one of them seals at a time.
constexpr long long kSealLock = 0x666c6565745f6175;  // "fleet_au"

// The next batch after the last seal, among entries of finished transactions ($1: the
// snapshot's xmin), sealed in one statement. Returns nothing when there is no such entry.
constexpr const char* kSealNext = R"SQL(
WITH last AS (
  SELECT id, last_xid, last_seq, hash FROM fleetcomm_audit_chain_end() WHERE id IS NOT NULL
), picked AS MATERIALIZED (
  SELECT e.* FROM audit_entries e
  WHERE (e.xid, e.seq) > (coalesce((SELECT last_xid FROM last), '0'::xid8), coalesce((SELECT last_seq FROM last), 0))
    AND e.xid < $1::xid8
  ORDER BY e.xid, e.seq LIMIT $2
), batch AS (
  -- Digests of the picked rows only: computed beside the LIMIT, they were computed for every
  -- unsealed row, once per seal, and the sealer fell ever further behind under load. The
  -- columns, not a whole-row value, are picked: the digest's 22 field reads of a row value
  -- each walked the row from its start, and doubled the digest's cost.
  SELECT seq, xid, at, fleetcomm_audit_digest(picked::audit_entries) AS digest FROM picked
), agg AS (
  SELECT coalesce((SELECT id FROM last), 0) + 1 AS id,
         coalesce((SELECT hash FROM last), decode(repeat('00', 32), 'hex')) AS previous_hash,
         array_agg(seq ORDER BY xid, seq) AS seqs, array_agg(digest ORDER BY xid, seq) AS digests,
         min(at) AS first_at, max(at) AS last_at, count(*) AS n
  FROM batch
), batch_end AS (
  SELECT xid AS last_xid, seq AS last_seq FROM picked ORDER BY xid DESC, seq DESC LIMIT 1
)
INSERT INTO audit_seals (id, last_xid, last_seq, first_at, last_at, entry_seqs, entry_digests, previous_hash, hash)
SELECT id, last_xid, last_seq, first_at, last_at, seqs, digests, previous_hash,
       fleetcomm_audit_seal_hash(previous_hash, id, digests)
FROM agg, batch_end WHERE n > 0
RETURNING cardinality(entry_seqs)
)SQL";

// Every seal, checked against its own digests and its predecessor; ids must be 1, 2, 3...
// The first seal left after retention follows the last one it dropped (audit_trims).
constexpr const char* kSeals = R"SQL(
WITH trimmed AS (SELECT last_seal_id, last_hash FROM audit_trims ORDER BY id DESC LIMIT 1)
SELECT id, last_xid::text, last_seq,
       first_at < date_trunc('month', $1::timestamptz AT TIME ZONE 'UTC') AT TIME ZONE 'UTC',
       hash = fleetcomm_audit_seal_hash(previous_hash, id, entry_digests),
       previous_hash = coalesce(lag(hash) OVER (ORDER BY id), (SELECT last_hash FROM trimmed),
                                decode(repeat('00', 32), 'hex'))
         AND id = coalesce(lag(id) OVER (ORDER BY id), (SELECT last_seal_id FROM trimmed), 0) + 1,
       cardinality(entry_seqs)
FROM audit_seals ORDER BY id
)SQL";

constexpr const char* kLastTrim = "SELECT last_xid::text, last_seq FROM audit_trims ORDER BY id DESC LIMIT 1";

// What differs between a seal and the entries in its range ($2, $3: the end of the previous
// seal): sealed digests without an identical row, rows without an identical sealed digest,
// and identical copies of a row.
constexpr const char* kSealDifferences = R"SQL(
WITH s AS (
  SELECT entry_seqs, entry_digests, last_xid, last_seq FROM audit_seals WHERE id = $1
), sealed AS (
  SELECT u.seq, u.digest FROM s, unnest(s.entry_seqs, s.entry_digests) AS u(seq, digest)
), actual AS (
  SELECT e.seq, e.request_id, fleetcomm_audit_digest(e) AS digest FROM audit_entries e, s
  WHERE ((e.xid, e.seq) > ($2::xid8, $3::bigint) AND (e.xid, e.seq) <= (s.last_xid, s.last_seq))
     OR e.seq = ANY(s.entry_seqs)
)
SELECT 'sealed', seq, NULL FROM sealed
WHERE NOT EXISTS (SELECT 1 FROM actual a WHERE a.seq = sealed.seq AND a.digest = sealed.digest)
UNION ALL
SELECT 'actual', seq, request_id FROM actual
WHERE NOT EXISTS (SELECT 1 FROM sealed WHERE sealed.seq = actual.seq AND sealed.digest = actual.digest)
UNION ALL
SELECT 'copy', seq, min(request_id) FROM actual GROUP BY seq, digest HAVING count(*) > 1
)SQL";

// The first problem of one seal's range, by entry sequence number.
std::optional<AuditBreak> ClassifyDifferences(const pqxx::result& rows, long long seal) {
  std::set<long long> missing;                    // sealed digests without their row
  std::map<long long, std::string> unexpected;    // rows without their sealed digest
  std::map<long long, std::string> copies;
  for (const auto& row : rows) {
    const std::string side = row[0].as<std::string>();
    const auto seq = row[1].as<long long>();
    const std::string request_id = row[2].is_null() ? std::string() : row[2].as<std::string>();
    if (side == "sealed") missing.insert(seq);
    if (side == "actual") unexpected.emplace(seq, request_id);
    if (side == "copy") copies.emplace(seq, request_id);
  }
  std::vector<AuditBreak> breaks;
  for (long long seq : missing) {
    auto changed = unexpected.find(seq);
    if (changed != unexpected.end()) {
      breaks.push_back({seq, "altered", seal, changed->second});
      unexpected.erase(changed);
    } else {
      breaks.push_back({seq, "removed", seal, ""});
    }
  }
  for (const auto& [seq, request_id] : unexpected) breaks.push_back({seq, "inserted", seal, request_id});
  for (const auto& [seq, request_id] : copies) breaks.push_back({seq, "inserted", seal, request_id});
  if (breaks.empty()) return std::nullopt;
  return *std::min_element(breaks.begin(), breaks.end(),
                           [](const AuditBreak& a, const AuditBreak& b) { return a.seq < b.seq; });
}

std::string Rfc3339Seconds(std::chrono::system_clock::time_point at) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(at);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

}  // namespace

StorageResult<SealResult> SealAuditEntries(pqxx::connection_base& conn, int max_entries, int max_seals) {
  try {
    SealResult result;
    // One snapshot for the whole run: its xmin bounds what may be sealed.
    pqxx::transaction<pqxx::isolation_level::repeatable_read> tx(conn);
    if (!tx.exec_params1("SELECT pg_try_advisory_xact_lock($1)", kSealLock)[0].as<bool>()) {
      result.skipped = true;
      return result;
    }
    const auto horizon = tx.exec("SELECT pg_snapshot_xmin(pg_current_snapshot())::text")[0][0].as<std::string>();
    // Walk (xid, seq) in index order up to the LIMIT. With a young partition's statistics the
    // planner otherwise reads and sorts every unsealed row for each seal.
    tx.exec("SET LOCAL enable_bitmapscan = off; SET LOCAL enable_seqscan = off");
    while (result.seals < max_seals) {
      const auto sealed = tx.exec_params(kSealNext, horizon, max_entries);
      if (sealed.empty()) break;
      const auto count = sealed[0][0].as<long long>();
      ++result.seals;
      result.entries += count;
      if (count < max_entries) break;
    }
    tx.commit();
    return result;
  } catch (...) {
    return TranslateCurrentException();
  }
}

StorageResult<AuditVerification> VerifyAuditChain(pqxx::connection_base& conn,
                                                  std::chrono::system_clock::time_point retained_from) {
  try {
    AuditVerification result;
    pqxx::transaction<pqxx::isolation_level::repeatable_read, pqxx::read_only> tx(conn);
    std::string previous_xid = "0";
    long long previous_seq = 0;
    if (const auto trim = tx.exec(kLastTrim); !trim.empty()) {
      previous_xid = trim[0][0].as<std::string>();
      previous_seq = trim[0][1].as<long long>();
    }
    for (const auto& seal : tx.exec_params(kSeals, Rfc3339Seconds(retained_from))) {
      const auto id = seal[0].as<long long>();
      ++result.seals;
      if (!seal[4].as<bool>() || !seal[5].as<bool>()) {
        result.first_break = AuditBreak{0, "seal_altered", id, ""};
        return result;
      }
      if (!seal[3].as<bool>()) {  // entries still retained: check them one by one
        const auto differences = tx.exec_params(kSealDifferences, id, previous_xid, previous_seq);
        if (auto broken = ClassifyDifferences(differences, id)) {
          result.first_break = std::move(broken);
          return result;
        }
        result.entries += seal[6].as<long long>();
      }
      previous_xid = seal[1].as<std::string>();
      previous_seq = seal[2].as<long long>();
    }
    result.unsealed = tx.exec_params1("SELECT count(*) FROM audit_entries WHERE (xid, seq) > ($1::xid8, $2::bigint)",
                                      previous_xid, previous_seq)[0].as<long long>();
    return result;
  } catch (...) {
    return TranslateCurrentException();
  }
}

}  // namespace fleetcomm::storage
