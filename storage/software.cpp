#include "storage/software.hpp"

#include "storage/db_task.hpp"
#include "storage/sql_params.hpp"

#include <pqxx/pqxx>

namespace fleetcomm::storage {
namespace {

#define FLEETCOMM_RELEASE_COLUMNS                                                                          \
  "r.id, r.model, r.version, r.url, r.sha256, r.size, r.min_firmware, fleetcomm_rfc3339(r.install_after), " \
  "fleetcomm_rfc3339(r.created_at)"

constexpr const char* kInsert =
    "INSERT INTO software_releases AS r (model, version, version_key, url, sha256, size, min_firmware, "
    "min_firmware_key, install_after) VALUES ($1, $2, $3::bigint[], $4, $5, $6, $7, $8::bigint[], "
    "COALESCE($9::timestamptz, now())) RETURNING " FLEETCOMM_RELEASE_COLUMNS;

// The account row always comes back (its flag), with the best release when updates are on.
constexpr const char* kOffer =
    "SELECT a.remote_software_updates, " FLEETCOMM_RELEASE_COLUMNS " FROM accounts a LEFT JOIN LATERAL "
    "(SELECT * FROM software_releases WHERE model_key = lower(btrim($2)) AND version_key > $3::bigint[] "
    "AND min_firmware_key <= $3::bigint[] ORDER BY version_key DESC LIMIT 1) r ON a.remote_software_updates "
    "WHERE a.id = $1";

#undef FLEETCOMM_RELEASE_COLUMNS

std::string KeyLiteral(const std::vector<std::int64_t>& key) {
  std::string out = "{";
  for (std::size_t i = 0; i < key.size(); ++i) {
    if (i != 0) out += ',';
    out += std::to_string(key[i]);
  }
  return out + "}";
}

std::optional<std::string> Nullable(const pqxx::field& field) {
  if (field.is_null()) return std::nullopt;
  return field.as<std::string>();
}

SoftwareRelease ReadRelease(const pqxx::row& row, pqxx::row::size_type first) {
  return {row[first].as<std::string>(),         row[first + 1].as<std::string>(), row[first + 2].as<std::string>(),
          row[first + 3].as<std::string>(),     row[first + 4].as<std::string>(), row[first + 5].as<long long>(),
          Nullable(row[first + 6]),             row[first + 7].as<std::string>(), row[first + 8].as<std::string>()};
}

}  // namespace

StorageResult<SoftwareRelease> AddSoftwareRelease(pqxx::connection_base& conn, const NewSoftwareRelease& r,
                                                  const AuditEntry* audit) {
  try {
    pqxx::work tx(conn);
    auto row = tx.exec_params1(kInsert, r.model, r.version, KeyLiteral(r.version_key), r.url, r.sha256, r.size,
                               OptionalText(r.min_firmware).get(), KeyLiteral(r.min_firmware_key),
                               OptionalText(r.install_after).get());
    SoftwareRelease release = ReadRelease(row, 0);
    if (audit) {
      InsertChangeEntry(tx, *audit, AuditedTable::kSoftwareReleases, "",
                        AuditRowDocument(tx, AuditedTable::kSoftwareReleases, release.id));
    }
    tx.commit();
    return release;
  } catch (...) {
    return TranslateCurrentException();
  }
}

StorageResult<SoftwareOffer> FindSoftwareUpdate(pqxx::connection_base& conn, const std::string& account_id,
                                                const std::string& model,
                                                const std::vector<std::int64_t>& firmware_key) {
  try {
    pqxx::nontransaction tx(conn);
    auto rows = tx.exec_params(kOffer, account_id, model, KeyLiteral(firmware_key));
    if (rows.empty()) return StorageError::Internal("client's account is missing");
    SoftwareOffer offer;
    offer.updates_enabled = rows[0][0].as<bool>();
    if (!rows[0][1].is_null()) offer.release = ReadRelease(rows[0], 1);
    return offer;
  } catch (...) {
    return TranslateCurrentException();
  }
}

}  // namespace fleetcomm::storage
