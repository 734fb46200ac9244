#!/bin/sh
# tests/netns/manypeers.sh - one server with 1000 configured peers (1000 devices), 200 UDP and
# 20 TCP clients connected at once (each a vtund-ng client process, all in one namespace), each
# passing traffic. Prints the figures doc/DESIGN.md records ("# figure: ..."): the engine's
# memory per configured peer, per established UDP session and per TCP session, and the
# handshakes a second the server answers.
# Needs root (exit 77 otherwise). Run time about 90 s; about 1.5 GB of memory for the clients.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/netns/lib.sh"
need_root
VT_ATTACK=${VT_ATTACK:-$(dirname "$VTUND")/tests/tools/vt-attack}
plan 14
setup_netns

NPEERS=1000
NUDP=200
NTCP=20
NBENCH=100
PORT=5000
SADDR=10.98.0.1
chmod 0755 "$TMP"
untrack() { PIDS=$(echo " $PIDS " | sed "s/ $1 / /"); }
rss() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
# Addresses of peer k: 10.64.X.Y/30, server .1, client .2.
net() { echo "10.64.$(($1 / 64)).$(($1 % 64 * 4))"; }
srv() { _n=$(net "$1"); echo "${_n%.*}.$((${_n##*.} + 1))"; }
cli() { _n=$(net "$1"); echo "${_n%.*}.$((${_n##*.} + 2))"; }
established() { "$VTUND" status --json -S "$TMP/s.sock" | grep -o '"state":"established"' | wc -l; }
at_least() { [ "$(established)" -ge "$1" ]; }

genkeys S
# Real keys for the clients and the handshake benchmark; random public keys for the rest (any
# 32 bytes are an X25519 public key).
NREAL=$((NUDP + NTCP + NBENCH))
: > "$TMP/keys"
k=0
while [ "$k" -lt "$NREAL" ]; do
	priv=$("$VTUND" genkey) || exit 1
	echo "$priv $(echo "$priv" | "$VTUND" pubkey)" >> "$TMP/keys"
	k=$((k + 1))
done
{
	echo "listen = \"0.0.0.0:$PORT\"; private-key = \"$S_PRIV\";"
	echo "control-socket = \"$TMP/s.sock\"; user = \"nobody\";"
	echo "peers = {"
	k=0
	while [ "$k" -lt "$NPEERS" ]; do
		if [ "$k" -lt "$NREAL" ]; then
			pub=$(sed -n "$((k + 1))p" "$TMP/keys" | cut -d' ' -f2)
		else
			pub=$(head -c 32 /dev/urandom | base64)
		fi
		proto=udp
		[ "$k" -ge "$NUDP" ] && [ "$k" -lt $((NUDP + NTCP)) ] && proto=tcp
		echo "  p$k = { public-key = \"$pub\"; proto = \"$proto\"; device = \"vm$k\";"
		echo "    address = \"$(srv "$k")/30\"; peer-address = \"$(cli "$k")\"; };"
		k=$((k + 1))
	done
	echo "};"
} > "$TMP/s.conf"
client_conf() { # K PROTO
	cat > "$TMP/c$1.conf" <<EOF
private-key = "$(sed -n "$(($1 + 1))p" "$TMP/keys" | cut -d' ' -f1)";
control-socket = "$TMP/c$1.sock"; user = ""; log-level = "warning";
peers = { p$1 = { public-key = "$S_PUB"; proto = "$2"; remote = "$SADDR:$PORT";
	device = "vc$1"; address = "$(cli "$1")/30"; peer-address = "$(srv "$1")"; }; };
EOF
}

# A one-peer server first: the engine's memory with nothing configured to speak of.
sed -n '1,3p;4,5p' "$TMP/s.conf" > "$TMP/one.conf"
echo "};" >> "$TMP/one.conf"
sed -i "s|$TMP/s.sock|$TMP/one.sock|; s|\"0.0.0.0:$PORT\"|\"0.0.0.0:$((PORT + 1))\"|" "$TMP/one.conf"
start_daemon "$NS_S" "$TMP/one.log" -f "$TMP/one.conf" -s
ONE=$LAST_PID
wait_for 10 grep -q -w ready "$TMP/one.log"
R_ONE=$(rss "$(pgrep -P "$ONE" | head -1)")
stop_daemon "$ONE"
untrack "$ONE"

t0=$(date +%s)
start_daemon "$NS_S" "$TMP/s.log" -f "$TMP/s.conf" -s
SPID=$LAST_PID
check "the server with $NPEERS peers starts" wait_for 120 grep -q -w ready "$TMP/s.log"
echo "# start-up with $NPEERS devices: $(($(date +%s) - t0)) s"
ENG=$(pgrep -P "$SPID" | head -1)
check "it has $NPEERS devices" \
    [ "$(ip -n "$NS_S" -o link show | grep -c ': vm[0-9]*:')" -eq "$NPEERS" ]
R0=$(rss "$ENG")

# 200 UDP clients at once.
k=0
while [ "$k" -lt "$NUDP" ]; do
	client_conf "$k" udp
	start_daemon "$NS_C" "$TMP/c$k.log" -f "$TMP/c$k.conf" client "p$k"
	k=$((k + 1))
