#include "tests/support/server_process.hpp"

#include "tests/support/child_process.hpp"
#include "tests/support/temp_postgres.hpp"

#include <arpa/inet.h>
#include <catch2/catch.hpp>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <thread>

extern char** environ;

namespace fleetcomm::testing {
namespace {

using Clock = std::chrono::steady_clock;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Binds all three before releasing any, so they are distinct.
ServerPorts FindFreePorts() {
  int fds[3];
  std::uint16_t ports[3];
  for (int i = 0; i < 3; ++i) {
    fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fds[i] < 0) ThrowErrno("socket");
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (bind(fds[i], reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        getsockname(fds[i], reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      ThrowErrno("bind port 0");
    }
    ports[i] = ntohs(address.sin_port);
  }
  for (int fd : fds) close(fd);
  return {ports[0], ports[1], ports[2]};
}

std::string Listen(std::uint16_t port) { return "127.0.0.1:" + std::to_string(port); }

// argv/envp prepared before fork: the child may only make async-signal-safe calls, since
// the test process has other threads (the database harness, Asio).
struct ExecSpec {
  std::vector<std::string> argv_storage;
  std::vector<std::string> env_storage;
  std::vector<char*> argv;
  std::vector<char*> env;

  ExecSpec(const std::vector<std::string>& args, const std::vector<std::string>& environment) {
    argv_storage.push_back(FLEETCOMM_BINARY);
    argv_storage.insert(argv_storage.end(), args.begin(), args.end());
    // The developer's own FLEETCOMM_* settings would override the test's config file.
    for (char** entry = environ; *entry != nullptr; ++entry) {
      if (std::strncmp(*entry, "FLEETCOMM_", 10) != 0) env_storage.emplace_back(*entry);
    }
    env_storage.insert(env_storage.end(), environment.begin(), environment.end());
    argv = ExecArray(argv_storage);
    env = ExecArray(env_storage);
  }
};

}  // namespace

ServerConfig WriteServerConfig(const std::string& dir, const TestPkiFiles& pki, const std::string& database_url,
                               const ConfigOverrides& overrides) {
  ServerConfig config{dir, dir + "/fleetcomm.conf", FindFreePorts()};
  ConfigOverrides values = {
      {"server.threads", "2"},
      {"device.listen", Listen(config.ports.device)},
      {"device.tls_cert", pki.server.cert},
      {"device.tls_key", pki.server.key},
      {"device.trust_anchors", pki.device_ca.cert},
      {"agent.ca_cert", pki.agent_ca.cert},
      {"agent.ca_key", pki.agent_ca.key},
      {"operator.listen", Listen(config.ports.operator_api)},
      {"ops.listen", Listen(config.ports.ops)},
      {"database.url", database_url},
      {"database.pool_size", "2"},
      // A stopped database must fail fast, not after the 3 s default.
      {"database.connect_timeout_s", "1"},
      {"log.level", "info"},
  };
  for (const auto& [key, value] : overrides) values[key] = value;
  std::ofstream file(config.path);
  file << "# written by tests/support/server_process.cpp\n";
  for (const auto& [key, value] : values) file << key << " = " << value << "\n";
  if (!file.flush()) throw std::runtime_error("cannot write " + config.path);
  return config;
}

TlsClientOptions ClientTls(const TestPkiFiles& pki, const CertKeyPaths* client) {
  TlsClientOptions options;
  options.ca_file = pki.server_ca.cert;
  if (client != nullptr) {
    options.cert_file = client->cert;
    options.key_file = client->key;
  }
  return options;
}

CommandOutput RunCommand(const std::vector<std::string>& args, const std::vector<std::string>& environment,
                         std::chrono::milliseconds timeout) {
  ExecSpec spec(args, environment);
  return RunToCompletion(spec.argv.data(), spec.env.data(), timeout);
}

ServerProcess::ServerProcess(ServerConfig config, std::chrono::milliseconds ready_timeout)
    : ServerProcess(std::move(config), FleetcommCommand::kServe, ready_timeout) {}

ServerProcess::ServerProcess(ServerConfig config, FleetcommCommand command, std::chrono::milliseconds ready_timeout)
    : config_(std::move(config)) {
  const std::string name = command == FleetcommCommand::kJobs ? "jobs" : "serve";
  ExecSpec spec({name, "--config", config_.path}, {});
  const int log_fd = open(LogPath().c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) ThrowErrno("open " + LogPath());
  pid_ = SpawnWithoutInput(spec.argv.data(), spec.env.data(), log_fd, log_fd);
  close(log_fd);

  const auto deadline = Clock::now() + ready_timeout;
  for (;;) {
    if (auto code = WaitExit(std::chrono::milliseconds(0))) {
      throw std::runtime_error("fleetcomm " + name + " exited with " + std::to_string(*code) +
                               " before it was ready; log:\n" + LogTail());
    }
    HttpClient probe(config_.ports.ops, std::nullopt, std::chrono::milliseconds(500));
    if (probe.Get("/healthz").status == 200) return;
    if (Clock::now() >= deadline) {
      throw std::runtime_error("fleetcomm " + name + ": /healthz did not answer 200 within " +
                               std::to_string(ready_timeout.count()) + " ms; log:\n" + LogTail());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0 && !exit_code_) {
    kill(pid_, SIGKILL);
    exit_code_ = WaitChild(pid_, std::chrono::seconds(10));
  }
}

void ServerProcess::Signal(int signal) {
  if (exit_code_) throw std::logic_error("ServerProcess::Signal: the process has already exited");
  if (kill(pid_, signal) != 0) ThrowErrno("kill");
}

std::optional<int> ServerProcess::WaitExit(std::chrono::milliseconds timeout) {
  if (!exit_code_) exit_code_ = WaitChild(pid_, timeout);
  return exit_code_;
}

std::string ServerProcess::Log() const { return ReadAll(LogPath()); }

std::string ServerProcess::LogTail(std::size_t max_bytes) const {
  const std::string log = Log();
  return log.size() <= max_bytes ? log : "..." + log.substr(log.size() - max_bytes);
}

std::size_t ServerProcess::CountInLog(const std::string& text) const {
  const std::string log = Log();
  std::size_t count = 0;
  for (auto pos = log.find(text); pos != std::string::npos; pos = log.find(text, pos + text.size())) ++count;
  return count;
}

bool ServerProcess::WaitForLog(const std::string& text, std::size_t occurrences,
                               std::chrono::milliseconds timeout) const {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    if (CountInLog(text) >= occurrences) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

RunningFleetcomm::RunningFleetcomm(const ConfigOverrides& overrides)
    : pki(WriteStandardTestPki(dir.path())),
      database(TempPostgres::Instance().CreateDatabase()),
      config(WriteServerConfig(dir.path(), pki, database, overrides)),
      process(config) {}

std::string CreateOperatorToken(const RunningFleetcomm& fleetcomm, const std::vector<std::string>& extra) {
  std::vector<std::string> args = {"token", "create", "--config", fleetcomm.config.path};
  args.insert(args.end(), extra.begin(), extra.end());
  const auto created = RunCommand(args);
  INFO("stderr: " << created.err);
  REQUIRE(created.exit_code == 0);
  REQUIRE(created.out.size() > 1);
  return created.out.substr(0, created.out.size() - 1);  // without the newline
}

}  // namespace fleetcomm::testing
