#!/usr/bin/env bash
# Installs every Debian package that fleetcomm's build, tests and local stack need.
# Debian 12 only; run as root. Safe to run again (apt-get is idempotent).
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates openssl curl procps
  libboost1.81-dev libboost-system1.81-dev libboost-program-options1.81-dev
  libssl-dev libpqxx-dev libpq-dev libpugixml-dev libzip-dev zlib1g-dev
  nlohmann-json3-dev prometheus-cpp-dev catch2
  postgresql-15 postgresql-client-15 zip unzip python3
  libxml2-utils  # xmllint: the unit tests validate reports against protocol/report.xsd
  prometheus     # prometheus + promtool: an e2e test loads deploy/prometheus and the dashboard's queries
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all packages present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages (${missing[*]}) and not root; rerun as root" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
# The tests run prometheus as a child of their own; the package's service is not wanted (it
# would also take port 9090, the ops listener's default). Containers with a policy-rc.d
# that refuses starts never start it; elsewhere it is stopped and disabled.
if printf '%s\n' "${missing[@]}" | grep -qx prometheus; then
  if [ -d /run/systemd/system ]; then
    systemctl disable --now prometheus.service >/dev/null 2>&1 || true
  else
    /etc/init.d/prometheus stop >/dev/null 2>&1 || true
    update-rc.d prometheus disable >/dev/null 2>&1 || true
  fi
fi
echo "install-deps: installed ${missing[*]}"
