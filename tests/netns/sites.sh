#!/bin/sh
# tests/netns/sites.sh - three routed sites: a hub (the server, namespace $NS_S) and two spokes
# (clients in $NS_C and $NS_B), each gateway with a LAN host in its own namespace behind it:
#   hub LAN 10.1.0.0/24 (host 10.1.0.10), site A 10.2.0.0/24 (10.2.0.10), site B 10.3.0.0/24
#   (10.3.0.10); tunnels hub-A 10.100.1.0/30, hub-B 10.100.2.0/30; every LAN reached through
#   `routes` in the configuration files (no hooks): the hub routes each site's LAN to that
#   site's device, each spoke routes the other two LANs to its tunnel.
# Checks:
#   - the sessions come up and the routes are in the tables, on the right devices, with the
#     tunnel's MTU;
#   - every LAN host pings every other (the spokes through the hub), and 5 MB cross A -> B and
#     B -> hub LAN intact (sha256);
#   - the cryptokey filter: site A's gateway sending with a source of site B's LAN (an
#     address it adds to itself) reaches nobody, and the hub counts the drops as "filter" on
#     peer sitea; the real traffic before was never dropped;
#   - a reload that gives sitea one route more and one less changes exactly those routes (and
#     the filter follows); one whose new route the system has already names it, counts one
#     failed and keeps the rest;
#   - a server whose route exists already refuses to start (exit 1, the prefix in the message)
#     and leaves no device behind;
#   - on SIGTERM the daemons exit 0 and their routes go with their devices.
# Needs root (exit 77 otherwise), nc, sha256sum. Run time about 25 s.
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/netns/lib.sh"
need_root
need_tools nc sha256sum timeout ss
plan 24
setup_netns
HUB=$NS_S
SA=$NS_C
SB=vtb$$
LH=vlh$$
LA=vla$$
LB=vlb$$
for n in "$SB" "$LH" "$LA" "$LB"; do
	add_netns "$n"
done
echo "# hub $HUB, sites $SA $SB, LAN hosts $LH $LA $LB, files in $TMP"
# The hub's underlay to site B, and each gateway's LAN.
ip link add "ub$$" netns "$HUB" type veth peer name "ub$$" netns "$SB"
ip -n "$HUB" addr add 10.97.0.1/24 dev "ub$$"
ip -n "$SB" addr add 10.97.0.2/24 dev "ub$$"
ip -n "$HUB" link set "ub$$" up
ip -n "$SB" link set "ub$$" up
lan "$HUB" "$LH" 10.1.0.1 10.1.0.10
lan "$SA" "$LA" 10.2.0.1 10.2.0.10
lan "$SB" "$LB" 10.3.0.1 10.3.0.10
genkeys H
genkeys A
genkeys B
DATA=$TMP/data
head -c 5242880 /dev/urandom > "$DATA"

