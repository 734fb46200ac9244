#!/bin/sh
# tests/netns/plaintext.sh - no frame from a device ever crosses the underlay unsealed, whatever
# the state of the session, and forged data never moves a peer. One server in $NS_S with four
# peers: tun and tap, each over UDP and TCP, all with rekey-interval 10; their clients in $NS_C.
# The underlay is captured on both veth ends from before the first daemon starts to after the
# last one stops. All along, a random marker goes through every tunnel device in both
# directions: ping -p with the marker as its pattern, and vt-inject mark (the marker in UDP
# datagrams and on TCP connections, tagged with the phase):
#   A. the server alone, before any client;
#   B. the clients alone, before the server runs (they keep a few frames and drop the rest),
#      then the server starts and the sessions come up;
#   C. several rekeys, markers flowing throughout;
#   F. forged data: the last data message of a UDP peer, captured, with a fresh counter and a
#      bit flipped in its tag, then in its body, sent from another underlay address: the
#      server's status endpoint for the peer never moves, the forgeries are counted as auth
#      drops, the forger gets nothing back, traffic goes on; over TCP, a forged data message
#      with the live receiver index on a new connection from that address: the peer's
#      connection stays where it is and its traffic goes on;
#   D. the server restarts while markers flow; TCP clients redial, the sessions come back;
#   E. shutdown: the clients get SIGTERM while markers flow, then the server.
# Then: both underlay captures lost nothing, are not empty and hold no marker; the captures of
# what the devices received (inbound, tunnel addresses only) hold the markers of phases B to E
# (positive control), and the TCP markers arrived.
# Needs root (exit 77 otherwise), tcpdump and nc. Environment from `make check`: VTUND,
# VT_INJECT, top_srcdir. Run time about 70 s.
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/netns/lib.sh"
need_root
plan 55
for _t in tcpdump nc; do
	command -v "$_t" >/dev/null 2>&1 || { echo "not ok - $_t is missing"; exit 1; }
done
if [ ! -x "$VT_INJECT" ]; then
	echo "not ok - $VT_INJECT is missing (make tests/tools/vt-inject)"
	exit 1
fi
setup_netns

PORT=5000
SADDR=10.98.0.1
EVIL=10.98.0.7 # the forger's underlay address, in the client namespace
PEERS="tu tt au at"
MARK="vtPT$(tr -dc 'A-Za-z0-9' < /dev/urandom | head -c 12)"
MARK_HEX=$(printf '%s' "$MARK" | od -An -tx1 | tr -d ' \n')
SSOCK=$TMP/server.sock
IP=$(command -v ip)

untrack() { PIDS=$(echo " $PIDS " | sed "s/ $1 / /"); }
show_log() { sed 's/^/#   /' "$1"; }

# stop PID [SIGNAL]: signal a helper we started, reap it, forget it.
stop() {
	kill "-${2:-TERM}" "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	untrack "$1"
}

# net PEER: the first three octets of the peer's tunnel addresses (.1 server, .2 client).
net() {
	case $1 in
	tu) echo 10.99.1 ;;
	tt) echo 10.99.2 ;;
	au) echo 10.99.3 ;;
	at) echo 10.99.4 ;;
	esac
}

# peer_json SOCKET PEER: one session's status, without the daemon-wide drops behind it.
peer_json() { "$VTUND" status --json -S "$1" "$2" 2>/dev/null | sed 's/"drops_without_session".*//'; }

# peer_num SOCKET PEER KEY
peer_num() {
	_v=$(json_num "$(peer_json "$1" "$2")" "$3")
	echo "${_v:-0}"
}

# endpoint SOCKET PEER: where the daemon sends the peer's packets.
endpoint() { peer_json "$1" "$2" | sed -n 's/.*"endpoint":"\([^"]*\)".*/\1/p'; }


# ups LOG PEER: how many times the log says the peer's session came up.
ups() { grep -c "peer $2: session up" "$1"; }

# all_up LOG N: each peer's session came up at least N times in LOG.
all_up() {
	for _p in $PEERS; do
		[ "$(ups "$1" "$_p")" -ge "$2" ] || return 1
	done
}

# capture NS FILE ARGS...: tcpdump writing FILE packet by packet; sets CAP_PID. A 64 MiB
# capture buffer (-B): the tunnel moves bursts of 64 KiB super-packets' worth of datagrams
# faster than tcpdump writes them, and a capture that dropped one proves nothing.
capture() {
	_ns=$1
	_f=$2
	shift 2
	ip netns exec "$_ns" tcpdump -Z root -n -U --immediate-mode -B 65536 -w "$_f" "$@" \
	    > "$_f.err" 2>&1 &
	CAP_PID=$!
	track "$CAP_PID"
	wait_for 5 grep -q "listening on" "$_f.err" || show_log "$_f.err"
}

