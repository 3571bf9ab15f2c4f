#include "tests/support/child_process.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <stdexcept>
#include <string>
#include <unistd.h>

namespace fleetcomm::testing {

pid_t SpawnChild(char* const argv[], char* const env[], int stdin_fd, int stdout_fd, int stderr_fd, const char* cwd) {
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  if (pid != 0) return pid;
  // Child: only async-signal-safe calls from here on.
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int s = 1; s < NSIG; ++s) {
    if (s != SIGKILL && s != SIGSTOP) sigaction(s, &dfl, nullptr);
  }
  if (dup2(stdin_fd, 0) < 0 || dup2(stdout_fd, 1) < 0 || dup2(stderr_fd, 2) < 0) _exit(126);
  close_range(3, ~0U, 0);
  if (cwd != nullptr && chdir(cwd) != 0) _exit(126);
  execve(argv[0], argv, env);
  static const char kMessage[] = "exec failed\n";
  [[maybe_unused]] auto ignored = write(2, kMessage, sizeof kMessage - 1);
  _exit(127);
}

}  // namespace fleetcomm::testing