# hub_conf FILE PORT SITEA_ROUTES: the hub, peers sitea and siteb.
hub_conf() {
	cat > "$1" <<EOF
user = "";
control-socket = "$TMP/hub.sock";
private-key = "$H_PRIV";
listen = "0.0.0.0:$2";
peers = {
	sitea = {
		public-key = "$A_PUB";
		device = "vt-sa$$";
		address = "10.100.1.1/30";
		peer-address = "10.100.1.2";
		routes = [$3];
	};
	siteb = {
		public-key = "$B_PUB";
		device = "vt-sb$$";
		address = "10.100.2.1/30";
		peer-address = "10.100.2.2";
		routes = ["10.3.0.0/24"];
	};
};
EOF
}
# spoke_conf FILE NAME PRIV REMOTE OWN HUB: a spoke with the hub as its peer NAME.
spoke_conf() {
	cat > "$1" <<EOF
user = "";
control-socket = "$TMP/$2.sock";
private-key = "$3";
peers = {
	$2 = {
		public-key = "$H_PUB";
		remote = "$4";
		device = "vt-$2$$";
		address = "$5/30";
		peer-address = "$6";
		routes = ["10.1.0.0/24", "$7"];
	};
};
EOF
}
hub_conf "$TMP/hub.conf" 5600 '"10.2.0.0/24"'
spoke_conf "$TMP/a.conf" sitea "$A_PRIV" 10.98.0.1:5600 10.100.1.2 10.100.1.1 10.3.0.0/24
spoke_conf "$TMP/b.conf" siteb "$B_PRIV" 10.97.0.1:5600 10.100.2.2 10.100.2.1 10.2.0.0/24
start_daemon "$HUB" "$TMP/hub.log" -f "$TMP/hub.conf" -s
HPID=$LAST_PID
start_daemon "$SA" "$TMP/a.log" -f "$TMP/a.conf" client sitea
APID=$LAST_PID
start_daemon "$SB" "$TMP/b.log" -f "$TMP/b.conf" client siteb
BPID=$LAST_PID
check "the hub and both sites are up" wait_for 10 sh -c \
    "[ \$(grep -c 'session up' '$TMP/hub.log') -ge 2 ] && grep -q 'session up' '$TMP/a.log' &&
    grep -q 'session up' '$TMP/b.log'"

# route_on NS PREFIX DEVICE: the table of NS routes PREFIX to DEVICE with the device's MTU.
route_on() {
	_r=$(ip -n "$1" route show "$2")
	_m=$(ip netns exec "$1" cat "/sys/class/net/$3/mtu" 2>/dev/null)
	echo "$_r" | grep -q "dev $3 " && echo "$_r" | grep -qw "mtu ${_m:-none}" && return 0
	echo "# $1: ip route show $2: ${_r:-nothing}"
	return 1
}
check "hub: 10.2.0.0/24 routed to sitea's device, 10.3.0.0/24 to siteb's" \
    eval 'route_on "$HUB" 10.2.0.0/24 "vt-sa$$" && route_on "$HUB" 10.3.0.0/24 "vt-sb$$"'
check "site A: the hub's LAN and site B's routed to its tunnel" \
    eval 'route_on "$SA" 10.1.0.0/24 "vt-sitea$$" && route_on "$SA" 10.3.0.0/24 "vt-sitea$$"'
check "site B: the hub's LAN and site A's routed to its tunnel" \
    eval 'route_on "$SB" 10.1.0.0/24 "vt-siteb$$" && route_on "$SB" 10.2.0.0/24 "vt-siteb$$"'

check "LAN A -> hub LAN: ping" ping_ok "$LA" 10.1.0.10
check "LAN A -> LAN B (through the hub): ping" ping_ok "$LA" 10.3.0.10
check "LAN B -> LAN A: ping" ping_ok "$LB" 10.2.0.10
check "hub LAN -> LAN A and LAN B: ping" eval 'ping_ok "$LH" 10.2.0.10 && ping_ok "$LH" 10.3.0.10'
check "5 MB LAN A -> LAN B, sha256 matches" transfer "$LA" "$LB" 10.3.0.10
check "5 MB LAN B -> hub LAN, sha256 matches" transfer "$LB" "$LH" 10.1.0.10
# drops PEER: the hub's filter drops of PEER.
drops() { json_num "$("$VTUND" status --json -S "$TMP/hub.sock" "$1")" filter; }
check "the hub dropped nothing by the filter so far" \
    eval '[ "$(drops sitea)" = 0 ] && [ "$(drops siteb)" = 0 ]'

# Site A's gateway speaks for site B's LAN: an address of it on A's loopback, a ping from it.
ip -n "$SA" addr add 10.3.0.99/32 dev lo
check "site A with a source of site B's LAN reaches nobody" \
    eval '! ip netns exec "$SA" ping -c 3 -i 0.2 -W 1 -I 10.3.0.99 10.1.0.10 >/dev/null 2>&1'