# complete_capture ERRFILE: tcpdump wrote every packet its filter took, the kernel dropped none.
# libpcap reads "received by filter" after the capture loop has ended: a packet of the kernel's
# own (neighbour discovery on the veth) that comes in between counts as received but was never
# read. The captures stop two seconds after every tunnel process has exited, so up to two such
# packets are not tunnel traffic; one dropped by the kernel, or more unread, fails.
complete_capture() {
	_cap=$(sed -n 's/^\([0-9]*\) packets\{0,1\} captured$/\1/p' "$1")
	_rcv=$(sed -n 's/^\([0-9]*\) packets\{0,1\} received by filter$/\1/p' "$1")
	_drop=$(sed -n 's/^\([0-9]*\) packets\{0,1\} dropped by kernel$/\1/p' "$1")
	[ -n "$_cap" ] && [ -n "$_rcv" ] && [ "$_drop" = 0 ] && [ "$_rcv" -ge "$_cap" ] &&
	    [ $((_rcv - _cap)) -le 2 ] && return 0
	show_log "$1"
	return 1
}

# holds FILE TEXT: FILE contains TEXT (binary files too).
holds() { grep -q -a -F -- "$2" "$1"; }

# ---------------------------------------------------------------------------------------------
# Configurations. TAP: each end sets its own MAC and a permanent neighbour entry for the other
# end in its up hook, so frames carry the marker from the first ping, without ARP.

genkeys S
for _p in $PEERS; do
	genkeys "$_p" # sets ${_p}_PRIV and ${_p}_PUB
done
# tap_hooks NET SELF OTHER: up hooks for a TAP device at NET.SELF talking to NET.OTHER.
tap_hooks() {
	_mac() { echo "02:00:00:00:0${1##*.}:0$2"; }
	echo "up = ( [\"$IP\", \"link\", \"set\", \"%d\", \"address\", \"$(_mac "$1" "$2")\"],
		[\"$IP\", \"neigh\", \"replace\", \"$1.$3\", \"lladdr\", \"$(_mac "$1" "$3")\",
		\"dev\", \"%d\", \"nud\", \"permanent\"] );"
}
# peer_conf PEER SELF OTHER: the settings of PEER at the end whose address is NET.SELF.
peer_conf() {
	_n=$(net "$1")
	case $1 in
	t?) echo "type = \"tun\"; address = \"$_n.$2/30\"; peer-address = \"$_n.$3\";" ;;
	a?) echo "type = \"tap\"; address = \"$_n.$2/24\"; $(tap_hooks "$_n" "$2" "$3")" ;;
	esac
	case $1 in
	?u) echo "proto = \"udp\";" ;;
	?t) echo "proto = \"tcp\";" ;;
	esac
	echo "device = \"vt-$1\";"
}
{
	echo "listen = \"0.0.0.0:$PORT\"; private-key = \"$S_PRIV\"; user = \"\";"
	echo "control-socket = \"$SSOCK\"; log-level = \"debug\";"
	echo "defaults = { rekey-interval = 10; }; peers = {"
	for _p in $PEERS; do
		eval "_pub=\$${_p}_PUB"
		echo "$_p = { public-key = \"$_pub\"; $(peer_conf "$_p" 1 2) };"
	done
	echo "};"
} > "$TMP/server.conf"
for _p in $PEERS; do
	eval "_priv=\$${_p}_PRIV"
	cat > "$TMP/$_p.conf" <<EOF
private-key = "$_priv"; user = ""; control-socket = "$TMP/$_p.sock"; log-level = "debug";
peers = { $_p = { public-key = "$S_PUB"; remote = "$SADDR:$PORT"; rekey-interval = 10;
	$(peer_conf "$_p" 2 1) }; };
EOF
done

start_server() {
	start_daemon "$NS_S" "$1" -f "$TMP/server.conf" -s
	SERVER=$LAST_PID
	wait_for 5 grep -q "ready" "$1" || show_log "$1"
}
start_clients() {
	for _p in $PEERS; do
		start_daemon "$NS_C" "$TMP/$_p.log.$1" -f "$TMP/$_p.conf" client "$_p"
		eval "CLIENT_$_p=\$LAST_PID"
	done
	for _p in $PEERS; do
		wait_for 5 link_exists "$NS_C" "vt-$_p" || echo "# client $_p has no device"
	done
}
# stop_clients DESCRIPTION: SIGTERM each client in turn; one check.
stop_clients() {
	_bad=""
	for _p in $PEERS; do
		_pid=""
		eval "_pid=\$CLIENT_$_p"
		stop_daemon "$_pid" || _bad="$_bad $_p"
		untrack "$_pid"
	done
	check "$1 (failed:${_bad:- none})" [ -z "$_bad" ]
}

