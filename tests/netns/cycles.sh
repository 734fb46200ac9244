#!/bin/sh
# tests/netns/cycles.sh - nothing leaks: a server whose engine runs as nobody takes 1000
# connect/disconnect cycles over UDP and 1000 over TCP (vt-attack cycles: a new socket or
# connection each time, a real handshake, its confirmation and a CLOSE) while a real client
# keeps its session and sends traffic. After them the server's processes (parent and engine)
# hold exactly the file descriptors they held after a warm-up of 300 cycles each, and their
# resident memory grew by less than 512 KiB (not checked under AddressSanitizer, whose
# quarantine keeps freed memory: the figure is printed; its leak checker runs at exit).
#
# With SOAK_SECONDS=N it then soaks for N seconds: rounds of cycles, hostile input (valid
# initiations of unknown keys, garbage datagrams, TCP connections that send garbage or
# nothing), a reload that changes the peers' settings and back, and a 4 MB transfer through
# the tunnel with its checksum; every daemon must exit 0 and no log may hold a sanitizer
# report. doc/TESTING.md records the soak's command and result.
# Needs root (exit 77 otherwise). Run time about 40 s (plus the soak).
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/netns/lib.sh"
VT_ATTACK=${VT_ATTACK:-$(dirname "$VTUND")/tests/tools/vt-attack}
need_root
need_tools python3 nc timeout ss
SOAK=${SOAK_SECONDS:-0}
plan $((7 + (SOAK > 0 ? 3 : 0)))
setup_netns
echo "# namespaces $NS_S $NS_C, files in $TMP"
genkeys S
genkeys C
genkeys U
genkeys T
genkeys X
# server PEER-KEEPALIVE: the server's file (the reload changes keepalive and back)
server() {
	cat <<CONF
private-key = "$S_PRIV"; user = "nobody"; listen = "10.98.0.1:5811";
control-socket = "$TMP/s.sock";
peers = {
	link = { public-key = "$C_PUB"; address = "10.99.1.1/30"; peer-address = "10.99.1.2";
		keepalive = $1; };
	u = { public-key = "$U_PUB"; proto = "udp"; mtu = 1400; address = "10.99.2.1/30";
		peer-address = "10.99.2.2"; keepalive = $1; };
	t = { public-key = "$T_PUB"; proto = "tcp"; mtu = 1400; address = "10.99.3.1/30";
		peer-address = "10.99.3.2"; keepalive = $1; };
};
CONF
}
server 10 > "$TMP/s.conf"
{
	link_conf client 5811
	echo "	address = \"10.99.1.2/30\"; peer-address = \"10.99.1.1\";"
	echo "}; };"
} > "$TMP/c.conf"
chmod 600 "$TMP/s.conf" "$TMP/c.conf"
link_up 1
check "session up" [ $? -eq 0 ]

