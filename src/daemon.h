/*
 * daemon.h - process plumbing: detaching, the pid file, readiness notification to systemd
 * (written by hand, no libsystemd), and closing inherited descriptors.
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
/* "RELOADING=1" with the monotonic time systemd wants next to it; READY=1 ends the reload. */
void daemon_notify_reloading(void);

/* Close every descriptor from 3 up except the n in keep (a child that must hold only what it
 * was given). */
void daemon_close_fds_except(const int *keep, int n);

#endif
