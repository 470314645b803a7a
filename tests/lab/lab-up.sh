#!/bin/bash
# tests/lab/lab-up.sh: start the peerd test lab (root). See README.md.
#
#   netns ixp   : bridge br0, the peering LAN 192.0.2.0/24 + 2001:db8::/64
#   netns rtr   : FRR (zebra+bgpd), AS65001, 192.0.2.1 / 2001:db8::1  -> platform frr
#   netns rtr2  : BIRD 2, AS65001, 192.0.2.4 / 2001:db8::4            -> platform bird2
#                 bird.conf includes $PEERD_LAB_DIR/rtr2/peers/*.conf
#   netns peer1 : BIRD 2, AS65002, 192.0.2.2 / 2001:db8::2, passive towards rtr and rtr2
#   netns peer2 : BIRD 2, AS65003, 192.0.2.3 / 2001:db8::3, passive, TCP-MD5 lab-md5-secret
#   netns rtrb  : BIRD 2, AS65010, 192.0.2.10 / 2001:db8::10: network B's router
#                 (another network with its own peerd; the asking side's tests)
#                 bird.conf includes $PEERD_LAB_DIR/rtrb/peers/*.conf
#   netns rtr3  : OpenBGPD, AS65001, 192.0.2.5 / 2001:db8::5          -> platform openbgpd
#                 bgpd.conf includes $PEERD_LAB_DIR/rtr3/peers.conf (the
#                 files of rtr3/peers/ joined) and rtr3/hand.conf (tests' own)
#   netns rtr4  : GoBGP (gobgpd), AS65001, 192.0.2.6 / 2001:db8::6    -> platform gobgp
#                 neighbors through the gobgp CLI (gRPC on rtr4/gobgp.sock)
#   127.0.0.1   : one sshd (key auth, user labops):
#                   :2222 -> bash with a vtysh bound to rtr
#                   :2223 -> bash in rtr2's dir with birdc/bird bound to rtr2
#                   :2224 -> bash in rtrb's dir with birdc/bird bound to rtrb
#                   :2225 -> bash in rtr3's dir with bgpctl/bgpd bound to rtr3
#                   :2226 -> bash in rtr4's dir with gobgp bound to rtr4
#                   :8830 -> netconf subsystem -> netconfd (module peerd-lab-bgp)
#                   :8831 -> netconf subsystem -> a second netconfd serving the
#                            real OpenConfig models (openconfig-network-instance,
#                            made loadable by oc-prep.py)    -> platform openconfig
#
# A lab already running in the same PEERD_LAB_DIR is stopped first. Every
# PID and namespace started is recorded in $PEERD_LAB_DIR/state; on any
# failure, what was started is stopped again and the exit status is 1.
# On success the facts are in $PEERD_LAB_DIR/lab.env (sourceable).
set -Eeuo pipefail
# shellcheck source=lib.sh
source "$(dirname "$(readlink -f "$0")")/lib.sh"
# shellcheck source=pg.sh
source "$(dirname "$(readlink -f "$0")")/pg.sh"

[ "$(id -u)" = 0 ] || die "must run as root"
check_settings
START=$(date +%s.%N)

ensure_packages
ensure_user

# ---------------------------------------------------------------- clean slate
if [ -e "$MARKER" ]; then
    log "stopping the lab already in $LAB_DIR"
    "$LAB_SRC/lab-down.sh" --purge || die "could not stop the previous lab in $LAB_DIR"
elif [ -e "$LAB_DIR" ] && [ -n "$(ls -A "$LAB_DIR" 2>/dev/null)" ]; then
    die "$LAB_DIR exists, is not empty and is not a peerd lab; refusing to touch it"
fi
ALL_NS=("$NS_IXP" "$NS_RTR" "$NS_RTR2" "$NS_PEER1" "$NS_PEER2" "$NS_RTRB" "$NS_RTR3" "$NS_RTR4")
for ns in "${ALL_NS[@]}"; do
    netns_exists "$ns" && die "netns $ns exists but is not this lab's (set PEERD_LAB_NS_PREFIX)"
done
for p in "${LAB_PORTS[@]}"; do
    port_in_use "$p" && die "TCP port $p is in use (set PEERD_LAB_RTR_PORT / _RTR2_PORT / _NETCONF_PORT / _OC_PORT / _RTRB_PORT / _RTR3_PORT / _RTR4_PORT)"
done

mkdir -p "$LAB_DIR" "$STATE_DIR"
chmod 755 "$LAB_DIR"
touch "$MARKER"
: > "$PIDS_FILE"
: > "$NETNS_FILE"

UP=0
on_exit() {
    [ "$UP" = 1 ] && return
    log "lab-up failed; last log lines:"
    local f
    for f in "$LAB_DIR"/rtr/log/*.log "$LAB_DIR"/*/bird.log "$LAB_DIR"/rtr3/bgpd.log "$LAB_DIR"/rtr4/gobgpd.log "$LAB_DIR"/netconf/netconfd.log "$LAB_DIR"/netconf-oc/oc-prep.txt "$LAB_DIR"/netconf-oc/netconfd.log "$LAB_DIR"/ssh/sshd.log; do
        [ -s "$f" ] && { echo "--- $f" >&2; tail -n 15 "$f" >&2; }
    done
    # oc-prep.py may still run when an early step failed
    [ -n "${PREP_PID:-}" ] && kill "$PREP_PID" 2>/dev/null
    "$LAB_SRC/lab-down.sh" || true
}
trap on_exit EXIT

