/*
 * test_priv_device.c - priv_device_up and priv_device_down on real devices, each case in a
 * child with its own network namespace (needs root; skipped without): created TUN and TAP
 * devices configured as the peer says, persistent ones left as the administrator made them, up
 * and down hooks with their arguments, environment and view of the device; every failure of
 * the way up undoes the device; the way down deletes the device we made and nothing else. And
 * priv_lookup_user.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "netlink.h"
#include "priv.h"
#include "tun.h"
#include "utns.h"

/* Scratch directory for what the hooks write: made by main, removed by the group teardown. */
static char dir[] = "/tmp/vt-test-priv-device.XXXXXX";

/*
 * A hook that writes to $0 its expanded arguments, the VTUND_ environment, and the device as
 * it sees it (link up or not, mtu, txqueuelen).
 */
static const char probe[] = "{ echo \"$*\"; env | grep ^VTUND_ | sort; "
    "echo up=$(( $(cat /sys/class/net/$1/flags) & 1 )) mtu=$(cat /sys/class/net/$1/mtu) "
    "txqueuelen=$(cat /sys/class/net/$1/tx_queue_len); } > \"$0\"";

/* Append a command (argv, NULL-terminated) to h. A hook without commands gets one of the
 * test's arrays (up to four hooks at a time). */
static void
add_cmd(struct vt_hook *h, ...)
{
	static struct vt_cmd store[4][CONFIG_MAX_HOOKS];
	static int next;
	struct vt_cmd *c;
	va_list ap;
	char *a;

	if (h->cmds == NULL) {
		h->cmds = store[next++ % 4];
		memset(h->cmds, 0, sizeof(store[0]));
	}
	c = &h->cmds[h->ncmds++];
	va_start(ap, h);
	while ((a = va_arg(ap, char *)) != NULL)
		c->argv[c->argc++] = a;
	va_end(ap);
	c->argv[c->argc] = NULL;
}

/* Where the probe of device dev writes on the way up or down. */
static void
probe_path(char *path, size_t len, const char *dev, const char *way)
{
	snprintf(path, len, "%s/%s.%s", dir, dev, way);
}

/* Peer alpha on device dev: mtu 1400, no addresses; paths to hold the probes' outputs. */
static void
peer_cfg(struct vt_peer *p, const char *dev, enum vt_devtype type, char up[256],
    char down[256])
{
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "alpha");
	snprintf(p->device, sizeof(p->device), "%s", dev);
	p->type = type;
	p->mtu = 1400;
	if (up != NULL) {
		probe_path(up, 256, dev, "up");
		add_cmd(&p->up, "/bin/sh", "-c", probe, up, "%d", "%p", "%r", "%a", "%P", "%m",
		    "100%%", (char *)NULL);
	}
	if (down != NULL) {
		probe_path(down, 256, dev, "down");
		add_cmd(&p->down, "/bin/sh", "-c", probe, down, "%d", "%p", "%r", "%a", "%P",
		    "%m", "100%%", (char *)NULL);
	}
}

static void
add_addr(struct vt_peer *p, const char *a, int prefix)
{
	p->addrs[p->naddrs++] = utns_addr(a, prefix);
}

static void
add_peer_addr(struct vt_peer *p, const char *a)
{
	p->peer_addrs[p->npeer_addrs++] = utns_addr(a, 0);
}

/* The whole of a small file, "" if there is none. */
static const char *
slurp(const char *path)
{
	static char buf[2048];
	FILE *f = fopen(path, "r");
	size_t n = 0;

	if (f != NULL) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	return buf;
}

static bool
exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* priv_device_up must work; the fd, or -1 with a note. */
static int
up_ok(struct utns_report *r, const struct vt_peer *p, const char *role, int *ifindex)
{
	char err[512];
	int fd = priv_device_up(p, role, ifindex, err, sizeof(err));

	if (fd == -1)
		utns_note(r, "priv_device_up %s: %s", p->device, err);
	return fd;
}

struct created {
	enum vt_devtype type;
	const char *role;
};

/*
 * A device we create: MTU, txqueuelen 1000, every address (on TUN with the first peer address
 * of its family), link up, all before the up hook runs; down runs the down hook while the
 * device is still there, then deletes it.
 */
