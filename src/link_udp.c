/* link_udp.c - the UDP link policy (link_udp.h). */
#include "link_udp.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "transport.h"

void
udp_link_server(struct udp_link *l, int fd)
{
	memset(l, 0, sizeof(*l));
	l->fd = -1;
	udp_link_set_fd(l, fd);
}

void
udp_link_set_fd(struct udp_link *l, int fd)
{
	if (l->fd != -1 && l->fd != fd)
		close(l->fd);
	l->fd = fd;
	l->gso = fd != -1 && udp_gso_supported(fd);
	l->gro = false;
	if (l->gro_wanted)
		udp_link_want_gro(l);
}

void
udp_link_want_gro(struct udp_link *l)
{
	l->gro_wanted = true;
	if (l->fd != -1 && !l->gro) {
		l->gro = udp_gro_set(l->fd, true);
		if (!l->gro)
			log_info("udp: the kernel cannot coalesce received datagrams (UDP_GRO: %s)",
			    strerror(errno));
	}
}

/*
 * Client: connect the socket to the server (again). The kernel then looks the route up once
 * instead of per datagram and picks the source address and port afresh, which a host that
 * moved to another network needs. Without a route now, datagrams go out with the address until
 * the next try.
 */
static void
client_connect(struct udp_link *l)
{
	bool was = l->connected;
	char err[256];

	l->connected = udp_connect(l->fd, (const struct sockaddr *)&l->remote, l->remote_len,
	    err, sizeof(err)) == 0;
	if (!l->connected && (was || !l->tried))
		log_warnx("%s: sending unconnected", err);
	l->tried = true;
}

int
udp_link_client(struct udp_link *l, int fd, const struct sockaddr *remote, socklen_t len,
    char *err, size_t errlen)
{
	memset(l, 0, sizeof(*l));
	l->fd = fd != -1 ? fd : udp_socket(remote->sa_family, err, errlen);
	if (l->fd == -1)
		return -1;
	if (fd != -1) {
		/* A socket used before (a copy of the parent's, kept across restarts of the
		 * peer): as it came, without GRO, nothing queued, no error waiting. */
		udp_gro_set(fd, false);
		udp_drain(fd);
	}
	l->client = true;
	memcpy(&l->remote, remote, len);
	l->remote_len = len;
	l->gso = udp_gso_supported(l->fd);
	l->gro = false;
	client_connect(l);
	return 0;
}

int
udp_link_retarget(struct udp_link *l, const struct sockaddr *remote, socklen_t len)
{
	if (!l->client || l->fd == -1 || remote->sa_family != l->remote.ss_family ||
	    len > sizeof(l->remote))
		return -1;
	if (l->remote_len == len && memcmp(&l->remote, remote, len) == 0 && l->connected)
		return 0;
	memcpy(&l->remote, remote, len);
	l->remote_len = len;
	l->tried = false;
	client_connect(l);
	return 0;
}

void
udp_link_close(struct udp_link *l)
{
	/* A client's socket may live on in a copy (the parent's, for the next start): it stops
	 * receiving from the server now. */
	if (l->fd != -1 && l->client)
		udp_disconnect(l->fd);
	if (l->fd != -1)
		close(l->fd);
	l->fd = -1;
	l->connected = false;
}

void
udp_link_peer_init(const struct udp_link *l, struct udp_peer *up)
{
	memset(up, 0, sizeof(*up));
	if (l->client) {
		memcpy(&up->ep, &l->remote, l->remote_len);
		up->ep_len = l->remote_len;
	}
}

bool
udp_link_set_endpoint(struct udp_link *l, struct udp_peer *up, const char *name,
    const struct sockaddr *src, socklen_t srclen)
{
	char a[80];

	if (l->client || srclen > sizeof(up->ep))
		return false; /* a client's peer is the server it dialled */
	if (up->ep_len == srclen && addr_equal((const struct sockaddr *)&up->ep, src))
		return false;
	addr_format(src, a, sizeof(a));
	if (up->ep_len == 0)
		log_info("peer %s: endpoint %s", name, a);
	else if (log_ratelimit_ok(&l->rl_roam))
		log_info("peer %s: endpoint now %s", name, a);
	memcpy(&up->ep, src, srclen);
	up->ep_len = srclen;
	return true;
}

/* Where a peer's datagrams go: NULL on the client's connected socket. */
static const struct sockaddr *
dst_of(const struct udp_link *l, const struct udp_peer *up)
{
	return l->connected ? NULL : (const struct sockaddr *)&up->ep;
}

/* A send failed with an error (errno), not a full buffer. If the source address went away or
 * there is no route, a client connects again; a port closed at the server or a firewall is not
 * the client's socket to fix, and the server's socket has nothing to redo. */
static void
send_failed(struct udp_link *l)
{
	if (!l->client)
		return;
	if (errno == ENETUNREACH || errno == EHOSTUNREACH || errno == ENETDOWN ||
	    errno == EADDRNOTAVAIL || errno == EINVAL)
		client_connect(l);
}

int
udp_link_send(struct udp_link *l, const struct udp_peer *up, const struct buf *b)
{
	int rc;

	if (l->fd == -1 || up->ep_len == 0)
		return -1;
	/* A client without a route at its last connect tries again with each handshake or
	 * keepalive message. */
	if (l->client && !l->connected)
		client_connect(l);
	rc = udp_send(l->fd, b->mem + b->off, b->len, dst_of(l, up), up->ep_len);
	if (rc == -1)
		send_failed(l);
	return rc == 0 ? 0 : -1;
}

/* Whether datagrams to the peer leave over IPv4 (also v4-mapped on a dual-stack socket). */
static bool
peer_v4(const struct udp_peer *up)
{
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&up->ep;

	return up->ep.ss_family == AF_INET ||
	    (up->ep.ss_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr));
}

int
udp_link_send_batch(struct udp_link *l, const struct udp_peer *up, struct buf *bufs,
    const uint8_t *tos, int n)
{
	int sent = 0, rc;
	bool gso;

	if (n == 0 || l->fd == -1 || up->ep_len == 0)
		return 0;
	for (int tries = 0; tries < 2 && sent < n; tries++) {
		bool off = false;

		gso = l->gso;
		rc = udp_send_batch(l->fd, bufs + sent, n - sent, dst_of(l, up), up->ep_len,
		    tos != NULL ? tos + sent : NULL, peer_v4(up), up->no_gso ? &off : &l->gso);
		if (rc == -1)
			send_failed(l);
		else
			sent += rc;
		if (gso && !l->gso)
			log_info("udp: the kernel refuses segmentation offload on this path (%s); "
			    "sending one datagram per message", strerror(errno));
	}
	return sent;
}

int
udp_link_reply(struct udp_link *l, const struct sockaddr *src, socklen_t srclen,
    const struct buf *b)
{
	if (l->fd == -1 || l->client)
		return -1;
	return udp_send(l->fd, b->mem + b->off, b->len, src, srclen) == 0 ? 0 : -1;
}

void
udp_link_session_down(struct udp_link *l)
{
	if (l->client)
		client_connect(l);
}
