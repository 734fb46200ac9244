#!/bin/sh
# tests/netns/persist.sh - devices as a service, and a daemon without root:
#   - `vtund-ng device add NAME -t tap -u nobody` makes a persistent tap device owned by nobody
#     (as tunctl -t tap0 -u nobody did), refuses a name that exists, `device del` removes it
#     and refuses one that is not there or not a tun/tap device;
#   - `vtund-ng -f FILE device add -a -u nobody` (as root) makes and configures the device of
#     every peer with persist = true: owner, MTU, address and peer address, link up;
#   - both ends then run entirely as nobody (setpriv, no capability at all): the session comes
#     up and pings cross both ways; the processes' uid is nobody's;
#   - after they stop the devices stay; `device add -a` again leaves them as they are;
#     `device del -a` removes them, and a daemon started as nobody then says what to run;
#   - the SysV init script with DEVICES=yes makes them on start and removes them on stop.
# Needs root (exit 77 otherwise) and setpriv. Run time about 10 s.
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/netns/lib.sh"
need_root
need_tools setpriv
plan 20
setup_netns
genkeys S
genkeys C
NOBODY=$(id -u nobody)
RUN=$TMP/run
mkdir -p "$RUN"
chown nobody "$RUN"
chmod 0755 "$TMP"
DS=vps$$
DC=vpc$$

# The ad hoc form.
ip netns exec "$NS_S" "$VTUND" device add "vtx$$" -t tap -u nobody > "$TMP/add.out" 2>&1
check "device add NAME -t tap -u nobody: exit 0" [ $? -eq 0 ]
flags=$(ip netns exec "$NS_S" cat "/sys/class/net/vtx$$/tun_flags" 2>/dev/null)
owner=$(ip netns exec "$NS_S" cat "/sys/class/net/vtx$$/owner" 2>/dev/null)
check "a persistent tap device owned by nobody ($flags, owner $owner)" \
    eval '[ "$owner" = "$NOBODY" ] && [ $((flags & 0x0800)) -ne 0 ] &&
    [ $((flags & 0x0002)) -ne 0 ]'
ip netns exec "$NS_S" "$VTUND" device add "vtx$$" -t tap > "$TMP/again.out" 2>&1
rc=$?
check "device add of a name that exists: exit 1, said" \
    eval '[ "$rc" -eq 1 ] && grep -q "exists already" "$TMP/again.out"'
ip netns exec "$NS_S" "$VTUND" device del "vtx$$" > "$TMP/del.out" 2>&1
check "device del: the device is gone" \
    eval '[ $? -eq 0 ] && ! ip -n "$NS_S" link show "vtx$$" >/dev/null 2>&1'
ip netns exec "$NS_S" "$VTUND" device del "vtx$$" > "$TMP/del2.out" 2>&1
rc=$?
ip netns exec "$NS_S" "$VTUND" device del lo > "$TMP/del3.out" 2>&1
rc2=$?
check "device del of a missing device and of lo: exit 1, said" \
    eval '[ "$rc" -eq 1 ] && [ "$rc2" -eq 1 ] && grep -q "does not exist" "$TMP/del2.out" &&
    grep -q "not a tun/tap device" "$TMP/del3.out"'

# conf FILE ROLE: peer "link" on a persistent device, configured by device add -a.
conf() {
	if [ "$1" = s ]; then
		priv=$S_PRIV pub=$C_PUB dev=$DS own=1 other=2 extra='listen = "10.98.0.1:5800";'
		rem=""
	else
		priv=$C_PRIV pub=$S_PUB dev=$DC own=2 other=1 extra="" rem='remote = "10.98.0.1:5800";'
	fi
	cat > "$TMP/$1.conf" <<EOF
user = "nobody";
control-socket = "$RUN/$1.sock";
private-key = "$priv";
$extra
peers = {
	link = {
		public-key = "$pub";
		$rem
		persist = true;
		device = "$dev";
		mtu = 1380;
		address = "10.99.8.$own/30";
		peer-address = "10.99.8.$other";
	};
};
EOF
	chown nobody "$TMP/$1.conf"
	chmod 0600 "$TMP/$1.conf"
}
conf s
conf c
ip netns exec "$NS_S" "$VTUND" -f "$TMP/s.conf" device add -a -u nobody > "$TMP/adds" 2>&1
rs=$?
ip netns exec "$NS_C" "$VTUND" -f "$TMP/c.conf" device add -a -u nobody > "$TMP/addc" 2>&1
rc=$?
check "device add -a on both ends: exit 0, made and configured" \
    eval '[ "$rs" -eq 0 ] && [ "$rc" -eq 0 ] && grep -q "made and configured" "$TMP/adds"'
[ "$rs" -eq 0 ] || sed 's/^/#   /' "$TMP/adds"
check "the server's device: owner nobody, mtu 1380, up, 10.99.8.1 peer 10.99.8.2" \
    eval '[ "$(ip netns exec "$NS_S" cat /sys/class/net/$DS/owner)" = "$NOBODY" ] &&
    ip -n "$NS_S" link show "$DS" | grep -q "mtu 1380" &&
    ip -n "$NS_S" link show "$DS" | grep -q "[<,]UP[,>]" &&
    ip -n "$NS_S" addr show "$DS" | grep -q "inet 10.99.8.1 peer 10.99.8.2/30"'

