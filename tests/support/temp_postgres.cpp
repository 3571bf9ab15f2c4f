#include "tests/support/temp_postgres.hpp"

#include "tests/support/child_process.hpp"

#include "storage/embedded.hpp"

#include <pqxx/pqxx>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <system_error>

extern char** environ;

namespace fleetcomm::testing {
namespace {

namespace fs = std::filesystem;

constexpr const char* kDirPrefix = "fleetcomm-pg-";
constexpr const char* kTemplateDb = "fleetcomm_template";
constexpr const char* kSuperuser = "postgres";

struct CommandResult {
  std::vector<std::string> argv;
  int exit_code = -1;  // -1: did not exit normally
  std::string output;  // stdout and stderr, interleaved
};

std::string JoinArgs(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) {
    if (!out.empty()) out += ' ';
    out += a;
  }
  return out;
}

// Runs argv[0] (an absolute path) with argv, in `cwd`, stdin from /dev/null, and returns its
// exit code and output. Only async-signal-safe calls between fork and exec: the test
// process may have other threads.
CommandResult RunCommand(const std::vector<std::string>& argv, const std::string& cwd) {
  int out_fd = memfd_create("fleetcomm-pg-command", MFD_CLOEXEC);
  if (out_fd < 0) ThrowErrno("memfd_create");
  int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null_fd < 0) {
    close(out_fd);
    ThrowErrno("open /dev/null");
  }

  std::vector<std::string> arg_storage = argv;
  const std::vector<char*> args = ExecArray(arg_storage);
  // Our PG* variables (PGDATA, PGPORT, PGHOST, ...) must not steer initdb or pg_ctl.
  std::vector<std::string> env_storage;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view entry(*e);
    if (entry.rfind("PG", 0) == 0 || entry.rfind("LC_", 0) == 0 || entry.rfind("LANG=", 0) == 0) continue;
    env_storage.emplace_back(entry);
  }
  env_storage.emplace_back("LC_ALL=C");
  const std::vector<char*> env = ExecArray(env_storage);

  pid_t pid = -1;
  try {
    // The command's output goes to one file: stdout and stderr interleaved as they came.
    pid = SpawnChild(args.data(), env.data(), null_fd, out_fd, out_fd, cwd.c_str());
  } catch (...) {
    close(out_fd);
    close(null_fd);
    throw;
  }
  close(null_fd);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      close(out_fd);
      ThrowErrno("waitpid");
    }
  }
  CommandResult result;
  result.argv = argv;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (lseek(out_fd, 0, SEEK_SET) == 0) {
    char buffer[4096];
    ssize_t n;
    while ((n = read(out_fd, buffer, sizeof buffer)) > 0) result.output.append(buffer, static_cast<std::size_t>(n));
  }
  close(out_fd);
  if (WIFSIGNALED(status)) result.output += "\n[killed by signal " + std::to_string(WTERMSIG(status)) + "]";
  return result;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Field 22 of /proc/<pid>/stat: distinguishes a live process from a later one that
// reused its pid.
std::optional<unsigned long long> ProcessStartTime(long pid) {
  std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  auto paren = stat.rfind(')');
  if (paren == std::string::npos) return std::nullopt;
  std::istringstream fields(stat.substr(paren + 2));
  std::string field;
  // Fields after "(comm)" start at number 3 (state); starttime is number 22.
  for (int i = 3; i < 22; ++i) fields >> field;
  unsigned long long start = 0;
  if (!(fields >> start)) return std::nullopt;
  return start;
}

// Identifies our PID namespace ("pid:[4026531836]"): a pid recorded by a process in another
// namespace (a container sharing /tmp) says nothing about whether that process lives.
std::string PidNamespace() {
  char buffer[128];
  const ssize_t n = readlink("/proc/self/ns/pid", buffer, sizeof buffer - 1);
  return n > 0 ? std::string(buffer, static_cast<std::size_t>(n)) : std::string("unknown");
}

std::string FindBinDir() {
  if (const char* env = std::getenv("FLEETCOMM_PG_BINDIR"); env != nullptr && *env != '\0') return env;
  int best_version = -1;
  std::string best;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || !std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; })) continue;
    if (!fs::exists(entry.path() / "bin" / "initdb")) continue;
    const int version = std::stoi(name);
    if (version > best_version) {
      best_version = version;
      best = (entry.path() / "bin").string();
    }
  }
  if (!best.empty()) return best;
  // Fall back to $PATH.
  if (const char* path = std::getenv("PATH"); path != nullptr) {
    std::istringstream dirs(path);
    std::string dir;
    while (std::getline(dirs, dir, ':')) {
      if (!dir.empty() && access((dir + "/initdb").c_str(), X_OK) == 0) return dir;
    }
  }
  throw std::runtime_error(
      "TempPostgres: no PostgreSQL server binaries (initdb) found; install postgresql or set FLEETCOMM_PG_BINDIR");
}

