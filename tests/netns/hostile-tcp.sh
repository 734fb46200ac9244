#!/bin/sh
# tests/netns/hostile-tcp.sh - TCP framing from a client that never authenticates. One server in
# $NS_S with two TCP peers (ta, tb) and one UDP peer (uc), their clients in $NS_C passing pings;
# vt-inject stream, from another underlay address, opens one connection per case and sends
# length-prefixed frames of zero bytes (type 0: no message type):
#   a. a length above the bound (WIRE_MSG_MAX + 1, and 65535), as a whole frame and as the prefix
#      alone, and a length of 0: the server closes the connection at once (within 1 s of the
#      prefix, not at the 10 s timeout of unidentified connections), counts one malformed drop
#      in drops_without_session, and stays up; a frame of the bound followed by one above it is
#      taken out, then the connection closes;
#   b. a frame of exactly the bound, then a 1-byte frame: both are taken out and dropped as
#      malformed, and the connection stays open;
#   c. meanwhile the other peers carry on: pings before and after, and a ping running on each
#      link throughout the attacks loses nothing; no session goes down, no TCP client redials;
#   d. 3000 one-byte frames in one write are all taken out, although one read event handles at
#      most 256 messages (the rest wait in the receive buffer, with no new bytes to wake it).
# Needs root (exit 77 otherwise). Environment from `make check`: VTUND, VT_INJECT, top_srcdir.
# Run time about 20 s.
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/netns/lib.sh"
need_root
plan 44
if [ ! -x "$VT_INJECT" ]; then
	echo "not ok - $VT_INJECT is missing (make tests/tools/vt-inject)"
	exit 1
fi
setup_netns

PORT=5000
SADDR=10.98.0.1
EVIL=10.98.0.3 # the attacker's underlay address, in the client namespace

show_log() { sed 's/^/#   /' "$1"; }

# malformed: the server's drops_without_session.malformed.
malformed() {
	_v=$(json_num "$(status_json "$SSOCK" 2>/dev/null |
	    sed -n 's/.*"drops_without_session"://p')" malformed)
	echo "${_v:-0}"
}

genkeys S
genkeys A
genkeys B
genkeys C
cat > "$TMP/server.conf" <<EOF
listen = "0.0.0.0:$PORT";
private-key = "$S_PRIV";
control-socket = "$TMP/server.sock";
user = "";
peers = {
	ta = { public-key = "$A_PUB"; proto = "tcp"; device = "vt-ta";
		address = "10.99.1.1/30"; peer-address = "10.99.1.2"; };
	tb = { public-key = "$B_PUB"; proto = "tcp"; device = "vt-tb";
		address = "10.99.2.1/30"; peer-address = "10.99.2.2"; };
	uc = { public-key = "$C_PUB"; proto = "udp"; device = "vt-uc";
		address = "10.99.3.1/30"; peer-address = "10.99.3.2"; };
};
EOF
# client NAME PRIV PROTO NET: $TMP/NAME.conf for the client of peer NAME, address NET.2.
client() {
	cat > "$TMP/$1.conf" <<EOF
private-key = "$2";
control-socket = "$TMP/$1.sock";
user = "";
peers = {
	$1 = { public-key = "$S_PUB"; proto = "$3"; remote = "$SADDR:$PORT"; device = "vt-$1";
		address = "$4.2/30"; peer-address = "$4.1"; };
};
EOF
}
client ta "$A_PRIV" tcp 10.99.1
client tb "$B_PRIV" tcp 10.99.2
client uc "$C_PRIV" udp 10.99.3

start_daemon "$NS_S" "$TMP/server.log" -f "$TMP/server.conf" -s
SERVER=$LAST_PID
SSOCK=$TMP/server.sock
if ! wait_for 5 grep -q "ready" "$TMP/server.log"; then
	show_log "$TMP/server.log"
	exit 1
fi
for _p in ta tb uc; do
	start_daemon "$NS_C" "$TMP/$_p.log" -f "$TMP/$_p.conf" client "$_p"
	eval "PID_$_p=\$LAST_PID"
done
NETS="ta:10.99.1.1 tb:10.99.2.1 uc:10.99.3.1"
for _pn in $NETS; do
	_p=${_pn%%:*}
	if wait_for 10 grep -q "session up" "$TMP/$_p.log" && ping_ok "$NS_C" "${_pn#*:}"; then
		ok "$_p: session up, pings cross before the attacks"
	else
		not_ok "$_p: session up, pings cross before the attacks"
		show_log "$TMP/$_p.log"
	fi
done

