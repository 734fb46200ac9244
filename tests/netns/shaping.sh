#!/bin/sh
# tests/netns/shaping.sh - rate-in and rate-out (traffic shaping, like VTun's speed), measured
# with iperf3 (TCP, the receiver's rate, 5 s after 1 s left out):
#   a. udp link, the server shaping both directions (as VTun's server does): rate-out 10mbit
#      (server -> client) and rate-in 20mbit (client -> server) each hold within 10 %;
#   b. a UDP flood of 60 Mbit/s client -> server: what arrives holds rate-in within 10 %, and
#      the excess is counted as "rate" drops (in the JSON status, and in `status --metrics`,
#      which is checked to be well-formed Prometheus text);
#   c. reload with rate-out 5mbit: the new rate holds within 10 %, the session is not restarted;
#   d. tcp link, shaped by the client: rate-out 8mbit (client -> server) within 10 %, and an
#      unshaped direction runs far above it.
# Needs root (exit 77 otherwise), iperf3, python3. Run time about 60 s.
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/netns/lib.sh"
need_root
need_tools iperf3 python3 timeout ss
plan 16
setup_netns
echo "# namespaces $NS_S $NS_C, files in $TMP"
genkeys S
genkeys C

# conf FILE ROLE PORT PROTO N RATES: a one-peer configuration "link" on 10.99.N.0/30; RATES are
# extra peer settings.
conf() {
	{
		link_conf "$2" "$3"
		echo "	proto = \"$4\"; device = \"vr$OWN-$5\";"
		echo "	address = \"10.99.$5.$OWN/30\"; peer-address = \"10.99.$5.$OTHER\";"
		echo "	$6"
		echo "}; };"
	} > "$1"
}

# rate NS ADDR [IPERF ARGS]: kbit/s the receiver saw in a 5 s iperf3 run to ADDR (an iperf3
# server listens there), as an integer; empty on failure.
rate() {
	_ns=$1 _a=$2
	shift 2
	ip netns exec "$_ns" timeout 30 iperf3 -c "$_a" -t 5 -O 1 -J "$@" > "$TMP/iperf.json" \
	    2> "$TMP/iperf.err"
	python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
e = j["end"]
s = e.get("sum_received") or e.get("sum")
print(int(s["bits_per_second"] / 1e3 + 0.5))
' "$TMP/iperf.json" 2>> "$TMP/iperf.err"
}

# near GOT WANT: GOT (kbit/s) within 10 % of WANT (Mbit/s).
near() {
	echo "# measured ${1:-nothing} kbit/s, limit $2 Mbit/s"
	[ -n "$1" ] && [ $(($1 / 10)) -ge $(($2 * 90)) ] && [ $(($1 / 10)) -le $(($2 * 110)) ]
}

# iperf_server NS ADDR: an iperf3 server in NS on ADDR, until the test ends.
iperf_server() {
	ip netns exec "$1" iperf3 -s -B "$2" > "$TMP/iperf-s-$2.log" 2>&1 &
	IPERF_PID=$!
	track "$IPERF_PID"
	wait_for 5 listening "$1" 5201
}

# a. the server shapes both directions of a udp link
conf "$TMP/s.conf" server 5401 udp 1 'rate-out = "10mbit"; rate-in = "20mbit";'
conf "$TMP/c.conf" client 5401 udp 1 ''
link_up 1
check "a: session up" [ $? -eq 0 ]
iperf_server "$NS_S" 10.99.1.1
check "a: server -> client holds the server's rate-out of 10mbit within 10 %" \
    near "$(rate "$NS_C" 10.99.1.1 -R)" 10
check "a: client -> server holds the server's rate-in of 20mbit within 10 %" \
    near "$(rate "$NS_C" 10.99.1.1)" 20

# b. a UDP flood over rate-in: the excess is dropped and counted
r0=$(json_num "$(status_json "$TMP/server.sock")" rate)
check "b: a 60 Mbit/s UDP flood arrives at rate-in (20mbit) within 10 %" \
    near "$(rate "$NS_C" 10.99.1.1 -u -b 60M -l 1200)" 20
