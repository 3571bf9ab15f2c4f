// The test database harness itself: if it lies, every storage test lies.
#include "tests/support/temp_postgres.hpp"

#include "storage/embedded.hpp"
#include "storage/migrator.hpp"

#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <string>
#include <thread>
#include <chrono>

using fleetcomm::testing::QueryNumber;
using fleetcomm::testing::TempPostgres;

namespace {

// Starts the cluster again even when a REQUIRE between Stop() and Start() fails.
struct RestartGuard {
  ~RestartGuard() {
    try {
      TempPostgres::Instance().Start();
    } catch (...) {
    }
  }
};

}  // namespace

TEST_CASE("TempPostgres runs a private cluster on 127.0.0.1", "[temp_postgres]") {
  auto& pg = TempPostgres::Instance();
  CHECK(&pg == &TempPostgres::Instance());
  CHECK(pg.Running());
  CHECK(pg.Port() > 0);
  CHECK(std::filesystem::exists(pg.DataDir() + "/PG_VERSION"));
  CHECK(pg.RootDir().rfind("/tmp/", 0) == 0);

  pqxx::connection admin(pg.AdminConnInfo());
  pqxx::nontransaction tx(admin);
  CHECK(tx.exec1("SHOW port")[0].as<int>() == pg.Port());
  CHECK(tx.exec1("SHOW server_encoding")[0].as<std::string>() == "UTF8");
  CHECK(tx.exec1("SHOW max_connections")[0].as<int>() >= 100);
  CHECK(tx.exec1("SELECT current_user")[0].as<std::string>() == "postgres");
  CHECK(tx.exec1("SELECT inet_server_addr()::text")[0].as<std::string>() == "127.0.0.1/32");

  if (geteuid() == 0) {
    // initdb refuses root: the cluster must belong to an unprivileged user.
    struct stat st {};
    REQUIRE(stat(pg.DataDir().c_str(), &st) == 0);
    CHECK(st.st_uid != 0);
  }
}

TEST_CASE("TempPostgres::CreateDatabase gives a fresh, fully migrated database each time", "[temp_postgres]") {
  auto& pg = TempPostgres::Instance();
  const std::string a = pg.CreateDatabase();
  const std::string b = pg.CreateDatabase();
  REQUIRE(a != b);

  pqxx::connection conn_a(a);
  pqxx::connection conn_b(b);
  const auto migrations = fleetcomm::storage::EmbeddedMigrations();
  REQUIRE_FALSE(migrations.empty());

  auto state = fleetcomm::storage::CheckSchema(conn_a, migrations);
  REQUIRE(state.has_value());
  CHECK(state->applied_version == migrations.back().version);
  CHECK(QueryNumber(conn_a, "SELECT count(*) FROM schema_migrations") == static_cast<long long>(migrations.size()));

  // Writes to one database are invisible in the other.
  {
    pqxx::work tx(conn_a);
    tx.exec("INSERT INTO operator_tokens (token_sha256, role) VALUES (decode(repeat('ab', 32), 'hex'), 'admin')");
    tx.commit();
  }
  CHECK(QueryNumber(conn_a, "SELECT count(*) FROM operator_tokens") == 1);
  CHECK(QueryNumber(conn_b, "SELECT count(*) FROM operator_tokens") == 0);
}

TEST_CASE("TempPostgres::CreateEmptyDatabase has no fleetcomm schema", "[temp_postgres]") {
  pqxx::connection conn(TempPostgres::Instance().CreateEmptyDatabase());
  CHECK(QueryNumber(conn, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == 0);
  auto state = fleetcomm::storage::CheckSchema(conn, fleetcomm::storage::EmbeddedMigrations());
  REQUIRE_FALSE(state.has_value());
  CHECK(state.error().code == fleetcomm::storage::StorageErrc::kSchemaMismatch);
}

TEST_CASE("TempPostgres::Stop and Start keep the port and the data", "[temp_postgres][outage]") {
  auto& pg = TempPostgres::Instance();
  const std::string conninfo = pg.CreateDatabase();
  {
    pqxx::connection conn(conninfo);
    pqxx::work tx(conn);
    tx.exec("INSERT INTO operator_tokens (token_sha256, role) VALUES (decode(repeat('cd', 32), 'hex'), 'auditor')");
    tx.commit();
  }
  const int port = pg.Port();
  {
    RestartGuard guard;
    pg.Stop();
    CHECK_FALSE(pg.Running());
    CHECK_THROWS_AS(pqxx::connection(conninfo), pqxx::broken_connection);
    pg.Stop();  // idempotent
    pg.Start();
    CHECK(pg.Running());
  }
  CHECK(pg.Port() == port);
  pqxx::connection conn(conninfo);
  CHECK(QueryNumber(conn, "SELECT count(*) FROM operator_tokens WHERE role = 'auditor'") == 1);
}

TEST_CASE("TempPostgres::DropDatabase removes a test database", "[temp_postgres]") {
  auto& pg = TempPostgres::Instance();
  const std::string conninfo = pg.CreateEmptyDatabase();
  pqxx::connection open_session(conninfo);  // FORCE terminates it
  pg.DropDatabase(conninfo);
  CHECK_THROWS(pqxx::connection(conninfo));
  CHECK_THROWS_AS(pg.DropDatabase(pg.AdminConnInfo()), std::invalid_argument);
}

// Run only by the test below, in a child process: start a cluster, report it, and die
// without any cleanup, as a test binary killed by CI would.
TEST_CASE("harness child: start a cluster and get killed", "[.][harness_killed_child]") {
  auto& pg = TempPostgres::Instance();
  std::printf("TEMPPG %s %d\n", pg.RootDir().c_str(), pg.Port());
  std::fflush(stdout);
  raise(SIGKILL);
}

TEST_CASE("a killed test process leaves nothing that breaks or outlives the next run", "[temp_postgres]") {
  auto& pg = TempPostgres::Instance();  // ours must survive the reaping below
  char exe[4096];
  const ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  REQUIRE(n > 0);
  exe[n] = '\0';

  FILE* child = popen((std::string("'") + exe + "' '[harness_killed_child]' 2>&1").c_str(), "r");
  REQUIRE(child != nullptr);
  std::string output;
  char buffer[512];
  while (std::fgets(buffer, sizeof buffer, child) != nullptr) output += buffer;
  pclose(child);
  INFO(output);

  const auto at = output.find("TEMPPG ");
  REQUIRE(at != std::string::npos);
  std::istringstream line(output.substr(at + 7));
  std::string child_dir;
  int child_port = 0;
  REQUIRE(line >> child_dir >> child_port);
  CHECK(child_dir != pg.RootDir());
  CHECK(child_port != pg.Port());

  // Killed: its directory and its server are left behind.
  REQUIRE(std::filesystem::exists(child_dir));
  const std::string child_conninfo =
      "host=127.0.0.1 port=" + std::to_string(child_port) + " user=postgres dbname=postgres connect_timeout=5";
  CHECK_NOTHROW(pqxx::connection(child_conninfo));

  // The next run's startup reaps them; a live owner's cluster is left alone. (Another test
  // process starting concurrently may be reaping the same directory: allow it to finish.)
  fleetcomm::testing::ReapOrphanedClusters();
  for (int i = 0; i < 200 && std::filesystem::exists(child_dir); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CHECK_FALSE(std::filesystem::exists(child_dir));
  CHECK_THROWS_AS(pqxx::connection(child_conninfo), pqxx::broken_connection);
  CHECK(std::filesystem::exists(pg.DataDir()));
  pqxx::connection ours(pg.AdminConnInfo());
  CHECK(ours.is_open());
}
