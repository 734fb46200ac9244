/* transport_udp.c - address parsing and UDP datagrams: one socket serves every UDP peer. */
#include "transport.h"

#include "addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
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

ssize_t
udp_recv(int fd, struct buf *b, struct sockaddr_storage *src, socklen_t *srclen)
{
	ssize_t n;

	buf_reset(b);
	*srclen = sizeof(*src);
	n = recvfrom(fd, buf_data(b), buf_tailroom(b), MSG_TRUNC, (struct sockaddr *)src,
	    srclen);
	if (n == -1)
		return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? 0 : -1;
	/* An empty or oversized datagram is consumed with an empty buffer: it counts as
	 * malformed and the batch goes on. */
	if (n > 0 && (size_t)n <= buf_tailroom(b))
		buf_put(b, (size_t)n);
	return 1;
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
