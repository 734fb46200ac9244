#!/bin/sh
# tests/netns/offload.sh - the offload paths end to end, beyond tunnel.sh's matrix (which runs
# every {tun, tap} x {udp, tcp} with offload auto and off):
#   a. IPv6 inside (TSO6 and coalescing of IPv6 segments): 10 MB each way over TCP through a
#      tun/udp tunnel, sha256 matches; the sending side split super-packets, the receiving side
#      wrote coalesced frames;
#   b. UDP segmentation (USO): a sender using UDP_SEGMENT (one send = 10 datagrams of 1200
#      bytes), 200 sends: all 2000 datagrams arrive whole; the client split super-packets;
#   c. a small inner MTU (576): one super-packet makes more segments than a batch holds; 10 MB
#      each way over a udp and a tcp tunnel, sha256 matches;
#   d. one side offload auto, the other off: 10 MB each way, sha256 matches;
#   e. ECN (RFC 6040): a ping marked ECT(0) inside leaves in datagrams marked ECT(0) outside;
#      with every outer datagram marked CE on the way (nftables), a ping marked ECT(0) arrives
#      marked CE inside, and a ping that is not ECN-capable is dropped and counted as "ecn".
# Needs root (exit 77 otherwise), nc, sha256sum, python3, tcpdump, nft. Run time about 40 s.
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/netns/lib.sh"
need_root
need_tools nc sha256sum python3 tcpdump nft timeout ss
plan 28
setup_netns
echo "# namespaces $NS_S $NS_C, files in $TMP"
genkeys S
genkeys C
DATA=$TMP/data
head -c 10485760 /dev/urandom > "$DATA"

# conf FILE ROLE PORT TYPE PROTO MTU OFFLOAD N: a one-peer configuration "link" on 10.99.N.0/30
# and (MTU 1280 or more) fd99:N::/64, the server listening on PORT.
conf() {
	{
		echo "log-level = \"debug\";"
		link_conf "$2" "$3"
		echo "	type = \"$4\"; proto = \"$5\"; mtu = $6; offload = \"$7\";"
		echo "	device = \"vo$OWN-$8\";"
		# IPv6 needs an MTU of 1280 at least
		if [ "$6" -ge 1280 ]; then
			echo "	address = [\"10.99.$8.$OWN/30\", \"fd99:$8::$OWN/64\"];"
			echo "	peer-address = [\"10.99.$8.$OTHER\", \"fd99:$8::$OTHER\"];"
		else
			echo "	address = \"10.99.$8.$OWN/30\"; peer-address = \"10.99.$8.$OTHER\";"
		fi
		echo "}; };"
	} > "$1"
}

# up N PORT PROTO MTU OFFLOAD_SERVER OFFLOAD_CLIENT: start both ends; true once the session is
# up on both.
up() {
	conf "$TMP/s.conf" server "$2" tun "$3" "$4" "$5" "$1"
	conf "$TMP/c.conf" client "$2" tun "$3" "$4" "$6" "$1"
	link_up "$1"
}

down() {
	stop_daemon "$CPID"
	stop_daemon "$SPID"
}

# counter SOCKET KEY
counter() { json_num "$(status_json "$1")" "$2"; }

# a. IPv6 inside
up 1 5301 udp 1400 auto auto
check "a: session up" [ $? -eq 0 ]
check "a: 10 MB client -> server over IPv6 inside, sha256 matches" \
    transfer "$NS_C" "$NS_S" "fd99:1::1"
check "a: 10 MB server -> client over IPv6 inside, sha256 matches" \
    transfer "$NS_S" "$NS_C" "fd99:1::2"
sc=$(counter "$TMP/client.sock" split) cc=$(counter "$TMP/client.sock" coalesced)
ss=$(counter "$TMP/server.sock" split) sco=$(counter "$TMP/server.sock" coalesced)
echo "# client split $sc coalesced $cc, server split $ss coalesced $sco"
check "a: both sides split super-packets and wrote coalesced frames" \
    eval '[ "${sc:-0}" -gt 0 ] && [ "${cc:-0}" -gt 0 ] && [ "${ss:-0}" -gt 0 ] &&
    [ "${sco:-0}" -gt 0 ]'

# b. UDP segmentation offload: the kernel hands the device whole UDP_SEGMENT sends.
before=$(counter "$TMP/client.sock" split)
ip netns exec "$NS_S" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
s.bind(("10.99.1.1", 9000))
s.settimeout(3)
good = bad = 0
open(sys.argv[1], "w").write("ready\n")
try:
    while good + bad < 2000:
        d = s.recv(65535)
        if len(d) == 1200 and d == bytes([d[0]]) * 1200:
            good += 1
        else:
            bad += 1
except socket.timeout:
    pass
print(good, bad)
' "$TMP/uso.ready" > "$TMP/uso.out" 2>&1 &
rpid=$!
track "$rpid"
wait_for 5 test -s "$TMP/uso.ready"
ip netns exec "$NS_C" python3 -c '
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_UDP, 103, 1200)  # UDP_SEGMENT
for i in range(200):
    s.sendto(b"".join(bytes([(i * 10 + j) % 256]) * 1200 for j in range(10)), ("10.99.1.1", 9000))
    time.sleep(0.002)
