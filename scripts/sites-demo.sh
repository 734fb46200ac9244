#!/bin/sh
# scripts/sites-demo.sh - three routed sites joined by vtund-ng, in network namespaces: a hub
# site (the server) and sites A and B (clients), each gateway with a LAN and a host on it:
#
#   host-a 10.2.0.10 -- gw-a ==tunnel== gw-hub -- host-hub 10.1.0.10
#                                         ||
#   host-b 10.3.0.10 -- gw-b ==tunnel=====//
#
# Run as root on Debian 12. It installs and builds what it needs (scripts/demo.sh
# --build-only), makes fresh keys, writes the three configurations (every LAN reached through
# `routes`, no hooks) and shows them, starts the daemons, shows the routes they installed,
# pings from every LAN host to every other (A to B through the hub), shows `vtund-ng status`,
# then shows the cryptokey filter at work: gateway A sending with a source address of site B
# is dropped at the hub and counted. Everything is deleted on exit (also on failure or
# Ctrl-C). Exit 0 only if every LAN reached every other. VTUND=/path/to/vtund-ng skips the
# build.
set -u

top=$(cd "$(dirname "$0")/.." && pwd) || exit 1
. "$top/scripts/demo-lib.sh"
P=vtsites
NSS="$P-hub $P-a $P-b $P-host-hub $P-host-a $P-host-b"

section() { printf '\n==== %s ====\n' "$*"; }
die() { echo "sites-demo: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run me as root (network namespaces, TUN devices)"
if [ -z "${VTUND:-}" ]; then
	section "1. Dependencies and build (scripts/demo.sh --build-only)"
	VTUND=$("$top/scripts/demo.sh" --build-only | tee /dev/stderr | tail -n 1)
fi
[ -x "$VTUND" ] || die "no vtund-ng binary at $VTUND"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vtsites.XXXXXX") || exit 1
chmod 0755 "$tmp"
pids=""
cleanup() {
	# shellcheck disable=SC2086
	demo_stop $pids
	for ns in $NSS; do
		ip netns del "$ns" 2>/dev/null
	done
	rm -rf "$tmp"
}
# shellcheck disable=SC2086 # one word per namespace
demo_leftovers $NSS
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

section "2. Six namespaces: three gateways, three LAN hosts"
for ns in $NSS; do
	ip netns add "$ns" || exit 1
	ip -n "$ns" link set lo up
done
# link NS1 DEV1 ADDR1 NS2 DEV2 ADDR2: a veth pair between two namespaces, addressed, up.
link() {
	ip link add "$2" netns "$1" type veth peer name "$5" netns "$4" || exit 1
	ip -n "$1" addr add "$3" dev "$2"
	ip -n "$4" addr add "$6" dev "$5"
	ip -n "$1" link set "$2" up
	ip -n "$4" link set "$5" up
}
# The internet between the gateways, and each site's LAN.
link "$P-hub" wan-a 198.51.100.1/30 "$P-a" wan 198.51.100.2/30
link "$P-hub" wan-b 198.51.100.5/30 "$P-b" wan 198.51.100.6/30
link "$P-hub" lan 10.1.0.1/24 "$P-host-hub" eth0 10.1.0.10/24
link "$P-a" lan 10.2.0.1/24 "$P-host-a" eth0 10.2.0.10/24
link "$P-b" lan 10.3.0.1/24 "$P-host-b" eth0 10.3.0.10/24
for s in hub a b; do
	ip netns exec "$P-$s" sysctl -qw net.ipv4.ip_forward=1
	ip -n "$P-host-$s" route add default via "10.$(
	    case $s in hub) echo 1 ;; a) echo 2 ;; b) echo 3 ;; esac).0.1"
done
echo "hub LAN 10.1.0.0/24, site A 10.2.0.0/24, site B 10.3.0.0/24; gateways forward;"
echo "each LAN host's default route is its gateway; nothing else is configured by hand"

section "3. Keys and configurations"
for s in hub a b; do
	"$VTUND" genkey > "$tmp/$s.key" || die "genkey failed"
	chmod 600 "$tmp/$s.key"
	"$VTUND" pubkey < "$tmp/$s.key" > "$tmp/$s.pub"
