#!/bin/sh
# scripts/bench.sh - the performance benchmark (run by hand as root; not a test). It
#   1. installs what it needs (scripts/deps.sh --bench: openvpn, wireguard-go, wireguard-tools,
#      iperf3) and builds vtund-ng with -O2 and no sanitizers in build-bench/;
#   2. for each path below makes two fresh namespaces joined by a veth pair (MTU 1500), brings
#      the tunnel up between them (inner MTU 1400 everywhere) and measures, with both tunnel
#      ends and iperf3 on this machine:
#        - TCP throughput, iperf3 -t $BENCH_SECONDS (10), the receiver's rate: one stream
#          client to server (A->B), one stream server to client (B->A, -R), four streams A->B;
#        - latency: the average RTT of ping -c 20 -i 0.05 through the idle tunnel, and of a
#          ping every 0.1 s during the A->B run (under load);
#        - CPU: utime + stime of the tunnel daemons (both ends, from /proc/PID/stat) during the
#          A->B run, divided by the gigabytes received;
#        - memory: the peak RSS (VmHWM) of one end's processes;
#      paths: bare veth (the ceiling), vtund-ng UDP with AES-256-GCM and ChaCha20-Poly1305,
#      vtund-ng TCP, vtund-ng UDP with lz4 on iperf3's --repeating-payload (compressible) and
#      on its default random payload, vtund-ng UDP with offload = "off", the same with
#      threads = 2 (and ChaCha20-Poly1305 and offload off with threads = 2), OpenVPN 2.6 UDP
#      (AES-256-GCM, TLS + tls-crypt, no DCO) and wireguard-go (userspace; kernel WireGuard is
#      not used); every path in each of $BENCH_RUNS (3) rounds, the table giving the medians
#      and the targets of the speed work checked against them;
#   3. runs tests/tools/vt-bench (seal/open and handshakes per second on one core).
# The table and vt-bench's output go to the console and to build-bench/results.txt.
# Only namespace addresses are used; the script kills only the PIDs it started and deletes
# only the namespaces it made. About 20 minutes with the defaults (plus the build).
# Environment: BENCH_SECONDS (iperf3 duration, default 10), BENCH_RUNS (rounds, default 3),
# BENCH_ONLY (space-separated list of path ids to run, e.g. "veth vt-udp ovpn"),
# SKIP_VT_BENCH=1, SKIP_BUILD=1.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
out=$top/build-bench
SECS=${BENCH_SECONDS:-10}
RUNS=${BENCH_RUNS:-3}
ONLY=${BENCH_ONLY:-}
NS_S=vbs$$
NS_C=vbc$$
TMP=$(mktemp -d "${TMPDIR:-/tmp}/vtbench.XXXXXX") || exit 1
PIDS=""
ROWS=$TMP/rows

die() {
	echo "bench.sh: $*" >&2
	exit 1
}

[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces)"

# Kill what this run started (by PID) and delete this run's namespaces.
teardown() {
	for p in $PIDS; do
		kill "$p" 2>/dev/null
	done
	for p in $PIDS; do
		i=0
		while kill -0 "$p" 2>/dev/null && [ $i -lt 25 ]; do
			sleep 0.2
			i=$((i + 1))
		done
		kill -9 "$p" 2>/dev/null
	done
	PIDS=""
	ip netns del "$NS_S" 2>/dev/null
	ip netns del "$NS_C" 2>/dev/null
	# wireguard-go leaves its UAPI sockets behind when killed
	rm -f "/var/run/wireguard/wgs$$.sock" "/var/run/wireguard/wgc$$.sock"
}
trap 'teardown; [ -n "${KEEP_TMP:-}" ] || rm -rf "$TMP"' EXIT
trap 'exit 1' INT TERM

# bglog NS LOG CMD...: run CMD in the namespace in the background with its output in LOG and
# remember its PID in $LAST (ip netns exec and env exec, so $! is the PID of CMD itself).
bglog() {
	ns=$1 log=$2
	shift 2
	# Empty the log here, not in the background shell: callers grep it at once.
	: > "$log"
	ip netns exec "$ns" "$@" > "$log" 2>&1 &
	LAST=$!
	PIDS="$PIDS $LAST"
	LOGS="$LOGS $log"
}

