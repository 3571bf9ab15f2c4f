// storage/migrator: ApplyMigrations and CheckSchema against a real PostgreSQL.
#include "storage/embedded.hpp"
#include "storage/migrator.hpp"
#include "tests/support/temp_postgres.hpp"

#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include <algorithm>
#include <cstdio>
#include <latch>
#include <optional>
#include <string>
#include <thread>
#include <vector>

using fleetcomm::storage::ApplyMigrations;
using fleetcomm::storage::CheckSchema;
using fleetcomm::storage::EmbeddedMigrations;
using fleetcomm::storage::Migration;
using fleetcomm::storage::StorageErrc;
using fleetcomm::testing::QueryNumber;
using fleetcomm::testing::TempPostgres;

namespace {

void Exec(pqxx::connection_base& conn, const std::string& sql) {
  pqxx::work tx(conn);
  tx.exec(sql);
  tx.commit();
}

bool TableExists(pqxx::connection_base& conn, const std::string& table) {
  pqxx::nontransaction tx(conn);
  return tx.exec_params1("SELECT to_regclass($1) IS NOT NULL", table)[0].as<bool>();
}

std::vector<int> Versions(const std::vector<Migration>& migrations) {
  std::vector<int> out;
  for (const auto& m : migrations) out.push_back(m.version);
  return out;
}

// The embedded migrations followed by synthetic later ones, to have more than one step.
std::vector<Migration> WithExtra(std::vector<Migration> extra) {
  auto all = EmbeddedMigrations();
  const int base = all.back().version;
  for (auto& m : extra) {
    m.version += base;
    all.push_back(std::move(m));
  }
  return all;
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace

TEST_CASE("embedded migrations are present, ordered and unique", "[migrator]") {
  const auto migrations = EmbeddedMigrations();
  REQUIRE_FALSE(migrations.empty());
  CHECK(migrations.front().version == 1);
  for (std::size_t i = 1; i < migrations.size(); ++i) CHECK(migrations[i - 1].version < migrations[i].version);
  for (const auto& m : migrations) {
    CHECK_FALSE(m.sql.empty());
    char prefix[16];
    std::snprintf(prefix, sizeof prefix, "%04d_", m.version);
    CHECK(m.name.rfind(prefix, 0) == 0);
  }
}

TEST_CASE("ApplyMigrations brings an empty database to the current schema, once", "[migrator]") {
  pqxx::connection conn(TempPostgres::Instance().CreateEmptyDatabase());
  const auto migrations = EmbeddedMigrations();

  auto first = ApplyMigrations(conn, migrations);
  REQUIRE(first.has_value());
  CHECK(*first == Versions(migrations));
  CHECK(TableExists(conn, "operator_tokens"));
  CHECK(QueryNumber(conn, "SELECT count(*) FROM schema_migrations") == static_cast<long long>(migrations.size()));

  auto second = ApplyMigrations(conn, migrations);
  REQUIRE(second.has_value());
  CHECK(second->empty());
  CHECK(QueryNumber(conn, "SELECT count(*) FROM schema_migrations") == static_cast<long long>(migrations.size()));

  auto state = CheckSchema(conn, migrations);
  REQUIRE(state.has_value());
  CHECK(state->applied_version == migrations.back().version);
  CHECK(state->expected_version == migrations.back().version);

  // The recorded checksum is the SHA-256 of the file text, as PostgreSQL computes it.
  pqxx::nontransaction tx(conn);
  auto row = tx.exec_params1("SELECT name, sha256 = encode(sha256(convert_to($2, 'UTF8')), 'hex') "
                             "FROM schema_migrations WHERE version = $1",
                             migrations.front().version, std::string(migrations.front().sql));
  CHECK(row[0].as<std::string>() == migrations.front().name);
  CHECK(row[1].as<bool>());
}

TEST_CASE("ApplyMigrations applies only the missing later migrations", "[migrator]") {
  pqxx::connection conn(TempPostgres::Instance().CreateEmptyDatabase());
  const auto all = WithExtra({{1, "x_first", "CREATE TABLE mig_first (id int)"},
                              {2, "x_second", "CREATE TABLE mig_second (id int); INSERT INTO mig_second VALUES (7)"}});
  const std::vector<Migration> older(all.begin(), all.end() - 1);

  auto first = ApplyMigrations(conn, older);
  REQUIRE(first.has_value());
  CHECK(*first == Versions(older));
  CHECK_FALSE(TableExists(conn, "mig_second"));

  auto second = ApplyMigrations(conn, all);
  REQUIRE(second.has_value());
  CHECK(*second == std::vector<int>{all.back().version});
  CHECK(QueryNumber(conn, "SELECT count(*) FROM mig_second WHERE id = 7") == 1);
  CHECK(CheckSchema(conn, all).has_value());
}

TEST_CASE("CheckSchema reports an older schema and says to run `fleetcomm migrate`", "[migrator]") {
  SECTION("fewer migrations applied than this build carries") {
    pqxx::connection conn(TempPostgres::Instance().CreateEmptyDatabase());
    const auto all = WithExtra({{1, "x_newer", "CREATE TABLE mig_newer (id int)"}});
    REQUIRE(ApplyMigrations(conn, std::vector<Migration>(all.begin(), all.end() - 1)).has_value());

    auto state = CheckSchema(conn, all);
    REQUIRE_FALSE(state.has_value());
    CHECK(state.error().code == StorageErrc::kSchemaMismatch);
    CHECK(Contains(state.error().detail, "run `fleetcomm migrate"));
    CHECK(Contains(state.error().detail, std::to_string(all.back().version)));
  }
  SECTION("the row of the last migration is missing") {
    pqxx::connection conn(TempPostgres::Instance().CreateDatabase());
    const auto migrations = EmbeddedMigrations();
    Exec(conn, "DELETE FROM schema_migrations WHERE version = " + std::to_string(migrations.back().version));

    auto state = CheckSchema(conn, migrations);
    REQUIRE_FALSE(state.has_value());
    CHECK(state.error().code == StorageErrc::kSchemaMismatch);
    CHECK(Contains(state.error().detail, "run `fleetcomm migrate"));
  }
  SECTION("nothing applied at all") {
    pqxx::connection conn(TempPostgres::Instance().CreateEmptyDatabase());
    auto state = CheckSchema(conn, EmbeddedMigrations());
    REQUIRE_FALSE(state.has_value());
    CHECK(state.error().code == StorageErrc::kSchemaMismatch);
    CHECK(Contains(state.error().detail, "run `fleetcomm migrate"));
    // CheckSchema only looks: it must not create anything.
    CHECK_FALSE(TableExists(conn, "schema_migrations"));
  }
}

TEST_CASE("a migration changed after it was applied is a schema mismatch", "[migrator]") {
  const auto migrations = EmbeddedMigrations();

  SECTION("the recorded checksum was altered") {
    pqxx::connection conn(TempPostgres::Instance().CreateDatabase());
    Exec(conn, "UPDATE schema_migrations SET sha256 = repeat('0', 64) WHERE version = " +
                   std::to_string(migrations.front().version));

    auto applied = ApplyMigrations(conn, migrations);
    REQUIRE_FALSE(applied.has_value());
    CHECK(applied.error().code == StorageErrc::kSchemaMismatch);
    CHECK(Contains(applied.error().detail, migrations.front().name));

    auto state = CheckSchema(conn, migrations);
    REQUIRE_FALSE(state.has_value());
    CHECK(state.error().code == StorageErrc::kSchemaMismatch);
    CHECK(Contains(state.error().detail, "changed"));
  }
  SECTION("the build's SQL text differs from what was applied") {
    pqxx::connection conn(TempPostgres::Instance().CreateEmptyDatabase());
    const auto original = WithExtra({{1, "x_edit", "CREATE TABLE mig_edit (id int)"}});
    REQUIRE(ApplyMigrations(conn, original).has_value());
    auto edited = original;
    edited.back().sql = "CREATE TABLE mig_edit (id bigint)";
    // Append a further migration: it must not be applied over a tampered history.
    edited.push_back({edited.back().version + 1, "x_after_edit", "CREATE TABLE mig_after_edit (id int)"});

    auto applied = ApplyMigrations(conn, edited);
    REQUIRE_FALSE(applied.has_value());
    CHECK(applied.error().code == StorageErrc::kSchemaMismatch);
    CHECK_FALSE(TableExists(conn, "mig_after_edit"));
    auto state = CheckSchema(conn, edited);
    REQUIRE_FALSE(state.has_value());
    CHECK(state.error().code == StorageErrc::kSchemaMismatch);
  }
}

TEST_CASE("a database with a migration this build does not know is refused as newer", "[migrator]") {
  pqxx::connection conn(TempPostgres::Instance().CreateDatabase());
  const auto migrations = EmbeddedMigrations();
  const int unknown = migrations.back().version + 1;
  Exec(conn, "INSERT INTO schema_migrations (version, name, sha256) VALUES (" + std::to_string(unknown) +
                 ", 'from_the_future', repeat('a', 64))");

  auto applied = ApplyMigrations(conn, migrations);
  REQUIRE_FALSE(applied.has_value());
  CHECK(applied.error().code == StorageErrc::kSchemaMismatch);
  CHECK(Contains(applied.error().detail, "newer"));

  auto state = CheckSchema(conn, migrations);
  REQUIRE_FALSE(state.has_value());
  CHECK(state.error().code == StorageErrc::kSchemaMismatch);
  CHECK(Contains(state.error().detail, "newer"));
  CHECK(Contains(state.error().detail, std::to_string(unknown)));
}

TEST_CASE("a failing migration is rolled back, not recorded, and releases the migration lock", "[migrator]") {
  const std::string conninfo = TempPostgres::Instance().CreateEmptyDatabase();
  pqxx::connection conn(conninfo);
  const auto broken = WithExtra({{1, "x_ok", "CREATE TABLE mig_ok (id int)"},
                                 {2, "x_broken", "CREATE TABLE mig_half (id int); SELEC 1"}});

  auto applied = ApplyMigrations(conn, broken);
  REQUIRE_FALSE(applied.has_value());
  CHECK(applied.error().code == StorageErrc::kInternal);
  CHECK(TableExists(conn, "mig_ok"));
  CHECK_FALSE(TableExists(conn, "mig_half"));  // same transaction as the syntax error
  CHECK(QueryNumber(conn, "SELECT count(*) FROM schema_migrations WHERE version = " +
                        std::to_string(broken.back().version)) == 0);

  // Another session (think: the next instance) must get the lock and finish the job.
  auto fixed = broken;
  fixed.back().sql = "CREATE TABLE mig_half (id int)";
  pqxx::connection other(conninfo);
  Exec(other, "SET lock_timeout = '5s'");
  auto retried = ApplyMigrations(other, fixed);
  REQUIRE(retried.has_value());
  CHECK(*retried == std::vector<int>{fixed.back().version});

  // And the first session, whose attempt failed, is still usable.
  CHECK(CheckSchema(conn, fixed).has_value());
}

TEST_CASE("concurrent ApplyMigrations apply each migration exactly once", "[migrator][concurrency]") {
  constexpr int kThreads = 4;
  // Slow steps widen the window in which the instances overlap.
  const auto migrations = WithExtra({{1, "x_slow_a", "CREATE TABLE mig_a (id int); SELECT pg_sleep(0.2)"},
                                     {2, "x_slow_b", "CREATE TABLE mig_b (id int); SELECT pg_sleep(0.2)"},
                                     {3, "x_count", "CREATE TABLE mig_count (n int); INSERT INTO mig_count VALUES (1)"}});

  for (int round = 0; round < 3; ++round) {
    const std::string conninfo = TempPostgres::Instance().CreateEmptyDatabase();
    std::vector<std::optional<fleetcomm::storage::StorageResult<std::vector<int>>>> results(kThreads);
    std::vector<std::string> thread_errors(kThreads);
    std::latch ready(kThreads);
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i) {
      threads.emplace_back([&, i] {
        try {
          pqxx::connection conn(conninfo);
          ready.arrive_and_wait();
          results[i] = ApplyMigrations(conn, migrations);
        } catch (const std::exception& e) {
          thread_errors[i] = e.what();
        }
      });
    }
    for (auto& t : threads) t.join();

    std::vector<int> applied;
    for (int i = 0; i < kThreads; ++i) {
      INFO("round " << round << " thread " << i << ": " << thread_errors[i]);
      REQUIRE(thread_errors[i].empty());
      REQUIRE(results[i].has_value());
      INFO((results[i]->has_value() ? std::string() : results[i]->error().detail));
      REQUIRE(results[i]->has_value());
      applied.insert(applied.end(), (*results[i])->begin(), (*results[i])->end());
    }
    std::sort(applied.begin(), applied.end());
    CHECK(applied == Versions(migrations));

    pqxx::connection check(conninfo);
    CHECK(QueryNumber(check, "SELECT count(*) FROM schema_migrations") == static_cast<long long>(migrations.size()));
    CHECK(QueryNumber(check, "SELECT count(*) FROM mig_count") == 1);
    CHECK(CheckSchema(check, migrations).has_value());
  }
}
