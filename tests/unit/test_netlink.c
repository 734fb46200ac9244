/*
 * test_netlink.c - every netlink.c request against the kernel, each case in a child with its
 * own network namespace (needs root; skipped without), on a TUN device it creates: MTU,
 * transmit queue, IPv4 and IPv6 addresses with and without a peer, link up and down, link
 * deletion, routes (IPv4, IPv6, with their MTU; refused when the table has them), bridge
 * ports (a TAP device); the refusals with the kernel's errno text and extended ack, requests
 * refused before they are sent, and a device that does not exist. The results are read back
 * from the kernel (ioctl, getifaddrs, /proc/net/if_inet6, ip(8)).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_addr.h>
#include <net/if.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "netlink.h"
#include "tun.h"
#include "utns.h"

#define DEV "vt-nl"

/* A new TUN device DEV (down, mtu 1500); its fd, -1 with a note. */
static int
make_dev(struct utns_report *r)
{
	char err[256];
	int fd = tun_open(DEV, VT_TUN, false, false, err, sizeof(err));

	if (fd == -1)
		utns_note(r, "set-up: %s", err);
	return fd;
}

/* A request's result rc must be -1 with err exactly want. */
static void
refused_at(struct utns_report *r, int rc, const char *err, const char *want, int line)
{
	if (rc != -1)
		utns_note(r, "%s:%d: %d, want -1 with \"%s\"", __FILE__, line, rc, want);
	else
		utns_streq(r, err, want, __FILE__, line);
}
#define REFUSED(r, rc, err, want) refused_at((r), (rc), (err), (want), __LINE__)

/* The same, but err may go on with a note from the kernel: want " (...)" (newer kernels
 * explain more refusals in their extended ack). */
static void
refused_note_at(struct utns_report *r, int rc, const char *err, const char *want, int line)
{
	size_t n = strlen(want), len = strlen(err);

	if (rc == -1 && strncmp(err, want, n) == 0 && len > n &&
	    strncmp(err + n, " (", 2) == 0 && err[len - 1] == ')')
		return;
	refused_at(r, rc, err, want, line);
}
#define REFUSED_NOTE(r, rc, err, want) refused_note_at((r), (rc), (err), (want), __LINE__)

/* A request's result rc must be 0: notes err otherwise. */
static void
done_at(struct utns_report *r, int rc, const char *err, int line)
{
	if (rc != 0)
		utns_note(r, "%s:%d: %d: %s", __FILE__, line, rc, err);
}
#define DONE(r, rc, err) done_at((r), (rc), (err), __LINE__)

static int
mtu_child(struct utns_report *r, const void *arg)
{
	char err[256];
	int fd;

	(void)arg;
	if ((fd = make_dev(r)) == -1)
		return 2;
	DONE(r, netlink_set_mtu(DEV, 1400, err, sizeof(err)), err);
	UTNS_CHECK(r, utns_mtu(DEV) == 1400);
	DONE(r, netlink_set_mtu(DEV, 9000, err, sizeof(err)), err);
	UTNS_CHECK(r, utns_mtu(DEV) == 9000);
	/* Refused before asking the kernel. */
	REFUSED(r, netlink_set_mtu(DEV, 0, err, sizeof(err)), err,
	    "set mtu 0 on " DEV ": Invalid argument");
	REFUSED(r, netlink_set_mtu(DEV, -1, err, sizeof(err)), err,
	    "set mtu -1 on " DEV ": Invalid argument");
	/* Refused by the kernel, which says why in its extended ack. */
	REFUSED(r, netlink_set_mtu(DEV, 70000, err, sizeof(err)), err,
	    "set mtu 70000 on " DEV ": Invalid argument (mtu greater than device maximum)");
	REFUSED(r, netlink_set_mtu(DEV, 67, err, sizeof(err)), err,
	    "set mtu 67 on " DEV ": Invalid argument (mtu less than device minimum)");
	UTNS_CHECK(r, utns_mtu(DEV) == 9000);
	/* The limits themselves are taken (a TUN device: 68 to 65535). */
	DONE(r, netlink_set_mtu(DEV, 65535, err, sizeof(err)), err);
	DONE(r, netlink_set_mtu(DEV, 68, err, sizeof(err)), err);
	UTNS_CHECK(r, utns_mtu(DEV) == 68);
	close(fd);
	return 0;
}

