#!/bin/sh
# tests/netns/defects.sh - the engine defects an independent review found at b3eff8e, and the
# weaknesses an independent implementation of the protocol showed, each tried against the
# daemon as an attacker would. Each defect's checks fail at b3eff8e (2 only in a sanitizer
# build: a plain one survives the overflow and still answers).
#   1. two valid initiations for two TCP peers on one connection (as recorded before a server
#      restart and replayed after it): no use-after-free, no peer loses its connection, and an
#      initiation alone never binds a connection;
#   2. a 129-byte control request: an error reply, no stack overflow;
#   3. one host opening connection after connection cannot get a slow real client's connection
#      closed before its initiation is read; an unidentified connection costs a few KiB;
#   4. a compromised engine sets its devices persistent and owned by it: they are gone anyway
#      when the daemon stops, and the next start works;
#   6. a burst of small packets over TCP is delivered whole, with nothing stuck in the buffer;
#   7. control clients holding every descriptor cannot make the engine spin or refuse peers;
#   8. `status --json` for an unknown peer exits 1;
#   w1. a flood of valid-mac1 garbage spoofing a client's address does not starve that client's
#      handshakes (no per-source limit unless under load);
#   w2. 200 such initiations a second are not "load": a new client gets in without a cookie;
#   w3. an initiation alone (never confirmed: a wrong preshared key, or the wrong transport)
#      does not move a peer's endpoint;
#   x. without a user setting a root daemon never parses network input as root (the default
#      user, or nobody when it is missing), and inline keys in a file others may read are
#      warned about.
# (5, a stale close, is a unit test: test_session test_close_under_previous_keys.)
# Needs root (exit 77 otherwise), nc, python3, prlimit. Run time about 60 s.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/netns/lib.sh"
need_root
VT_ATTACK=${VT_ATTACK:-$(dirname "$VTUND")/tests/tools/vt-attack}
for _t in nc python3 prlimit; do
	command -v "$_t" >/dev/null 2>&1 || { echo "not ok - $_t is missing"; exit 1; }
done
plan 29
setup_netns

PORT=5000
SADDR=10.98.0.1
untrack() { PIDS=$(echo " $PIDS " | sed "s/ $1 / /"); }
show_log() { sed 's/^/#   /' "$1"; }
peer_json() { "$VTUND" status --json -S "$TMP/s.sock" "$1"; }
peer_num() {
	_v=$(json_num "$(peer_json "$1" | sed 's/"drops_without_session".*//')" "$2")
	echo "${_v:-0}"
}
endpoint() { peer_json "$1" | sed -n 's/.*"endpoint":"\([^"]*\)".*/\1/p'; }
state() { peer_json "$1" | sed -n 's/.*"state":"\([^"]*\)".*/\1/p'; }
engine_of() { pgrep -P "$1" | head -1; }
# cpu_ticks PID: user + system time of a process, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

genkeys S
genkeys A  # alice: UDP client
genkeys B  # bob: TCP client
genkeys C  # carol: TCP, only her key is used (by the attacker)
genkeys D  # dave: UDP, only his key is used
cat > "$TMP/s.conf" <<EOF
listen = "0.0.0.0:$PORT";
private-key = "$S_PRIV";
control-socket = "$TMP/s.sock";
user = "nobody";
log-level = "debug";
peers = {
	alice = { public-key = "$A_PUB"; proto = "udp"; device = "vda$$";
		address = "10.99.1.1/30"; peer-address = "10.99.1.2"; };
	bob = { public-key = "$B_PUB"; proto = "tcp"; device = "vdb$$"; keepalive = 0;
		address = "10.99.2.1/30"; peer-address = "10.99.2.2"; };
	carol = { public-key = "$C_PUB"; proto = "tcp"; device = "vdc$$";
		address = "10.99.3.1/30"; peer-address = "10.99.3.2"; };
	dave = { public-key = "$D_PUB"; proto = "udp"; device = "vdd$$";
		address = "10.99.4.1/30"; peer-address = "10.99.4.2"; };
};
EOF
client_conf() { # NAME PRIV PROTO NET EXTRA
	cat > "$TMP/$1.conf" <<EOF
private-key = "$2";
control-socket = "$TMP/$1.sock";
user = "";
peers = { $1 = { public-key = "$S_PUB"; proto = "$3"; remote = "$SADDR:$PORT";
	device = "vc$1"; address = "$4.2/30"; peer-address = "$4.1"; ${5:-} }; };
EOF
}
client_conf alice "$A_PRIV" udp 10.99.1
client_conf bob "$B_PRIV" tcp 10.99.2 "keepalive = 0;"
chmod 0755 "$TMP"
ip -n "$NS_C" addr add 10.98.0.3/24 dev "$UNDER_C"
for _i in 11 12 13 14 15 16 17 18; do ip -n "$NS_C" addr add "10.98.0.$_i/24" dev "$UNDER_C"; done

