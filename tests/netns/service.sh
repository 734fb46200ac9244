#!/bin/sh
# tests/netns/service.sh - the service integration:
#   1. the generated systemd units (server, client, devices) pass `systemd-analyze verify`
#      (ExecStart and ExecStop pointed at $VTUND);
#   2. the SysV init script starts, reports, reloads and stops a server and a client inside a
#      fresh network namespace, with pid files and control sockets in a private run directory;
#   3. the daemon in the foreground (as systemd runs it) sends READY=1 to $NOTIFY_SOCKET, logs
#      SIGHUP and removes its device on SIGTERM.
# Needs root (exit 77 otherwise). Environment (set by `make check`): VTUND, top_srcdir,
# top_builddir. Prints "ok - ..." or "not ok - ..." per check (lib.sh's helpers and plan): 6 for
# the units (server, client, devices), 45 for the init script, 9 for the foreground daemon, whatever happens. A tool that
# is missing (systemd-analyze, setpriv, python3) makes its checks "# SKIP" with the reason,
# except under CI (CI=true), where deps.sh installs it: there they fail.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
VTUND=${VTUND:-$top_builddir/vtund-ng}
. "$top_srcdir/tests/netns/lib.sh"
need_root
plan $((6 + 45 + 9))

ns=vtsvc$$
ns_made=false
tmp=$TMP
# The engine may run as an unprivileged user: let it reach the run directory.
chmod 0755 "$tmp"
run=$tmp/run
runc=$tmp/run-client
started_pids=

# Kill only what this test started: vtund-ng processes whose command line names a file in our
# temporary directory (every daemon here is started with -f $tmp/...), and the helpers
# recorded in $started_pids.
our_daemons()
{
	for d in /proc/[0-9]*; do
		[ -r "$d/cmdline" ] && grep -q '^vtund-ng' "$d/comm" 2>/dev/null || continue
		tr '\0' ' ' < "$d/cmdline" 2>/dev/null | grep -qF "$tmp/" && echo "${d#/proc/}"
	done
}
# Stop our daemons and helpers, delete the namespace, then lib.sh's cleanup (planned checks
# that did not run, the temporary directory).
svc_cleanup()
{
	for p in $(our_daemons) $started_pids; do
		kill -TERM "$p" 2>/dev/null
	done
	_n=0
	while [ -n "$(our_daemons)" ] && [ "$_n" -lt 50 ]; do
		sleep 0.2
		_n=$((_n + 1))
	done
	if $ns_made; then
		ip netns del "$ns" 2>/dev/null
	fi
	cleanup
}
trap svc_cleanup EXIT
trap 'exit 1' INT TERM

in_ns() { ip netns exec "$ns" "$@"; }
dev_exists() { in_ns ip link show dev "$1" >/dev/null 2>&1; }
dev_gone() { ! dev_exists "$1"; }
alive() { kill -0 "$1" 2>/dev/null; }
dead() { ! alive "$1"; }
pid_of() { cat "$run/$1.pid" 2>/dev/null; }

if [ ! -x "$VTUND" ]; then
	not_ok "the daemon is built ($VTUND)"
	exit 1
fi

# ---- 1. systemd units ----------------------------------------------------------------------
# Use the units the build generated (this also checks the Makefile's substitutions), else make
# them from the .in files the same way.
units=$tmp/units
mkdir -p "$units" "$tmp/man/man5" "$tmp/man/man8"
for u in vtund-ng-server.service 'vtund-ng-client@.service' vtund-ng-devices.service; do
	if [ -r "$top_builddir/init/$u" ]; then
		cp "$top_builddir/init/$u" "$units/$u.built"
	else
		sed -e 's|@sbindir[@]|/usr/sbin|g' -e 's|@sysconfdir[@]|/etc|g' \
		    -e 's|@runstatedir[@]|/run|g' -e 's|@VT_DEFAULT_USER[@]|vtund-ng|g' \
		    "$top_srcdir/init/$u.in" > "$units/$u.built"
	fi
	if grep -q '@[a-zA-Z_]*@' "$units/$u.built"; then
		not_ok "$u: every @variable@ is substituted"
	else
		ok "$u: every @variable@ is substituted"
	fi
	# systemd-analyze verify insists that ExecStart's binary exists: point it at ours.
	sed -e "s|^ExecStart=[^ ]*|ExecStart=$VTUND|" -e "s|^ExecStop=[^ ]*|ExecStop=$VTUND|" \
	    "$units/$u.built" > "$units/$u"
