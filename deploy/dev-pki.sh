#!/usr/bin/env bash
# Creates the development PKI for the local stack in DIR, with the openssl CLI only.
#   ca.crt/.key             root CA; issues the server certificate
#   server.crt/.key         localhost + 127.0.0.1, serverAuth
#   device-ca.crt/.key      stands in for a printer manufacturer's CA
#   devices/DEVnnnn.crt/.key  device client certificates (serialNumber=CN=DEVnnnn)
#   agent-ca.crt/.key       the server's agent-issuing CA
# Re-running reuses what is there and re-issues only what is missing or no longer
# verifies (e.g. after a CA was deleted); once DIR/.complete exists it does nothing.
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 DIR" >&2
  exit 2
fi
dir=$1
mkdir -p "$dir/devices"
dir=$(cd "$dir" && pwd)

if [[ -e "$dir/.complete" ]]; then
  echo "fleetcomm dev PKI already in $dir"
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# req needs a config; a private one keeps the distribution's v3_ca defaults out of our CAs.
cat >"$work/openssl.cnf" <<'EOF'
[req]
distinguished_name = dn
[dn]
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[device]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
EOF

new_key() {
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null
  chmod 600 "$1"
}

# Output goes to temporary names first so an interrupted run never leaves a key
# paired with a certificate for another key.
make_ca() {  # BASENAME SUBJECT
  local base=$1 subject=$2
  if [[ -s "$dir/$base.crt" && -s "$dir/$base.key" ]]; then return; fi
  new_key "$work/$base.key"
  openssl req -x509 -new -config "$work/openssl.cnf" -extensions ca -key "$work/$base.key" \
    -sha256 -days 3650 -subj "$subject" -out "$work/$base.crt"
  chmod 644 "$work/$base.crt"
  mv "$work/$base.key" "$dir/$base.key"
  mv "$work/$base.crt" "$dir/$base.crt"
}

issue() {  # CA_BASENAME OUT_BASENAME SUBJECT EXTENSIONS_SECTION
  local ca=$1 out=$2 subject=$3 section=$4
  local tmp
  tmp="$work/$(basename "$out")"
  if [[ -s "$dir/$out.crt" && -s "$dir/$out.key" ]] &&
    openssl verify -CAfile "$dir/$ca.crt" "$dir/$out.crt" >/dev/null 2>&1; then
    return
  fi
  new_key "$tmp.key"
  openssl req -new -config "$work/openssl.cnf" -key "$tmp.key" -subj "$subject" -out "$tmp.csr"
  openssl x509 -req -in "$tmp.csr" -CA "$dir/$ca.crt" -CAkey "$dir/$ca.key" \
    -set_serial "0x$(openssl rand -hex 16)" -sha256 -days 365 \
    -extfile "$work/openssl.cnf" -extensions "$section" -out "$tmp.crt" 2>/dev/null
  chmod 644 "$tmp.crt"
  mv "$tmp.key" "$dir/$out.key"
  mv "$tmp.crt" "$dir/$out.crt"
}

make_ca ca "/O=fleetcomm dev/CN=fleetcomm dev root CA"
make_ca device-ca "/O=fleetcomm dev/CN=fleetcomm dev device CA"
make_ca agent-ca "/O=fleetcomm dev/CN=fleetcomm dev agent CA"
issue ca server "/O=fleetcomm dev/CN=localhost" server
for n in 1 2 3; do
  serial=$(printf 'DEV%04d' "$n")
  issue device-ca "devices/$serial" "/O=fleetcomm dev/serialNumber=$serial/CN=$serial" device
done

openssl verify -CAfile "$dir/ca.crt" -purpose sslserver "$dir/server.crt" >/dev/null
for cert in "$dir"/devices/DEV*.crt; do
  openssl verify -CAfile "$dir/device-ca.crt" -purpose sslclient "$cert" >/dev/null
done
touch "$dir/.complete"
echo "fleetcomm dev PKI ready in $dir"
