#!/bin/sh
# tests/netns/review.sh - regression checks for the findings of the independent review of the
# engine rewrite that need the daemon as users run it: the root parent and the client's timers
# (tests/unit/test_review.c holds the others).
#
# A compromised engine is played by the test: the engine is stopped (SIGSTOP: it reads nothing
# and acts on no signal) and the test takes its end of the channel (pidfd_getfd) and sends what
# such an engine may send. Every check fails on c68aecf:
#   a. a RELOAD the engine relays while the parent waits for a PEER_GONE is not lost, and the
#      wait gives up after GONE_TIMEOUT_MS even while the engine keeps sending (wait_gone only
#      counts poll timeouts and drops every other message);
#   b. a RELOAD flood from an engine that does not read leaves the root parent blocked in
#      sendmsg (its end of the channel is blocking): it reloads the configuration once per
#      message (hundreds of reloads, two log lines each) and then hangs;
#   c. an engine that ignores SIGTERM keeps the root parent (and the devices it made
#      persistent) alive: the parent forwards SIGTERM and never escalates; systemd's final
#      SIGKILL then leaves a persistent device behind, owned by nobody;
#   d. a client whose rekey is refused (the server came back with another type, its CLOSE lost)
#      spins at 100 % CPU: its timer deadline is the past rekey time while the tick waits for
#      the 30 s back-off (tests/unit/test_review.c has the unit form);
#   e. a reload that swaps the keys of two peers keeps both: the first restart met the key the
#      other still held, the peer was gone from the engine and the parent never knew.
# Needs root, python3. Run time about 75 s.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/netns/lib.sh"
need_root
command -v python3 >/dev/null 2>&1 || { echo "not ok - python3 is missing"; exit 1; }
VT_ATTACK=${VT_ATTACK:-$(dirname "$VTUND")/tests/tools/vt-attack}
plan 11
setup_netns
chmod 0755 "$TMP"

# chan.py PID burst N | stream RATE SECONDS: as the engine PID, send CHAN_RELOAD messages up
# its channel to the parent, never reading.
cat > "$TMP/chan.py" <<'EOF'
import ctypes, os, socket, struct, sys, time
pid, mode = int(sys.argv[1]), sys.argv[2]
libc = ctypes.CDLL(None, use_errno=True)
inodes = {l.split()[6] for l in open(f"/proc/{pid}/net/unix").read().splitlines()[1:]
          if l.split()[4] == "0005"}
target = None
for fd in os.listdir(f"/proc/{pid}/fd"):
    try:
        link = os.readlink(f"/proc/{pid}/fd/{fd}")
    except OSError:
        continue
    if link.startswith("socket:[") and link[8:-1] in inodes:
        target = int(fd)
if target is None:
    sys.exit("chan.py: no channel in the engine")
fd = libc.syscall(434, pid, 0)            # pidfd_open
fd = libc.syscall(438, fd, target, 0)     # pidfd_getfd
if fd < 0:
    sys.exit("chan.py: pidfd_getfd: " + os.strerror(ctypes.get_errno()))
s = socket.socket(fileno=fd)
msg = struct.pack("II", 11, 0)            # CHAN_RELOAD
sent = 0
if mode == "burst":
    for _ in range(int(sys.argv[3])):
        try:
            s.send(msg, socket.MSG_DONTWAIT)
            sent += 1
        except BlockingIOError:
            break
else:
    end = time.monotonic() + float(sys.argv[4])
    while time.monotonic() < end:
        try:
            s.send(msg, socket.MSG_DONTWAIT)
            sent += 1
        except BlockingIOError:
            pass
        time.sleep(1 / float(sys.argv[3]))
print(f"chan.py: {sent} RELOAD sent")
s.detach()
EOF

