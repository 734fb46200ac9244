#!/bin/sh
# tests/netns/tunnel.sh - acceptance test of the tunnel itself. For each of {tun, tap} x
# {udp, tcp} x {offload auto, off}, a server (-s) in $NS_S and a client in $NS_C with fresh keys:
#   - both log "session up";
#   - ping crosses the tunnel both ways, IPv4 and IPv6;
#   - 10 MB of random data cross a TCP connection through the tunnel intact (sha256);
#   - `vtund-ng status` shows the session established with rx/tx counters above zero, and the
#     offload path: with offload auto the device's segmentation offload (tso) and coalescing
#     (gro) on both sides, used for the transfer (super-packets split, frames coalesced); with
#     offload off, "off";
#   - on SIGTERM both daemons exit 0 and remove their devices.
# Then the refusals: a client with a key the server does not know, and a client that uses a link
# name the server does not have for its key, get no session; `client nosuchpeer` fails cleanly.
# Every combination runs the same 13 checks whether its session comes up or not (those that
# need the session fail without one), so the plan is known before the first check.
# Needs root (exit 77 otherwise). Environment from `make check`: VTUND, top_srcdir.
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/netns/lib.sh"
need_root
need_tools nc sha256sum timeout ss
COMBOS="tun/udp/auto tun/tcp/auto tap/udp/auto tap/tcp/auto tun/udp/off tun/tcp/off tap/udp/off
    tap/tcp/off"