' 2> "$TMP/uso.err"
check "b: the UDP_SEGMENT sender ran" [ $? -eq 0 ]
wait "$rpid"
echo "# uso: received good/bad: $(cat "$TMP/uso.out")"
check "b: all 2000 datagrams of 1200 bytes arrive whole" [ "$(cat "$TMP/uso.out")" = "2000 0" ]
after=$(counter "$TMP/client.sock" split)
echo "# client split before $before, after $after"
check "b: the client split the UDP super-packets (200 more)" \
    [ $((${after:-0} - ${before:-0})) -ge 200 ]
check "a/b: both daemons exit 0" down

# c. a small MTU: more segments per super-packet than a batch holds
up 2 5302 udp 576 auto auto
check "c: udp, mtu 576: session up" [ $? -eq 0 ]
check "c: udp, mtu 576: 10 MB client -> server, sha256 matches" \
    transfer "$NS_C" "$NS_S" "10.99.2.1"
check "c: udp, mtu 576: 10 MB server -> client, sha256 matches" \
    transfer "$NS_S" "$NS_C" "10.99.2.2"
check "c: udp, mtu 576: the client split super-packets" \
    [ "$(counter "$TMP/client.sock" split)" -gt 0 ]
check "c: udp: both daemons exit 0" down
up 3 5303 tcp 576 auto auto
check "c: tcp, mtu 576: session up" [ $? -eq 0 ]
check "c: tcp, mtu 576: 10 MB client -> server, sha256 matches" \
    transfer "$NS_C" "$NS_S" "10.99.3.1"
check "c: tcp, mtu 576: 10 MB server -> client, sha256 matches" \
    transfer "$NS_S" "$NS_C" "10.99.3.2"
check "c: tcp: both daemons exit 0" down

# d. one side with offloads, the other without
up 4 5304 udp 1400 off auto
check "d: server off, client auto: session up" [ $? -eq 0 ]
check "d: 10 MB client (auto) -> server (off), sha256 matches" \
    transfer "$NS_C" "$NS_S" "10.99.4.1"
check "d: 10 MB server (off) -> client (auto), sha256 matches" \
    transfer "$NS_S" "$NS_C" "10.99.4.2"
check "d: the server says off, the client coalesced" \
    sh -c "'$VTUND' status --json -S '$TMP/server.sock' | grep -q '\"offload\":\"off\"' &&
        [ \"\$('$VTUND' status --json -S '$TMP/client.sock' | tr ',' '\n' |
        sed -n 's/^\"coalesced\":\([0-9]*\).*/\1/p')\" -gt 0 ]"
check "d: both daemons exit 0" down

# e. ECN
up 5 5305 udp 1400 auto auto
check "e: session up" [ $? -eq 0 ]
# ECT(0) inside -> ECT(0) outside: count datagrams to the server's port with ECN field 2.
timeout 10 ip netns exec "$NS_C" tcpdump -n -p -i "$UNDER_C" -c 3 \
    "udp dst port 5305 and (ip[1] & 3) = 2" > "$TMP/ect.out" 2>&1 &
tpid=$!
track "$tpid"
sleep 1
ip netns exec "$NS_C" ping -c 5 -i 0.2 -W 2 -Q 2 10.99.5.1 > /dev/null 2>&1
wait "$tpid"
check "e: ping with ECT(0) inside leaves in datagrams marked ECT(0) outside" \
    grep -q "3 packets captured" "$TMP/ect.out"
# Every outer datagram from the client marked CE on its way out.
ip netns exec "$NS_C" nft add table ip vtecn &&
ip netns exec "$NS_C" nft add chain ip vtecn out '{ type filter hook output priority 0; }' &&
ip netns exec "$NS_C" nft add rule ip vtecn out udp dport 5305 ip ecn set ce
check "e: nftables marks the client's outer datagrams CE" [ $? -eq 0 ]
timeout 10 ip netns exec "$NS_S" tcpdump -n -p -i vo1-5 -c 3 \
    "icmp and (ip[1] & 3) = 3" > "$TMP/ce.out" 2>&1 &
tpid=$!
track "$tpid"
sleep 1
ip netns exec "$NS_C" ping -c 5 -i 0.2 -W 2 -Q 2 10.99.5.1 > "$TMP/ping-ect.out" 2>&1
ect_rc=$?
wait "$tpid"
check "e: ECT(0) inside, CE outside: the ping arrives, marked CE inside" \
    eval '[ "$ect_rc" -eq 0 ] && grep -q "3 packets captured" "$TMP/ce.out"'
drops=$(counter "$TMP/server.sock" ecn)
ip netns exec "$NS_C" ping -c 5 -i 0.2 -W 1 10.99.5.1 > "$TMP/ping-plain.out" 2>&1
plain_rc=$?
after=$(counter "$TMP/server.sock" ecn)
echo "# ecn drops before $drops, after $after"
# (the kernel's own IPv6 packets, not ECN-capable either, may add to the count)
check "e: Not-ECT inside, CE outside: dropped (no reply), 5 or more counted as ecn drops" \
    eval '[ "$plain_rc" -ne 0 ] && [ $((${after:-0} - ${drops:-0})) -ge 5 ]'
ip netns exec "$NS_C" nft delete table ip vtecn
check "e: both daemons exit 0" down

finish
