# shellcheck shell=sh
# scripts/demo-lib.sh - shared by the demos (sourced, POSIX sh): stopping what a demo started
# and removing what an earlier, killed demo left behind. Only the demo's own PIDs and
# namespaces are touched.

# demo_stop PID...: SIGTERM, up to 5 s each, then SIGKILL.
demo_stop() {
	for _p in "$@"; do
		kill -TERM "$_p" 2>/dev/null
	done
	for _p in "$@"; do
		_n=0
		while kill -0 "$_p" 2>/dev/null && [ "$_n" -lt 50 ]; do
			sleep 0.1
			_n=$((_n + 1))
		done
		kill -KILL "$_p" 2>/dev/null
	done
}

# demo_leftovers NS...: namespaces of these names left by an earlier demo that was killed:
# the processes inside them (only those) are stopped, then the namespaces deleted.
demo_leftovers() {
	for _ns in "$@"; do
		ip netns list | grep -q "^$_ns\( \|$\)" || continue
		echo "removing namespace $_ns left over from an earlier demo"
		for _p in $(ip netns pids "$_ns" 2>/dev/null); do
			kill -TERM "$_p" 2>/dev/null
		done
		sleep 1
		ip netns del "$_ns" || { echo "demo: cannot delete the old namespace $_ns" >&2; exit 1; }
	done
}