# The OpenConfig models' loadable copy (about 1 s of python) is made while
# the namespaces, FRR and BIRD come up; netconfd waits for it further down.
O=$LAB_DIR/netconf-oc
mkdir -p "$O/yang" "$O/home"
/usr/bin/python3 "$LAB_SRC/oc-prep.py" "$LAB_SRC/yang/openconfig" "$O/yang" \
    openconfig-network-instance > "$O/oc-prep.txt" 2>&1 &
PREP_PID=$!

# ---------------------------------------------------------------- topology
log "namespaces and the IXP bridge"
for ns in "${ALL_NS[@]}"; do
    record_netns "$ns"
    ip netns add "$ns"
    ip -n "$ns" link set lo up
done
ip netns exec "$NS_IXP" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
ip -n "$NS_IXP" link add br0 type bridge stp_state 0 forward_delay 0
ip -n "$NS_IXP" link set br0 up

plug() {   # plug <netns> <bridge port> <v4> <v6>
    ip -n "$1" link add eth0 type veth peer name "$2" netns "$NS_IXP"
    ip -n "$NS_IXP" link set "$2" master br0 up
    ip -n "$1" addr add "$3/24" dev eth0
    # nodad: usable at once, so BGP over IPv6 need not wait for DAD
    ip -n "$1" addr add "$4/64" dev eth0 nodad
    ip -n "$1" link set eth0 up
}
plug "$NS_RTR" p-rtr "$RTR_V4" "$RTR_V6"
plug "$NS_RTR2" p-rtr2 "$RTR2_V4" "$RTR2_V6"
plug "$NS_PEER1" p-peer1 "$PEER1_V4" "$PEER1_V6"
plug "$NS_PEER2" p-peer2 "$PEER2_V4" "$PEER2_V6"
plug "$NS_RTRB" p-rtrb "$RTRB_V4" "$RTRB_V6"
plug "$NS_RTR3" p-rtr3 "$RTR3_V4" "$RTR3_V6"
plug "$NS_RTR4" p-rtr4 "$RTR4_V4" "$RTR4_V6"
wait_for 10 "rtr reaches peer1 (IPv4)" ip netns exec "$NS_RTR" ping -c1 -W1 "$PEER1_V4"
wait_for 10 "rtr2 reaches peer2 (IPv6)" ip netns exec "$NS_RTR2" ping -6 -c1 -W1 "$PEER2_V6"

# ---------------------------------------------------------------- rtr: FRR
log "FRR in netns $NS_RTR"
FE=$LAB_DIR/rtr/etc FR=$LAB_DIR/rtr/run FL=$LAB_DIR/rtr/log
mkdir -p "$FE" "$FR" "$FL" "$LAB_DIR/bin/rtr"
printf 'hostname rtr\n!\n' > "$FE/zebra.conf"
cat > "$FE/bgpd.conf" <<EOF
hostname rtr
!
router bgp $RTR_ASN
 bgp router-id $RTR_V4
 bgp log-neighbor-changes
 ! a route of our own for the peers (the graceful-shutdown test reads its
 ! communities at peer1)
 no bgp network import-check
 address-family ipv6 unicast
  network $RTR_OWN_V6
 exit-address-family