static int
txqlen_child(struct utns_report *r, const void *arg)
{
	char err[256];
	int fd;

	(void)arg;
	if ((fd = make_dev(r)) == -1)
		return 2;
	UTNS_CHECK(r, utns_txqlen(DEV) == 500);
	DONE(r, netlink_set_txqlen(DEV, 1000, err, sizeof(err)), err);
	UTNS_CHECK(r, utns_txqlen(DEV) == 1000);
	DONE(r, netlink_set_txqlen(DEV, 1, err, sizeof(err)), err);
	UTNS_CHECK(r, utns_txqlen(DEV) == 1);
	REFUSED(r, netlink_set_txqlen(DEV, 0, err, sizeof(err)), err,
	    "set txqueuelen 0 on " DEV ": Invalid argument");
	REFUSED(r, netlink_set_txqlen(DEV, -5, err, sizeof(err)), err,
	    "set txqueuelen -5 on " DEV ": Invalid argument");
	UTNS_CHECK(r, utns_txqlen(DEV) == 1);
	close(fd);
	return 0;
}

/* IPv6 address a on DEV: present with prefix, IFA_F_NODAD, not tentative. */
static void
expect_inet6(struct utns_report *r, const char *a, int prefix)
{
	int flags, plen = -1;

	flags = utns_inet6_flags(DEV, a, &plen);
	if (flags == -1 || plen != prefix || !(flags & IFA_F_NODAD) || (flags & IFA_F_TENTATIVE))
		utns_note(r, "%s on %s: flags %#x, prefix %d; want %d, nodad, not tentative", a,
		    DEV, (unsigned)flags, plen, prefix);
}

/* IPv4 and IPv6, with and without a peer; a second time each is refused. */
static int
addr_child(struct utns_report *r, const void *arg)
{
	struct vt_addr v4 = utns_addr("10.1.0.1", 24), v4p = utns_addr("10.2.0.1", 32),
	    v4peer = utns_addr("10.2.0.2", 0), v6 = utns_addr("fd00:1::1", 64),
	    v6p = utns_addr("fd00:2::1", 128), v6peer = utns_addr("fd00:2::2", 0);
	char err[256];
	int fd;

	(void)arg;
	if ((fd = make_dev(r)) == -1)
		return 2;
	DONE(r, netlink_add_addr(DEV, &v4, NULL, err, sizeof(err)), err);
	DONE(r, netlink_add_addr(DEV, &v4p, &v4peer, err, sizeof(err)), err);
	DONE(r, netlink_add_addr(DEV, &v6, NULL, err, sizeof(err)), err);
	DONE(r, netlink_add_addr(DEV, &v6p, &v6peer, err, sizeof(err)), err);
	DONE(r, netlink_set_up(DEV, true, err, sizeof(err)), err);
	UTNS_CHECK(r, utns_has_addr(DEV, "10.1.0.1", 24, NULL));
	UTNS_CHECK(r, utns_has_addr(DEV, "10.2.0.1", 32, "10.2.0.2"));
	UTNS_CHECK(r, utns_has_addr(DEV, "fd00:1::1", 64, NULL));
	UTNS_CHECK(r, utns_has_addr(DEV, "fd00:2::1", 128, "fd00:2::2"));
	/* Usable at once: no duplicate address detection, never tentative. */
	expect_inet6(r, "fd00:1::1", 64);
	expect_inet6(r, "fd00:2::1", 128);

	REFUSED_NOTE(r, netlink_add_addr(DEV, &v4, NULL, err, sizeof(err)), err,
	    "add address 10.1.0.1/24 on " DEV ": File exists");
	REFUSED_NOTE(r, netlink_add_addr(DEV, &v4p, &v4peer, err, sizeof(err)), err,
	    "add address 10.2.0.1 peer 10.2.0.2/32 on " DEV ": File exists");
	REFUSED_NOTE(r, netlink_add_addr(DEV, &v6, NULL, err, sizeof(err)), err,
	    "add address fd00:1::1/64 on " DEV ": File exists");
	REFUSED_NOTE(r, netlink_add_addr(DEV, &v6p, &v6peer, err, sizeof(err)), err,
	    "add address fd00:2::1 peer fd00:2::2/128 on " DEV ": File exists");

	/* Below 1280 the kernel drops IPv6 from the device and then says only EINVAL (why
	 * priv.c checks the MTU of an IPv6 device first). */
	DONE(r, netlink_set_mtu(DEV, 1279, err, sizeof(err)), err);
	UTNS_CHECK(r, !utns_has_addr(DEV, "fd00:1::1", 64, NULL));
	UTNS_CHECK(r, utns_has_addr(DEV, "10.1.0.1", 24, NULL));
	REFUSED_NOTE(r, netlink_add_addr(DEV, &v6, NULL, err, sizeof(err)), err,
	    "add address fd00:1::1/64 on " DEV ": Invalid argument");
	close(fd);
	return 0;
}