# shellcheck disable=SC2086 # one word per combination
set -- $COMBOS
plan $(($# * 13 + 9 + 3))
setup_netns
# A closed output pipe must still run the cleanup (lib.sh traps INT and TERM).
trap 'exit 1' HUP PIPE
echo "# namespaces $NS_S $NS_C, files in $TMP"

# Forget a PID we have reaped ourselves, so cleanup never signals a reused PID.
untrack() { PIDS=$(echo " $PIDS " | sed "s/ $1 / /"); }

# running PID: the process exists and is not a zombie.
running() {
	[ -r "/proc/$1/stat" ] || return 1
	[ "$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)" != Z ]
}

# stop_within SECONDS PID: SIGTERM, then wait at most SECONDS; true only if the process exited
# in time with status 0. One that hangs is killed (SIGKILL) and counts as a failure.
stop_within() {
	kill -TERM "$2" 2>/dev/null || return 1
	_n=$(($1 * 5))
	while [ "$_n" -gt 0 ] && running "$2"; do
		sleep 0.2
		_n=$((_n - 1))
	done
	if running "$2"; then
		echo "# pid $2 still running $1 s after SIGTERM: killed"
		kill -KILL "$2" 2>/dev/null
		wait "$2"
		untrack "$2"
		return 1
	fi
	wait "$2"
	_rc=$?
	untrack "$2"
	[ "$_rc" -eq 0 ] || echo "# pid $2 exited with status $_rc"
	return "$_rc"
}

# check_up DESCRIPTION COMMAND...: a check that needs the session ($up): without one it is
# still reported, as failed, so a broken session does not change the number of checks.
check_up() {
	if [ "$up" = yes ]; then
		check "$@"
	else
		not_ok "$1 (no session)"
	fi
}

# Show a log on failure, as TAP comments.
show_log() { sed 's/^/#   /' "$1"; }

# transfer SRC_NS DST_NS DST_ADDR PORT: send $DATA from SRC_NS to DST_ADDR:PORT in DST_NS over
# TCP with nc (netcat-openbsd) and compare the SHA-256 of what arrived with what was sent.
transfer() {
	rm -f "$TMP/recv"
	timeout 20 ip netns exec "$2" nc -l -n -d "$3" "$4" > "$TMP/recv" 2>"$TMP/nc-l.err" &
	_l=$!
	track "$_l"
	if ! wait_for 5 listening "$2" "$4"; then
		echo "# nc -l did not start listening:"; show_log "$TMP/nc-l.err"
	fi
	if ! timeout 20 ip netns exec "$1" nc -n -N -w 10 "$3" "$4" < "$DATA" 2>"$TMP/nc.err"; then
		echo "# sending nc failed:"
		show_log "$TMP/nc.err"
		kill "$_l" 2>/dev/null
	fi
	wait "$_l"
	untrack "$_l"
	_got=$(sha256sum < "$TMP/recv" | cut -d' ' -f1)
	[ "$_got" = "$DATA_SUM" ] && return 0
	echo "# received $(wc -c < "$TMP/recv") of $(wc -c < "$DATA") bytes, checksum differs"
	return 1
}

# both_up PEER LOG1 LOG2: both logs say the session with PEER is up.
both_up() { grep -q "peer $1: session up" "$2" && grep -q "peer $1: session up" "$3"; }

# status_ok SOCKET PEER: the daemon's status shows PEER established with traffic both ways.
status_ok() {
	_j=$(status_json "$1") || { echo "# status --json -S $1 failed"; return 1; }
	_rx=$(json_num "$_j" rx_bytes)
	_tx=$(json_num "$_j" tx_bytes)
	_rp=$(json_num "$_j" rx_packets)
	_tp=$(json_num "$_j" tx_packets)
	if echo "$_j" | grep -q "\"peer\":\"$2\"" &&
	    echo "$_j" | grep -q '"state":"established"' &&
	    [ "${_rx:-0}" -gt 0 ] && [ "${_tx:-0}" -gt 0 ] &&
	    [ "${_rp:-0}" -gt 0 ] && [ "${_tp:-0}" -gt 0 ] &&
	    "$VTUND" status -S "$1" | grep -q established; then
		return 0
	fi
	echo "# status: $_j"
	return 1
}

# offload_ok CLIENT_SOCKET SERVER_SOCKET auto|off: with auto, both show the device's segmentation
# offload and coalescing, the client split super-packets of the transfer and the server wrote
# coalesced frames; with off, both say "off" and neither split nor coalesced anything.
offload_ok() {
	_jc=$(status_json "$1") && _js=$(status_json "$2") || return 1
	_oc=$(echo "$_jc" | sed -n 's/.*"offload":"\([^"]*\)".*/\1/p')
	_os=$(echo "$_js" | sed -n 's/.*"offload":"\([^"]*\)".*/\1/p')
	_split=$(json_num "$_jc" split)
	_coal=$(json_num "$_js" coalesced)
	echo "# offload: client \"$_oc\" split $_split, server \"$_os\" coalesced $_coal"
	if [ "$3" = off ]; then
		[ "$_oc" = off ] && [ "$_os" = off ] && [ "${_split:-1}" -eq 0 ] &&
		    [ "${_coal:-1}" -eq 0 ]
		return
	fi
	case " $_oc " in *" tso "*) ;; *) return 1 ;; esac
	case " $_oc " in *" gro "*) ;; *) return 1 ;; esac
	case " $_os " in *" tso "*) ;; *) return 1 ;; esac
	case " $_os " in *" gro "*) ;; *) return 1 ;; esac
	[ "${_split:-0}" -gt 0 ] && [ "${_coal:-0}" -gt 0 ]
}

# write_conf FILE ROLE PEER PRIV PUB PSK TYPE PROTO DEVICE REMOTE ADDRS PEER_ADDRS
# ROLE is "server" (listens on $PORT) or "client" (connects to REMOTE). PSK, PEER_ADDRS may be "".
write_conf() {
	{
		echo "log-level = \"info\";"
		echo "user = \"\";"
		echo "control-socket = \"$TMP/$(basename "$1" .conf).sock\";"
		echo "private-key = \"$4\";"
		[ "$2" = server ] && echo "listen = \"[::]:$PORT\";"
		echo "peers = {"
		echo "	$3 = {"
		echo "		public-key = \"$5\";"
		[ -n "$6" ] && echo "		preshared-key = \"$6\";"
		echo "		type = \"$7\";"
		echo "		proto = \"$8\";"
		echo "		device = \"$9\";"
		[ -n "${CIPHER:-}" ] && echo "		cipher = \"$CIPHER\";"
		[ -n "${OFFLOAD:-}" ] && echo "		offload = \"$OFFLOAD\";"
		[ "$2" = client ] && echo "		remote = \"${10}\";"
		echo "		address = [${11}];"
		[ -n "${12}" ] && echo "		peer-address = [${12}];"
		echo "	};"
		echo "};"
	} > "$1"
}

