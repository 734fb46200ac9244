/*
 * priv.c - privileged operations on a peer's device and on our own credentials. Capabilities
 * through the raw capget/capset syscalls: no libcap dependency for two words of bits.
 */
#define _GNU_SOURCE
#include "priv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <net/if.h>
#include <unistd.h>

#include "hooks.h"
#include "log.h"
#include "mtu.h"
#include "netlink.h"
#include "prefix.h"
#include "tun.h"


/* The first address of family in addrs, or NULL. */
static const struct vt_addr *
first_of_family(const struct vt_addr *addrs, int n, int family)
{
	for (int i = 0; i < n; i++)
		if (addrs[i].family == family)
			return &addrs[i];
	return NULL;
}

/* Print a (prefix-less) address into s, "" if there is none. */
static void
addr_str(const struct vt_addr *a, char *s, size_t len)
{
	s[0] = '\0';
	if (a != NULL && inet_ntop(a->family, a->addr, s, (socklen_t)len) == NULL)
		s[0] = '\0';
}

/* Describe p's link for its hooks; ls and rs (INET6_ADDRSTRLEN each) hold the addresses. */
static void
fill_vars(const struct vt_peer *p, const char *role, struct hook_vars *v, char *ls, char *rs)
{
	addr_str(p->naddrs > 0 ? &p->addrs[0] : NULL, ls, INET6_ADDRSTRLEN);
	addr_str(p->npeer_addrs > 0 ? &p->peer_addrs[0] : NULL, rs, INET6_ADDRSTRLEN);
	v->device = p->device;
	v->peer = p->name;
	v->role = role;
	v->type = names_devtype[p->type];
	v->local = ls;
	v->remote_addr = rs;
	v->mtu = p->mtu;
	v->endpoint = "";
}

void
priv_session_hook(const struct vt_peer *p, const char *role, bool up, const char *endpoint)
{
	char ls[INET6_ADDRSTRLEN], rs[INET6_ADDRSTRLEN];
	const struct vt_hook *h = up ? &p->session_up : &p->session_down;
	struct hook_vars v;

	if (h->ncmds == 0)
		return;
	fill_vars(p, role, &v, ls, rs);
	v.endpoint = endpoint;
	if (hook_run(h, &v, false) == -1)
		log_warnx("peer %s: a session-%s hook failed", p->name, up ? "up" : "down");
}

/*
 * Transmit queue of a device we create, in frames. The kernel gives TUN/TAP 500. A bulk sender
 * inside the tunnel fills that queue while the engine seals and sends its previous batch, and
 * the kernel drops what does not fit (tx_dropped on the device), which TCP inside the tunnel
 * takes as loss. 1000, the default of Ethernet devices, absorbs those bursts; a longer queue
 * only adds delay when the underlay is the bottleneck. Persistent devices keep the
 * administrator's setting.
 */
#define PRIV_TXQUEUELEN 1000

/* MTU, transmit queue, addresses and link state of a device we created. */
static int
configure(const struct vt_peer *p, char *err, size_t errlen)
{
	const struct vt_addr *a, *peer;
	char s[INET6_ADDRSTRLEN];

	for (int i = 0; i < p->naddrs; i++) {
		/* The kernel turns IPv6 off below 1280 and then says only "Invalid argument". */
		if (p->addrs[i].family == AF_INET6 && p->mtu < MTU_IPV6_MIN) {
			addr_str(&p->addrs[i], s, sizeof(s));
			snprintf(err, errlen, "device %s: IPv6 address %s needs mtu >= %d, "
			    "not %d", p->device, s, MTU_IPV6_MIN, p->mtu);
			return -1;
		}
	}
	if (netlink_set_mtu(p->device, p->mtu, err, errlen) == -1)
		return -1;
	if (netlink_set_txqlen(p->device, PRIV_TXQUEUELEN, err, errlen) == -1)
		return -1;
	for (int i = 0; i < p->naddrs; i++) {
		a = &p->addrs[i];
		peer = NULL;
		if (p->type == VT_TUN)
			peer = first_of_family(p->peer_addrs, p->npeer_addrs, a->family);
		if (netlink_add_addr(p->device, a, peer, err, errlen) == -1)
			return -1;
	}
	/* A layer-2 site: the device joins the site's bridge (and leaves it when deleted). */
	if (p->bridge[0] != '\0' && netlink_set_master(p->device, p->bridge, err, errlen) == -1)
		return -1;
	if (netlink_set_up(p->device, true, err, errlen) == -1)
		return -1;
	/* The routes of the peer's site, on the device (they go with it when it is deleted). */
	for (int i = 0; i < p->nroutes; i++)
		if (netlink_route(p->device, &p->routes[i], p->mtu, true, err, errlen) == -1)
			return -1;
	return 0;
}