static int
created_child(struct utns_report *r, const void *arg)
{
	const struct created *c = arg;
	bool tun = c->type == VT_TUN;
	const char *dev = tun ? "vt-ctun" : "vt-ctap";
	char up[256], down[256], want[1024];
	struct vt_peer p;
	int fd, ifindex = -1;

	peer_cfg(&p, dev, c->type, up, down);
	add_addr(&p, "10.5.0.1", 24);
	add_addr(&p, "fd00:5::1", 64);
	add_addr(&p, "10.6.0.1", 24);
	add_peer_addr(&p, "fd00:5::2");
	add_peer_addr(&p, "10.5.0.2");
	if ((fd = up_ok(r, &p, c->role, &ifindex)) == -1)
		return 1;
	UTNS_CHECK(r, ifindex > 0 && ifindex == (int)if_nametoindex(dev));
	UTNS_CHECK(r, utns_tun_flags(dev) == ((tun ? IFF_TUN : IFF_TAP) | IFF_NO_PI | IFF_VNET_HDR));
	UTNS_CHECK(r, utns_mtu(dev) == 1400);
	UTNS_CHECK(r, utns_txqlen(dev) == 1000);
	UTNS_CHECK(r, (utns_flags(dev) & IFF_UP) != 0);
	UTNS_CHECK(r, utns_has_addr(dev, "10.5.0.1", 24, tun ? "10.5.0.2" : NULL));
	UTNS_CHECK(r, utns_has_addr(dev, "fd00:5::1", 64, tun ? "fd00:5::2" : NULL));
	UTNS_CHECK(r, utns_has_addr(dev, "10.6.0.1", 24, tun ? "10.5.0.2" : NULL));
	/* %a and %P: the first address and the first peer address, whatever their family. */
	snprintf(want, sizeof(want), "%s alpha %s 10.5.0.1 fd00:5::2 1400 100%%\n"
	    "VTUND_DEVICE=%s\nVTUND_ENDPOINT=\nVTUND_LOCAL=10.5.0.1\nVTUND_MTU=1400\n"
	    "VTUND_PEER=alpha\n"
	    "VTUND_PEER_ADDRESS=fd00:5::2\nVTUND_ROLE=%s\nVTUND_TYPE=%s\n"
	    "up=1 mtu=1400 txqueuelen=1000\n", dev, c->role, dev, c->role,
	    names_devtype[c->type]);
	UTNS_STREQ(r, slurp(up), want);
	UTNS_CHECK(r, !exists(down));

	priv_device_down(&p, c->role, fd, ifindex);
	UTNS_STREQ(r, slurp(down), want);
	UTNS_CHECK(r, if_nametoindex(dev) == 0);
	return 0;
}

/* A persistent device is attached as it is: not configured, not deleted; the hooks run. */
static int
persistent_child(struct utns_report *r, const void *arg)
{
	static const char dev[] = "vt-pers";
	char up[256], down[256], err[256], want[1024];
	struct vt_peer p;
	int fd, ifindex = -1;

	(void)arg;
	if (utns_persistent(dev, IFF_TUN, (uid_t)-1) == -1) {
		utns_note(r, "set-up: persistent device: %s", strerror(errno));
		return 2;
	}
	peer_cfg(&p, dev, VT_TUN, up, down);
	p.persist = true;
	add_addr(&p, "10.5.0.1", 24);
	add_peer_addr(&p, "10.5.0.2");
	if ((fd = up_ok(r, &p, "client", &ifindex)) == -1)
		return 1;
	UTNS_CHECK(r, ifindex == 0);
	UTNS_CHECK(r, utns_mtu(dev) == 1500 && utns_txqlen(dev) == 500);
	UTNS_CHECK(r, (utns_flags(dev) & IFF_UP) == 0);
	UTNS_CHECK(r, !utns_has_addr(dev, "10.5.0.1", 24, "10.5.0.2"));
	snprintf(want, sizeof(want), "%s alpha client 10.5.0.1 10.5.0.2 1400 100%%\n"
	    "VTUND_DEVICE=%s\nVTUND_ENDPOINT=\nVTUND_LOCAL=10.5.0.1\nVTUND_MTU=1400\n"
	    "VTUND_PEER=alpha\n"
	    "VTUND_PEER_ADDRESS=10.5.0.2\nVTUND_ROLE=client\nVTUND_TYPE=tun\n"
	    "up=0 mtu=1500 txqueuelen=500\n", dev, dev);
	UTNS_STREQ(r, slurp(up), want);

	priv_device_down(&p, "client", fd, ifindex);
	UTNS_STREQ(r, slurp(down), want);
	UTNS_CHECK(r, if_nametoindex(dev) != 0);
	UTNS_CHECK(r, utns_tun_flags(dev) == (IFF_TUN | IFF_NO_PI | IFF_VNET_HDR | IFF_PERSIST));
	/* Released: it can be attached again. */
	if ((fd = tun_open(dev, VT_TUN, true, false, err, sizeof(err))) == -1)
		utns_note(r, "attach again: %s", err);
	else
		close(fd);
	return 0;
}

