/*
 * hooks.h - run the up/down hook commands of a peer: no shell, a clean environment, %-escapes
 * expanded per argument, a time limit per command.
 */
#ifndef VT_HOOKS_H
#define VT_HOOKS_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

#define HOOK_TIMEOUT_MS 30000 /* per command; the child is killed after this */
#define HOOK_ARG_MAX 1024     /* bytes of one expanded argument, NUL included */

/* What a hook may know about the link; NULL strings count as "". */
struct hook_vars {
	const char *device;      /* %d, VTUND_DEVICE */
	const char *peer;        /* %p, VTUND_PEER: peer name */
	const char *role;        /* %r, VTUND_ROLE: "server" | "client" */
	const char *type;        /* VTUND_TYPE: "tun" | "tap" */
	const char *local;       /* %a, VTUND_LOCAL: first local address (no prefix) or "" */
	const char *remote_addr; /* %P, VTUND_PEER_ADDRESS: first peer address or "" */
	int mtu;                 /* %m, VTUND_MTU */
	const char *endpoint;    /* %e, VTUND_ENDPOINT: the peer's underlay address (session
	                            hooks) or "" */
};

/*
 * Expand %d %p %r %a %P %m %e and %% in arg into out (cap bytes, NUL-terminated). Returns the
 * length, or -1 if the result does not fit or arg holds an unknown or a trailing lone '%'. Pure.
 */
int hook_expand_arg(const char *arg, const struct hook_vars *v, char *out, size_t cap);

/*
 * Run the commands of h in order, each with execv(argv[0]) (no PATH search, no shell), the
 * environment PATH=/usr/sbin:/usr/bin:/sbin:/bin plus VTUND_* from v, fds >= 3 closed, in its
 * own process group, killed with SIGKILL after HOOK_TIMEOUT_MS. Logs each failure.
 * stop_on_error: stop at the first failing command (up); otherwise run all (down).
 * Returns 0 if every command ran and exited 0, else -1. Reaps its own children with waitpid on
 * their pid, so a SIGCHLD handler must not reap with waitpid(-1) meanwhile.
 */
int hook_run(const struct vt_hook *h, const struct hook_vars *v, bool stop_on_error);

/* hook_run with another time limit per command (tests use a short one). */
int hook_run_timeout(const struct vt_hook *h, const struct hook_vars *v, bool stop_on_error,
    int timeout_ms);

#endif