# ---------------------------------------------------------------------------------------------
# Captures, listeners for the TCP markers, and pings that run from start to end.

capture "$NS_S" "$TMP/under-s.pcap" -i "$UNDER_S"
CAP_US=$CAP_PID
capture "$NS_C" "$TMP/under-c.pcap" -i "$UNDER_C"
CAP_UC=$CAP_PID
capture "$NS_S" "$TMP/tun-s.pcap" -i any inbound and net 10.99.0.0/16
CAP_TS=$CAP_PID
capture "$NS_C" "$TMP/tun-c.pcap" -i any inbound and net 10.99.0.0/16
CAP_TC=$CAP_PID
for _ns in "$NS_S" "$NS_C"; do
	ip netns exec "$_ns" nc -l -k -n 7002 > "$TMP/nc-$_ns.out" 2>/dev/null &
	track "$!"
	eval "NC_$_ns=\$!"
done

RUN=$TMP/run
touch "$RUN"
# pinger NS ADDR: ping -p with the marker, again whenever ping gives up (no device, no route).
pinger() {
	while [ -e "$RUN" ]; do
		ip netns exec "$1" ping -q -n -i 0.1 -s 120 -W 1 -w 3 -p "$MARK_HEX" "$2" \
		    > /dev/null 2>&1
		[ -e "$RUN" ] && sleep 0.3
	done
}
PINGERS=""
for _p in $PEERS; do
	pinger "$NS_S" "$(net "$_p").2" &
	PINGERS="$PINGERS $!"
	track "$!"
	pinger "$NS_C" "$(net "$_p").1" &
	PINGERS="$PINGERS $!"
	track "$!"
done

# marks_start PHASE: UDP and TCP markers "MARK:PHASE:..." both ways, to every peer.
MARKS=""
marks_start() {
	_to_c="" _to_s=""
	for _p in $PEERS; do
		_to_c="$_to_c${_to_c:+,}$(net "$_p").2"
		_to_s="$_to_s${_to_s:+,}$(net "$_p").1"
	done
	for _x in "$NS_S:$_to_c" "$NS_C:$_to_s"; do
		ip netns exec "${_x%%:*}" "$VT_INJECT" mark "${_x#*:}" 7001 --text "$MARK:$1" \
		    --rate 40 --max-time 120 > "$TMP/mark-$1-udp-${_x%%:*}.out" 2>&1 &
		MARKS="$MARKS $!"
		track "$!"
		ip netns exec "${_x%%:*}" "$VT_INJECT" mark "${_x#*:}" 7002 --text "$MARK:$1" \
		    --tcp --rate 8 --max-time 120 > "$TMP/mark-$1-tcp-${_x%%:*}.out" 2>&1 &
		MARKS="$MARKS $!"
		track "$!"
	done
}
marks_stop() {
	for _m in $MARKS; do
		stop "$_m"
	done
	MARKS=""
	cat "$TMP"/mark-"$1"-*.out | sed 's/^/# phase '"$1"': /'
}

# ---------------------------------------------------------------------------------------------
# A. The server alone: its devices are up, no client exists.

start_server "$TMP/server.log.A"
marks_start A
sleep 3
marks_stop A
_bad=""
for _p in $PEERS; do
	[ "$(peer_num "$SSOCK" "$_p" no_key)" -gt 0 ] || _bad="$_bad $_p"
done
check "A: the server read marker frames from every device and dropped them for want of a key \
(no drops:${_bad:- none})" [ -z "$_bad" ]
check "A: the server alone exits cleanly on SIGTERM" stop_daemon "$SERVER"
untrack "$SERVER"

# ---------------------------------------------------------------------------------------------
# B. The clients alone, then the server comes up.

start_clients B
marks_start B
sleep 3
_bad=""
for _p in $PEERS; do
	[ "$(peer_num "$TMP/$_p.sock" "$_p" no_key)" -gt 0 ] || _bad="$_bad $_p"
done
check "B: each client dropped marker frames for want of a key (no drops:${_bad:- none})" \
    [ -z "$_bad" ]
start_server "$TMP/server.log.B"
if wait_for 20 all_up "$TMP/server.log.B" 1; then
	ok "B: every session comes up once the server runs"