/* Requests netlink_add_addr refuses before it looks for the device: no root needed. */
static void
test_addr_invalid(void **state)
{
	struct vt_addr v4 = utns_addr("10.1.0.1", 33), v6 = utns_addr("fd00::1", 129),
	    none = utns_addr("10.1.0.1", 24), peer6 = utns_addr("fd00::2", 0),
	    ok4 = utns_addr("10.1.0.1", 24);
	char err[256];

	(void)state;
	none.family = AF_UNIX;
	assert_int_equal(netlink_add_addr("vt-none", &v4, NULL, err, sizeof(err)), -1);
	assert_string_equal(err, "add address 10.1.0.1/33 on vt-none: invalid address family "
	    "or prefix");
	assert_int_equal(netlink_add_addr("vt-none", &v6, NULL, err, sizeof(err)), -1);
	assert_string_equal(err, "add address fd00::1/129 on vt-none: invalid address family "
	    "or prefix");
	assert_int_equal(netlink_add_addr("vt-none", &none, NULL, err, sizeof(err)), -1);
	assert_string_equal(err, "add address ?/24 on vt-none: invalid address family or prefix");
	assert_int_equal(netlink_add_addr("vt-none", &ok4, &peer6, err, sizeof(err)), -1);
	assert_string_equal(err, "add address 10.1.0.1 peer /24 on vt-none: peer address of "
	    "another family");
}

static int
updown_child(struct utns_report *r, const void *arg)
{
	char err[256];
	int fd;

	(void)arg;
	if ((fd = make_dev(r)) == -1)
		return 2;
	UTNS_CHECK(r, (utns_flags(DEV) & IFF_UP) == 0);
	DONE(r, netlink_set_up(DEV, true, err, sizeof(err)), err);
	UTNS_CHECK(r, (utns_flags(DEV) & IFF_UP) != 0);
	DONE(r, netlink_set_up(DEV, true, err, sizeof(err)), err);
	UTNS_CHECK(r, (utns_flags(DEV) & IFF_UP) != 0);
	DONE(r, netlink_set_up(DEV, false, err, sizeof(err)), err);
	UTNS_CHECK(r, (utns_flags(DEV) & IFF_UP) == 0);
	/* Only IFF_UP changes. */
	UTNS_CHECK(r, (utns_flags(DEV) & (IFF_POINTOPOINT | IFF_NOARP)) ==
	    (IFF_POINTOPOINT | IFF_NOARP));
	close(fd);
	return 0;
}

/* Every request on a device that does not exist says which. */
static int
missing_child(struct utns_report *r, const void *arg)
{
	struct vt_addr v4 = utns_addr("10.1.0.1", 24), peer = utns_addr("10.1.0.2", 0);
	char err[256];

	(void)arg;
	REFUSED(r, netlink_set_mtu("vt-none", 1400, err, sizeof(err)), err,
	    "set mtu 1400 on vt-none: No such device");
	REFUSED(r, netlink_set_txqlen("vt-none", 1000, err, sizeof(err)), err,
	    "set txqueuelen 1000 on vt-none: No such device");
	REFUSED(r, netlink_set_up("vt-none", true, err, sizeof(err)), err,
	    "set link up on vt-none: No such device");
	REFUSED(r, netlink_set_up("vt-none", false, err, sizeof(err)), err,
	    "set link down on vt-none: No such device");
	REFUSED(r, netlink_add_addr("vt-none", &v4, NULL, err, sizeof(err)), err,
	    "add address 10.1.0.1/24 on vt-none: No such device");
	REFUSED(r, netlink_add_addr("vt-none", &v4, &peer, err, sizeof(err)), err,
	    "add address 10.1.0.1 peer 10.1.0.2/24 on vt-none: No such device");
	return 0;
}

