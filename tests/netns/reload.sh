#!/bin/sh
# tests/netns/reload.sh - hitless reload, as an administrator uses it. A server (-s, engine
# running as nobody, under a stand-in for systemd's notify socket) with five peers, their
# clients in the other namespace:
#   - ten reloads (SIGHUP), each adding or removing a spare peer and changing a keepalive in
#     place, while a 20 ms ping through an untouched peer and an iperf3 through another run:
#     not one ping is lost, no iperf3 second carries nothing, the untouched sessions and
#     devices stay (same handshake count, same interface index);
#   - each reload says RELOADING=1 then READY=1 to the notify socket;
#   - `vtund-ng reload` removes a peer (its client is told: a close; its device is gone; its
#     down hook ran), adds a peer (a device appears, its client connects), and restarts a
#     changed one (a new cipher: it reconnects with it), and prints what changed;
#   - a broken file changes nothing: exit 1, every error as file:line in the log, everything
#     still up; a changed listen address is logged as needing a restart and left as it was;
#   - without privilege separation (user = ""), SIGHUP adds a peer the same way.
# Needs root (exit 77 otherwise), iperf3, python3. Run time about 60 s.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/netns/lib.sh"
need_root
for _t in iperf3 python3 ss; do
	command -v "$_t" >/dev/null 2>&1 || { echo "not ok - $_t is missing"; exit 1; }
done
plan 30
setup_netns

PORT=5000
SADDR=10.98.0.1
untrack() { PIDS=$(echo " $PIDS " | sed "s/ $1 / /"); }
show_log() { sed 's/^/#   /' "$1"; }
sj() { "$VTUND" status --json -S "$TMP/s.sock" "$1" 2>/dev/null; }
state() { sj "$1" | sed -n 's/.*"state":"\([^"]*\)".*/\1/p'; }
num() {
	_v=$(json_num "$(sj "$1" | sed 's/"drops_without_session".*//')" "$2")
	echo "${_v:-0}"
}
ifidx() { ip -n "$1" -o link show "$2" 2>/dev/null | cut -d: -f1; }
chmod 0755 "$TMP"
for n in S A B G D E X; do genkeys "$n"; done

# peer NAME PUB PROTO NET EXTRA: one server-side peer block
peer() {
	echo "	$1 = { public-key = \"$2\"; proto = \"$3\"; device = \"vs$1\";"
	echo "		address = \"$4.1/30\"; peer-address = \"$4.2\"; ${5:-} };"
}
# server_conf: the server's file from BETA (yes/no), GAMMA (its extra settings), EXTRA (more
# peers) and LISTEN; written at once, as an editor would.
BETA=yes GAMMA="" EXTRA="" LISTEN=$PORT
server_conf() {
	{
		echo "listen = \"0.0.0.0:$LISTEN\";"
		echo "private-key = \"$S_PRIV\";"
		echo "control-socket = \"$TMP/s.sock\";"
		echo "user = \"nobody\";"
		echo "peers = {"
		peer alpha "$A_PUB" udp 10.99.1
		[ "$BETA" = yes ] && peer beta "$B_PUB" tcp 10.99.2 \
		    "down = [\"/bin/sh\", \"-c\", \"echo %p > $TMP/down.%p\"];"
		peer gamma "$G_PUB" udp 10.99.3 "$GAMMA"
		peer eps "$E_PUB" udp 10.99.5
		echo "$EXTRA"
		echo "};"
	} > "$TMP/s.conf.new"
	mv "$TMP/s.conf.new" "$TMP/s.conf"
}
client_conf() { # NAME PRIV PROTO NET EXTRA
	cat > "$TMP/$1.conf" <<EOF
private-key = "$2";
control-socket = "$TMP/$1.sock";
user = "";
peers = { $1 = { public-key = "$S_PUB"; proto = "$3"; remote = "$SADDR:$PORT";
	device = "vc$1"; address = "$4.2/30"; peer-address = "$4.1"; ${5:-} }; };
EOF
}
client_conf alpha "$A_PRIV" udp 10.99.1
client_conf beta "$B_PRIV" tcp 10.99.2
client_conf gamma "$G_PRIV" udp 10.99.3
client_conf delta "$D_PRIV" udp 10.99.4
client_conf eps "$E_PRIV" udp 10.99.5
server_conf

# A stand-in for systemd's notify socket.
notify_socket "$TMP/notify" "$TMP/notify.log"
ip netns exec "$NS_S" env NOTIFY_SOCKET="$TMP/notify" "$VTUND" -n -f "$TMP/s.conf" -s \
    > "$TMP/s.log" 2>&1 &
SPID=$!
track "$SPID"
for c in alpha beta gamma eps; do
	start_daemon "$NS_C" "$TMP/$c.log" -f "$TMP/$c.conf" client "$c"
	eval "${c}_pid=\$LAST_PID"
