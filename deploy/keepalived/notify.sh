#!/usr/bin/env bash
# keepalived notify hook for edgeplane: records the VRRP state of this node and logs the transition.
# keepalived appends: TYPE NAME STATE PRIORITY (e.g. INSTANCE edgeplane_vip MASTER 150).
# usage: notify.sh [STATE_FILE] TYPE NAME STATE PRIORITY   (STATE_FILE default /run/edgeplane-vrrp/state)
# It runs as keepalived_script (enable_script_security); the directory comes from
# edgeplane-vrrp.tmpfiles.conf: writable by that user and group edgeplane, and it outlives edgeplane's restarts.
# The state file holds one line "STATE NAME PRIORITY UNIX_TIME", replaced atomically, for monitoring
# (a node exporter textfile collector, or `cat` during an incident).
set -u
state_file=/run/edgeplane-vrrp/state
if [ "$#" -ge 5 ]; then
  state_file="$1"
  shift
fi
type="${1:-?}" name="${2:-?}" state="${3:-?}" priority="${4:-?}"
# Group-writable, so the group edgeplane of the setgid directory may replace it too.
umask 002
tmp="${state_file}.tmp.$$"
printf '%s %s %s %s\n' "$state" "$name" "$priority" "$(date +%s)" >"$tmp" && mv -f "$tmp" "$state_file"
if command -v logger >/dev/null 2>&1; then
  logger -t edgeplane-vrrp "$type $name is now $state (priority $priority)"
fi
exit 0
