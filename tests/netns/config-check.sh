#!/bin/sh
# tests/netns/config-check.sh - the daemon binary's side of configuration checking, and its
# command-line usage. What each fixture must parse to is the unit test's job (test_config.c:
# test_good_all, test_bad_all); this script checks what only the binary can show, once for all
# the fixtures, so that one parser bug fails one check here and not one per file:
#   - `vtund-ng -t -f FILE` accepts every etc/*.conf and tests/data/good/*.conf (exit 0,
#     "configuration OK"), the server examples also with -s, the client examples with
#     `client PEER`, and names an unknown peer;
#   - it refuses every tests/data/bad/*.conf (errors in the file) and tests/data/bad-system/*.conf
#     (a user or group that does not exist) with exit 1, the error announced by the fixture's
#     first line ("# expect: LINE: fragment") as "FILE:LINE: ..." on stderr, nothing on stdout;
#     it warns of a remote that does not resolve, naming file and line, and accepts the file;
#   - (root only) the daemon itself (-n -s) refuses every bad file with exit 1 and the same
#     messages before creating or changing any interface, checked inside a fresh namespace;
#   - usage errors exit 2 with the usage text on stderr; -V prints the version; -h exits 0.
# The daemon check is reported as "# SKIP" without root. Environment from `make check`: VTUND,
# top_srcdir.
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/netns/lib.sh"

# good files; four role checks and the unknown peer; bad files by -t and by the daemon; five
# usage errors, -V and -h
plan $((1 + 5 + 2 + 5 + 2 + 1))
[ -x "$VTUND" ] || { not_ok "the daemon is built ($VTUND)"; exit 1; }
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

# accepted ARGS...: the check exits 0 and says "configuration OK" on stdout.
accepted() {
	run "$@"
	[ "$rc" -eq 0 ] && grep -q '^configuration OK$' "$out" && return 0
	echo "# vtund-ng $*:"
	show_run
	return 1
}

# valid DESCRIPTION ARGS...: one check that ARGS are accepted.
valid() {
	_d=$1
	shift
	check "$_d" accepted "$@"
}

# Good files: one check for all of them.
ngood=0
bad_good=""
for f in "$top_srcdir"/etc/*.conf "$top_srcdir"/tests/data/good/*.conf; do
	[ -e "$f" ] || continue
	ngood=$((ngood + 1))
	accepted -t -f "$f" || bad_good="$bad_good ${f#"$top_srcdir"/}"
done
check "-t accepts all $ngood good configurations (etc/, tests/data/good/)${bad_good:+; not:$bad_good}" \
    [ "$ngood" -gt 0 -a -z "$bad_good" ]
for f in "$top_srcdir"/etc/server.conf "$top_srcdir"/etc/site-a.conf; do
	valid "-t -s -f ${f#"$top_srcdir"/}" -t -s -f "$f"
done
valid "-t -f etc/client.conf client alice" -t -f "$top_srcdir/etc/client.conf" client alice
valid "-t -f etc/site-b.conf client sitelink" -t -f "$top_srcdir/etc/site-b.conf" client sitelink
# A remote that does not resolve now: -t warns, naming file and line, and accepts the file.
cat > "$TMP/unresolved.conf" <<EOF
private-key = "EF9futNLuiOSG/P0TwkprGrTWws05ZwuQdbRaqsqFVo=";
user = "";
peers = {
	alice = {
		public-key = "PFazca8sc6ownTAq8Tq7a2BGQN327vcaFS/eiNdTnzw=";
		remote = "vtng-nowhere.invalid:5000";
	};
};
EOF
run -t -f "$TMP/unresolved.conf"
check "-t warns of a remote that does not resolve (file:line) and accepts the file" \
    eval '[ "$rc" -eq 0 ] && grep -q "^configuration OK$" "$out" &&
    grep -q "^$TMP/unresolved.conf:6: warning: peer .alice.: vtng-nowhere.invalid" "$err"'
run -t -f "$top_srcdir/etc/client.conf" client nosuchpeer
if [ "$rc" -eq 1 ] && grep -q "no peer named 'nosuchpeer'" "$err"; then
	ok "-t -f etc/client.conf client nosuchpeer: exit 1, names the peer"
else
	not_ok "-t -f etc/client.conf client nosuchpeer: exit 1, names the peer"
	show_run
fi

# Bad files: the first line says where and what the (first expected) error is. -t must exit 1,
# print nothing on stdout, and begin its stderr with that error. Its stderr is kept for the
# daemon check below.
BAD=$(ls "$top_srcdir"/tests/data/bad/*.conf "$top_srcdir"/tests/data/bad-system/*.conf)
nbad=0
refused=0
for f in $BAD; do
	[ -e "$f" ] || continue
	nbad=$((nbad + 1))
	b=$(basename "$f" .conf)
	expect=$(sed -n '1s/^# expect: //p' "$f")
	line=${expect%%:*}
	frag=${expect#*: }
	case $line in
	'' | *[!0-9]*)
		echo "# $b: first line is not '# expect: LINE: fragment'"
		continue
		;;
	esac
	run -t -f "$f"
	cp "$err" "$TMP/$b.t-err"
	if [ "$rc" -eq 1 ] && [ ! -s "$out" ] &&
	    head -n 1 "$err" | grep -F "$f:$line: " | grep -qF "$frag"; then
		refused=$((refused + 1))
	else
		echo "# $b: expected exit 1 and first on stderr $f:$line: ...$frag"
		show_run
	fi
done
check "-t refuses all $nbad bad fixtures: exit 1, the announced FILE:LINE error on stderr ($refused did)" \
    [ "$nbad" -gt 0 -a "$refused" -eq "$nbad" ]

# The daemon refuses the bad files before touching any interface: run each as a server in a
# fresh namespace and compare its links (names, flags, addresses) before and after.
what="the daemon (-n -s) refuses all $nbad bad fixtures with exit 1 and the messages of -t,"
what="$what touching no interface"
if [ "$(id -u)" -ne 0 ]; then
	skip "$what: needs root (a network namespace)"
else
	NS_CFG=vtcfg$$
	trap 'ip netns del "$NS_CFG" 2>/dev/null; cleanup' EXIT
	if ! ip netns add "$NS_CFG"; then
		not_ok "$what (cannot create namespace $NS_CFG)"
	else
		before=$(ip -n "$NS_CFG" addr show)
		quiet=0
		for f in $BAD; do
			[ -e "$f" ] || continue
			b=$(basename "$f" .conf)
			timeout 10 ip netns exec "$NS_CFG" "$VTUND" -n -f "$f" -s > "$out" 2> "$err"
			rc=$?
			after=$(ip -n "$NS_CFG" addr show)
			if [ "$rc" -eq 1 ] && [ "$before" = "$after" ] && [ ! -s "$out" ] &&
			    cmp -s "$err" "$TMP/$b.t-err"; then
				quiet=$((quiet + 1))
			else
				echo "# $b: the daemon did not exit 1 untouched with the messages of -t"
				show_run
				echo "# links before:"; echo "$before" | sed 's/^/#   /'
				echo "# links after:"; echo "$after" | sed 's/^/#   /'
				before=$after
			fi
		done
		check "$what ($quiet did)" [ "$nbad" -gt 0 -a "$quiet" -eq "$nbad" ]
	fi
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
