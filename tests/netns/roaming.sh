#!/bin/sh
# tests/netns/roaming.sh - a UDP client whose address changes (its old address is removed, a new
# one appears) keeps its session: it sends from the new address, the server follows the
# endpoint of the latest authenticated packet, and traffic flows both ways again.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/netns/lib.sh"
need_root
plan 12
setup_netns
genkeys S
genkeys C
cat > "$TMP/s.conf" <<CONF
private-key = "$S_PRIV"; user = ""; listen = "0.0.0.0:5400"; control-socket = "$TMP/s.sock";
peers = { rm = { public-key = "$C_PUB"; device = "vrms";
	address = "10.99.40.1/30"; peer-address = "10.99.40.2"; keepalive = 1; timeout = 5; }; };
CONF
cat > "$TMP/c.conf" <<CONF
private-key = "$C_PRIV"; user = ""; control-socket = "$TMP/c.sock";
peers = { rm = { public-key = "$S_PUB"; device = "vrmc"; remote = "10.98.0.1:5400";
	address = "10.99.40.2/30"; peer-address = "10.99.40.1"; keepalive = 1; timeout = 5; }; };
CONF
start_daemon "$NS_S" "$TMP/s.log" -f "$TMP/s.conf" -s
SPID=$LAST_PID
start_daemon "$NS_C" "$TMP/c.log" -f "$TMP/c.conf" client rm
CPID=$LAST_PID
check "session up" wait_for 10 grep -q "session up" "$TMP/c.log"
check "ping before the move" ping_ok "$NS_C" 10.99.40.1
check "server sees the client at 10.98.0.2" \
    sh -c "'$VTUND' status -S '$TMP/s.sock' | grep -q 'endpoint: 10.98.0.2:'"

# The client moves: new address first, then the old one goes away (promote_secondaries keeps
# the new one, of the same subnet, when the old primary is removed).
ip netns exec "$NS_C" sysctl -qw "net.ipv4.conf.$UNDER_C.promote_secondaries=1"
ip -n "$NS_C" addr add 10.98.0.7/24 dev "$UNDER_C"
ip -n "$NS_C" addr del 10.98.0.2/24 dev "$UNDER_C"
check "client reaches the server from its new address" wait_for 10 ping_ok "$NS_C" 10.99.40.1
check "server follows the endpoint to 10.98.0.7" \
    wait_for 10 sh -c "'$VTUND' status -S '$TMP/s.sock' | grep -q 'endpoint: 10.98.0.7:'"
check "server reaches the client at its new address" ping_ok "$NS_S" 10.99.40.2
check "server logged the move" grep -q "endpoint now 10.98.0.7" "$TMP/s.log"
check "the session did not go down on the server" sh -c "! grep -q 'session down' '$TMP/s.log'"

# The network goes away for a while, then the client comes back with yet another address.
ip -n "$NS_C" addr del 10.98.0.7/24 dev "$UNDER_C"
sleep 2
ip -n "$NS_C" addr add 10.98.0.9/24 dev "$UNDER_C"
check "client recovers after losing its network" wait_for 15 ping_ok "$NS_C" 10.99.40.1
check "server follows the endpoint to 10.98.0.9" \
    wait_for 10 sh -c "'$VTUND' status -S '$TMP/s.sock' | grep -q 'endpoint: 10.98.0.9:'"
check "client exits 0" stop_daemon "$CPID"
check "server exits 0" stop_daemon "$SPID"
finish