int
priv_device_make(const struct vt_peer *p, uid_t uid, gid_t gid, char *err, size_t errlen)
{
	char e[256];

	if (tun_make_persistent(p->device, p->type, uid, gid, err, errlen) == -1)
		return -1;
	if (configure(p, err, errlen) == 0)
		return 0;
	if (tun_remove_persistent(p->device, e, sizeof(e)) == -1)
		log_warnx("%s", e);
	return -1;
}

/* Whether prefix r is among the n prefixes of list. */
static bool
listed(const struct vt_addr *r, const struct vt_addr *list, int n)
{
	for (int i = 0; i < n; i++)
		if (prefix_equal(r, &list[i]))
			return true;
	return false;
}

int
priv_routes_change(const struct vt_peer *old, const struct vt_peer *p, bool add, char *err,
    size_t errlen)
{
	const struct vt_peer *from = add ? p : old, *other = add ? old : p;
	char e[256];
	int ret = 0;

	if (p->persist)
		return 0;
	for (int i = 0; i < from->nroutes; i++) {
		if (listed(&from->routes[i], other->routes, other->nroutes))
			continue;
		if (netlink_route(p->device, &from->routes[i], p->mtu, add, e, sizeof(e)) == -1) {
			snprintf(err, errlen, "%s", e);
			ret = -1;
		}
	}
	return ret;
}

/* Whether the device carries IPv6: an IPv6 address, peer address or route. */
static bool
has_ipv6(const struct vt_peer *p)
{
	return first_of_family(p->addrs, p->naddrs, AF_INET6) != NULL ||
	    first_of_family(p->peer_addrs, p->npeer_addrs, AF_INET6) != NULL ||
	    first_of_family(p->routes, p->nroutes, AF_INET6) != NULL;
}

/* Whether sa is the wildcard address of its family. */
static bool
wildcard(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ((const struct sockaddr_in *)(const void *)sa)->sin_addr.s_addr ==
		    htonl(INADDR_ANY);
	return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)(const void *)sa)->
	    sin6_addr);
}

/* The MTU toward the default route of family (looked up for a documentation address: nothing
 * is sent). */
static int
default_route_mtu(int family, int *mtu, char *dev, size_t devlen, char *err, size_t errlen)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	ss.ss_family = (sa_family_t)family;
	if (family == AF_INET)
		inet_pton(AF_INET, "192.0.2.1", &((struct sockaddr_in *)&ss)->sin_addr);
	else
		inet_pton(AF_INET6, "2001:db8::1", &((struct sockaddr_in6 *)&ss)->sin6_addr);
	return netlink_underlay_mtu((struct sockaddr *)&ss, mtu, dev, devlen, err, errlen);
}

