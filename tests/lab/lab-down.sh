#!/bin/bash
# tests/lab/lab-down.sh [--purge]: stop the peerd test lab in $PEERD_LAB_DIR.
#
# Stops only what lab-up.sh recorded: each PID in state/pids (if it still
# runs the recorded program) with its descendants (sshd sessions, the
# netconf subsystem), then any process left inside a recorded namespace,
# then deletes the recorded namespaces. Logs stay unless --purge is given.
# Safe to run any number of times; exits 0 when nothing of the lab is left.
set -uo pipefail
# shellcheck source=lib.sh
source "$(dirname "$(readlink -f "$0")")/lib.sh"

PURGE=0
case "${1:-}" in
    --purge) PURGE=1 ;;
    '') ;;
    *) die "usage: $0 [--purge]" ;;
esac
[ "$(id -u)" = 0 ] || die "must run as root"
check_settings

if [ ! -e "$MARKER" ]; then
    log "no lab in $LAB_DIR; nothing to do"
    exit 0
fi

alive() { [ -r "/proc/$1/stat" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }

# All live descendants of <pid>, deepest first.
descendants() {
    ps -e -o pid=,ppid= | awk -v root="$1" '
        { parent[$1] = $2; order[NR] = $1 }
        END {
            for (i = 1; i <= NR; i++) {
                p = order[i]; d = 0; q = parent[p]
                while (q != "" && q > 1 && q != root && d < 64) { q = parent[q]; d++ }
                if (q == root && p != root) print d, p
            }
        }' | sort -rn | awk '{print $2}'
}

# stop <pid>...: TERM, up to 5 s grace, then KILL.
stop() {
    local p i left
    [ $# -gt 0 ] || return 0
    for p in "$@"; do alive "$p" && kill -TERM "$p" 2>/dev/null; done
    for ((i = 0; i < 50; i++)); do
        left=0
        for p in "$@"; do alive "$p" && left=1; done
        [ $left = 0 ] && return 0
        sleep 0.1
    done
    for p in "$@"; do
        alive "$p" && { log "pid $p ignored SIGTERM; killing it"; kill -KILL "$p" 2>/dev/null; }
    done
    sleep 0.2
}

if [ -s "$PIDS_FILE" ]; then
    # newest first: sshd, the netconfds, gobgpd, OpenBGPD, the BIRDs, bgpd, zebra
    tac "$PIDS_FILE" | while read -r pid label comm; do
        [ -n "${pid:-}" ] || continue
        if pid_is "$pid" "$comm"; then
            mapfile -t kids < <(descendants "$pid")
            log "stopping $label (pid $pid${kids[0]:+; children ${kids[*]}})"
            stop "${kids[@]}"
            stop "$pid"
        fi
    done
fi

if [ -s "$NETNS_FILE" ]; then
    tac "$NETNS_FILE" | while read -r ns; do
        [ -n "${ns:-}" ] || continue
        netns_exists "$ns" || continue
        mapfile -t inside < <(ip netns pids "$ns" 2>/dev/null)
        if [ ${#inside[@]} -gt 0 ]; then
            log "stopping processes left in netns $ns: ${inside[*]}"
            stop "${inside[@]}"
        fi
        ip netns del "$ns" || log "cannot delete netns $ns"
    done
fi

rc=0
if [ -s "$PIDS_FILE" ]; then
    while read -r pid label comm; do
        [ -n "${pid:-}" ] || continue
        pid_is "$pid" "$comm" && { log "still running: $label (pid $pid)"; rc=1; }
    done < "$PIDS_FILE"
fi
if [ -s "$NETNS_FILE" ]; then
    while read -r ns; do
        [ -n "${ns:-}" ] || continue
        netns_exists "$ns" && { log "still present: netns $ns"; rc=1; }
    done < "$NETNS_FILE"
fi
[ $rc = 0 ] || exit 1

rm -f "$PIDS_FILE" "$NETNS_FILE" "$LAB_DIR/lab.env" "$LAB_DIR/netconf/ncxserver.sock" \
    "$LAB_DIR/rtr3/bgpd.sock" "$LAB_DIR/rtr4/gobgp.sock" \
    "$LAB_DIR/netconf-oc/ncxserver.sock"
if [ $PURGE = 1 ]; then
    rm -rf -- "$LAB_DIR"
    log "lab stopped; $LAB_DIR removed"
else
    log "lab stopped; logs kept in $LAB_DIR"
fi
exit 0
