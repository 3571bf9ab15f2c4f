#!/usr/bin/env bash
# Starts the whole local stack on a fresh Debian 12 machine, as root:
# packages, build, a PostgreSQL cluster of its own (under .local/, owned by a non-root
# user, on a free port), a development PKI, a config, the schema, an admin token, and the
# server. Running it again reuses everything that exists. Stop it with deploy/dev-down.sh.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
state=$root/.local
pg_bin=/usr/lib/postgresql/15/bin
pg_user=postgres

say() { printf 'dev-up: %s\n' "$*"; }

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
  local port
  for port in $(seq "$1" "$(($1 + 200))"); do
    if port_free "$port"; then echo "$port"; return; fi
  done
  echo "dev-up: no free port from $1" >&2
  exit 1
}
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u "$pg_user" -- "$@"; else "$@"; fi; }

bash "$root/deploy/install-deps.sh"

say "building (build/)"
cmake -S "$root" -B "$root/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$root/build" --target fleetcomm
binary=$root/build/server/fleetcomm

mkdir -p "$state"
# --- PostgreSQL: a cluster of our own, never the system one ---
pgdata=$state/pgdata
if [ ! -f "$pgdata/PG_VERSION" ]; then
  say "creating PostgreSQL cluster in $pgdata"
  mkdir -p "$pgdata"
  [ "$(id -u)" -eq 0 ] && chown "$pg_user": "$pgdata"
  chmod 700 "$pgdata"
  as_pg "$pg_bin/initdb" -D "$pgdata" -U postgres --auth=trust -E UTF8 >/dev/null
  free_port 55432 >"$state/pg-port"
fi
pg_port=$(cat "$state/pg-port")
if ! as_pg "$pg_bin/pg_ctl" -D "$pgdata" status >/dev/null 2>&1; then
  say "starting PostgreSQL on 127.0.0.1:$pg_port"
  as_pg "$pg_bin/pg_ctl" -D "$pgdata" -w -l "$pgdata/server.log" \
    -o "-p $pg_port -c listen_addresses=127.0.0.1 -k $pgdata" start >/dev/null
fi
psql_admin() { psql -X -q -h 127.0.0.1 -p "$pg_port" -U postgres "$@"; }
if [ "$(psql_admin -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'fleetcomm'")" != "1" ]; then
  psql_admin -d postgres -c "CREATE DATABASE fleetcomm"
fi

# --- PKI ---
bash "$root/deploy/dev-pki.sh" "$state/pki" >/dev/null
pki=$state/pki

# --- config ---
config=$state/fleetcomm.conf
if [ ! -f "$config" ]; then
  device_port=$(free_port 8443)
  operator_port=$(free_port 9443)
  ops_port=$(free_port 9090)
  cat >"$config" <<CONF
# Written by deploy/dev-up.sh; every key is documented in deploy/fleetcomm.conf.example.
device.listen = 127.0.0.1:$device_port
device.tls_cert = $pki/server.crt
device.tls_key = $pki/server.key
device.trust_anchors = $pki/device-ca.crt
agent.ca_cert = $pki/agent-ca.crt
agent.ca_key = $pki/agent-ca.key
operator.listen = 127.0.0.1:$operator_port
ops.listen = 127.0.0.1:$ops_port
database.url = host=127.0.0.1 port=$pg_port dbname=fleetcomm user=postgres
database.pool_size = 8
CONF
  say "wrote $config"
fi
get() { sed -n "s/^$1 *= *//p" "$config"; }

"$binary" migrate --config "$config"

token_file=$state/admin-token
if [ ! -s "$token_file" ]; then
  (umask 077 && "$binary" token create --config "$config" --role admin --name dev-admin >"$token_file")
fi

# --- the server ---
pid_file=$state/fleetcomm.pid
if [ -f "$pid_file" ] && kill -0 "$(cat "$pid_file")" 2>/dev/null; then
  say "fleetcomm already running (pid $(cat "$pid_file"))"
else
  setsid "$binary" serve --config "$config" >>"$state/fleetcomm.log" 2>&1 </dev/null &
  echo $! >"$pid_file"
  ops=$(get ops.listen)
  for _ in $(seq 1 50); do
    curl -fsS "http://$ops/healthz" >/dev/null 2>&1 && break
    sleep 0.2
  done
  curl -fsS "http://$ops/healthz" >/dev/null || { tail -20 "$state/fleetcomm.log"; exit 1; }
  say "fleetcomm started (pid $(cat "$pid_file")), log in $state/fleetcomm.log"
fi

device=$(get device.listen)
operator=$(get operator.listen)
ops=$(get ops.listen)
cat <<INFO

fleetcomm is running.
  device listener    https://$device   (client certificates: $pki/devices/)
  operator listener  https://$operator (admin token in $token_file)
  ops listener       http://$ops       (/healthz /readyz /metrics)
  PostgreSQL         127.0.0.1:$pg_port, database fleetcomm

Try:
  curl http://$ops/readyz
  curl --cacert $pki/ca.crt --cert $pki/devices/DEV0001.crt --key $pki/devices/DEV0001.key https://$device/rs/v1/actions
  curl --cacert $pki/ca.crt -H "Authorization: Bearer \$(cat $token_file)" https://$operator/api/v1/token
Stop with deploy/dev-down.sh
INFO
