#!/usr/bin/env bash
# The standard benchmark scenarios of issue 8, each against its own throwaway stack (the
# test harness: PostgreSQL with durable settings, the real binary, the test PKI), printed
# as one table. Figures compare builds on one machine; the load generator shares it.
#
#   bench/run.sh [build-dir]          (default: build; configured like the README says)
#   SECONDS_PER_SCENARIO=10 FLEET_DEVICES=100 FLEET_AGENTS=99 FLEET_PRINTERS=100 bench/run.sh
#
# Columns: rate and latency as the scenario's program measured them; the server's CPU
# (user + system, in % of one core) and PostgreSQL's rows written per second
# (tup_inserted + tup_updated of the scenario's database in pg_stat_database) in the
# busiest second, and the server's peak RSS (VmHWM), sampled every second from
# /proc/PID/stat, /proc/PID/status and psql while the scenario runs; the pipeline lag
# (upload commit to pipeline commit, p50/p99) where the scenario bills meter reads.
# PostgreSQL publishes its counters about once a second, so one second's rows can hold
# some of the next: read pg_rows/s to a few tens of percent.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
seconds=${SECONDS_PER_SCENARIO:-10}
devices=${FLEET_DEVICES:-100}
agents=${FLEET_AGENTS:-99}
printers=${FLEET_PRINTERS:-100}
ticks_per_s=$(getconf CLK_TCK)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cmake --build "$build" -j2 --target fleetcomm fleetcomm-upload-bench fleetcomm-poll-bench fleetcomm-sim >&2

# The fleetcomm server a benchmark started: its child process named fleetcomm.
server_of() { pgrep -P "$1" -x fleetcomm | head -1 || true; }

# "port=N dbname=D" of the server's database.url (its --config file, written by the harness).
database_of() {
  local config
  config=$(tr '\0' '\n' <"/proc/$1/cmdline" | sed -n '/^--config$/{n;p}')
  sed -n 's/^database\.url = //p' "$config" | tr ' ' '\n' | grep -E '^(port|dbname)=' | tr '\n' ' '
}

rows_written() {  # port dbname
  PGCONNECT_TIMEOUT=2 psql "host=127.0.0.1 port=$1 user=postgres dbname=$2" -Atc \
    "SELECT tup_inserted + tup_updated FROM pg_stat_database WHERE datname = current_database()" 2>/dev/null || true
}

# Samples the server of benchmark $1 every second until the benchmark exits; writes
# "cpu_percent rss_mb rows_per_s" to $2: the busiest second's CPU and rows written (the
# server's life includes setup and drain, which would dilute an average) and the peak RSS.
monitor() {
  local bench=$1 out=$2 server="" port="" db="" prev_t="" prev_ticks="" prev_rows=""
  local peak_cpu=0 peak_rows=0 peak_kb=0
  while kill -0 "$bench" 2>/dev/null; do
    local current now ticks rows hwm
    current=$(server_of "$bench")
    if [ -n "$current" ] && [ -r "/proc/$current/stat" ]; then
      if [ "$current" != "$server" ]; then
        server=$current prev_t=""
        local conn
        conn=$(database_of "$server" 2>/dev/null || true)
        port=$(sed -n 's/.*port=\([0-9]*\).*/\1/p' <<<"$conn")
        db=$(sed -n 's/.*dbname=\([^ ]*\).*/\1/p' <<<"$conn")
      fi
      now=$(date +%s.%N)
      ticks=$(awk '{ print $14 + $15 }' "/proc/$server/stat" 2>/dev/null || true)
      hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$server/status" 2>/dev/null || true)
      rows=""
      [ -n "$port" ] && rows=$(rows_written "$port" "$db")
      if [ -n "$ticks" ]; then
        [ -n "$hwm" ] && [ "$hwm" -gt "$peak_kb" ] && peak_kb=$hwm
        if [ -n "$prev_t" ]; then
          read -r peak_cpu peak_rows < <(awk -v dt="$(awk "BEGIN { print $now - $prev_t }")" -v hz="$ticks_per_s" \
            -v dticks=$((ticks - prev_ticks)) -v drows=$(( ${rows:-0} - ${prev_rows:-${rows:-0}} )) \
            -v pc="$peak_cpu" -v pr="$peak_rows" \
            'BEGIN { c = 100 * dticks / hz / dt; r = drows / dt; if (c > pc) pc = c; if (r > pr) pr = r; print pc, pr }')
        fi
        prev_t=$now prev_ticks=$ticks prev_rows=$rows
      fi
    fi
    sleep 1
  done
  awk -v c="$peak_cpu" -v kb="$peak_kb" -v r="$peak_rows" 'BEGIN { printf "%.0f %.0f %.0f\n", c, kb / 1024, r }' >"$out"
}

