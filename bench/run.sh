#!/usr/bin/env bash
# The standard benchmark scenarios of issue 8, each against its own throwaway stack (the
# test harness: PostgreSQL with durable settings, the real binary, the test PKI), printed
# as one table. Figures compare builds on one machine; the load generator shares it.
#
#   bench/run.sh [build-dir]          (default: build; configured like the README says)
#   SECONDS_PER_SCENARIO=10 FLEET_DEVICES=100 FLEET_AGENTS=99 FLEET_PRINTERS=100 bench/run.sh
#
# Not yet measured here (issue 8, left open): server CPU and RSS, PostgreSQL rows/s per
# scenario, pipeline lag in the mixed scenario; and a remote stack instead of a local one.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
seconds=${SECONDS_PER_SCENARIO:-10}
devices=${FLEET_DEVICES:-100}
agents=${FLEET_AGENTS:-99}
printers=${FLEET_PRINTERS:-100}

cmake --build "$build" -j2 --target fleetcomm fleetcomm-upload-bench fleetcomm-poll-bench fleetcomm-sim >&2

rows=()
add_row() { rows+=("$(printf '%-34s %10s %9s %9s  %s' "$@")"); }

# "key=value" out of a line of a bench's output.
field() { sed -n "s|.*[ ^]$1=\([0-9.]*\).*|\1|p" <<<" $2" | head -1; }

echo "one-device uploads ..." >&2
out=$("$build/bench/fleetcomm-upload-bench" --devices-per-report 1 --connections 16 --seconds "$seconds" --audit on |
      grep '^uploads/s=')
add_row "uploads, 1 device/report" "$(field uploads/s "$out")" "$(field p50_ms "$out")" "$(field p99_ms "$out")" \
        "rows/s=$(field rows/s "$out")"

echo "100-device agent uploads ..." >&2
out=$("$build/bench/fleetcomm-upload-bench" --devices-per-report 100 --connections 8 --seconds "$seconds" --audit on |
      grep '^uploads/s=')
add_row "uploads, 100 devices/report" "$(field uploads/s "$out")" "$(field p50_ms "$out")" "$(field p99_ms "$out")" \
        "devices/s=$(field devices/s "$out") rows/s=$(field rows/s "$out")"

echo "polls ..." >&2
out=$("$build/bench/fleetcomm-poll-bench" --phases empty,action --connections 16 --seconds "$seconds")
empty=$(grep '^empty' <<<"$out")
action=$(grep '^action' <<<"$out")
add_row "empty polls" "$(field per_s "$empty")" "$(field p50_ms "$empty")" "$(field p99_ms "$empty")" ""
add_row "poll + succeeded result" "$(field per_s "$action")" "$(field p50_ms "$action")" "$(field p99_ms "$action")" ""

# The daily peak: every client uploads once within one simulated hour, compressed into
# $seconds, while all of them poll every simulated five minutes.
echo "daily peak of $devices devices + $agents agents x $printers printers ..." >&2
day_seconds=$(awk "BEGIN { print $seconds * 24 }")
json=$("$build/bench/fleetcomm-sim" --local --quiet --json --devices "$devices" --agents "$agents" \
       --printers-per-agent "$printers" --day-seconds "$day_seconds" --days 0.0416667 \
       --upload-every-min 60 --poll-every-min 5)
sim() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)" <<<"$json"; }
add_row "daily peak: uploads" "$(sim "round(d['uploads_per_s'],1)")" "$(sim "round(d['upload_p50_ms'],2)")" \
        "$(sim "round(d['upload_p99_ms'],2)")" "$(sim "f\"printers={d['printers']} uploads={d['uploads']} errors={d['errors']}\"")"
add_row "daily peak: polls" "$(sim "round(d['polls_per_s'],1)")" "$(sim "round(d['poll_p50_ms'],2)")" \
        "$(sim "round(d['poll_p99_ms'],2)")" ""

printf '%-34s %10s %9s %9s  %s\n' scenario rate/s p50_ms p99_ms notes
printf '%s\n' "${rows[@]}"
