#!/bin/sh
# tests/netns/privsep.sh - privilege separation as administrators run it:
#   1. user = "nobody", started as root by a careless invoker (supplementary groups 0 and 6,
#      CAP_NET_ADMIN and CAP_NET_RAW inheritable and ambient): each engine runs as nobody with
#      nogroup as its only supplementary group, empty inheritable, permitted, effective, bounding
#      and ambient capability sets and no_new_privs, while its parent stays root; the tunnel
#      works, a client that restarts reconnects, status answers, and on SIGTERM each daemon exits
#      0 and its root parent removes the device; both UDP sockets (the server's bound one, the
#      client's connected one) have 4 MiB buffers, sized by the root parent;
#   2. a root daemon that cannot empty the bounding set (no CAP_SETPCAP) does not run the engine;
#   3. persistent devices: pre-created with `ip tuntap add ... user nobody` and addressed by the
#      administrator, both daemons run entirely as nobody with no capabilities at all, exit 0 on
#      SIGTERM and leave the devices in place.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/netns/lib.sh"
need_root
command -v setpriv >/dev/null || { echo "not ok - setpriv (util-linux) is missing"; exit 1; }
plan 61
setup_netns

genkeys S
genkeys C
server_conf() { # $1 = extra global settings, $2 = extra peer settings
	cat > "$TMP/s.conf" <<CONF
private-key = "$S_PRIV";
control-socket = "$TMP/s.sock";
listen = "0.0.0.0:5000";
$1
peers = { alpha = { public-key = "$C_PUB"; device = "vtps$$"; $2 }; };
CONF
}
client_conf() {
	cat > "$TMP/c.conf" <<CONF
private-key = "$C_PRIV";
control-socket = "$TMP/c.sock";
$1
peers = { alpha = { public-key = "$S_PUB"; device = "vtpc$$"; remote = "10.98.0.1:5000"; $2 }; };
CONF
}

NOBODY_UID=$(id -u nobody)
NOBODY_GID=$(id -g nobody)
# has PID FIELD VALUE: /proc/PID/status has "FIELD:" followed by VALUE, an ERE for the whole
# value. False for an empty PID (a process that was not found).
has() { grep -q -E "^$2:[[:space:]]+$3[[:space:]]*\$" "/proc/${1:-none}/status" 2>/dev/null; }
# four ID: an ERE for Uid: or Gid: with real, effective, saved and filesystem id all ID.
four() { echo "$1[[:space:]]+$1[[:space:]]+$1[[:space:]]+$1"; }
dev_gone() { ! link_exists "$1" "$2"; }
# creds_checks LABEL PID GROUPS: 8 checks that PID runs as nobody and nogroup (real, effective,
# saved and filesystem ids), with supplementary groups GROUPS (an ERE) and no capabilities.
creds_checks() {
	check "$1: uids are nobody's" has "$2" Uid "$(four "$NOBODY_UID")"
	check "$1: gids are nogroup's" has "$2" Gid "$(four "$NOBODY_GID")"
	check "$1: supplementary groups: ${3:-none}" has "$2" Groups "$3"
	for _set in CapInh CapPrm CapEff CapBnd CapAmb; do
		check "$1: $_set is empty" has "$2" "$_set" '0+'
	done
}
# What a careless invoker leaves a root daemon, which its engine must not keep.
CARELESS="setpriv --groups 0,6 --inh-caps +net_admin,+net_raw --ambient-caps +net_admin,+net_raw"
start_careless() { # NS LOG ARGS...: start_daemon under $CARELESS
	_ns=$1
	_log=$2
	shift 2
	: > "$_log"
	# shellcheck disable=SC2086
	ip netns exec "$_ns" $CARELESS "$VTUND" -n "$@" >> "$_log" 2>&1 &
	LAST_PID=$!
	track "$LAST_PID"
}
# udp_bufs NS: the daemon's UDP socket in NS (port 5000, bound or connected) was made by root
# (ss -e names the owner of a socket made by any other user: the engine's would be
# uid:65534), with receive and send buffers of 4 MiB (ss shows twice that): sized with
# SO_RCVBUFFORCE, beyond any rmem_max, which the unprivileged engine could not have done.
udp_bufs() {
	_l=$(ip netns exec "$1" ss -Huamne '( sport = :5000 or dport = :5000 )' | tr '\n' ' ')
	_rb=$(echo "$_l" | sed -n 's/.*,rb\([0-9]*\),.*/\1/p')
	_tb=$(echo "$_l" | sed -n 's/.*,tb\([0-9]*\),.*/\1/p')
	echo "# $1: $_l"
	case "$_l" in *uid:*) return 1 ;; esac
	[ "${_rb:-0}" -ge 8388608 ] && [ "${_tb:-0}" -ge 8388608 ]
}
careless() { has "$1" Groups "0 6" && has "$1" CapInh 0+3000 && has "$1" CapAmb 0+3000; }
# engine_checks ROLE PID: 12 checks of the engine under the root parent PID, and of the parent.
engine_checks() {
	_eng=$(pgrep -P "$2" | head -1)
	check "$1: the engine is a child of the root parent" test -n "$_eng"
	creds_checks "$1 engine" "$_eng" "$NOBODY_GID"
	check "$1 engine: no_new_privs" has "$_eng" NoNewPrivs 1
	check "$1: the root parent stays root" has "$2" Uid "$(four 0)"
	check "$1: the root parent has groups 0 6, inheritable and ambient net_admin, net_raw" \
	    careless "$2"
}