/*
 * netlink_del_link deletes the device at idx only while it still has that name: an existing
 * device goes even though we hold its fd; a missing one, or an index that now names another
 * device, is nothing to do (0, err untouched); a device the kernel will not delete is an error.
 */
static int
del_child(struct utns_report *r, const void *arg)
{
	char err[256];
	int fd, idx, lo = (int)if_nametoindex("lo");

	(void)arg;
	if ((fd = make_dev(r)) == -1)
		return 2;
	idx = (int)if_nametoindex(DEV);
	DONE(r, netlink_del_link(idx, DEV, err, sizeof(err)), err);
	UTNS_CHECK(r, if_nametoindex(DEV) == 0);
	close(fd);
	snprintf(err, sizeof(err), "untouched");
	UTNS_CHECK(r, netlink_del_link(idx, DEV, err, sizeof(err)) == 0);
	UTNS_STREQ(r, err, "untouched");

	/* The same index, renamed: not the device we made any more. */
	if ((fd = make_dev(r)) == -1)
		return 2;
	idx = (int)if_nametoindex(DEV);
	if (utns_rename(DEV, "vt-other") == -1) {
		utns_note(r, "set-up: rename: %s", strerror(errno));
		return 2;
	}
	UTNS_CHECK(r, netlink_del_link(idx, DEV, err, sizeof(err)) == 0);
	UTNS_STREQ(r, err, "untouched");
	UTNS_CHECK(r, (int)if_nametoindex("vt-other") == idx);
	/* A name that exists, but at another index. */
	UTNS_CHECK(r, netlink_del_link(lo, "vt-other", err, sizeof(err)) == 0);
	UTNS_CHECK(r, (int)if_nametoindex("vt-other") == idx && (int)if_nametoindex("lo") == lo);
	UTNS_STREQ(r, err, "untouched");
	close(fd);

	/* The loopback device cannot be deleted. */
	REFUSED(r, netlink_del_link(lo, "lo", err, sizeof(err)), err,
	    "delete link lo: Operation not supported");
	UTNS_CHECK(r, (int)if_nametoindex("lo") == lo);
	return 0;
}

/* What `ip ROUTE-ARGS` prints, in out. */
static void
ip_output(const char *args, char *out, size_t len)
{
	char cmd[256];
	FILE *f;
	size_t n = 0;

	snprintf(cmd, sizeof(cmd), "ip %s 2>&1", args);
	out[0] = '\0';
	if ((f = popen(cmd, "r")) == NULL)
		return;
	n = fread(out, 1, len - 1, f);
	out[n] = '\0';
	pclose(f);
}

/*
 * Routes through the device: IPv4 and IPv6, with the route MTU; a prefix the table has already
 * is refused with a message naming it; deleting removes exactly that route, and deleting one
 * that is gone is no error; a device that does not exist and a bad prefix are refused.
 */