# Runs a benchmark with its output in $work/out and its server's figures in $work/res.
measure() {
  "$@" >"$work/out" &
  local bench=$!
  monitor "$bench" "$work/res" &
  local watcher=$!
  wait "$bench"
  wait "$watcher"
}

rows=()
add_row() { rows+=("$(printf '%-30s %9s %8s %8s %5s %6s %8s %12s  %s' "$@")"); }
resources() { cat "$work/res"; }  # cpu_% rss_MB pg_rows/s

# "key=value" out of a line of a bench's output.
field() { sed -n "s|.*[ ^]$1=\([0-9.]*\).*|\1|p" <<<" $2" | head -1; }
lag() { local p50 p99; p50=$(field lag_p50_ms "$1"); p99=$(field lag_p99_ms "$1"); [ -n "$p50" ] && echo "$p50/$p99" || echo "-"; }

echo "one-device uploads ..." >&2
measure "$build/bench/fleetcomm-upload-bench" --devices-per-report 1 --connections 16 --seconds "$seconds" \
        --audit on --meter-billing 1
out=$(grep '^uploads/s=' "$work/out")
pipeline=$(grep '^pipeline ' "$work/out" || true)
read -r cpu rss pg < <(resources)
add_row "uploads, 1 device/report" "$(field uploads/s "$out")" "$(field p50_ms "$out")" "$(field p99_ms "$out")" \
        "$cpu" "$rss" "$pg" "$(lag "$pipeline")" "stored rows/s=$(field rows/s "$out")"

echo "100-device agent uploads ..." >&2
measure "$build/bench/fleetcomm-upload-bench" --devices-per-report 100 --connections 8 --seconds "$seconds" \
        --audit on --meter-billing 1
out=$(grep '^uploads/s=' "$work/out")
pipeline=$(grep '^pipeline ' "$work/out" || true)
read -r cpu rss pg < <(resources)
add_row "uploads, 100 devices/report" "$(field uploads/s "$out")" "$(field p50_ms "$out")" "$(field p99_ms "$out")" \
        "$cpu" "$rss" "$pg" "$(lag "$pipeline")" "devices/s=$(field devices/s "$out") stored rows/s=$(field rows/s "$out")"

echo "polls ..." >&2
measure "$build/bench/fleetcomm-poll-bench" --phases empty,action --connections 16 --seconds "$seconds"
empty=$(grep '^empty' "$work/out")
action=$(grep '^action' "$work/out")
read -r cpu rss pg < <(resources)
add_row "empty polls" "$(field per_s "$empty")" "$(field p50_ms "$empty")" "$(field p99_ms "$empty")" \
        "$cpu" "$rss" "$pg" "-" "cpu/rss/rows: both phases"
add_row "poll + succeeded result" "$(field per_s "$action")" "$(field p50_ms "$action")" "$(field p99_ms "$action")" \
        "" "" "" "-" ""

# The daily peak: every client uploads once within one simulated hour, compressed into
# $seconds, while all of them poll every simulated five minutes and an operator queues
# actions (some refused as expected: lockdown agents, turned-off types).
echo "daily peak of $devices devices + $agents agents x $printers printers ..." >&2
day_seconds=$(awk "BEGIN { print $seconds * 24 }")
measure "$build/bench/fleetcomm-sim" --local --quiet --json --devices "$devices" --agents "$agents" \
        --printers-per-agent "$printers" --day-seconds "$day_seconds" --days 0.0416667 \
        --upload-every-min 60 --poll-every-min 5 --actions-per-day 2400
json=$(cat "$work/out")
read -r cpu rss pg < <(resources)
sim() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)" <<<"$json"; }
add_row "daily peak: uploads" "$(sim "round(d['uploads_per_s'],1)")" "$(sim "round(d['upload_p50_ms'],2)")" \
        "$(sim "round(d['upload_p99_ms'],2)")" "$cpu" "$rss" "$pg" \
        "$(sim "f\"{d['pipeline_lag_p50_ms']}/{d['pipeline_lag_p99_ms']}\"")" \
        "$(sim "f\"printers={d['printers']} uploads={d['uploads']} errors={d['errors']}\"")"
add_row "daily peak: polls" "$(sim "round(d['polls_per_s'],1)")" "$(sim "round(d['poll_p50_ms'],2)")" \
        "$(sim "round(d['poll_p99_ms'],2)")" "" "" "" "-" \
        "$(sim "f\"actions={d['actions_queued']} refused(lockdown/disabled)={d['refused_lockdown']}/{d['refused_disabled']} lockdown_polls={d['lockdown_polls']}\"")"

printf '%-30s %9s %8s %8s %5s %6s %8s %12s  %s\n' scenario rate/s p50_ms p99_ms cpu_% rss_MB pg_rows/s lag_p50/p99 notes
printf '%s\n' "${rows[@]}"