std::string FindExecutable(const std::string& name) {
  for (const char* dir : {"/usr/sbin", "/usr/bin", "/sbin", "/bin"}) {
    std::string candidate = std::string(dir) + "/" + name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  throw std::runtime_error("TempPostgres: `" + name + "` not found");
}

// Builds argv for `tool` from bin_dir, wrapped in runuser when a user is given.
std::vector<std::string> ToolCommand(const std::string& bin_dir, const std::string& user, const std::string& tool,
                                     std::vector<std::string> args) {
  std::vector<std::string> argv;
  if (!user.empty()) {
    static const std::string runuser = FindExecutable("runuser");
    argv = {runuser, "-u", user, "--"};
  }
  argv.push_back(bin_dir + "/" + tool);
  for (auto& a : args) argv.push_back(std::move(a));
  return argv;
}

// Stops the servers and removes the directories left by test processes that no longer
// exist (killed before they could clean up). Directories of live processes, and ones
// without an owner record yet, are left alone.
std::size_t ReapOrphans(const std::string& bin_dir) {
  std::size_t reaped = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/tmp", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(kDirPrefix, 0) != 0) continue;
    std::error_code type_ec;
    if (!entry.is_directory(type_ec) || entry.is_symlink(type_ec)) continue;
    std::istringstream owner(ReadFile((entry.path() / "owner").string()));
    long pid = 0;
    unsigned long long start = 0;
    std::string pid_namespace;
    if (!(owner >> pid >> start >> pid_namespace) || pid <= 0 || pid_namespace != PidNamespace()) continue;
    const auto live_start = ProcessStartTime(pid);
    if (live_start && *live_start == start) continue;  // its process is still running

    const std::string data_dir = (entry.path() / "data").string();
    if (fs::exists(data_dir + "/postmaster.pid", type_ec)) {
      std::string user;
      struct stat st {};
      if (geteuid() == 0 && stat(entry.path().c_str(), &st) == 0 && st.st_uid != 0) {
        if (const passwd* pw = getpwuid(st.st_uid); pw != nullptr) user = pw->pw_name;
      }
      try {
        RunCommand(ToolCommand(bin_dir, user, "pg_ctl", {"stop", "-D", data_dir, "-m", "immediate", "-w", "-t", "20"}),
                   "/");
      } catch (const std::exception&) {
        // Best effort: removing the directory below is what matters for the next runs.
      }
    }
    if (fs::remove_all(entry.path(), type_ec) > 0 && !type_ec) ++reaped;
  }
  return reaped;
}

std::string ConnInfoFor(int port, const std::string& dbname) {
  return "host=127.0.0.1 port=" + std::to_string(port) + " user=" + kSuperuser + " dbname=" + dbname +
         " sslmode=disable";
}

// The value of `dbname=` in a conninfo made by ConnInfoFor.
std::string DbNameOf(const std::string& conninfo) {
  std::istringstream words(conninfo);
  std::string word;
  while (words >> word) {
    if (word.rfind("dbname=", 0) == 0) return word.substr(7);
  }
  throw std::invalid_argument("TempPostgres: no dbname in conninfo: " + conninfo);
}

}  // namespace

int FindFreePort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) ThrowErrno("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const int saved = errno;
    close(fd);
    errno = saved;
    ThrowErrno("bind 127.0.0.1:0");
  }
  close(fd);
  return ntohs(addr.sin_port);
}

std::vector<storage::Migration> EmbeddedMigrations() { return storage::EmbeddedMigrations(); }

std::size_t ReapOrphanedClusters() { return ReapOrphans(FindBinDir()); }

namespace {
std::atomic<bool> durable_settings{false};
}  // namespace

long long QueryNumber(pqxx::connection_base& conn, const std::string& sql) {
  pqxx::nontransaction tx(conn);
  return tx.exec1(sql)[0].as<long long>();
}

void TempPostgres::UseDurableSettings() { durable_settings = true; }

TempPostgres& TempPostgres::Instance() {
  // Constructed on first use; if the constructor throws, the next call tries again.
  static TempPostgres instance;
  return instance;
}