/* priv_device_up must fail with err starting with want, ifindex 0, and the device as before. */
static void
up_fails(struct utns_report *r, const struct vt_peer *p, const char *want)
{
	unsigned int before = if_nametoindex(p->device);
	char err[512] = "";
	int fd, ifindex = -1;

	if ((fd = priv_device_up(p, "server", &ifindex, err, sizeof(err))) != -1) {
		utns_note(r, "priv_device_up %s: up, want \"%s\"", p->device, want);
		priv_device_down(p, "server", fd, ifindex);
		return;
	}
	if (strncmp(err, want, strlen(want)) != 0)
		utns_note(r, "priv_device_up %s: \"%s\", want \"%s\"", p->device, err, want);
	UTNS_CHECK(r, ifindex == 0);
	if (if_nametoindex(p->device) != before)
		utns_note(r, "%s: index %u before a failed priv_device_up, %u after", p->device,
		    before, if_nametoindex(p->device));
}

/* An up hook that fails: the later ones do not run, a created device goes, a persistent one
 * stays (free to attach again). */
static int
hook_fails_child(struct utns_report *r, const void *arg)
{
	char first[256], last[256], err[256], want[64];
	struct vt_peer p;
	int fd;

	(void)arg;
	for (int persist = 0; persist <= 1; persist++) {
		peer_cfg(&p, persist ? "vt-hfp" : "vt-hf", VT_TUN, NULL, NULL);
		p.persist = persist;
		if (persist && utns_persistent(p.device, IFF_TUN, (uid_t)-1) == -1) {
			utns_note(r, "set-up: persistent device: %s", strerror(errno));
			return 2;
		}
		add_addr(&p, "10.5.0.1", 24);
		probe_path(first, sizeof(first), p.device, "first");
		probe_path(last, sizeof(last), p.device, "last");
		add_cmd(&p.up, "/usr/bin/touch", first, (char *)NULL);
		add_cmd(&p.up, "/bin/false", (char *)NULL);
		add_cmd(&p.up, "/usr/bin/touch", last, (char *)NULL);
		snprintf(want, sizeof(want), "device %s: up hook failed", p.device);
		up_fails(r, &p, want);
		UTNS_CHECK(r, exists(first) && !exists(last));
		if (!persist)
			continue;
		UTNS_CHECK(r, utns_tun_flags(p.device) == (IFF_TUN | IFF_NO_PI | IFF_VNET_HDR |
		    IFF_PERSIST));
		if ((fd = tun_open(p.device, VT_TUN, true, false, err, sizeof(err))) == -1)
			utns_note(r, "attach again: %s", err);
		else
			close(fd);
	}
	return 0;
}

/* IPv6 needs mtu 1280: refused with its reason before the kernel drops IPv6 from the device
 * and says only EINVAL; 1280 itself works. */
static int
ipv6_mtu_child(struct utns_report *r, const void *arg)
{
	char up[256];
	struct vt_peer p;
	int fd, ifindex;

	(void)arg;
	peer_cfg(&p, "vt-v6", VT_TUN, up, NULL);
	add_addr(&p, "10.5.0.1", 24);
	add_addr(&p, "fd00:6::1", 64);
	p.mtu = 1279;
	up_fails(r, &p, "device vt-v6: IPv6 address fd00:6::1 needs mtu >= 1280, not 1279");
	UTNS_CHECK(r, !exists(up));
	p.mtu = 1280;
	if ((fd = up_ok(r, &p, "server", &ifindex)) == -1)
		return 1;
	UTNS_CHECK(r, utns_has_addr("vt-v6", "fd00:6::1", 64, NULL));
	UTNS_CHECK(r, utns_mtu("vt-v6") == 1280);
	priv_device_down(&p, "server", fd, ifindex);
	return 0;
}

