/*
 * netlink.c - rtnetlink requests for MTU, addresses, link state and link deletion. One socket
 * per request: these run a handful of times at start-up, never per packet.
 */
#include "netlink.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define NL_REQ_CAP 512
#define NL_REPLY_CAP 8192
#define NL_TIMEOUT_SEC 5

/* A request under construction: header, family message and attributes in one aligned block. */
struct nlreq {
	union {
		struct nlmsghdr nh;
		uint8_t raw[NL_REQ_CAP];
	};
};

/* Start a request of the given type and flags with a zeroed family header of hdrlen bytes. */
static void *
req_init(struct nlreq *r, uint16_t type, uint16_t flags, size_t hdrlen)
{
	memset(r, 0, sizeof(*r));
	r->nh.nlmsg_len = NLMSG_LENGTH(hdrlen);
	r->nh.nlmsg_type = type;
	r->nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	r->nh.nlmsg_seq = 1; /* a fresh socket per request: nothing else can answer on it */
	return NLMSG_DATA(&r->nh);
}

/* Append one attribute; -1 if it does not fit (a bug: requests are small and fixed). */
static int
req_attr(struct nlreq *r, uint16_t type, const void *data, size_t len)
{
	size_t off = NLMSG_ALIGN(r->nh.nlmsg_len);
	struct rtattr *rta;

	if (off + RTA_SPACE(len) > sizeof(r->raw))
		return -1;
	rta = (struct rtattr *)(void *)(r->raw + off);
	rta->rta_type = type;
	rta->rta_len = (unsigned short)RTA_LENGTH(len);
	memcpy(RTA_DATA(rta), data, len);
	r->nh.nlmsg_len = (uint32_t)(off + RTA_SPACE(len));
	return 0;
}

/* Find the kernel's extended-ack text in an error message, or NULL. */
static const char *
ext_ack_msg(const struct nlmsghdr *nh)
{
	const struct nlmsgerr *e = NLMSG_DATA(nh);
	const uint8_t *p, *end = (const uint8_t *)nh + nh->nlmsg_len;
	const struct rtattr *rta;
	size_t skip = sizeof(*e);

	if (!(nh->nlmsg_flags & NLM_F_ACK_TLVS))
		return NULL;
	/* Unless capped, the error echoes our whole request before the TLVs. */
	if (!(nh->nlmsg_flags & NLM_F_CAPPED))
		skip += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
	p = (const uint8_t *)NLMSG_DATA(nh) + NLMSG_ALIGN(skip);
	while (p + sizeof(*rta) <= end) {
		rta = (const struct rtattr *)(const void *)p;
		if (rta->rta_len < sizeof(*rta) || p + rta->rta_len > end)
			break;
		if (rta->rta_type == NLMSGERR_ATTR_MSG && rta->rta_len > RTA_LENGTH(0)) {
			const char *s = RTA_DATA(rta);

			if (memchr(s, '\0', RTA_PAYLOAD(rta)) != NULL && s[0] != '\0')
				return s;
		}
		p += RTA_ALIGN(rta->rta_len);
	}
	return NULL;
}

/* Send r and wait for the ACK; on refusal, err = "<what>: <errno text> (<kernel's note>)".
 * got: NULL, or where the first answer that is no ACK goes (gotcap bytes; a larger one is
 * left out, and *got's nlmsg_len stays 0). */