start_daemon "$NS_S" "$TMP/s.log" -f "$TMP/s.conf" -s
SPID=$LAST_PID
wait_for 5 grep -q -w ready "$TMP/s.log"
ENG=$(engine_of "$SPID")
start_daemon "$NS_C" "$TMP/alice.log" -f "$TMP/alice.conf" client alice
ALICE=$LAST_PID
start_daemon "$NS_C" "$TMP/bob.log" -f "$TMP/bob.conf" client bob
BOB=$LAST_PID
wait_for 10 sh -c "grep -q 'session up' '$TMP/alice.log' && grep -q 'session up' '$TMP/bob.log'"
both_ping() { ping_ok "$NS_C" 10.99.1.1 && ping_ok "$NS_C" 10.99.2.1 && [ -n "$ENG" ]; }
check "setup: alice (udp) and bob (tcp) are up, the server's engine is ${ENG:-missing}" both_ping
BOB_EP=$(endpoint bob)
ALICE_EP=$(endpoint alice)

# --- 1. two initiations on one connection ----------------------------------------------------
out=$(ip netns exec "$NS_C" "$VT_ATTACK" initiate "$SADDR" "$PORT" --tcp --bind 10.98.0.3 \
    --server-pub "$S_PUB" --key "$B_PRIV:bob" --key "$C_PRIV:carol" --wait 500 2>&1)
echo "# $out"
sleep 0.5
check "1: two initiations on one connection were answered, and the server is alive" \
    sh -c "echo '$out' | grep -q 'sent 2, 2 responses' && kill -0 $ENG"
check "1: bob keeps his connection ($BOB_EP, now $(endpoint bob))" [ "$(endpoint bob)" = "$BOB_EP" ]
check "1: bob's tunnel works both ways (the server writes to his connection)" \
    sh -c "ip netns exec $NS_S ping -c 3 -i 0.2 -W 2 10.99.2.2 >/dev/null"
check "1: carol got no session from an unconfirmed initiation ($(state carol))" \
    [ "$(state carol)" = down ]

# --- 2. a control request one byte too long --------------------------------------------------
reply=$(printf '%0129d\n' 0 | ip netns exec "$NS_S" timeout 5 nc -U -N "$TMP/s.sock" 2>&1)
echo "# reply: $reply"
check "2: a 129-byte control request gets an error reply" \
    sh -c "echo '$reply' | grep -q '^error'"
check "2: the engine is alive and status answers" \
    sh -c "kill -0 $ENG && '$VTUND' status -S '$TMP/s.sock' bob >/dev/null"

# --- 3. one host opens connection after connection -------------------------------------------
# A slow real client connects from 10.98.0.2 and sends its initiation after 2 s; meanwhile
# 10.98.0.3 opens 80 connections every 0.3 s. Only 32 of one source's connections are kept,
# and the oldest of the source holding the most goes: never the slow client's.
ip netns exec "$NS_C" sh -c "end=\$((\$(date +%s) + 3)); while [ \$(date +%s) -lt \$end ]; do
    '$VT_INJECT' hold $SADDR $PORT --count 80 --max-time 0.3 --bind 10.98.0.3 >/dev/null; done" &
FLOOD=$!
track "$FLOOD"
out=$(ip netns exec "$NS_C" "$VT_ATTACK" initiate "$SADDR" "$PORT" --tcp --bind 10.98.0.2 \
    --server-pub "$S_PUB" --key "$C_PRIV:carol" --delay 2000 --wait 1000 2>&1)
echo "# slow client: $out"
wait "$FLOOD"
untrack "$FLOOD"
check "3: the slow client's initiation is answered on its connection" \
    sh -c "echo '$out' | grep -q 'sent 1, 1 responses.*connection open'"
# The cost of unidentified connections: 256 held from 8 sources, the engine's memory.
rss() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
r0=$(rss "$ENG")
binds=""
for _i in 11 12 13 14 15 16 17 18; do binds="$binds --bind 10.98.0.$_i"; done
# shellcheck disable=SC2086
ip netns exec "$NS_C" "$VT_INJECT" hold "$SADDR" "$PORT" --count 256 --max-time 3 $binds \
    > "$TMP/hold.out" 2>&1 &
