# shellcheck shell=bash
# peerd test lab: settings and helpers shared by lab-up.sh and lab-down.sh
# (sourced, not run). See README.md, section "Tests and the lab".
#
# Knobs (environment):
#   PEERD_LAB_DIR           all lab state, keys, logs      (default /tmp/peerd-lab)
#   PEERD_LAB_NS_PREFIX     prefix for the netns names     (default empty)
#   PEERD_LAB_USER          SSH login user                 (default labops)
#   PEERD_LAB_RTR_PORT      127.0.0.1 port -> FRR (vtysh)  (default 2222)
#   PEERD_LAB_RTR2_PORT     127.0.0.1 port -> BIRD rtr2    (default 2223)
#   PEERD_LAB_NETCONF_PORT  127.0.0.1 port -> netconfd     (default 8830)
#   PEERD_LAB_OC_PORT       127.0.0.1 port -> netconfd with the OpenConfig
#                           models (default 8831)
#   PEERD_LAB_RTRB_PORT     127.0.0.1 port -> BIRD rtrb, network B's router
#                           (another network's peerd; default 2224)
#   PEERD_LAB_RTR3_PORT     127.0.0.1 port -> OpenBGPD rtr3 (default 2225)
#   PEERD_LAB_RTR4_PORT     127.0.0.1 port -> GoBGP rtr4    (default 2226)
#   PEERD_LAB_NO_INSTALL=1  never call apt-get; fail if something is missing
#   PEERD_LAB_KEY_OWNER     the user who gets the lab's client key (mode 0600
#                           stays), so peerd can run as that user; default
#                           the user who ran sudo ($SUDO_USER), else root

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export LC_ALL=C

LAB_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_DIR=${PEERD_LAB_DIR:-/tmp/peerd-lab}
LAB_USER=${PEERD_LAB_USER:-labops}
KEY_OWNER=${PEERD_LAB_KEY_OWNER:-${SUDO_USER:-root}}
LAB_NS_PREFIX=${PEERD_LAB_NS_PREFIX:-}
RTR_PORT=${PEERD_LAB_RTR_PORT:-2222}
RTR2_PORT=${PEERD_LAB_RTR2_PORT:-2223}
NETCONF_PORT=${PEERD_LAB_NETCONF_PORT:-8830}
OC_PORT=${PEERD_LAB_OC_PORT:-8831}
RTRB_PORT=${PEERD_LAB_RTRB_PORT:-2224}
RTR3_PORT=${PEERD_LAB_RTR3_PORT:-2225}
RTR4_PORT=${PEERD_LAB_RTR4_PORT:-2226}

NS_IXP=${LAB_NS_PREFIX}ixp
NS_RTR=${LAB_NS_PREFIX}rtr
NS_RTR2=${LAB_NS_PREFIX}rtr2
NS_PEER1=${LAB_NS_PREFIX}peer1
NS_PEER2=${LAB_NS_PREFIX}peer2
NS_RTRB=${LAB_NS_PREFIX}rtrb
NS_RTR3=${LAB_NS_PREFIX}rtr3
NS_RTR4=${LAB_NS_PREFIX}rtr4

# Topology (documentation ranges and private ASNs only).
LAN_V4=192.0.2.0/24
LAN_V6=2001:db8::/64
RTR_ASN=65001;   RTR_V4=192.0.2.1;   RTR_V6=2001:db8::1
RTR_OWN_V6=2001:db8:fff::/48   # announced by rtr (FRR)
PEER1_ASN=65002; PEER1_V4=192.0.2.2; PEER1_V6=2001:db8::2
PEER2_ASN=65003; PEER2_V4=192.0.2.3; PEER2_V6=2001:db8::3
RTR2_ASN=65001;  RTR2_V4=192.0.2.4;  RTR2_V6=2001:db8::4
RTR3_ASN=65001;  RTR3_V4=192.0.2.5;  RTR3_V6=2001:db8::5    # OpenBGPD
RTR4_ASN=65001;  RTR4_V4=192.0.2.6;  RTR4_V6=2001:db8::6    # GoBGP
# Network B: another network on the same IXP LAN, with a peerd of its own.
RTRB_ASN=65010;  RTRB_V4=192.0.2.10; RTRB_V6=2001:db8::10
PEER2_MD5=lab-md5-secret

