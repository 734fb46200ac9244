#!/bin/sh
# tests/netns/faults.sh - the tunnel through a faulty underlay. This kernel has no netem: a
# seeded relay (tests/tools/impair.py) in the server's namespace forwards the client's UDP
# (and, for the TCP transport, its connection) to the server, impaired in both directions:
#   10 % loss; 25 % reordering; 5 % duplication; 50 ms +- 20 ms delay (UDP); 50 ms +- 20 ms
#   delay for the TCP transport - each time a 20 MB transfer through the tunnel completes with
#   the same sha256; duplicates are dropped by the replay window and counted as replay drops
#   (as many as the relay made), reordered packets inside the window are not dropped.
#   The underlay down for 30 s (nftables drops everything between the hosts) with keepalive 2 s
#   and timeout 10 s, so that the sessions die: after it comes back both sessions, UDP and TCP,
#   come up again by themselves and carry pings.
# Needs root (exit 77 otherwise). Run time about 2 to 3 minutes.
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/netns/lib.sh"
IMPAIR="python3 $top_srcdir/tests/tools/impair.py"
need_root
need_tools python3 nc timeout ss nft sha256sum
plan 15
setup_netns
echo "# namespaces $NS_S $NS_C, files in $TMP"
genkeys S
genkeys C
genkeys T
cat > "$TMP/s.conf" <<CONF
private-key = "$S_PRIV"; user = ""; listen = "127.0.0.1:5901";
control-socket = "$TMP/s.sock";
peers = {
	link = { public-key = "$C_PUB"; address = "10.99.1.1/30"; peer-address = "10.99.1.2";
		keepalive = 2; timeout = 10; };
	tlink = { public-key = "$T_PUB"; proto = "tcp"; address = "10.99.2.1/30";
		peer-address = "10.99.2.2"; keepalive = 2; timeout = 10; };
};
CONF
cat > "$TMP/c.conf" <<CONF
private-key = "$C_PRIV"; user = ""; control-socket = "$TMP/c.sock";
peers = { link = { public-key = "$S_PUB"; remote = "10.98.0.1:5900"; address = "10.99.1.2/30";
	peer-address = "10.99.1.1"; keepalive = 2; timeout = 10; }; };
CONF
cat > "$TMP/t.conf" <<CONF
private-key = "$T_PRIV"; user = ""; control-socket = "$TMP/t.sock";
peers = { tlink = { public-key = "$S_PUB"; proto = "tcp"; remote = "10.98.0.1:5902";
	address = "10.99.2.2/30"; peer-address = "10.99.2.1"; keepalive = 2; timeout = 10; }; };
