#!/bin/sh
# tests/netns/mtu.sh - MTU without guesswork: an underlay of MTU 1300 (the veth on both ends),
# a LAN host with MTU 1500 behind each gateway, routed through a tun link, and ICMP
# "fragmentation needed" dropped on both gateways (so that path MTU discovery cannot help):
#   a. with mtu left at its default ("auto") both devices get 1300 - 61 = 1239 (IPv4, UDP),
#      the log says where that came from, and status shows it;
#   b. with mss-clamp = true a 10 MB TCP transfer between the LAN hosts completes each way,
#      sha256 matches, no IP fragment crosses the underlay, and the SYNs were clamped (the
#      status counter, and the segment size the receiving host saw: 1199 less timestamps);
#   c. after a reload with mss-clamp = false (applied in place) the same transfer does not get
#      through: the clamp is what made it work;
#   d. a tcp link on the same underlay: 1300 - 87 = 1213;
#   e. an explicit mtu wins: mtu = 1000 gives 1000;
#   f. a tap link gets the same at both ends, whatever the underlay: 1500 - 99 = 1401.
# Needs root (exit 77 otherwise), nc, sha256sum, nft, python3. Run time about 40 s.
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/netns/lib.sh"
need_root
need_tools nc sha256sum nft python3 timeout ss
plan 21
setup_netns
LS=vls$$
LC=vlc$$
add_netns "$LS"
add_netns "$LC"
echo "# gateways $NS_S $NS_C, LAN hosts $LS $LC, files in $TMP"
ip -n "$NS_S" link set "$UNDER_S" mtu 1300
ip -n "$NS_C" link set "$UNDER_C" mtu 1300
lan "$NS_S" "$LS" 10.71.1.1 10.71.1.10
lan "$NS_C" "$LC" 10.71.2.1 10.71.2.10
# PMTU discovery cannot help: ICMP "fragmentation needed" never leaves a gateway; and every
# IP fragment on the underlay is counted.
for ns in "$NS_S" "$NS_C"; do
	ip netns exec "$ns" nft -f - <<EOF2
table inet vtmtu {
	chain vfwd {
		type filter hook forward priority 0;
		icmp type destination-unreachable icmp code frag-needed drop
	}
	chain vout {
		type filter hook output priority 0;
		icmp type destination-unreachable icmp code frag-needed drop
		ip frag-off & 0x3fff != 0 counter
	}
	chain vin {
		type filter hook input priority 0;
		ip frag-off & 0x3fff != 0 counter
	}
}
EOF2
	check "the gateway $ns drops ICMP fragmentation-needed and counts fragments" [ $? -eq 0 ]
done
genkeys S
genkeys C
DATA=$TMP/data
head -c 10485760 /dev/urandom > "$DATA"

# conf FILE ROLE PORT PROTO N EXTRA: a one-peer configuration "link", the LAN behind the other
# side routed through it.
conf() {
	{
		link_conf "$2" "$3"
		echo "	proto = \"$4\"; device = \"vm$OWN-$5\";"
		echo "	address = \"10.99.$5.$OWN/30\"; peer-address = \"10.99.$5.$OTHER\";"
		echo "	routes = [\"10.71.$OTHER.0/24\"];"
		echo "	$6"
		echo "}; };"
	} > "$1"
}

dev_mtu() { ip netns exec "$1" cat "/sys/class/net/$2/mtu"; }
frags() {
	ip netns exec "$1" nft list table inet vtmtu | sed -n 's/.*counter packets \([0-9]*\).*/\1/p' |
	    awk '{ s += $1 } END { print s + 0 }'
}

# lan_transfer SRC DST DSTADDR SECONDS: $DATA over TCP between LAN hosts; true if it arrived
# whole. The receiver notes the MSS its socket saw in $TMP/mss.
lan_transfer() {
	rm -f "$TMP/recv" "$TMP/mss"
	ip netns exec "$2" timeout "$4" python3 -c '
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 7000))
s.listen(1)
c, _ = s.accept()
open(sys.argv[3], "w").write("%d\n" % c.getsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG))
with open(sys.argv[2], "wb") as f:
    while True:
        d = c.recv(65536)
        if not d:
            break
        f.write(d)
' "$3" "$TMP/recv" "$TMP/mss" 2>/dev/null &
	_l=$!
	track "$_l"
	wait_for 5 listening "$2" 7000
	timeout "$4" ip netns exec "$1" nc -n -N -w 5 "$3" 7000 < "$DATA" 2>/dev/null
	wait "$_l"
	[ "$(sha256sum < "$DATA")" = "$(sha256sum < "$TMP/recv" 2>/dev/null)" ] && return 0
	echo "# received $(wc -c < "$TMP/recv" 2>/dev/null || echo 0) of $(wc -c < "$DATA") bytes"
	return 1
}