genkeys S
genkeys A
genkeys B
server_conf() { # FILE DEVICE-SUFFIX PEERS...: a server with the named peers (alpha, beta)
	_f=$1
	_sfx=$2
	shift 2
	{
		echo "private-key = \"$S_PRIV\";"
		echo "control-socket = \"$TMP/$_sfx.sock\";"
		echo "listen = \"0.0.0.0:5000\";"
		echo "user = \"nobody\";"
		echo "peers = {"
		for _p in "$@"; do
			case $_p in
			alpha) echo "  alpha = { public-key = \"$A_PUB\"; device = \"vra$_sfx$$\"; };" ;;
			beta) echo "  beta = { public-key = \"$B_PUB\"; device = \"vrb$_sfx$$\"; };" ;;
			esac
		done
		echo "};"
	} > "$_f"
	chmod 600 "$_f"
}
reloads() { grep -c "reloading" "$1"; }
alive() { [ -n "$(ps -o stat= -p "$1" 2>/dev/null | grep -v Z)" ]; }

# --- a. a reload during the wait for PEER_GONE ---------------------------------------------------
server_conf "$TMP/a.conf" a alpha beta
start_daemon "$NS_S" "$TMP/a.log" -f "$TMP/a.conf" -s
PA=$LAST_PID
wait_for 5 grep -q -w ready "$TMP/a.log"
EA=$(pgrep -P "$PA" | head -1)
kill -STOP "$EA"
server_conf "$TMP/a.conf" a alpha            # beta goes: the parent waits for its PEER_GONE
kill -HUP "$PA"
sleep 0.5
python3 "$TMP/chan.py" "$EA" stream 20 13 > "$TMP/stream.out" 2>&1 &
STREAM=$!
track "$STREAM"
sleep 12.5
check "a: the wait for PEER_GONE gives up after 10 s while the engine keeps sending" \
    grep -q "did not release peer" "$TMP/a.log"
wait "$STREAM"
echo "# $(cat "$TMP/stream.out")"
sleep 11 # the give-up comes 10 s after the stream stops, if not before
check "a: the RELOADs relayed meanwhile are not lost (reloads: $(reloads "$TMP/a.log"))" \
    [ "$(reloads "$TMP/a.log")" -ge 2 ]

# --- b. a RELOAD flood from an engine that does not read -----------------------------------------
n0=$(reloads "$TMP/a.log")
python3 "$TMP/chan.py" "$EA" burst 2000 | sed 's/^/# /'
sleep 3
n1=$(reloads "$TMP/a.log")
WCHAN=$(cat "/proc/$PA/wchan" 2>/dev/null)
echo "# parent wchan: $WCHAN; reloads for the flood: $((n1 - n0))"
check "b: the root parent is not blocked sending to the engine (wchan $WCHAN)" \
    sh -c "! grep -q -E 'sock_alloc_send|unix_wait_for_peer|sock_wait' /proc/$PA/stack"
check "b: a RELOAD flood does not make the root parent reload the file hundreds of times" \
    [ $((n1 - n0)) -le 10 ]
kill -9 "$EA" 2>/dev/null
stop_daemon "$PA" >/dev/null 2>&1

# --- c. an engine that ignores SIGTERM ----------------------------------------------------------
server_conf "$TMP/c.conf" c alpha
start_daemon "$NS_S" "$TMP/c.log" -f "$TMP/c.conf" -s
PC=$LAST_PID
wait_for 5 grep -q -w ready "$TMP/c.log"
EC=$(pgrep -P "$PC" | head -1)
"$VT_ATTACK" tun-persist "$EC" | sed 's/^/# /'
kill -STOP "$EC"
kill -TERM "$PC"
_n=0
while [ "$_n" -lt 75 ] && alive "$PC"; do sleep 0.2; _n=$((_n + 1)); done
check "c: the root parent exits within 15 s of SIGTERM although its engine ignores it" \
    sh -c "! kill -0 $PC 2>/dev/null || [ \"\$(ps -o stat= -p $PC | cut -c1)\" = Z ]"
kill -9 "$PC" "$EC" 2>/dev/null # what systemd does at the end of TimeoutStopSec
sleep 1
check "c: no device made persistent by the engine outlives the daemon" \
    sh -c "! ip -n $NS_S link show vrac$$ >/dev/null 2>&1"

# --- d. a client whose rekey is refused ----------------------------------------------------------
for ns in "$NS_S" "$NS_C"; do
	# no IPv6 autoconfiguration frames on the devices: an idle tunnel
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
	    net.ipv6.conf.default.disable_ipv6=1
