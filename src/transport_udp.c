/* transport_udp.c - address parsing and UDP datagrams: one socket serves every UDP peer. */
#define _GNU_SOURCE /* recvmmsg, sendmmsg */
#include "transport.h"

#include "addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int
transport_resolve(const char *host, uint16_t port, int socktype, struct sockaddr_storage *ss,
    socklen_t *sslen, char *err, size_t errlen)
{
	struct addrinfo hints, *res = NULL;
	char h[256], p[8];
	int rc;

	snprintf(h, sizeof(h), "%s", host);
	if (h[0] == '[') {
		size_t n = strlen(h);

		if (n < 3 || h[n - 1] != ']') {
			snprintf(err, errlen, "%s: malformed address", host);
			return -1;
		}
		memmove(h, h + 1, n - 2);
		h[n - 2] = '\0';
	}
	snprintf(p, sizeof(p), "%u", port);
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = socktype;
	hints.ai_flags = AI_NUMERICSERV;
	rc = getaddrinfo(h, p, &hints, &res);
	if (rc != 0) {
		snprintf(err, errlen, "%s: %s", host, gai_strerror(rc));
		return -1;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*sslen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/* Socket buffers of a few MB absorb bursts a batch-driven loop cannot drain at once. */
#define UDP_SOCKBUF (4 * 1024 * 1024)

int
udp_socket(int family, char *err, size_t errlen)
{
	int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int size = UDP_SOCKBUF;

	if (fd == -1) {
		snprintf(err, errlen, "udp socket: %s", strerror(errno));
		return -1;
	}
	/* The FORCE variants need CAP_NET_ADMIN; without it the kernel caps at rmem_max. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) == -1)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) == -1)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	return fd;
}

int
udp_connect(int fd, const struct sockaddr *dst, socklen_t len, char *err, size_t errlen)
{
	struct sockaddr unspec = { .sa_family = AF_UNSPEC };
	char a[80];

	/* Dissolve an earlier connection first: the kernel then forgets the source address and
	 * port it chose and picks them afresh for the current routes. */
	connect(fd, &unspec, sizeof(unspec));
	if (connect(fd, dst, len) == -1) {
		addr_format(dst, a, sizeof(a));
		snprintf(err, errlen, "connect udp %s: %s", a, strerror(errno));
		return -1;
	}
	return 0;
}

int
udp_bind(const struct sockaddr *addr, socklen_t len, char *err, size_t errlen)
{
	char a[80];
	int fd, off = 0, on = 1;

	fd = udp_socket(addr->sa_family, err, errlen);
	if (fd == -1)
		return -1;
	if (addr->sa_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (bind(fd, addr, len) == -1) {
		addr_format(addr, a, sizeof(a));
		snprintf(err, errlen, "bind udp %s: %s", a, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int
udp_recv_batch(int fd, struct buf *bufs, struct sockaddr_storage *srcs, socklen_t *srclens,
    int max)
{
	struct mmsghdr msgs[UDP_BATCH_MAX];
	struct iovec iov[UDP_BATCH_MAX];
	int n;

	if (max > UDP_BATCH_MAX)
		max = UDP_BATCH_MAX;
	memset(msgs, 0, sizeof(msgs[0]) * (size_t)max);
	for (int i = 0; i < max; i++) {
		buf_reset(&bufs[i]);
		iov[i].iov_base = buf_data(&bufs[i]);
		iov[i].iov_len = buf_tailroom(&bufs[i]);
		msgs[i].msg_hdr.msg_name = &srcs[i];
		msgs[i].msg_hdr.msg_namelen = sizeof(srcs[i]);
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	n = recvmmsg(fd, msgs, (unsigned int)max, MSG_DONTWAIT, NULL);
	if (n == -1)
		return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? 0 : -1;
	for (int i = 0; i < n; i++) {
		srclens[i] = msgs[i].msg_hdr.msg_namelen;
		/* An empty or truncated (oversized) datagram stays an empty buffer: it counts as
		 * malformed and the batch goes on. */
		if (msgs[i].msg_len > 0 && !(msgs[i].msg_hdr.msg_flags & MSG_TRUNC))
			buf_put(&bufs[i], msgs[i].msg_len);
	}
	return n;
}

int
udp_send(int fd, const uint8_t *p, size_t len, const struct sockaddr *dst, socklen_t dstlen)
{
	if (sendto(fd, p, len, 0, dst, dstlen) == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)
			return 1;
		return -1;
	}
	return 0;
}

int
udp_send_batch(int fd, struct buf *bufs, int n, const struct sockaddr *dst, socklen_t dstlen)
{
	struct mmsghdr msgs[UDP_BATCH_MAX];
	struct iovec iov[UDP_BATCH_MAX];
	int sent;

	if (n > UDP_BATCH_MAX)
		n = UDP_BATCH_MAX;
	if (n <= 0)
		return 0;
	memset(msgs, 0, sizeof(msgs[0]) * (size_t)n);
	for (int i = 0; i < n; i++) {
		iov[i].iov_base = buf_data(&bufs[i]);
		iov[i].iov_len = bufs[i].len;
		msgs[i].msg_hdr.msg_name = (void *)(uintptr_t)dst;
		msgs[i].msg_hdr.msg_namelen = dst != NULL ? dstlen : 0;
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	sent = sendmmsg(fd, msgs, (unsigned int)n, 0);
	if (sent >= 0)
		return sent;
	return (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) ? 0 : -1;
}