static int
route_child(struct utns_report *r, const void *arg)
{
	struct vt_addr a4 = utns_addr("10.7.255.1", 24), a6 = utns_addr("fd07:ff::1", 64),
	    r4 = utns_addr("10.7.0.0", 16), r6 = utns_addr("fd07:1::", 48),
	    def = utns_addr("0.0.0.0", 0), bad = utns_addr("10.7.0.0", 33);
	char err[256], out[2048];
	int fd;

	(void)arg;
	if ((fd = make_dev(r)) == -1)
		return 2;
	DONE(r, netlink_set_mtu(DEV, 1400, err, sizeof(err)), err);
	DONE(r, netlink_add_addr(DEV, &a4, NULL, err, sizeof(err)), err);
	DONE(r, netlink_add_addr(DEV, &a6, NULL, err, sizeof(err)), err);
	DONE(r, netlink_set_up(DEV, true, err, sizeof(err)), err);
	DONE(r, netlink_route(DEV, &r4, 1400, true, err, sizeof(err)), err);
	DONE(r, netlink_route(DEV, &r6, 1400, true, err, sizeof(err)), err);
	ip_output("-4 route show 10.7.0.0/16", out, sizeof(out));
	UTNS_HAS(r, out, "10.7.0.0/16 dev " DEV);
	UTNS_HAS(r, out, "mtu 1400");
	ip_output("-6 route show fd07:1::/48", out, sizeof(out));
	UTNS_HAS(r, out, "fd07:1::/48 dev " DEV);
	UTNS_HAS(r, out, "mtu 1400");
	/* Twice: the table has it. */
	REFUSED(r, netlink_route(DEV, &r4, 1400, true, err, sizeof(err)), err,
	    "route 10.7.0.0/16: the system has a route to that prefix already (ip route show "
	    "10.7.0.0/16): remove it or this route");
	REFUSED(r, netlink_route(DEV, &r6, 1400, true, err, sizeof(err)), err,
	    "route fd07:1::/48: the system has a route to that prefix already (ip route show "
	    "fd07:1::/48): remove it or this route");
	/* A default route through the device is a route like any other. */
	DONE(r, netlink_route(DEV, &def, 0, true, err, sizeof(err)), err);
	ip_output("-4 route show default", out, sizeof(out));
	UTNS_HAS(r, out, "default dev " DEV);
	/* Deleted: gone, and the device's own network stays. */
	DONE(r, netlink_route(DEV, &r4, 0, false, err, sizeof(err)), err);
	DONE(r, netlink_route(DEV, &r6, 0, false, err, sizeof(err)), err);
	DONE(r, netlink_route(DEV, &def, 0, false, err, sizeof(err)), err);
	ip_output("route show", out, sizeof(out));
	UTNS_CHECK(r, strstr(out, "10.7.0.0/16") == NULL && strstr(out, "default") == NULL);
	UTNS_HAS(r, out, "10.7.255.0/24 dev " DEV);
	ip_output("-6 route show", out, sizeof(out));
	UTNS_CHECK(r, strstr(out, "fd07:1::/48") == NULL);
	DONE(r, netlink_route(DEV, &r4, 0, false, err, sizeof(err)), err);
	/* Refusals. */
	REFUSED(r, netlink_route("vt-none", &r4, 1400, true, err, sizeof(err)), err,
	    "add route 10.7.0.0/16 dev vt-none: No such device");
	REFUSED(r, netlink_route(DEV, &bad, 1400, true, err, sizeof(err)), err,
	    "add route 10.7.0.0/33 dev " DEV ": invalid address family or prefix");
	close(fd);
	return 0;
}

/* A bridge port: attached, detached; a bridge that does not exist and an interface that is
 * no bridge are refused, each named. */
static int
master_child(struct utns_report *r, const void *arg)
{
	char err[256], out[2048];
	int fd;

	(void)arg;
	if ((fd = tun_open(DEV, VT_TAP, false, false, err, sizeof(err))) == -1) {
		utns_note(r, "set-up: %s", err);
		return 2;
	}
	ip_output("link add vt-br type bridge", out, sizeof(out));
	DONE(r, netlink_set_master(DEV, "vt-br", err, sizeof(err)), err);
	ip_output("link show master vt-br", out, sizeof(out));
	UTNS_HAS(r, out, DEV);
	DONE(r, netlink_set_master(DEV, NULL, err, sizeof(err)), err);
	ip_output("link show master vt-br", out, sizeof(out));
	UTNS_CHECK(r, strstr(out, DEV) == NULL);
	REFUSED(r, netlink_set_master(DEV, "vt-none", err, sizeof(err)), err,
	    "attach " DEV " to bridge vt-none: no bridge vt-none (create it first: ip link add "
	    "vt-none type bridge)");
	REFUSED(r, netlink_set_master(DEV, "lo", err, sizeof(err)), err,
	    "attach " DEV " to bridge lo: lo is not a bridge");
	REFUSED(r, netlink_set_master("vt-none", "vt-br", err, sizeof(err)), err,
	    "attach vt-none to bridge vt-br: No such device");
	close(fd);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		UTNS_TEST("mtu", mtu_child, NULL),
		UTNS_TEST("txqueuelen", txqlen_child, NULL),
		UTNS_TEST("addresses with and without a peer, twice", addr_child, NULL),
		{ "addresses refused before they are sent", test_addr_invalid, NULL, NULL, NULL },
		UTNS_TEST("link up and down", updown_child, NULL),
		UTNS_TEST("a device that does not exist", missing_child, NULL),
		UTNS_TEST("delete a link", del_child, NULL),
		UTNS_TEST("routes through the device", route_child, NULL),
		UTNS_TEST("a bridge port", master_child, NULL),
	};

	log_init(true, LOG_LVL_WARN);
	return cmocka_run_group_tests_name("netlink", tests, NULL, NULL);
}
