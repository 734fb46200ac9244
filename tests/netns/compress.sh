#!/bin/sh
# tests/netns/compress.sh - LZ4 compression over a real link, in two fresh namespaces:
#   1. tun/udp, compress = "lz4" on both sides, 10 MB of text through TCP (nc): the sha256
#      matches, the client's underlay veth sends clearly fewer bytes than the payload, and the
#      status JSON shows compression bytes_out < bytes_in;
#   2. the same link, 10 MB from /dev/urandom: the sha256 matches, raw_packets > 0, the underlay
#      bytes stay within the tunnel bytes plus the per-packet overhead, and within 1 % of the
#      underlay cost per tunnel byte of the same transfer with compress = "none";
#   3. one side "lz4", the other "none": no session, the server logs "compress differs" and the
#      client logs the refusal;
#   4. tap/tcp with lz4: a compressible transfer arrives intact.
# Each of the four links also checks that its server starts and that both daemons exit 0. A
# size or ratio is only asserted of a transfer that arrived intact.
# Needs root (exit 77 otherwise), nc (netcat-openbsd) and sha256sum. Environment from `make
# check`: VTUND, top_srcdir. Prints "ok - ..." / "not ok - ..." per check.

. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/netns/lib.sh"
need_root
# 3 checks in each of the 4 up/down pairs; 7 + 3 + 3 + 2 in parts 1-2, the "none" link, 3 and 4
plan $((4 * 3 + 7 + 3 + 3 + 2))
for _t in nc sha256sum; do
	command -v "$_t" >/dev/null 2>&1 || { not_ok "$_t is installed"; exit 1; }
done
setup_netns
genkeys S
genkeys C

PORT=5000
NC_PORT=7000
SIZE=10000000

# conf ROLE FILE TYPE PROTO COMPRESS: write a server or client configuration for peer "cz".
conf() {
	_role=$1 _file=$2 _type=$3 _proto=$4 _comp=$5
	if [ "$_role" = server ]; then
		_own=1 _other=2 _priv=$S_PRIV _pub=$C_PUB
		_where="listen = \"10.98.0.1:$PORT\";"
		_remote=""
	else
		_own=2 _other=1 _priv=$C_PRIV _pub=$S_PUB
		_where=""
		_remote="remote = \"10.98.0.1:$PORT\";"
	fi
	if [ "$_type" = tun ]; then
		_addr="address = \"10.99.7.$_own/30\"; peer-address = \"10.99.7.$_other\";"
	else
		_addr="address = \"10.99.7.$_own/24\";"
	fi
	cat > "$_file" <<EOF
$_where
private-key = "$_priv";
control-socket = "$TMP/$_role.sock";
user = "";
log-level = "info";
peers = {
	cz = {
		public-key = "$_pub";
		$_remote
		type = "$_type";
		proto = "$_proto";
		device = "vt-cz";
		mtu = 1400;
		compress = "$_comp";
		$_addr
	};
};
EOF
}

# up TYPE PROTO SERVER_COMPRESS CLIENT_COMPRESS: start both daemons (SPID, CPID); one check,
# that the server is ready. The link is named "TYPE/PROTO SERVER_COMPRESS-CLIENT_COMPRESS" in
# the checks of down.
up() {
	LINK="$1/$2 $3-$4"
	conf server "$TMP/s.conf" "$1" "$2" "$3"
	conf client "$TMP/c.conf" "$1" "$2" "$4"
	: > "$TMP/s.log"
	: > "$TMP/c.log"
	start_daemon "$NS_S" "$TMP/s.log" -f "$TMP/s.conf" -s
	SPID=$LAST_PID
	check "$LINK: the server is ready" wait_for 5 grep -q ready "$TMP/s.log"
	start_daemon "$NS_C" "$TMP/c.log" -f "$TMP/c.conf" client cz
	CPID=$LAST_PID
}

# down: stop both daemons; two checks, that each exits 0.
down() {
	check "$LINK: the client exits 0 on SIGTERM" stop_daemon "$CPID"
	check "$LINK: the server exits 0 on SIGTERM" stop_daemon "$SPID"
}

session_up() {
	grep -q "peer cz: session up" "$TMP/s.log" && grep -q "peer cz: session up" "$TMP/c.log"
}

# counter NS DEV FIELD: an interface statistic (tx_bytes, tx_packets) read inside NS.
counter() {
	ip netns exec "$1" cat "/sys/class/net/$2/statistics/$3"
}

# transfer SRCFILE: send the file from the client to the server over TCP through the tunnel;
# true if the server received the same bytes.
transfer() {
	rm -f "$TMP/recv"
	ip netns exec "$NS_S" timeout 20 nc -l 10.99.7.1 "$NC_PORT" > "$TMP/recv" &
	_l=$!
	track "$_l"
	wait_for 3 sh -c "ip netns exec $NS_S ss -Hltn | grep -q ':$NC_PORT '"
	ip netns exec "$NS_C" timeout 20 nc -N 10.99.7.1 "$NC_PORT" < "$1"
	wait "$_l"
	[ "$(sha256sum < "$1")" = "$(sha256sum < "$TMP/recv")" ]
}