else
	not_ok "B: every session comes up once the server runs"
	show_log "$TMP/server.log.B"
fi
sleep 1
marks_stop B
for _p in $PEERS; do
	check "B: $_p: pings cross" ping_ok "$NS_C" "$(net "$_p").1"
done

# ---------------------------------------------------------------------------------------------
# C. Rekeys under a continuous flow of markers: at least 3 per peer.

rekeys() { grep -c "peer $1: rekeyed" "$TMP/server.log.B"; }
rekeyed_thrice() {
	for _p in $PEERS; do
		_r0=0
		eval "_r0=\$R0_$_p"
		[ "$(rekeys "$_p")" -ge $((_r0 + 3)) ] || return 1
	done
}
for _p in $PEERS; do
	eval "R0_$_p=\$(rekeys $_p)"
done
marks_start C
wait_for 45 rekeyed_thrice
for _p in $PEERS; do
	eval "_r0=\$R0_$_p"
	_r1=$(rekeys "$_p")
	check "C: $_p: at least 3 rekeys while markers flow ($_r0 -> $_r1)" [ "$_r1" -ge $((_r0 + 3)) ]
	check "C: $_p: the session never went down" \
	    sh -c "! grep -q 'peer $_p: session down' '$TMP/server.log.B'"
done

# ---------------------------------------------------------------------------------------------
# F. Forged data, with the markers of C still flowing.

ip -n "$NS_C" addr add "$EVIL/24" dev "$UNDER_C"

# watch_endpoint PEER FILE: write the server's endpoint for PEER to FILE every 50 ms until the
# run file FILE.run goes; sets WATCH.
watch_endpoint() {
	touch "$2.run"
	(while [ -e "$2.run" ]; do endpoint "$SSOCK" "$1"; sleep 0.05; done) > "$2" 2>&1 &
	WATCH=$!
	track "$WATCH"
}
watch_stop() {
	rm -f "$1.run"
	wait "$WATCH"
	untrack "$WATCH"
}

# UDP, for tu and au: tag, then body.
for _p in tu au; do
	_ep0=$(endpoint "$SSOCK" "$_p")
	_a0=$(peer_num "$SSOCK" "$_p" auth)
	watch_endpoint "$_p" "$TMP/ep-$_p"
	_back=0
	for _flip in tag body; do
		_out=$(ip netns exec "$NS_C" "$VT_INJECT" forge "$TMP/under-s.pcap" "$SADDR" "$PORT" \
		    --sport "${_ep0##*:}" --flip "$_flip" --count 20 --rate 20 --bind "$EVIL")
		echo "# $_p: $_out"
		_n=$(echo "$_out" | sed -n 's/.*; \([0-9]*\) datagrams came back$/\1/p')
		_back=$((_back + ${_n:-1}))
	done
	watch_stop "$TMP/ep-$_p"
	_a1=$(peer_num "$SSOCK" "$_p" auth)
	_seen=$(sort -u "$TMP/ep-$_p" | tr '\n' ' ')
	check "F: $_p: forged data (tag, body) from $EVIL: 40 auth drops ($_a0 -> $_a1)" \
	    [ "$((_a1 - _a0))" -eq 40 ]
	check "F: $_p: the server's endpoint stays $_ep0 throughout (seen: $_seen)" \
	    [ "$_seen" = "$_ep0 " ]
	check "F: $_p: the forger got nothing back ($_back datagrams)" [ "$_back" -eq 0 ]
	check "F: $_p: traffic still flows" ping_ok "$NS_C" "$(net "$_p").1"
done
check "F: the server never logged a move to the forger's address" \
    sh -c "! grep -q 'endpoint now $EVIL' '$TMP/server.log.B'"

# TCP, for tt and at: a new connection from the forger carrying the peer's live index.
for _p in tt at; do
	_ep0=$(endpoint "$SSOCK" "$_p")
	_ns0=$(peer_num "$SSOCK" "$_p" no_session)
	watch_endpoint "$_p" "$TMP/ep-$_p"
	_out=$(ip netns exec "$NS_C" "$VT_INJECT" forge "$TMP/under-s.pcap" "$SADDR" "$PORT" --tcp \
	    --sport "${_ep0##*:}" --count 20 --bind "$EVIL")
	echo "# $_p: $_out"
	watch_stop "$TMP/ep-$_p"
	_ns1=$(peer_num "$SSOCK" "$_p" no_session) # counted on the peer whose index they carry
	_seen=$(sort -u "$TMP/ep-$_p" | tr '\n' ' ')
	check "F: $_p: 20 forged messages on a new connection, dropped ($_ns0 -> $_ns1 no_session)" \
	    [ "$((_ns1 - _ns0))" -ge 20 ]
	check "F: $_p: the peer's connection stays $_ep0 throughout (seen: $_seen)" \
	    [ "$_seen" = "$_ep0 " ]
	check "F: $_p: the forger got nothing back" \
	    sh -c "echo '$_out' | grep -q '; 0 bytes came back'"
	check "F: $_p: traffic still flows" ping_ok "$NS_C" "$(net "$_p").1"