static int
transact_get(struct nlreq *r, struct nlmsghdr *got, size_t gotcap, const char *what, char *err,
    size_t errlen)
{
	union {
		struct nlmsghdr nh;
		uint8_t raw[NL_REPLY_CAP];
	} reply;
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	struct timeval tv = { .tv_sec = NL_TIMEOUT_SEC };
	const struct nlmsgerr *e;
	const struct nlmsghdr *nh;
	const char *note;
	int fd, one = 1, ret = -1, kerr = 0;
	ssize_t n;
	size_t off;

	if ((fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE)) == -1) {
		snprintf(err, errlen, "%s: netlink socket: %s", what, strerror(errno));
		return -1;
	}
	/* Best effort: older kernels lack these and simply give less detail. */
	(void)setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	(void)setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == -1) {
		snprintf(err, errlen, "%s: netlink socket: %s", what, strerror(errno));
		goto out;
	}
	if (sendto(fd, r->raw, r->nh.nlmsg_len, 0, (struct sockaddr *)&kernel,
	    sizeof(kernel)) == -1) {
		snprintf(err, errlen, "%s: netlink send: %s", what, strerror(errno));
		goto out;
	}
	for (;;) {
		do
			n = recv(fd, reply.raw, sizeof(reply.raw), 0);
		while (n == -1 && errno == EINTR);
		if (n == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				snprintf(err, errlen, "%s: no answer from the kernel", what);
			else
				snprintf(err, errlen, "%s: netlink receive: %s", what,
				    strerror(errno));
			goto out;
		}
		for (off = 0; off + sizeof(*nh) <= (size_t)n; off += NLMSG_ALIGN(nh->nlmsg_len)) {
			nh = (const struct nlmsghdr *)(const void *)(reply.raw + off);
			if (nh->nlmsg_len < sizeof(*nh) || off + nh->nlmsg_len > (size_t)n)
				break;
			if (nh->nlmsg_seq != r->nh.nlmsg_seq)
				continue;
			if (nh->nlmsg_type == NLMSG_DONE) {
				ret = 0;
				goto out;
			}
			if (nh->nlmsg_type != NLMSG_ERROR) {
				if (got != NULL && got->nlmsg_len == 0 && nh->nlmsg_len <= gotcap)
					memcpy(got, nh, nh->nlmsg_len);
				continue;
			}
			if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(*e))) {
				snprintf(err, errlen, "%s: truncated netlink reply", what);
				goto out;
			}
			e = NLMSG_DATA(nh);
			if (e->error == 0) {
				ret = 0;
				goto out;
			}
			kerr = -e->error;
			if ((note = ext_ack_msg(nh)) != NULL)
				snprintf(err, errlen, "%s: %s (%s)", what, strerror(-e->error),
				    note);
			else
				snprintf(err, errlen, "%s: %s", what, strerror(-e->error));
			goto out;
		}
	}
out:
	close(fd);
	if (kerr != 0)
		errno = kerr; /* the kernel's reason, for callers that tell some apart */
	return ret;
}

static int
transact(struct nlreq *r, const char *what, char *err, size_t errlen)
{
	return transact_get(r, NULL, 0, what, err, errlen);
}

/* Resolve ifname for a request described by what; 0 with err set if there is no such link. */
static int
ifindex(const char *ifname, const char *what, char *err, size_t errlen)
{
	unsigned int idx = if_nametoindex(ifname);

	if (idx == 0)
		snprintf(err, errlen, "%s: %s", what, strerror(errno == 0 ? ENODEV : errno));
	return (int)idx;
}

