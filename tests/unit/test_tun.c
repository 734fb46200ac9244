/*
 * test_tun.c - tun_open, tun_read, tun_write and tun_clear_persist on real TUN/TAP devices,
 * each case in a child with its own network and mount namespaces (needs root; skipped
 * without): creating and attaching, every refusal and its message (without CAP_NET_ADMIN too),
 * frames through the kernel both ways, frames larger than BUF_MAX_FRAME, a device deleted
 * under its fd, and a missing or wrong /dev/net/tun (a tmpfs over /dev/net).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <poll.h>
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "netlink.h"
#include "tun.h"
#include "utns.h"

#define WAIT_MS 2000

/* Open name, noting a failure with the message; -1 then. */
static int
open_ok(struct utns_report *r, const char *name, enum vt_devtype type, bool must_exist)
{
	char err[256];
	int fd = tun_open(name, type, must_exist, false, err, sizeof(err));

	if (fd == -1)
		utns_note(r, "tun_open %s: %s", name, err);
	return fd;
}

/* tun_open must refuse name with the message want. */
static void
refused(struct utns_report *r, const char *name, enum vt_devtype type, bool must_exist,
    const char *want)
{
	char err[256] = "";
	int fd = tun_open(name, type, must_exist, false, err, sizeof(err));

	if (fd != -1) {
		utns_note(r, "tun_open %s (%s%s): opened, want \"%s\"", name, names_devtype[type],
		    must_exist ? ", must exist" : "", want);
		close(fd);
		return;
	}
	UTNS_STREQ(r, err, want);
}

