#!/bin/sh
# tests/netns/devices.sh - device set-up errors are clear and leave nothing behind:
#   the device name is taken, permission is denied (no CAP_NET_ADMIN), /dev/net/tun is missing,
#   a persistent device that does not exist; and a created device gets its MTU, addresses and
#   link state from the daemon itself (rtnetlink), and the up hook sees them.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/netns/lib.sh"
need_root
plan $((4 * 3 + 9)) # four refused set-ups of 3 checks each, then the configured device
command -v setpriv >/dev/null || { echo "not ok - setpriv (util-linux) is missing"; exit 1; }
setup_netns
genkeys S
genkeys C

conf() { # FILE DEVICE EXTRA
	cat > "$1" <<CONF
private-key = "$S_PRIV";
user = "";
control-socket = "$TMP/$(basename "$1" .conf).sock";
listen = "0.0.0.0:5000";
peers = { p1 = { public-key = "$C_PUB"; device = "$2"; $3 }; };
CONF
}
# run_expect_fail NAME CONF FRAGMENT [PREFIX...]: the daemon exits 1 and says FRAGMENT
run_expect_fail() {
	_name=$1
	_conf=$2
	_frag=$3
	shift 3
	ip -n "$NS_S" -o link show > "$TMP/before"
	_log=$TMP/$(echo "$_name" | tr -c 'a-zA-Z0-9\n' '_').log
	ip netns exec "$NS_S" "$@" "$VTUND" -n -f "$_conf" -s > "$_log" 2>&1
	_rc=$?
	ip -n "$NS_S" -o link show > "$TMP/after"
	check "$_name: exits 1" test "$_rc" -eq 1
	check "$_name: says '$_frag'" grep -q -- "$_frag" "$_log"
	check "$_name: no device left behind" cmp -s "$TMP/before" "$TMP/after"
	[ "$_rc" -eq 1 ] && grep -q -- "$_frag" "$_log" || sed 's/^/#   /' "$_log"
}

# 1. The name belongs to another device (the veth of the underlay).
conf "$TMP/taken.conf" "$UNDER_S" 'address = "10.99.9.1/30";'
run_expect_fail "device name taken" "$TMP/taken.conf" "already in use"

# 2. No CAP_NET_ADMIN: an unprivileged user cannot create a device.
conf "$TMP/perm.conf" "vtperm$$" 'address = "10.99.9.1/30";'
chmod 0644 "$TMP/perm.conf"
chmod 0755 "$TMP"
mknod "$TMP/tun" c 10 200 && chmod 0666 "$TMP/tun"
mkdir "$TMP/run" && chown nobody "$TMP/run"
sed -i "s|$TMP/perm.sock|$TMP/run/perm.sock|" "$TMP/perm.conf"
sed -i 's/^private-key = .*/private-key-file = "'"$(echo "$TMP" | sed 's/[\/&]/\\&/g')"'\/key";/' "$TMP/perm.conf"
echo "$S_PRIV" > "$TMP/key" && chown nobody "$TMP/key" && chmod 0600 "$TMP/key"
run_expect_fail "permission denied" "$TMP/perm.conf" "permission denied" \
    unshare -m sh -c 'mount --bind "$0" /dev/net/tun && exec setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all --bounding-set=-all "$@"' "$TMP/tun"

# 3. /dev/net/tun is missing (module not loaded, or a container without the device).
conf "$TMP/nodev.conf" "vtnodev$$" 'address = "10.99.9.1/30";'
mkdir "$TMP/emptydev"
run_expect_fail "/dev/net/tun missing" "$TMP/nodev.conf" "/dev/net/tun" \
    unshare -m sh -c 'mount --bind "$0" /dev/net && exec "$@"' "$TMP/emptydev"

# 4. A persistent device that nobody created.
conf "$TMP/nopersist.conf" "vtnone$$" 'persist = true;'
run_expect_fail "persistent device missing" "$TMP/nopersist.conf" "does not exist"

# 5. A created device is configured by the daemon itself; the up hook sees the result.
conf "$TMP/good.conf" "vtgood$$" 'mtu = 1280; address = ["10.99.9.1/30", "fd99:9::1/64"]; peer-address = ["10.99.9.2", "fd99:9::2"]; up = ["/bin/sh", "-c", "ip -o addr show dev $VTUND_DEVICE > '"$TMP"'/up.out; ip -o link show dev %d >> '"$TMP"'/up.out"];'
start_daemon "$NS_S" "$TMP/good.log" -f "$TMP/good.conf" -s
GPID=$LAST_PID
check "configured device: the daemon is ready" wait_for 10 grep -q "ready" "$TMP/good.log"
check "configured device: exists" link_exists "$NS_S" "vtgood$$"
check "configured device: mtu 1280" sh -c "ip -n $NS_S -o link show vtgood$$ | grep -q 'mtu 1280'"
check "configured device: link up" sh -c "ip -n $NS_S -o link show vtgood$$ | grep -q -E '<[^>]*UP'"
check "configured device: IPv4 point-to-point address" \
    sh -c "ip -n $NS_S -o addr show dev vtgood$$ | grep -q 'inet 10.99.9.1 peer 10.99.9.2/30'"
check "configured device: IPv6 point-to-point address" \
    sh -c "ip -n $NS_S -o addr show dev vtgood$$ | grep -q 'inet6 fd99:9::1 peer fd99:9::2/64'"
check "up hook ran after the addresses were set" grep -q "10.99.9.1 peer 10.99.9.2" "$TMP/up.out"
check "daemon exits 0" stop_daemon "$GPID"
check "device removed at shutdown" sh -c "! ip -n $NS_S link show vtgood$$ >/dev/null 2>&1"
finish
