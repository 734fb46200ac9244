# tests/netns/lib.sh - shared helpers for the namespace tests (sourced, POSIX sh).
#
# Each test makes its own pair of namespaces named with its pid, joined by a veth pair:
#   $NS_S (server, underlay 10.98.0.1/24 and fd98::1/64) <-> $NS_C (client, 10.98.0.2, fd98::2)
# It only sends traffic to addresses inside those namespaces, kills only the PIDs it started
# and deletes only what it created (trap). Results are printed as "ok - ..." / "not ok - ...";
# tests/summary.sh counts them. Without root the test exits 77 (skipped).
#
# Environment from `make check`: VTUND (daemon binary), VT_INJECT, top_srcdir, top_builddir.

set -u
VTUND=${VTUND:-$(pwd)/vtund-ng}
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
VT_INJECT=${VT_INJECT:-$(dirname "$VTUND")/tests/tools/vt-inject}

passed=0
failed=0
skipped=0
planned=""
finished=""
ok() { echo "ok - $*"; passed=$((passed + 1)); }
not_ok() { echo "not ok - $*"; failed=$((failed + 1)); }
skip() { echo "ok - $* # SKIP"; skipped=$((skipped + 1)); }
# plan N: this script runs exactly N checks, whatever their outcome (TAP "1..N"). N may be
# computed from the inputs (say, the number of fixture files), but before the first check, so
# that no outcome can change it. A check that does not run (the script stopped early, a branch
# left it out) counts as failed: finish and the EXIT trap report each missing one, and
# tests/summary.sh counts them for a script that died. finish fails a script with no plan.
plan() {
	[ $((passed + failed + skipped)) -eq 0 ] ||
	    not_ok "plan $1 declared after $((passed + failed + skipped)) checks had run"
	planned=$1
	echo "1..$1"
}
# cannot_run REASON DESCRIPTION...: checks that cannot run here (a tool is missing): each is
# "# SKIP" with the reason, or failed under CI (CI=true), where scripts/deps.sh installs it.
cannot_run() {
	_why=$1
	shift
	for _d in "$@"; do
		if [ "${CI:-}" = true ]; then
			not_ok "$_d ($_why)"
		else
			skip "$_d: $_why"
		fi
	done
}
# Report every planned check that did not run as failed, and a plan that ran over.
plan_missing() {
	[ -n "$planned" ] || return 0
	_ran=$((passed + failed + skipped))
	_k=$_ran
	while [ "$_k" -lt "$planned" ]; do
		_k=$((_k + 1))
		not_ok "planned check $_k of $planned did not run"
	done
	[ "$_ran" -le "$planned" ] || not_ok "$_ran checks ran, but the plan says $planned"
}
# check DESCRIPTION COMMAND...: ok if the command succeeds
check() {
	_d=$1
	shift
	if "$@"; then ok "$_d"; else not_ok "$_d"; fi
}

need_root() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "# skipped: needs root (network namespaces)"
		exit 77
	fi
	for _t in ip; do
		command -v "$_t" >/dev/null 2>&1 || { echo "not ok - $_t is missing"; exit 1; }
	done
}

NS_S=vts$$
NS_C=vtc$$
TMP=$(mktemp -d "${TMPDIR:-/tmp}/vtnetns.XXXXXX")
PIDS=""

# need_tools TOOL...: each must be installed (deps.sh installs them), else the test fails.
need_tools() {
	for _t in "$@"; do
		command -v "$_t" >/dev/null 2>&1 || { echo "not ok - $_t is missing"; exit 1; }
	done
}

# Remember a PID we started, so cleanup kills exactly those.
track() { PIDS="$PIDS $1"; }

# The EXIT trap: report planned checks that did not run, kill what we started, delete what we
# made. A script that stops before finish with a failure exits 1 whatever its last status was.
cleanup() {
	[ -n "$finished" ] || plan_missing
	for _p in $PIDS; do
		kill "$_p" 2>/dev/null
	done
	for _p in $PIDS; do
		for _i in 1 2 3 4 5 6 7 8 9 10; do
			kill -0 "$_p" 2>/dev/null || break
			sleep 0.2
		done
		kill -9 "$_p" 2>/dev/null
	done
	ip netns del "$NS_S" 2>/dev/null
	ip netns del "$NS_C" 2>/dev/null
	for _n in $EXTRA_NS; do
		ip netns del "$_n" 2>/dev/null
	done
	for _d in $EXTRA_DIRS; do
		rm -rf "$_d"
	done
	[ -n "${KEEP_TMP:-}" ] || rm -rf "$TMP"
	[ -n "$finished" ] || [ "$failed" -eq 0 ] || exit 1
}

