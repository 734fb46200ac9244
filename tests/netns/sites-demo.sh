#!/bin/sh
# tests/netns/sites-demo.sh - the README's site-to-site demo (scripts/sites-demo.sh) runs as
# written with the built daemon: it exits 0 (every LAN host reached every other), shows the
# routes the daemons installed, and the hub's status counts the spoofed pings as filter drops.
# Needs root (exit 77 otherwise). Run time about 10 s.
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/netns/lib.sh"
need_root
plan 3
trap cleanup EXIT
VTUND=$VTUND timeout 120 sh "$top_srcdir/scripts/sites-demo.sh" > "$TMP/out" 2>&1
rc=$?
[ "$rc" -eq 0 ] || sed 's/^/#   /' "$TMP/out" | tail -n 40
check "scripts/sites-demo.sh exits 0: every LAN host reached every other" [ "$rc" -eq 0 ]
check "it shows the routes installed through the tunnels" \
    eval 'grep -q "10.2.0.0/24 dev vt-site-a" "$TMP/out" &&
    grep -q "10.3.0.0/24 dev vt-site-a" "$TMP/out" &&
    grep -q "10.2.0.0/24 dev vt-site-b" "$TMP/out"'
check "the hub counted the spoofed pings as filter drops" \
    grep -q "filter 3, rate 0, duplicate 0$" "$TMP/out"
finish