# wait_for SECONDS CMD...: retry every 0.2 s.
wait_for() {
	n=$(($1 * 5))
	shift
	while [ "$n" -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2
		n=$((n - 1))
	done
	return 1
}

# Fresh namespaces joined by veth (MTU 1500): server 10.98.0.1, client 10.98.0.2.
netns_up() {
	teardown
	ip netns add "$NS_S" && ip netns add "$NS_C" || die "cannot create namespaces"
	ip link add "vbs$$" mtu 1500 netns "$NS_S" type veth peer name "vbc$$" mtu 1500 \
	    netns "$NS_C" || die "cannot create the veth pair"
	for ns in "$NS_S" "$NS_C"; do
		ip -n "$ns" link set lo up
	done
	ip -n "$NS_S" addr add 10.98.0.1/24 dev "vbs$$"
	ip -n "$NS_C" addr add 10.98.0.2/24 dev "vbc$$"
	ip -n "$NS_S" link set "vbs$$" up
	ip -n "$NS_C" link set "vbc$$" up
	DAEMONS=""
	LOGS=""
}

# CPU ticks (utime + stime) used so far by the daemons in $DAEMONS and their children.
cpu_ticks() {
	t=0
	for p in $DAEMONS $(for d in $DAEMONS; do pgrep -P "$d"; done); do
		[ -r "/proc/$p/stat" ] || continue
		# fields after the ")" that ends the command name: utime is the 12th, stime the 13th
		v=$(sed 's/.*) //' "/proc/$p/stat" | awk '{ print $12 + $13 }')
		t=$((t + v))
	done
	echo "$t"
}

# Peak resident memory (VmHWM, KiB) of the daemons in $DAEMONS and their children, summed.
rss_kib() {
	t=0
	for p in $DAEMONS $(for d in $DAEMONS; do pgrep -P "$d"; done); do
		v=$(sed -n 's/^VmHWM:[^0-9]*\([0-9]*\).*/\1/p' "/proc/$p/status" 2>/dev/null)
		t=$((t + ${v:-0}))
	done
	echo "$t"
}

# iperf_run ADDR OPTIONS...: one iperf3 run from the client namespace; prints "BYTES BPS" of
# the receiver (sum_received), or nothing if it failed.
iperf_run() {
	a=$1
	shift
	ip netns exec "$NS_C" timeout $((SECS + 20)) iperf3 -c "$a" -t "$SECS" -J "$@" \
	    > "$TMP/iperf.json" 2> "$TMP/iperf.err"
	# sum_received's bytes and bits_per_second (iperf3 -J prints one key a line)
	awk '/"sum_received"/ { r = 1 }
	    r && /"bytes"/ { gsub(/[^0-9.e+]/, "", $2); b = $2 }
	    r && /"bits_per_second"/ { gsub(/[^0-9.e+]/, "", $2); print b, $2; exit }' \
	    "$TMP/iperf.json"
}

mbits() { awk -v r="$1" 'BEGIN { printf "%.0f", r / 1e6 }'; }

# measure ID NAME CRYPTO ADDR [IPERF-OPTIONS]: from the client namespace to ADDR (a
# server-namespace address): idle ping; one TCP stream client -> server (A->B) with a ping
# running (the RTT under load) and the daemons' CPU counted; one stream server -> client (B->A,
# iperf3 -R); four streams A->B; the daemons' peak RSS. Appends a row to $ROWS.
measure() {
	id=$1 name=$2 crypto=$3 addr=$4
	shift 4
	OPTS="$*"
	ab=failed ba=failed p4=failed rtt=- rttl=- cpu=- rss=-
	if ! ip netns exec "$NS_C" ping -c 3 -i 0.2 -W 2 "$addr" >/dev/null 2>&1; then
		echo "  $name: no connectivity through the tunnel; the end of the logs:" >&2
		for f in $LOGS; do
			echo "  == $f" >&2
			tail -n 5 "$f" >&2
		done
		echo "$ROUND|$id|$name|$crypto|$ab|$ba|$p4|$rtt|$rttl|$cpu|$rss" >> "$ROWS"
		return
	fi
	rtt=$(ip netns exec "$NS_C" ping -q -c 20 -i 0.05 "$addr" |
	    sed -n 's|^rtt [^=]*= [0-9.]*/\([0-9.]*\)/.*|\1|p')
	bglog "$NS_S" "$TMP/iperf-s.log" iperf3 -s -B "$addr"
	wait_for 5 sh -c "ip netns exec $NS_S ss -Hltn | grep -q ':5201 '"
	c0=$(cpu_ticks)
	ip netns exec "$NS_C" ping -q -i 0.1 -w "$SECS" "$addr" > "$TMP/ping-load" 2>&1 &
	ppid=$!
	# shellcheck disable=SC2086 # OPTS: zero or more words
	set -- $(iperf_run "$addr" $OPTS)
	c1=$(cpu_ticks)
	wait "$ppid"
	rttl=$(sed -n 's|^rtt [^=]*= [0-9.]*/\([0-9.]*\)/.*|\1|p' "$TMP/ping-load")
	if [ $# -eq 2 ]; then
		ab=$(mbits "$2")
		if [ -n "$DAEMONS" ]; then
			cpu=$(awk -v t=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" -v b="$1" \
			    'BEGIN { printf "%.1f", t / hz / (b / 1e9) }')
		fi
	else
		echo "  $name: iperf3 failed: $(tail -n 3 "$TMP/iperf.err" "$TMP/iperf.json")" >&2
	fi
	# shellcheck disable=SC2086
	set -- $(iperf_run "$addr" -R $OPTS)
	[ $# -eq 2 ] && ba=$(mbits "$2")
	# shellcheck disable=SC2086
	set -- $(iperf_run "$addr" -P 4 $OPTS)
	[ $# -eq 2 ] && p4=$(mbits "$2")
	[ -n "$DAEMONS" ] && rss=$(awk -v k="$(rss_kib)" 'BEGIN { printf "%.1f", k / 2 / 1024 }')
	echo "  $name: A->B $ab, B->A $ba, 4 streams $p4 Mbit/s; RTT ${rtt:-?} ms idle," \
	    "${rttl:-?} ms loaded; ${cpu} CPU-s/GB; RSS $rss MiB per end" >&2
	echo "$ROUND|$id|$name|$crypto|$ab|$ba|$p4|${rtt:--}|${rttl:--}|$cpu|$rss" >> "$ROWS"
}

# want ID: true if this path is selected (BENCH_ONLY empty or lists it).
want() {
	[ -z "$ONLY" ] && return 0
	case " $ONLY " in *" $1 "*) return 0 ;; esac
	return 1
}

bench_veth() {
	want veth || return 0
	netns_up
	measure veth "bare veth (ceiling)" none 10.98.0.1
}

# vtund_conf ROLE FILE PROTO CIPHER COMPRESS
vtund_conf() {
	if [ "$1" = server ]; then
		head="listen = \"10.98.0.1:5000\";" priv=$VS_PRIV pub=$VC_PUB own=1 other=2 rem=""
	else
		head="" priv=$VC_PRIV pub=$VS_PUB own=2 other=1 rem="remote = \"10.98.0.1:5000\";"
	fi
	cat > "$2" <<EOF
$head
private-key = "$priv";
control-socket = "$TMP/$1.sock";
user = "";
log-level = "info";
threads = ${BENCH_THREADS:-1};
peers = {
	bench = {
		public-key = "$pub";
		$rem
		type = "tun";
		proto = "$3";
		device = "vt-bench";
		mtu = 1400;
		cipher = "$4";
		compress = "$5";
		offload = "${BENCH_OFFLOAD:-auto}";
		address = "10.99.9.$own/30";
		peer-address = "10.99.9.$other";
	};
};
EOF
}

# bench_vtund ID NAME PROTO CIPHER COMPRESS [IPERF-OPTIONS]
bench_vtund() {
	id=$1 name=$2 proto=$3 cipher=$4 comp=$5
	shift 5
	want "$id" || return 0
	netns_up
	vtund_conf server "$TMP/s.conf" "$proto" "$cipher" "$comp"
	vtund_conf client "$TMP/c.conf" "$proto" "$cipher" "$comp"
	bglog "$NS_S" "$TMP/s.log" "$VTUND" -n -f "$TMP/s.conf" -s
	DAEMONS=$LAST
	wait_for 5 grep -q ready "$TMP/s.log"
	bglog "$NS_C" "$TMP/c.log" "$VTUND" -n -f "$TMP/c.conf" client bench
	DAEMONS="$DAEMONS $LAST"
	wait_for 10 grep -q "session up" "$TMP/c.log" ||
	    echo "  $name: no session: $(tail -n 2 "$TMP/s.log" "$TMP/c.log")" >&2
	crypto=$cipher
	[ "$comp" = lz4 ] && crypto="$cipher + lz4"
	measure "$id" "$name" "$crypto" 10.99.9.1 "$@"
	if [ "$comp" = lz4 ]; then
		# What lz4 made of the client's packets, from its status (bytes_out / bytes_in).
		# shellcheck disable=SC2020
		"$VTUND" status --json -S "$TMP/client.sock" 2>/dev/null | tr ',{}' '\n\n\n' |
		    awk -v n="$name" -F: '$1 == "\"bytes_in\"" { i = $2 }
		    $1 == "\"bytes_out\"" { o = $2 }
		    $1 == "\"raw_packets\"" { r = $2 }
		    END { if (i > 0) printf "%s: lz4 sent %.1f %% of the bytes, %d packets raw\n",
			n, 100 * o / i, r }' >> "$TMP/notes"
	fi
}

# A throw-away CA, server and client certificates and a tls-crypt key for OpenVPN.
openvpn_pki() {
	d=$TMP/pki
	mkdir -p "$d"
	ec="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
	# shellcheck disable=SC2086
	openssl req -x509 $ec -keyout "$d/ca.key" -out "$d/ca.crt" -subj /CN=bench-ca \
	    -days 2 >/dev/null 2>&1 || return 1
	for n in server client; do
		# shellcheck disable=SC2086
		openssl req $ec -keyout "$d/$n.key" -out "$d/$n.csr" -subj "/CN=$n" \
		    >/dev/null 2>&1 &&
		openssl x509 -req -in "$d/$n.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" \
		    -CAcreateserial -out "$d/$n.crt" -days 2 >/dev/null 2>&1 || return 1
	done
	openvpn --genkey tls-crypt "$d/tc.key" >/dev/null 2>&1
}

bench_openvpn() {
	want ovpn || return 0
	command -v openvpn >/dev/null || { echo "  OpenVPN: not installed, skipped" >&2; return 0; }
	openvpn_pki || { echo "  OpenVPN: cannot make certificates, skipped" >&2; return 0; }
	netns_up
	d=$TMP/pki
	common="--dev tun --proto udp --tun-mtu 1400 --disable-dco --data-ciphers AES-256-GCM
	    --ca $d/ca.crt --tls-crypt $d/tc.key --verb 3"
	# shellcheck disable=SC2086
	bglog "$NS_S" "$TMP/ovpn-s.log" openvpn $common --tls-server --dh none \
	    --cert "$d/server.crt" --key "$d/server.key" --local 10.98.0.1 --lport 1194 \
	    --ifconfig 10.99.9.1 10.99.9.2
	DAEMONS=$LAST
	# shellcheck disable=SC2086
	bglog "$NS_C" "$TMP/ovpn-c.log" openvpn $common --tls-client --cert "$d/client.crt" \
	    --key "$d/client.key" --verify-x509-name server name --remote 10.98.0.1 1194 --nobind --ifconfig 10.99.9.2 10.99.9.1
	DAEMONS="$DAEMONS $LAST"
	wait_for 15 grep -q "Initialization Sequence Completed" "$TMP/ovpn-c.log" ||
	    echo "  OpenVPN: not up: $(tail -n 3 "$TMP/ovpn-s.log" "$TMP/ovpn-c.log")" >&2
	wait_for 5 grep -q "Initialization Sequence Completed" "$TMP/ovpn-s.log"
	cipher=$(sed -n 's/.*NCP negotiation result:.* cipher=\([A-Za-z0-9-]*\).*/\1/p' \
	    "$TMP/ovpn-c.log" | tail -n 1)
	measure ovpn "OpenVPN $OVPN_VERSION UDP" "${cipher:-?}, TLS + tls-crypt" 10.99.9.1
}

bench_wireguard() {
	want wg || return 0
	if ! command -v wireguard-go >/dev/null || ! command -v wg >/dev/null; then
		echo "  wireguard-go: wireguard-go or wg missing, skipped" >&2
		return 0
	fi
	netns_up
	(umask 077 && wg genkey > "$TMP/wgs.key" && wg genkey > "$TMP/wgc.key") || return 0
	for side in s c; do
		if [ $side = s ]; then
			ns=$NS_S own=1 other=2 peerkey=$(wg pubkey < "$TMP/wgc.key")
		else
			ns=$NS_C own=2 other=1 peerkey=$(wg pubkey < "$TMP/wgs.key")
		fi
		dev=wg$side$$
		bglog "$ns" "$TMP/wg$side.log" env WG_PROCESS_FOREGROUND=1 wireguard-go -f "$dev"
		DAEMONS="$DAEMONS $LAST"
		wait_for 5 ip -n "$ns" link show "$dev"
		wait_for 5 test -S "/var/run/wireguard/$dev.sock"
		ip netns exec "$ns" wg set "$dev" private-key "$TMP/wg$side.key" listen-port 51820 \
		    peer "$peerkey" allowed-ips "10.99.9.$other/32" endpoint "10.98.0.$other:51820"
		ip -n "$ns" addr add "10.99.9.$own/24" dev "$dev"
		ip -n "$ns" link set "$dev" mtu 1400 up
	done
	measure wg "wireguard-go $WG_VERSION" "ChaCha20-Poly1305" 10.99.9.1
}

# Step 1: packages and the build.
"$top/scripts/deps.sh" --bench || die "scripts/deps.sh --bench failed"
if [ -z "${SKIP_BUILD:-}" ]; then
	echo "== building vtund-ng (-O2, no sanitizers) in $out"
	[ -x "$top/configure" ] || (cd "$top" && autoreconf -fi) || die "autoreconf failed"
	mkdir -p "$out"
	(cd "$out" && "$top/configure" -q CFLAGS="-O2" &&
	    make -s -j"$(nproc)" vtund-ng tests/tools/vt-bench) > "$TMP/build.log" 2>&1 ||
	    { tail -n 30 "$TMP/build.log"; die "build failed"; }
fi
VTUND=$out/vtund-ng
[ -x "$VTUND" ] || die "$VTUND is missing"
VS_PRIV=$("$VTUND" genkey) && VS_PUB=$(echo "$VS_PRIV" | "$VTUND" pubkey) &&
    VC_PRIV=$("$VTUND" genkey) && VC_PUB=$(echo "$VC_PRIV" | "$VTUND" pubkey) ||
    die "vtund-ng genkey/pubkey failed"
OVPN_VERSION=$(openvpn --version 2>/dev/null | sed -n '1s/^OpenVPN \([0-9.]*\).*/\1/p')
WG_VERSION=$(dpkg-query -W -f='${Version}' wireguard-go 2>/dev/null | sed 's/-.*//')
IPERF_VERSION=$(iperf3 --version 2>/dev/null | sed -n '1s/^iperf \([0-9.]*\).*/\1/p')
REPEAT=""
iperf3 --help 2>&1 | grep -q -- --repeating-payload && REPEAT=--repeating-payload

# Step 2: the paths, all of them in each round (side by side), $RUNS rounds.
start=$(date +%s)
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
: > "$ROWS"
echo "== measuring (iperf3 $IPERF_VERSION, $SECS s per run, $RUNS rounds)"
ROUND=1
while [ "$ROUND" -le "$RUNS" ]; do
	echo "== round $ROUND of $RUNS"
	bench_veth
	bench_vtund vt-udp "vtund-ng UDP" udp aes-256-gcm none
	bench_vtund vt-chacha "vtund-ng UDP" udp chacha20-poly1305 none
	bench_vtund vt-tcp "vtund-ng TCP" tcp aes-256-gcm none
	if [ -n "$REPEAT" ]; then
		bench_vtund vt-lz4-text "vtund-ng UDP lz4, compressible" udp aes-256-gcm lz4 \
		    "$REPEAT"
	elif [ "$ROUND" -eq 1 ]; then
		echo "  iperf3 has no --repeating-payload: compressible lz4 run skipped" >&2
	fi
	bench_vtund vt-lz4-rand "vtund-ng UDP lz4, random data" udp aes-256-gcm lz4
	BENCH_OFFLOAD=off
	bench_vtund vt-udp-nooff "vtund-ng UDP, offload off" udp aes-256-gcm none
	BENCH_THREADS=2
	bench_vtund vt-udp-nooff-t2 "vtund-ng UDP, off, threads 2" udp aes-256-gcm none
	BENCH_OFFLOAD=auto
	bench_vtund vt-udp-t2 "vtund-ng UDP, threads 2" udp aes-256-gcm none
	bench_vtund vt-chacha-t2 "vtund-ng UDP, threads 2" udp chacha20-poly1305 none
	BENCH_THREADS=1
	bench_openvpn
	bench_wireguard
	ROUND=$((ROUND + 1))
done
teardown

# The medians of the rounds per path and column, in the order the paths first appear:
# id|name|crypto|ab|ba|p4|rtt|rttl|cpu|rss
awk -F'|' '
function median(list,   n, v, i, j, t) {
	n = split(list, v, " ")
	for (i = 1; i <= n; i++)
		for (j = i + 1; j <= n; j++)
			if (v[j] + 0 < v[i] + 0) { t = v[i]; v[i] = v[j]; v[j] = t }
	if (n == 0) return "-"
	return v[int((n + 1) / 2)]
}
!($2 in seen) { seen[$2] = 1; order[++k] = $2; name[$2] = $3; crypto[$2] = $4 }
{ for (c = 5; c <= 11; c++) if ($c ~ /^[0-9.]+$/) col[$2, c] = col[$2, c] " " $c }
END {
	for (i = 1; i <= k; i++) {
		id = order[i]
		line = id "|" name[id] "|" crypto[id]
		for (c = 5; c <= 11; c++) line = line "|" median(col[id, c])
		print line
	}
}' "$ROWS" > "$TMP/medians"

# The table, with throughput as a ratio to OpenVPN's (medians) and the targets of the speed
# work checked against the medians.
ov() { awk -F'|' -v c="$1" '$1 == "ovpn" { print $c }' "$TMP/medians"; }
col() { awk -F'|' -v id="$1" -v c="$2" '$1 == id { print $c }' "$TMP/medians"; }
ratio() {
	case "$1$2" in
	*[!0-9.]* | "") echo - ;;
	*) awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }' ;;
	esac
}
{
	echo "vtund-ng benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -r), $(nproc) CPUs:" \
	    "$(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1)"
	echo "commit $(cd "$top" && git rev-parse --short HEAD 2>/dev/null || echo unknown)," \
	    "iperf3 -t $SECS, medians of $RUNS rounds, inner MTU 1400, veth MTU 1500"
	echo "load average before: $LOAD"
	echo
	row() {
		printf '| %-30s | %-31s | %6s | %5s | %6s | %5s | %6s | %5s | %5s | %5s | %5s |\n' "$@"
	}
	row path crypto "A->B" "xOVPN" "B->A" "xOVPN" "4 str." "RTT" "load" "CPU" "RSS"
	row "" "" "Mbit/s" "" "Mbit/s" "" "Mbit/s" "ms" "ms" "s/GB" "MiB"
	row ------------------------------ ------------------------------- ------ ----- ------ \
	    ----- ------ ----- ----- ----- ----- | tr ' ' -
	while IFS='|' read -r id name crypto ab ba p4 rtt rttl cpu rss; do
		row "$name" "$crypto" "$ab" "$(ratio "$ab" "$(ov 4)")" "$ba" \
		    "$(ratio "$ba" "$(ov 5)")" "$p4" "$rtt" "$rttl" "$cpu" "$rss"
	done < "$TMP/medians"
	echo
	[ -s "$TMP/notes" ] && sort -u "$TMP/notes" && echo
	echo "Targets (vtund-ng UDP AES-256-GCM against the others, medians):"
	target() { printf '  %-58s %s\n' "$1" "$2"; }
	u=vt-udp
	target "A->B >= 3x OpenVPN (stretch 4x)" "$(ratio "$(col $u 4)" "$(ov 4)")x"
	target "B->A >= 3x OpenVPN" "$(ratio "$(col $u 5)" "$(ov 5)")x"
	target "A->B >= 3x wireguard-go" "$(ratio "$(col $u 4)" "$(col wg 4)")x"
	target "CPU-s per GB <= 1/3 of OpenVPN's" "$(ratio "$(col $u 9)" "$(ov 9)") of it"
	target "RTT under load <= 1/2 of OpenVPN's" "$(ratio "$(col $u 8)" "$(ov 8)") of it"
	target "idle RTT <= OpenVPN's" "$(ratio "$(col $u 7)" "$(ov 7)") of it"
	target "4 streams >= 1 stream" "$(ratio "$(col $u 6)" "$(col $u 4)")x"
	target "RSS <= OpenVPN's" "$(ratio "$(col $u 10)" "$(ov 10)") of it"
	echo
	echo "Thread scaling (threads = 2 against threads = 1, medians; see doc/BENCHMARK.md):"
	target "AES-256-GCM, 1 stream A->B" "$(ratio "$(col vt-udp-t2 4)" "$(col $u 4)")x"
	target "AES-256-GCM, 1 stream B->A" "$(ratio "$(col vt-udp-t2 5)" "$(col $u 5)")x"
	target "AES-256-GCM, 4 streams" "$(ratio "$(col vt-udp-t2 6)" "$(col $u 6)")x"
	target "AES-256-GCM, CPU-s per GB" "$(ratio "$(col vt-udp-t2 9)" "$(col $u 9)")x"
	target "AES-256-GCM offload off, 1 stream" \
	    "$(ratio "$(col vt-udp-nooff-t2 4)" "$(col vt-udp-nooff 4)")x"
	target "ChaCha20-Poly1305, 1 stream" "$(ratio "$(col vt-chacha-t2 4)" "$(col vt-chacha 4)")x"
	echo
	echo "Measured in $(($(date +%s) - start)) s. A->B: one TCP stream from the client's"
	echo "namespace to the server's, B->A the reverse (iperf3 -R), 4 str.: four streams A->B;"
	echo "the receiver's rate. RTT: ping through the idle tunnel; load: ping during the A->B"
	echo "run. CPU: user + system CPU seconds of both tunnel daemons per gigabyte received in"
	echo "the A->B run (not counting iperf3 or the kernel's softirq work charged elsewhere)."
	echo "RSS: peak resident memory (VmHWM) of one end's processes (both ends / 2)."
} > "$TMP/table"

# Step 3: the micro-benchmark.
if [ -z "${SKIP_VT_BENCH:-}" ] && [ -x "$out/tests/tools/vt-bench" ]; then
	{
		echo
		echo "tests/tools/vt-bench (one core):"
		"$out/tests/tools/vt-bench"
	} >> "$TMP/table"
fi
mkdir -p "$out"
cp "$TMP/table" "$out/results.txt"
echo
cat "$out/results.txt"
echo
echo "saved to $out/results.txt"
