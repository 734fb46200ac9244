#!/bin/sh
# tests/netns/reconnect.sh - the client keeps its interface and comes back by itself:
#   for UDP and TCP, the server is stopped cleanly (it sends a close) and restarted, then killed
#   with SIGKILL (no close: the client notices by its timeout) and restarted; each time the
#   client's session comes up again, pings cross, and the client's device is the same one.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/netns/lib.sh"
need_root
plan $((2 * 12)) # UDP and TCP
setup_netns
genkeys S
genkeys C

ifindex() { ip -n "$1" -o link show "$2" 2>/dev/null | cut -d: -f1; }
ups() { grep -c "session up" "$1"; }

for proto in udp tcp; do
	port=5200
	[ "$proto" = tcp ] && port=5201
	cat > "$TMP/s-$proto.conf" <<CONF
private-key = "$S_PRIV"; user = ""; listen = "0.0.0.0:$port";
control-socket = "$TMP/s-$proto.sock";
peers = { r$proto = { public-key = "$C_PUB"; proto = "$proto"; device = "vrs$proto";
	address = "10.99.20.1/30"; peer-address = "10.99.20.2"; keepalive = 1; timeout = 4; }; };
CONF
	cat > "$TMP/c-$proto.conf" <<CONF
private-key = "$C_PRIV"; user = "";
control-socket = "$TMP/c-$proto.sock";
peers = { r$proto = { public-key = "$S_PUB"; proto = "$proto"; device = "vrc$proto";
	remote = "10.98.0.1:$port"; address = "10.99.20.2/30"; peer-address = "10.99.20.1";
	keepalive = 1; timeout = 4; }; };
CONF
	# The client starts first; a ping sent while it waits for the server is kept, not lost,
	# and answered once the session is up.
	start_daemon "$NS_C" "$TMP/c-$proto.log" -f "$TMP/c-$proto.conf" client "r$proto"
	cpid=$LAST_PID
	check "$proto: the client makes its device before any server answers" \
	    wait_for 10 link_exists "$NS_C" "vrc$proto"
	ip netns exec "$NS_C" ping -c 1 -W 15 10.99.20.1 > "$TMP/early-$proto.out" 2>&1 &
	early=$!
	sleep 1
	start_daemon "$NS_S" "$TMP/s-$proto.log" -f "$TMP/s-$proto.conf" -s
	spid=$LAST_PID
	check "$proto: first session up" wait_for 15 grep -q "session up" "$TMP/c-$proto.log"
	check "$proto: a ping sent before the session was up is answered" wait "$early"
	check "$proto: ping" ping_ok "$NS_C" 10.99.20.1
	idx=$(ifindex "$NS_C" "vrc$proto")

	# A clean stop: the server says goodbye, the client retries until it is back.
	n=$(ups "$TMP/c-$proto.log")
	check "$proto: server stops cleanly" stop_daemon "$spid"
	sleep 1
	start_daemon "$NS_S" "$TMP/s2-$proto.log" -f "$TMP/s-$proto.conf" -s
	spid=$LAST_PID
	check "$proto: client back after a clean server restart" \
	    wait_for 20 sh -c "[ \$(grep -c 'session up' '$TMP/c-$proto.log') -gt $n ]"
	check "$proto: ping after the restart" wait_for 5 ping_ok "$NS_C" 10.99.20.1

	# A crash: no close message; the client's timeout notices.
	n=$(ups "$TMP/c-$proto.log")
	kill -9 "$spid"
	wait "$spid" 2>/dev/null
	start_daemon "$NS_S" "$TMP/s3-$proto.log" -f "$TMP/s-$proto.conf" -s
	spid=$LAST_PID
	check "$proto: client back after the server was killed" \
	    wait_for 30 sh -c "[ \$(grep -c 'session up' '$TMP/c-$proto.log') -gt $n ]"
	check "$proto: ping after the crash" wait_for 5 ping_ok "$NS_C" 10.99.20.1
	check "$proto: the client kept its device all along" \
	    test "$(ifindex "$NS_C" "vrc$proto")" = "$idx"
	check "$proto: client exits 0" stop_daemon "$cpid"
	check "$proto: server exits 0" stop_daemon "$spid"
done
finish