std::vector<std::string> TempPostgres::PgCommand(const std::string& tool, std::vector<std::string> args) const {
  return ToolCommand(bin_dir_, run_as_user_, tool, std::move(args));
}

TempPostgres::TempPostgres() {
  bin_dir_ = FindBinDir();
  ReapOrphans(bin_dir_);

  uid_t uid = 0;
  gid_t gid = 0;
  if (geteuid() == 0) {
    const passwd* pw = getpwnam("postgres");
    if (pw == nullptr) pw = getpwnam("nobody");
    if (pw == nullptr) throw std::runtime_error("TempPostgres: running as root, but neither `postgres` nor `nobody` exists");
    run_as_user_ = pw->pw_name;
    uid = pw->pw_uid;
    gid = pw->pw_gid;
  }

  std::string pattern = std::string("/tmp/") + kDirPrefix + "XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) ThrowErrno("mkdtemp " + pattern);
  root_dir_ = pattern;
  owner_pid_ = static_cast<int>(getpid());

  try {
    {
      std::ofstream owner(root_dir_ + "/owner");
      owner << owner_pid_ << ' ' << ProcessStartTime(owner_pid_).value_or(0) << ' ' << PidNamespace() << '\n';
    }
    if (!run_as_user_.empty() && chown(root_dir_.c_str(), uid, gid) != 0) ThrowErrno("chown " + root_dir_);

    auto init = RunCommand(PgCommand("initdb", {"-D", DataDir(), "-U", kSuperuser, "--auth=trust", "-E", "UTF8",
                                                "--no-locale", "--no-sync", "--no-instructions"}),
                           root_dir_);
    if (init.exit_code != 0) {
      throw std::runtime_error("TempPostgres: initdb failed (exit " + std::to_string(init.exit_code) + "): " +
                               JoinArgs(init.argv) + "\n" + init.output);
    }
    {
      // A throwaway cluster for tests: durability is irrelevant, speed is not. A clean
      // shutdown (Stop()) still checkpoints, so Stop()/Start() keep every committed row.
      // Benchmarks ask for the durable defaults instead.
      std::ofstream conf(DataDir() + "/postgresql.conf", std::ios::app);
      conf << "\n# fleetcomm TempPostgres\n"
           << "listen_addresses = '127.0.0.1'\n"
           << "unix_socket_directories = '" << root_dir_ << "'\n"
           << "max_connections = 200\n";
      if (durable_settings) {
        conf << "shared_buffers = 256MB\n";
      } else {
        conf << "shared_buffers = 32MB\nfsync = off\nsynchronous_commit = off\nfull_page_writes = off\n";
      }
      conf
           << "timezone = 'UTC'\n"
           << "log_timezone = 'UTC'\n"
           << "log_min_messages = warning\n";
      // For profiling a benchmark's database (pg_stat_statements, auto_explain): lines
      // separated by ';', appended last so that they win.
      if (const char* extra = std::getenv("FLEETCOMM_PG_EXTRA_CONF"); extra != nullptr) {
        for (std::string_view rest = extra; !rest.empty();) {
          const auto end = rest.find(';');
          conf << rest.substr(0, end) << "\n";
          rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
        }
      }
      if (!conf) throw std::runtime_error("TempPostgres: could not write " + DataDir() + "/postgresql.conf");
    }
    std::lock_guard lock(mutex_);
    StartLocked(/*allow_new_port=*/true);
  } catch (...) {
    std::error_code ec;
    if (fs::exists(DataDir() + "/postmaster.pid", ec)) {
      try {
        RunCommand(PgCommand("pg_ctl", {"stop", "-D", DataDir(), "-m", "immediate", "-w"}), root_dir_);
      } catch (...) {
      }
    }
    fs::remove_all(root_dir_, ec);
    throw;
  }
}

TempPostgres::~TempPostgres() {
  // A forked child of the test process (exec failure, say) must not take the cluster down.
  if (static_cast<int>(getpid()) != owner_pid_) return;
  try {
    std::lock_guard lock(mutex_);
    if (running_) StopLocked("fast");
  } catch (...) {
    // Exit path: nothing sensible to do; the next run reaps what is left.
  }
  std::error_code ec;
  fs::remove_all(root_dir_, ec);
}