# The last line of a script: every planned check must have run, and passed or been skipped.
finish() {
	plan_missing
	[ -n "$planned" ] || not_ok "the script declares its checks (plan N before the first one)"
	finished=yes
	echo "# $passed passed, $failed failed, $skipped skipped"
	[ "$failed" -eq 0 ]
}

# add_netns NAME: one more namespace (loopback up), deleted by cleanup like the two below.
# EXTRA_DIRS: directories a test made outside $TMP (/etc/netns/NS), removed by cleanup too.
EXTRA_NS=""
EXTRA_DIRS=""
add_netns() {
	ip netns add "$1" || exit 1
	EXTRA_NS="$EXTRA_NS $1"
	ip -n "$1" link set lo up
}

# Two namespaces joined by veth, IPv4 and IPv6 on the underlay.
setup_netns() {
	trap cleanup EXIT
	trap 'exit 1' INT TERM HUP PIPE
	ip netns add "$NS_S" || exit 1
	ip netns add "$NS_C" || exit 1
	ip link add "vs$$" netns "$NS_S" type veth peer name "vc$$" netns "$NS_C" || exit 1
	ip -n "$NS_S" link set lo up
	ip -n "$NS_C" link set lo up
	ip -n "$NS_S" addr add 10.98.0.1/24 dev "vs$$"
	ip -n "$NS_C" addr add 10.98.0.2/24 dev "vc$$"
	ip -n "$NS_S" addr add fd98::1/64 dev "vs$$" nodad
	ip -n "$NS_C" addr add fd98::2/64 dev "vc$$" nodad
	ip -n "$NS_S" link set "vs$$" up
	ip -n "$NS_C" link set "vc$$" up
	UNDER_S=vs$$
	UNDER_C=vc$$
}

# New key pair: sets ${1}_PRIV and ${1}_PUB.
genkeys() {
	_priv=$("$VTUND" genkey) || exit 1
	_pub=$(echo "$_priv" | "$VTUND" pubkey) || exit 1
	eval "${1}_PRIV=\$_priv; ${1}_PUB=\$_pub"
}

# start_daemon NS LOGFILE ARGS...: run vtund-ng -n in a namespace, remember its PID in $LAST_PID.
start_daemon() {
	_ns=$1
	_log=$2
	shift 2
	: > "$_log" # empty it now: a grep right after must not see a previous run's lines
	ip netns exec "$_ns" "$VTUND" -n "$@" >> "$_log" 2>&1 &
	LAST_PID=$!
	track "$LAST_PID"
}

# stop_daemon PID: SIGTERM and wait up to 10 s (then SIGKILL); true if it exited with status 0.
stop_daemon() {
	kill -TERM "$1" 2>/dev/null || return 1
	_n=50
	while [ "$_n" -gt 0 ] && kill -0 "$1" 2>/dev/null; do
		# a zombie child still answers kill -0: check its state
		[ "$(ps -o stat= -p "$1" 2>/dev/null | cut -c1)" = Z ] && break
		sleep 0.2
		_n=$((_n - 1))
	done
	if [ "$_n" -eq 0 ]; then
		echo "# daemon $1 did not exit 10 s after SIGTERM: killed"
		kill -9 "$1" 2>/dev/null
		wait "$1" 2>/dev/null
		return 1
	fi
	wait "$1"
}