done
all_up() { for c in alpha beta gamma eps; do [ "$(state $c)" = established ] || return 1; done; }
up_and_ready() { wait_for 15 all_up && grep -q '^READY=1' "$TMP/notify.log"; }
check "four peers up, READY=1 sent" up_and_ready

# --- ten reloads under traffic ----------------------------------------------------------------
h0=$(num alpha handshakes)
idx0=$(ifidx "$NS_S" vsalpha)
ip netns exec "$NS_S" iperf3 -s -1 -B 10.99.5.1 -p 5201 > "$TMP/iperf-s.log" 2>&1 &
IPS=$!
track "$IPS"
wait_for 5 sh -c "ip netns exec $NS_S ss -Hltn 'sport = :5201' | grep -q ."
ip netns exec "$NS_C" ping -n -i 0.02 -c 750 -W 1 10.99.1.1 > "$TMP/ping.log" 2>&1 &
PING=$!
track "$PING"
ip netns exec "$NS_C" iperf3 -c 10.99.5.1 -p 5201 -t 14 -i 1 -b 200M -f m \
    > "$TMP/iperf.log" 2>&1 &
IPC=$!
track "$IPC"
sleep 1
spare=$(peer spare "$X_PUB" udp 10.99.9)
n_ok=0
for i in 1 2 3 4 5 6 7 8 9 10; do
	EXTRA="" GAMMA="keepalive = $((10 + i));"
	[ $((i % 2)) -eq 1 ] && EXTRA=$spare
	server_conf
	n0=$(grep -c '^READY=1' "$TMP/notify.log")
	kill -HUP "$SPID"
	if wait_for 5 sh -c "[ \$(grep -c '^READY=1' '$TMP/notify.log') -gt $n0 ]"; then
		n_ok=$((n_ok + 1))
	fi
	sleep 0.9
done
wait "$PING"
untrack "$PING"
wait "$IPC"
_irc=$?
untrack "$IPC"
wait "$IPS" 2>/dev/null
untrack "$IPS"
tail -3 "$TMP/ping.log" | sed 's/^/# /'
check "10 reloads, each answered with READY=1 ($n_ok)" [ "$n_ok" -eq 10 ]
check "each reload first said RELOADING=1" \
    [ "$(grep -c 'RELOADING=1' "$TMP/notify.log")" -ge 10 ]
check "the spare peer came and went: its device is gone after the last reload" \
    sh -c "grep -q 'peer spare: device vsspare up' '$TMP/s.log' && ! ip -n $NS_S link show vsspare >/dev/null 2>&1"
check "not one of 750 pings at 20 ms through the untouched peer was lost" \
    grep -q '750 packets transmitted, 750 received, 0% packet loss' "$TMP/ping.log"
# The rate of each one-second interval (not the summary lines): the field before Mbits/sec.
rates() {
	awk '/Mbits\/sec/ && !/sender|receiver/ {
		for (i = 2; i <= NF; i++) if ($i == "Mbits/sec") print $(i - 1) }' "$TMP/iperf.log"
}
secs=$(rates | wc -l)
stalls=$(rates | awk '$1 + 0 == 0' | wc -l)
echo "# iperf3: $secs one-second intervals, $stalls with nothing; exit $_irc"
no_stall() { [ "$_irc" -eq 0 ] && [ "$secs" -ge 12 ] && [ "$stalls" -eq 0 ]; }
check "iperf3 through another untouched peer never stalled ($secs intervals)" no_stall
check "the untouched session stayed: no new handshake ($h0 -> $(num alpha handshakes))" \
    [ "$(num alpha handshakes)" -eq "$h0" ]
check "the untouched device stayed (index $idx0)" [ "$(ifidx "$NS_S" vsalpha)" = "$idx0" ]
check "a keepalive change applied in place: gamma's session was not restarted" \
    sh -c "! grep -q 'peer gamma: settings changed' '$TMP/s.log' && ! grep -q 'session down' '$TMP/gamma.log'"

# --- remove, add, change -----------------------------------------------------------------------
BETA=no EXTRA=$(peer delta "$D_PUB" udp 10.99.4) GAMMA='cipher = "chacha20-poly1305";'
server_conf
out=$("$VTUND" reload -S "$TMP/s.sock" 2>&1)
rc=$?
echo "# reload: $out"
check "vtund-ng reload exits 0 and says what changed" \
    sh -c "[ $rc -eq 0 ] && echo '$out' | grep -q '1 added, 1 removed, 1 restarted'"
check "the removed peer's device is gone" sh -c "! ip -n $NS_S link show vsbeta >/dev/null 2>&1"
check "its down hook ran" test -f "$TMP/down.beta"
check "its client was told: a close" \
    wait_for 5 grep -q "peer beta: session down (closed by the peer)" "$TMP/beta.log"
