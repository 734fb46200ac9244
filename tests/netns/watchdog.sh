#!/bin/sh
# tests/netns/watchdog.sh - what a systemd unit with WatchdogSec sees, under a stand-in for
# systemd's notify socket: a server whose engine runs as its own process (user "nobody") with
# WATCHDOG_USEC set
#   - says READY=1, then WATCHDOG=1 every second, from the engine's heartbeat through the
#     root parent;
#   - says "STATUS=1 of 1 session up" once the client's session is up;
#   - stops pinging while its engine is stopped (SIGSTOP: a hung loop), and pings again once
#     it runs (SIGCONT);
#   - says "STATUS=0 of 1 session up" when the client goes away;
#   - without WATCHDOG_USEC it never pings.
# Needs root (exit 77 otherwise), python3. Run time about 20 s.
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/netns/lib.sh"
need_root
need_tools python3 timeout ss
plan 8

setup_netns
echo "# namespaces $NS_S $NS_C, files in $TMP"
genkeys S
genkeys C

{
	link_conf server 5601
	echo "	address = \"10.99.1.1/30\"; peer-address = \"10.99.1.2\";"
	echo "}; };"
} | sed 's/^user = "";/user = "nobody";/' > "$TMP/s.conf"
{
	link_conf client 5601
	echo "	address = \"10.99.1.2/30\"; peer-address = \"10.99.1.1\";"
	echo "}; };"
} > "$TMP/c.conf"
chmod 600 "$TMP/s.conf" "$TMP/c.conf"
notify_socket "$TMP/notify" "$TMP/notify.log"
ip netns exec "$NS_S" env NOTIFY_SOCKET="$TMP/notify" WATCHDOG_USEC=3000000 "$VTUND" -n \
    -f "$TMP/s.conf" -s > "$TMP/s1.log" 2>&1 &
SPID=$!
track "$SPID"
pings() { grep -c '^WATCHDOG=1' "$TMP/notify.log"; }
wait_for 5 grep -q "^READY=1" "$TMP/notify.log"
p0=$(pings)
sleep 4
p1=$(pings)
echo "# pings in 4 s: $((p1 - p0))"
check "READY=1, then WATCHDOG=1 every second (3 in 4 s)" \
    eval 'grep -q "^READY=1" "$TMP/notify.log" && [ $((p1 - p0)) -ge 3 ]'
start_daemon "$NS_C" "$TMP/c1.log" -f "$TMP/c.conf" client link
CPID=$LAST_PID
check "STATUS=1 of 1 session up once the client is up" \
    wait_for 10 grep -q '^STATUS=1 of 1 session up' "$TMP/notify.log"
# the engine: the server's child process running as nobody
EPID=$(ps -o pid= --ppid "$SPID" | tr -d ' ' | head -1)
check "the engine is a process of its own ($EPID)" [ -n "$EPID" ]
kill -STOP "$EPID"
sleep 1
p0=$(pings)
sleep 3
p1=$(pings)
kill -CONT "$EPID"
echo "# pings while the engine was stopped: $((p1 - p0))"
check "no WATCHDOG=1 while the engine's loop is stopped" [ "$p1" -eq "$p0" ]
check "the pings come back when it runs again" \
    eval 'wait_for 5 sh -c "[ \$(grep -c \"^WATCHDOG=1\" \"$TMP/notify.log\") -gt $p1 ]"'
stop_daemon "$CPID"
check "STATUS=0 of 1 session up when the client is gone" \
    wait_for 10 grep -q '^STATUS=0 of 1 session up' "$TMP/notify.log"
check "the server exits 0" stop_daemon "$SPID"
# without WATCHDOG_USEC: READY=1, no pings
notify_socket "$TMP/notify2" "$TMP/notify2.log"
ip netns exec "$NS_S" env NOTIFY_SOCKET="$TMP/notify2" "$VTUND" -n -f "$TMP/s.conf" -s \
    > "$TMP/s2.log" 2>&1 &
SPID=$!
track "$SPID"
wait_for 5 grep -q '^READY=1' "$TMP/notify2.log"
sleep 2
check "without WATCHDOG_USEC: READY=1 and no WATCHDOG=1" \
    eval 'grep -q "^READY=1" "$TMP/notify2.log" && ! grep -q "^WATCHDOG=1" "$TMP/notify2.log" &&
    stop_daemon "$SPID"'
finish