# Both ends as nobody, with no capability at all. An unprivileged process opens /dev/net/tun
# only where the node is mode 0666 (as Debian ships it); this machine's may be root's alone: each
# daemon gets a private mount namespace where a 0666 node of the same device is mounted over it
# (the machine's own node is untouched).
as_nobody() {
	_ns=$1
	_log=$2
	shift 2
	mkdir -p "$TMP/dev-$_ns"
	ip netns exec "$_ns" unshare -m sh -c 'mount -t tmpfs -o mode=0755 tmpfs "$1" &&
	    mknod -m 0666 "$1/tun" c 10 200 && mount --bind "$1/tun" /dev/net/tun && shift &&
	    exec setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all \
	    --bounding-set=-all "$@"' sh "$TMP/dev-$_ns" "$VTUND" -n "$@" > "$_log" 2>&1 &
	LAST_PID=$!
	track "$LAST_PID"
}
as_nobody "$NS_S" "$TMP/s.log" -f "$TMP/s.conf" -s
SPID=$LAST_PID
as_nobody "$NS_C" "$TMP/c.log" -f "$TMP/c.conf" client link
CPID=$LAST_PID
check "both ends as nobody: the session comes up" wait_for 10 sh -c \
    "grep -q 'session up' '$TMP/s.log' && grep -q 'session up' '$TMP/c.log'"
grep -q 'session up' "$TMP/c.log" || sed 's/^/#   /' "$TMP/s.log" "$TMP/c.log"
check "the daemons run as nobody" \
    eval 'awk "/^Uid:/ {print \$2}" /proc/$SPID/status | grep -qx "$NOBODY" &&
    awk "/^Uid:/ {print \$2}" /proc/$CPID/status | grep -qx "$NOBODY"'
check "ping client -> server through the tunnel" ping_ok "$NS_C" 10.99.8.1
check "ping server -> client through the tunnel" ping_ok "$NS_S" 10.99.8.2
check "status: established" eval '"$VTUND" status -S "$RUN/s.sock" | grep -q established'
check "the client exits 0" stop_daemon "$CPID"
check "the server exits 0" stop_daemon "$SPID"
check "the devices stay after the daemons" \
    eval 'ip -n "$NS_S" link show "$DS" >/dev/null && ip -n "$NS_C" link show "$DC" >/dev/null'
ip netns exec "$NS_S" "$VTUND" -f "$TMP/s.conf" device add -a -u nobody > "$TMP/adds2" 2>&1
rc=$?
check "device add -a again: exit 0, the device left as it is" \
    eval '[ "$rc" -eq 0 ] && grep -q "exists, left as it is" "$TMP/adds2"'
ip netns exec "$NS_S" "$VTUND" -f "$TMP/s.conf" device del -a > "$TMP/dels" 2>&1
rs=$?
ip netns exec "$NS_C" "$VTUND" -f "$TMP/c.conf" device del -a > "$TMP/delc" 2>&1
rc=$?
check "device del -a: exit 0 on both ends, the devices are gone" \
    eval '[ "$rs" -eq 0 ] && [ "$rc" -eq 0 ] && ! ip -n "$NS_S" link show "$DS" >/dev/null 2>&1 &&
    ! ip -n "$NS_C" link show "$DC" >/dev/null 2>&1'
as_nobody "$NS_S" "$TMP/none.log" -f "$TMP/s.conf" -s
wait "$LAST_PID"
rc=$?
check "without its device the daemon as nobody exits 1 saying what to run" \
    eval '[ "$rc" -eq 1 ] &&
    grep -q "create it first with .vtund-ng device add -a." "$TMP/none.log"'

# The SysV script with DEVICES=yes (and no instance to run).
init=$top_builddir/init/vtund-ng
[ -r "$init" ] || init=$TMP/init
[ -r "$init" ] || sed -e 's|@sbindir[@]|/usr/sbin|g' -e 's|@sysconfdir[@]|/etc|g' \
    -e 's|@runstatedir[@]|/run|g' "$top_srcdir/init/vtund-ng.in" > "$init"
printf 'DEVICES=yes\nSERVER=no\nCLIENTS=""\n' > "$TMP/defaults"
svc() {
	ip netns exec "$NS_S" env DEFAULTS="$TMP/defaults" CONFIG="$TMP/s.conf" RUNDIR="$RUN" \
	    DAEMON="$VTUND" sh "$init" "$1" > "$TMP/init-$1.out" 2>&1
}
svc start
rc=$?
sed 's/^/#   /' "$TMP/init-start.out"
check "init script start with DEVICES=yes: the device is made, owned by nobody" \
    eval '[ "$rc" -eq 0 ] && [ "$(ip netns exec "$NS_S" cat /sys/class/net/$DS/owner)" = "$NOBODY" ]'
svc stop
rc=$?
check "init script stop with DEVICES=yes: the device is removed" \
    eval '[ "$rc" -eq 0 ] && ! ip -n "$NS_S" link show "$DS" >/dev/null 2>&1'
finish