done
check "$NUDP UDP sessions up at once" wait_for 90 at_least "$NUDP"
echo "# established: $(established)"
R1=$(rss "$ENG")
# 20 TCP clients.
while [ "$k" -lt $((NUDP + NTCP)) ]; do
	client_conf "$k" tcp
	start_daemon "$NS_C" "$TMP/c$k.log" -f "$TMP/c$k.conf" client "p$k"
	k=$((k + 1))
done
check "and $NTCP TCP sessions ($((NUDP + NTCP)) in all)" wait_for 60 at_least $((NUDP + NTCP))
R2=$(rss "$ENG")

# Traffic through every one of them, 20 pings at a time.
pings() {
	_fail=0
	_k=0
	while [ "$_k" -lt $((NUDP + NTCP)) ]; do
		_pids=""
		for _j in $(seq "$_k" $((_k + 19))); do
			ip netns exec "$NS_C" ping -c 2 -i 0.2 -W 3 "$(srv "$_j")" >/dev/null 2>&1 &
			_pids="$_pids $!"
		done
		for _p in $_pids; do wait "$_p" || _fail=$((_fail + 1)); done
		_k=$((_k + 20))
	done
	echo "# pings failed for $_fail of $((NUDP + NTCP)) peers"
	[ "$_fail" -eq 0 ]
}
check "every client's tunnel carries pings" pings
srv_pings() {
	for _j in 0 57 123 199 200 219; do
		ip netns exec "$NS_S" ping -c 1 -W 3 "$(cli "$_j")" >/dev/null 2>&1 || return 1
	done
}
check "and the server reaches clients through their tunnels" srv_pings
check "status lists all $NPEERS peers" \
    [ "$("$VTUND" status --json -S "$TMP/s.sock" | grep -o '"peer":"' | wc -l)" -eq "$NPEERS" ]

# The handshake rate: fresh initiations from 100 more real keys, 100 at a time.
k=$((NUDP + NTCP))
: > "$TMP/bench.keys"
while [ "$k" -lt "$NREAL" ]; do
	echo "$(sed -n "$((k + 1))p" "$TMP/keys" | cut -d' ' -f1):p$k" >> "$TMP/bench.keys"
	k=$((k + 1))
done
out=$(ip netns exec "$NS_C" "$VT_ATTACK" initiate "$SADDR" "$PORT" --server-pub "$S_PUB" \
    --keys "$TMP/bench.keys" --rounds 10 --wait 2000 2>&1)
echo "# $out"
rate=$(echo "$out" | sed -n 's/.*: \([0-9]*\) handshakes\/s$/\1/p')
check "the server answers at least 100 handshakes a second (${rate:-?})" [ "${rate:-0}" -ge 100 ]

per_peer=$(((R0 - R_ONE) * 1024 / (NPEERS - 1)))
per_udp=$(((R1 - R0) * 1024 / NUDP))
per_tcp=$(((R2 - R1) * 1024 / NTCP))
echo "# figure: engine RSS with 1 peer $R_ONE kB, with $NPEERS peers $R0 kB, + $NUDP UDP sessions $R1 kB, + $NTCP TCP sessions $R2 kB"
echo "# figure: per configured peer $per_peer B, per UDP session $per_udp B, per TCP session $per_tcp B"
echo "# figure: ${rate:-?} handshakes/s answered"
# Under AddressSanitizer every allocation carries red zones and freed memory waits in a
# quarantine: the bounds there are four times looser (the figures are printed either way).
scale=1
ldd "$VTUND" 2>/dev/null | grep -q libasan && scale=4
# (16 KiB until the settings of every peer carried the list of a client's remotes, 2 KiB.)
check "a configured peer costs under $((20 * scale)) KiB ($per_peer B)" \
    [ "$per_peer" -lt $((20480 * scale)) ]
check "an established UDP session costs under $((64 * scale)) KiB more ($per_udp B)" \
    [ "$per_udp" -lt $((65536 * scale)) ]
check "a TCP session with its buffers costs under $((2 * scale)) MiB more ($per_tcp B)" \
    [ "$per_tcp" -lt $((2097152 * scale)) ]
check "the server still runs" kill -0 "$ENG"
# Stop: the clients first (each gets its close), then the server. Taking a device down costs
# the kernel about 20 ms (an RCU grace period), so a thousand take a while.
for p in $PIDS; do [ "$p" != "$SPID" ] && kill -TERM "$p" 2>/dev/null; done
t0=$(date +%s)
stop_slowly() {
	kill -TERM "$1"
	_n=0
	while kill -0 "$1" 2>/dev/null && [ "$_n" -lt 600 ]; do sleep 0.1; _n=$((_n + 1)); done
	wait "$1"
}
check "the server exits 0" stop_slowly "$SPID"
echo "# stop with $NPEERS devices: $(($(date +%s) - t0)) s"
untrack "$SPID"
check "and removes its $NPEERS devices" \
    [ "$(ip -n "$NS_S" -o link show | grep -c ': vm[0-9]*:')" -eq 0 ]
finish
