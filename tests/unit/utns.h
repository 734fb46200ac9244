/*
 * utns.h - helpers of the suites that change network devices for real (tun, netlink, priv's
 * devices): run a check in a forked child inside private network and mount namespaces, so that
 * nothing touches the host, the child reporting what it found through a pipe and its exit
 * status; and probes of a device, as the kernel reports it, for those checks.
 */
#ifndef VT_UTNS_H
#define VT_UTNS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "config.h"

/* What a child found: one line per failed check, and their count. */
struct utns_report {
	char s[8192];
	int fails;
};

/* Skip the calling cmocka test unless we are root. */
void utns_need_root(void);

/*
 * Run fn(r, arg) in a forked child that has its own network namespace (only a loopback device,
 * down) and mount namespace (mounts private, a fresh sysfs on /sys so that /sys/class/net shows
 * the child's devices). Returns fn's value, or 1 if it returned 0 but a check failed; 2 if the
 * namespaces could not be made; -1 if the child did not exit. Prints what the child noted.
 */
int utns_run(int (*fn)(struct utns_report *r, const void *arg), const void *arg);

/* A cmocka test of fn(r, arg) by utns_run: skipped unless root, passes if it returns 0. */
struct utns_case {
	int (*fn)(struct utns_report *r, const void *arg);
	const void *arg;
};
void utns_test(void **state);
#define UTNS_TEST(name, fn, arg) \
	{ (name), utns_test, NULL, NULL, &(struct utns_case){ (fn), (arg) } }

/* Note one failure in r. */
void utns_note(struct utns_report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Note "file:line: what" unless ok; returns ok. */
bool utns_check(struct utns_report *r, bool ok, const char *what, const char *file, int line);
#define UTNS_CHECK(r, cond) utns_check((r), (cond), #cond, __FILE__, __LINE__)

/* Note "file:line: ..." unless the string s holds want; returns whether it does. */
bool utns_has(struct utns_report *r, const char *s, const char *want, const char *file, int line);
#define UTNS_HAS(r, s, want) utns_has((r), (s), (want), __FILE__, __LINE__)

/* Note "file:line: ..." unless the strings are equal; returns whether they are. */
bool utns_streq(struct utns_report *r, const char *s, const char *want, const char *file,
    int line);
#define UTNS_STREQ(r, s, want) utns_streq((r), (s), (want), __FILE__, __LINE__)

/* The address in text s (IPv4 or IPv6) with prefix; family AF_UNSPEC if s is not one. */
struct vt_addr utns_addr(const char *s, int prefix);

/* The MTU, transmit queue length and interface flags (IFF_UP...) of a device; -1 if none. */
int utns_mtu(const char *name);
int utns_txqlen(const char *name);
int utns_flags(const char *name);

/* The TUN/TAP flags (IFF_TUN, IFF_TAP, IFF_PERSIST...) of a device, from sysfs; -1 if none. */
long utns_tun_flags(const char *name);

/* Create a persistent TUN/TAP device (flags: IFF_TUN or IFF_TAP, maybe IFF_MULTI_QUEUE), owned
 * by owner ((uid_t)-1: by nobody in particular), and hold no fd of it. 0 or -1. */
int utns_persistent(const char *name, int flags, uid_t owner);

/* Rename device from (which must be down) to to. 0 or -1. */
int utns_rename(const char *from, const char *to);

/*
 * Whether device name has address addr (text, IPv4 or IPv6) with prefix and, as getifaddrs
 * reports it, the far end peer (NULL: none, or the address itself).
 */
bool utns_has_addr(const char *name, const char *addr, int prefix, const char *peer);

/* The flags (IFA_F_NODAD, IFA_F_TENTATIVE...) of IPv6 address addr on device name, from
 * /proc/net/if_inet6, with its prefix in *prefix; -1 if there is no such address. */
int utns_inet6_flags(const char *name, const char *addr, int *prefix);

/* Become nobody for good (groups, gid, uid: no capability left). 0 or -1. */
int utns_become_nobody(void);

#endif