/* Send a link request (RTM_SETLINK/RTM_DELLINK) with an optional 32-bit attribute. */
static int
link_request(const char *ifname, uint16_t type, unsigned int flags, unsigned int change,
    uint16_t attr, uint32_t value, const char *what, char *err, size_t errlen)
{
	struct nlreq r;
	struct ifinfomsg *ifi;
	int idx;

	if ((idx = ifindex(ifname, what, err, errlen)) == 0)
		return -1;
	ifi = req_init(&r, type, 0, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = idx;
	ifi->ifi_flags = flags;
	ifi->ifi_change = change;
	if (attr != 0 && req_attr(&r, attr, &value, sizeof(value)) == -1) {
		snprintf(err, errlen, "%s: request too large", what);
		return -1;
	}
	return transact(&r, what, err, errlen);
}

int
netlink_set_mtu(const char *ifname, int mtu, char *err, size_t errlen)
{
	char what[96];

	snprintf(what, sizeof(what), "set mtu %d on %s", mtu, ifname);
	if (mtu <= 0) {
		snprintf(err, errlen, "%s: %s", what, strerror(EINVAL));
		return -1;
	}
	return link_request(ifname, RTM_SETLINK, 0, 0, IFLA_MTU, (uint32_t)mtu, what, err,
	    errlen);
}

int
netlink_set_txqlen(const char *ifname, int qlen, char *err, size_t errlen)
{
	char what[96];

	snprintf(what, sizeof(what), "set txqueuelen %d on %s", qlen, ifname);
	if (qlen <= 0) {
		snprintf(err, errlen, "%s: %s", what, strerror(EINVAL));
		return -1;
	}
	return link_request(ifname, RTM_SETLINK, 0, 0, IFLA_TXQLEN, (uint32_t)qlen, what, err,
	    errlen);
}

int
netlink_set_master(const char *ifname, const char *bridge, char *err, size_t errlen)
{
	char what[96];
	int idx = 0;

	if (bridge != NULL)
		snprintf(what, sizeof(what), "attach %s to bridge %s", ifname, bridge);
	else
		snprintf(what, sizeof(what), "detach %s from its bridge", ifname);
	if (bridge != NULL && (idx = (int)if_nametoindex(bridge)) == 0) {
		snprintf(err, errlen, "%s: no bridge %s (create it first: ip link add %s type "
		    "bridge)", what, bridge, bridge);
		return -1;
	}
	if (link_request(ifname, RTM_SETLINK, 0, 0, IFLA_MASTER, (uint32_t)idx, what, err,
	    errlen) == 0)
		return 0;
	if (errno == EOPNOTSUPP || errno == EINVAL)
		snprintf(err, errlen, "%s: %s is not a bridge", what, bridge != NULL ? bridge :
		    "?");
	return -1;
}

int
netlink_set_up(const char *ifname, bool up, char *err, size_t errlen)
{
	char what[96];

	snprintf(what, sizeof(what), "set link %s on %s", up ? "up" : "down", ifname);
	return link_request(ifname, RTM_SETLINK, up ? IFF_UP : 0, IFF_UP, 0, 0, what, err,
	    errlen);
}

int
netlink_del_link(int idx, const char *ifname, char *err, size_t errlen)
{
	char what[96], name[IF_NAMESIZE];
	struct nlreq r;
	struct ifinfomsg *ifi;

	/* Gone already, or the index now names another device: nothing of ours to delete. */
	if (if_indextoname((unsigned int)idx, name) == NULL || strcmp(name, ifname) != 0)
		return 0;
	snprintf(what, sizeof(what), "delete link %s", ifname);
	ifi = req_init(&r, RTM_DELLINK, 0, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = idx;
	return transact(&r, what, err, errlen);
}

/* Byte length of an address of family, or 0 if the family is not IPv4 or IPv6. */
static size_t
addr_len(int family)
{
	return family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
}

int
netlink_route(const char *ifname, const struct vt_addr *dst, int mtu, bool add, char *err,
    size_t errlen)
{
	char what[160], ps[INET6_ADDRSTRLEN] = "?";
	size_t alen = addr_len(dst->family);
	struct {
		struct rtattr rta;
		uint32_t mtu;
	} metrics;
	struct rtmsg *rtm;
	struct nlreq r;
	uint32_t oif;
	int idx;

	if (alen != 0)
		inet_ntop(dst->family, dst->addr, ps, sizeof(ps));
	snprintf(what, sizeof(what), "%s route %s/%u dev %s", add ? "add" : "delete", ps,
	    dst->prefix, ifname);
	if (alen == 0 || dst->prefix > alen * 8) {
		snprintf(err, errlen, "%s: invalid address family or prefix", what);
		return -1;
	}
	if ((idx = ifindex(ifname, what, err, errlen)) == 0)
		return -1;
	oif = (uint32_t)idx;
	rtm = req_init(&r, add ? RTM_NEWROUTE : RTM_DELROUTE,
	    add ? NLM_F_CREATE | NLM_F_EXCL : 0, sizeof(*rtm));
	rtm->rtm_family = (uint8_t)dst->family;
	rtm->rtm_dst_len = dst->prefix;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_STATIC;
	rtm->rtm_scope = dst->family == AF_INET ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
	rtm->rtm_type = RTN_UNICAST;
	metrics.rta.rta_type = RTAX_MTU;
	metrics.rta.rta_len = (unsigned short)RTA_LENGTH(sizeof(uint32_t));
	metrics.mtu = (uint32_t)mtu;
	if ((dst->prefix > 0 && req_attr(&r, RTA_DST, dst->addr, alen) == -1) ||
	    req_attr(&r, RTA_OIF, &oif, sizeof(oif)) == -1 ||
	    (add && mtu > 0 && req_attr(&r, RTA_METRICS, &metrics, sizeof(metrics)) == -1)) {
		snprintf(err, errlen, "%s: request too large", what);
		return -1;
	}
	if (transact(&r, what, err, errlen) == 0)
		return 0;
	if (add && errno == EEXIST)
		snprintf(err, errlen, "route %s/%u: the system has a route to that prefix already "
		    "(ip route show %s/%u): remove it or this route", ps, dst->prefix, ps,
		    dst->prefix);
	if (!add && errno == ESRCH)
		return 0; /* gone already */
	return -1;
}

int
netlink_add_addr(const char *ifname, const struct vt_addr *local, const struct vt_addr *peer,
    char *err, size_t errlen)
{
	char what[160], ls[INET6_ADDRSTRLEN] = "?", ps[INET6_ADDRSTRLEN] = "";
	size_t alen = addr_len(local->family);
	struct ifaddrmsg *ifa;
	struct nlreq r;
	uint32_t flags;
	int idx;

	if (alen != 0)
		inet_ntop(local->family, local->addr, ls, sizeof(ls));
	if (peer != NULL && peer->family == local->family && alen != 0)
		inet_ntop(peer->family, peer->addr, ps, sizeof(ps));
	if (peer != NULL)
		snprintf(what, sizeof(what), "add address %s peer %s/%u on %s", ls, ps,
		    local->prefix, ifname);
	else
		snprintf(what, sizeof(what), "add address %s/%u on %s", ls, local->prefix,
		    ifname);
	if (alen == 0 || local->prefix > alen * 8) {
		snprintf(err, errlen, "%s: invalid address family or prefix", what);
		return -1;
	}
	if (peer != NULL && peer->family != local->family) {
		snprintf(err, errlen, "%s: peer address of another family", what);
		return -1;
	}
	if ((idx = ifindex(ifname, what, err, errlen)) == 0)
		return -1;

	ifa = req_init(&r, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, sizeof(*ifa));
	ifa->ifa_family = (uint8_t)local->family;
	ifa->ifa_prefixlen = local->prefix;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (uint32_t)idx;
	/* Without NODAD an IPv6 address stays tentative (unusable) for a second or more. */
	flags = local->family == AF_INET6 ? IFA_F_NODAD : 0;
	ifa->ifa_flags = (uint8_t)flags;
	/* Like ip(8): IFA_LOCAL is ours, IFA_ADDRESS the far end of a point-to-point link. */
	if (req_attr(&r, IFA_LOCAL, local->addr, alen) == -1 ||
	    req_attr(&r, IFA_ADDRESS, peer != NULL ? peer->addr : local->addr, alen) == -1 ||
	    (flags != 0 && req_attr(&r, IFA_FLAGS, &flags, sizeof(flags)) == -1)) {
		snprintf(err, errlen, "%s: request too large", what);
		return -1;
	}
	return transact(&r, what, err, errlen);
}

/* ---- the underlay ---------------------------------------------------------------------------- */

int
netlink_device_mtu(const char *ifname)
{
	struct ifreq ifr;
	int fd, mtu = 0;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return 0;
	if (ioctl(fd, SIOCGIFMTU, &ifr) == 0)
		mtu = ifr.ifr_mtu;
	close(fd);
	return mtu;
}

/* The device that has local address a (alen bytes of family) into dev; false if none. */
static bool
device_with_addr(int family, const void *a, size_t alen, char *dev, size_t devlen)
{
	struct ifaddrs *ifs, *i;
	bool found = false;

	if (getifaddrs(&ifs) == -1)
		return false;
	for (i = ifs; i != NULL && !found; i = i->ifa_next) {
		const void *x;

		if (i->ifa_addr == NULL || i->ifa_addr->sa_family != family)
			continue;
		x = family == AF_INET ? (const void *)&((struct sockaddr_in *)(void *)
		    i->ifa_addr)->sin_addr : (const void *)&((struct sockaddr_in6 *)(void *)
		    i->ifa_addr)->sin6_addr;
		if (memcmp(x, a, alen) == 0) {
			snprintf(dev, devlen, "%s", i->ifa_name);
			found = true;
		}
	}
	freeifaddrs(ifs);
	return found;
}

/* The payload of attribute type among the attributes at p (len bytes), its length in *plen;
 * NULL if there is none. Byte by byte: the attributes of a reply need no alignment here. */
static const void *
attr_find(const void *p, size_t len, uint16_t type, size_t *plen)
{
	const uint8_t *b = p;
	struct rtattr a;

	for (size_t off = 0; off + sizeof(a) <= len; off += RTA_ALIGN(a.rta_len)) {
		memcpy(&a, b + off, sizeof(a));
		if (a.rta_len < sizeof(a) || off + a.rta_len > len)
			return NULL;
		if (a.rta_type == type) {
			*plen = a.rta_len - RTA_LENGTH(0);
			return b + off + RTA_LENGTH(0);
		}
	}
	return NULL;
}

/* Attribute type as a 32-bit value into *v, if it is there. */
static void
attr_u32(const void *p, size_t len, uint16_t type, uint32_t *v)
{
	size_t n;
	const void *d = attr_find(p, len, type, &n);

	if (d != NULL && n >= sizeof(*v))
		memcpy(v, d, sizeof(*v));
}

int
netlink_underlay_mtu(const struct sockaddr *dst, int *mtu, char *dev, size_t devlen, char *err,
    size_t errlen)
{
	union {
		struct nlmsghdr nh;
		uint8_t raw[NL_REPLY_CAP];
	} got;
	char what[96], as[INET6_ADDRSTRLEN] = "?";
	int family = dst->sa_family, dmtu;
	const void *a = family == AF_INET ?
	    (const void *)&((const struct sockaddr_in *)(const void *)dst)->sin_addr :
	    (const void *)&((const struct sockaddr_in6 *)(const void *)dst)->sin6_addr;
	size_t alen = addr_len(family);
	const struct rtmsg *rm;
	const void *m, *attrs;
	uint32_t oif = 0, rmtu = 0;
	size_t mlen, attrlen;
	struct rtmsg *rtm;
	struct nlreq r;

	*mtu = 0;
	dev[0] = '\0';
	if (alen == 0) {
		snprintf(err, errlen, "route lookup: not an IPv4 or IPv6 address");
		return -1;
	}
	inet_ntop(family, a, as, sizeof(as));
	snprintf(what, sizeof(what), "route to %s", as);
	rtm = req_init(&r, RTM_GETROUTE, 0, sizeof(*rtm));
	rtm->rtm_family = (uint8_t)family;
	rtm->rtm_dst_len = (uint8_t)(alen * 8);
	got.nh.nlmsg_len = 0;
	if (req_attr(&r, RTA_DST, a, alen) == -1 ||
	    transact_get(&r, &got.nh, sizeof(got), what, err, errlen) == -1)
		return -1;
	if (got.nh.nlmsg_type != RTM_NEWROUTE || got.nh.nlmsg_len < NLMSG_LENGTH(sizeof(*rm))) {
		snprintf(err, errlen, "%s: no answer", what);
		return -1;
	}
	rm = NLMSG_DATA(&got.nh);
	attrs = (const uint8_t *)rm + NLMSG_ALIGN(sizeof(*rm));
	attrlen = got.nh.nlmsg_len - NLMSG_LENGTH(sizeof(*rm));
	attr_u32(attrs, attrlen, RTA_OIF, &oif);
	if ((m = attr_find(attrs, attrlen, RTA_METRICS, &mlen)) != NULL)
		attr_u32(m, mlen, RTAX_MTU, &rmtu);
	/* Our own address (a server's listen address): the device that has it. */
	if (rm->rtm_type == RTN_LOCAL) {
		if (!device_with_addr(family, a, alen, dev, devlen)) {
			snprintf(err, errlen, "%s: no device has this local address", what);
			return -1;
		}
	} else if (oif == 0 || if_indextoname(oif, dev) == NULL) {
		snprintf(err, errlen, "%s: the kernel names no device", what);
		return -1;
	}
	if ((dmtu = netlink_device_mtu(dev)) <= 0) {
		snprintf(err, errlen, "%s: the MTU of %s is not known", what, dev);
		return -1;
	}
	*mtu = rmtu > 0 && (int)rmtu < dmtu ? (int)rmtu : dmtu;
	return 0;
}
