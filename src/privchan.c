/* privchan.c - typed messages between the root parent and the engine (privchan.h). */
#include "privchan.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "config_parse.h"
#include "log.h"
#include "mtu.h"
#include "names.h"
#include "shaper.h"

#define HDR_LEN offsetof(struct chan_msg, u)

/* Every message type: its exact size, whether a descriptor comes with it, its direction. */
static const struct {
	size_t size;
	bool fd;
	bool down;
} types[CHAN_TYPE_MAX] = {
	[CHAN_PEER_ADD] = { HDR_LEN + sizeof(struct chan_peer), true, true },
	[CHAN_PEER_RESTART] = { HDR_LEN + sizeof(struct chan_peer), false, true },
	[CHAN_PEER_UPDATE] = { HDR_LEN + sizeof(struct chan_peer), false, true },
	[CHAN_PEER_REMOVE] = { HDR_LEN, false, true },
	[CHAN_LOG_LEVEL] = { HDR_LEN, false, true },
	[CHAN_SOCKET] = { HDR_LEN, true, true },
	[CHAN_GO] = { HDR_LEN, false, true },
	[CHAN_RELOAD_DONE] = { HDR_LEN + sizeof(struct chan_text), false, true },
	[CHAN_READY] = { HDR_LEN, false, false },
	[CHAN_PEER_GONE] = { HDR_LEN, false, false },
	[CHAN_RELOAD] = { HDR_LEN, false, false },
	[CHAN_ALIVE] = { HDR_LEN, false, false },
	[CHAN_SESSION] = { HDR_LEN + sizeof(struct chan_text), false, false },
	[CHAN_RESOLVE] = { HDR_LEN + sizeof(struct chan_addr), false, false },
	[CHAN_RESOLVED] = { HDR_LEN + sizeof(struct chan_addr), false, true },
};

void
chan_peer_from(struct chan_peer *cp, uint32_t id, const struct vt_peer *p,
    const struct sockaddr *remote, socklen_t remote_len, int remote_index)
{
	memset(cp, 0, sizeof(*cp));
	cp->id = id;
	snprintf(cp->name, sizeof(cp->name), "%s", p->name);
	snprintf(cp->device, sizeof(cp->device), "%s", p->device);
	cp->type = (uint8_t)p->type;
	cp->proto = (uint8_t)p->proto;
	cp->protos = (uint8_t)(p->protos != 0 ? p->protos : 1u << p->proto);
	cp->nremotes = (uint8_t)p->nremotes;
	cp->remote_index = (uint8_t)remote_index;
	cp->failback = p->failback;
	for (int i = 0; i < p->nremotes; i++) {
		snprintf(cp->remotes[i].host, sizeof(cp->remotes[i].host), "%s",
		    p->remotes[i].host);
		cp->remotes[i].port = p->remotes[i].port;
		cp->remotes[i].proto = (uint8_t)p->remotes[i].proto;
	}
	cp->cipher = (uint8_t)p->cipher;
	cp->compress = (uint8_t)p->compress;
	cp->persist = p->persist;
	cp->offload = (uint8_t)p->offload;
	cp->duplicate = (uint8_t)p->duplicate;
	cp->has_psk = p->has_psk;
	cp->mtu = p->mtu;
	cp->keepalive = p->keepalive;
	cp->timeout = p->timeout;
	cp->rekey_interval = p->rekey_interval;
	cp->compress_accel = p->compress_accel;
	cp->mss_clamp = p->mss_clamp;
	cp->mtu_auto = p->mtu_auto;
	cp->rate_in = p->rate_in;
	cp->rate_out = p->rate_out;
	cp->rate_burst = p->rate_burst;
	memcpy(cp->public_key, p->public_key, 32);
	memcpy(cp->psk, p->psk, 32);
	if (remote != NULL && remote_len <= sizeof(cp->remote)) {
		memcpy(&cp->remote, remote, remote_len);
		cp->remote_len = remote_len;
	}
	cp->npeer_addrs = (uint8_t)p->npeer_addrs;
	cp->nroutes = (uint8_t)p->nroutes;
	cp->nallowed_ips = (uint8_t)p->nallowed_ips;
	memcpy(cp->peer_addrs, p->peer_addrs, sizeof(cp->peer_addrs));
	memcpy(cp->routes, p->routes, sizeof(cp->routes));
	memcpy(cp->allowed_ips, p->allowed_ips, sizeof(cp->allowed_ips));
}