done
# ... and that the Documentation= manual pages exist.
ln -s "$top_srcdir/man/vtund-ng.8" "$tmp/man/man8/vtund-ng.8"
ln -s "$top_srcdir/man/vtund-ng.conf.5" "$tmp/man/man5/vtund-ng.conf.5"

if command -v systemd-analyze >/dev/null 2>&1; then
	for u in vtund-ng-server.service 'vtund-ng-client@test.service' \
	    vtund-ng-devices.service; do
		# Any output (an unknown or misspelt setting is only a warning) is a failure.
		if out=$(cd "$units" && MANPATH=$tmp/man SYSTEMD_LOG_LEVEL=notice \
		    systemd-analyze verify "./$u" 2>&1) && [ -z "$out" ]; then
			ok "systemd-analyze verify $u"
		else
			printf '%s\n' "$out" | sed 's/^/#   /'
			not_ok "systemd-analyze verify $u"
		fi
	done
else
	cannot_run "systemd-analyze is not installed (apt-get install systemd)" \
	    "systemd-analyze verify vtund-ng-server.service" \
	    "systemd-analyze verify vtund-ng-client@test.service" \
	    "systemd-analyze verify vtund-ng-devices.service"
fi

# ---- 2. SysV init script -------------------------------------------------------------------
if [ -r "$top_builddir/init/vtund-ng" ]; then
	initscript=$top_builddir/init/vtund-ng
else
	initscript=$tmp/vtund-ng.init
	sed -e "s|@sbindir[@]|/usr/sbin|g" -e "s|@sysconfdir[@]|/etc|g" \
	    -e "s|@runstatedir[@]|/run|g" "$top_srcdir/init/vtund-ng.in" > "$initscript"
fi
check "init script is valid sh" sh -n "$initscript"

if ! ip netns add "$ns"; then
	not_ok "create network namespace $ns"
	exit 1
fi
ns_made=true
in_ns ip link set lo up

# Keys: the server's and the client's, each side naming the other's public key.
umask 077
"$VTUND" genkey > "$tmp/server.key" && "$VTUND" genkey > "$tmp/client.key"
server_pub=$("$VTUND" pubkey < "$tmp/server.key")
client_pub=$("$VTUND" pubkey < "$tmp/client.key")
umask 022
if [ -n "$server_pub" ] && [ -n "$client_pub" ]; then
	ok "genkey and pubkey make a key pair"
else
	not_ok "genkey and pubkey make a key pair"
	exit 1
fi

# The server separates privileges (engine as nobody, as a package's vtund-ng user would be);
# the client keeps the default (no vtund-ng user here: the engine stays root). Debian always has
# nobody; without it the two checks of the engine's user are skipped.
user_line=
if id nobody >/dev/null 2>&1; then
	user_line='user = "nobody";'
fi
cat > "$tmp/server.conf" <<EOF
private-key-file = "$tmp/server.key";
$user_line
listen = "127.0.0.1:5000";
pid-file = "$run/server.pid";
control-socket = "$run/server.sock";
peers = {
    svc = {
        device = "vtsvc0";
        public-key = "$client_pub";
        address = "10.199.0.1/30";
        peer-address = "10.199.0.2";
    };
};
EOF
cat > "$tmp/client.conf" <<EOF
private-key-file = "$tmp/client.key";
pid-file = "$runc/client-svc.pid";
control-socket = "$runc/client-svc.sock";
peers = {
    svc = {
        device = "vtsvc1";
        remote = "127.0.0.1:5000";
        public-key = "$server_pub";
        address = "10.199.1.2/30";
        peer-address = "10.199.1.1";
    };
};
EOF
# A configuration with an error: the script must report the failure and touch nothing.
sed 's/^listen = .*/listen = "127.0.0.1:99999";/' "$tmp/server.conf" > "$tmp/bad.conf"

printf 'SERVER=yes\nCLIENTS=""\nCONFIG=%s\nDAEMON_OPTS=""\n' "$tmp/server.conf" \
    > "$tmp/default.server"
