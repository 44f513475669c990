#!/usr/bin/env bash
# keepalived vrrp_script: exit 0 while edgeplane's /readyz answers 200.
# /readyz turns 503 as soon as the gateway starts draining, which releases the VIP.
# usage: check-readyz.sh [http://127.0.0.1:9901/readyz]
# Uses curl when installed, else bash's /dev/tcp (no dependency beyond bash).
set -u
url="${1:-http://127.0.0.1:9901/readyz}"
if [ -z "${EDGEPLANE_CHECK_NO_CURL:-}" ] && command -v curl >/dev/null 2>&1; then
  exec curl --silent --fail --output /dev/null --max-time 1 "$url"
fi
rest="${url#http://}"
hostport="${rest%%/*}"
path="/"
[[ "$rest" == */* ]] && path="/${rest#*/}"
host="${hostport%:*}"
port="${hostport##*:}"
[ "$host" = "$hostport" ] && port=80
{ exec 3<>"/dev/tcp/${host}/${port}"; } 2>/dev/null || exit 1
printf 'GET %s HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n' "$path" "$hostport" >&3
IFS=' ' read -r -t 1 _proto status _rest <&3 || exit 1
exec 3<&-
[ "$status" = "200" ]
