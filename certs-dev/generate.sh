#!/usr/bin/env bash
# Regenerates the development CA and the server certificate for api.svc.plus,
# *.svc.plus and localhost. Development only: the keys are public in this repo.
set -euo pipefail
cd "$(dirname "$0")"
days=3650
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days "$days" \
  -keyout ca.key -out ca.crt -subj "/CN=edgeplane development CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
issue() { # name cn sans
  local name=$1 cn=$2 sans=$3
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$name.key" -out "$name.csr" -subj "/CN=$cn" 2>/dev/null
  printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n' "$sans" > "$name.ext"
  openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days "$days" -out "$name.crt" -extfile "$name.ext" 2>/dev/null
  rm -f "$name.csr" "$name.ext"
}
issue server api.svc.plus "DNS:api.svc.plus,DNS:*.svc.plus,DNS:localhost,IP:127.0.0.1"
# A second certificate so SNI selection can be shown and tested.
issue other other.example "DNS:other.example,DNS:*.other.example"
rm -f ca.srl
echo "wrote $(pwd)/{ca,server,other}.{crt,key}"
