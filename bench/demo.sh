#!/usr/bin/env bash
# The fleet demo in one command, on a fresh Debian 12 machine as root: installs the
# packages, builds the server and the simulator, then runs fleetcomm-sim --local: a
# throwaway local stack (its own PostgreSQL cluster, PKI and server, started and removed by
# the simulator) and a fleet of 10,000 printers (100 direct devices and 99 agents with 100
# printers each, of the recorded models of ../shared/fixtures/printers when it exists)
# through one simulated day in a minute: a progress line every second, a summary at the end.
#   bench/demo.sh [more fleetcomm-sim flags, e.g. --days 2 --json]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/deploy/install-deps.sh"
cmake -S "$root" -B "$root/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFLEETCOMM_TESTS=ON \
  -DFLEETCOMM_BENCH=ON >/dev/null
cmake --build "$root/build" --target fleetcomm fleetcomm-sim
exec "$root/build/bench/fleetcomm-sim" --local --devices 100 --agents 99 --printers-per-agent 100 \
  --day-seconds 60 --days 1 "$@"
