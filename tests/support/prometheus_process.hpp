#pragma once
// A real Prometheus (Debian's `prometheus` package, installed by deploy/install-deps.sh) as a
// child process of a test: its own data directory, a free loopback port, one scrape target
// and rule files, scraping and evaluating every second. Other programs (promtool) run to
// completion with RunProgram.
#include "tests/support/server_process.hpp"

#include <nlohmann/json.hpp>

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace fleetcomm::testing {

// The path of `program` in one of PATH's directories, or "" when it is not installed.
std::string FindProgram(const std::string& program);

// Runs `argv` (argv[0] a path) with this process's environment; output captured.
CommandOutput RunProgram(const std::vector<std::string>& argv,
                         std::chrono::milliseconds timeout = std::chrono::seconds(30));

class PrometheusProcess {
 public:
  // Writes `dir`/prometheus.yml (scrape and evaluation interval 1 s, job "fleetcomm" scraping
  // `target` host:port, `rule_files`), starts `binary` and waits until /-/ready answers 200;
  // throws std::runtime_error with the log's tail if it exits or is not ready in time.
  PrometheusProcess(const std::string& binary, const std::string& dir, const std::string& target,
                    const std::vector<std::string>& rule_files,
                    std::chrono::milliseconds ready_timeout = std::chrono::seconds(60));
  // SIGTERM, then SIGKILL after 10 s: a failed test leaves nothing behind.
  ~PrometheusProcess();
  PrometheusProcess(const PrometheusProcess&) = delete;
  PrometheusProcess& operator=(const PrometheusProcess&) = delete;

  std::uint16_t port() const { return port_; }
  // GET /api/v1/`endpoint` with `params` (percent-encoded here): the JSON answer, errors
  // included ({"status":"error","errorType":...,"error":...}); {} when unreadable.
  nlohmann::json Api(const std::string& endpoint,
                     const std::vector<std::pair<std::string, std::string>>& params = {}) const;
  std::string LogTail(std::size_t max_bytes = 4000) const;

 private:
  std::string log_path_;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace fleetcomm::testing
