#!/usr/bin/env bash
# Stops what deploy/dev-up.sh started (the server drains first), keeping the data.
# With --purge, also deletes .local/ (database, PKI, config, token).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
state=$root/.local
pid_file=$state/fleetcomm.pid
if [ -f "$pid_file" ] && kill -0 "$(cat "$pid_file")" 2>/dev/null; then
  pid=$(cat "$pid_file")
  kill -TERM "$pid"
  for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  echo "dev-down: fleetcomm stopped"
fi
rm -f "$pid_file"
if [ -f "$state/pgdata/PG_VERSION" ]; then
  if [ "$(id -u)" -eq 0 ]; then run=(runuser -u postgres --); else run=(); fi
  "${run[@]}" /usr/lib/postgresql/15/bin/pg_ctl -D "$state/pgdata" -m fast stop >/dev/null 2>&1 || true
  echo "dev-down: PostgreSQL stopped"
fi
if [ "${1:-}" = "--purge" ]; then
  rm -rf "$state"
  echo "dev-down: removed $state"
fi