# The client has its own run directory: `stop` stops every instance with a pid file there.
printf 'SERVER=no\nCLIENTS="svc"\nCONFIG=%s\nDAEMON_OPTS="-v"\nRUNDIR=%s\n' \
    "$tmp/client.conf" "$runc" > "$tmp/default.client"
printf 'SERVER=yes\nCLIENTS=""\nCONFIG=%s\n' "$tmp/bad.conf" > "$tmp/default.bad"
printf 'SERVER=no\nCLIENTS=""\n' > "$tmp/default.none"

# svc DEFAULTS-NAME ACTION: run the init script inside the namespace.
svc()
{
	in_ns env DAEMON="$VTUND" RUNDIR="$run" DEFAULTS="$tmp/default.$1" \
	    sh "$initscript" "$2" > "$tmp/out" 2>&1
	_rc=$?
	sed 's/^/#   /' "$tmp/out"
	return $_rc
}

svc none status
check "status with nothing configured or running exits 3" [ $? -eq 3 ]

svc bad start
check "start with a broken configuration fails" [ $? -ne 0 ]
check "... and creates no device" dev_gone vtsvc0
check "... and leaves no pid file" [ ! -e "$run/server.pid" ]

svc server start
check "start the server exits 0" [ $? -eq 0 ]
spid=$(pid_of server)
check "server pid file names a live process" alive "${spid:-0}"
check "server device vtsvc0 exists" dev_exists vtsvc0
check "vtsvc0 has its address" \
    sh -c "ip netns exec $ns ip -o addr show dev vtsvc0 | grep -q 'inet 10.199.0.1 peer 10.199.0.2'"
check "server control socket exists" [ -S "$run/server.sock" ]
check "server control socket has mode 0660" \
    [ "$(stat -c %a "$run/server.sock" 2>/dev/null)" = 660 ]
if [ -n "$user_line" ]; then
	check "server control socket belongs to the engine's group" \
	    [ "$(stat -c %g "$run/server.sock" 2>/dev/null)" = "$(id -g nobody)" ]
	check "server engine runs as nobody" \
	    wait_for 5 sh -c "ps -o user= --ppid ${spid:-0} | grep -qx nobody"
else
	skip "server control socket belongs to the engine's group: there is no user nobody"
	skip "server engine runs as nobody: there is no user nobody"
fi
check "vtund-ng status -S answers and names the peer" \
    sh -c "'$VTUND' status -S '$run/server.sock' | grep -q svc"
svc server status
check "status exits 0 while the server runs" [ $? -eq 0 ]
check "status says running" grep -q 'server: running' "$tmp/out"

svc server start
check "start again exits 0 (already running)" [ $? -eq 0 ]
check "... and keeps the same process" [ "$(pid_of server)" = "$spid" ]

svc client start
check "start the client exits 0" [ $? -eq 0 ]
cpid=$(cat "$runc/client-svc.pid" 2>/dev/null)
check "client pid file names a live process" alive "${cpid:-0}"
check "client device vtsvc1 exists" dev_exists vtsvc1
check "client and server complete a handshake (vtund-ng status says established)" \
    wait_for 5 sh -c "'$VTUND' status -S '$runc/client-svc.sock' | grep -q established"
svc client status
check "client status exits 0" [ $? -eq 0 ]
check "client status says running" grep -q 'client-svc: running' "$tmp/out"

svc server reload
check "reload exits 0" [ $? -eq 0 ]
check "reload reports the SIGHUP" grep -q 'sent SIGHUP' "$tmp/out"
sleep 1
check "server still runs after SIGHUP" alive "${spid:-0}"
check "server device still there after SIGHUP" dev_exists vtsvc0

svc client stop
check "stop the client exits 0" [ $? -eq 0 ]
check "client process is gone" dead "${cpid:-0}"
check "client device vtsvc1 is gone" dev_gone vtsvc1
check "client pid file is gone" [ ! -e "$runc/client-svc.pid" ]
check "client control socket is gone" [ ! -e "$runc/client-svc.sock" ]
check "server survives the client's stop" alive "${spid:-0}"