# The server's processes: its parent and the engine (its child).
procs() { echo "$SPID $(ps -o pid= --ppid "$SPID")"; }
fds() { _n=0; for _p in $(procs); do _n=$((_n + $(ls "/proc/$_p/fd" | wc -l))); done; echo $_n; }
rss() {
	_k=0
	for _p in $(procs); do _k=$((_k + $(awk '/^VmRSS/ { print $2 }' "/proc/$_p/status"))); done
	echo $_k
}
# cycles N: N UDP cycles as u and N TCP cycles as t, at the same time
cycles() {
	timeout 300 ip netns exec "$NS_C" "$VT_ATTACK" cycles 10.98.0.1 5811 \
	    --server-pub "$S_PUB" --key "$U_PRIV:u" \
	    --count "$1" > "$TMP/cu.out" 2>&1 &
	_u=$!
	timeout 300 ip netns exec "$NS_C" "$VT_ATTACK" cycles 10.98.0.1 5811 \
	    --server-pub "$S_PUB" --key "$T_PRIV:t" \
	    --count "$1" --tcp > "$TMP/ct.out" 2>&1
	_t=$?
	wait "$_u" && [ "$_t" -eq 0 ] && return 0
	cat "$TMP/cu.out" "$TMP/ct.out" | sort | uniq -c | head -n 5 | sed 's/^/# /'
	return 1
}
# ping in the background all along: the real client's session must not notice
ip netns exec "$NS_C" ping -i 0.2 -q 10.99.1.1 > "$TMP/ping.out" 2>&1 &
PING=$!
track $PING
check "300 cycles each over UDP and TCP (warm-up)" cycles 300
sleep 2
fd0=$(fds) rss0=$(rss)
t0=$(date +%s)
check "1000 cycles each over UDP and TCP" cycles 1000
echo "# $(tail -n 1 "$TMP/cu.out") (udp), $(tail -n 1 "$TMP/ct.out") (tcp), $(($(date +%s) - t0)) s"
sleep 2 # closed TCP connections are released after their events
fd1=$(fds) rss1=$(rss)
echo "# figure: server fds $fd0 -> $fd1, RSS $rss0 -> $rss1 kB after 1000 more cycles each"
check "no file descriptor more after 1000 cycles each ($fd0 -> $fd1)" [ "$fd1" -le "$fd0" ]
if ldd "$VTUND" 2>/dev/null | grep -q libasan; then
	skip "RSS grew less than 512 KiB ($rss0 -> $rss1 kB): not under AddressSanitizer"
else
	check "RSS grew less than 512 KiB ($rss0 -> $rss1 kB)" [ $((rss1 - rss0)) -lt 512 ]
fi
# (the last echo may still be on its way when ping stops: one short is no loss)
check "the real client's session stayed up: no ping lost" \
    sh -c "kill -INT $PING; sleep 1; awk '/packets transmitted/ { exit !(\$4 >= \$1 - 1) }' \
	'$TMP/ping.out'"

# hostile: garbage datagrams, garbage and silent TCP connections, unknown keys' initiations
hostile() {
	ip netns exec "$NS_C" python3 -c '
import os, socket, time
for i in range(300):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.sendto(os.urandom(1 + i % 1500), ("10.98.0.1", 5811))
    u.sendto(bytes([1 + i % 4]) + os.urandom(i % 200), ("10.98.0.1", 5811))
    u.close()
for i in range(100):
    t = socket.create_connection(("10.98.0.1", 5811))
    if i % 2:
        t.sendall(os.urandom(i * 7 % 3000))
    t.close()
' > "$TMP/hostile.out" 2>&1
	ip netns exec "$NS_C" "$VT_ATTACK" initiate 10.98.0.1 5811 --server-pub "$S_PUB" \
	    --key "$X_PRIV:nobody" \
	    --wait 200 >> "$TMP/hostile.out" 2>&1
}
if [ "$SOAK" -gt 0 ]; then
	DATA=$TMP/data
	head -c 4000000 /dev/urandom > "$DATA"
	end=$(($(date +%s) + SOAK)) rounds=0 bad=0
	while [ "$(date +%s)" -lt "$end" ]; do
		rounds=$((rounds + 1))
		cycles 200 || bad=$((bad + 1))
		hostile
		server $((rounds % 2 ? 11 : 10)) > "$TMP/s.conf"
		kill -HUP "$SPID"
		transfer "$NS_C" "$NS_S" 10.99.1.1 || bad=$((bad + 1))
	done
	echo "# soak: $rounds rounds in $SOAK s, $bad failed; fds $(fds), RSS $(rss) kB"
	check "soak: every round's cycles and transfer worked ($rounds rounds)" [ "$bad" -eq 0 ]
	check "soak: the server still answers status" status_json "$TMP/s.sock" > /dev/null
fi
check "both daemons exit 0" eval 'stop_daemon "$CPID" && stop_daemon "$SPID"'
if [ "$SOAK" -gt 0 ]; then
	check "soak: no sanitizer report in any log" \
	    sh -c "! grep -l -E 'Sanitizer|runtime error' '$TMP'/*.log '$TMP'/*.out"
fi
finish
