#include "tests/support/child_process.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>

namespace fleetcomm::testing {

void ThrowErrno(const std::string& what) { throw std::system_error(errno, std::generic_category(), what); }

std::vector<char*> ExecArray(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  for (auto& text : strings) pointers.push_back(text.data());
  pointers.push_back(nullptr);
  return pointers;
}

namespace {

std::string ReadFd(int fd) {
  std::string text;
  if (lseek(fd, 0, SEEK_SET) != 0) return text;
  char buffer[4096];
  ssize_t n;
  while ((n = read(fd, buffer, sizeof buffer)) > 0) text.append(buffer, static_cast<std::size_t>(n));
  return text;
}

}  // namespace

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

pid_t SpawnWithoutInput(char* const argv[], char* const env[], int stdout_fd, int stderr_fd) {
  const int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null_fd < 0) ThrowErrno("open /dev/null");
  pid_t pid = -1;
  try {
    pid = SpawnChild(argv, env, null_fd, stdout_fd, stderr_fd);
  } catch (...) {
    close(null_fd);
    throw;
  }
  close(null_fd);
  return pid;
}

std::optional<int> WaitChild(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (done < 0 && errno != EINTR) ThrowErrno("waitpid");
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

CommandOutput RunToCompletion(char* const argv[], char* const env[], std::chrono::milliseconds timeout) {
  const int out_fd = memfd_create("fleetcomm-test-out", MFD_CLOEXEC);
  const int err_fd = memfd_create("fleetcomm-test-err", MFD_CLOEXEC);
  if (out_fd < 0 || err_fd < 0) ThrowErrno("memfd_create");
  CommandOutput output;
  const pid_t pid = SpawnWithoutInput(argv, env, out_fd, err_fd);
  auto code = WaitChild(pid, timeout);
  if (!code) {
    output.timed_out = true;
    kill(pid, SIGKILL);
    code = WaitChild(pid, std::chrono::seconds(5));
  }
  output.exit_code = code.value_or(-1);
  output.out = ReadFd(out_fd);
  output.err = ReadFd(err_fd);
  close(out_fd);
  close(err_fd);
  return output;
}

}  // namespace fleetcomm::testing