# every port sshd listens on
LAB_PORTS=("$RTR_PORT" "$RTR2_PORT" "$NETCONF_PORT" "$OC_PORT" "$RTRB_PORT" "$RTR3_PORT" "$RTR4_PORT")

STATE_DIR=$LAB_DIR/state
PIDS_FILE=$STATE_DIR/pids     # "<pid> <label> <comm>" per line
NETNS_FILE=$STATE_DIR/netns   # "<netns>" per line
MARKER=$LAB_DIR/.peerd-lab    # only a directory holding this is ever purged

log() { printf '[peerd-lab %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

check_settings() {
    case "$LAB_DIR" in
        /) die "PEERD_LAB_DIR=/ is not allowed" ;;
        /*) ;;
        *) die "PEERD_LAB_DIR must be an absolute path" ;;
    esac
    case "$LAB_DIR" in
        *[!A-Za-z0-9/._-]*) die "PEERD_LAB_DIR may only hold letters, digits and / . _ -" ;;
    esac
    case "$LAB_NS_PREFIX" in
        *[!A-Za-z0-9_-]*) die "PEERD_LAB_NS_PREFIX may only hold letters, digits, _ and -" ;;
    esac
    local p
    for p in "${LAB_PORTS[@]}"; do
        case "$p" in ''|*[!0-9]*) die "port '$p' is not a number" ;; esac
    done
    [ "$(printf '%s\n' "${LAB_PORTS[@]}" | sort -u | wc -l)" = "${#LAB_PORTS[@]}" ] \
        || die "the ${#LAB_PORTS[@]} lab ports must differ"
}

# ---------------------------------------------------------------- packages
# Installs whatever the lab needs and is missing. Package scripts must not
# start host-wide daemons (sshd on :22, frr, bird, bgpd, gobgpd): a
# temporary policy-rc.d that forbids every start is put in place while apt
# runs.
ensure_packages() {
    local need=()
    command -v ip >/dev/null 2>&1 && command -v ss >/dev/null 2>&1 || need+=(iproute2)
    command -v ps >/dev/null 2>&1 || need+=(procps)
    { [ -x /usr/lib/frr/zebra ] && [ -x /usr/lib/frr/bgpd ] && [ -x /usr/bin/vtysh ]; } || need+=(frr)
    { [ -x /usr/sbin/bird ] && [ -x /usr/sbin/birdc ]; } || need+=(bird2)
    { [ -x /usr/sbin/netconfd ] && [ -x /usr/sbin/netconf-subsystem ]; } || need+=(netconfd)
    { [ -x /usr/sbin/bgpd ] && [ -x /usr/sbin/bgpctl ]; } || need+=(openbgpd)
    command -v bgpq4 >/dev/null 2>&1 || need+=(bgpq4)   # IRR prefix lists (tests/it/irr_standin.rs, e2e_irr.rs)
    { [ -x /usr/bin/gobgpd ] && [ -x /usr/bin/gobgp ]; } || need+=(gobgpd)
    [ -x /usr/sbin/sshd ] || need+=(openssh-server)
    compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || need+=(postgresql)   # store tests
    { command -v ssh >/dev/null 2>&1 && command -v ssh-keygen >/dev/null 2>&1; } || need+=(openssh-client)
    command -v ping >/dev/null 2>&1 || need+=(iputils-ping)
    command -v setsid >/dev/null 2>&1 || need+=(util-linux)
    [ -x /usr/bin/python3 ] || need+=(python3)   # oc-prep.py
    command -v useradd >/dev/null 2>&1 || need+=(passwd)
    command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)   # run.sh: unit check
    # the console's browser test (tests/it/console_lab.rs): headless Chromium over WebDriver
    [ -x /usr/bin/chromium ] || need+=(chromium)
    [ -x /usr/bin/chromedriver ] || need+=(chromium-driver)
    fc-list 2>/dev/null | grep -q . || need+=(fonts-dejavu-core)
    [ ${#need[@]} -eq 0 ] && return 0
    mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
    [ "${PEERD_LAB_NO_INSTALL:-0}" = 1 ] && die "missing packages: ${need[*]} (PEERD_LAB_NO_INSTALL=1)"
    log "installing: ${need[*]}"
    local own_policy=0 rc=0 apt_log
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\n# temporary (peerd lab): start no daemons while installing\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        own_policy=1
    fi
    apt_log=$(mktemp /tmp/peerd-lab-apt.XXXXXX)
    local install=(env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}")
    if ! compgen -G '/var/lib/apt/lists/*_Packages' >/dev/null; then
        apt-get update -q >>"$apt_log" 2>&1 || rc=$?
    fi
    if [ $rc -eq 0 ]; then
        "${install[@]}" </dev/null >>"$apt_log" 2>&1 \
            || { apt-get update -q >>"$apt_log" 2>&1 && "${install[@]}" </dev/null >>"$apt_log" 2>&1; } \
            || rc=$?
    fi
    [ $own_policy = 1 ] && rm -f /usr/sbin/policy-rc.d
    if [ $rc -ne 0 ]; then
        tail -n 30 "$apt_log" >&2
        die "apt-get install ${need[*]} failed (log: $apt_log)"
    fi
    rm -f "$apt_log"
}

# The unprivileged login user, in group frrvty (FRR's vty sockets). sshd
# runs without PAM and refuses a locked account ('!' password), so the
# password field is set to '*' (no password usable, account not locked).
ensure_user() {
    getent group frrvty >/dev/null || die "group frrvty is missing (is frr installed?)"
    if ! id "$LAB_USER" >/dev/null 2>&1; then
        log "creating system user $LAB_USER"
        useradd --system --create-home --home-dir "/home/$LAB_USER" --shell /bin/bash \
                --groups frrvty "$LAB_USER"
    fi
    id -nG "$LAB_USER" | tr ' ' '\n' | grep -qx frrvty || usermod -a -G frrvty "$LAB_USER"
    case "$(getent shadow "$LAB_USER" | cut -d: -f2)" in '!'*|'') usermod -p '*' "$LAB_USER" ;; esac
}

# ---------------------------------------------------------------- bookkeeping
record_pid()   { echo "$1 $2 $3" >> "$PIDS_FILE"; }   # <pid> <label> <comm>
record_netns() { echo "$1" >> "$NETNS_FILE"; }

# True when <pid> runs (not a zombie) and its comm is <comm>.
pid_is() {
    local pid=$1 comm=$2 st
    [ -r "/proc/$pid/stat" ] || return 1
    st=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || return 1
    [ "$st" != Z ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$comm" ]
}

netns_exists() { ip netns list | awk '{print $1}' | grep -qx "$1"; }

# wait_for <seconds> <what> <command...>: polls every 0.2 s.
wait_for() {
    local secs=$1 what=$2 i
    shift 2
    for ((i = 0; i < secs * 5; i++)); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    log "timed out after ${secs}s waiting for: $what"
    return 1
}

port_in_use() { ss -Hltn "sport = :$1" | grep -q .; }
port_listening() { ss -Hltn "src 127.0.0.1 and sport = :$1" | grep -q .; }

# ssh to the lab as the lab user: lab_ssh <port> <command>
lab_ssh() {
    local port=$1
    shift
    ssh -o BatchMode=yes -o IdentitiesOnly=yes -o StrictHostKeyChecking=yes \
        -o "UserKnownHostsFile=$LAB_DIR/ssh/known_hosts" -o ConnectTimeout=10 -o LogLevel=ERROR \
        -i "$LAB_DIR/ssh/id_ed25519" -p "$port" "$LAB_USER@127.0.0.1" "$@"
}
