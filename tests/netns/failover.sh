#!/bin/sh
# tests/netns/failover.sh - a client with two remotes, UDP first and TCP on the same port next
# (remote = ( "vtsrv.test:5300 udp", "vtsrv.test:5300 tcp" ), a host name the client's
# namespace resolves through /etc/netns/NS/hosts), and a server that takes the peer over both
# (proto = [ "udp", "tcp" ]) with duplicate = "refuse" (a move between transports is not a
# duplicate):
#   - the session comes up over UDP, on remote 1 of 2, in the log and in status;
#   - UDP is blocked with nftables mid-session: the session moves to TCP (remote 2 of 2) by
#     itself, on both ends, pings and a 2 MB transfer cross it, the probes of UDP meanwhile
#     never bring it down;
#   - UDP is let through again: the client's probe finds it, the session moves back to UDP on
#     both ends without going down and with at most one lost ping in a steady stream, the
#     server closes the TCP connection, and the datagrams really carry the traffic;
#   - the name is looked up again before every try: pointed at another address of the server,
#     the next session goes there;
#   - vtund-ng -t warns about a remote that does not resolve, at its own line;
#   - a second client whose first remote is TCP on a port nobody listens on starts without a
#     UDP socket, gives up on it after three refused dials and comes up over UDP (remote 2 of
#     2); its probes of the refusing port never bring the session down;
#   - a client whose first remote is IPv4 and unanswered moves to an IPv6 remote: a socket of
#     the other family, read from the start (its first answer is taken).
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/netns/lib.sh"
need_root
need_tools nft nc ss sha256sum timeout
plan 34
setup_netns
genkeys S
genkeys C
genkeys D

ip -n "$NS_S" addr add 10.98.0.3/24 dev "$UNDER_S"
mkdir -p "/etc/netns/$NS_C" || exit 1
EXTRA_DIRS="/etc/netns/$NS_C"
echo "10.98.0.1 vtsrv.test" > "/etc/netns/$NS_C/hosts"

cat > "$TMP/s.conf" <<CONF
private-key = "$S_PRIV"; user = ""; listen = "0.0.0.0:5300";
control-socket = "$TMP/s.sock";
peers = { fo = { public-key = "$C_PUB"; proto = [ "udp", "tcp" ]; device = "vfos";
	duplicate = "refuse";
	address = "10.99.30.1/30"; peer-address = "10.99.30.2"; keepalive = 1; timeout = 4; };
    fo2 = { public-key = "$D_PUB"; proto = [ "udp", "tcp" ]; device = "vfos2";
	address = "10.99.31.1/30"; peer-address = "10.99.31.2"; keepalive = 1; timeout = 4; }; };
CONF
cat > "$TMP/c.conf" <<CONF
private-key = "$C_PRIV"; user = "";
control-socket = "$TMP/c.sock";
peers = { fo = { public-key = "$S_PUB"; device = "vfoc";
	remote = ( "vtsrv.test:5300 udp",
	    "vtsrv.test:5300 tcp" );
	failback = 3;
	address = "10.99.30.2/30"; peer-address = "10.99.30.1"; keepalive = 1; timeout = 4; }; };
CONF

status_field() { "$VTUND" status -S "$1" 2>/dev/null | grep -q "$2"; }
downs() { grep -c "session down" "$1"; }
block_udp() {
	ip netns exec "$NS_C" nft -f - <<NFT
table inet vtblock {
	chain out { type filter hook output priority 0; udp dport 5300 drop; }
	chain in { type filter hook input priority 0; udp sport 5300 drop; }
}
NFT
}
# Datagrams from the server's port that reached the client: a counter in its own table.
ip netns exec "$NS_C" nft -f - <<NFT
table inet vtcount {
	chain in { type filter hook input priority -10; udp sport 5300 counter; }
}
NFT
udp_in() {
	ip netns exec "$NS_C" nft list table inet vtcount | sed -n 's/.*packets \([0-9]*\).*/\1/p'
}

start_daemon "$NS_S" "$TMP/s.log" -f "$TMP/s.conf" -s
SPID=$LAST_PID
start_daemon "$NS_C" "$TMP/c.log" -f "$TMP/c.conf" client fo
CPID=$LAST_PID
check "the session comes up over udp on the first remote" \
    wait_for 15 grep -q "session up (10.98.0.1:5300, udp, remote vtsrv.test:5300 udp (1 of 2))" \
    "$TMP/c.log"
