/*
 * priv.h - privileged operations: bring a peer's device up (create or attach, MTU, addresses,
 * link, up hooks) and down (down hooks, close), and drop root to a user for good, verified. The
 * process structure (who calls these and how fds travel) lives in the caller.
 */
#ifndef VT_PRIV_H
#define VT_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "config.h"

/* mtu = "auto" (p->mtu_auto): set p->mtu from the underlay: the MTU of the route toward toward
 * (a client's server; a server's specific listen address: the device that has it; a
 * wildcard or NULL: the default route) minus the overhead (mtu_overhead: the family of
 * toward, IPv6 for NULL); 1500 if nothing is known. A persistent device keeps its own. Logs
 * what it chose and from what. No privileges needed. */
struct sockaddr;
void priv_auto_mtu(struct vt_peer *p, const struct sockaddr *toward);

/*
 * Open the device of p (attach if p->persist, else create it), then unless p->persist set its
 * MTU, add every p->addrs entry (on TUN paired with the first p->peer_addrs entry of the same
 * family), make it a port of p->bridge, set the link up and add p->routes through it; then
 * run p->up hooks, stopping at the first failure. role is "server" or "client". Returns the
 * device fd; on any failure undoes what it did (closing the fd removes a created device) and
 * returns -1 with err.
 */
int priv_device_up(const struct vt_peer *p, const char *role, int *ifindex, char *err,
    size_t errlen);

/*
 * Run every p->down hook, then close fd. A device we created (ifindex from priv_device_up, 0
 * for a persistent one) is removed for certain: its persist flag cleared and the link deleted,
 * even if another process still holds an fd of it. A persistent device stays.
 */
void priv_device_down(const struct vt_peer *p, const char *role, int fd, int ifindex);
/* A session of p came up (up) or was declared dead: run its session-up or session-down hook,
 * every command, with %e and VTUND_ENDPOINT the peer's endpoint ("" if not known). */
void priv_session_hook(const struct vt_peer *p, const char *role, bool up, const char *endpoint);
/* `vtund-ng device add -a`: make p's device persistent, owned by uid and gid (-1: none in
 * particular), and configure it as the daemon would a device of its own (MTU, addresses,
 * bridge, link up, routes), for a daemon that then runs without privileges and attaches to
 * it (persist = true). 0, or -1 with err (nothing is left behind). */
int priv_device_make(const struct vt_peer *p, uid_t uid, gid_t gid, char *err, size_t errlen);
/* A reload changed the routes of running peer p (old: its settings before): delete the ones
 * it no longer has (add false: do that for every peer first), or add the new ones (add
 * true), all it can. 0, or -1 with the last failure in err. */
int priv_routes_change(const struct vt_peer *old, const struct vt_peer *p, bool add, char *err,
    size_t errlen);

/* Resolve user (and group, NULL = the user's primary group) to ids; -1 with err if unknown. */
int priv_lookup_user(const char *user, const char *group, uid_t *uid, gid_t *gid, char *err,
    size_t errlen);

/*
 * Become user (and group, NULL = the user's primary group) for good, while still root: empty
 * the capability bounding set (needs CAP_SETPCAP), set the supplementary groups to that group
 * alone, set real, effective and saved gid and uid, empty the inheritable, permitted, effective
 * and ambient sets, set no_new_privs; then priv_verify_drop. Returns 0, or -1 with err (the
 * process may then be half-dropped: the caller must exit).
 */
int priv_drop(const char *user, const char *group, char *err, size_t errlen);

/*
 * Check that the process is dropped to uid and gid: supplementary groups gid alone, real,
 * effective and saved ids, empty inheritable, permitted, effective, bounding and ambient
 * capability sets, no_new_privs, and setgroups() and setuid(0) both fail. Returns 0, or -1
 * with err naming everything left. It tries setgroups() and setuid(0) for real: after a -1 the
 * process may have regained what they give and must exit.
 */
int priv_verify_drop(uid_t uid, gid_t gid, char *err, size_t errlen);

#endif
