#!/bin/sh
# tests/netns/bridge.sh - a layer-2 site link: two gateways ($NS_S the server, $NS_C the
# client), each with a Linux bridge br-site and a LAN host on it (hosts 10.50.0.1 and
# 10.50.0.2, one subnet, no addresses on the gateways' tap devices), joined by a tap link with
# `bridge = "br-site"` on both ends (no hooks; the hosts' MTU is the tunnel's, 1400):
#   - the daemons make the tap devices ports of the bridges;
#   - the LAN hosts ping each other and ARP crosses (each host learns the other's MAC address),
#     and 5 MB cross both ways intact (sha256);
#   - a reload that takes bridge out of the server's configuration gives it a new device that
#     is no bridge port, and putting it back attaches it again;
#   - a server whose bridge does not exist refuses to start (exit 1, naming it), and
#     `vtund-ng -t` refuses bridge on a tun peer with file:line;
#   - on SIGTERM the daemons exit 0 and the bridges are left without our ports.
# Needs root (exit 77 otherwise), nc, sha256sum. Run time about 20 s.
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/netns/lib.sh"
need_root
need_tools nc sha256sum timeout ss
plan 14
setup_netns
HS=vhs$$
HC=vhc$$
add_netns "$HS"
add_netns "$HC"
echo "# gateways $NS_S $NS_C, LAN hosts $HS $HC, files in $TMP"
# lan GW HOST ADDR: bridge br-site on GW with a veth port to HOST, which has ADDR.
bridged_lan() {
	ip -n "$1" link add br-site type bridge
	ip link add "lp$$" netns "$1" type veth peer name eth0 netns "$2"
	ip -n "$1" link set "lp$$" master br-site
	ip -n "$1" link set "lp$$" up
	ip -n "$1" link set br-site up
	ip -n "$2" addr add "$3/24" dev eth0
	# a bridge forwards frames, it cannot cut them: the hosts' MTU is the tunnel's
	ip -n "$2" link set eth0 mtu 1400 up
}
bridged_lan "$NS_S" "$HS" 10.50.0.1
bridged_lan "$NS_C" "$HC" 10.50.0.2
genkeys S
genkeys C
DATA=$TMP/data
head -c 5242880 /dev/urandom > "$DATA"

# conf FILE ROLE BRIDGE-LINE
conf() {
	if [ "$2" = server ]; then
		priv=$S_PRIV pub=$C_PUB extra='listen = "10.98.0.1:5700";' rem=""
	else
		priv=$C_PRIV pub=$S_PUB extra="" rem='remote = "10.98.0.1:5700";'
	fi
	cat > "$1" <<EOF
user = "";
control-socket = "$TMP/$2.sock";
private-key = "$priv";
$extra
peers = {
	site = {
		public-key = "$pub";
		$rem
		type = "tap";
		device = "vtap$$";
		$3
	};
};
EOF
}
conf "$TMP/s.conf" server 'bridge = "br-site";'
conf "$TMP/c.conf" client 'bridge = "br-site";'
start_daemon "$NS_S" "$TMP/s.log" -f "$TMP/s.conf" -s
SPID=$LAST_PID
start_daemon "$NS_C" "$TMP/c.log" -f "$TMP/c.conf" client site
CPID=$LAST_PID
check "session up" wait_for 10 sh -c \
    "grep -q 'session up' '$TMP/s.log' && grep -q 'session up' '$TMP/c.log'"
# port NS: the tap device is a port of br-site in NS.
port() { ip -n "$1" link show master br-site | grep -q "vtap$$"; }
check "both tap devices are ports of their bridge" eval 'port "$NS_S" && port "$NS_C"'
check "LAN host 1 -> LAN host 2: ping" ping_ok "$HS" 10.50.0.2
check "LAN host 2 -> LAN host 1: ping" ping_ok "$HC" 10.50.0.1
mac2=$(ip -n "$HC" link show eth0 | awk '/link\/ether/ {print $2}')
mac1=$(ip -n "$HS" link show eth0 | awk '/link\/ether/ {print $2}')
check "ARP crossed: each host knows the other's MAC address" \
    eval 'ip -n "$HS" neigh show 10.50.0.2 | grep -q "$mac2" &&
    ip -n "$HC" neigh show 10.50.0.1 | grep -q "$mac1"'
check "5 MB host 2 -> host 1, sha256 matches" transfer "$HC" "$HS" 10.50.0.1
check "5 MB host 1 -> host 2, sha256 matches" transfer "$HS" "$HC" 10.50.0.2

conf "$TMP/s.conf" server ''
"$VTUND" reload -S "$TMP/server.sock" > "$TMP/reload1" 2>&1
echo "# reload: $(cat "$TMP/reload1")"
check "reload without bridge: a new device, no bridge port" \
    eval 'ip -n "$NS_S" link show "vtap$$" >/dev/null 2>&1 && ! port "$NS_S"'
conf "$TMP/s.conf" server 'bridge = "br-site";'
"$VTUND" reload -S "$TMP/server.sock" > "$TMP/reload2" 2>&1
check "reload with bridge again: attached, and the hosts talk again" \
    eval 'port "$NS_S" && wait_for 10 ping_ok "$HC" 10.50.0.1'

conf "$TMP/bad.conf" server 'bridge = "br-none";'
sed -i "s/5700/5701/; s/vtap$$/vbad$$/; s|server.sock|bad.sock|" "$TMP/bad.conf"
timeout 10 ip netns exec "$NS_S" "$VTUND" -n -f "$TMP/bad.conf" -s > "$TMP/bad.log" 2>&1
rc=$?
tail -n 2 "$TMP/bad.log" | sed 's/^/#   /'
check "a missing bridge: exit 1 naming it, no device left" \
    eval '[ "$rc" -eq 1 ] && grep -q "no bridge br-none" "$TMP/bad.log" &&
    ! ip -n "$NS_S" link show "vbad$$" >/dev/null 2>&1'
sed -i 's/type = "tap";/type = "tun";/' "$TMP/bad.conf"
"$VTUND" -t -f "$TMP/bad.conf" -s > "$TMP/t.out" 2>&1
check "vtund-ng -t: bridge on a tun peer is file:line error" \
    eval 'grep -q "bad.conf:[0-9]*: peer .site.: bridge is for tap devices only" "$TMP/t.out"'

check "the client exits 0" stop_daemon "$CPID"
check "the server exits 0" stop_daemon "$SPID"
check "the bridges keep only their LAN ports" \
    eval '! port "$NS_S" && ! port "$NS_C" &&
    ip -n "$NS_S" link show master br-site | grep -q "lp$$"'
finish