check "client status: proto udp, remote 1 of 2" \
    sh -c "'$VTUND' status -S '$TMP/c.sock' | grep -q 'proto: udp' &&
    '$VTUND' status -S '$TMP/c.sock' | grep -q 'remote: vtsrv.test:5300 udp (1 of 2)'"
check "ping through the tunnel over udp" ping_ok "$NS_C" 10.99.30.1

# UDP blocked mid-session: the client's timeout notices, it tries UDP three times, then TCP.
block_udp
check "udp blocked: the session comes up over tcp on the second remote" \
    wait_for 40 grep -q "session up (10.98.0.1:5300, tcp, remote vtsrv.test:5300 tcp (2 of 2))" \
    "$TMP/c.log"
check "the log names the remote it tries" grep -q "trying remote vtsrv.test:5300 tcp (2 of 2)" \
    "$TMP/c.log"
check "client status: proto tcp, remote 2 of 2" \
    wait_for 5 sh -c "'$VTUND' status -S '$TMP/c.sock' | grep -q 'proto: tcp' &&
    '$VTUND' status -S '$TMP/c.sock' | grep -q 'remote: vtsrv.test:5300 tcp (2 of 2)'"
check "server status: proto tcp" wait_for 5 status_field "$TMP/s.sock" "proto: tcp"
check "ping through the tunnel over tcp" wait_for 10 ping_ok "$NS_C" 10.99.30.1
DATA=$TMP/data
head -c 2000000 /dev/urandom > "$DATA"
check "2 MB through the tunnel over tcp, checksum equal" transfer "$NS_C" "$NS_S" 10.99.30.1
# Probes of UDP (every 3 s, each given 5 s) find nothing; the session stays up on TCP.
cdowns=$(downs "$TMP/c.log")
sdowns=$(downs "$TMP/s.log")
sleep 12
check "probes of the blocked remote do not bring the session down" \
    test "$(downs "$TMP/c.log")" -eq "$cdowns"
check "ping still crosses over tcp" ping_ok "$NS_C" 10.99.30.1

# UDP back: the next probe moves the session, hitless, while a ping runs every 0.1 s.
ip netns exec "$NS_C" ping -c 150 -i 0.1 -W 1 10.99.30.1 > "$TMP/ping.out" 2>&1 &
ping_pid=$!
track "$ping_pid"
sleep 1
ip netns exec "$NS_C" nft delete table inet vtblock
check "udp back: the client moves the session to the first remote" \
    wait_for 20 grep -q "remote vtsrv.test:5300 udp (1 of 2) answers: the session moves there" \
    "$TMP/c.log"
check "server: keys confirmed over udp, the session moves to udp" \
    wait_for 5 grep -q "keys confirmed over udp from 10.98.0.2:.*: the session moves to udp" \
    "$TMP/s.log"
check "client status: proto udp, remote 1 of 2 again" \
    wait_for 5 sh -c "'$VTUND' status -S '$TMP/c.sock' | grep -q 'proto: udp' &&
    '$VTUND' status -S '$TMP/c.sock' | grep -q 'remote: vtsrv.test:5300 udp (1 of 2)'"
check "server status: proto udp" wait_for 5 status_field "$TMP/s.sock" "proto: udp"
check "the server closes the tcp connection it no longer needs" \
    wait_for 15 sh -c "! ip netns exec '$NS_S' ss -Htn state established 'sport = :5300' |
    grep -q ."
wait "$ping_pid"
got=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$TMP/ping.out")
echo "# pings while the session moved back: ${got:-?} of 150 answered"
check "the move back lost at most one ping of 150" test "${got:-0}" -ge 149
check "no session went down on either end when it moved back" \
    sh -c "[ $(downs "$TMP/c.log") -eq $cdowns ] && [ $(downs "$TMP/s.log") -eq $sdowns ]"
n=$(udp_in)
ping_ok "$NS_C" 10.99.30.1
check "the traffic goes by udp again (datagrams from the server's port)" \
    test "$(udp_in)" -ge $((n + 3))

