#!/bin/sh
# tests/netns/backoff.sh - a client whose server stays away tries again on the documented
# schedule (backoff.h, vtund-ng.conf(5)): at once, then after 1, 2, 4, 8 and 16 s, each wait up
# to a quarter longer, for a UDP client (its handshake initiations) and a TCP client (its
# dials), with nothing listening on the server's ports (ICMP port unreachable, TCP reset). A
# sniffer on the server's veth records when each initiation or SYN arrives. Then the server
# starts, and the next try brings each session up by itself.
# Needs root (exit 77 otherwise). Run time about 45 s.
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/netns/lib.sh"
need_root
need_tools python3
plan 8
setup_netns
echo "# namespaces $NS_S $NS_C, files in $TMP"
genkeys S
genkeys U
genkeys T
cat > "$TMP/s.conf" <<CONF
private-key = "$S_PRIV"; user = ""; listen = "10.98.0.1:5801";
control-socket = "$TMP/s.sock";
peers = {
	u = { public-key = "$U_PUB"; proto = "udp"; address = "10.99.1.1/30";
		peer-address = "10.99.1.2"; };
	t = { public-key = "$T_PUB"; proto = "tcp"; address = "10.99.2.1/30";
		peer-address = "10.99.2.2"; };
};
CONF
for p in u t; do
	proto=udp net=1
	[ "$p" = t ] && proto=tcp net=2
	cat > "$TMP/$p.conf" <<CONF
private-key = "$(eval echo "\$$(echo "$p" | tr ut UT)_PRIV")"; user = "";
control-socket = "$TMP/$p.sock";
peers = { $p = { public-key = "$S_PUB"; proto = "$proto"; remote = "10.98.0.1:5801";
	address = "10.99.$net.2/30"; peer-address = "10.99.$net.1"; }; };
CONF
done
chmod 600 "$TMP"/*.conf

# The sniffer: one line "udp|tcp SECONDS" for each UDP datagram and each SYN to port 5801.
ip netns exec "$NS_S" python3 -c '
import socket, struct, sys, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
s.bind((sys.argv[1], 0))
t0 = time.monotonic()
while time.monotonic() - t0 < 120:
    f = s.recv(2048)
    ip = f[14:]
    if len(ip) < 24 or ip[0] >> 4 != 4:
        continue
    h = (ip[0] & 15) * 4
    dport = struct.unpack("!H", ip[h + 2:h + 4])[0]
    if dport != 5801:
        continue
    if ip[9] == 17:
        print("udp %.3f" % (time.monotonic() - t0), flush=True)
    elif ip[9] == 6 and ip[h + 13] & 0x12 == 0x02:
        print("tcp %.3f" % (time.monotonic() - t0), flush=True)
' "$UNDER_S" > "$TMP/tries" 2>&1 &
track $!
sleep 0.5
start_daemon "$NS_C" "$TMP/u.log" -f "$TMP/u.conf" client u
UPID=$LAST_PID
start_daemon "$NS_C" "$TMP/t.log" -f "$TMP/t.conf" client t
TPID=$LAST_PID

tries() { grep -c "^$1 " "$TMP/tries"; }
# gaps PROTO: the waits between its tries so far, in ms, one per line
gaps() {
	awk -v p="$1" '$1 == p { if (n++) printf "%d\n", ($2 - last) * 1000 + 0.5; last = $2 }' \
	    "$TMP/tries"
}
# follows PROTO N: the first N gaps are 1, 2, 4, 8, 16 s, each up to a quarter longer (and
# 100 ms early or 300 ms late for the sniffer and the timers of a loaded machine)
follows() {
	gaps "$1" | head -n "$2" | awk -v n="$2" '
	    { base = 1000 * 2 ^ (NR - 1); if ($1 < base - 100 || $1 > base * 1.25 + 300) bad = 1 }
	    END { exit (bad || NR != n) }'
}
check "both clients try at once and again, five times within 25 s" \
    wait_for 25 sh -c "[ \$(grep -c '^udp ' '$TMP/tries') -ge 5 ] &&
	[ \$(grep -c '^tcp ' '$TMP/tries') -ge 5 ]"
echo "# udp waits (ms): $(gaps udp | tr '\n' ' ')"
echo "# tcp waits (ms): $(gaps tcp | tr '\n' ' ')"
check "udp: the waits are 1, 2, 4, 8 s, each up to a quarter longer" follows udp 4
check "tcp: the waits are 1, 2, 4, 8 s, each up to a quarter longer" follows tcp 4
check "tcp: the client logs its next dial" grep -Eq "peer t: reconnecting in (8|9)\\." "$TMP/t.log"
# The server comes up before the sixth try (16 s after the fifth, up to 20).
start_daemon "$NS_S" "$TMP/s.log" -f "$TMP/s.conf" -s
SPID=$LAST_PID
check "udp: the next try brings the session up" wait_for 30 grep -q "session up" "$TMP/u.log"
check "tcp: the next try brings the session up" wait_for 30 grep -q "session up" "$TMP/t.log"
echo "# udp waits (ms): $(gaps udp | tr '\n' ' ')"
echo "# tcp waits (ms): $(gaps tcp | tr '\n' ' ')"
check "the sixth wait was 16 s and a quarter at most, for both" \
    eval 'follows udp 5 && follows tcp 5'
check "all daemons exit 0" eval 'stop_daemon "$UPID" && stop_daemon "$TPID" &&
    stop_daemon "$SPID"'
finish