/* A new device of each type: the right kind, a non-blocking close-on-exec fd, gone with it. */
static int
create_child(struct utns_report *r, const void *arg)
{
	long want, flags;
	int fd;

	(void)arg;
	for (int t = VT_TUN; t <= VT_TAP; t++) {
		want = (t == VT_TAP ? IFF_TAP : IFF_TUN) | IFF_NO_PI;
		if ((fd = open_ok(r, "vt-new", (enum vt_devtype)t, false)) == -1)
			return 1;
		flags = utns_tun_flags("vt-new");
		if (flags != want)
			utns_note(r, "%s: tun_flags %#lx, want %#lx", names_devtype[t], flags,
			    want);
		UTNS_CHECK(r, (fcntl(fd, F_GETFL) & O_NONBLOCK) != 0);
		UTNS_CHECK(r, (fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
		close(fd);
		UTNS_CHECK(r, if_nametoindex("vt-new") == 0);
	}
	/* The longest name the kernel takes, IFNAMSIZ - 1 bytes. */
	fd = open_ok(r, "vt-123456789012", VT_TUN, false);
	UTNS_CHECK(r, fd != -1 && if_nametoindex("vt-123456789012") != 0);
	if (fd != -1)
		close(fd);
	return 0;
}

/* Refused before anything is opened: no root needed. */
static void
test_invalid_names(void **state)
{
	static const char *const bad[] = { "", "vt%d", "%d", "vt-1234567890123", "vt/0", "vt 0",
	    "vt\t0", "vt\n0" };
	char err[256], want[64];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		for (int must_exist = 0; must_exist <= 1; must_exist++) {
			assert_int_equal(tun_open(bad[i], VT_TUN, must_exist, false, err, sizeof(err)),
			    -1);
			snprintf(want, sizeof(want), "device \"%s\": invalid interface name",
			    bad[i]);
			assert_string_equal(err, want);
		}
	}
}

/* A new device must be new: a name held by any device, of either type or none, attached or
 * not, is refused. */
static int
taken_child(struct utns_report *r, const void *arg)
{
	static const char msg[] = "device vt-held: name is already in use by another device";
	struct ifreq ifr;
	int fd;

	(void)arg;
	if ((fd = open_ok(r, "vt-held", VT_TUN, false)) == -1)
		return 1;
	refused(r, "vt-held", VT_TUN, false, msg);
	refused(r, "vt-held", VT_TAP, false, msg);
	refused(r, "lo", VT_TAP, false, "device lo: name is already in use by another device");
	/* Nor may we take over a persistent device nobody holds (IFF_TUN_EXCL). */
	if (utns_persistent("vt-free", IFF_TUN, (uid_t)-1) == -1) {
		utns_note(r, "set-up: persistent device: %s", strerror(errno));
		return 2;
	}
	refused(r, "vt-free", VT_TUN, false, "device vt-free: name is already in use by another "
	    "device");
	UTNS_CHECK(r, utns_tun_flags("vt-free") == (IFF_TUN | IFF_NO_PI | IFF_PERSIST));
	/* The device in use is not disturbed: still of its type, still attached to fd. */
	UTNS_CHECK(r, utns_tun_flags("vt-held") == (IFF_TUN | IFF_NO_PI));
	memset(&ifr, 0, sizeof(ifr));
	UTNS_CHECK(r, ioctl(fd, TUNGETIFF, &ifr) == 0 && strcmp(ifr.ifr_name, "vt-held") == 0);
	close(fd);
	UTNS_CHECK(r, if_nametoindex("vt-held") == 0);
	return 0;
}

/* Attaching (persist): a missing device, one of the other type, a non-tun, a multi_queue one. */
static int
attach_refused_child(struct utns_report *r, const void *arg)
{
	(void)arg;
	refused(r, "vt-none", VT_TAP, true, "device vt-none: does not exist (persist is set: "
	    "create it first with `vtund-ng device add -a`, or `ip tuntap add dev vt-none mode "
	    "tap user USER`)");
	if (utns_persistent("vt-tap", IFF_TAP, (uid_t)-1) == -1 ||
	    utns_persistent("vt-tun", IFF_TUN, (uid_t)-1) == -1 ||
	    utns_persistent("vt-mq", IFF_TUN | IFF_MULTI_QUEUE, (uid_t)-1) == -1) {
		utns_note(r, "set-up: persistent devices: %s", strerror(errno));
		return 2;
	}
	refused(r, "vt-tap", VT_TUN, true, "device vt-tap: name is already in use by another "
	    "device (a tap device, but a tun device is configured)");
	refused(r, "vt-tun", VT_TAP, true, "device vt-tun: name is already in use by another "
	    "device (a tun device, but a tap device is configured)");
	refused(r, "lo", VT_TUN, true, "device lo: name is already in use by another device "
	    "(not a tun/tap device)");
	refused(r, "vt-mq", VT_TUN, true, "device vt-mq: was created as multi_queue, which is "
	    "not supported");
	/* Nothing was changed or removed by the refusals. */
	UTNS_CHECK(r, utns_tun_flags("vt-tap") == (IFF_TAP | IFF_NO_PI | IFF_PERSIST));
	UTNS_CHECK(r, utns_tun_flags("vt-mq") ==
	    (IFF_TUN | IFF_NO_PI | IFF_MULTI_QUEUE | IFF_PERSIST));
	return 0;
}

/*
 * A persistent device (ip tuntap add): attached, busy while attached, still there after its fd
 * closes; tun_clear_persist makes it go with its last fd.
 */
static int
persistent_child(struct utns_report *r, const void *arg)
{
	int fd, type = *(const int *)arg;
	long kind = type == VT_TAP ? IFF_TAP : IFF_TUN;

	if (utns_persistent("vt-per", (int)kind, (uid_t)-1) == -1) {
		utns_note(r, "set-up: persistent device: %s", strerror(errno));
		return 2;
	}
	if ((fd = open_ok(r, "vt-per", type, true)) == -1)
		return 1;
	refused(r, "vt-per", type, true, "device vt-per: already attached by another process");
	refused(r, "vt-per", type, false, "device vt-per: name is already in use by another "
	    "device");
	close(fd);
	UTNS_CHECK(r, if_nametoindex("vt-per") != 0);
	if ((fd = open_ok(r, "vt-per", type, true)) == -1)
		return 1;
	UTNS_CHECK(r, tun_clear_persist(fd) == 0);
	UTNS_CHECK(r, utns_tun_flags("vt-per") == (kind | IFF_NO_PI));
	UTNS_CHECK(r, if_nametoindex("vt-per") != 0);
	close(fd);
	UTNS_CHECK(r, if_nametoindex("vt-per") == 0);
	return 0;
}

/* An engine holding our fd may have set persist: tun_clear_persist undoes it. */
static int
clear_persist_child(struct utns_report *r, const void *arg)
{
	int fd, p[2];

	(void)arg;
	if ((fd = open_ok(r, "vt-cp", VT_TUN, false)) == -1)
		return 1;
	UTNS_CHECK(r, ioctl(fd, TUNSETPERSIST, 1) == 0);
	UTNS_CHECK(r, utns_tun_flags("vt-cp") == (IFF_TUN | IFF_NO_PI | IFF_PERSIST));
	UTNS_CHECK(r, tun_clear_persist(fd) == 0);
	UTNS_CHECK(r, tun_clear_persist(fd) == 0);
	close(fd);
	UTNS_CHECK(r, if_nametoindex("vt-cp") == 0);
	/* Not a device fd. */
	UTNS_CHECK(r, tun_clear_persist(-1) == -1 && errno == EBADF);
	if (pipe(p) == 0) {
		UTNS_CHECK(r, tun_clear_persist(p[0]) == -1);
		close(p[0]);
		close(p[1]);
	}
	return 0;
}

/* Over /dev/net, in the child's mount namespace: an empty tmpfs, to play with the node. */
static int
private_dev_net(struct utns_report *r)
{
	if (mount("tmpfs", "/dev/net", "tmpfs", MS_NOSUID, "mode=0755") == -1) {
		utns_note(r, "set-up: tmpfs on /dev/net: %s", strerror(errno));
		return -1;
	}
	umask(0);
	return 0;
}

/* /dev/net/tun missing, a directory, another device, or not ours to open. */
static int
node_child(struct utns_report *r, const void *arg)
{
	int fd;

	(void)arg;
	if (private_dev_net(r) == -1)
		return 2;
	refused(r, "vt-x", VT_TUN, false, "/dev/net/tun: No such file or directory (is the tun "
	    "module loaded?)");
	UTNS_CHECK(r, mkdir("/dev/net/tun", 0755) == 0);
	refused(r, "vt-x", VT_TUN, false, "/dev/net/tun: Is a directory");
	UTNS_CHECK(r, rmdir("/dev/net/tun") == 0);
	/* /dev/null in its place: it opens, but knows no TUNSETIFF. */
	UTNS_CHECK(r, mknod("/dev/net/tun", S_IFCHR | 0666, makedev(1, 3)) == 0);
	refused(r, "vt-x", VT_TUN, false, "device vt-x: Inappropriate ioctl for device");
	UTNS_CHECK(r, unlink("/dev/net/tun") == 0);
	/* The real node, root's alone: root opens it, nobody may not. */
	UTNS_CHECK(r, mknod("/dev/net/tun", S_IFCHR | 0600, makedev(10, 200)) == 0);
	if ((fd = open_ok(r, "vt-x", VT_TUN, false)) != -1)
		close(fd);
	if (utns_become_nobody() == -1) {
		utns_note(r, "set-up: become nobody: %s", strerror(errno));
		return 2;
	}
	refused(r, "vt-x", VT_TUN, false, "/dev/net/tun: Permission denied (the node must be "
	    "readable and writable by this user; mode 0666 is the usual)");
	return 0;
}

/*
 * Without CAP_NET_ADMIN (as nobody, the node open to all): no new device, no attaching to a
 * persistent device owned by root, but attaching to one owned by this user works.
 */
static int
unprivileged_child(struct utns_report *r, const void *arg)
{
	static const char denied[] = ": permission denied (need CAP_NET_ADMIN, or a persistent "
	    "device owned by this user)";
	struct passwd *pw = getpwnam("nobody");
	char want[128];
	int fd;

	(void)arg;
	if (pw == NULL || private_dev_net(r) == -1)
		return 2;
	if (mknod("/dev/net/tun", S_IFCHR | 0666, makedev(10, 200)) == -1 ||
	    utns_persistent("vt-root", IFF_TUN, 0) == -1 ||
	    utns_persistent("vt-mine", IFF_TUN, pw->pw_uid) == -1 || utns_become_nobody() == -1) {
		utns_note(r, "set-up: node, devices, become nobody: %s", strerror(errno));
		return 2;
	}
	snprintf(want, sizeof(want), "device vt-root%s", denied);
	refused(r, "vt-root", VT_TUN, true, want);
	snprintf(want, sizeof(want), "device vt-new%s", denied);
	refused(r, "vt-new", VT_TUN, false, want);
	UTNS_CHECK(r, if_nametoindex("vt-new") == 0);
	if ((fd = open_ok(r, "vt-mine", VT_TUN, true)) != -1)
		close(fd);
	return 0;
}

/* Internet checksum of n bytes (RFC 1071). */
static uint16_t
csum(const uint8_t *p, size_t n)
{
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static void
put16(uint8_t *p, unsigned int v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static unsigned int
get16(const uint8_t *p)
{
	return (unsigned int)p[0] << 8 | p[1];
}

/* The device's address and the far end's, which the test plays by writing to the device. */
static const uint8_t dev_ip[4] = { 10, 77, 0, 1 }, far_ip[4] = { 10, 77, 0, 2 };
#define PING_ID 0x7654

/* An IPv4 ICMP echo request of total bytes (28 or more) from far_ip to dev_ip. */
static void
echo_request(uint8_t *p, size_t total, uint16_t seq)
{
	memset(p, 0, 28);
	p[0] = 0x45;
	put16(p + 2, (unsigned int)total);
	put16(p + 4, seq);
	p[6] = 0x40; /* don't fragment */
	p[8] = 64;
	p[9] = 1; /* ICMP */
	memcpy(p + 12, far_ip, 4);
	memcpy(p + 16, dev_ip, 4);
	put16(p + 10, csum(p, 20));
	p[20] = 8; /* echo request */
	put16(p + 24, PING_ID);
	put16(p + 26, seq);
	for (size_t i = 28; i < total; i++)
		p[i] = (uint8_t)(i * 7);
	put16(p + 22, csum(p + 20, total - 20));
}

/* Wait until fd is readable; false after WAIT_MS. */
static bool
readable(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	return poll(&pfd, 1, WAIT_MS) == 1;
}

/*
 * Read frames from fd until the kernel's echo reply to seq, passing over any other frame (the
 * kernel's own IPv6 traffic): its length; tun_read's -1 with errno; -2 if nothing came.
 */
static ssize_t
echo_reply(int fd, struct buf *b, uint16_t seq)
{
	const uint8_t *p;
	ssize_t n;

	for (;;) {
		if (!readable(fd))
			return -2;
		if ((n = tun_read(fd, b)) == -1)
			return -1;
		p = buf_data(b);
		if (n >= 28 && p[0] == 0x45 && p[9] == 1 && p[20] == 0 &&
		    get16(p + 24) == PING_ID && get16(p + 26) == seq)
			return n;
	}
}

/* Give name the address addr/24, mtu (0: leave it) and set it up, through netlink.c. */
static int
configure(struct utns_report *r, const char *name, const char *addr, int mtu)
{
	struct vt_addr a = utns_addr(addr, 24);
	char err[256];

	if ((mtu > 0 && netlink_set_mtu(name, mtu, err, sizeof(err)) == -1) ||
	    netlink_add_addr(name, &a, NULL, err, sizeof(err)) == -1 ||
	    netlink_set_up(name, true, err, sizeof(err)) == -1) {
		utns_note(r, "set-up: %s", err);
		return -1;
	}
	return 0;
}

static struct buf frame;

/*
 * A TUN device: nothing to read at first; the kernel answers an echo request written to it
 * with a reply read from it, at the standard headroom; a frame that is not IP is a drop.
 */
static int
tun_frames_child(struct utns_report *r, const void *arg)
{
	uint8_t req[64], junk[20] = { 0 };
	const uint8_t *p;
	int fd;

	(void)arg;
	if ((fd = open_ok(r, "vt-rw", VT_TUN, false)) == -1)
		return 1;
	UTNS_CHECK(r, tun_read(fd, &frame) == 0);
	if (configure(r, "vt-rw", "10.77.0.1", 0) == -1)
		return 2;
	echo_request(req, sizeof(req), 1);
	UTNS_CHECK(r, tun_write(fd, req, sizeof(req)) == 0);
	if (!UTNS_CHECK(r, echo_reply(fd, &frame, 1) == (ssize_t)sizeof(req)))
		return 1;
	p = buf_data(&frame);
	UTNS_CHECK(r, frame.off == BUF_HEADROOM && frame.len == sizeof(req));
	UTNS_CHECK(r, memcmp(p + 12, dev_ip, 4) == 0 && memcmp(p + 16, far_ip, 4) == 0);
	UTNS_CHECK(r, csum(p, 20) == 0 && csum(p + 20, sizeof(req) - 20) == 0);
	UTNS_CHECK(r, memcmp(p + 28, req + 28, sizeof(req) - 28) == 0);
	/* Neither IPv4 nor IPv6: the kernel refuses this frame alone (EINVAL), a drop. */
	UTNS_CHECK(r, tun_write(fd, junk, sizeof(junk)) == 1);
	UTNS_CHECK(r, tun_write(-1, req, sizeof(req)) == -1 && errno == EBADF);
	UTNS_CHECK(r, tun_read(-1, &frame) == -1 && errno == EBADF);
	close(fd);
	return 0;
}

/* A TAP device: the kernel answers an ARP request for its address written to it. */
static int
tap_frames_child(struct utns_report *r, const void *arg)
{
	static const uint8_t mac[6] = { 0x02, 0, 0, 0, 0, 0x02 };
	uint8_t req[42] = { 0 };
	const uint8_t *p;
	bool answered = false;
	ssize_t n;
	int fd;

	(void)arg;
	if ((fd = open_ok(r, "vt-rw", VT_TAP, false)) == -1)
		return 1;
	if (configure(r, "vt-rw", "10.77.0.1", 0) == -1)
		return 2;
	memset(req, 0xff, 6);
	memcpy(req + 6, mac, 6);
	put16(req + 12, 0x0806);
	put16(req + 14, 1);      /* Ethernet */
	put16(req + 16, 0x0800); /* IPv4 */
	req[18] = 6;
	req[19] = 4;
	put16(req + 20, 1); /* request */
	memcpy(req + 22, mac, 6);
	memcpy(req + 28, far_ip, 4);
	memcpy(req + 38, dev_ip, 4);
	UTNS_CHECK(r, tun_write(fd, req, sizeof(req)) == 0);
	while (!answered && readable(fd)) {
		if ((n = tun_read(fd, &frame)) < 42)
			continue;
		p = buf_data(&frame);
		if (get16(p + 12) != 0x0806 || get16(p + 20) != 2)
			continue;
		answered = true;
		UTNS_CHECK(r, memcmp(p, mac, 6) == 0 && memcmp(p + 6, p + 22, 6) == 0);
		UTNS_CHECK(r, memcmp(p + 28, dev_ip, 4) == 0);
		UTNS_CHECK(r, memcmp(p + 32, mac, 6) == 0 && memcmp(p + 38, far_ip, 4) == 0);
	}
	UTNS_CHECK(r, answered);
	/* Shorter than an Ethernet header: refused alone, a drop. */
	UTNS_CHECK(r, tun_write(fd, req, 10) == 1);
	close(fd);
	return 0;
}

/*
 * The MTU raised behind our back: a frame of BUF_MAX_FRAME is read, one byte more is EMSGSIZE,
 * one beyond what the buffer can hold at all too; the frames after them read normally.
 */
static int
oversize_child(struct utns_report *r, const void *arg)
{
	static const struct {
		size_t len;
		bool fits;
	} cases[] = {
		{ BUF_MAX_FRAME, true }, { BUF_MAX_FRAME + 1, false }, { 9300, false },
		{ 100, true }, { 9350, false }, { BUF_MAX_FRAME, true },
	};
	static uint8_t req[9400];
	ssize_t n;
	int fd;

	(void)arg;
	if ((fd = open_ok(r, "vt-big", VT_TUN, false)) == -1)
		return 1;
	if (configure(r, "vt-big", "10.77.0.1", 9400) == -1)
		return 2;
	for (uint16_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		echo_request(req, cases[i].len, i);
		UTNS_CHECK(r, tun_write(fd, req, cases[i].len) == 0);
		n = echo_reply(fd, &frame, i);
		if (cases[i].fits && n != (ssize_t)cases[i].len)
			utns_note(r, "a reply of %zu bytes: tun_read %zd", cases[i].len, n);
		if (!cases[i].fits && (n != -1 || errno != EMSGSIZE || frame.len != 0))
			utns_note(r, "a reply of %zu bytes: tun_read %zd (%s), len %zu, want -1 "
			    "(EMSGSIZE)", cases[i].len, n, strerror(errno), frame.len);
	}
	close(fd);
	return 0;
}

/* The device deleted while we hold its fd: reading and writing fail (-1), not a drop. */
static int
deleted_child(struct utns_report *r, const void *arg)
{
	uint8_t req[64];
	char err[256];
	int fd, idx;

	(void)arg;
	if ((fd = open_ok(r, "vt-gone", VT_TUN, false)) == -1)
		return 1;
	idx = (int)if_nametoindex("vt-gone");
	if (netlink_del_link(idx, "vt-gone", err, sizeof(err)) == -1) {
		utns_note(r, "set-up: %s", err);
		return 2;
	}
	UTNS_CHECK(r, if_nametoindex("vt-gone") == 0);
	echo_request(req, sizeof(req), 1);
	UTNS_CHECK(r, tun_write(fd, req, sizeof(req)) == -1 && errno == EBADFD);
	UTNS_CHECK(r, tun_read(fd, &frame) == -1 && errno == EBADFD);
	close(fd);
	return 0;
}

int
main(void)
{
	static const int tun = VT_TUN, tap = VT_TAP;
	const struct CMUnitTest tests[] = {
		UTNS_TEST("create tun and tap", create_child, NULL),
		{ "invalid names", test_invalid_names, NULL, NULL, NULL },
		UTNS_TEST("a taken name", taken_child, NULL),
		UTNS_TEST("attach: missing, other type, not tun, multi_queue", attach_refused_child,
		    NULL),
		UTNS_TEST("attach a persistent tun", persistent_child, &tun),
		UTNS_TEST("attach a persistent tap", persistent_child, &tap),
		UTNS_TEST("clear persist", clear_persist_child, NULL),
		UTNS_TEST("/dev/net/tun missing, a directory, another node, root's only",
		    node_child, NULL),
		UTNS_TEST("without CAP_NET_ADMIN", unprivileged_child, NULL),
		UTNS_TEST("tun frames in and out", tun_frames_child, NULL),
		UTNS_TEST("tap frames in and out", tap_frames_child, NULL),
		UTNS_TEST("frames larger than BUF_MAX_FRAME", oversize_child, NULL),
		UTNS_TEST("device deleted under its fd", deleted_child, NULL),
	};

	log_init(true, LOG_LVL_WARN);
	return cmocka_run_group_tests_name("tun", tests, NULL, NULL);
}
