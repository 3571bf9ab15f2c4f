#pragma once
// A throwaway PostgreSQL cluster for tests, one per test process.
//
// Started lazily by the first Instance() call: initdb into a fresh mkdtemp directory under
// /tmp, a free TCP port on 127.0.0.1, `pg_ctl start -w`. Stopped (`pg_ctl stop -m fast`)
// and removed when the process exits normally. When running as root (CI), the directory
// is handed to the `postgres` system user (else `nobody`) and initdb/pg_ctl run through
// `runuser`, because PostgreSQL refuses to run as root.
//
// A test process that was killed leaves its directory and server behind; they never get in
// the way of the next run (new directory, new port), and the next run's startup stops such
// orphans (their owning process is gone) and removes their directories.
//
// The server listens on 127.0.0.1 only (unix socket inside the directory), trusts every
// local connection, allows 200 connections, and runs with fsync off: a crash loses the
// cluster, which is thrown away anyway; a Stop() still checkpoints, so data survives
// Stop()/Start().
//
// PostgreSQL binaries are taken from $FLEETCOMM_PG_BINDIR, else the newest
// /usr/lib/postgresql/<N>/bin, else $PATH.
//
// All members are thread-safe.
#include "storage/migrator.hpp"

#include <cstddef>
#include <mutex>
#include <string>
#include <vector>

namespace pqxx {
class connection_base;
}

namespace fleetcomm::testing {

// The first column of the one row `sql` returns, as a number: a count, usually.
long long QueryNumber(pqxx::connection_base& conn, const std::string& sql);

class TempPostgres {
 public:
  // The process-wide cluster, started on first use. Throws std::runtime_error carrying the
  // output of initdb / pg_ctl (and the server log) when it cannot be started.
  static TempPostgres& Instance();
  // Benchmarks: call before the first Instance() to run with PostgreSQL's durable defaults
  // (fsync, synchronous_commit, full_page_writes on), so that every commit is on disk.
  static void UseDurableSettings();

  ~TempPostgres();
  TempPostgres(const TempPostgres&) = delete;
  TempPostgres& operator=(const TempPostgres&) = delete;

  // libpq key=value conninfo of the `postgres` database, as superuser `postgres`, over TCP:
  // "host=127.0.0.1 port=N user=postgres dbname=postgres sslmode=disable".
  std::string AdminConnInfo() const;
  // libpq conninfo of database `dbname` on this cluster.
  std::string ConnInfo(const std::string& dbname) const;

  // A brand new, uniquely named database with every embedded migration applied (copied from
  // a template database migrated once per process). Returns its conninfo.
  std::string CreateDatabase();
  // A brand new, uniquely named database without any fleetcomm schema. Returns its conninfo.
  std::string CreateEmptyDatabase();
  // Drops a database made by CreateDatabase()/CreateEmptyDatabase() (given its conninfo),
  // terminating its sessions. Optional: everything is removed at exit anyway.
  void DropDatabase(const std::string& conninfo);

  // Stops the server (`pg_ctl stop -m fast`: open sessions are terminated) / starts it
  // again on the same port with the same data. For database-outage tests. Idempotent.
  void Stop();
  void Start();
  bool Running() const;

  int Port() const { return port_; }
  std::string Host() const { return "127.0.0.1"; }
  std::string RootDir() const { return root_dir_; }  // the mkdtemp directory
  std::string DataDir() const { return root_dir_ + "/data"; }
  std::string LogPath() const { return root_dir_ + "/postgres.log"; }
  // The last `max_bytes` of the server log, for failure messages.
  std::string LogTail(std::size_t max_bytes = 8192) const;

 private:
  TempPostgres();
  void StartLocked(bool allow_new_port);
  void StopLocked(const char* mode);
  void EnsureTemplateLocked();
  std::string NewDatabaseLocked(const std::string& template_name);
  // initdb / pg_ctl / ... from the PostgreSQL bin directory, run as the cluster's owner.
  std::vector<std::string> PgCommand(const std::string& tool, std::vector<std::string> args) const;

  mutable std::mutex mutex_;
  std::string bin_dir_;
  std::string run_as_user_;  // empty: run as ourselves (not root)
  std::string root_dir_;
  int port_ = 0;
  int owner_pid_ = 0;
  bool running_ = false;
  bool template_ready_ = false;
  unsigned long long next_database_ = 0;
};

// Stops the shared cluster for one test and starts it again on every path out, so that a
// failing assertion cannot leave the other tests without a database.
class DatabaseOutage {
 public:
  DatabaseOutage() { TempPostgres::Instance().Stop(); }
  ~DatabaseOutage() { End(); }
  DatabaseOutage(const DatabaseOutage&) = delete;
  DatabaseOutage& operator=(const DatabaseOutage&) = delete;
  void End() { TempPostgres::Instance().Start(); }
};

// The migrations compiled into this build, as the migrator takes them
// (same as storage::EmbeddedMigrations()).
std::vector<storage::Migration> EmbeddedMigrations();

// What Instance() does first: stops the servers of test processes that died without
// cleaning up (SIGKILL, crash) and removes their directories. Returns how many it removed.
std::size_t ReapOrphanedClusters();

// A TCP port on 127.0.0.1 that nothing listened on a moment ago (bind port 0, close).
int FindFreePort();

}  // namespace fleetcomm::testing
