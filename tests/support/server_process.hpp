#pragma once
// The real `fleetcomm` executable (FLEETCOMM_BINARY) as a child process of a test: a config
// file for a test PKI and database on free loopback ports, `serve` or `jobs` with its output
// in a log file, signals, exit codes, and the one-shot commands (`migrate`, `token create`).
#include "tests/support/child_process.hpp"
#include "tests/support/https_client.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/test_pki.hpp"

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace fleetcomm::testing {

struct ServerPorts {
  std::uint16_t device = 0;
  std::uint16_t operator_api = 0;
  std::uint16_t ops = 0;
};

// Config keys to set on top of the defaults WriteServerConfig writes; a new key is added
// as is (which is how tests write unknown keys).
using ConfigOverrides = std::map<std::string, std::string>;

struct ServerConfig {
  std::string dir;   // holds the config file and the server log
  std::string path;  // the config file
  ServerPorts ports;
};

// Writes dir/fleetcomm.conf for the PKI of WriteStandardTestPki and `database_url`, with
// three ports that were free a moment ago and then `overrides`.
ServerConfig WriteServerConfig(const std::string& dir, const TestPkiFiles& pki, const std::string& database_url,
                               const ConfigOverrides& overrides = {});

// Client options that verify the server against the test server CA, optionally presenting
// `client` as the client certificate.
TlsClientOptions ClientTls(const TestPkiFiles& pki, const CertKeyPaths* client = nullptr);

// Runs FLEETCOMM_BINARY with `args` (after the program name), stdin from /dev/null and
// the FLEETCOMM_* variables of this process removed, then `environment` added.
CommandOutput RunCommand(const std::vector<std::string>& args, const std::vector<std::string>& environment = {},
                         std::chrono::milliseconds timeout = std::chrono::seconds(20));

// `fleetcomm serve`, or `fleetcomm jobs` (the pipelines and the ops listener alone).
enum class FleetcommCommand { kServe, kJobs };

class ServerProcess {
 public:
  // Starts `fleetcomm serve --config` (or `jobs`) and waits until the ops listener answers
  // /healthz; throws std::runtime_error with the log's tail if it exits or is not ready in time.
  explicit ServerProcess(ServerConfig config, std::chrono::milliseconds ready_timeout = std::chrono::seconds(10));
  ServerProcess(ServerConfig config, FleetcommCommand command,
                std::chrono::milliseconds ready_timeout = std::chrono::seconds(10));
  // Kills the process if it is still running: a failed test leaves nothing behind.
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  const ServerPorts& ports() const { return config_.ports; }
  pid_t pid() const { return pid_; }
  const ServerConfig& config() const { return config_; }
  std::string LogPath() const { return config_.dir + "/fleetcomm.log"; }

  void Signal(int signal);
  // The exit code (128 + signal when killed), or nullopt if still running after `timeout`.
  std::optional<int> WaitExit(std::chrono::milliseconds timeout);
  bool Running() { return !WaitExit(std::chrono::milliseconds(0)); }

  std::string Log() const;
  std::string LogTail(std::size_t max_bytes = 4000) const;
  std::size_t CountInLog(const std::string& text) const;
  // Waits until `text` occurs at least `occurrences` times in the log.
  bool WaitForLog(const std::string& text, std::size_t occurrences, std::chrono::milliseconds timeout) const;

 private:
  ServerConfig config_;
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
};

// What most end-to-end tests need, built in this order: a temp dir, the standard test
// PKI in it, a fresh migrated database, a config with `overrides`, the running server.
struct RunningFleetcomm {
  explicit RunningFleetcomm(const ConfigOverrides& overrides = {});

  TempDir dir;
  TestPkiFiles pki;
  std::string database;
  ServerConfig config;
  ServerProcess process;
};

// Runs `fleetcomm token create --config <fleetcomm's config> <extra>` and returns the
// token (fails the test if the command fails).
std::string CreateOperatorToken(const RunningFleetcomm& fleetcomm, const std::vector<std::string>& extra);

}  // namespace fleetcomm::testing