svc server stop
check "stop the server exits 0" [ $? -eq 0 ]
check "server process is gone" dead "${spid:-0}"
check "server device vtsvc0 is gone" dev_gone vtsvc0
check "server pid file is gone" [ ! -e "$run/server.pid" ]
check "server control socket is gone" [ ! -e "$run/server.sock" ]
svc server status
check "status exits 3 after stop" [ $? -eq 3 ]
check "status says not running" grep -q 'server: not running' "$tmp/out"

# A stale pid file (a pid that is not vtund-ng) counts as not running.
mkdir -p "$run"
echo $$ > "$run/server.pid"
svc server status
check "status exits 3 with a stale pid file" [ $? -eq 3 ]
svc server stop
check "stop with a stale pid file exits 0 and kills nothing" [ $? -eq 0 ]
check "... and removes the stale pid file" [ ! -e "$run/server.pid" ]

# ---- 3. the foreground daemon, as systemd runs it -------------------------------------------
# A datagram socket stands in for systemd's $NOTIFY_SOCKET. setpriv gives the daemon the unit's
# capability bounding set and no-new-privileges, so the checks below also show that the unit
# grants enough: signal forwarding to the engine (which runs as nobody) needs CAP_KILL, the
# control socket's owner CAP_CHOWN, the devices CAP_NET_ADMIN.
sandbox=
if command -v setpriv >/dev/null 2>&1; then
	caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$units/vtund-ng-server.service" |
	    tr 'A-Z ' 'a-z\n' | sed -n 's/^cap_/+/p' | paste -sd, -)
	if [ -n "$caps" ]; then
		sandbox="setpriv --bounding-set -all,$caps --no-new-privs"
		ok "foreground server runs with the unit's capabilities: $caps"
	else
		not_ok "CapabilityBoundingSet found in vtund-ng-server.service"
	fi
else
	cannot_run "setpriv is not installed (apt-get install util-linux)" \
	    "foreground server runs with the unit's capabilities"
fi
if command -v python3 >/dev/null 2>&1; then
	python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(20)
try:
    while True:
        d = s.recv(4096).decode(errors="replace")
        print(d, flush=True)
except socket.timeout:
    pass
' "$tmp/notify" > "$tmp/notify.log" 2>&1 &
	started_pids="$started_pids $!"
	wait_for 5 test -S "$tmp/notify" || echo "# the NOTIFY_SOCKET listener did not start"
	# Not through in_ns: $! must be the daemon itself (ip netns exec and env exec it).
	# shellcheck disable=SC2086
	ip netns exec "$ns" env NOTIFY_SOCKET="$tmp/notify" $sandbox \
	    "$VTUND" -n -s -f "$tmp/server.conf" 2> "$tmp/fg.log" &
	fpid=$!
	started_pids="$started_pids $fpid"
	check "foreground server: READY=1 sent to NOTIFY_SOCKET" \
	    wait_for 5 grep -q '^READY=1' "$tmp/notify.log"
	check "foreground server: device exists once ready" dev_exists vtsvc0
	check "foreground server: no pid file with -n" [ ! -e "$run/server.pid" ]
	kill -HUP "$fpid"
	check "foreground server: SIGHUP is logged" wait_for 5 grep -qi 'SIGHUP' "$tmp/fg.log"
	check "foreground server: still running after SIGHUP" alive "$fpid"
	# SIGTERM; stop_daemon waits (10 s at most) and returns the exit status.
	check "foreground server: exits 0 on SIGTERM" stop_daemon "$fpid"
	check "foreground server: device removed on SIGTERM" dev_gone vtsvc0
	check "foreground server: STOPPING=1 sent to NOTIFY_SOCKET on SIGTERM" \
	    wait_for 2 grep -q '^STOPPING=1' "$tmp/notify.log"
	echo "# NOTIFY_SOCKET got:"; sed 's/^/#   /' "$tmp/notify.log"
	echo "# daemon log:"; sed 's/^/#   /' "$tmp/fg.log"
else
	cannot_run "python3 is not installed" "foreground server: READY=1 sent to NOTIFY_SOCKET" \
	    "foreground server: device exists once ready" "foreground server: no pid file with -n" \
	    "foreground server: SIGHUP is logged" "foreground server: still running after SIGHUP" \
	    "foreground server: exits 0 on SIGTERM" "foreground server: device removed on SIGTERM" \
	    "foreground server: STOPPING=1 sent to NOTIFY_SOCKET on SIGTERM"
fi

finish
