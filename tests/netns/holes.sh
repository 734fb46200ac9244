#!/bin/sh
# tests/netns/holes.sh - defences that only unit tests used to see, checked on the daemon as
# users run it (the third, mac1 checked on all its bytes, is security.sh e2). One server (-s)
# in $NS_S with two UDP peers, clients in $NS_C:
#   k. keepalives are sent: kate's link (keepalive = 1, timeout = 3 on both sides) stays up for
#      12 s with no traffic, with no new handshake, and the underlay carries the keepalives;
#   z. LZ4 blocks inflate to at most the largest frame: vt-attack, holding lara's keys
#      (compress = "lz4", mtu 1400), sends blocks inflating to 1400, 1401 and 9000 bytes: the
#      first is delivered, the others are counted as malformed and none of them reaches the
#      server's device.
# IPv6 is off on the tunnel devices (net.ipv6.conf.default in both namespaces), so that no
# kernel chatter crosses an idle link. Needs root (exit 77 otherwise) and tcpdump. Environment
# from `make check`: VTUND, VT_ATTACK, top_srcdir. Run time about 16 s.
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/netns/lib.sh"
VT_ATTACK=${VT_ATTACK:-$(dirname "$VTUND")/tests/tools/vt-attack}
need_root
# the server starts; k, z; the server stops
plan $((1 + 8 + 6 + 1))
command -v tcpdump >/dev/null 2>&1 || { echo "not ok - tcpdump is missing"; exit 1; }
[ -x "$VT_ATTACK" ] || { echo "not ok - $VT_ATTACK is missing (make tests/tools)"; exit 1; }
setup_netns
for _ns in "$NS_S" "$NS_C"; do
	ip netns exec "$_ns" sysctl -q -w net.ipv6.conf.default.disable_ipv6=1 || exit 1
done

PORT=5000
SADDR=10.98.0.1
SSOCK=$TMP/server.sock

# Forget a PID we have reaped ourselves, so cleanup never signals a reused PID.
untrack() { PIDS=$(echo " $PIDS " | sed "s/ $1 / /"); }

# stop PID [SIGNAL]: signal (TERM; INT for tcpdump, so it flushes), wait, forget.
stop() {
	kill "-${2:-TERM}" "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	untrack "$1"
}

# Show a file as TAP comments (on failure).
show_log() { sed 's/^/#   /' "$1"; }

# log_has FILE PATTERN
log_has() { grep -q -F -- "$2" "$1"; }

# peer_field SOCKET PEER KEY: one number of a session's status (its own drops come before the
# daemon-wide drops_without_session); empty if the status does not answer.
peer_field() {
	json_num "$("$VTUND" status --json -S "$1" "$2" | sed 's/"drops_without_session".*//')" "$3"
}

# capture NS DEV FILE [FILTER]: tcpdump writing FILE packet by packet; sets CAP_PID.
capture() {
	# shellcheck disable=SC2086 # the filter is several words
	ip netns exec "$1" tcpdump -Z root -n -U --immediate-mode -i "$2" -w "$3" ${4:-} \
	    > "$3.err" 2>&1 &
	CAP_PID=$!
	track "$CAP_PID"
	wait_for 5 grep -q "listening on" "$3.err" ||
	    { echo "# tcpdump on $2 did not start:"; show_log "$3.err"; }
}

# captured FILE FILTER...: how many packets of the capture match the filter.
captured() {
	_f=$1
	shift
	tcpdump -n -r "$_f" "$@" 2>/dev/null | wc -l
}

# whole_capture ERRFILE: tcpdump kept every packet its filter took; the kernel dropped none.
whole_capture() {
	grep -q '^0 packets dropped by kernel$' "$1" && return 0
	show_log "$1"
	return 1
}

# ---------------------------------------------------------------------------------------------
# Keys and configurations (readable by root alone: they hold keys).

umask 077
genkeys S # server
genkeys K # kate: keepalive = 1, timeout = 3 (k)
genkeys L # lara: compress = "lz4", mtu 1400, played by vt-attack (z)
KA="keepalive = 1; timeout = 3;"
LZ="compress = \"lz4\"; mtu = 1400;"

cat > "$TMP/server.conf" <<EOF
listen = "$SADDR:$PORT";
private-key = "$S_PRIV";
control-socket = "$SSOCK";
user = "";
log-level = "debug";
peers = {
	kate = { public-key = "$K_PUB"; type = "tun"; proto = "udp"; $KA
		device = "vt-kate"; address = "10.99.6.1/30"; peer-address = "10.99.6.2"; };
	lara = { public-key = "$L_PUB"; type = "tun"; proto = "udp"; $LZ
		device = "vt-lara"; address = "10.99.5.1/30"; peer-address = "10.99.5.2"; };
};
EOF

cat > "$TMP/kate.conf" <<EOF
private-key = "$K_PRIV";
control-socket = "$TMP/kate.sock";
user = "";
log-level = "debug";
peers = {
	kate = { public-key = "$S_PUB"; type = "tun"; proto = "udp"; remote = "$SADDR:$PORT"; $KA
		device = "vt-kate"; address = "10.99.6.2/30"; peer-address = "10.99.6.1"; };
};
EOF

start_daemon "$NS_S" "$TMP/server.log" -f "$TMP/server.conf" -s
SERVER=$LAST_PID
if wait_for 5 log_has "$TMP/server.log" "ready"; then
	ok "server starts"
else
	not_ok "server starts"
	show_log "$TMP/server.log"
	finish # every other planned check is reported as not run
	exit 1
fi

# ---------------------------------------------------------------------------------------------
# k. Keepalives: kate's link is left idle for 12 s, four times its timeout. Only keepalives can
# keep it up; the server's underlay is captured meanwhile and must carry them both ways (12 a
# side at one a second; at least 8 are asked for).