DATA=$TMP/data
head -c 10485760 /dev/urandom > "$DATA"
DATA_SUM=$(sha256sum < "$DATA" | cut -d' ' -f1)
genkeys S
genkeys C
PSK=$("$VTUND" genpsk) || exit 1

i=0
for combo in $COMBOS; do
	i=$((i + 1))
	type=${combo%%/*}
	proto=${combo#*/}
	OFFLOAD=${proto#*/}
	proto=${proto%/*}
	name=$type$proto$OFFLOAD
	PORT=$((5100 + i))
	devs=vs-$type-$proto-$OFFLOAD
	devc=vc-$type-$proto-$OFFLOAD
	# Variety: a preshared key on the TCP links, the IPv6 underlay for tap/udp.
	psk=""
	[ "$proto" = tcp ] && psk=$PSK
	remote=10.98.0.1:$PORT
	[ "$type/$proto" = tap/udp ] && remote="[fd98::1]:$PORT"
	# and ChaCha20-Poly1305 (the choice for hosts without AES-NI) on tun/tcp.
	CIPHER=""
	[ "$type/$proto" = tun/tcp ] && CIPHER=chacha20-poly1305
	if [ "$type" = tun ]; then
		write_conf "$TMP/$name-s.conf" server "$name" "$S_PRIV" "$C_PUB" "$psk" "$type" \
		    "$proto" "$devs" "" "\"10.99.$i.1/30\", \"fd99:$i::1/64\"" \
		    "\"10.99.$i.2\", \"fd99:$i::2\""
		write_conf "$TMP/$name-c.conf" client "$name" "$C_PRIV" "$S_PUB" "$psk" "$type" \
		    "$proto" "$devc" "$remote" "\"10.99.$i.2/30\", \"fd99:$i::2/64\"" \
		    "\"10.99.$i.1\", \"fd99:$i::1\""
	else
		write_conf "$TMP/$name-s.conf" server "$name" "$S_PRIV" "$C_PUB" "$psk" "$type" \
		    "$proto" "$devs" "" "\"10.99.$i.1/24\", \"fd99:$i::1/64\"" ""
		write_conf "$TMP/$name-c.conf" client "$name" "$C_PRIV" "$S_PUB" "$psk" "$type" \
		    "$proto" "$devc" "$remote" "\"10.99.$i.2/24\", \"fd99:$i::2/64\"" ""
	fi
	slog=$TMP/$name-s.log
	clog=$TMP/$name-c.log
	start_daemon "$NS_S" "$slog" -f "$TMP/$name-s.conf" -s
	spid=$LAST_PID
	start_daemon "$NS_C" "$clog" -f "$TMP/$name-c.conf" client "$name"
	cpid=$LAST_PID
	what="$type/$proto offload $OFFLOAD (underlay $remote${CIPHER:+, $CIPHER})"

	up=no
	wait_for 10 both_up "$name" "$slog" "$clog" && up=yes
	check "$what: session up on both sides" [ "$up" = yes ]
	if [ "$up" = no ]; then
		echo "# server log:"; show_log "$slog"
		echo "# client log:"; show_log "$clog"
	fi
	# Traffic only once the session is up (a failed run stays short).
	check_up "$what: ping client -> server 10.99.$i.1" ping_ok "$NS_C" "10.99.$i.1"
	check_up "$what: ping server -> client 10.99.$i.2" ping_ok "$NS_S" "10.99.$i.2"
	check_up "$what: ping6 client -> server fd99:$i::1" ping_ok "$NS_C" "fd99:$i::1"
	check_up "$what: ping6 server -> client fd99:$i::2" ping_ok "$NS_S" "fd99:$i::2"
	check_up "$what: 10 MB client -> server over TCP through the tunnel, sha256 matches" \
	    transfer "$NS_C" "$NS_S" "10.99.$i.1" 7000
	check_up "$what: server status shows $name established, rx/tx > 0" \
	    status_ok "$TMP/$name-s.sock" "$name"
	check_up "$what: client status shows $name established, rx/tx > 0" \
	    status_ok "$TMP/$name-c.sock" "$name"
	check_up "$what: both sides show the offload path $OFFLOAD, used by the transfer" \
	    offload_ok "$TMP/$name-c.sock" "$TMP/$name-s.sock" "$OFFLOAD"
	check "$what: client exits 0 on SIGTERM" stop_within 10 "$cpid"
	check "$what: server exits 0 on SIGTERM" stop_within 10 "$spid"
	check "$what: client device $devc is gone" eval "! link_exists $NS_C $devc"
	check "$what: server device $devs is gone" eval "! link_exists $NS_S $devs"
	if ! grep -q 'stopped' "$slog" || ! grep -q 'stopped' "$clog"; then
		echo "# server log:"; show_log "$slog"
		echo "# client log:"; show_log "$clog"
	fi
done

# Refusals. One server knows a single peer "known" (key C); two clients try at the same time:
# "stranger" with a key the server does not know, and "ghost" with key C under a link name the
# server does not have for it.
PORT=5200
failed_before=$failed
genkeys X
write_conf "$TMP/known-s.conf" server known "$S_PRIV" "$C_PUB" "" tun udp vs-known "" \
    '"10.99.20.1/30"' '"10.99.20.2"'
write_conf "$TMP/stranger-c.conf" client known "$X_PRIV" "$S_PUB" "" tun udp vc-stranger \
    "10.98.0.1:$PORT" '"10.99.21.2/30"' '"10.99.21.1"'
write_conf "$TMP/ghost-c.conf" client ghost "$C_PRIV" "$S_PUB" "" tun udp vc-ghost \
    "10.98.0.1:$PORT" '"10.99.22.2/30"' '"10.99.22.1"'
slog=$TMP/known-s.log
start_daemon "$NS_S" "$slog" -f "$TMP/known-s.conf" -s
spid=$LAST_PID
check "refusals: the server is ready" wait_for 5 grep -q ready "$slog"
start_daemon "$NS_C" "$TMP/stranger-c.log" -f "$TMP/stranger-c.conf" client known
xpid=$LAST_PID
start_daemon "$NS_C" "$TMP/ghost-c.log" -f "$TMP/ghost-c.conf" client ghost
gpid=$LAST_PID
sleep 6
check "unknown key: no session up within 6 s (server)" eval "! grep -q 'session up' '$slog'"
check "unknown key: no session up within 6 s (client)" \
    eval "! grep -q 'session up' '$TMP/stranger-c.log'"
check "unknown key: the server logs 'unknown key'" grep -q 'with an unknown key: refused' "$slog"
check "unknown link name: no session up (client 'ghost')" \
    eval "! grep -q 'session up' '$TMP/ghost-c.log'"
check "unknown link name: the server logs \"calls this link 'ghost'\"" \
    grep -q "peer known: .* calls this link 'ghost', not 'known': refused" "$slog"
check "unknown link name: the client logs the refusal" \
    grep -q "peer ghost: the server does not know a link of that name" "$TMP/ghost-c.log"
check "refused clients exit 0 on SIGTERM" eval "stop_within 10 $xpid && stop_within 10 $gpid"
check "refusals: server exits 0 on SIGTERM" stop_within 10 "$spid"
if [ "$failed" -gt "$failed_before" ]; then
	for _f in known-s stranger-c ghost-c; do echo "# $_f.log:"; show_log "$TMP/$_f.log"; done
fi

# A peer the configuration does not have: exit 1, a message naming it, no new device.
before=$(ip -n "$NS_C" -o link show | cut -d: -f2 | sort)
timeout 10 ip netns exec "$NS_C" "$VTUND" -n -f "$TMP/ghost-c.conf" client nosuchpeer \
    > "$TMP/nosuch.out" 2>&1
rc=$?
after=$(ip -n "$NS_C" -o link show | cut -d: -f2 | sort)
check "client nosuchpeer exits 1" [ "$rc" -eq 1 ]
check "client nosuchpeer names the peer" grep -q nosuchpeer "$TMP/nosuch.out"
check "client nosuchpeer creates no device" [ "$before" = "$after" ]
[ "$rc" -eq 1 ] || show_log "$TMP/nosuch.out"

finish
