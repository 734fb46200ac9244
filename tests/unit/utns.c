/* utns.c - checks in private network namespaces, and device probes (utns.h). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "utns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <ifaddrs.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <pwd.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

void
utns_need_root(void)
{
	if (geteuid() != 0) {
		print_message("needs root (network namespaces, /dev/net/tun): skipped\n");
		skip();
	}
}

/* In the child: private network and mount namespaces, and a sysfs of this network namespace
 * (the one mounted before shows the devices of the namespace that mounted it). */
static int
enter_namespaces(struct utns_report *r)
{
	if (unshare(CLONE_NEWNET | CLONE_NEWNS) == -1) {
		utns_note(r, "set-up: unshare: %s", strerror(errno));
		return -1;
	}
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == -1 ||
	    mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) == -1) {
		utns_note(r, "set-up: mount: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int
utns_run(int (*fn)(struct utns_report *r, const void *arg), const void *arg)
{
	static char out[sizeof(((struct utns_report *)0)->s)];
	struct utns_report r;
	int p[2], status, rc;
	size_t n = 0;
	ssize_t k;
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	/* Nothing buffered may be written twice, by the child's exit() as well. */
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		close(p[0]);
		memset(&r, 0, sizeof(r));
		rc = enter_namespaces(&r) == -1 ? 2 : fn(&r, arg);
		if (rc == 0 && r.fails > 0)
			rc = 1;
		if (write(p[1], r.s, strlen(r.s)) == -1)
			rc = 3;
		/* exit(), not _exit(): a coverage build writes the child's counts at exit. */
		exit(rc);
	}
	close(p[1]);
	while (n + 1 < sizeof(out) && (k = read(p[0], out + n, sizeof(out) - 1 - n)) > 0)
		n += (size_t)k;
	out[n] = '\0';
	close(p[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (out[0] != '\0')
		print_message("%s", out);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void
utns_test(void **state)
{
	const struct utns_case *c = *state;

	utns_need_root();
	assert_int_equal(utns_run(c->fn, c->arg), 0);
}

void
utns_note(struct utns_report *r, const char *fmt, ...)
{
	size_t used = strlen(r->s);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->s + used, sizeof(r->s) - used, fmt, ap);
	va_end(ap);
	used = strlen(r->s);
	snprintf(r->s + used, sizeof(r->s) - used, "\n");
	r->fails++;
}

bool
utns_check(struct utns_report *r, bool ok, const char *what, const char *file, int line)
{
	if (!ok)
		utns_note(r, "%s:%d: %s", file, line, what);
	return ok;
}

bool
utns_has(struct utns_report *r, const char *s, const char *want, const char *file, int line)
{
	bool ok = strstr(s, want) != NULL;

	if (!ok)
		utns_note(r, "%s:%d: \"%s\" does not hold \"%s\"", file, line, s, want);
	return ok;
}

bool
utns_streq(struct utns_report *r, const char *s, const char *want, const char *file, int line)
{
	bool ok = strcmp(s, want) == 0;

	if (!ok)
		utns_note(r, "%s:%d: \"%s\", want \"%s\"", file, line, s, want);
	return ok;
}

struct vt_addr
utns_addr(const char *s, int prefix)
{
	struct vt_addr a = { .family = strchr(s, ':') != NULL ? AF_INET6 : AF_INET };

	a.prefix = (uint8_t)prefix;
	if (inet_pton(a.family, s, a.addr) != 1)
		a.family = AF_UNSPEC;
	return a;
}

/* One SIOCGIF* request on name; the answer in ifr, -1 if there is no such device. */
static int
if_ioctl(const char *name, unsigned long req, struct ifreq *ifr)
{
	int fd, rc;

	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	memset(ifr, 0, sizeof(*ifr));
	snprintf(ifr->ifr_name, sizeof(ifr->ifr_name), "%s", name);
	rc = ioctl(fd, req, ifr);
	close(fd);
	return rc;
}

int
utns_mtu(const char *name)
{
	struct ifreq ifr;

	return if_ioctl(name, SIOCGIFMTU, &ifr) == -1 ? -1 : ifr.ifr_mtu;
}

int
utns_txqlen(const char *name)
{
	struct ifreq ifr;

	return if_ioctl(name, SIOCGIFTXQLEN, &ifr) == -1 ? -1 : ifr.ifr_qlen;
}

int
utns_flags(const char *name)
{
	struct ifreq ifr;

	return if_ioctl(name, SIOCGIFFLAGS, &ifr) == -1 ? -1 : (unsigned short)ifr.ifr_flags;
}

int
utns_rename(const char *from, const char *to)
{
	struct ifreq ifr;
	int fd, rc;

	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", from);
	snprintf(ifr.ifr_newname, sizeof(ifr.ifr_newname), "%s", to);
	rc = ioctl(fd, SIOCSIFNAME, &ifr);
	close(fd);
	return rc;
}

long
utns_tun_flags(const char *name)
{
	char path[96], line[32];
	long flags = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/class/net/%s/tun_flags", name);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	if (fgets(line, sizeof(line), f) != NULL)
		flags = strtol(line, NULL, 0);
	fclose(f);
	return flags;
}

int
utns_persistent(const char *name, int flags, uid_t owner)
{
	struct ifreq ifr;
	int fd, rc = -1;

	if ((fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC)) == -1)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_flags = (short)(flags | IFF_NO_PI | IFF_TUN_EXCL);
	if (ioctl(fd, TUNSETIFF, &ifr) == 0 &&
	    (owner == (uid_t)-1 || ioctl(fd, TUNSETOWNER, (unsigned long)owner) == 0) &&
	    ioctl(fd, TUNSETPERSIST, 1) == 0)
		rc = 0;
	close(fd);
	return rc;
}

/* Whether sa is an address of family equal to the text want. */
static bool
sa_is(const struct sockaddr *sa, int family, const char *want)
{
	uint8_t bin[16];

	if (sa == NULL || sa->sa_family != family || inet_pton(family, want, bin) != 1)
		return false;
	if (family == AF_INET)
		return memcmp(&((const struct sockaddr_in *)(const void *)sa)->sin_addr, bin,
		    4) == 0;
	return memcmp(&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, bin, 16) == 0;
}

/* The prefix length of a netmask. */
static int
mask_len(const struct sockaddr *sa)
{
	const uint8_t *p;
	size_t len;
	int n = 0;

	if (sa == NULL)
		return -1;
	if (sa->sa_family == AF_INET) {
		p = (const uint8_t *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr;
		len = 4;
	} else {
		p = (const uint8_t *)&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
		len = 16;
	}
	for (size_t i = 0; i < len; i++)
		n += __builtin_popcount(p[i]);
	return n;
}

bool
utns_has_addr(const char *name, const char *addr, int prefix, const char *peer)
{
	int family = strchr(addr, ':') != NULL ? AF_INET6 : AF_INET;
	struct ifaddrs *all, *a;
	bool found = false;

	if (getifaddrs(&all) == -1)
		return false;
	for (a = all; a != NULL && !found; a = a->ifa_next)
		found = strcmp(a->ifa_name, name) == 0 && sa_is(a->ifa_addr, family, addr) &&
		    mask_len(a->ifa_netmask) == prefix && (peer != NULL ?
		    sa_is(a->ifa_dstaddr, family, peer) :
		    a->ifa_dstaddr == NULL || sa_is(a->ifa_dstaddr, family, addr));
	freeifaddrs(all);
	return found;
}

int
utns_inet6_flags(const char *name, const char *addr, int *prefix)
{
	char hex[33], dev[IFNAMSIZ + 1], want[33];
	unsigned int idx, plen, scope, flags;
	uint8_t bin[16];
	int found = -1;
	FILE *f;

	if (inet_pton(AF_INET6, addr, bin) != 1 || (f = fopen("/proc/net/if_inet6", "r")) == NULL)
		return -1;
	for (int i = 0; i < 16; i++)
		snprintf(want + 2 * i, 3, "%02x", bin[i]);
	while (found == -1 && fscanf(f, "%32s %x %x %x %x %16s", hex, &idx, &plen, &scope, &flags,
	    dev) == 6) {
		if (strcmp(hex, want) == 0 && strcmp(dev, name) == 0) {
			*prefix = (int)plen;
			found = (int)flags;
		}
	}
	fclose(f);
	return found;
}

int
utns_become_nobody(void)
{
	struct passwd *pw = getpwnam("nobody");

	if (pw == NULL || setgroups(1, &pw->pw_gid) == -1 ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) == -1 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1)
		return -1;
	return 0;
}