CONF
chmod 600 "$TMP"/*.conf
DATA=$TMP/data
head -c 20000000 /dev/urandom > "$DATA"

# relay PROTO PORT ARGS...: (re)start the relay from 10.98.0.1:PORT to the server
relay() {
	_p=$1 _port=$2
	shift 2
	if [ -n "$(eval echo "\${RELAY_$_p:-}")" ]; then
		kill "$(eval echo "\$RELAY_$_p")" 2>/dev/null
		wait "$(eval echo "\$RELAY_$_p")" 2>/dev/null
	fi
	ip netns exec "$NS_S" $IMPAIR "$_p" "10.98.0.1:$_port" 127.0.0.1:5901 --seed 42 \
	    --stats "$TMP/relay-$_p.stats" "$@" &
	eval "RELAY_$_p=\$!"
	track $!
	sleep 0.3
}
# stat PROTO NAME: a counter of the relay just stopped
relay_stop() {
	kill "$(eval echo "\$RELAY_$1")" && wait "$(eval echo "\$RELAY_$1")"
	eval "RELAY_$1="
}
stat() { awk -v k="$2" '$1 == k { print $2 }' "$TMP/relay-$1.stats"; }
# drops SOCKET PEER REASON: the peer's drop counter
drops() {
	status_json "$1" | python3 -c 'import json, sys
d = json.load(sys.stdin)
print(sum(p["drops"][sys.argv[2]] for p in d["sessions"] if p["peer"] == sys.argv[1]))' "$2" "$3"
}
# through NS ADDR LABEL: the 20 MB transfer, with its time
through() {
	_t0=$(date +%s)
	transfer "$1" "$NS_S" "$2" || { echo "# $3: transfer failed"; return 1; }
	echo "# $3: 20 MB in $(($(date +%s) - _t0)) s"
}

relay udp 5900
start_daemon "$NS_S" "$TMP/s.log" -f "$TMP/s.conf" -s
SPID=$LAST_PID
start_daemon "$NS_C" "$TMP/c.log" -f "$TMP/c.conf" client link
CPID=$LAST_PID
check "udp: session up through the relay" wait_for 10 grep -q "session up" "$TMP/c.log"

relay udp 5900 --loss 0.10
check "udp, 10 % loss: 20 MB arrive intact" through "$NS_C" 10.99.1.1 "10 % loss"
relay_stop udp
echo "# relay: $(tr '\n' ' ' < "$TMP/relay-udp.stats")"

r0=$(($(drops "$TMP/s.sock" link replay) + $(drops "$TMP/c.sock" link replay)))
relay udp 5900 --reorder 0.25
check "udp, 25 % reordering: 20 MB arrive intact" through "$NS_C" 10.99.1.1 "25 % reordering"
relay_stop udp
r1=$(($(drops "$TMP/s.sock" link replay) + $(drops "$TMP/c.sock" link replay)))
echo "# relay: $(tr '\n' ' ' < "$TMP/relay-udp.stats"); replay drops $r0 -> $r1"
check "udp, 25 % reordering: $(stat udp reordered) reordered, none dropped by the window" \
    [ "$r1" -eq "$r0" -a "$(stat udp reordered)" -gt 1000 ]

relay udp 5900 --dup 0.05
check "udp, 5 % duplication: 20 MB arrive intact" through "$NS_C" 10.99.1.1 "5 % duplication"
relay_stop udp
r2=$(($(drops "$TMP/s.sock" link replay) + $(drops "$TMP/c.sock" link replay)))
dups=$(stat udp duplicated)
echo "# relay: $(tr '\n' ' ' < "$TMP/relay-udp.stats"); replay drops $r1 -> $r2"
# (a duplicate of a handshake response, should a rekey fall into this minute, is counted
# elsewhere: allow three)
check "udp, 5 % duplication: each of the $dups duplicates counted as a replay drop" \
    [ $((r2 - r1)) -le "$dups" -a $((r2 - r1)) -ge $((dups - 3)) -a "$dups" -gt 500 ]

relay udp 5900 --delay 50 --jitter 20
check "udp, 50 +- 20 ms delay: 20 MB arrive intact" through "$NS_C" 10.99.1.1 "50 +- 20 ms"
r3=$(($(drops "$TMP/s.sock" link replay) + $(drops "$TMP/c.sock" link replay)))
echo "# replay drops $r2 -> $r3"
check "udp, 50 +- 20 ms delay: nothing dropped by the replay window" [ "$r3" -eq "$r2" ]

relay tcp 5902 --delay 50 --jitter 20
start_daemon "$NS_C" "$TMP/t.log" -f "$TMP/t.conf" client tlink
TPID=$LAST_PID
check "tcp: session up through the relay" wait_for 10 grep -q "session up" "$TMP/t.log"
check "tcp, 50 +- 20 ms delay: 20 MB arrive intact" through "$NS_C" 10.99.2.1 "tcp 50 +- 20 ms"

# The underlay down for 30 s: both sessions die (timeout 10 s) and must come back alone.
relay udp 5900
down_at=$(date +%s)
ip netns exec "$NS_S" nft -f - <<NFT
table inet down { chain in { type filter hook input priority 0; iifname "$UNDER_S" drop; }
	chain out { type filter hook output priority 0; oifname "$UNDER_S" drop; }; }
NFT
check "underlay down: both sessions die" wait_for 20 sh -c \
    "grep -q 'session down' '$TMP/c.log' && grep -q 'session down' '$TMP/t.log'"
sleep $((down_at + 30 - $(date +%s)))
ip netns exec "$NS_S" nft delete table inet down
echo "# the underlay was down for $(($(date +%s) - down_at)) s"
t0=$(date +%s)
check "underlay back after 30 s: the UDP session comes up again by itself" \
    wait_for 45 sh -c "[ \$(grep -c 'session up' '$TMP/c.log') -ge 2 ]"
check "underlay back: the TCP session comes up again by itself" \
    wait_for 45 sh -c "[ \$(grep -c 'session up' '$TMP/t.log') -ge 2 ]"
echo "# both up again $(($(date +%s) - t0)) s after the underlay came back"
check "pings cross both tunnels again" eval 'ping_ok "$NS_C" 10.99.1.1 && ping_ok "$NS_C" 10.99.2.1'
check "the daemons exit 0" eval 'stop_daemon "$CPID" && stop_daemon "$TPID" && stop_daemon "$SPID"'
finish
