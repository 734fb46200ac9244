#!/bin/sh
# tests/netns/config-check.sh - configuration checking and command-line usage:
#   - every etc/*.conf (and tests/data/good/*.conf) passes `vtund-ng -t -f FILE`, the server
#     examples also with -s, the client examples with `client PEER`;
#   - every tests/data/bad/*.conf fails `-t` with exit 1 and "FILE:LINE: ..." as announced by
#     its first line, "# expect: LINE: fragment";
#   - (root only) the daemon itself refuses every bad file with exit 1 before creating or
#     changing any interface, checked inside a fresh network namespace;
#   - usage errors exit 2 with the usage text on stderr; -V prints the version; -h exits 0.
# Most checks need no root; the daemon check is reported as "# SKIP" without it.
# Environment from `make check`: VTUND, top_srcdir.
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/netns/lib.sh"

[ -x "$VTUND" ] || { echo "not ok - no daemon binary at $VTUND"; exit 1; }
trap cleanup EXIT
trap 'exit 1' INT TERM HUP PIPE

out=$TMP/out
err=$TMP/err

# run ARGS...: run the daemon (10 s at most) with stdout in $out, stderr in $err; sets $rc.
run() {
	timeout 10 "$VTUND" "$@" > "$out" 2> "$err"
	rc=$?
}

# Show what the last run printed, as TAP comments.
show_run() {
	echo "# exit $rc; stdout:"
	sed 's/^/#   /' "$out"
	echo "# stderr:"
	sed 's/^/#   /' "$err"
}

# valid DESCRIPTION ARGS...: the check exits 0 and says "configuration OK" on stdout.
valid() {
	_d=$1
	shift
	run "$@"
	if [ "$rc" -eq 0 ] && grep -q '^configuration OK$' "$out"; then
		ok "$_d"
	else
		not_ok "$_d"
		show_run
	fi
}

# Good files.
for f in "$top_srcdir"/etc/*.conf "$top_srcdir"/tests/data/good/*.conf; do
	valid "-t -f $f" -t -f "$f"
done
for f in "$top_srcdir"/etc/server.conf "$top_srcdir"/etc/site-a.conf; do
	valid "-t -s -f $f" -t -s -f "$f"
done
valid "-t -f etc/client.conf client alice" -t -f "$top_srcdir/etc/client.conf" client alice
valid "-t -f etc/site-b.conf client sitelink" -t -f "$top_srcdir/etc/site-b.conf" client sitelink
run -t -f "$top_srcdir/etc/client.conf" client nosuchpeer
if [ "$rc" -eq 1 ] && grep -q "no peer named 'nosuchpeer'" "$err"; then
	ok "-t -f etc/client.conf client nosuchpeer: exit 1, names the peer"
else
	not_ok "-t -f etc/client.conf client nosuchpeer: exit 1, names the peer"
	show_run
fi

# Bad files: the first line says where and what the (first expected) error is.
nbad=0
for f in "$top_srcdir"/tests/data/bad/*.conf; do
	nbad=$((nbad + 1))
	b=$(basename "$f")
	expect=$(sed -n '1s/^# expect: //p' "$f")
	line=${expect%%:*}
	frag=${expect#*: }
	case $line in
	'' | *[!0-9]*)
		not_ok "$b: first line is not '# expect: LINE: fragment'"
		continue
		;;
	esac
	run -t -f "$f"
	if [ "$rc" -eq 1 ]; then
		ok "$b: -t exits 1"
	else
		not_ok "$b: -t exits 1"
		show_run
	fi
	if grep -F "$f:$line: " "$err" | grep -qF "$frag"; then
		ok "$b: -t reports $f:$line: ...$frag"
	else
		not_ok "$b: -t reports $f:$line: ...$frag"
		show_run
	fi
done
[ "$nbad" -gt 0 ] || not_ok "no tests/data/bad/*.conf found"

# The daemon refuses the bad files before touching any interface: run each as a server in a
# fresh namespace and compare its links (names, flags, addresses) before and after.
NS_CFG=""
if [ "$(id -u)" -ne 0 ]; then
	ok "daemon refuses every bad file without touching interfaces # SKIP needs root"
else
	NS_CFG=vtcfg$$
	trap 'ip netns del "$NS_CFG" 2>/dev/null; cleanup' EXIT
	if ! ip netns add "$NS_CFG"; then
		not_ok "cannot create namespace $NS_CFG"
		NS_CFG=""
	fi
fi
if [ -n "$NS_CFG" ]; then
	before=$(ip -n "$NS_CFG" addr show)
	for f in "$top_srcdir"/tests/data/bad/*.conf; do
		b=$(basename "$f")
		timeout 10 ip netns exec "$NS_CFG" "$VTUND" -n -f "$f" -s > "$out" 2> "$err"
		rc=$?
		after=$(ip -n "$NS_CFG" addr show)
		if [ "$rc" -eq 1 ] && [ "$before" = "$after" ]; then
			ok "$b: daemon -s exits 1, no interface touched"
		else
			not_ok "$b: daemon -s exits 1, no interface touched"
			show_run
			echo "# links before:"; echo "$before" | sed 's/^/#   /'
			echo "# links after:"; echo "$after" | sed 's/^/#   /'
			before=$after
		fi
	done
fi

# Usage errors: exit 2 and the usage text on stderr, nothing on stdout.
usage_error() {
	_d=$1
	shift
	run "$@"
	if [ "$rc" -eq 2 ] && grep -q '^usage: vtund-ng' "$err" && [ ! -s "$out" ]; then
		ok "usage error ($_d): exit 2, usage on stderr"
	else
		not_ok "usage error ($_d): exit 2, usage on stderr"
		show_run
	fi
}
usage_error "unknown option -x" -x
usage_error "-f without argument" -f
usage_error "client without peer" -f "$top_srcdir/etc/client.conf" client
usage_error "-t client without peer" -f "$top_srcdir/etc/client.conf" -t client
usage_error "unknown command" bogus

# -V: "vtund-ng VERSION" with the version of configure.ac.
version=$(sed -n 's/^AC_INIT(\[vtund-ng\], *\[\([^]]*\)\].*/\1/p' "$top_srcdir/configure.ac")
run -V
if [ "$rc" -eq 0 ] && grep -q "^vtund-ng ${version:-[0-9]}" "$out"; then
	ok "-V prints the version (${version:-?})"
else
	not_ok "-V prints the version (${version:-?})"
	show_run
fi
run -h
if [ "$rc" -eq 0 ] && grep -q '^usage: vtund-ng' "$out"; then
	ok "-h exits 0 and prints the usage on stdout"
else
	not_ok "-h exits 0 and prints the usage on stdout"
	show_run
fi

finish