# sent KEY: the client daemon's tx_bytes or tx_packets: frames as it sent them, each segment of
# a super-packet the device handed over counted with its own headers (the device's counters
# count a super-packet once).
sent() { json_num "$(status_json "$TMP/client.sock")" "$1"; }

# measure SRCFILE: transfer and record the growth of the client's underlay and tunnel counters.
measure() {
	_u0=$(counter "$NS_C" "$UNDER_C" tx_bytes)
	_t0=$(sent tx_bytes)
	_p0=$(sent tx_packets)
	_q0=$(counter "$NS_C" "$UNDER_C" tx_packets)
	transfer "$1"
	_rc=$?
	UNDER=$(($(counter "$NS_C" "$UNDER_C" tx_bytes) - _u0))
	TUNB=$(($(sent tx_bytes) - _t0))
	TUNP=$(($(sent tx_packets) - _p0))
	UNDERP=$(($(counter "$NS_C" "$UNDER_C" tx_packets) - _q0))
	echo "# underlay +$UNDER bytes in $UNDERP packets, tunnel +$TUNB bytes in $TUNP packets"
	return $_rc
}

yes "vtund-ng compression test line" | head -c "$SIZE" > "$TMP/text"
head -c "$SIZE" /dev/urandom > "$TMP/random"

# 1 and 2: tun/udp with lz4 on both ends.
up tun udp lz4 lz4
check "tun/udp lz4: session up" wait_for 10 session_up
measure "$TMP/text"
TEXT_OK=$?
check "lz4 text: 10 MB arrive with the same sha256" [ "$TEXT_OK" -eq 0 ]
check "lz4 text: underlay bytes ($UNDER) < 70 % of the payload ($SIZE), which arrived" \
	test "$TEXT_OK" -eq 0 -a $((UNDER * 100)) -lt $((SIZE * 70))
J=$(status_json "$TMP/client.sock")
CIN=$(json_num "$J" bytes_in)
COUT=$(json_num "$J" bytes_out)
check "lz4 text: status compression bytes_out ($COUT) < bytes_in ($CIN)" \
	test "${COUT:-0}" -gt 0 -a "${COUT:-0}" -lt "${CIN:-0}"
RAW0=$(json_num "$J" raw_packets)

measure "$TMP/random"
LZ_OK=$?
check "lz4 random: 10 MB arrive with the same sha256" [ "$LZ_OK" -eq 0 ]
LZ_UNDER=$UNDER LZ_TUNB=$TUNB
# Ethernet 14 + IPv4 20 + UDP 8 + data header 16 + inner byte 1 + tag 16 = 75 per data packet;
# the few extra underlay packets are keepalives, handshakes or neighbour discovery (< 260 each).
EXTRA=$((UNDERP > TUNP ? UNDERP - TUNP : 0))
check "lz4 random: underlay ($UNDER) <= tunnel ($TUNB) + 75 x $TUNP + 260 x $EXTRA" \
	test "$LZ_OK" -eq 0 -a "$UNDER" -le $((TUNB + 75 * TUNP + 260 * EXTRA))
J=$(status_json "$TMP/client.sock")
RAW=$(json_num "$J" raw_packets)
check "lz4 random: status raw_packets grew ($RAW0 -> $RAW)" \
	test "${RAW:-0}" -gt "${RAW0:-0}"
down

# The same random transfer without compression, for the cost per tunnel byte.
up tun udp none none
check "tun/udp none: session up" wait_for 10 session_up
measure "$TMP/random"
NONE_OK=$?
check "no compression random: 10 MB arrive with the same sha256" [ "$NONE_OK" -eq 0 ]
# Underlay bytes per tunnel byte, in parts per 100000; lz4 may cost at most 1 % more.
R_LZ=$((LZ_UNDER * 100000 / (LZ_TUNB > 0 ? LZ_TUNB : 1)))
R_NONE=$((UNDER * 100000 / (TUNB > 0 ? TUNB : 1)))
check "lz4 random costs within 1 % of no compression ($R_LZ vs $R_NONE per 100000)" \
	test "$LZ_OK" -eq 0 -a "$NONE_OK" -eq 0 -a $((R_LZ * 100)) -le $((R_NONE * 101))
down

# 3: a compress mismatch never makes a session, and both sides say why.
up tun udp none lz4
check "mismatch: the client logs the refusal" wait_for 8 \
	grep -q "peer cz: the server refused the handshake: settings differ" "$TMP/c.log"
check "mismatch: the server logs 'compress differs'" \
	grep -q "peer cz: compress differs: ours none, peer's lz4" "$TMP/s.log"
check "mismatch: no session" eval '! session_up'
down

# 4: tap over tcp with lz4.
up tap tcp lz4 lz4
check "tap/tcp lz4: session up" wait_for 10 session_up
check "tap/tcp lz4 text: 10 MB arrive with the same sha256" transfer "$TMP/text"
down

finish