/* A step the kernel refuses, or a persistent device that is not there: nothing is left. */
static int
refused_child(struct utns_report *r, const void *arg)
{
	char up[256];
	struct vt_peer p;

	(void)arg;
	peer_cfg(&p, "vt-dup", VT_TUN, up, NULL);
	add_addr(&p, "10.5.0.1", 24);
	add_addr(&p, "10.5.0.1", 24);
	up_fails(r, &p, "add address 10.5.0.1/24 on vt-dup: File exists");
	UTNS_CHECK(r, !exists(up));
	peer_cfg(&p, "vt-none", VT_TAP, up, NULL);
	p.persist = true;
	up_fails(r, &p, "device vt-none: does not exist (persist is set: create it first with "
	    "`vtund-ng device add -a`, or `ip tuntap add dev vt-none mode tap user USER`)");
	UTNS_CHECK(r, !exists(up));
	/* The name taken by a device that is not ours. */
	peer_cfg(&p, "lo", VT_TUN, up, NULL);
	up_fails(r, &p, "device lo: name is already in use by another device");
	UTNS_CHECK(r, if_nametoindex("lo") != 0);
	return 0;
}

/*
 * The engine holds a copy of our fd and has made the device persistent (no capability needed
 * on an attached fd): down deletes it all the same, and the engine's copy is left with no
 * device behind it. If the device cannot be deleted by name (renamed meanwhile), its persist
 * flag is cleared: it goes with the engine's copy.
 */
static int
left_persistent_child(struct utns_report *r, const void *arg)
{
	static const uint8_t ping[20] = { 0x45, 0, 0, 20, 0, 0, 0, 0, 64, 1 };
	char down[256], err[256];
	struct vt_peer p;
	int fd, engine, ifindex;

	(void)arg;
	peer_cfg(&p, "vt-left", VT_TUN, NULL, NULL);
	add_addr(&p, "10.5.0.1", 24);
	probe_path(down, sizeof(down), p.device, "down");
	add_cmd(&p.down, "/bin/sh", "-c", "env > \"$0\"", down, (char *)NULL);
	for (int renamed = 0; renamed <= 1; renamed++) {
		if ((fd = up_ok(r, &p, "server", &ifindex)) == -1)
			return 1;
		if ((engine = dup(fd)) == -1 || ioctl(engine, TUNSETPERSIST, 1) == -1) {
			utns_note(r, "set-up: dup, TUNSETPERSIST: %s", strerror(errno));
			return 2;
		}
		UTNS_CHECK(r, utns_tun_flags("vt-left") == (IFF_TUN | IFF_NO_PI | IFF_VNET_HDR |
		    IFF_PERSIST));
		if (renamed && (netlink_set_up("vt-left", false, err, sizeof(err)) == -1 ||
		    utns_rename("vt-left", "vt-moved") == -1)) {
			utns_note(r, "set-up: rename: %s", strerror(errno));
			return 2;
		}
		unlink(down);
		priv_device_down(&p, "server", fd, ifindex);
		UTNS_CHECK(r, if_nametoindex("vt-left") == 0);
		UTNS_HAS(r, slurp(down), "VTUND_DEVICE=vt-left\n");
		if (!renamed) {
			UTNS_CHECK(r, tun_write(engine, ping, sizeof(ping)) == -1 &&
			    errno == EBADFD);
		} else {
			UTNS_CHECK(r, (int)if_nametoindex("vt-moved") == ifindex);
			UTNS_CHECK(r, utns_tun_flags("vt-moved") == (IFF_TUN | IFF_NO_PI | IFF_VNET_HDR));
		}
		close(engine);
		UTNS_CHECK(r, if_nametoindex("vt-moved") == 0);
	}
	return 0;
}

/*
 * Our device deleted behind our back and another of the same name made in its place (a new
 * index): down must leave that one alone.
 */
