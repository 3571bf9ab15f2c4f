#pragma once
// Child processes for the test harnesses (the fleetcomm binary, initdb, pg_ctl, prometheus,
// promtool): starting one, waiting for it, running one to completion with its output.
#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace fleetcomm::testing {

// Throws std::system_error for errno, naming `what`.
[[noreturn]] void ThrowErrno(const std::string& what);

// execve's argv or envp: pointers into `strings`, then null. `strings` must outlive it.
std::vector<char*> ExecArray(std::vector<std::string>& strings);

// Forks and execs argv[0] with `env`. In the child: default signal dispositions and an
// empty mask (both survive exec, and servers must see SIGTERM/SIGHUP), fds 0/1/2 from the
// given ones, every other fd closed, and the working directory `cwd` unless null. An exec
// failure writes "exec failed" to fd 2 and exits 127. Throws on fork failure.
pid_t SpawnChild(char* const argv[], char* const env[], int stdin_fd, int stdout_fd, int stderr_fd,
                 const char* cwd = nullptr);

// Like SpawnChild, with stdin from /dev/null.
pid_t SpawnWithoutInput(char* const argv[], char* const env[], int stdout_fd, int stderr_fd);

// Polls waitpid until the child exits (its exit code, or 128 + signal) or `timeout` passes
// (nullopt). Throws on a waitpid error.
std::optional<int> WaitChild(pid_t pid, std::chrono::milliseconds timeout);

struct CommandOutput {
  int exit_code = -1;  // 128 + signal when killed
  bool timed_out = false;
  std::string out;
  std::string err;
};

// Runs argv[0] (a path) with `env` and stdin from /dev/null to completion, capturing its
// output; past `timeout` it is killed and `timed_out` set.
CommandOutput RunToCompletion(char* const argv[], char* const env[], std::chrono::milliseconds timeout);

}  // namespace fleetcomm::testing