void
chan_peer_to(const struct chan_peer *cp, struct vt_peer *p)
{
	memset(p, 0, sizeof(*p));
	memcpy(p->name, cp->name, sizeof(p->name));
	memcpy(p->device, cp->device, sizeof(p->device));
	p->type = (enum vt_devtype)cp->type;
	p->proto = (enum vt_proto)cp->proto;
	p->protos = cp->protos;
	p->nremotes = cp->nremotes;
	p->failback = cp->failback;
	for (int i = 0; i < cp->nremotes; i++) {
		memcpy(p->remotes[i].host, cp->remotes[i].host, sizeof(p->remotes[i].host));
		p->remotes[i].port = cp->remotes[i].port;
		p->remotes[i].proto = (enum vt_proto)cp->remotes[i].proto;
	}
	p->cipher = (enum vt_cipher)cp->cipher;
	p->compress = (enum vt_compress)cp->compress;
	p->persist = cp->persist;
	p->offload = (enum vt_offload)cp->offload;
	p->duplicate = (enum vt_duplicate)cp->duplicate;
	p->has_psk = cp->has_psk;
	p->mtu = cp->mtu;
	p->keepalive = cp->keepalive;
	p->timeout = cp->timeout;
	p->rekey_interval = cp->rekey_interval;
	p->compress_accel = cp->compress_accel;
	p->mss_clamp = cp->mss_clamp;
	p->mtu_auto = cp->mtu_auto;
	p->rate_in = cp->rate_in;
	p->rate_out = cp->rate_out;
	p->rate_burst = cp->rate_burst;
	memcpy(p->public_key, cp->public_key, 32);
	memcpy(p->psk, cp->psk, 32);
	p->npeer_addrs = cp->npeer_addrs;
	p->nroutes = cp->nroutes;
	p->nallowed_ips = cp->nallowed_ips;
	memcpy(p->peer_addrs, cp->peer_addrs, sizeof(p->peer_addrs));
	memcpy(p->routes, cp->routes, sizeof(p->routes));
	memcpy(p->allowed_ips, cp->allowed_ips, sizeof(p->allowed_ips));
}

static bool
terminated(const char *s, size_t cap)
{
	return memchr(s, '\0', cap) != NULL;
}

/* An IPv4 or IPv6 socket address of its family's size. */
static bool
addr_valid(const struct sockaddr_storage *ss, uint32_t len)
{
	return (ss->ss_family == AF_INET && len == sizeof(struct sockaddr_in)) ||
	    (ss->ss_family == AF_INET6 && len == sizeof(struct sockaddr_in6));
}

/* n prefixes of a list: IPv4 or IPv6, prefix lengths in range (exactly the address's length
 * for single addresses). */
static bool
prefixes_valid(const struct vt_addr *a, int n, int max, bool single)
{
	if (n > max)
		return false;
	for (int i = 0; i < n; i++) {
		int bits = a[i].family == AF_INET ? 32 : a[i].family == AF_INET6 ? 128 : 0;

		if (bits == 0 || a[i].prefix > bits || (single && a[i].prefix != bits))
			return false;
	}
	return true;
}

/* The ranges the configuration parser enforces (config.c), checked again on receipt. */
static bool
peer_valid(const struct chan_peer *cp)
{
	if (!terminated(cp->name, sizeof(cp->name)) || !names_valid_peer(cp->name,
	    strlen(cp->name)) || !terminated(cp->device, sizeof(cp->device)) ||
	    !config_valid_ifname(cp->device))
		return false;
	if (cp->type >= VT_DEVTYPE_MAX || cp->proto >= VT_PROTO_MAX ||
	    cp->cipher >= VT_CIPHER_MAX || cp->compress >= VT_COMPRESS_MAX ||
	    cp->offload >= VT_OFFLOAD_MAX || cp->duplicate >= VT_DUP_MAX || cp->persist > 1 ||
	    cp->has_psk > 1 ||
	    cp->mss_clamp > 1 || cp->mtu_auto > 1)
		return false;
	if (cp->mtu < MTU_MIN || cp->mtu > MTU_MAX || cp->keepalive < 0 || cp->keepalive > 3600 ||
	    cp->timeout < 0 || cp->timeout > 86400 || cp->rekey_interval < 10 ||
	    cp->rekey_interval > 120 || cp->compress_accel < 1 || cp->compress_accel > 65537)
		return false;
	if (cp->remote_len > sizeof(cp->remote) || cp->protos == 0 ||
	    cp->protos >= (1u << VT_PROTO_MAX) || !(cp->protos & (1u << cp->proto)) ||
	    cp->nremotes > CONFIG_MAX_REMOTES || (cp->nremotes > 0 &&
	    cp->remote_index >= cp->nremotes) || (cp->nremotes == 0 && cp->remote_index != 0) ||
	    cp->failback < 0 || cp->failback > 86400)
		return false;
	for (int i = 0; i < cp->nremotes; i++)
		if (!terminated(cp->remotes[i].host, sizeof(cp->remotes[i].host)) ||
		    cp->remotes[i].host[0] == '\0' || cp->remotes[i].port == 0 ||
		    cp->remotes[i].proto >= VT_PROTO_MAX ||
		    !(cp->protos & (1u << cp->remotes[i].proto)))
			return false;
	if ((cp->rate_in != 0 && (cp->rate_in < SHAPER_RATE_MIN || cp->rate_in > SHAPER_RATE_MAX))
	    || (cp->rate_out != 0 && (cp->rate_out < SHAPER_RATE_MIN ||
	    cp->rate_out > SHAPER_RATE_MAX)) || (cp->rate_burst != 0 &&
	    (cp->rate_burst < SHAPER_BURST_MIN || cp->rate_burst > SHAPER_BURST_MAX)))
		return false;
	if (!prefixes_valid(cp->peer_addrs, cp->npeer_addrs, CONFIG_MAX_ADDRS, true) ||
	    !prefixes_valid(cp->routes, cp->nroutes, CONFIG_MAX_ROUTES, false) ||
	    !prefixes_valid(cp->allowed_ips, cp->nallowed_ips, CONFIG_MAX_ROUTES, false))
		return false;
	if (cp->remote_len > 0 && !addr_valid(&cp->remote, cp->remote_len))
		return false;
	return true;
}

