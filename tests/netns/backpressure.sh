#!/bin/sh
# tests/netns/backpressure.sh - a TCP link whose far end stops reading: the sender stops reading
# its device instead of queueing without bound (its memory stays flat), nothing crashes, and the
# link carries traffic again once the far end reads again.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/netns/lib.sh"
need_root
plan 8
setup_netns
genkeys S
genkeys C
cat > "$TMP/s.conf" <<CONF
private-key = "$S_PRIV"; user = ""; listen = "0.0.0.0:5300"; control-socket = "$TMP/s.sock";
peers = { bp = { public-key = "$C_PUB"; proto = "tcp"; device = "vbps";
	address = "10.99.30.1/30"; peer-address = "10.99.30.2"; timeout = 0; }; };
CONF
cat > "$TMP/c.conf" <<CONF
private-key = "$C_PRIV"; user = ""; control-socket = "$TMP/c.sock";
peers = { bp = { public-key = "$S_PUB"; proto = "tcp"; device = "vbpc"; remote = "10.98.0.1:5300";
	address = "10.99.30.2/30"; peer-address = "10.99.30.1"; timeout = 0; }; };
CONF
start_daemon "$NS_S" "$TMP/s.log" -f "$TMP/s.conf" -s
SPID=$LAST_PID
start_daemon "$NS_C" "$TMP/c.log" -f "$TMP/c.conf" client bp
CPID=$LAST_PID
check "session up" wait_for 10 grep -q "session up" "$TMP/c.log"
rss() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
rss0=$(rss "$CPID")
txdrop() { ip netns exec "$NS_C" cat /sys/class/net/vbpc/statistics/tx_dropped; }
drop0=$(txdrop)

# The server stops reading its socket; the client floods its device for 5 s with UDP to a
# tunnel address (bounded: 5 s, one sender).
kill -STOP "$SPID"
ip netns exec "$NS_C" timeout 5 sh -c 'head -c 2000000000 /dev/zero | nc -u -w 1 10.99.30.1 9 >/dev/null 2>&1'
rss1=$(rss "$CPID")
check "client alive while the far end does not read" kill -0 "$CPID"
echo "# client RSS before $rss0 kB, during $rss1 kB"
# bounded: both readings exist (the client was there to be measured) and differ by < 8 MB.
bounded() { [ -n "$rss0" ] && [ -n "$rss1" ] && [ $((rss1 - rss0)) -lt 8192 ]; }
check "client memory stays bounded (grew by less than 8 MB)" bounded
drop1=$(txdrop)
echo "# client device tx_dropped before $drop0, after $drop1"
check "the client stopped reading its device (the kernel dropped at the device queue)" \
    test "$drop1" -gt "$drop0"
J=$(status_json "$TMP/c.sock")
check "the client dropped nothing itself (device drops 0)" \
    test "$(json_num "$J" device)" = 0
kill -CONT "$SPID"
check "link carries traffic again once the far end reads" wait_for 15 ping_ok "$NS_C" 10.99.30.1
check "client exits 0" stop_daemon "$CPID"
check "server exits 0" stop_daemon "$SPID"
finish
