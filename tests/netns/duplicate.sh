#!/bin/sh
# tests/netns/duplicate.sh - two clients with one key (duplicate, vtund-ng.conf(5)), A in one
# namespace and B in another, each pinging the server through its own tunnel; keepalive 1 s,
# timeout 4 s.
#   replace (the default): B takes the session over, A takes it back after its timeout, and
#     the third contested handshake is refused as flapping; the server logs both addresses,
#     keeps the holder, and then nothing moves for 15 s: no takeover, the same endpoint in the
#     status, no ping of the holder lost; the loser logs that another client holds the
#     session and backs off.
#   refuse (after a reload): A is up, B is refused at once and A loses nothing; once A stops
#     (its CLOSE takes the session down) B gets in by itself.
#   tcp, replace: the same flapping is found (each takeover binds the newcomer's connection
#     and closes the holder's), then nothing moves for 10 s and the holder loses no ping.
# Needs root (exit 77 otherwise). Run time about 100 s.
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/netns/lib.sh"
need_root
need_tools timeout
plan 15
setup_netns
NS_B=vtb$$
add_netns "$NS_B"
ip link add "vb$$" netns "$NS_S" type veth peer name "vb$$" netns "$NS_B" || exit 1
ip -n "$NS_S" addr add 10.97.0.1/24 dev "vb$$"
ip -n "$NS_B" addr add 10.97.0.2/24 dev "vb$$"
ip -n "$NS_S" link set "vb$$" up
ip -n "$NS_B" link set "vb$$" up
echo "# namespaces $NS_S (server), $NS_C (A) and $NS_B (B), files in $TMP"
genkeys S
genkeys C
server() {
	cat <<CONF
private-key = "$S_PRIV"; user = ""; listen = "0.0.0.0:5821";
control-socket = "$TMP/s.sock";
peers = { link = { public-key = "$C_PUB"; address = "10.99.1.1/30";
	peer-address = "10.99.1.2"; keepalive = 1; timeout = 4; $1 }; };
CONF
}
# client WHO SERVER-ADDRESS [SETTINGS]
client() {
	cat <<CONF
private-key = "$C_PRIV"; user = ""; control-socket = "$TMP/$1.sock";
peers = { link = { public-key = "$S_PUB"; remote = "$2:5821"; address = "10.99.1.2/30";
	peer-address = "10.99.1.1"; keepalive = 1; timeout = 4; ${3:-} }; };
CONF
}
server "" > "$TMP/s.conf"
client a 10.98.0.1 > "$TMP/a.conf"
client b 10.97.0.1 > "$TMP/b.conf"
chmod 600 "$TMP"/*.conf
start_daemon "$NS_S" "$TMP/s.log" -f "$TMP/s.conf" -s
SPID=$LAST_PID
start_daemon "$NS_C" "$TMP/a1.log" -f "$TMP/a.conf" client link
APID=$LAST_PID
check "A: session up" wait_for 10 grep -q "session up" "$TMP/a1.log"
ip netns exec "$NS_C" ping -i 0.2 -q 10.99.1.1 > /dev/null 2>&1 &
track $!
start_daemon "$NS_B" "$TMP/b1.log" -f "$TMP/b.conf" client link
BPID=$LAST_PID
ip netns exec "$NS_B" ping -i 0.2 -q 10.99.1.1 > /dev/null 2>&1 &
track $!

check "replace: flapping found, both addresses logged" \
    wait_for 40 grep -q "two clients with one key? Keeping" "$TMP/s.log"
grep -E "takes it over|two clients" "$TMP/s.log" | sed 's/^/# server: /'
holder=$(sed -n 's/.*Keeping \([0-9.]*\):.*/\1/p' "$TMP/s.log" | head -n 1)
HNS=$NS_B LLOG=$TMP/a1.log
[ "$holder" = 10.98.0.2 ] && HNS=$NS_C LLOG=$TMP/b1.log
echo "# holder $holder"
takeovers=$(grep -c "takes it over" "$TMP/s.log")
ep0=$(status_json "$TMP/s.sock" | tr ',' '\n' | grep '"endpoint"')
ip netns exec "$HNS" ping -c 30 -i 0.5 -W 1 10.99.1.1 > "$TMP/hping.out" 2>&1
ep1=$(status_json "$TMP/s.sock" | tr ',' '\n' | grep '"endpoint"')
echo "# endpoint before: $ep0, after: $ep1; $(grep 'packet loss' "$TMP/hping.out")"
check "replace: for 15 s no takeover more" \
    [ "$(grep -c "takes it over" "$TMP/s.log")" -eq "$takeovers" ]
