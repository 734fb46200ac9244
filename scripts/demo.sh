#!/bin/sh
# scripts/demo.sh - the README's demo: a real vtund-ng tunnel between two network namespaces.
# Run as root on Debian 12. Steps:
#   1. install the packages it needs (scripts/deps.sh);
#   2. build vtund-ng in build-demo/ (skipped when build-demo/vtund-ng is newer than the sources);
#   3. make namespaces vtdemo-srv (10.98.0.1/24) and vtdemo-cli (10.98.0.2/24) joined by veth;
#   4. run the shipped etc/server.conf (-s) in vtdemo-srv and etc/client.conf (client alice) in
#      vtdemo-cli, with the configs' own example keys;
#   5. show the logs, the tunnel interface, pings both ways (IPv4 and IPv6), `vtund-ng status`
#      on both sides and, if iperf3 is installed, a 3-second throughput run;
#   6. stop both daemons and delete the namespaces (also on failure or Ctrl-C).
# Exit 0 only if the pings crossed the tunnel. VTUND=/path/to/vtund-ng skips steps 1 and 2.
# --build-only: steps 1 and 2, then print the binary's path (scripts/sites-demo.sh uses it).
set -u
BUILD_ONLY=""
[ "${1:-}" = --build-only ] && BUILD_ONLY=yes

top=$(cd "$(dirname "$0")/.." && pwd) || exit 1
. "$top/scripts/demo-lib.sh"
NS_S=vtdemo-srv
NS_C=vtdemo-cli

