/*
 * daemon.h - process plumbing: detaching, the pid file, readiness notification to systemd
 * (written by hand, no libsystemd), and privilege separation: a root parent that keeps the
 * devices and an unprivileged child that runs the engine.
 */
#ifndef VT_DAEMON_H
#define VT_DAEMON_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Fork into the background, start a new session, point stdio at /dev/null. The parent exits 0.
 * Returns in the child; fatal on failure. */
void daemon_detach(void);
/* Write our pid to path (creating its directory); 0 or -1 with a logged warning. */
int daemon_pidfile_write(const char *path);
/* Send a state string ("READY=1", "STOPPING=1") to $NOTIFY_SOCKET if set. */
void daemon_notify(const char *state);

/* Messages from the engine to the privileged parent: fixed size, checked on receipt. */
enum priv_msg_type { PRIV_MSG_READY = 1 };
struct priv_msg {
	uint32_t type;
	uint32_t arg;
};

/*
 * Privilege separation. Forks: the child drops to user/group (priv_drop) and runs child_main,
 * which returns an exit status; the parent forwards SIGTERM, SIGINT and SIGHUP to the child,
 * turns the child's PRIV_MSG_READY into a readiness notification, and returns the child's exit
 * status once it ends (the caller then removes devices and files with root rights).
 * *chan_out (in the child) is the child's end of the channel, for daemon_tell_parent.
 */
int daemon_privsep(const char *user, const char *group, int (*child_main)(void *arg, int chan),
    void *arg);
/* Send a message to the parent over chan; 0 or -1. */
int daemon_tell_parent(int chan, enum priv_msg_type type, uint32_t arg);

#endif