done
dserver() { # TYPE
	cat > "$TMP/d.conf" <<CONF
private-key = "$S_PRIV";
control-socket = "$TMP/d.sock";
listen = "0.0.0.0:5001";
user = "";
peers = { alpha = { public-key = "$A_PUB"; device = "vrd$$"; type = "$1"; keepalive = 0;
	timeout = 0; rekey-interval = 10; }; };
CONF
	chmod 600 "$TMP/d.conf"
}
cat > "$TMP/dc.conf" <<CONF
private-key = "$A_PRIV";
control-socket = "$TMP/dc.sock";
user = "";
peers = { alpha = { public-key = "$S_PUB"; device = "vrdc$$"; remote = "10.98.0.1:5001";
	mtu = 1400; keepalive = 0; timeout = 0; rekey-interval = 10; }; };
CONF
chmod 600 "$TMP/dc.conf"
dserver tun
start_daemon "$NS_S" "$TMP/d.log" -f "$TMP/d.conf" -s
PD=$LAST_PID
wait_for 5 grep -q -w ready "$TMP/d.log"
start_daemon "$NS_C" "$TMP/dc.log" -f "$TMP/dc.conf" client alpha
CL=$LAST_PID
wait_for 5 grep -q "session up" "$TMP/dc.log"
kill -9 "$PD" # gone without a CLOSE; it comes back with another type
dserver tap
start_daemon "$NS_S" "$TMP/d2.log" -f "$TMP/d.conf" -s
wait_for 15 grep -q "refused the handshake" "$TMP/dc.log"
sleep 1
t0=$(awk '{print $14 + $15}' "/proc/$CL/stat")
sleep 5
t1=$(awk '{print $14 + $15}' "/proc/$CL/stat")
check "d: a client whose rekey was refused waits idle (CPU over 5 s: $((t1 - t0)) ticks)" \
    [ $((t1 - t0)) -lt 50 ]

# --- e. a reload that swaps the keys of two peers ------------------------------------------------
econf() { # KEY-OF-ALPHA KEY-OF-BETA
	cat > "$TMP/e.conf" <<CONF
private-key = "$S_PRIV";
control-socket = "$TMP/e.sock";
listen = "0.0.0.0:5002";
user = "nobody";
peers = { alpha = { public-key = "$1"; device = "vrae$$"; };
	beta = { public-key = "$2"; device = "vrbe$$"; }; };
CONF
	chmod 600 "$TMP/e.conf"
}
eclient() { # NAME PRIVATE-KEY DEVICE
	cat > "$TMP/e-$1.conf" <<CONF
private-key = "$2";
control-socket = "$TMP/e-$1.sock";
user = "";
peers = { $1 = { public-key = "$S_PUB"; device = "$3"; remote = "10.98.0.1:5002"; }; };
CONF
	chmod 600 "$TMP/e-$1.conf"
	start_daemon "$NS_C" "$TMP/e-$1.log" -f "$TMP/e-$1.conf" client "$1"
}
established() { "$VTUND" status -S "$TMP/e.sock" "$1" 2>/dev/null | grep -q established; }
econf "$A_PUB" "$B_PUB"
start_daemon "$NS_S" "$TMP/e.log" -f "$TMP/e.conf" -s
PE=$LAST_PID
wait_for 5 grep -q -w ready "$TMP/e.log"
econf "$B_PUB" "$A_PUB"
"$VTUND" reload -S "$TMP/e.sock" > "$TMP/e.reload" 2>&1
check "e: the reload that swaps alpha's and beta's keys succeeds" \
    sh -c "! grep -q 'could not take' '$TMP/e.log'"
eclient alpha "$B_PRIV" vrec1$$
eclient beta "$A_PRIV" vrec2$$
check "e: alpha, now with beta's old key, connects" wait_for 10 established alpha
check "e: beta, now with alpha's old key, connects" wait_for 10 established beta
"$VTUND" reload -S "$TMP/e.sock" >> "$TMP/e.reload" 2>&1
sleep 1
both_kept() { established alpha && established beta && ! grep -q 'could not take' "$TMP/e.log"; }
check "e: a later reload finds both peers where the parent thinks they are" both_kept
stop_daemon "$PE" >/dev/null 2>&1

finish
