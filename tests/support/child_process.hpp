#pragma once
// Starts a child process for the test harnesses (the fleetcomm binary, initdb, pg_ctl).
#include <sys/types.h>

namespace fleetcomm::testing {

// Forks and execs argv[0] with `env`. In the child: default signal dispositions and an
// empty mask (both survive exec, and servers must see SIGTERM/SIGHUP), fds 0/1/2 from the
// given ones, every other fd closed, and the working directory `cwd` unless null. An exec
// failure writes "exec failed" to fd 2 and exits 127. Throws on fork failure.
pid_t SpawnChild(char* const argv[], char* const env[], int stdin_fd, int stdout_fd, int stderr_fd,
                 const char* cwd = nullptr);

}  // namespace fleetcomm::testing