void
priv_auto_mtu(struct vt_peer *p, const struct sockaddr *toward)
{
	char dev[IF_NAMESIZE + 1] = "", err[256] = "", where[80];
	int under = 0, family = toward != NULL ? toward->sa_family : AF_INET6, got, rc;
	enum vt_proto pr = p->proto;

	if (!p->mtu_auto)
		return;
	/* A peer that may use either transport (failover) takes the MTU the heavier leaves. */
	for (int i = 0; i < VT_PROTO_MAX; i++)
		if ((p->protos & (1u << i)) && mtu_overhead(AF_INET6, (enum vt_proto)i, p->type) >
		    mtu_overhead(AF_INET6, pr, p->type))
			pr = (enum vt_proto)i;
	/* A persistent device was configured by whoever made it: its MTU is the truth. */
	if (p->persist && (got = netlink_device_mtu(p->device)) >= MTU_MIN && got <= MTU_MAX) {
		p->mtu = got;
		log_info("peer %s: mtu %d (auto: the persistent device's)", p->name, got);
		return;
	}
	/* A tap link cannot tell a sender that a frame is too large, so both ends must have the
	 * same MTU, and their underlays may differ (PPPoE's 1492 and 1500): both take that of a
	 * 1500-byte IPv6 path; the underlay fragments if it is smaller. */
	if (p->type == VT_TAP) {
		p->mtu = mtu_for_underlay(1500, AF_INET6, pr, p->type, has_ipv6(p));
		log_info("peer %s: mtu %d (auto: a tap link's, the same at both ends: 1500 minus "
		    "%d for tap over IPv6)", p->name, p->mtu,
		    mtu_overhead(AF_INET6, pr, p->type));
		return;
	}
	if (toward != NULL && !wildcard(toward)) {
		char a[INET6_ADDRSTRLEN] = "?";

		rc = netlink_underlay_mtu(toward, &under, dev, sizeof(dev), err, sizeof(err));
		inet_ntop(family, family == AF_INET ?
		    (const void *)&((const struct sockaddr_in *)(const void *)toward)->sin_addr :
		    (const void *)&((const struct sockaddr_in6 *)(const void *)toward)->sin6_addr,
		    a, sizeof(a));
		snprintf(where, sizeof(where), "toward %s", a);
	} else {
		/* A server on a wildcard address: its default route (IPv6 first when it listens on
		 * both: the larger overhead), no more than 1500: it cannot know its clients'
		 * paths, and a jumbo LAN says nothing about them. */
		rc = default_route_mtu(family, &under, dev, sizeof(dev), err, sizeof(err));
		if (rc == -1 && family == AF_INET6)
			rc = default_route_mtu(AF_INET, &under, dev, sizeof(dev), err,
			    sizeof(err));
		if (rc == 0 && under > 1500)
			under = 1500;
		snprintf(where, sizeof(where), "the default route");
	}
	/* A loopback device (an address on lo) says nothing about the path. */
	if (rc == 0 && under >= 65536) {
		rc = -1;
		snprintf(err, sizeof(err), "%s is a loopback device", dev);
	}
	if (rc == -1 || under < MTU_MIN) {
		log_info("peer %s: mtu auto: %s: taking the underlay MTU to be 1500", p->name,
		    rc == -1 ? err : "too small an MTU");
		under = 1500;
		snprintf(dev, sizeof(dev), "?");
	}
	p->mtu = mtu_for_underlay(under, family, pr, p->type, has_ipv6(p));
	log_info("peer %s: mtu %d (auto: %d on %s, %s, minus %d for %s over %s)", p->name,
	    p->mtu, under, dev, where, mtu_overhead(family, pr, p->type),
	    names_devtype[p->type], family == AF_INET ? "IPv4" : "IPv6");
	if (p->mtu + mtu_overhead(family, pr, p->type) > under)
		log_warnx("peer %s: mtu %d: the least this device takes%s; the underlay (%d) will "
		    "fragment", p->name, p->mtu, has_ipv6(p) ? " with IPv6" : "", under);
}

int
priv_device_up(const struct vt_peer *p, const char *role, int *ifindex, char *err,
    size_t errlen)
{
	char ls[INET6_ADDRSTRLEN], rs[INET6_ADDRSTRLEN];
	struct hook_vars v;
	int fd;

	*ifindex = 0;
	if ((fd = tun_open(p->device, p->type, p->persist,
	    p->offload == VT_OFFLOAD_AUTO, err, errlen)) == -1)
		return -1;
	/* Remember which device we made, to delete exactly that one at the end. */
	if (!p->persist)
		*ifindex = (int)if_nametoindex(p->device);
	if (!p->persist && configure(p, err, errlen) == -1)
		goto fail;
	fill_vars(p, role, &v, ls, rs);
	if (hook_run(&p->up, &v, true) == -1) {
		snprintf(err, errlen, "device %s: up hook failed", p->device);
		goto fail;
	}
	log_debug("device %s: up (%s%s)", p->device, names_devtype[p->type],
	    p->persist ? ", persistent" : "");
	return fd;
fail:
	/* Closing the only fd removes a device we created, with its addresses. */
	close(fd);
	*ifindex = 0;
	return -1;
}

void
priv_device_down(const struct vt_peer *p, const char *role, int fd, int ifindex)
{
	char ls[INET6_ADDRSTRLEN], rs[INET6_ADDRSTRLEN], err[256];
	struct hook_vars v;

	fill_vars(p, role, &v, ls, rs);
	if (hook_run(&p->down, &v, false) == -1)
		log_warnx("device %s: a down hook failed", p->device);
	if (fd == -1)
		return;
	/* A device we created goes with us, whatever the engine did to it: the persist flag it
	 * may have set is cleared, and the link is deleted even if some fd still holds it. */
	if (ifindex != 0 && tun_clear_persist(fd) == -1)
		log_warn("device %s: clear persist", p->device);
	/* A persistent device stays: hand it back as we found it, without offloads, for whoever
	 * attaches next without a vnet header. */
	if (ifindex == 0 && tun_has_vnet(fd) && tun_offload_off(fd) == -1)
		log_warn("device %s: offloads off", p->device);
	close(fd);
	if (ifindex != 0 && netlink_del_link(ifindex, p->device, err, sizeof(err)) == -1)
		log_warnx("device %s: %s", p->device, err);
}