HOLD=$!
track "$HOLD"
sleep 2
r1=$(rss "$ENG")
wait "$HOLD"
untrack "$HOLD"
echo "# $(cat "$TMP/hold.out"); engine RSS $r0 -> $r1 kB"
check "3: 256 unidentified connections cost the engine under 8 MB ($((r1 - r0)) kB)" \
    [ $((r1 - r0)) -lt 8192 ]

# --- 6. a burst over TCP -----------------------------------------------------------------------
# The server's engine is stopped while bob's client sends, so that all 600 messages wait in its
# socket and come in one read: more than one turn of the engine takes.
rx0=$(peer_num bob rx_packets)
kill -STOP "$ENG"
ip netns exec "$NS_C" python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(600):
    s.sendto(b"x", ("10.99.2.1", 9))'
sleep 1
kill -CONT "$ENG"
sleep 2
rx1=$(peer_num bob rx_packets)
# (at least: a keepalive or the kernel's own packets may come with them; a stall leaves 344)
check "6: 600 tiny packets sent in a burst over TCP all reach the device ($((rx1 - rx0)))" \
    [ $((rx1 - rx0)) -ge 600 ]

# --- 7. control clients holding the descriptors --------------------------------------------
prlimit --pid "$ENG" --nofile=64:64
ip netns exec "$NS_S" python3 -c '
import socket, sys, time
held = []
for i in range(200):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.setblocking(False)
    try:
        s.connect(sys.argv[1])
    except OSError:
        pass
    held.append(s)
time.sleep(8)' "$TMP/s.sock" &
HOLDERS=$!
track "$HOLDERS"
sleep 1
t0=$(cpu_ticks "$ENG")
stop_daemon "$BOB"
start_daemon "$NS_C" "$TMP/bob2.log" -f "$TMP/bob.conf" client bob
BOB=$LAST_PID
sleep 3
t1=$(cpu_ticks "$ENG")
check "7: the engine does not spin while control clients hold its descriptors ($((t1 - t0)) ticks in 3 s)" \
    [ $((t1 - t0)) -lt 100 ]
check "7: a TCP peer connects meanwhile" wait_for 5 grep -q "session up" "$TMP/bob2.log"
kill "$HOLDERS" 2>/dev/null
wait "$HOLDERS" 2>/dev/null
untrack "$HOLDERS"
check "7: status answers again once they are gone" \
    wait_for 10 sh -c "'$VTUND' status -S '$TMP/s.sock' bob >/dev/null"

# --- 8. status of an unknown peer --------------------------------------------------------------
"$VTUND" status --json -S "$TMP/s.sock" nosuchpeer > "$TMP/unknown.out" 2>&1
check "8: status --json nosuchpeer exits 1" [ $? -eq 1 ]
"$VTUND" status -S "$TMP/s.sock" nosuchpeer > "$TMP/unknown.out" 2>&1
check "8: status nosuchpeer exits 1" [ $? -eq 1 ]

# --- w1. a spoofed flood does not starve a client ----------------------------------------------
ip netns exec "$NS_C" "$VT_INJECT" flood "$SADDR" "$PORT" --server-pub "$S_PUB" --count 600 \
    --rate 60 --bind 10.98.0.2 > "$TMP/w1.out" 2>&1 &
FLOOD=$!
track "$FLOOD"
sleep 1
answered=0
for _i in 1 2 3 4 5 6 7 8; do
	o=$(ip netns exec "$NS_C" "$VT_ATTACK" initiate "$SADDR" "$PORT" --bind 10.98.0.2 \
	    --server-pub "$S_PUB" --key "$D_PRIV:dave" --wait 500 2>&1)
	case $o in *", 1 responses"*) answered=$((answered + 1)) ;; esac
	sleep 0.3
done
wait "$FLOOD"
untrack "$FLOOD"
echo "# $(cat "$TMP/w1.out")"
check "w1: all 8 handshakes of a client answered while its address is spoofed at 60/s ($answered)" \
    [ "$answered" -eq 8 ]

# --- w2. 200 garbage initiations a second are not load ---------------------------------------
# A fixed count of 64 a second (b3eff8e) puts 68 % of every second under load at this rate: five
# tries all answered without a cookie would pass by chance 3 times in 1000.
ip netns exec "$NS_C" "$VT_INJECT" flood "$SADDR" "$PORT" --server-pub "$S_PUB" --count 1400 \
    --rate 200 --bind 10.98.0.3 > "$TMP/w2.out" 2>&1 &
FLOOD=$!
track "$FLOOD"
sleep 2
plain=0
for _i in 1 2 3 4 5; do
	o=$(ip netns exec "$NS_C" "$VT_ATTACK" initiate "$SADDR" "$PORT" --bind 10.98.0.2 \
	    --server-pub "$S_PUB" --key "$D_PRIV:dave" --wait 500 2>&1)
	echo "# $o"
	echo "$o" | grep -q ', 1 responses, 0 cookie replies' && plain=$((plain + 1))
	sleep 0.3