ip -n "$NS_C" addr add "$EVIL/24" dev "$UNDER_C"
# A ping on each link all through the attacks (10 a second for 15 s; they take about 8).
for _pn in $NETS; do
	_p=${_pn%%:*}
	ip netns exec "$NS_C" ping -c 150 -i 0.1 -W 2 "${_pn#*:}" > "$TMP/ping-$_p.out" 2>&1 &
	eval "PING_$_p=\$!"
	track "$!"
done
sleep 0.5

# stream DESCRIPTION EXPECT ARGS...: one vt-inject stream connection from $EVIL; EXPECT is
# "closed" (within 1 s of the last prefix) or "open" (still open 1.5 s later), and the server's
# malformed counter must grow by MALFORMED_DELTA (set before the call).
stream() {
	_what=$1
	_want=$2
	shift 2
	_m0=$(malformed)
	_out=$(ip netns exec "$NS_C" "$VT_INJECT" stream "$SADDR" "$PORT" --bind "$EVIL" \
	    --max-time 1.5 "$@")
	echo "# $_out"
	sleep 0.2
	_m1=$(malformed)
	case $_want:$_out in
	closed:*"closed by the server"*" ms after the last prefix")
		_ms=$(echo "$_out" | sed -n 's/.*) \([0-9.]*\) ms after the last prefix$/\1/p')
		check "$_what: the server closes the connection at once (${_ms:-?} ms)" \
		    [ "${_ms%.*}" -lt 1000 ]
		;;
	open:*"still open"*)
		ok "$_what: the server keeps the connection open"
		;;
	*)
		not_ok "$_what: the server's connection is not $_want as it should be"
		;;
	esac
	check "$_what: counted as $MALFORMED_DELTA malformed ($_m0 -> $_m1)" \
	    [ "$((_m1 - _m0))" -eq "$MALFORMED_DELTA" ]
	check "$_what: the server is still running" kill -0 "$SERVER" 2>/dev/null
}

# a. Lengths the framing must refuse, as soon as their prefix is complete.
MALFORMED_DELTA=1
stream "a: a whole frame of bound + 1" closed --len max+1
stream "a: a whole frame of 65535" closed --len 65535
stream "a: the prefix of bound + 1 alone" closed --len max+1 --prefix-only
stream "a: the prefix of 65535 alone" closed --len 65535 --prefix-only
stream "a: a length of 0" closed --len 0
MALFORMED_DELTA=2
stream "a: a frame of the bound, then the prefix of bound + 1" closed --len max \
    --len max+1 --prefix-only
check "a: the server logs the corrupt streams" \
    grep -q "tcp connection: corrupt stream, closing" "$TMP/server.log"

# b. The bound itself is a length the framing takes.
MALFORMED_DELTA=2
stream "b: a frame of exactly the bound, then a 1-byte frame" open --len max --len 1

# c. The real peers did not notice.
for _pn in $NETS; do
	_p=${_pn%%:*}
	_pid=""
	eval "_pid=\$PING_$_p"
	wait "$_pid"
	_rc=$?
	_sum=$(grep "packets transmitted" "$TMP/ping-$_p.out")
	check "c: $_p: the ping running throughout lost nothing ($_sum)" \
	    sh -c "[ $_rc -eq 0 ] && echo '$_sum' | grep -q '^150 packets transmitted, 150 received'"
	check "c: $_p: pings cross after the attacks" ping_ok "$NS_C" "${_pn#*:}"
	check "c: $_p: the session never went down" \
	    sh -c "! grep -q 'session down' '$TMP/$_p.log' &&
	    [ \$(grep -c 'session up' '$TMP/$_p.log') -eq 1 ]"
done
for _p in ta tb; do
	check "c: $_p: the client dialled once" \
	    [ "$(grep -c "peer $_p: connected to" "$TMP/$_p.log")" -eq 1 ]
done
check "c: the status socket still answers" sh -c "'$VTUND' status -S '$SSOCK' >/dev/null"

# d. Messages already in the receive buffer are taken out without waiting for more bytes.
MALFORMED_DELTA=3000
stream "d: 3000 one-byte frames in one write" open --len 1 --count 3000

for _p in ta tb uc; do
	_pid=""
	eval "_pid=\$PID_$_p"
	check "$_p: the client exits cleanly on SIGTERM" stop_daemon "$_pid"
done
check "the server exits cleanly on SIGTERM" stop_daemon "$SERVER"
if [ "$failed" -gt 0 ]; then
	echo "# server log:"
	show_log "$TMP/server.log"
fi
finish