/* Read our capability sets (two 32-bit words each). */
static int
caps_get(struct __user_cap_data_struct data[2])
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };

	memset(data, 0, 2 * sizeof(*data));
	return (int)syscall(SYS_capget, &hdr, data);
}

/*
 * Empty the permitted, effective and inheritable sets. setuid() away from root empties the first
 * two (unless SECBIT_NO_SETUID_FIXUP, which survives exec, says not to), never the third.
 */
static int
caps_clear(void)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];

	memset(data, 0, sizeof(data));
	return (int)syscall(SYS_capset, &hdr, data);
}

/*
 * The highest capability number of the running kernel, which may know more than our headers.
 * Without /proc, probe: PR_CAPBSET_READ fails with EINVAL past the last one.
 */
static int
cap_last(void)
{
	FILE *f;
	int last = -1;

	if ((f = fopen("/proc/sys/kernel/cap_last_cap", "re")) != NULL) {
		if (fscanf(f, "%d", &last) != 1)
			last = -1;
		fclose(f);
	}
	if (last < 0)
		for (last = 0; prctl(PR_CAPBSET_READ, last + 1, 0, 0, 0) >= 0; last++)
			;
	return last;
}

/*
 * Empty the capability bounding set, so that no exec can give a capability back. This needs
 * CAP_SETPCAP, so it comes while we are still root.
 */
static int
bounding_clear(char *err, size_t errlen)
{
	int last = cap_last(), e;

	for (int c = 0; c <= last; c++) {
		if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 0)
			continue;
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) == -1) {
			e = errno;
			snprintf(err, errlen, "drop privileges: empty the capability bounding set: "
			    "capability %d: %s%s", c, strerror(e),
			    e == EPERM ? " (needs CAP_SETPCAP)" : "");
			return -1;
		}
	}
	return 0;
}

int
priv_lookup_user(const char *user, const char *group, uid_t *uid, gid_t *gid, char *err,
    size_t errlen)
{
	char buf[4096];
	struct passwd pw, *pwp = NULL;
	struct group gr, *grp = NULL;
	int e;

	if ((e = getpwnam_r(user, &pw, buf, sizeof(buf), &pwp)) != 0 || pwp == NULL) {
		snprintf(err, errlen, "user %s: %s", user, e != 0 ? strerror(e) : "no such user");
		return -1;
	}
	*uid = pw.pw_uid;
	*gid = pw.pw_gid;
	if (group == NULL)
		return 0;
	if ((e = getgrnam_r(group, &gr, buf, sizeof(buf), &grp)) != 0 || grp == NULL) {
		snprintf(err, errlen, "group %s: %s", group,
		    e != 0 ? strerror(e) : "no such group");
		return -1;
	}
	*gid = gr.gr_gid;
	return 0;
}

/* What a drop left, collected in err as "drop privileges incomplete: A; B; ...". */
struct leftover {
	char *err;
	size_t errlen;
	int n;
};

static void __attribute__((format(printf, 2, 3)))
left(struct leftover *l, const char *fmt, ...)
{
	size_t used;
	va_list ap;

	if (l->n++ == 0)
		snprintf(l->err, l->errlen, "drop privileges incomplete: ");
	else
		snprintf(l->err + strlen(l->err), l->errlen - strlen(l->err), "; ");
	used = strlen(l->err);
	va_start(ap, fmt);
	vsnprintf(l->err + used, l->errlen - used, fmt, ap);
	va_end(ap);
}

/* The supplementary groups must be gid alone. */
static void
check_groups(struct leftover *l, gid_t gid)
{
	gid_t gs[16];
	char list[16 * 11] = "";
	int n, m;

	if ((n = getgroups(0, NULL)) == -1) {
		left(l, "getgroups: %s", strerror(errno));
		return;
	}
	if (n == 1 && getgroups(1, gs) == 1 && gs[0] == gid)
		return;
	m = getgroups(16, gs); /* -1 if there are more */
	for (int i = 0; i < m; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%u", i ? " " : "",
		    (unsigned)gs[i]);
	left(l, "%d supplementary groups (%s%s), want %u alone", n, list, m == -1 ? "..." : "",
	    (unsigned)gid);
}