exit
!
! Policies the inventory names (FRR needs a policy on eBGP sessions).
route-map PEERD-IN permit 10
exit
route-map PEERD-OUT permit 10
exit
!
EOF
printf 'service integrated-vtysh-config\nhostname rtr\n' > "$FE/vtysh.conf"
chown -R frr:frr "$LAB_DIR/rtr"
# labops (group frrvty) reads vtysh.conf and writes frr.conf on "write memory"
chgrp frrvty "$FE" "$FE"/*.conf
chmod 2775 "$FE"
chmod 0664 "$FE/vtysh.conf"
chmod 0640 "$FE/zebra.conf" "$FE/bgpd.conf"
FRR_ARGS=(-d -u frr -g frr -z "$FR/zserv.api" --vty_socket "$FR" -P 0 --log-level info)
ip netns exec "$NS_RTR" /usr/lib/frr/zebra "${FRR_ARGS[@]}" -f "$FE/zebra.conf" -i "$FR/zebra.pid" --log "file:$FL/zebra.log"
wait_for 15 "zebra pid file" test -s "$FR/zebra.pid"
record_pid "$(cat "$FR/zebra.pid")" zebra zebra
wait_for 15 "zebra API socket" test -S "$FR/zserv.api"
ip netns exec "$NS_RTR" /usr/lib/frr/bgpd "${FRR_ARGS[@]}" -f "$FE/bgpd.conf" -i "$FR/bgpd.pid" --log "file:$FL/bgpd.log"
wait_for 15 "bgpd pid file" test -s "$FR/bgpd.pid"
record_pid "$(cat "$FR/bgpd.pid")" bgpd bgpd
wait_for 15 "bgpd vty socket" test -S "$FR/bgpd.vty"

# vtysh reaches the daemons through their unix sockets: no netns needed.
cat > "$LAB_DIR/bin/rtr/vtysh" <<EOF
#!/bin/sh
# vtysh bound to the lab's FRR (netns $NS_RTR)
exec /usr/bin/vtysh --vty_socket $FR --config_dir $FE "\$@"
EOF
cat > "$LAB_DIR/bin/rtr/login" <<EOF
#!/bin/bash
# sshd ForceCommand for port $RTR_PORT: no command -> interactive vtysh,
# else the command under bash with the lab vtysh first in PATH.
export PATH=$LAB_DIR/bin/rtr:/usr/local/bin:/usr/bin:/bin
[ -n "\${SSH_ORIGINAL_COMMAND:-}" ] || exec vtysh
exec /bin/bash -c "\$SSH_ORIGINAL_COMMAND"
EOF
chmod 755 "$LAB_DIR/bin" "$LAB_DIR/bin/rtr" "$LAB_DIR/bin/rtr/vtysh" "$LAB_DIR/bin/rtr/login"
wait_for 15 "bgpd answers vtysh" sh -c "'$LAB_DIR/bin/rtr/vtysh' -c 'show bgp summary json' | grep -q '{'"

# ---------------------------------------------------------------- BIRD
# start_bird <netns> <name> <dir>: starts BIRD on <dir>/bird.conf
start_bird() {
    local ns=$1 name=$2 d=$3
    ip netns exec "$ns" /usr/sbin/bird -c "$d/bird.conf" -s "$d/bird.ctl" -P "$d/bird.pid"
    wait_for 15 "$name pid file" test -s "$d/bird.pid"
    record_pid "$(cat "$d/bird.pid")" "bird-$name" bird
    wait_for 15 "$name control socket" /usr/sbin/birdc -s "$d/bird.ctl" show status
}

# bird_router <netns> <name> <asn> <v4> <port> <who>: a BIRD router that a
# peerd configures over SSH on <port> (one file per session in
# $LAB_DIR/<name>/peers/, then `birdc configure`), with the accept-all
# policies PEERD_IN / PEERD_OUT its inventory names.
bird_router() {
    local ns=$1 name=$2 asn=$3 v4=$4 port=$5 who=$6 d=$LAB_DIR/$2 b=$LAB_DIR/bin/$2
    mkdir -p "$d/peers" "$b"
    chown "$LAB_USER" "$d/peers"
    chmod 755 "$d" "$d/peers"
    cat > "$d/bird.conf" <<EOF
# $name: $who on the bird2 platform (netns $ns), AS$asn.
# peerd writes one file per session into $d/peers/.
log "$d/bird.log" all;
router id $v4;

protocol device { scan time 10; }

# Policies the inventory names (import_policy / export_policy).
filter PEERD_IN { accept; }
filter PEERD_OUT { accept; }

include "$d/peers/*.conf";
EOF
    chmod 644 "$d/bird.conf"
    start_bird "$ns" "$name" "$d"
    chown "root:$(id -gn "$LAB_USER")" "$d/bird.ctl"
    chmod 660 "$d/bird.ctl"

    cat > "$b/birdc" <<EOF
#!/bin/sh
# birdc bound to $name's control socket
exec /usr/sbin/birdc -s $d/bird.ctl "\$@"
EOF
    cat > "$b/bird" <<EOF
#!/bin/bash
# bird for checking configuration only (bird -p [-c FILE]); FILE defaults
# to $name's bird.conf. Starting a daemon is not offered here.
parse=0 conf=0
for a in "\$@"; do
    case "\$a" in -p) parse=1 ;; -c) conf=1 ;; esac
done
if [ \$parse = 0 ]; then
    echo "bird: only 'bird -p [-c FILE]' (check a configuration) is available here" >&2
    exit 2
fi
[ \$conf = 1 ] || set -- "\$@" -c $d/bird.conf
exec /usr/sbin/bird "\$@"
EOF
    cat > "$b/login" <<EOF
#!/bin/bash
# sshd ForceCommand for port $port: runs in $name's directory (so
# peers/NAME.conf is the include dir) with birdc/bird bound to $name.
export PATH=$b:/usr/local/bin:/usr/bin:/bin
cd $d || exit 1
[ -n "\${SSH_ORIGINAL_COMMAND:-}" ] || exec birdc
exec /bin/bash -c "\$SSH_ORIGINAL_COMMAND"
EOF
    chmod 755 "$b" "$b/birdc" "$b/bird" "$b/login"
}
log "BIRD routers in netns $NS_RTR2 (ours) and $NS_RTRB (network B's)"
R2=$LAB_DIR/rtr2
RB=$LAB_DIR/rtrb
bird_router "$NS_RTR2" rtr2 "$RTR2_ASN" "$RTR2_V4" "$RTR2_PORT" "our router"
bird_router "$NS_RTRB" rtrb "$RTRB_ASN" "$RTRB_V4" "$RTRB_PORT" "network B's router"

# bird_peer <netns> <name> <asn> <v4> <pfx4> <pfx6> [md5]: a passive BIRD
# peer with sessions towards rtr, rtr2, rtr3 and rtr4, over IPv4 and IPv6.
bird_peer() {
    local ns=$1 name=$2 asn=$3 v4=$4 pfx4=$5 pfx6=$6 md5=${7:-} d=$LAB_DIR/$2 pw=""
    mkdir -p "$d"
    [ -n "$md5" ] && pw="password \"$md5\";"
    cat > "$d/bird.conf" <<EOF
# $name: a peer in netns $ns, AS$asn. Passive: our routers open the sessions.
log "$d/bird.log" all;
router id $v4;
protocol device { scan time 10; }
protocol static static4 { ipv4; route $pfx4 blackhole; }
protocol static static6 { ipv6; route $pfx6 blackhole; }
template bgp ours {
  local as $asn;
  passive on;
  hold time 90;
  connect retry time 5;
  error wait time 1, 2;   # ready again quickly after a neighbor is removed
  $pw
}
protocol bgp rtr_v4 from ours {
  neighbor $RTR_V4 as $RTR_ASN;
  ipv4 { import all; export where source = RTS_STATIC; };
}
protocol bgp rtr_v6 from ours {
  neighbor $RTR_V6 as $RTR_ASN;
  ipv6 { import all; export where source = RTS_STATIC; };
}
protocol bgp rtr2_v4 from ours {
  neighbor $RTR2_V4 as $RTR2_ASN;
  ipv4 { import all; export where source = RTS_STATIC; };
}
protocol bgp rtr2_v6 from ours {
  neighbor $RTR2_V6 as $RTR2_ASN;
  ipv6 { import all; export where source = RTS_STATIC; };
}
protocol bgp rtr3_v4 from ours {
  neighbor $RTR3_V4 as $RTR3_ASN;
  ipv4 { import all; export where source = RTS_STATIC; };
}
protocol bgp rtr3_v6 from ours {
  neighbor $RTR3_V6 as $RTR3_ASN;
  ipv6 { import all; export where source = RTS_STATIC; };
}
protocol bgp rtr4_v4 from ours {
  neighbor $RTR4_V4 as $RTR4_ASN;
  ipv4 { import all; export where source = RTS_STATIC; };
}
protocol bgp rtr4_v6 from ours {
  neighbor $RTR4_V6 as $RTR4_ASN;
  ipv6 { import all; export where source = RTS_STATIC; };
}
EOF
    start_bird "$ns" "$name" "$d"
}
log "BIRD peers in netns $NS_PEER1 and $NS_PEER2"
bird_peer "$NS_PEER1" peer1 "$PEER1_ASN" "$PEER1_V4" 198.51.100.0/24 2001:db8:100::/48
bird_peer "$NS_PEER2" peer2 "$PEER2_ASN" "$PEER2_V4" 203.0.113.0/24 2001:db8:200::/48 "$PEER2_MD5"

# ---------------------------------------------------------------- rtr3: OpenBGPD
# bgpd runs as root in its netns (-d: in the foreground, logging to
# bgpd.log), chroots its engines to _openbgpd's home and drops to that
# user. OpenBGPD's include takes one file, no wildcards: peerd keeps one
# file per session in peers/ and joins them into peers/sessions.inc, which
# bgpd.conf includes. hand.conf is for neighbors "configured by hand".
log "OpenBGPD in netns $NS_RTR3"
R3=$LAB_DIR/rtr3 B3=$LAB_DIR/bin/rtr3
getent passwd _openbgpd >/dev/null \
    || useradd --system --no-create-home --home-dir /run/openbgpd --shell /usr/sbin/nologin _openbgpd
mkdir -p "$(getent passwd _openbgpd | cut -d: -f6)" "$R3/peers" "$B3"
chown "$LAB_USER" "$R3/peers"
chmod 755 "$R3" "$R3/peers"
: > "$R3/peers/sessions.inc"
chown "$LAB_USER" "$R3/peers/sessions.inc"
: > "$R3/hand.conf"
cat > "$R3/bgpd.conf" <<EOF
# rtr3: our router on the openbgpd platform (netns $NS_RTR3), AS$RTR3_ASN.
# peerd writes one file per session into $R3/peers/ and joins them into
# $R3/peers/sessions.inc.
AS $RTR3_ASN
router-id $RTR3_V4
socket "$R3/bgpd.sock"

include "$R3/peers/sessions.inc"
include "$R3/hand.conf"

# Filters: eBGP sessions exchange nothing without them (RFC 8212).
allow from any
allow to any
EOF
chmod 644 "$R3/bgpd.conf" "$R3/hand.conf"
out=$(/usr/sbin/bgpd -n -f "$R3/bgpd.conf" 2>&1) || die "rtr3: bgpd.conf: $out"
(
    exec setsid ip netns exec "$NS_RTR3" /usr/sbin/bgpd -d -f "$R3/bgpd.conf" \
        </dev/null >>"$R3/bgpd.log" 2>&1
) &
BGPD3_PID=$!
record_pid "$BGPD3_PID" bgpd-rtr3 bgpd
wait_for 15 "rtr3 control socket" test -S "$R3/bgpd.sock"
chown "root:$(id -gn "$LAB_USER")" "$R3/bgpd.sock"
chmod 660 "$R3/bgpd.sock"
pid_is "$BGPD3_PID" bgpd || die "OpenBGPD did not stay up (see $R3/bgpd.log)"

cat > "$B3/bgpctl" <<EOF
#!/bin/sh
# bgpctl bound to rtr3's control socket (a later -s wins)
exec /usr/sbin/bgpctl -s $R3/bgpd.sock "\$@"
EOF
cat > "$B3/bgpd" <<EOF
#!/bin/bash
# bgpd for checking configuration only (bgpd -n [-f FILE]); FILE defaults
# to rtr3's bgpd.conf. Starting a daemon is not offered here.
check=0 conf=0
for a in "\$@"; do
    case "\$a" in -n) check=1 ;; -f) conf=1 ;; esac
done
if [ \$check = 0 ]; then
    echo "bgpd: only 'bgpd -n [-f FILE]' (check a configuration) is available here" >&2
    exit 2
fi
[ \$conf = 1 ] || set -- "\$@" -f $R3/bgpd.conf
exec /usr/sbin/bgpd "\$@"
EOF
cat > "$B3/login" <<EOF
#!/bin/bash
# sshd ForceCommand for port $RTR3_PORT: runs in rtr3's directory with
# bgpctl/bgpd bound to rtr3.
export PATH=$B3:/usr/local/bin:/usr/bin:/bin
cd $R3 || exit 1
[ -n "\${SSH_ORIGINAL_COMMAND:-}" ] || exec bgpctl show summary
exec /bin/bash -c "\$SSH_ORIGINAL_COMMAND"
EOF
chmod 755 "$B3" "$B3/bgpctl" "$B3/bgpd" "$B3/login"

# ---------------------------------------------------------------- rtr4: GoBGP
# gobgpd in its netns, its gRPC API on a unix socket only; peerd adds and
# deletes neighbors with the gobgp CLI, so they live in gobgpd's memory
# (gobgpd.toml holds only the global part).
log "GoBGP in netns $NS_RTR4"
R4=$LAB_DIR/rtr4 B4=$LAB_DIR/bin/rtr4
mkdir -p "$R4" "$B4"
chmod 755 "$R4"
cat > "$R4/gobgpd.toml" <<EOF
# rtr4: our router on the gobgp platform (netns $NS_RTR4), AS$RTR4_ASN.
[global.config]
  as = $RTR4_ASN
  router-id = "$RTR4_V4"
  port = 179
EOF
chmod 644 "$R4/gobgpd.toml"
(
    exec setsid ip netns exec "$NS_RTR4" /usr/bin/gobgpd -f "$R4/gobgpd.toml" \
        --api-hosts "unix://$R4/gobgp.sock" --pprof-disable --log-plain \
        </dev/null >>"$R4/gobgpd.log" 2>&1
) &
GOBGPD_PID=$!
record_pid "$GOBGPD_PID" gobgpd gobgpd
wait_for 15 "rtr4 API socket" test -S "$R4/gobgp.sock"
chown "root:$(id -gn "$LAB_USER")" "$R4/gobgp.sock"
chmod 660 "$R4/gobgp.sock"
pid_is "$GOBGPD_PID" gobgpd || die "gobgpd did not stay up (see $R4/gobgpd.log)"

cat > "$B4/gobgp" <<EOF
#!/bin/sh
# gobgp bound to rtr4's API socket (a later --target wins)
exec /usr/bin/gobgp --target unix://$R4/gobgp.sock "\$@"
EOF
cat > "$B4/login" <<EOF
#!/bin/bash
# sshd ForceCommand for port $RTR4_PORT: runs in rtr4's directory with
# gobgp bound to rtr4.
export PATH=$B4:/usr/local/bin:/usr/bin:/bin
cd $R4 || exit 1
[ -n "\${SSH_ORIGINAL_COMMAND:-}" ] || exec gobgp neighbor
exec /bin/bash -c "\$SSH_ORIGINAL_COMMAND"
EOF
chmod 755 "$B4" "$B4/gobgp" "$B4/login"

# ---------------------------------------------------------------- netconfd
log "netconfd with module peerd-lab-bgp"
N=$LAB_DIR/netconf
mkdir -p "$N/yang" "$N/home"
cp "$LAB_SRC/yang/peerd-lab-bgp.yang" "$N/yang/"
cat > "$N/startup-cfg.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<config xmlns="urn:ietf:params:xml:ns:netconf:base:1.0">
  <bgp xmlns="urn:peerd:lab-bgp">
    <local-as>$RTR_ASN</local-as>
  </bgp>
</config>
EOF
# --port: netconfd only takes sessions from the SSH ports listed (default 830).
(
    cd "$N"
    HOME=$N/home exec setsid /usr/sbin/netconfd \
        --modpath="$N/yang:/usr/share/yuma/modules" \
        --module=peerd-lab-bgp \
        --superuser="$LAB_USER" \
        --ncxserver-sockname="$N/ncxserver.sock" \
        --port="$NETCONF_PORT" \
        --startup="$N/startup-cfg.xml" \
        --target=candidate \
        --log="$N/netconfd.log" --log-level=info \
        </dev/null >>"$N/netconfd.out" 2>&1
) &
NC_PID=$!
record_pid "$NC_PID" netconfd netconfd
wait_for 15 "netconfd socket" test -S "$N/ncxserver.sock"
pid_is "$NC_PID" netconfd || die "netconfd did not stay up (see $N/netconfd.log)"

# ---------------------------------------------------------------- netconfd (OpenConfig)
# The unmodified OpenConfig models (tests/lab/yang/openconfig) are rewritten
# into a copy netconfd 2.13 can load (oc-prep.py says how and why). The
# startup config holds what the openconfig platform's pushes refer to: the
# DEFAULT network-instance, its BGP protocol with our AS (global/config/as
# is mandatory) and the accept-all policies PEERD-IN / PEERD-OUT that
# apply-policy names (leafrefs: they must exist). Its load overlaps with
# sshd's start; readiness is checked below.
log "netconfd with the OpenConfig models (openconfig-network-instance)"
wait "$PREP_PID" || die "oc-prep.py failed (see $O/oc-prep.txt)"
oc_policy() {   # oc_policy <name>: an accept-all policy-definition
    cat <<EOF
      <policy-definition>
        <name>$1</name>
        <config><name>$1</name></config>
        <statements>
          <statement>
            <name>10</name>
            <config><name>10</name></config>
            <actions><config><policy-result>ACCEPT_ROUTE</policy-result></config></actions>
          </statement>
        </statements>
      </policy-definition>
EOF
}
cat > "$O/startup-cfg.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<config xmlns="urn:ietf:params:xml:ns:netconf:base:1.0">
  <network-instances xmlns="http://openconfig.net/yang/network-instance">
    <network-instance>
      <name>DEFAULT</name>
      <config>
        <name>DEFAULT</name>
        <type xmlns:oc-ni-types="http://openconfig.net/yang/network-instance-types">oc-ni-types:DEFAULT_INSTANCE</type>
      </config>
      <protocols>
        <protocol>
          <identifier xmlns:oc-pol-types="http://openconfig.net/yang/policy-types">oc-pol-types:BGP</identifier>
          <name>BGP</name>
          <config>
            <identifier xmlns:oc-pol-types="http://openconfig.net/yang/policy-types">oc-pol-types:BGP</identifier>
            <name>BGP</name>
          </config>
          <bgp>
            <global><config><as>$RTR_ASN</as><router-id>$RTR_V4</router-id></config></global>
          </bgp>
        </protocol>
      </protocols>
    </network-instance>
  </network-instances>
  <routing-policy xmlns="http://openconfig.net/yang/routing-policy">
    <policy-definitions>
$(oc_policy PEERD-IN)
$(oc_policy PEERD-OUT)
    </policy-definitions>
  </routing-policy>
</config>
EOF
# --running-error=continue: boot-time errors in the startup config become
# warnings (commits are validated in full either way); the check for
# "Startup config loaded OK" below keeps a broken startup config fatal.
(
    cd "$O"
    HOME=$O/home exec setsid /usr/sbin/netconfd \
        --modpath="$O/yang:/usr/share/yuma/modules" \
        --module=openconfig-network-instance \
        --running-error=continue \
        --superuser="$LAB_USER" \
        --ncxserver-sockname="$O/ncxserver.sock" \
        --port="$OC_PORT" \
        --startup="$O/startup-cfg.xml" \
        --target=candidate \
        --log="$O/netconfd.log" --log-level=info \
        </dev/null >>"$O/netconfd.out" 2>&1
) &
OC_PID=$!
record_pid "$OC_PID" netconfd-oc netconfd

# ---------------------------------------------------------------- sshd
log "sshd on 127.0.0.1:$RTR_PORT (rtr), :$RTR2_PORT (rtr2), :$NETCONF_PORT (netconf), :$OC_PORT (openconfig), :$RTRB_PORT (rtrb), :$RTR3_PORT (rtr3), :$RTR4_PORT (rtr4)"
S=$LAB_DIR/ssh
mkdir -p "$S"
chmod 755 "$S"
ssh-keygen -q -t ed25519 -N '' -C peerd-lab-host -f "$S/ssh_host_ed25519_key"
ssh-keygen -q -t ed25519 -N '' -C peerd-lab-client -f "$S/id_ed25519"
# a key the lab does not authorize (for authentication-failure tests)
ssh-keygen -q -t ed25519 -N '' -C peerd-lab-unauthorized -f "$S/wrong_id_ed25519"
cp "$S/id_ed25519.pub" "$S/authorized_keys"
chmod 644 "$S/authorized_keys"
# peerd runs as the operator, not root: the client key goes to the user who
# ran sudo (or PEERD_LAB_KEY_OWNER), still 0600; known_hosts stays root's,
# 0644 (readable by all, writable by root only)
if [ "$KEY_OWNER" != root ]; then
    id -u "$KEY_OWNER" >/dev/null 2>&1 || die "PEERD_LAB_KEY_OWNER: no user $KEY_OWNER"
    chown "$KEY_OWNER" "$S/id_ed25519" "$S/id_ed25519.pub"
    log "client key $S/id_ed25519 belongs to $KEY_OWNER (mode 0600)"
fi
HOSTKEY=$(cut -d' ' -f1,2 "$S/ssh_host_ed25519_key.pub")
for p in "${LAB_PORTS[@]}"; do
    echo "[127.0.0.1]:$p $HOSTKEY"
done > "$S/known_hosts"
chmod 644 "$S/known_hosts"

SUBSYS="/usr/sbin/netconf-subsystem --ncxserver-sockname=$NETCONF_PORT@$N/ncxserver.sock"
SUBSYS_OC="/usr/sbin/netconf-subsystem --ncxserver-sockname=$OC_PORT@$O/ncxserver.sock"
cat > "$S/sshd_config" <<EOF
# peerd lab sshd: loopback only, key auth only, one user.
Port $RTR_PORT
Port $RTR2_PORT
Port $NETCONF_PORT
Port $OC_PORT
Port $RTRB_PORT
Port $RTR3_PORT
Port $RTR4_PORT
ListenAddress 127.0.0.1
AddressFamily inet
HostKey $S/ssh_host_ed25519_key
PidFile $S/sshd.pid
AuthorizedKeysFile $S/authorized_keys
AllowUsers $LAB_USER
PermitRootLogin no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
# the lab dir may live under /tmp (mode 1777), which StrictModes refuses
StrictModes no
X11Forwarding no
AllowTcpForwarding no
AllowAgentForwarding no
PermitTunnel no
PermitUserEnvironment no
PrintMotd no
PrintLastLog no
MaxStartups 50:30:100
MaxSessions 20
ClientAliveInterval 30
LogLevel VERBOSE
Subsystem netconf $SUBSYS
Match LocalPort $RTR_PORT
    ForceCommand $LAB_DIR/bin/rtr/login
Match LocalPort $RTR2_PORT
    ForceCommand $LAB_DIR/bin/rtr2/login
Match LocalPort $RTRB_PORT
    ForceCommand $LAB_DIR/bin/rtrb/login
Match LocalPort $RTR3_PORT
    ForceCommand $LAB_DIR/bin/rtr3/login
Match LocalPort $RTR4_PORT
    ForceCommand $LAB_DIR/bin/rtr4/login
Match LocalPort $NETCONF_PORT
    ForceCommand $SUBSYS
Match LocalPort $OC_PORT
    ForceCommand $SUBSYS_OC
EOF
mkdir -p /run/sshd
chmod 755 /run/sshd
/usr/sbin/sshd -t -f "$S/sshd_config"
/usr/sbin/sshd -f "$S/sshd_config" -E "$S/sshd.log"
wait_for 15 "sshd pid file" test -s "$S/sshd.pid"
record_pid "$(cat "$S/sshd.pid")" sshd sshd
for p in "${LAB_PORTS[@]}"; do
    wait_for 15 "sshd on port $p" port_listening "$p"
done

# ---------------------------------------------------------------- readiness
rtr_ready() { lab_ssh "$RTR_PORT" "vtysh -c 'show bgp summary json'" | grep -q '{'; }
rtr2_ready() { lab_ssh "$RTR2_PORT" "birdc show status" | grep -q 'Daemon is up and running'; }
wait_for 20 "vtysh over ssh (port $RTR_PORT)" rtr_ready
wait_for 20 "birdc over ssh (port $RTR2_PORT)" rtr2_ready
rtrb_ready() { lab_ssh "$RTRB_PORT" "birdc show status" | grep -q 'Daemon is up and running'; }
wait_for 20 "birdc over ssh (port $RTRB_PORT)" rtrb_ready
rtr3_ready() { lab_ssh "$RTR3_PORT" "bgpctl show summary" | grep -q '^Neighbor'; }
wait_for 20 "bgpctl over ssh (port $RTR3_PORT)" rtr3_ready
rtr4_ready() { lab_ssh "$RTR4_PORT" "gobgp global" | grep -q "AS: *$RTR4_ASN"; }
wait_for 20 "gobgp over ssh (port $RTR4_PORT)" rtr4_ready
wait_for 60 "OpenConfig netconfd socket" sh -c "test -S '$O/ncxserver.sock' || ! kill -0 $OC_PID"
pid_is "$OC_PID" netconfd || die "the OpenConfig netconfd did not stay up (see $O/netconfd.log)"
grep -q "Startup config loaded OK" "$O/netconfd.log" \
    || die "the OpenConfig netconfd did not load $O/startup-cfg.xml (see $O/netconfd.log)"

# ---------------------------------------------------------------- PostgreSQL
pg_up

# ---------------------------------------------------------------- facts
cat > "$LAB_DIR/lab.env" <<EOF
# peerd test lab facts (source this file). Written by tests/lab/lab-up.sh.
PEERD_LAB_DIR='$LAB_DIR'
PEERD_LAB_NS_PREFIX='$LAB_NS_PREFIX'
PEERD_LAB_USER='$LAB_USER'
PEERD_LAB_HOST='127.0.0.1'
PEERD_LAB_RTR_PORT='$RTR_PORT'
PEERD_LAB_RTR2_PORT='$RTR2_PORT'
PEERD_LAB_NETCONF_PORT='$NETCONF_PORT'
PEERD_LAB_SSH_KEY='$S/id_ed25519'
PEERD_LAB_WRONG_SSH_KEY='$S/wrong_id_ed25519'
PEERD_LAB_KNOWN_HOSTS='$S/known_hosts'
PEERD_LAB_HOSTKEY_PUB='$HOSTKEY'
PEERD_LAB_NS_IXP='$NS_IXP'
PEERD_LAB_NS_RTR='$NS_RTR'
PEERD_LAB_NS_RTR2='$NS_RTR2'
PEERD_LAB_NS_PEER1='$NS_PEER1'
PEERD_LAB_NS_PEER2='$NS_PEER2'
PEERD_LAB_LAN_V4='$LAN_V4'
PEERD_LAB_LAN_V6='$LAN_V6'
PEERD_LAB_RTR_ASN='$RTR_ASN'
PEERD_LAB_RTR_V4='$RTR_V4'
PEERD_LAB_RTR_V6='$RTR_V6'
PEERD_LAB_RTR_OWN_V6='$RTR_OWN_V6'
PEERD_LAB_RTR_POLICY_IN='PEERD-IN'
PEERD_LAB_RTR_POLICY_OUT='PEERD-OUT'
PEERD_LAB_RTR_VTYSH='$LAB_DIR/bin/rtr/vtysh'
PEERD_LAB_RTR2_ASN='$RTR2_ASN'
PEERD_LAB_RTR2_V4='$RTR2_V4'
PEERD_LAB_RTR2_V6='$RTR2_V6'
PEERD_LAB_RTR2_POLICY_IN='PEERD_IN'
PEERD_LAB_RTR2_POLICY_OUT='PEERD_OUT'
PEERD_LAB_RTR2_DIR='$R2'
PEERD_LAB_RTR2_CONF='$R2/bird.conf'
PEERD_LAB_RTR2_PEERS_DIR='$R2/peers'
PEERD_LAB_RTR2_BIRDC='$LAB_DIR/bin/rtr2/birdc'
PEERD_LAB_RTRB_PORT='$RTRB_PORT'
PEERD_LAB_NS_RTRB='$NS_RTRB'
PEERD_LAB_RTRB_ASN='$RTRB_ASN'
PEERD_LAB_RTRB_V4='$RTRB_V4'
PEERD_LAB_RTRB_V6='$RTRB_V6'
PEERD_LAB_RTRB_POLICY_IN='PEERD_IN'
PEERD_LAB_RTRB_POLICY_OUT='PEERD_OUT'
PEERD_LAB_RTRB_DIR='$RB'
PEERD_LAB_RTRB_CONF='$RB/bird.conf'
PEERD_LAB_RTRB_PEERS_DIR='$RB/peers'
PEERD_LAB_RTRB_BIRDC='$LAB_DIR/bin/rtrb/birdc'
PEERD_LAB_RTR3_PORT='$RTR3_PORT'
PEERD_LAB_NS_RTR3='$NS_RTR3'
PEERD_LAB_RTR3_ASN='$RTR3_ASN'
PEERD_LAB_RTR3_V4='$RTR3_V4'
PEERD_LAB_RTR3_V6='$RTR3_V6'
PEERD_LAB_RTR3_DIR='$R3'
PEERD_LAB_RTR3_CONF='$R3/bgpd.conf'
PEERD_LAB_RTR3_PEERS_DIR='$R3/peers'
PEERD_LAB_RTR3_HAND_CONF='$R3/hand.conf'
PEERD_LAB_RTR3_SOCKET='$R3/bgpd.sock'
PEERD_LAB_RTR3_BGPCTL='$B3/bgpctl'
PEERD_LAB_RTR4_PORT='$RTR4_PORT'
PEERD_LAB_NS_RTR4='$NS_RTR4'
PEERD_LAB_RTR4_ASN='$RTR4_ASN'
PEERD_LAB_RTR4_V4='$RTR4_V4'
PEERD_LAB_RTR4_V6='$RTR4_V6'
PEERD_LAB_RTR4_DIR='$R4'
PEERD_LAB_RTR4_TARGET='unix://$R4/gobgp.sock'
PEERD_LAB_RTR4_GOBGP='$B4/gobgp'
PEERD_LAB_PEER1_ASN='$PEER1_ASN'
PEERD_LAB_PEER1_V4='$PEER1_V4'
PEERD_LAB_PEER1_V6='$PEER1_V6'
PEERD_LAB_PEER1_BIRDC='/usr/sbin/birdc -s $LAB_DIR/peer1/bird.ctl'
PEERD_LAB_PEER2_ASN='$PEER2_ASN'
PEERD_LAB_PEER2_V4='$PEER2_V4'
PEERD_LAB_PEER2_V6='$PEER2_V6'
PEERD_LAB_PEER2_MD5='$PEER2_MD5'
PEERD_LAB_PEER2_BIRDC='/usr/sbin/birdc -s $LAB_DIR/peer2/bird.ctl'
PEERD_LAB_NETCONF_MODULE='peerd-lab-bgp'
PEERD_LAB_NETCONF_NS='urn:peerd:lab-bgp'
PEERD_LAB_OC_PORT='$OC_PORT'
PEERD_LAB_OC_MODULE='openconfig-network-instance'
PEERD_LAB_OC_NETWORK_INSTANCE='DEFAULT'
PEERD_LAB_OC_POLICY_IN='PEERD-IN'
PEERD_LAB_OC_POLICY_OUT='PEERD-OUT'
EOF
pg_env >> "$LAB_DIR/lab.env"
chmod 644 "$LAB_DIR/lab.env"

UP=1
log "lab up in $(awk -v a="$START" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s; facts: $LAB_DIR/lab.env"