static int
not_ours_child(struct utns_report *r, const void *arg)
{
	char err[256];
	struct vt_peer p;
	int fd, ifindex, other;

	(void)arg;
	peer_cfg(&p, "vt-swap", VT_TAP, NULL, NULL);
	if ((fd = up_ok(r, &p, "client", &ifindex)) == -1)
		return 1;
	if (netlink_del_link(ifindex, "vt-swap", err, sizeof(err)) == -1 ||
	    utns_persistent("vt-swap", IFF_TAP, (uid_t)-1) == -1) {
		utns_note(r, "set-up: replace the device: %s %s", err, strerror(errno));
		return 2;
	}
	other = (int)if_nametoindex("vt-swap");
	UTNS_CHECK(r, other != 0 && other != ifindex);
	priv_device_down(&p, "client", fd, ifindex);
	UTNS_CHECK(r, (int)if_nametoindex("vt-swap") == other);
	UTNS_CHECK(r, utns_tun_flags("vt-swap") == (IFF_TAP | IFF_NO_PI | IFF_PERSIST));
	return 0;
}

/* No device fd (it never opened): down runs every down hook, even after one fails. */
static int
no_fd_child(struct utns_report *r, const void *arg)
{
	char after[256];
	struct vt_peer p;

	(void)arg;
	peer_cfg(&p, "vt-nofd", VT_TUN, NULL, NULL);
	probe_path(after, sizeof(after), p.device, "after");
	add_cmd(&p.down, "/bin/false", (char *)NULL);
	add_cmd(&p.down, "/usr/bin/touch", after, (char *)NULL);
	priv_device_down(&p, "client", -1, 0);
	UTNS_CHECK(r, exists(after));
	return 0;
}

/* Names to ids, as /etc/passwd and /etc/group have them; unknown names refused by name. */
static void
test_lookup_user(void **state)
{
	struct passwd *pw = getpwnam("nobody");
	struct group *gr = getgrnam("daemon");
	uid_t uid = 0;
	gid_t gid = 0;
	char err[256];

	(void)state;
	if (pw == NULL || gr == NULL)
		fail_msg("no user nobody or group daemon here");
	assert_int_equal(priv_lookup_user("nobody", NULL, &uid, &gid, err, sizeof(err)), 0);
	assert_int_equal(uid, pw->pw_uid);
	assert_int_equal(gid, pw->pw_gid);
	assert_int_equal(priv_lookup_user("nobody", "daemon", &uid, &gid, err, sizeof(err)), 0);
	assert_int_equal(uid, pw->pw_uid);
	assert_int_equal(gid, gr->gr_gid);
	assert_int_equal(priv_lookup_user("vt-no-such-user", NULL, &uid, &gid, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "user vt-no-such-user: no such user");
	assert_int_equal(priv_lookup_user("nobody", "vt-no-such-group", &uid, &gid, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "group vt-no-such-group: no such group");
}

/* Remove the scratch directory and the files the hooks left in it. */
static int
remove_dir(void **state)
{
	struct dirent *e;
	char path[512];
	DIR *d;

	(void)state;
	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	return rmdir(dir);
}

int
main(void)
{
	static const struct created tun = { VT_TUN, "server" }, tap = { VT_TAP, "client" };
	const struct CMUnitTest tests[] = {
		UTNS_TEST("created tun, server", created_child, &tun),
		UTNS_TEST("created tap, client", created_child, &tap),
		UTNS_TEST("a persistent device", persistent_child, NULL),
		UTNS_TEST("a failing up hook", hook_fails_child, NULL),
		UTNS_TEST("IPv6 and mtu 1279, 1280", ipv6_mtu_child, NULL),
		UTNS_TEST("a refused step, a missing persistent device", refused_child, NULL),
		UTNS_TEST("a device the engine made persistent", left_persistent_child, NULL),
		UTNS_TEST("a device of the same name that is not ours", not_ours_child, NULL),
		UTNS_TEST("down hooks without a device fd", no_fd_child, NULL),
		{ "priv_lookup_user", test_lookup_user, NULL, NULL, NULL },
	};

	log_init(true, LOG_LVL_WARN);
	if (mkdtemp(dir) == NULL) {
		perror("test_priv_device: mkdtemp");
		return 1;
	}
	return cmocka_run_group_tests_name("priv device", tests, NULL, remove_dir);
}
