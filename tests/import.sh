#!/bin/sh
# tests/import.sh - vtund-ng import-vtun on real VTun configurations (tests/data/vtun/, taken
# verbatim from public repositories; their first line says from where): each converts, and
# with -k DIR the output passes `vtund-ng -t` as it is; the file with over a thousand
# sessions gives a peer and a client key for each; a template without sessions is refused;
# a client conversion (-r) names the server and waits for its public key; the warnings name
# their source lines. Needs no root. Environment from `make check`: VTUND, top_srcdir.
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
VTUND=${VTUND:-$(pwd)/vtund-ng}
data=$top_srcdir/tests/data/vtun
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vtimport.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
ok() { echo "ok - $*"; passed=$((passed + 1)); }
not_ok() { echo "not ok - $*"; failed=$((failed + 1)); }
check() { _d=$1; shift; if "$@"; then ok "$_d"; else not_ok "$_d"; fi; }
# Sessions each file must give, and how many it skips (tty, pipe, defined twice, no password).
expect() {
	case $1 in
	fortitudepub-vtun-kcp-vtund) echo "2 11" ;;
	openipc-wiki-server-vtund) echo "2 0" ;;
	puzzak01-vtun-vtund) echo "0 0" ;;
	setronica-main-vtund) echo "1 0" ;;
	vtunsite-setup-html-S1) echo "2 0" ;;
	vtunsite-vtund) echo "2 10" ;;
	weimarnetz-vpnconfig-vtund) echo "1022 0" ;;
	*) echo "? ?" ;;
	esac
}
echo "1..22"
for f in "$data"/*.conf; do
	b=$(basename "$f" .conf)
	set -- $(expect "$b")
	"$VTUND" import-vtun "$f" -o "$tmp/$b.conf" -k "$tmp/$b.keys" 2> "$tmp/$b.err"
	rc=$?
	sum=$(tail -n 1 "$tmp/$b.err")
	if [ "$1" = 0 ]; then
		check "$b: no session to convert: exit 1, saying so" \
		    eval '[ "$rc" -eq 1 ] && grep -q "no session could be converted" "$tmp/$b.err"'
		continue
	fi
	n=$1 k=$2
	check "$b: $n sessions converted, $k skipped ($sum)" \
	    eval '[ "$rc" -eq 0 ] && echo "$sum" | grep -q ": $n sessions\{0,1\} converted, $k skipped"'
	"$VTUND" -t -f "$tmp/$b.conf" -s > "$tmp/$b.t" 2>&1
	rc=$?
	[ "$rc" -eq 0 ] || sed 's/^/#   /' "$tmp/$b.t" | head -n 5
	check "$b: the output with its keys passes vtund-ng -t" [ "$rc" -eq 0 ]
done
w=weimarnetz-vpnconfig-vtund
check "$w: a private key for each of the 1022 clients, mode 0600" \
    eval '[ "$(ls "$tmp/$w.keys" | grep -c "^Node.*\.key$")" -eq 1022 ] &&
    [ "$(stat -c %a "$tmp/$w.keys/Node2.key")" = 600 ] &&
    [ "$(stat -c %a "$tmp/$w.conf")" = 600 ]'
check "$w: a client key's public key is its peer's public-key" \
    eval 'pub=$("$VTUND" pubkey < "$tmp/$w.keys/Node7.key") &&
    awk "/^\tNode7 = /,/};/" "$tmp/$w.conf" | grep -q "public-key = \"$pub\""'
check "$w: addresses and the MTU from the ifconfig (= ip) commands; hooks only for the 3 bad" \
    eval 'awk "/^\tNode7 = /,/};/" "$tmp/$w.conf" | grep -q "address = \[ \"10.63.7.57/30\" \]" &&
    awk "/^\tNode7 = /,/};/" "$tmp/$w.conf" | grep -q "mtu = 1280" &&
    [ "$(grep -c "up = (" "$tmp/$w.conf")" -eq 3 ] &&
    grep -q "conf:9192: warning: .10.63.256.249/30. is not an address" "$tmp/$w.err"'
s1=vtunsite-setup-html-S1
check "$s1: the old dialect's abbreviations and loose commands, named by line" \
    eval 'grep -q "S1.conf:12: warning: .pass. read as .passwd." "$tmp/$s1.err" &&
    grep -q "S1.conf:14: warning: .route. outside an up or down block" "$tmp/$s1.err"'
check "$s1: the route through the tunnel is routes, the arp command a hook" \
    eval 'grep -q "routes = \[ \"192.168.1.0/24\" \]" "$tmp/$s1.conf" &&
    grep -q "\"/sbin/arp\", \"-sD\", \"192.168.0.2\"" "$tmp/$s1.conf"'
o=openipc-wiki-server-vtund
check "$o: brctl addif is bridge; a name starting with a digit is renamed, with a warning" \
    eval 'grep -q "bridge = \"br-openipc\"" "$tmp/$o.conf" &&
    grep -q "s729051000001 = {" "$tmp/$o.conf" &&
    grep -q "session 729051000001 is peer s729051000001" "$tmp/$o.err"'
"$VTUND" import-vtun "$data/setronica-main-vtund.conf" -r vpn.example.net > "$tmp/client.conf" \
    2> "$tmp/client.err"
check "a client conversion (-r): remote with the options' port, no listen" \
    eval 'grep -q "remote = \"vpn.example.net:15000\"" "$tmp/client.conf" &&
    ! grep -q "^listen" "$tmp/client.conf"'
"$VTUND" -t -f "$tmp/client.conf" client morozovo > "$tmp/client.t" 2>&1
check "and vtund-ng -t says which public key is still to fill in" \
    grep -q "client.conf:[0-9]*: peer 'morozovo': public-key" "$tmp/client.t"
printf 'broken {\n  passwd x;\n  up { ip "link set %%%% up;\n  };\n}\n' > "$tmp/broken.conf"
"$VTUND" import-vtun "$tmp/broken.conf" > "$tmp/broken.out" 2> "$tmp/broken.err"
rc=$?
check "a file VTun's grammar refuses: exit 1, the line named, nothing written" \
    eval '[ "$rc" -eq 1 ] && [ ! -s "$tmp/broken.out" ] &&
    grep -q "broken.conf:3: a string without its closing" "$tmp/broken.err"'
echo "# $passed passed, $failed failed, 0 skipped"
[ "$failed" -eq 0 ]