r1=$(json_num "$(status_json "$TMP/server.sock")" rate)
echo "# rate drops before $r0, after $r1"
check "b: the excess is counted as rate drops (more than 10000)" \
    [ $((${r1:-0} - ${r0:-0})) -gt 10000 ]
"$VTUND" status --metrics -S "$TMP/server.sock" > "$TMP/metrics.prom"
check "b: status --metrics is Prometheus text whose rate drops match the JSON status" \
    python3 -c '
import re, sys
text = open(sys.argv[1]).read()
lines = text.splitlines()
assert lines[-1] == "# EOF", lines[-1]
families, series, fam = set(), set(), None
for l in lines[:-1]:
    m = re.match(r"# TYPE (vtund_ng_[a-z_]+) (counter|gauge)$", l)
    if m:
        assert m.group(1) not in families, l
        families.add(m.group(1)); fam = m.group(1); continue
    if l.startswith("# HELP "):
        continue
    m = re.match(r"(vtund_ng_[a-z_]+)(\{[a-z]+=\"[^\"]*\"(,[a-z]+=\"[^\"]*\")*\})? ([0-9]+)$", l)
    assert m and m.group(1) == fam, l
    assert (m.group(1), m.group(2)) not in series, l
    series.add((m.group(1), m.group(2)))
v = re.search(r"^vtund_ng_drops_total\{peer=\"link\",reason=\"rate\"\} ([0-9]+)$", text, re.M)
assert v and int(v.group(1)) >= int(sys.argv[2]) > 10000, v
assert re.search(r"^vtund_ng_session_up\{peer=\"link\"\} 1$", text, re.M)
' "$TMP/metrics.prom" "${r1:-0}"
check "b: status shows the rates" \
    eval '"$VTUND" status -S "$TMP/server.sock" | grep -q "rate: in 20 Mbit/s, out 10 Mbit/s"'

# c. reload: the new rate applies in place
conf "$TMP/s.conf" server 5401 udp 1 'rate-out = "5mbit"; rate-in = "20mbit";'
out=$("$VTUND" reload -S "$TMP/server.sock" 2>&1)
rc=$?
echo "# reload: $out"
check "c: reload with rate-out 5mbit exits 0" [ "$rc" -eq 0 ]
check "c: server -> client now holds 5mbit within 10 %" near "$(rate "$NS_C" 10.99.1.1 -R)" 5
check "c: the session was not restarted (one session up in the server's log)" \
    [ "$(grep -c 'session up' "$TMP/s1.log")" -eq 1 ]
check "c: both daemons exit 0" eval 'stop_daemon "$CPID" && stop_daemon "$SPID"'

# d. a tcp link shaped by the client, one direction only
kill "$IPERF_PID"
wait "$IPERF_PID" 2>/dev/null
conf "$TMP/s.conf" server 5402 tcp 2 ''
conf "$TMP/c.conf" client 5402 tcp 2 'rate-out = "8mbit";'
link_up 2
check "d: tcp: session up" [ $? -eq 0 ]
iperf_server "$NS_S" 10.99.2.1
check "d: tcp: client -> server holds the client's rate-out of 8mbit within 10 %" \
    near "$(rate "$NS_C" 10.99.2.1)" 8
fast=$(rate "$NS_C" 10.99.2.1 -R)
echo "# unshaped direction: ${fast:-nothing} kbit/s"
check "d: tcp: the unshaped direction is not held (over 40 Mbit/s)" [ "${fast:-0}" -gt 40000 ]
check "d: tcp: status shows the rate" \
    eval '"$VTUND" status -S "$TMP/client.sock" | grep -q "rate: out 8 Mbit/s"'
check "d: both daemons exit 0" eval 'stop_daemon "$CPID" && stop_daemon "$SPID"'
finish
