#!/usr/bin/env bash
# Builds fleetcomm and runs the whole test suite twice: a normal build (warnings are
# errors) and an AddressSanitizer + UndefinedBehaviorSanitizer build. The storage and
# end-to-end tests start their own throwaway PostgreSQL (initdb into a temp dir, as a
# non-root user, on a free port), so nothing needs to be running beforehand.
#   FLEETCOMM_SKIP_SANITIZERS=1  run the normal build only (quicker local loop)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

bash deploy/install-deps.sh

build_and_test() {
  local dir=$1
  shift
  echo "== $dir: configure and build"
  cmake -S "$root" -B "$root/$dir" -G Ninja -DFLEETCOMM_WERROR=ON -DFLEETCOMM_TESTS=ON "$@" >/dev/null
  cmake --build "$root/$dir"
  echo "== $dir: tests"
  (cd "$root/$dir" && ctest --output-on-failure --timeout 900)
}

# -g1 (line tables, enough for backtraces) instead of -g: a quarter less compile time.
build_and_test build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFLEETCOMM_SANITIZE=OFF \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG"

if [ "${FLEETCOMM_SKIP_SANITIZERS:-0}" != "1" ]; then
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  build_and_test build-asan -DCMAKE_BUILD_TYPE=Debug -DFLEETCOMM_SANITIZE=ON -DFLEETCOMM_BENCH=OFF
fi