void TempPostgres::StartLocked(bool allow_new_port) {
  if (running_) return;
  for (int attempt = 1;; ++attempt) {
    if (port_ == 0 || (allow_new_port && attempt > 1)) port_ = FindFreePort();
    auto start = RunCommand(PgCommand("pg_ctl", {"start", "-D", DataDir(), "-l", LogPath(), "-w", "-t", "60", "-o",
                                                 "-p " + std::to_string(port_)}),
                            root_dir_);
    if (start.exit_code == 0) break;
    const std::string log = LogTail();
    // Someone took the port between FindFreePort() and the server's bind: try another.
    const bool port_taken = log.find("Address already in use") != std::string::npos;
    if (port_taken && allow_new_port && attempt < 5) continue;
    throw std::runtime_error("TempPostgres: pg_ctl start failed (exit " + std::to_string(start.exit_code) +
                             ", port " + std::to_string(port_) + "): " + JoinArgs(start.argv) + "\n" + start.output + "\n--- server log (" +
                             LogPath() + ") ---\n" + log);
  }
  running_ = true;
}

void TempPostgres::StopLocked(const char* mode) {
  auto stop = RunCommand(PgCommand("pg_ctl", {"stop", "-D", DataDir(), "-m", mode, "-w", "-t", "60"}), root_dir_);
  if (stop.exit_code != 0) {
    throw std::runtime_error("TempPostgres: pg_ctl stop failed (exit " + std::to_string(stop.exit_code) + "): " +
                             JoinArgs(stop.argv) + "\n" + stop.output + "\n--- server log ---\n" + LogTail());
  }
  running_ = false;
}

void TempPostgres::Start() {
  std::lock_guard lock(mutex_);
  StartLocked(/*allow_new_port=*/false);
}

void TempPostgres::Stop() {
  std::lock_guard lock(mutex_);
  if (running_) StopLocked("fast");
}

bool TempPostgres::Running() const {
  std::lock_guard lock(mutex_);
  return running_;
}

std::string TempPostgres::AdminConnInfo() const { return ConnInfoFor(port_, "postgres"); }

std::string TempPostgres::ConnInfo(const std::string& dbname) const { return ConnInfoFor(port_, dbname); }

std::string TempPostgres::LogTail(std::size_t max_bytes) const {
  std::string log = ReadFile(LogPath());
  if (log.size() > max_bytes) log.erase(0, log.size() - max_bytes);
  return log;
}

void TempPostgres::EnsureTemplateLocked() {
  if (template_ready_) return;
  pqxx::connection admin(AdminConnInfo());
  {
    pqxx::nontransaction tx(admin);
    // Left over from a failed attempt of this process, if any.
    tx.exec(std::string("DROP DATABASE IF EXISTS ") + kTemplateDb);
    tx.exec(std::string("CREATE DATABASE ") + kTemplateDb + " TEMPLATE template0");
  }
  try {
    pqxx::connection conn(ConnInfo(kTemplateDb));
    auto applied = storage::ApplyMigrations(conn, storage::EmbeddedMigrations());
    if (!applied) {
      throw std::runtime_error("TempPostgres: applying the embedded migrations failed: " + applied.error().detail);
    }
    // The connection closes here: CREATE DATABASE ... TEMPLATE needs the template idle.
  } catch (...) {
    pqxx::nontransaction tx(admin);
    tx.exec(std::string("DROP DATABASE IF EXISTS ") + kTemplateDb);
    throw;
  }
  template_ready_ = true;
}

std::string TempPostgres::NewDatabaseLocked(const std::string& template_name) {
  StartLocked(/*allow_new_port=*/false);  // after a test's Stop() without Start()
  const std::string name = "fleetcomm_test_" + std::to_string(++next_database_);
  pqxx::connection admin(AdminConnInfo());
  pqxx::nontransaction tx(admin);
  tx.exec("CREATE DATABASE " + name + " TEMPLATE " + template_name);
  return ConnInfo(name);
}

std::string TempPostgres::CreateDatabase() {
  std::lock_guard lock(mutex_);
  StartLocked(/*allow_new_port=*/false);
  EnsureTemplateLocked();
  return NewDatabaseLocked(kTemplateDb);
}

std::string TempPostgres::CreateEmptyDatabase() {
  std::lock_guard lock(mutex_);
  return NewDatabaseLocked("template0");
}

void TempPostgres::DropDatabase(const std::string& conninfo) {
  const std::string name = DbNameOf(conninfo);
  if (name.rfind("fleetcomm_test_", 0) != 0 ||
      !std::all_of(name.begin(), name.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; })) {
    throw std::invalid_argument("TempPostgres::DropDatabase: not a database made by TempPostgres: " + name);
  }
  std::lock_guard lock(mutex_);
  pqxx::connection admin(AdminConnInfo());
  pqxx::nontransaction tx(admin);
  tx.exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
}

}  // namespace fleetcomm::testing