done
check "F: no connection from the forger was bound to a peer" \
    sh -c "! grep -q 'tcp connection from $EVIL' '$TMP/server.log.B'"
marks_stop C

# ---------------------------------------------------------------------------------------------
# D. The server restarts while markers flow.

_dial0=$(cat "$TMP"/tt.log.B "$TMP"/at.log.B | grep -c "connected to")
marks_start D
sleep 1
check "D: the server exits cleanly on SIGTERM" stop_daemon "$SERVER"
untrack "$SERVER"
sleep 1
start_server "$TMP/server.log.D"
if wait_for 20 all_up "$TMP/server.log.D" 1; then
	ok "D: every session comes back after the restart"
else
	not_ok "D: every session comes back after the restart"
	show_log "$TMP/server.log.D"
fi
_dial1=$(cat "$TMP"/tt.log.B "$TMP"/at.log.B | grep -c "connected to")
check "D: the TCP clients redialled ($_dial0 -> $_dial1 connections)" [ "$_dial1" -ge $((_dial0 + 2)) ]
sleep 1
marks_stop D
for _p in $PEERS; do
	check "D: $_p: pings cross after the restart" ping_ok "$NS_C" "$(net "$_p").1"
done

# ---------------------------------------------------------------------------------------------
# E. Shutdown with markers flowing: the clients first (the server keeps sending toward them),
# then the server.

marks_start E
sleep 1
stop_clients "E: every client exits cleanly on SIGTERM"
sleep 1.5
check "E: the server exits cleanly on SIGTERM" stop_daemon "$SERVER"
untrack "$SERVER"
sleep 1
marks_stop E

# ---------------------------------------------------------------------------------------------
# The captures.

rm -f "$RUN"
for _p in $PINGERS; do
	wait "$_p"
	untrack "$_p"
done
eval "stop \$NC_$NS_S"
eval "stop \$NC_$NS_C"
sleep 2
for _c in $CAP_US $CAP_UC $CAP_TS $CAP_TC; do
	stop "$_c" INT
done

for _s in s c; do
	_f=$TMP/under-$_s.pcap
	_n=$(tcpdump -n -r "$_f" 2>/dev/null | wc -l)
	check "underlay ($_s end): the capture is not empty ($_n packets)" [ "$_n" -ge 1000 ]
	check "underlay ($_s end): the capture lost nothing" complete_capture "$_f.err"
	if holds "$_f" "$MARK"; then
		not_ok "underlay ($_s end): the marker never appears"
		echo "#   leaked UDP markers by phase, and ping patterns:" \
		    "$(grep -a -o -e "$MARK:[A-Z]:[a-z]*" -e "$MARK$MARK" "$_f" | sed "s/$MARK/M/g" |
		    sort | uniq -c | tr -s ' \n' ' ')"
		tcpdump -n -r "$_f" -A 2>/dev/null | grep -B3 -m 2 -F -- "$MARK" | sed 's/^/#   /'
	else
		ok "underlay ($_s end): the marker never appears"
	fi
done
for _ph in B C D E; do
	check "tunnel: the UDP markers of phase $_ph were received through the tunnels" \
	    sh -c "grep -q -a -F -- '$MARK:$_ph:udp:' '$TMP/tun-s.pcap' &&
	    grep -q -a -F -- '$MARK:$_ph:udp:' '$TMP/tun-c.pcap'"
done
check "tunnel: the ping markers were received through the tunnels" \
    sh -c "grep -q -a -F -- '$MARK$MARK' '$TMP/tun-s.pcap' &&
    grep -q -a -F -- '$MARK$MARK' '$TMP/tun-c.pcap'"
check "tunnel: the TCP markers arrived both ways" \
    sh -c "grep -q -F -- '$MARK:C:tcp:' '$TMP/nc-$NS_S.out' &&
    grep -q -F -- '$MARK:C:tcp:' '$TMP/nc-$NS_C.out'"
if [ "$failed" -gt 0 ]; then
	for _f in "$TMP"/server.log.*; do
		echo "# $_f (last 30 lines):"
		tail -30 "$_f" | sed 's/^/#   /'
	done
fi
finish