check "replace: the endpoint stayed with the holder $holder" \
    sh -c "[ -n '$holder' ] && [ '$ep0' = '$ep1' ] && echo '$ep1' | grep -q '\"$holder:'"
check "replace: the holder lost no ping in 15 s" grep -q " 0% packet loss" "$TMP/hping.out"
check "replace: the loser logs that another client holds the session and backs off" \
    grep -q "another client holds this link's session (the same key twice?); trying again in" \
    "$LLOG"
check "replace: the server counted the refusals as duplicate drops" \
    eval 'status_json "$TMP/s.sock" | grep -Eq "\"duplicate\":[1-9]"'
check "replace: both clients exit 0" eval 'stop_daemon "$APID" && stop_daemon "$BPID"'

# refuse
server 'duplicate = "refuse";' > "$TMP/s.conf"
kill -HUP "$SPID"
sleep 1
start_daemon "$NS_C" "$TMP/a2.log" -f "$TMP/a.conf" client link
APID=$LAST_PID
wait_for 10 grep -q "session up" "$TMP/a2.log"
start_daemon "$NS_B" "$TMP/b2.log" -f "$TMP/b.conf" client link
BPID=$LAST_PID
check "refuse: B is refused at once, the server names both addresses" \
    wait_for 10 grep -q "handshake from 10.97.0.2:[0-9]* refused: the session with \
10.98.0.2:[0-9]* is up (duplicate = refuse)" "$TMP/s.log"
check "refuse: A loses nothing meanwhile" \
    sh -c "ip netns exec '$NS_C' ping -c 10 -i 0.3 -W 1 10.99.1.1 | grep -q ' 0% packet loss'"
check "refuse: A stops (its CLOSE takes the session down) and B gets in by itself" \
    eval 'stop_daemon "$APID" && wait_for 40 grep -q "session up" "$TMP/b2.log"'

# tcp, replace: each takeover binds the newcomer's connection and closes the holder's, which
# dials again at once; the third contested handshake is refused as flapping
check "refuse: B exits 0" stop_daemon "$BPID"
server 'proto = "tcp";' > "$TMP/s.conf"
client a 10.98.0.1 'proto = "tcp";' > "$TMP/a.conf"
client b 10.97.0.1 'proto = "tcp";' > "$TMP/b.conf"
kill -HUP "$SPID"
sleep 1
flaps=$(grep -c "two clients with one key? Keeping" "$TMP/s.log")
start_daemon "$NS_C" "$TMP/a3.log" -f "$TMP/a.conf" client link
APID=$LAST_PID
wait_for 10 grep -q "session up" "$TMP/a3.log"
start_daemon "$NS_B" "$TMP/b3.log" -f "$TMP/b.conf" client link
BPID=$LAST_PID
check "tcp: flapping found" wait_for 30 sh -c \
    "[ \$(grep -c 'two clients with one key? Keeping' '$TMP/s.log') -gt $flaps ]"
holder=$(sed -n 's/.*Keeping \([0-9.]*\):.*/\1/p' "$TMP/s.log" | tail -n 1)
HNS=$NS_B
[ "$holder" = 10.98.0.2 ] && HNS=$NS_C
takeovers=$(grep -c "takes it over" "$TMP/s.log")
check "tcp: then 10 s without a takeover, and the holder $holder loses no ping" \
    sh -c "ip netns exec '$HNS' ping -c 20 -i 0.5 -W 1 10.99.1.1 | grep -q ' 0% packet loss' &&
	[ \$(grep -c 'takes it over' '$TMP/s.log') -eq $takeovers ]"
check "the daemons exit 0" eval 'stop_daemon "$APID" && stop_daemon "$BPID" &&
    stop_daemon "$SPID"'
finish