# wait_for SECONDS COMMAND...: retry the command every 0.2 s until it succeeds.
wait_for() {
	_n=$(($1 * 5))
	shift
	while [ "$_n" -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2
		_n=$((_n - 1))
	done
	return 1
}

# ping_ok NS ADDR: a few pings succeed.
ping_ok() {
	ip netns exec "$1" ping -c 3 -i 0.2 -W 2 "$2" >/dev/null 2>&1
}

# link_exists NS DEV
link_exists() {
	ip -n "$1" link show "$2" >/dev/null 2>&1
}

# link_conf ROLE PORT: the start of a one-peer configuration "link" on stdout, for tests that
# write one per role: the server ($S_PRIV, the peer's key $C_PUB) listens on 10.98.0.1:PORT,
# the client ($C_PRIV, $S_PUB) dials it; no user switch; the control socket is
# $TMP/ROLE.sock. Sets OWN and OTHER (1 and 2 on the server, 2 and 1 on the client); the
# caller writes the peer's other settings and "}; };".
link_conf() {
	if [ "$1" = server ]; then
		OWN=1 OTHER=2 _priv=$S_PRIV _pub=$C_PUB
	else
		OWN=2 OTHER=1 _priv=$C_PRIV _pub=$S_PUB
	fi
	echo "user = \"\";"
	echo "control-socket = \"$TMP/$1.sock\";"
	echo "private-key = \"$_priv\";"
	[ "$1" = server ] && echo "listen = \"10.98.0.1:$2\";"
	echo "peers = { link = {"
	echo "	public-key = \"$_pub\";"
	[ "$1" = client ] && echo "	remote = \"10.98.0.1:$2\";"
	return 0
}

# link_up N: start the server on $TMP/s.conf and the client of "link" on $TMP/c.conf (logs
# $TMP/sN.log and $TMP/cN.log, PIDs in SPID and CPID); true once the session is up on both.
link_up() {
	start_daemon "$NS_S" "$TMP/s$1.log" -f "$TMP/s.conf" -s
	SPID=$LAST_PID
	start_daemon "$NS_C" "$TMP/c$1.log" -f "$TMP/c.conf" client link
	CPID=$LAST_PID
	wait_for 10 sh -c "grep -q 'session up' '$TMP/s$1.log' && grep -q 'session up' '$TMP/c$1.log'"
}

# notify_socket PATH LOG: a stand-in for systemd's notify socket; each message one line.
notify_socket() {
	python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(120)
try:
    while True:
        print(s.recv(4096).decode(errors="replace").replace("\n", " "), flush=True)
except socket.timeout:
    pass' "$1" > "$2" 2>&1 &
	track $!
	wait_for 5 test -S "$1"
}

# lan GW NS GWADDR HOSTADDR: a veth between gateway GW and LAN host NS (a /24), the host's
# default route through the gateway, and forwarding on the gateway.
lan() {
	ip link add "lg$$" netns "$1" type veth peer name "lh$$" netns "$2"
	ip -n "$1" addr add "$3/24" dev "lg$$"
	ip -n "$2" addr add "$4/24" dev "lh$$"
	ip -n "$1" link set "lg$$" up
	ip -n "$2" link set "lh$$" up
	ip -n "$2" route add default via "$3"
	ip netns exec "$1" sysctl -qw net.ipv4.ip_forward=1
}

# listening NS PORT: some socket listens on TCP PORT in NS.
listening() { ip netns exec "$1" ss -Hltn "sport = :$2" | grep -q .; }

# transfer SRC_NS DST_NS DST_ADDR: $DATA over TCP (nc) from SRC_NS to DST_ADDR:7000 in DST_NS;
# true if what arrived has the same sha256. (tunnel.sh and compress.sh have their own.)
transfer() {
	rm -f "$TMP/recv"
	timeout 30 ip netns exec "$2" nc -l -n -d "$3" 7000 > "$TMP/recv" 2>/dev/null &
	_l=$!
	track "$_l"
	wait_for 5 listening "$2" 7000
	timeout 30 ip netns exec "$1" nc -n -N -w 10 "$3" 7000 < "$DATA" 2>/dev/null
	wait "$_l"
	[ "$(sha256sum < "$DATA")" = "$(sha256sum < "$TMP/recv")" ] && return 0
	echo "# received $(wc -c < "$TMP/recv") of $(wc -c < "$DATA") bytes, checksum differs"
	return 1
}

# status_json SOCKET: the daemon's status as JSON on stdout.
status_json() {
	"$VTUND" status --json -S "$1"
}

# json_num JSON KEY: first numeric value of "KEY": in a JSON text (flat enough for our status).
json_num() {
	echo "$1" | tr ',{}' '\n\n\n' | sed -n "s/^\"$2\":\([0-9][0-9]*\).*/\1/p" | head -1
}