bool
chan_valid(const void *msg, size_t size, bool has_fd, bool down)
{
	struct chan_msg m;

	if (size < HDR_LEN || size > sizeof(m))
		return false;
	memset(&m, 0, sizeof(m));
	memcpy(&m, msg, size);
	if (m.type == 0 || m.type >= CHAN_TYPE_MAX || types[m.type].size != size ||
	    types[m.type].fd != has_fd || types[m.type].down != down)
		return false;
	switch ((enum chan_type)m.type) {
	case CHAN_PEER_ADD:
	case CHAN_PEER_RESTART:
	case CHAN_PEER_UPDATE:
		return m.arg == 0 && m.u.peer.id != 0 && peer_valid(&m.u.peer);
	case CHAN_LOG_LEVEL:
		return m.arg <= LOG_LVL_DEBUG;
	case CHAN_SOCKET:
		return m.arg <= 1;
	case CHAN_RELOAD_DONE:
		return m.arg == 0 && (m.u.text.status == 0 || m.u.text.status == 1) &&
		    terminated(m.u.text.text, sizeof(m.u.text.text));
	case CHAN_PEER_REMOVE:
	case CHAN_PEER_GONE:
		return m.arg != 0;
	case CHAN_GO:
	case CHAN_READY:
	case CHAN_RELOAD:
		return m.arg == 0;
	case CHAN_ALIVE:
		return true; /* any count: the parent only reports it */
	case CHAN_SESSION:
		/* an endpoint as addr_format writes it: an address, brackets, a port, a scope */
		return m.arg != 0 && (m.u.text.status == 0 || m.u.text.status == 1) &&
		    terminated(m.u.text.text, sizeof(m.u.text.text)) &&
		    strspn(m.u.text.text, "0123456789abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ.:[]%-_") == strlen(m.u.text.text);
	case CHAN_RESOLVE:
		return m.arg != 0 && m.u.addr.index < CONFIG_MAX_REMOTES;
	case CHAN_RESOLVED:
		return m.arg != 0 && m.u.addr.index < CONFIG_MAX_REMOTES &&
		    terminated(m.u.addr.err, sizeof(m.u.addr.err)) && (m.u.addr.status == 1 ||
		    (m.u.addr.status == 0 && addr_valid(&m.u.addr.addr, m.u.addr.len)));
	case CHAN_TYPE_MAX:
		break;
	}
	return false;
}

int
chan_send(int sock, const struct chan_msg *m, int fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov;
	struct msghdr mh;
	struct cmsghdr *cm;
	ssize_t n;

	if (m->type == 0 || m->type >= CHAN_TYPE_MAX || types[m->type].fd != (fd != -1))
		return -1;
	memset(&mh, 0, sizeof(mh));
	iov.iov_base = (void *)(uintptr_t)m;
	iov.iov_len = types[m->type].size;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (fd != -1) {
		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = sizeof(ctl.buf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	do
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (n == -1 && errno == EINTR);
	return n == (ssize_t)iov.iov_len ? 0 : -1;
}

int
chan_send_simple(int sock, enum chan_type type, uint32_t arg)
{
	struct chan_msg m;

	memset(&m, 0, sizeof(m));
	m.type = type;
	m.arg = arg;
	return chan_send(sock, &m, -1);
}

int
chan_recv(int sock, bool down, struct chan_msg *m, int *fd)
{
	union {
		char buf[CMSG_SPACE(2 * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov;
	struct msghdr mh;
	struct cmsghdr *cm;
	int fds[2], nfds = 0;
	bool bad = false;
	ssize_t n;

	*fd = -1;
	memset(m, 0, sizeof(*m));
	memset(&mh, 0, sizeof(mh));
	iov.iov_base = m;
	iov.iov_len = sizeof(*m);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = ctl.buf;
	mh.msg_controllen = sizeof(ctl.buf);
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		return (errno == EAGAIN || errno == EWOULDBLOCK) ? -1 : 0;
	if (n == 0)
		return 0;
	/* Take every descriptor that came, so none leaks whatever the message is. */
	for (cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) {
			bad = true;
			continue;
		}
		for (size_t k = 0; k < (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int); k++) {
			int f;

			memcpy(&f, CMSG_DATA(cm) + k * sizeof(int), sizeof(int));
			if (nfds < 2)
				fds[nfds++] = f;
			else
				close(f);
		}
	}
	if ((mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || nfds > 1 || bad ||
	    !chan_valid(m, (size_t)n, nfds == 1, down)) {
		for (int k = 0; k < nfds; k++)
			close(fds[k]);
		return -2;
	}
	if (nfds == 1)
		*fd = fds[0];
	return 1;
}
