// The command line of PROTOCOL.md section 6, run as an operator would run it: exit codes,
// what reaches stdout, and what reaches the database.
#include "tests/support/server_process.hpp"
#include "tests/support/temp_postgres.hpp"

#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include <regex>

using fleetcomm::testing::RunCommand;
using fleetcomm::testing::TempDir;
using fleetcomm::testing::TempPostgres;
using fleetcomm::testing::TestPkiFiles;
using fleetcomm::testing::WriteServerConfig;
using fleetcomm::testing::WriteStandardTestPki;
using namespace std::chrono_literals;

namespace {

// A config for a fresh database; the server is never started.
struct CliSetup {
  explicit CliSetup(std::string database_url = TempPostgres::Instance().CreateDatabase(),
                    const fleetcomm::testing::ConfigOverrides& overrides = {})
      : pki(WriteStandardTestPki(dir.path())),
        database(std::move(database_url)),
        config_path(WriteServerConfig(dir.path(), pki, database, overrides).path) {}

  TempDir dir;
  TestPkiFiles pki;
  std::string database;
  std::string config_path;
};

}  // namespace

TEST_CASE("serve on an unmigrated database exits 1 and says to run migrate", "[e2e][cli]") {
  CliSetup setup(TempPostgres::Instance().CreateEmptyDatabase());
  const auto serve = RunCommand({"serve", "--config", setup.config_path}, {}, 10s);
  INFO("stderr: " << serve.err);
  CHECK_FALSE(serve.timed_out);
  CHECK(serve.exit_code == 1);
  CHECK_THAT(serve.err, Catch::Contains("fleetcomm migrate"));
}

TEST_CASE("migrate on an empty database, then again, succeeds both times", "[e2e][cli]") {
  CliSetup setup(TempPostgres::Instance().CreateEmptyDatabase());
  const auto first = RunCommand({"migrate", "--config", setup.config_path});
  INFO("first stderr: " << first.err);
  REQUIRE(first.exit_code == 0);
  const auto second = RunCommand({"migrate", "--config", setup.config_path});
  INFO("second stderr: " << second.err);
  CHECK(second.exit_code == 0);
  CHECK(second.out.empty());

  // The schema is really there: a token can be stored.
  const auto token = RunCommand({"token", "create", "--config", setup.config_path, "--role", "auditor"});
  INFO("token stderr: " << token.err);
  CHECK(token.exit_code == 0);
}

TEST_CASE("a config error exits 2 and names the setting", "[e2e][cli]") {
  const std::string database = TempPostgres::Instance().CreateDatabase();
  SECTION("unknown key") {
    CliSetup setup(database, {{"limits.header_timeout", "5"}});
    const auto serve = RunCommand({"serve", "--config", setup.config_path}, {}, 10s);
    CHECK(serve.exit_code == 2);
    CHECK_THAT(serve.err, Catch::Contains("limits.header_timeout"));
  }
  SECTION("bad value") {
    CliSetup setup(database, {{"limits.idle_timeout_s", "soon"}});
    const auto serve = RunCommand({"serve", "--config", setup.config_path}, {}, 10s);
    CHECK(serve.exit_code == 2);
    CHECK_THAT(serve.err, Catch::Contains("limits.idle_timeout_s"));
  }
  SECTION("bad value from the environment") {
    CliSetup setup(database);
    const auto migrate = RunCommand({"migrate", "--config", setup.config_path}, {"FLEETCOMM_DATABASE_POOL_SIZE=0"});
    CHECK(migrate.exit_code == 2);
    CHECK_THAT(migrate.err, Catch::Contains("FLEETCOMM_DATABASE_POOL_SIZE"));
  }
}

TEST_CASE("token create prints only the token and stores only its SHA-256", "[e2e][cli]") {
  CliSetup setup;
  const auto created =
      RunCommand({"token", "create", "--config", setup.config_path, "--role", "admin", "--name", "ci"});
  INFO("stderr: " << created.err);
  REQUIRE(created.exit_code == 0);
  static const std::regex kOneTokenLine("fco_[A-Za-z0-9_-]{43}\n");
  REQUIRE(std::regex_match(created.out, kOneTokenLine));
  const std::string token = created.out.substr(0, created.out.size() - 1);

  pqxx::connection conn(setup.database);
  pqxx::nontransaction tx(conn);
  CHECK(tx.exec1("SELECT count(*) FROM operator_tokens")[0].as<int>() == 1);
  // Hashed by PostgreSQL, independently of the server's code.
  CHECK(tx.exec_params1("SELECT count(*) FROM operator_tokens WHERE token_sha256 = sha256(convert_to($1, 'UTF8')) "
                        "AND role = 'admin' AND name = 'ci'",
                        token)[0]
            .as<int>() == 1);
  // No column, in any text form, holds the token or its random part.
  CHECK(tx.exec_params1("SELECT count(*) FROM operator_tokens t WHERE strpos(t::text, $1) > 0 "
                        "OR strpos(encode(t.token_sha256, 'escape'), $1) > 0",
                        token.substr(4))[0]
            .as<int>() == 0);
  CHECK_THAT(created.err, !Catch::Contains(token.substr(4)));
}

TEST_CASE("token create refuses an account_manager without accounts", "[e2e][cli]") {
  CliSetup setup;
  const auto created = RunCommand({"token", "create", "--config", setup.config_path, "--role", "account_manager"});
  CHECK(created.exit_code == 2);
  CHECK(created.out.empty());
  CHECK_THAT(created.err, Catch::Contains("--account"));

  pqxx::connection conn(setup.database);
  pqxx::nontransaction tx(conn);
  CHECK(tx.exec1("SELECT count(*) FROM operator_tokens")[0].as<int>() == 0);
}