# a/b. auto MTU and the clamp
conf "$TMP/s.conf" server 5501 udp 1 'mss-clamp = true;'
conf "$TMP/c.conf" client 5501 udp 1 'mss-clamp = true;'
link_up 1
check "a: session up" [ $? -eq 0 ]
check "a: both devices have mtu 1239 (1300 minus 61 for IPv4 and UDP)" \
    eval '[ "$(dev_mtu "$NS_S" vm1-1)" = 1239 ] && [ "$(dev_mtu "$NS_C" vm2-1)" = 1239 ]'
check "a: the client logs where its mtu came from" \
    grep -q "peer link: mtu 1239 (auto: 1300 on $UNDER_C, toward 10.98.0.1, minus 61" "$TMP/c1.log"
check "a: the server logs it from its listen address's device" \
    grep -q "peer link: mtu 1239 (auto: 1300 on $UNDER_S, toward 10.98.0.1" "$TMP/s1.log"
check "a: status shows the mtu and the clamp" \
    eval '"$VTUND" status -S "$TMP/server.sock" | grep -q "mtu: 1239 (auto), mss-clamp: "'
check "b: 10 MB LAN C -> LAN S through the clamp, sha256 matches" \
    lan_transfer "$LC" "$LS" 10.71.1.10 30
echo "# the receiver's MSS: $(cat "$TMP/mss" 2>/dev/null)"
check "b: the receiving host's segments are 1187 bytes (1239 - 40 = 1199, less 12 for timestamps)" \
    [ "$(cat "$TMP/mss")" = 1187 ]
check "b: 10 MB LAN S -> LAN C, sha256 matches" lan_transfer "$LS" "$LC" 10.71.2.10 30
f_s=$(frags "$NS_S") f_c=$(frags "$NS_C")
echo "# IP fragments counted on the gateways: $f_s, $f_c"
check "b: no IP fragment on either gateway" eval '[ "$f_s" -eq 0 ] && [ "$f_c" -eq 0 ]'
cl=$(json_num "$(status_json "$TMP/server.sock")" mss_clamped)
check "b: the server clamped SYNs (${cl:-none})" [ "${cl:-0}" -ge 2 ]

# c. without the clamp, the LAN hosts' 1460-byte segments do not fit and nothing says so
conf "$TMP/s.conf" server 5501 udp 1 'mss-clamp = false;'
conf "$TMP/c.conf" client 5501 udp 1 'mss-clamp = false;'
r1=$("$VTUND" reload -S "$TMP/server.sock" 2>&1)
r2=$("$VTUND" reload -S "$TMP/client.sock" 2>&1)
echo "# reload: $r1 / $r2"
check "c: mss-clamp = false applies in place on both ends" \
    eval 'echo "$r1 $r2" | grep -q "1 updated in place.*1 updated in place"'
check "c: without the clamp the same transfer does not get through" \
    eval '! lan_transfer "$LC" "$LS" 10.71.1.10 8'
check "a-c: both daemons exit 0" eval 'stop_daemon "$CPID" && stop_daemon "$SPID"'

# d. a tcp link
conf "$TMP/s.conf" server 5502 tcp 2 ''
conf "$TMP/c.conf" client 5502 tcp 2 ''
link_up 2
check "d: tcp: both devices have mtu 1213 (1300 minus 87 for IPv4 and TCP)" \
    eval '[ "$(dev_mtu "$NS_S" vm1-2)" = 1213 ] && [ "$(dev_mtu "$NS_C" vm2-2)" = 1213 ]'
check "d: both daemons exit 0" eval 'stop_daemon "$CPID" && stop_daemon "$SPID"'

# f. a tap link: the same MTU at both ends whatever the underlay, that of a 1500-byte IPv6 path
conf "$TMP/s.conf" server 5504 udp 4 'type = "tap";'
conf "$TMP/c.conf" client 5504 udp 4 'type = "tap";'
sed -i '/routes = /d; s/ peer-address = "[^"]*";//' "$TMP/s.conf" "$TMP/c.conf"
link_up 4
check "f: tap: session up, both devices have mtu 1401 (1500 minus 99)" \
    eval '[ "$(dev_mtu "$NS_S" vm1-4)" = 1401 ] && [ "$(dev_mtu "$NS_C" vm2-4)" = 1401 ]'
check "f: both daemons exit 0" eval 'stop_daemon "$CPID" && stop_daemon "$SPID"'

# e. an explicit mtu
conf "$TMP/s.conf" server 5503 udp 3 'mtu = 1000;'
conf "$TMP/c.conf" client 5503 udp 3 'mtu = 1000;'
link_up 3
check "e: mtu = 1000 is what the devices get" \
    eval '[ "$(dev_mtu "$NS_S" vm1-3)" = 1000 ] && [ "$(dev_mtu "$NS_C" vm2-3)" = 1000 ]'
check "e: both daemons exit 0" eval 'stop_daemon "$CPID" && stop_daemon "$SPID"'
finish