section() { printf '\n==== %s ====\n' "$*"; }
die() { echo "demo: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run me as root (network namespaces, TUN devices)"

if [ -z "${VTUND:-}" ]; then
	section "1. Dependencies (scripts/deps.sh)"
	"$top/scripts/deps.sh" || die "scripts/deps.sh failed"
	echo "all build and demo packages are installed"

	section "2. Build (build-demo/)"
	VTUND=$top/build-demo/vtund-ng
	newer=""
	[ -x "$VTUND" ] && newer=$(cd "$top" && find src configure.ac Makefile.am -newer "$VTUND" \
	    2>/dev/null | head -1)
	if [ -x "$VTUND" ] && [ -z "$newer" ]; then
		echo "build-demo/vtund-ng is up to date"
	else
		(
			cd "$top" || exit 1
			# A configured build-demo/ remakes itself (automake's rebuild rules).
			if [ ! -f build-demo/Makefile ]; then
				echo "+ autoreconf -fi"
				autoreconf -fi || exit 1
				mkdir -p build-demo
				echo "+ ../configure -q   (in build-demo/)"
				(cd build-demo && ../configure -q) || exit 1
			fi
			cd build-demo || exit 1
			echo "+ make -j2 vtund-ng   (in build-demo/)"
			make -j2 vtund-ng >make.out 2>&1 || { tail -n 30 make.out; exit 1; }
		) || die "the build failed"
		echo "built $VTUND"
	fi
fi
[ -x "$VTUND" ] || die "no vtund-ng binary at $VTUND"
if [ -n "$BUILD_ONLY" ]; then
	echo "$VTUND"
	exit 0
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vtdemo.XXXXXX") || exit 1
# The daemon may drop root (to the "vtund-ng" user when it exists): let it reach its socket.
chmod 0755 "$tmp"
spid=""
cpid=""
ipid=""

cleanup() {
	# shellcheck disable=SC2086 # empty ones drop out
	demo_stop $ipid $cpid $spid
	ip netns del "$NS_S" 2>/dev/null
	ip netns del "$NS_C" 2>/dev/null
	rm -rf "$tmp"
}

demo_leftovers "$NS_S" "$NS_C"

trap cleanup EXIT
trap 'exit 1' INT TERM HUP

section "3. Namespaces $NS_S and $NS_C joined by veth"
ip netns add "$NS_S" || exit 1
ip netns add "$NS_C" || exit 1
ip link add vtdemo-s netns "$NS_S" type veth peer name vtdemo-c netns "$NS_C" || exit 1
ip -n "$NS_S" link set lo up
ip -n "$NS_C" link set lo up
ip -n "$NS_S" addr add 10.98.0.1/24 dev vtdemo-s || exit 1
ip -n "$NS_C" addr add 10.98.0.2/24 dev vtdemo-c || exit 1
ip -n "$NS_S" link set vtdemo-s up
ip -n "$NS_C" link set vtdemo-c up
echo "$NS_S: vtdemo-s 10.98.0.1/24    <-- veth -->    $NS_C: vtdemo-c 10.98.0.2/24"

section "4. Start the daemons with etc/server.conf and etc/client.conf"
# The shipped examples, unchanged but for one line: the control socket goes to our temporary
# directory (the default, /run/vtund-ng/..., could belong to a vtund-ng on this machine).
# A setting may appear only once in libconfig, so replace an active one or add one.
demo_conf() {
	if grep -q '^[[:space:]]*control-socket[[:space:]]*=' "$top/etc/$1.conf"; then
		sed "s|^[[:space:]]*control-socket[[:space:]]*=.*|control-socket = \"$tmp/$1.sock\";|" \
		    "$top/etc/$1.conf" > "$tmp/$1.conf"
	else
		{
			cat "$top/etc/$1.conf"
			echo "control-socket = \"$tmp/$1.sock\";"
		} > "$tmp/$1.conf"
	fi
	echo "$tmp/$1.conf: etc/$1.conf with this one line changed:"
	diff "$top/etc/$1.conf" "$tmp/$1.conf" | sed -n 's/^> /    /p'
}
demo_conf server
demo_conf client
echo "+ ip netns exec $NS_S vtund-ng -n -f server.conf -s"
ip netns exec "$NS_S" "$VTUND" -n -f "$tmp/server.conf" -s > "$tmp/server.log" 2>&1 &
spid=$!
echo "+ ip netns exec $NS_C vtund-ng -n -f client.conf client alice"
ip netns exec "$NS_C" "$VTUND" -n -f "$tmp/client.conf" client alice > "$tmp/client.log" 2>&1 &
cpid=$!

# Wait up to 10 s for "session up" in both logs.
n=0
until grep -q 'peer alice: session up' "$tmp/server.log" 2>/dev/null &&
    grep -q 'peer alice: session up' "$tmp/client.log" 2>/dev/null; do
	n=$((n + 1))
	[ "$n" -ge 50 ] && break
	# A daemon that died (bad configuration, no TUN) will not bring the session up.
	if ! kill -0 "$spid" 2>/dev/null || ! kill -0 "$cpid" 2>/dev/null; then
		break
	fi
	sleep 0.2
done
echo "-- server log ($NS_S):"
sed 's/^/    /' "$tmp/server.log"
echo "-- client log ($NS_C):"
sed 's/^/    /' "$tmp/client.log"
grep -q 'peer alice: session up' "$tmp/client.log" ||
    die "no session within 10 s (see the logs above)"

section "5. The tunnel interface in $NS_C"
echo "+ ip -n $NS_C addr show vt-alice"
ip -n "$NS_C" addr show vt-alice

section "6. Ping through the tunnel"
pings_ok=true
demo_ping() {
	echo "+ ip netns exec $1 ping -c 5 -i 0.2 $2"
	ip netns exec "$1" ping -c 5 -i 0.2 -W 2 "$2" || pings_ok=false
	echo
}
demo_ping "$NS_C" 10.99.1.1
demo_ping "$NS_C" fd99:1::1
demo_ping "$NS_S" 10.99.1.2
demo_ping "$NS_S" fd99:1::2

section "7. vtund-ng status"
echo "+ vtund-ng status -S $tmp/server.sock      (server)"
"$VTUND" status -S "$tmp/server.sock"
echo
echo "+ vtund-ng status -S $tmp/client.sock      (client)"
"$VTUND" status -S "$tmp/client.sock"

section "8. Throughput (iperf3, 3 s)"
if command -v iperf3 >/dev/null 2>&1; then
	timeout 20 ip netns exec "$NS_S" iperf3 -s -1 -B 10.99.1.1 > "$tmp/iperf3-s.log" 2>&1 &
	ipid=$!
	n=0
	until ip netns exec "$NS_S" ss -Hltn 'sport = :5201' | grep -q .; do
		n=$((n + 1))
		[ "$n" -ge 25 ] && break
		sleep 0.2
	done
	echo "+ ip netns exec $NS_C iperf3 -c 10.99.1.1 -t 3"
	timeout 20 ip netns exec "$NS_C" iperf3 -c 10.99.1.1 -t 3 ||
	    echo "(iperf3 failed; the demo goes on)"
	wait "$ipid" 2>/dev/null
	ipid=""
else
	echo "iperf3 is not installed: skipped"
fi

section "9. Stop the daemons"
for who in client server; do
	if [ "$who" = client ]; then p=$cpid; else p=$spid; fi
	kill -TERM "$p" 2>/dev/null
	n=0
	while kill -0 "$p" 2>/dev/null && [ "$n" -lt 100 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	kill -0 "$p" 2>/dev/null && { echo "$who still runs 10 s after SIGTERM: killed"; kill -KILL "$p"; }
	wait "$p"
	echo "$who exited with status $?; last log lines:"
	tail -n 2 "$tmp/$who.log" | sed 's/^/    /'
done
cpid=""
spid=""
echo "the namespaces are deleted on exit"

section "Result"
if $pings_ok; then
	echo "the pings crossed the tunnel both ways, IPv4 and IPv6"
	exit 0
fi
echo "some pings did not cross the tunnel"
exit 1