# --- 1. root parent, unprivileged engine --------------------------------------------------
chmod 0755 "$TMP"
server_conf 'user = "nobody";' 'address = "10.99.7.1/30"; peer-address = "10.99.7.2";'
client_conf 'user = "nobody";' 'address = "10.99.7.2/30"; peer-address = "10.99.7.1";'
start_careless "$NS_S" "$TMP/s.log" -f "$TMP/s.conf" -s
SPID=$LAST_PID
start_careless "$NS_C" "$TMP/c.log" -f "$TMP/c.conf" client alpha
CPID=$LAST_PID
check "privsep: session up with unprivileged engines" wait_for 10 grep -q "session up" "$TMP/c.log"
check "privsep: ping through the tunnel" ping_ok "$NS_C" 10.99.7.1
check "privsep: the server's UDP socket has 4 MiB buffers (beyond rmem_max, made by root)" \
    udp_bufs "$NS_S"
check "privsep: the client's UDP socket has 4 MiB buffers (made by its root parent)" \
    udp_bufs "$NS_C"
engine_checks "privsep: server" "$SPID"
engine_checks "privsep: client" "$CPID"
check "privsep: status answers from the unprivileged engine" \
    sh -c "'$VTUND' status -S '$TMP/s.sock' alpha | grep -q 'state: established'"

# The client restarts: the unprivileged server engine takes the new handshake.
stop_daemon "$CPID"
start_careless "$NS_C" "$TMP/c2.log" -f "$TMP/c.conf" client alpha
CPID=$LAST_PID
check "privsep: client restart reconnects" wait_for 10 grep -q "session up" "$TMP/c2.log"
check "privsep: ping after reconnect" ping_ok "$NS_C" 10.99.7.1
check "privsep: server exits 0 on SIGTERM" stop_daemon "$SPID"
check "privsep: root parent removed the server device" dev_gone "$NS_S" "vtps$$"
check "privsep: client exits 0 on SIGTERM" stop_daemon "$CPID"
check "privsep: root parent removed the client device" dev_gone "$NS_C" "vtpc$$"

# --- 2. a bounding set it cannot empty: no engine -----------------------------------------
# Without CAP_SETPCAP the drop cannot empty the bounding set; the engine must not run anyway.
timeout 20 ip netns exec "$NS_S" setpriv --bounding-set -setpcap "$VTUND" -n -f "$TMP/s.conf" \
    -s > "$TMP/r.log" 2>&1
RC=$?
check "refuse: a root daemon without CAP_SETPCAP exits 1" [ "$RC" -eq 1 ]
check "refuse: it says why" grep -q "empty the capability bounding set.*CAP_SETPCAP" "$TMP/r.log"
check "refuse: the engine never ran" sh -c "! grep -q 'engine running' '$TMP/r.log'"
check "refuse: the root parent removed the device" dev_gone "$NS_S" "vtps$$"

# --- 3. persistent devices, no root at all ------------------------------------------------
ip -n "$NS_S" tuntap add dev "vtps$$" mode tun user nobody
ip -n "$NS_C" tuntap add dev "vtpc$$" mode tun user nobody
ip -n "$NS_S" addr add 10.99.8.1 peer 10.99.8.2 dev "vtps$$"
ip -n "$NS_C" addr add 10.99.8.2 peer 10.99.8.1 dev "vtpc$$"
ip -n "$NS_S" link set "vtps$$" mtu 1400 up
ip -n "$NS_C" link set "vtpc$$" mtu 1400 up
server_conf 'listen = "0.0.0.0:5001";' 'persist = true;' 2>/dev/null
sed -i '/^listen = "0.0.0.0:5000";$/d' "$TMP/s.conf"
client_conf '' 'persist = true;'
sed -i 's/10.98.0.1:5000/10.98.0.1:5001/' "$TMP/c.conf"
chown nobody "$TMP/s.conf" "$TMP/c.conf"
mkdir "$TMP/run" && chown nobody "$TMP/run"
sed -i "s|$TMP/s.sock|$TMP/run/s.sock|" "$TMP/s.conf"
sed -i "s|$TMP/c.sock|$TMP/run/c.sock|" "$TMP/c.conf"
# /dev/net/tun may be 0600 on a build machine (udev makes it 0666 on a normal system): give
# the unprivileged daemons a 0666 node in their own mount namespace only.
mknod "$TMP/tun" c 10 200 && chmod 0666 "$TMP/tun"
run_nobody() { # NS LOG ARGS...
	_ns=$1
	_log=$2
	shift 2
	ip netns exec "$_ns" unshare -m sh -c 'mount --bind "$0" /dev/net/tun && exec setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all --bounding-set=-all "$@"' "$TMP/tun" "$VTUND" -n "$@" > "$_log" 2>&1 &
	LAST_PID=$!
	track "$LAST_PID"
}
run_nobody "$NS_S" "$TMP/ps.log" -f "$TMP/s.conf" -s
PS=$LAST_PID
run_nobody "$NS_C" "$TMP/pc.log" -f "$TMP/c.conf" client alpha
PC=$LAST_PID
check "persist: session up, both daemons as nobody" wait_for 10 grep -q "session up" "$TMP/pc.log"
check "persist: ping through pre-created devices" ping_ok "$NS_C" 10.99.8.1
# ip netns exec, unshare, sh and setpriv each exec the next: $PS and $PC are the daemons.
creds_checks "persist: server" "$PS" ""
creds_checks "persist: client" "$PC" ""
check "persist: server exits 0 on SIGTERM" stop_daemon "$PS"
check "persist: client exits 0 on SIGTERM" stop_daemon "$PC"
check "persist: the server's pre-created device is left in place" link_exists "$NS_S" "vtps$$"
check "persist: the client's pre-created device is left in place" link_exists "$NS_C" "vtpc$$"
grep -h "drop privileges" "$TMP"/*.log | sed 's/^/# /'
[ -n "${VERBOSE:-}" ] && cat "$TMP"/*.log
finish