check "the added peer's device is there" link_exists "$NS_S" vsdelta
start_daemon "$NS_C" "$TMP/delta.log" -f "$TMP/delta.conf" client delta
delta_pid=$LAST_PID
check "the added peer's client connects" wait_for 10 grep -q "session up" "$TMP/delta.log"
check "and its tunnel works" ping_ok "$NS_C" 10.99.4.1
sed -i 's/device = "vcgamma";/device = "vcgamma"; cipher = "chacha20-poly1305";/' "$TMP/gamma.conf"
kill -HUP "$gamma_pid"
check "the changed peer reconnects with its new cipher (client reloaded too)" \
    wait_for 15 sh -c "'$VTUND' status -S '$TMP/s.sock' gamma | grep -q 'established' &&
    '$VTUND' status -S '$TMP/s.sock' gamma | grep -q 'cipher: chacha20-poly1305'"
check "gamma's tunnel works" ping_ok "$NS_C" 10.99.3.1
check "the client's reload restarted its session on the same device" \
    grep -q "peer gamma: settings changed, starting the session again" "$TMP/gamma.log"
stop_daemon "$beta_pid"
untrack "$beta_pid"

# --- what a reload must not do -----------------------------------------------------------------
printf 'mtu = 1400;\nbogus-key = 1;\n' >> "$TMP/s.conf"
h1=$(num alpha handshakes)
out=$("$VTUND" reload -S "$TMP/s.sock" 2>&1)
rc=$?
echo "# reload: $out"
check "a broken file: vtund-ng reload exits 1 and says nothing changed" \
    sh -c "[ $rc -eq 1 ] && echo '$out' | grep -q 'nothing changed'"
check "the log names file and line" grep -q "$TMP/s.conf:[0-9]*: " "$TMP/s.log"
check "everything still up: pings through alpha, delta and gamma" \
    sh -c "ip netns exec $NS_C ping -c 2 -i 0.2 -W 2 10.99.1.1 >/dev/null &&
    ip netns exec $NS_C ping -c 2 -i 0.2 -W 2 10.99.4.1 >/dev/null &&
    ip netns exec $NS_C ping -c 2 -i 0.2 -W 2 10.99.3.1 >/dev/null"
check "no session restarted ($h1 -> $(num alpha handshakes))" [ "$(num alpha handshakes)" -eq "$h1" ]
LISTEN=$((PORT + 1))
server_conf
out=$("$VTUND" reload -S "$TMP/s.sock" 2>&1)
check "a new listen address needs a restart: logged, and the old one stays" \
    sh -c "grep -q 'reload: listen changed: that needs a restart' '$TMP/s.log' &&
    ip netns exec $NS_S ss -Hlun 'sport = :$PORT' | grep -q ."
check "the server still runs after all that" kill -0 "$SPID"
check "SIGTERM: the server exits 0" stop_daemon "$SPID"
untrack "$SPID"
check "its devices are gone" \
    sh -c "! ip -n $NS_S link show vsalpha >/dev/null 2>&1 && ! ip -n $NS_S link show vsdelta >/dev/null 2>&1"
for c in alpha gamma eps delta; do
	eval "_p=\$${c}_pid"
	stop_daemon "$_p"
	untrack "$_p"
done

# --- the same without privilege separation ---------------------------------------------------
# rconf [MORE]: a one-process server
rconf() {
	cat > "$TMP/r.conf" <<EOF
listen = "0.0.0.0:$((PORT + 10))"; private-key = "$S_PRIV"; control-socket = "$TMP/r.sock";
user = "";
peers = {
$(peer alpha "$A_PUB" udp 10.99.11)
${1:-}
};
EOF
}
rconf
start_daemon "$NS_S" "$TMP/r.log" -f "$TMP/r.conf" -s
RPID=$LAST_PID
wait_for 5 grep -q -w ready "$TMP/r.log"
check "in one process: the engine is not a child (user = \"\")" \
    sh -c "[ -z \"\$(pgrep -P $RPID)\" ]"
rconf "$(peer delta "$D_PUB" udp 10.99.14)"
kill -HUP "$RPID"
check "in one process: SIGHUP adds a peer with its device" \
    wait_for 5 link_exists "$NS_S" vsdelta
check "in one process: the server exits 0 and removes both devices" \
    sh -c "kill -TERM $RPID; i=0; while kill -0 $RPID 2>/dev/null && [ \$i -lt 50 ]; do
    sleep 0.2; i=\$((i + 1)); done; ! ip -n $NS_S link show vsdelta >/dev/null 2>&1 &&
    ! ip -n $NS_S link show vsalpha >/dev/null 2>&1"
untrack "$RPID"
if [ "$failed" -gt 0 ]; then
	echo "# server log (last 80 lines):"
	tail -80 "$TMP/s.log" | sed 's/^/#   /'
	echo "# notify:"; show_log "$TMP/notify.log"
fi
finish