start_daemon "$NS_C" "$TMP/kate.log" -f "$TMP/kate.conf" client kate
KATE=$LAST_PID
if wait_for 10 log_has "$TMP/kate.log" "session up" && ping_ok "$NS_C" 10.99.6.1; then
	ok "k: kate's session comes up and carries pings"
else
	not_ok "k: kate's session comes up and carries pings"
	show_log "$TMP/kate.log"
fi
sleep 1 # the last ping's reply is in
capture "$NS_S" "$UNDER_S" "$TMP/idle.pcap" "udp port $PORT"
IDLE_CAP=$CAP_PID
_hs0=$(peer_field "$SSOCK" kate handshakes)
_hc0=$(peer_field "$TMP/kate.sock" kate handshakes)
_f0="$(peer_field "$SSOCK" kate rx_packets)/$(peer_field "$SSOCK" kate tx_packets)"
sleep 12
_hs1=$(peer_field "$SSOCK" kate handshakes)
_hc1=$(peer_field "$TMP/kate.sock" kate handshakes)
_f1="$(peer_field "$SSOCK" kate rx_packets)/$(peer_field "$SSOCK" kate tx_packets)"
stop "$IDLE_CAP" INT
# Keepalives are data messages (type 4) with no frame in them.
_up=$(captured "$TMP/idle.pcap" "src host 10.98.0.2 and udp[8] = 4")
_down=$(captured "$TMP/idle.pcap" "src host $SADDR and udp[8] = 4")
echo "# kate: handshakes server $_hs0 -> $_hs1, client $_hc0 -> $_hc1;" \
    "frames rx/tx at the server $_f0 -> $_f1; data messages up $_up, down $_down"
check "k: no session down on either side in 12 idle seconds" \
    sh -c "! grep -q 'session down' '$TMP/kate.log' &&
    ! grep -q 'peer kate: session down' '$TMP/server.log'"
check "k: no new handshake on either side (status)" \
    [ -n "$_hs0" -a "$_hs0" = "$_hs1" -a -n "$_hc0" -a "$_hc0" = "$_hc1" ]
check "k: both sides still established" \
    sh -c "'$VTUND' status --json -S '$SSOCK' kate | grep -q '\"state\":\"established\"' &&
    '$VTUND' status --json -S '$TMP/kate.sock' kate | grep -q '\"state\":\"established\"'"
check "k: the link carried no frame while idle (rx/tx at the server $_f0 -> $_f1)" \
    [ "$_f0" = "$_f1" -a "$_f0" != / ]
check "k: the underlay capture lost nothing" whole_capture "$TMP/idle.pcap.err"
check "k: kate sent keepalives: $_up data messages in 12 s (at least 8)" [ "$_up" -ge 8 ]
check "k: the server sent keepalives: $_down data messages in 12 s (at least 8)" \
    [ "$_down" -ge 8 ]
stop "$KATE"

# ---------------------------------------------------------------------------------------------
# z. A peer with the keys sends LZ4 blocks: the decoder is bounded by the largest frame (the
# MTU, 1400, on a tun link). Blocks inflating to 1400, 1401 and 9000 bytes: only the first is
# delivered; the others are malformed and never reach vt-lara.

capture "$NS_S" vt-lara "$TMP/lara.pcap" "-Q in"
LARA_CAP=$CAP_PID
_rx0=$(peer_field "$SSOCK" lara rx_packets)
_m0=$(peer_field "$SSOCK" lara malformed)
_out=$(ip netns exec "$NS_C" "$VT_ATTACK" lz4 "$SADDR" "$PORT" --server-pub "$S_PUB" \
    --key "$L_PRIV:lara" --from 10.99.5.2 --to 10.99.5.1 --size 1400 --size 1401 --size 9000 \
    2>&1)
echo "# $_out"
sleep 0.5
_rx1=$(peer_field "$SSOCK" lara rx_packets)
_m1=$(peer_field "$SSOCK" lara malformed)
stop "$LARA_CAP" INT
_at=$(captured "$TMP/lara.pcap" len = 1400)
_over=$(captured "$TMP/lara.pcap" greater 1401)
echo "# lara: rx_packets $_rx0 -> $_rx1, malformed $_m0 -> $_m1;" \
    "on vt-lara: $_at frames of 1400 bytes, $_over above"
if [ "$_over" -ne 0 ]; then
	tcpdump -n -r "$TMP/lara.pcap" greater 1401 2>/dev/null | sed 's/^/#   /'
fi
check "z: vt-attack, as lara, completes a handshake and sends three LZ4 blocks" \
    [ "$_out" = "lz4: sent 3 data messages inflating to 1400, 1401, 9000 bytes" ]
check "z: the block inflating to 1400 bytes is delivered, no other ($_rx0 -> $_rx1)" \
    [ "$((${_rx1:-0} - ${_rx0:-0}))" -eq 1 ]
check "z: those inflating to 1401 and 9000 bytes are malformed ($_m0 -> $_m1)" \
    [ "$((${_m1:-0} - ${_m0:-0}))" -eq 2 ]
check "z: vt-lara got the 1400-byte frame (the capture works)" [ "$_at" -eq 1 ]
check "z: vt-lara got no frame above 1400 bytes ($_over)" [ "$_over" -eq 0 ]
check "z: the device capture lost nothing" whole_capture "$TMP/lara.pcap.err"

check "the server exits cleanly on SIGTERM" stop_daemon "$SERVER"
untrack "$SERVER"
if [ "$failed" -gt 0 ]; then
	echo "# server log (last 40 lines):"
	tail -40 "$TMP/server.log" | sed 's/^/#   /'
fi
finish
