// storage/operator_tokens against the migrated schema.
#include "storage/operator_tokens.hpp"
#include "tests/support/temp_postgres.hpp"

#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include <string>
#include <vector>

using fleetcomm::storage::FindOperatorToken;
using fleetcomm::storage::InsertOperatorToken;
using fleetcomm::storage::StorageErrc;
using fleetcomm::testing::TempPostgres;

namespace {

// A raw 32-byte digest, as auth::OperatorTokenDigest produces; `seed` varies it. It
// deliberately contains NUL and high bytes.
std::string Digest(unsigned char seed) {
  std::string d(32, '\0');
  for (std::size_t i = 0; i < d.size(); ++i) d[i] = static_cast<char>((i * 37 + seed * 11) & 0xff);
  d[0] = '\0';
  d[1] = static_cast<char>(0xff);
  d[31] = static_cast<char>(seed);
  return d;
}

}  // namespace

TEST_CASE("operator token: insert then find by digest", "[operator_tokens]") {
  pqxx::connection conn(TempPostgres::Instance().CreateDatabase());
  const std::vector<std::string> accounts = {"acc-1", "acc 2", "quote\"d", "back\\slash", "com,ma", "{brace}",
                                             "NULL", "ünïcødé"};

  auto id = InsertOperatorToken(conn, Digest(1), "night shift", "account_manager", accounts);
  INFO((id.has_value() ? std::string() : id.error().detail));
  REQUIRE(id.has_value());
  CHECK(*id > 0);

  auto found = FindOperatorToken(conn, Digest(1));
  INFO((found.has_value() ? std::string() : found.error().detail));
  REQUIRE(found.has_value());
  REQUIRE(found->has_value());
  const auto& record = **found;
  CHECK(record.id == *id);
  CHECK(record.name == "night shift");
  CHECK(record.role == "account_manager");
  CHECK(record.account_ids == accounts);

  // The digest is stored as the 32 raw bytes, not as text.
  pqxx::nontransaction tx(conn);
  CHECK(tx.exec_params1("SELECT octet_length(token_sha256) FROM operator_tokens WHERE id = $1", *id)[0].as<int>() ==
        32);
}

TEST_CASE("operator token: no account ids round-trips as empty", "[operator_tokens]") {
  pqxx::connection conn(TempPostgres::Instance().CreateDatabase());
  auto id = InsertOperatorToken(conn, Digest(2), "", "admin", {});
  REQUIRE(id.has_value());
  auto found = FindOperatorToken(conn, Digest(2));
  REQUIRE(found.has_value());
  REQUIRE(found->has_value());
  CHECK((*found)->role == "admin");
  CHECK((*found)->name.empty());
  CHECK((*found)->account_ids.empty());
}

TEST_CASE("operator token: unknown digest is nullopt", "[operator_tokens]") {
  pqxx::connection conn(TempPostgres::Instance().CreateDatabase());
  REQUIRE(InsertOperatorToken(conn, Digest(3), "a", "auditor", {"x"}).has_value());

  auto other = FindOperatorToken(conn, Digest(4));
  REQUIRE(other.has_value());
  CHECK_FALSE(other->has_value());

  // Differs from a stored digest only in its last byte, or is a prefix of it.
  std::string near = Digest(3);
  near.back() = static_cast<char>(near.back() ^ 1);
  auto near_found = FindOperatorToken(conn, near);
  REQUIRE(near_found.has_value());
  CHECK_FALSE(near_found->has_value());
  auto prefix_found = FindOperatorToken(conn, Digest(3).substr(0, 1));
  REQUIRE(prefix_found.has_value());
  CHECK_FALSE(prefix_found->has_value());
}

TEST_CASE("operator token: a revoked token is not found", "[operator_tokens]") {
  pqxx::connection conn(TempPostgres::Instance().CreateDatabase());
  auto revoked = InsertOperatorToken(conn, Digest(5), "old", "consumer", {"acc"});
  auto kept = InsertOperatorToken(conn, Digest(6), "new", "consumer", {"acc"});
  REQUIRE(revoked.has_value());
  REQUIRE(kept.has_value());
  {
    pqxx::work tx(conn);
    tx.exec_params("UPDATE operator_tokens SET revoked_at = now() WHERE id = $1", *revoked);
    tx.commit();
  }
  auto gone = FindOperatorToken(conn, Digest(5));
  REQUIRE(gone.has_value());
  CHECK_FALSE(gone->has_value());
  auto still = FindOperatorToken(conn, Digest(6));
  REQUIRE(still.has_value());
  REQUIRE(still->has_value());
  CHECK((*still)->id == *kept);
}

TEST_CASE("operator token: a second token with the same digest is kConflict", "[operator_tokens]") {
  pqxx::connection conn(TempPostgres::Instance().CreateDatabase());
  auto first = InsertOperatorToken(conn, Digest(7), "one", "admin", {});
  REQUIRE(first.has_value());
  auto second = InsertOperatorToken(conn, Digest(7), "two", "auditor", {"acc"});
  REQUIRE_FALSE(second.has_value());
  INFO(second.error().detail);
  CHECK(second.error().code == StorageErrc::kConflict);

  // The first one is untouched, and the connection is still usable.
  auto found = FindOperatorToken(conn, Digest(7));
  REQUIRE(found.has_value());
  REQUIRE(found->has_value());
  CHECK((*found)->id == *first);
  CHECK((*found)->name == "one");
}

TEST_CASE("operator token: values the schema refuses are kInvalid", "[operator_tokens]") {
  pqxx::connection conn(TempPostgres::Instance().CreateDatabase());
  SECTION("unknown role") {
    auto r = InsertOperatorToken(conn, Digest(8), "x", "superuser", {});
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == StorageErrc::kInvalid);
  }
  SECTION("digest of the wrong length") {
    auto r = InsertOperatorToken(conn, std::string(16, 'a'), "x", "admin", {});
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == StorageErrc::kInvalid);
  }
  SECTION("name too long") {
    auto r = InsertOperatorToken(conn, Digest(9), std::string(201, 'n'), "admin", {});
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == StorageErrc::kInvalid);
  }
  pqxx::nontransaction tx(conn);
  CHECK(tx.exec1("SELECT count(*) FROM operator_tokens")[0].as<int>() == 0);
}