/* A capability set must be empty; n counts its members, mask shows the first 64. */
static void
check_empty(struct leftover *l, const char *set, uint64_t mask, int n)
{
	if (n > 0)
		left(l, "%s set %#" PRIx64 " (%d capabilities)", set, mask, n);
}

/* Capability sets from capget as 64-bit masks: word 1 holds capabilities 32 to 63. */
#define CAPS64(data, set) ((uint64_t)(data)[1].set << 32 | (data)[0].set)

int
priv_verify_drop(uid_t uid, gid_t gid, char *err, size_t errlen)
{
	struct leftover l = { err, errlen, 0 };
	struct __user_cap_data_struct data[2];
	uid_t ru = (uid_t)-1, eu = (uid_t)-1, su = (uid_t)-1;
	gid_t rg = (gid_t)-1, eg = (gid_t)-1, sg = (gid_t)-1;
	uint64_t bnd = 0, amb = 0, set[3];
	const char *name[3] = { "inheritable", "permitted", "effective" };
	int last = cap_last(), nbnd = 0, namb = 0, r;

	check_groups(&l, gid);
	getresuid(&ru, &eu, &su);
	getresgid(&rg, &eg, &sg);
	if (ru != uid || eu != uid || su != uid)
		left(&l, "uids (real, effective, saved) %u %u %u, want %u", (unsigned)ru,
		    (unsigned)eu, (unsigned)su, (unsigned)uid);
	if (rg != gid || eg != gid || sg != gid)
		left(&l, "gids (real, effective, saved) %u %u %u, want %u", (unsigned)rg,
		    (unsigned)eg, (unsigned)sg, (unsigned)gid);
	if (caps_get(data) == -1) {
		left(&l, "capget: %s", strerror(errno));
	} else {
		set[0] = CAPS64(data, inheritable);
		set[1] = CAPS64(data, permitted);
		set[2] = CAPS64(data, effective);
		for (int i = 0; i < 3; i++)
			check_empty(&l, name[i], set[i], __builtin_popcountll(set[i]));
	}
	for (int c = 0; c <= last; c++) {
		if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) != 0) {
			bnd |= c < 64 ? (uint64_t)1 << c : 0;
			nbnd++;
		}
		/* Kernels before 4.3 have no ambient set and answer EINVAL. */
		r = prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, c, 0, 0);
		if (r != 0 && !(r == -1 && errno == EINVAL)) {
			amb |= c < 64 ? (uint64_t)1 << c : 0;
			namb++;
		}
	}
	check_empty(&l, "bounding", bnd, nbnd);
	check_empty(&l, "ambient", amb, namb);
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		left(&l, "no_new_privs not set");
	/* Last: when they succeed they change what the checks above read. */
	if (setgroups(1, &gid) == 0)
		left(&l, "setgroups() succeeds");
	if (setuid(0) == 0)
		left(&l, "setuid(0) succeeds");
	return l.n == 0 ? 0 : -1;
}

int
priv_drop(const char *user, const char *group, char *err, size_t errlen)
{
	uid_t uid;
	gid_t gid;

	if (priv_lookup_user(user, group, &uid, &gid, err, errlen) == -1)
		return -1;
	if (uid == 0) {
		snprintf(err, errlen, "user %s has uid 0: that is not dropping root", user);
		return -1;
	}
	if (bounding_clear(err, errlen) == -1)
		return -1;
	if (setgroups(1, &gid) == -1) {
		snprintf(err, errlen, "drop privileges: setgroups: %s", strerror(errno));
		return -1;
	}
	if (setresgid(gid, gid, gid) == -1) {
		snprintf(err, errlen, "drop privileges: setgid %u: %s", (unsigned)gid,
		    strerror(errno));
		return -1;
	}
	if (setresuid(uid, uid, uid) == -1) {
		snprintf(err, errlen, "drop privileges: setuid %u: %s", (unsigned)uid,
		    strerror(errno));
		return -1;
	}
	if (caps_clear() == -1) {
		snprintf(err, errlen, "drop privileges: capset: %s", strerror(errno));
		return -1;
	}
	/*
	 * Ambient capabilities would survive an exec. The kernel keeps them within permitted and
	 * inheritable, so caps_clear has emptied them already; clear them by name all the same
	 * (kernels before 4.3 have none: EINVAL).
	 */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) == -1 && errno != EINVAL) {
		snprintf(err, errlen, "drop privileges: clear ambient capabilities: %s",
		    strerror(errno));
		return -1;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
		snprintf(err, errlen, "drop privileges: PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
		return -1;
	}
	return priv_verify_drop(uid, gid, err, errlen);
}