f=$(drops sitea)
echo "# hub: sitea filter drops $f"
check "the hub counted them as filter drops of sitea (3)" [ "${f:-0}" -ge 3 ]
ip -n "$SA" addr del 10.3.0.99/32 dev lo

# Reload: sitea gets 10.20.0.0/24, loses nothing else; then 10.2.0.0/24 moves out of it.
hub_conf "$TMP/hub.conf" 5600 '"10.2.0.0/24", "10.20.0.0/24"'
"$VTUND" reload -S "$TMP/hub.sock" > "$TMP/reload1" 2>&1
echo "# reload: $(cat "$TMP/reload1")"
check "reload: the new route is on sitea's device, the old ones stay" \
    eval 'route_on "$HUB" 10.20.0.0/24 "vt-sa$$" && route_on "$HUB" 10.2.0.0/24 "vt-sa$$" &&
    grep -q "1 updated in place" "$TMP/reload1"'
hub_conf "$TMP/hub.conf" 5600 '"10.20.0.0/24"'
"$VTUND" reload -S "$TMP/hub.sock" > "$TMP/reload2" 2>&1
check "reload: a route taken out is gone; LAN A is unreachable from the hub LAN" \
    eval '[ -z "$(ip -n "$HUB" route show 10.2.0.0/24)" ] &&
    route_on "$HUB" 10.20.0.0/24 "vt-sa$$" && ! ping_ok "$LH" 10.2.0.10'
check "reload: the filter followed (LAN A's packets dropped at the hub)" \
    eval 'b=$(drops sitea); ! ping_ok "$LA" 10.1.0.10; [ "$(drops sitea)" -gt "$b" ]'
# A route the system has already (on the hub's LAN device).
ip -n "$HUB" route add 10.30.0.0/24 dev "lg$$"
hub_conf "$TMP/hub.conf" 5600 '"10.2.0.0/24", "10.30.0.0/24"'
"$VTUND" reload -S "$TMP/hub.sock" > "$TMP/reload3" 2>&1
echo "# reload: $(cat "$TMP/reload3")"
check "reload: a route the system has: one failed, named in the log; the others applied" \
    eval 'grep -q "1 failed" "$TMP/reload3" &&
    grep -q "route 10.30.0.0/24: the system has a route to that prefix already" "$TMP/hub.log" &&
    route_on "$HUB" 10.2.0.0/24 "vt-sa$$" && [ -z "$(ip -n "$HUB" route show 10.20.0.0/24)" ]'
check "after the reloads LAN A reaches LAN B again" ping_ok "$LA" 10.3.0.10

# A second server in the hub's namespace whose route exists: refused before it runs.
cat > "$TMP/bad.conf" <<EOF
user = "";
control-socket = "$TMP/bad.sock";
private-key = "$H_PRIV";
listen = "0.0.0.0:5601";
peers = { other = { public-key = "$A_PUB"; device = "vt-bad$$"; address = "10.100.9.1/30";
    routes = ["10.1.0.0/24"]; }; };
EOF
timeout 10 ip netns exec "$HUB" "$VTUND" -n -f "$TMP/bad.conf" -s > "$TMP/bad.log" 2>&1
rc=$?
sed 's/^/#   /' "$TMP/bad.log" | tail -n 3
check "a server whose route exists exits 1 naming the prefix" \
    eval '[ "$rc" -eq 1 ] && grep -q "route 10.1.0.0/24: the system has a route" "$TMP/bad.log"'
check "and leaves no device behind" eval '! ip -n "$HUB" link show "vt-bad$$" >/dev/null 2>&1'

check "site A exits 0" stop_daemon "$APID"
check "site B exits 0" stop_daemon "$BPID"
check "the hub exits 0" stop_daemon "$HPID"
check "the routes went with the devices" \
    eval '[ -z "$(ip -n "$HUB" route show 10.2.0.0/24)" ] &&
    [ -z "$(ip -n "$SA" route show 10.1.0.0/24)" ] &&
    [ -z "$(ip -n "$SB" route show 10.2.0.0/24)" ]'
finish
