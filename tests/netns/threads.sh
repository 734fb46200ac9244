#!/bin/sh
# tests/netns/threads.sh - the data path on more than one thread (threads = N). A server with
# threads = 2 and a client with threads = 4, tun over UDP with offloads, then tap over UDP
# without them:
#   - the engine of each has exactly that many threads (/proc/PID/task; the server's engine
#     is its unprivileged child, the client's runs in the daemon's process), and status (text
#     and JSON) says so;
#   - 20 MB each way over TCP through the tunnel, sha256 matches;
#   - order: 20000 numbered UDP datagrams in one flow, and 4 flows of 5000 interleaved, sent
#     as fast as the sender can: whatever arrives arrives in the order sent, in every flow
#     (the threads share each batch's seals and opens, the engine's thread keeps the order);
#   - a reload that changes threads keeps the running value and says a restart is needed;
#   - on SIGTERM each engine logs how the jobs were shared, and the other threads did some.
# Needs root (exit 77 otherwise), nc, sha256sum, python3. Run time about 30 s.
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/netns/lib.sh"
need_root
need_tools nc sha256sum python3 timeout ss
plan 26
setup_netns
echo "# namespaces $NS_S $NS_C, files in $TMP"
genkeys S
genkeys C
DATA=$TMP/data
head -c 20971520 /dev/urandom > "$DATA"

# conf FILE ROLE THREADS TYPE OFFLOAD N: one peer "link" on 10.99.N.0/24, port 5400 + N.
conf() {
	if [ "$2" = server ]; then
		own=1 other=2 priv=$S_PRIV pub=$C_PUB
	else
		own=2 other=1 priv=$C_PRIV pub=$S_PUB
	fi
	{
		echo "log-level = \"info\";"
		# the server's engine drops privileges (a child process), the client's stays
		if [ "$2" = server ]; then echo "user = \"nobody\";"; else echo "user = \"\";"; fi
		echo "threads = $3;"
		echo "control-socket = \"$TMP/$2.sock\";"
		echo "private-key = \"$priv\";"
		[ "$2" = server ] && echo "listen = \"10.98.0.1:$((5400 + $6))\";"
		echo "peers = { link = {"
		echo "	public-key = \"$pub\";"
		[ "$2" = client ] && echo "	remote = \"10.98.0.1:$((5400 + $6))\";"
		echo "	type = \"$4\"; proto = \"udp\"; offload = \"$5\";"
		echo "	device = \"vh$own-$6\";"
		echo "	address = \"10.99.$6.$own/24\";"
		[ "$4" = tun ] && echo "	peer-address = \"10.99.$6.$other\";"
		echo "}; };"
	} > "$1"
}

# up TYPE OFFLOAD N: both ends; true once the session is up on both.
up() {
	conf "$TMP/s.conf" server 2 "$1" "$2" "$3"
	conf "$TMP/c.conf" client 4 "$1" "$2" "$3"
	start_daemon "$NS_S" "$TMP/s$3.log" -f "$TMP/s.conf" -s
	SPID=$LAST_PID
	start_daemon "$NS_C" "$TMP/c$3.log" -f "$TMP/c.conf" client link
	CPID=$LAST_PID
	wait_for 10 sh -c "grep -q 'session up' '$TMP/s$3.log' && grep -q 'session up' '$TMP/c$3.log'"
}

# engine_threads PID: the number of threads of the daemon's engine: its child when it drops
# privileges, else (user = "", as here) the daemon's own process.
engine_threads() {
	_e=$(ps -o pid= --ppid "$1" | awk 'NR == 1 {print $1}')
	ls "/proc/${_e:-$1}/task" | wc -l
}

# order SRC_NS DST_NS DST_ADDR FLOWS COUNT: COUNT numbered datagrams per flow, the flows
# interleaved, as fast as possible; true if at least a tenth arrived (a sender this fast
# overruns sockets on the way) and every flow's arrivals are in the order sent.
order() {
	rm -f "$TMP/order.ready" "$TMP/order.out"
	ip netns exec "$2" python3 -c '
import socket, select, sys
addr, flows, ready = sys.argv[1], int(sys.argv[2]), sys.argv[3]
socks = []
for f in range(flows):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 << 20)
    s.bind((addr, 9100 + f))
    s.setblocking(False)
    socks.append(s)
open(ready, "w").write("ready\n")
last = [-1] * flows
got = inversions = 0
while True:
    r, _, _ = select.select(socks, [], [], 2.0)
    if not r:
        break
    for s in r:
        f = socks.index(s)
        while True:
            try:
                d = s.recv(2048)
            except BlockingIOError:
                break
            seq = int.from_bytes(d[:4], "big")
            if seq <= last[f]:
                inversions += 1
            last[f] = max(last[f], seq)
            got += 1
