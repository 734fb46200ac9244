#!/bin/sh
# tests/netns/privsep.sh - privilege separation as administrators run it:
#   1. user = "nobody": the engine runs as nobody with no capabilities and no_new_privs, the
#      tunnel works, a client that restarts reconnects, status answers, and on SIGTERM the root
#      parent removes the devices;
#   2. persistent devices: pre-created with `ip tuntap add ... user nobody` and addressed by the
#      administrator, both daemons run entirely as nobody with no capabilities at all.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/netns/lib.sh"
need_root
command -v setpriv >/dev/null || { echo "not ok - setpriv (util-linux) is missing"; exit 1; }
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

# --- 1. root parent, unprivileged engine --------------------------------------------------
chmod 0755 "$TMP"
server_conf 'user = "nobody";' 'address = "10.99.7.1/30"; peer-address = "10.99.7.2";'
client_conf 'user = "nobody";' 'address = "10.99.7.2/30"; peer-address = "10.99.7.1";'
start_daemon "$NS_S" "$TMP/s.log" -f "$TMP/s.conf" -s
SPID=$LAST_PID
start_daemon "$NS_C" "$TMP/c.log" -f "$TMP/c.conf" client alpha
CPID=$LAST_PID
check "privsep: session up with unprivileged engines" wait_for 10 grep -q "session up" "$TMP/c.log"
check "privsep: ping through the tunnel" ping_ok "$NS_C" 10.99.7.1

engine_of() { pgrep -P "$1" | head -1; }
ENG=$(engine_of "$SPID")
check "privsep: the server's engine is a child of the root parent" test -n "$ENG"
if [ -n "$ENG" ]; then
	check "privsep: engine runs as nobody" \
	    grep -q -E "^Uid:[[:space:]]+65534[[:space:]]+65534[[:space:]]+65534" "/proc/$ENG/status"
	check "privsep: engine has no effective capabilities" \
	    grep -q -E "^CapEff:[[:space:]]+0+$" "/proc/$ENG/status"
	check "privsep: engine has no permitted capabilities" \
	    grep -q -E "^CapPrm:[[:space:]]+0+$" "/proc/$ENG/status"
	check "privsep: engine has no_new_privs" grep -q -E "^NoNewPrivs:[[:space:]]+1" "/proc/$ENG/status"
	check "privsep: parent stays root" grep -q -E "^Uid:[[:space:]]+0[[:space:]]" "/proc/$SPID/status"
fi
check "privsep: status answers from the unprivileged engine" \
    sh -c "'$VTUND' status -S '$TMP/s.sock' alpha | grep -q 'state: established'"

# The client restarts: the unprivileged server engine takes the new handshake.
stop_daemon "$CPID"
start_daemon "$NS_C" "$TMP/c2.log" -f "$TMP/c.conf" client alpha
CPID=$LAST_PID
check "privsep: client restart reconnects" wait_for 10 grep -q "session up" "$TMP/c2.log"
check "privsep: ping after reconnect" ping_ok "$NS_C" 10.99.7.1
check "privsep: server exits 0 on SIGTERM" stop_daemon "$SPID"
check "privsep: root parent removed the server device" sh -c "! ip -n $NS_S link show vtps$$ >/dev/null 2>&1"
check "privsep: client exits 0 on SIGTERM" stop_daemon "$CPID"
check "privsep: root parent removed the client device" sh -c "! ip -n $NS_C link show vtpc$$ >/dev/null 2>&1"

# --- 2. persistent devices, no root at all ------------------------------------------------
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
DPID=$(pgrep -f "vtund-ng -n -f $TMP/s.conf" | head -1)
if [ -n "$DPID" ]; then
	check "persist: daemon runs as nobody" grep -q -E "^Uid:[[:space:]]+65534" "/proc/$DPID/status"
	check "persist: daemon has no capabilities" grep -q -E "^CapEff:[[:space:]]+0+$" "/proc/$DPID/status"
else
	not_ok "persist: find the daemon process"
fi
kill "$PS" "$PC" 2>/dev/null
wait "$PS" "$PC" 2>/dev/null
check "persist: pre-created devices are left in place" link_exists "$NS_S" "vtps$$"
[ -n "${VERBOSE:-}" ] && cat "$TMP"/*.log
finish