# The name is looked up before every try: pointed elsewhere (the server moved to its other
# address), the next session goes there.
echo "10.98.0.3 vtsrv.test" > "/etc/netns/$NS_C/hosts"
sed 's/0.0.0.0:5300/10.98.0.3:5300/' "$TMP/s.conf" > "$TMP/s2.conf"
check "the server stops cleanly" stop_daemon "$SPID"
start_daemon "$NS_S" "$TMP/s2.log" -f "$TMP/s2.conf" -s
SPID=$LAST_PID
check "the next session goes to the name's new address" \
    wait_for 30 sh -c "[ \$(grep -c 'session up (10.98.0.3:5300, udp' '$TMP/c.log') -ge 1 ]"
check "ping through the tunnel at the new address" wait_for 5 ping_ok "$NS_C" 10.99.30.1

# -t: a remote that does not resolve is a warning at its line (the second remote, line 5).
sed 's/"vtsrv.test:5300 tcp"/"no-such-host.invalid:5300 tcp"/' "$TMP/c.conf" > "$TMP/bad.conf"
ip netns exec "$NS_C" "$VTUND" -t -f "$TMP/bad.conf" client fo > "$TMP/t.out" 2>&1
check "-t warns about the remote that does not resolve, at its line" \
    grep -q "bad.conf:5: warning: peer 'fo': .*no-such-host.invalid" "$TMP/t.out"

# A client whose first remote refuses (TCP, nobody on 5399): three dials, then UDP.
cat > "$TMP/d.conf" <<CONF
private-key = "$D_PRIV"; user = "";
control-socket = "$TMP/d.sock";
peers = { fo2 = { public-key = "$S_PUB"; device = "vfoc2"; failback = 2;
	remote = ( "vtsrv.test:5399 tcp", "vtsrv.test:5300 udp" );
	address = "10.99.31.2/30"; peer-address = "10.99.31.1"; keepalive = 1; timeout = 4; }; };
CONF
start_daemon "$NS_C" "$TMP/d.log" -f "$TMP/d.conf" client fo2
DPID=$LAST_PID
check "tcp refused three times: the session comes up over udp on the second remote" \
    wait_for 30 grep -q "session up (10.98.0.3:5300, udp, remote vtsrv.test:5300 udp (2 of 2))" \
    "$TMP/d.log"
check "ping through the second client's tunnel" wait_for 5 ping_ok "$NS_C" 10.99.31.1
sleep 8 # probes of the refusing remote every 2 s
check "probes of the refusing remote do not bring the session down" \
    test "$(downs "$TMP/d.log")" -eq 0
check "the second client exits 0" stop_daemon "$DPID"

# From an unanswered IPv4 remote to an IPv6 one: a new socket of the other family.
sed -e 's/10.98.0.3:5300/[fd98::1]:5300/' -e "s|$TMP/s.sock|$TMP/s3.sock|" \
    -e 's/vfos/vfo6/g' -e 's/10.99.3/10.99.4/g' "$TMP/s.conf" > "$TMP/s3.conf"
sed -i 's/0.0.0.0:5300/[fd98::1]:5300/' "$TMP/s3.conf"
start_daemon "$NS_S" "$TMP/s3.log" -f "$TMP/s3.conf" -s
S3PID=$LAST_PID
sed -e 's/"vtsrv.test:5399 tcp", "vtsrv.test:5300/"10.98.0.1:5301 udp", "[fd98::1]:5300/' \
    -e "s|$TMP/d.sock|$TMP/d6.sock|" -e 's/vfoc2/vfo6c/' -e 's/10.99.3/10.99.4/g' \
    "$TMP/d.conf" > "$TMP/d6.conf"
start_daemon "$NS_C" "$TMP/d6.log" -f "$TMP/d6.conf" client fo2
D6PID=$LAST_PID
check "ipv4 unanswered: the session comes up over ipv6 on the second remote" \
    wait_for 30 grep -q "session up (\[fd98::1\]:5300, udp, remote \[fd98::1\]:5300 udp (2 of 2))" \
    "$TMP/d6.log"
check "the new socket's first answer was taken (one try of the ipv6 remote)" \
    sh -c "[ \$(sed -n '/trying remote \[fd98::1\]/,/session up/p' '$TMP/d6.log' |
    grep -c 'retrying') -eq 0 ]"
check "ping through the tunnel over ipv6" wait_for 5 ping_ok "$NS_C" 10.99.41.1
check "the ipv6 client exits 0" stop_daemon "$D6PID"
check "the ipv6 server exits 0" stop_daemon "$S3PID"
check "client exits 0" stop_daemon "$CPID"
check "server exits 0" stop_daemon "$SPID"
finish
