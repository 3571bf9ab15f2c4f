#include "tests/support/prometheus_process.hpp"

#include "tests/support/child_process.hpp"
#include "tests/support/temp_postgres.hpp"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
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

pid_t Start(std::vector<std::string> args, int out_fd, int err_fd) {
  return SpawnWithoutInput(ExecArray(args).data(), environ, out_fd, err_fd);
}

std::string PercentEncoded(const std::string& text) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (const unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace

std::string FindProgram(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    const std::string candidate = (dir.empty() ? "." : dir) + "/" + program;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return {};
}

CommandOutput RunProgram(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  std::vector<std::string> storage = argv;
  return RunToCompletion(ExecArray(storage).data(), environ, timeout);
}

PrometheusProcess::PrometheusProcess(const std::string& binary, const std::string& dir, const std::string& target,
                                     const std::vector<std::string>& rule_files,
                                     std::chrono::milliseconds ready_timeout)
    : log_path_(dir + "/prometheus.log"), port_(static_cast<std::uint16_t>(FindFreePort())) {
  std::filesystem::create_directories(dir + "/data");
  {
    std::ofstream config(dir + "/prometheus.yml");
    config << "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n";
    config << "rule_files:\n";
    for (const auto& file : rule_files) config << "  - \"" << file << "\"\n";
    config << "scrape_configs:\n  - job_name: fleetcomm\n    static_configs:\n      - targets: [\"" << target
           << "\"]\n";
  }
  const int log_fd = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) ThrowErrno("open " + log_path_);
  pid_ = Start({binary, "--config.file=" + dir + "/prometheus.yml", "--storage.tsdb.path=" + dir + "/data",
                "--web.listen-address=127.0.0.1:" + std::to_string(port_)},
               log_fd, log_fd);
  close(log_fd);

  const auto deadline = Clock::now() + ready_timeout;
  for (;;) {
    if (auto code = WaitChild(pid_, std::chrono::milliseconds(0))) {
      pid_ = -1;
      throw std::runtime_error("prometheus exited with " + std::to_string(*code) + " before it was ready; log:\n" +
                               LogTail());
    }
    HttpClient probe(port_, std::nullopt, std::chrono::milliseconds(500));
    if (probe.Get("/-/ready").status == 200) return;
    if (Clock::now() >= deadline) {
      throw std::runtime_error("prometheus: /-/ready did not answer 200 in time; log:\n" + LogTail());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

PrometheusProcess::~PrometheusProcess() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  try {
    if (!WaitChild(pid_, std::chrono::seconds(10))) {
      kill(pid_, SIGKILL);
      WaitChild(pid_, std::chrono::seconds(5));
    }
  } catch (...) {
    // Nothing more to do in a destructor: the child is gone or will be reaped by init.
  }
}

nlohmann::json PrometheusProcess::Api(const std::string& endpoint,
                                      const std::vector<std::pair<std::string, std::string>>& params) const {
  std::string target = "/api/v1/" + endpoint;
  char separator = '?';
  for (const auto& [name, value] : params) {
    target += separator + PercentEncoded(name) + "=" + PercentEncoded(value);
    separator = '&';
  }
  HttpClient client(port_, std::nullopt, std::chrono::seconds(10));
  const auto answer = client.Get(target);
  auto parsed = nlohmann::json::parse(answer.body, nullptr, false);
  return parsed.is_discarded() ? nlohmann::json::object() : parsed;
}

std::string PrometheusProcess::LogTail(std::size_t max_bytes) const {
  std::ifstream in(log_path_, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  const std::string all = text.str();
  return all.size() > max_bytes ? all.substr(all.size() - max_bytes) : all;
}

}  // namespace fleetcomm::testing