done
cat > "$tmp/hub.conf" <<EOF
listen = "0.0.0.0:5000";
private-key-file = "$tmp/hub.key";
control-socket = "$tmp/hub.sock";
user = "";
peers = {
	site-a = {
		public-key = "$(cat "$tmp/a.pub")";
		address = "10.100.1.1/30";
		peer-address = "10.100.1.2";
		routes = [ "10.2.0.0/24" ];
	};
	site-b = {
		public-key = "$(cat "$tmp/b.pub")";
		address = "10.100.2.1/30";
		peer-address = "10.100.2.2";
		routes = [ "10.3.0.0/24" ];
	};
};
EOF
# spoke NAME REMOTE OWN HUB OTHER_LAN
spoke() {
	cat > "$tmp/$1.conf" <<EOF
private-key-file = "$tmp/${1#site-}.key";
control-socket = "$tmp/$1.sock";
user = "";
peers = {
	$1 = {
		public-key = "$(cat "$tmp/hub.pub")";
		remote = "$2:5000";
		address = "$3/30";
		peer-address = "$4";
		routes = [ "10.1.0.0/24", "$5" ];
	};
};
EOF
}
spoke site-a 198.51.100.1 10.100.1.2 10.100.1.1 10.3.0.0/24
spoke site-b 198.51.100.5 10.100.2.2 10.100.2.1 10.2.0.0/24
for c in hub site-a site-b; do
	echo "-- $c.conf"
	sed 's/^/    /' "$tmp/$c.conf"
	if [ "$c" = hub ]; then set -- -s; else set -- client "$c"; fi
	printf '    vtund-ng -t: '
	"$VTUND" -t -f "$tmp/$c.conf" "$@" 2>&1 | tail -n 1
done

section "4. Start the daemons"
start() {
	echo "+ ip netns exec $1 vtund-ng -n -f $2.conf $3"
	# shellcheck disable=SC2086 # $3: the role's arguments
	ip netns exec "$1" "$VTUND" -n -f "$tmp/$2.conf" $3 > "$tmp/$2.log" 2>&1 &
	pids="$pids $!"
}
start "$P-hub" hub -s
start "$P-a" site-a "client site-a"
start "$P-b" site-b "client site-b"
n=0
until [ "$(grep -c 'session up' "$tmp/hub.log" 2>/dev/null)" -ge 2 ]; do
	n=$((n + 1))
	[ "$n" -ge 50 ] && break
	sleep 0.2
done
for c in hub site-a site-b; do
	echo "-- $c log:"
	sed 's/^/    /' "$tmp/$c.log"
done
[ "$(grep -c 'session up' "$tmp/hub.log")" -ge 2 ] || die "the sites did not come up"

section "5. The routes the daemons installed"
for s in hub a b; do
	echo "+ ip -n $P-$s route show proto static"
	ip -n "$P-$s" route show proto static | sed 's/^/    /'
done

section "6. LAN to LAN"
ok=true
lanping() {
	echo "+ host-$1 ($2) -> $3"
	ip netns exec "$P-host-$1" ping -c 3 -i 0.2 -W 2 "$3" | sed -n '/packets transmitted/p' |
	    sed 's/^/    /'
	ip netns exec "$P-host-$1" ping -c 1 -W 2 "$3" >/dev/null 2>&1 || ok=false
}
lanping a 10.2.0.10 10.1.0.10
lanping a 10.2.0.10 10.3.0.10
lanping b 10.3.0.10 10.2.0.10
lanping b 10.3.0.10 10.1.0.10
lanping hub 10.1.0.10 10.2.0.10
lanping hub 10.1.0.10 10.3.0.10
echo "+ ip -n $P-a route get 10.3.0.10      (site B's LAN: through the tunnel to the hub)"
ip -n "$P-a" route get 10.3.0.10 | sed 's/^/    /'

section "7. The cryptokey filter"
echo "gateway A claims an address of site B's LAN and pings the hub's LAN host from it:"
ip -n "$P-a" addr add 10.3.0.99/32 dev lo
echo "+ ip netns exec $P-a ping -c 3 -I 10.3.0.99 10.1.0.10"
ip netns exec "$P-a" ping -c 3 -i 0.2 -W 1 -I 10.3.0.99 10.1.0.10 | sed -n '/transmitted/p' |
    sed 's/^/    /'
echo "the hub dropped them: its status for site-a:"
"$VTUND" status -S "$tmp/hub.sock" site-a | sed 's/^/    /'

section "Result"
if $ok; then
	echo "every LAN host reached every other through the tunnels"
	exit 0
fi
echo "some LAN hosts could not reach each other"
exit 1