print(got, inversions)
' "$3" "$4" "$TMP/order.ready" > "$TMP/order.out" 2>&1 &
	_r=$!
	track "$_r"
	wait_for 5 test -s "$TMP/order.ready"
	ip netns exec "$1" python3 -c '
import socket, sys
addr, flows, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(flows)]
pad = bytes(1000)
for i in range(count):
    for f, s in enumerate(socks):
        try:
            s.sendto(i.to_bytes(4, "big") + pad, (addr, 9100 + f))
        except OSError:
            pass
' "$3" "$4" "$5"
	wait "$_r"
	read -r _got _inv < "$TMP/order.out"
	echo "# order: $4 flow(s) x $5 sent, $_got arrived, $_inv out of order"
	[ "${_got:-0}" -ge $(($4 * $5 / 10)) ] && [ "${_inv:-1}" -eq 0 ]
}

# --- tun, offloads on ---
up tun auto 1
check "tun: session up with threads 2 (server) and 4 (client)" [ $? -eq 0 ]
check "tun: the server's engine has 2 threads" [ "$(engine_threads "$SPID")" = 2 ]
check "tun: the client's engine has 4 threads" [ "$(engine_threads "$CPID")" = 4 ]
js=$(status_json "$TMP/server.sock")
jc=$(status_json "$TMP/client.sock")
check "tun: status --json says threads 2 and 4" \
    eval '[ "$(json_num "$js" threads)" = 2 ] && [ "$(json_num "$jc" threads)" = 4 ]'
check "tun: status text says threads: 2" \
    eval '"$VTUND" status -S "$TMP/server.sock" | grep -q "threads: 2"'
check "tun: 20 MB client -> server, sha256 matches" transfer "$NS_C" "$NS_S" 10.99.1.1
check "tun: 20 MB server -> client, sha256 matches" transfer "$NS_S" "$NS_C" 10.99.1.2
check "tun: one flow of 20000 datagrams, client -> server, in order" \
    order "$NS_C" "$NS_S" 10.99.1.1 1 20000
check "tun: 4 flows of 5000 datagrams, server -> client, each in order" \
    order "$NS_S" "$NS_C" 10.99.1.2 4 5000
check "tun: the offloads were used (the client split super-packets)" \
    [ "$(json_num "$(status_json "$TMP/client.sock")" split)" -gt 0 ]

# A reload that changes threads: the running value stays.
sed -i 's/^threads = 2;/threads = 3;/' "$TMP/s.conf"
"$VTUND" reload -S "$TMP/server.sock" > "$TMP/reload.out" 2>&1
check "reload: threads changed: the log says a restart is needed" \
    wait_for 5 grep -q "reload: threads changed: that needs a restart" "$TMP/s1.log"
check "reload: the engine still has 2 threads, status says 2" \
    eval '[ "$(engine_threads "$SPID")" = 2 ] &&
    [ "$(json_num "$(status_json "$TMP/server.sock")" threads)" = 2 ]'
check "tun: ping still crosses after the reload" ping_ok "$NS_C" 10.99.1.1

check "tun: the client exits 0" stop_daemon "$CPID"
check "tun: the server exits 0" stop_daemon "$SPID"
# "threads: 2; 123 batches shared; jobs per thread: 4567 890"
shared() {
	_l=$(grep "threads: $2;" "$1" | tail -1)
	echo "# $(basename "$1"): ${_l#*engine: }"
	echo "$_l" | awk '{
		for (i = 1; i <= NF; i++)
			if ($i == "thread:") {
				s = 0
				for (j = i + 2; j <= NF; j++)
					s += $j
				exit (s > 0 ? 0 : 1)
			}
		exit 1 }'
}
check "tun: the server's second thread sealed or opened packets (log)" shared "$TMP/s1.log" 2
check "tun: the client's other threads sealed or opened packets (log)" shared "$TMP/c1.log" 4

# --- tap, offloads off ---
up tap off 2
check "tap: session up" [ $? -eq 0 ]
check "tap: ping crosses (ARP too)" ping_ok "$NS_C" 10.99.2.1
check "tap: 20 MB client -> server, sha256 matches" transfer "$NS_C" "$NS_S" 10.99.2.1
check "tap: 20 MB server -> client, sha256 matches" transfer "$NS_S" "$NS_C" 10.99.2.2
check "tap: 4 flows of 5000 datagrams, client -> server, each in order" \
    order "$NS_C" "$NS_S" 10.99.2.1 4 5000
check "tap: status says offload off and threads 4 (client)" \
    eval 'j=$(status_json "$TMP/client.sock");
    echo "$j" | grep -q "\"offload\":\"off\"" && [ "$(json_num "$j" threads)" = 4 ]'
check "tap: the client exits 0" stop_daemon "$CPID"
check "tap: the server exits 0" stop_daemon "$SPID"
check "tap: the client's other threads sealed or opened packets (log)" shared "$TMP/c2.log" 4
finish