done
check "w2: a new client is answered at once, without a cookie, during a 200/s flood ($plain of 5)" \
    [ "$plain" -eq 5 ]
wait "$FLOOD"
untrack "$FLOOD"

# --- w3. an initiation alone moves nothing ---------------------------------------------------
o=$(ip netns exec "$NS_C" "$VT_ATTACK" initiate "$SADDR" "$PORT" --bind 10.98.0.3 \
    --server-pub "$S_PUB" --key "$A_PRIV:alice" --wait 500 2>&1)
echo "# $o"
check "w3: a valid but unconfirmed initiation from elsewhere is answered (${o##*: })" \
    sh -c "echo '$o' | grep -q ', 1 responses'"
check "w3: ... and alice's endpoint stays ($ALICE_EP, now $(endpoint alice))" \
    [ "$(endpoint alice)" = "$ALICE_EP" ]
m0=$(peer_num alice mismatch)
o=$(ip netns exec "$NS_C" "$VT_ATTACK" initiate "$SADDR" "$PORT" --tcp --bind 10.98.0.3 \
    --server-pub "$S_PUB" --key "$A_PRIV:alice" --wait 500 2>&1)
echo "# $o"
check "w3: alice's key over TCP (her link is UDP) is refused, counted as a mismatch, logged" \
    sh -c "[ $(peer_num alice mismatch) -gt $m0 ] && grep -q 'peer alice: handshake from \
10.98.0.3:[0-9]* over tcp, but the link is udp only: refused' '$TMP/s.log'"
check "w3: ... and alice's endpoint stays, her tunnel works" \
    sh -c "[ '$(endpoint alice)' = '$ALICE_EP' ] &&
    ip netns exec $NS_C ping -c 2 -i 0.2 -W 2 10.99.1.1 >/dev/null"

# --- x. the defaults of a root daemon ------------------------------------------------------
cat > "$TMP/x.conf" <<EOF
listen = "127.0.0.1:$((PORT + 7))"; private-key = "$S_PRIV"; control-socket = "$TMP/x.sock";
peers = { xp = { public-key = "$D_PUB"; device = "vdx$$"; }; };
EOF
chmod 0644 "$TMP/x.conf"
start_daemon "$NS_S" "$TMP/x.log" -f "$TMP/x.conf" -s
XPID=$LAST_PID
wait_for 5 grep -q -w ready "$TMP/x.log"
XENG=$(engine_of "$XPID")
xuid=$(awk '/^Uid:/ {print $2}' "/proc/${XENG:-0}/status" 2>/dev/null)
check "x: without a user setting the engine is not root (uid ${xuid:-none})" \
    sh -c "[ -n '$xuid' ] && [ '$xuid' != 0 ]"
check "x: an inline private key in a file others may read is warned about" \
    grep -q "holds a private or preshared key and its group or others may read it" "$TMP/x.log"
stop_daemon "$XPID"
untrack "$XPID"

# --- 4. the engine makes its devices persistent ------------------------------------------------
out=$("$VT_ATTACK" tun-persist "$ENG" 2>&1)
echo "# $out"
check "4: the test could act as a compromised engine ($out)" \
    sh -c "echo '$out' | grep -q 'tun-persist: 4 devices'"
check "4: the server stops cleanly" stop_daemon "$SPID"
untrack "$SPID"
check "4: every device it created is gone, persistent or not" \
    sh -c "! ip -n $NS_S link show vda$$ 2>/dev/null && ! ip -n $NS_S link show vdb$$ 2>/dev/null &&
    ! ip -n $NS_S link show vdc$$ 2>/dev/null && ! ip -n $NS_S link show vdd$$ 2>/dev/null"
start_daemon "$NS_S" "$TMP/s2.log" -f "$TMP/s.conf" -s
SPID=$LAST_PID
check "4: the next start works" wait_for 10 grep -q -w "ready" "$TMP/s2.log"
check "4: and alice's session comes back" \
    wait_for 30 sh -c "'$VTUND' status -S '$TMP/s.sock' alice | grep -q established"
stop_all() { stop_daemon "$ALICE" && stop_daemon "$BOB" && stop_daemon "$SPID"; }
check "clients and server exit 0" stop_all
if [ "$failed" -gt 0 ]; then
	echo "# server log (last 60 lines):"
	tail -60 "$TMP/s.log" | sed 's/^/#   /'
	tail -30 "$TMP/s2.log" 2>/dev/null | sed 's/^/#   /'
fi
finish
