#!/bin/sh
# tests/netns/session-hooks.sh - session-up and session-down hooks, with the default keepalive
# (10 s) and timeout (60 s): a server whose engine runs as nobody (the root parent runs the
# hooks) and a client with the engine in its own process (user = ""):
#   - both run session-up when the session is established, with the peer name and the other
#     end's endpoint in %p, %e and VTUND_ENDPOINT;
#   - with the client stopped (SIGSTOP), the server declares the session dead after its
#     timeout and runs session-down with the same endpoint;
#   - the client, running again, comes back: session-up on the server again.
# Needs root (exit 77 otherwise). Run time about 80 s.
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/netns/lib.sh"
need_root
need_tools timeout ss
plan 6
setup_netns
echo "# namespaces $NS_S $NS_C, files in $TMP"
genkeys S
genkeys C
# hooks ROLE: session-up and session-down appending "EVENT %p %e $VTUND_ENDPOINT" to a file
hooks() {
	echo "	session-up = [\"/bin/sh\", \"-c\", \"echo up %p %e \$VTUND_ENDPOINT >> $TMP/$1.ev\"];"
	echo "	session-down = [\"/bin/sh\", \"-c\", \"echo down %p %e \$VTUND_ENDPOINT >> $TMP/$1.ev\"];"
}
{
	link_conf server 5701
	echo "	address = \"10.99.1.1/30\"; peer-address = \"10.99.1.2\";"
	hooks server
	echo "}; };"
} | sed 's/^user = "";/user = "nobody";/' > "$TMP/s.conf"
{
	link_conf client 5701
	echo "	address = \"10.99.1.2/30\"; peer-address = \"10.99.1.1\";"
	hooks client
	echo "}; };"
} > "$TMP/c.conf"
chmod 600 "$TMP/s.conf" "$TMP/c.conf"
link_up 1
check "session up" [ $? -eq 0 ]
check "the server ran session-up with the client's endpoint (%p, %e, VTUND_ENDPOINT)" \
    wait_for 5 grep -Eq '^up link 10\.98\.0\.2:[0-9]+ 10\.98\.0\.2:[0-9]+$' "$TMP/server.ev"
check "the client ran session-up with the server's endpoint" \
    wait_for 5 grep -q '^up link 10.98.0.1:5701 10.98.0.1:5701$' "$TMP/client.ev"
ep=$(sed -n 's/^up link \([^ ]*\) .*/\1/p' "$TMP/server.ev" | head -1)
kill -STOP "$CPID"
check "the client stopped: session-down on the server after the 60 s timeout, same endpoint" \
    wait_for 80 grep -q "^down link $ep $ep\$" "$TMP/server.ev"
kill -CONT "$CPID"
check "the client back: session-up on the server again" \
    wait_for 40 sh -c "[ \$(grep -c '^up link' '$TMP/server.ev') -ge 2 ]"
echo "# server events:"; sed 's/^/#   /' "$TMP/server.ev"
echo "# client events:"; sed 's/^/#   /' "$TMP/client.ev"
check "both daemons exit 0" eval 'stop_daemon "$CPID" && stop_daemon "$SPID"'
finish
