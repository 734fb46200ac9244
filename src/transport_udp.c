/* transport_udp.c - address parsing and UDP datagrams: one socket serves every UDP peer. */
#define _GNU_SOURCE /* recvmmsg, sendmmsg */
#include "transport.h"

#include "addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/udp.h>
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

/* Limits of one UDP_SEGMENT send: the kernel's segment count (UDP_MAX_SEGMENTS) and what fits
 * the IP length field with room for the headers. */
#define UDP_GSO_MAX_SEGS 64
#define UDP_GSO_MAX_BYTES 65000

/* Socket buffers of a few MB absorb bursts a batch-driven loop cannot drain at once. */
#define UDP_SOCKBUF (4 * 1024 * 1024)

int
udp_socket_copy(int fd, char *err, size_t errlen)
{
	int c = fcntl(fd, F_DUPFD_CLOEXEC, 0);

	if (c == -1)
		snprintf(err, errlen, "udp socket copy: %s", strerror(errno));
	return c;
}

int
udp_socket(int family, char *err, size_t errlen)
{
	int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int size = UDP_SOCKBUF, on = 1;

	if (fd == -1) {
		snprintf(err, errlen, "udp socket: %s", strerror(errno));
		return -1;
	}
	/* The FORCE variants need CAP_NET_ADMIN; without it the kernel caps at rmem_max. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) == -1)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) == -1)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	/* The outer TOS / traffic class of every datagram, for ECN (IPv4 ones on a dual-stack
	 * socket come with IP_TOS). */
	setsockopt(fd, IPPROTO_IP, IP_RECVTOS, &on, sizeof(on));
	if (family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_RECVTCLASS, &on, sizeof(on));
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

/* Room for the control messages of one received message: TOS or traffic class, GRO size. */
#define RX_CTL_LEN (2 * CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(int)))

/* Take the TOS byte and the GRO segment size out of a received message's control data. */
static void
rx_control(struct msghdr *h, struct udp_rx *rx)
{
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(h); cm != NULL; cm = CMSG_NXTHDR(h, cm)) {
		int v = 0;

		if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_TOS &&
		    cm->cmsg_len >= CMSG_LEN(1)) {
			rx->tos = *CMSG_DATA(cm);
		} else if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_TCLASS &&
		    cm->cmsg_len >= CMSG_LEN(sizeof(int))) {
			memcpy(&v, CMSG_DATA(cm), sizeof(v));
			rx->tos = (uint8_t)v;
		} else if (cm->cmsg_level == SOL_UDP && cm->cmsg_type == UDP_GRO &&
		    cm->cmsg_len >= CMSG_LEN(sizeof(int))) {
			memcpy(&v, CMSG_DATA(cm), sizeof(v));
			if (v > 0 && (size_t)v < rx->len)
				rx->seg = (size_t)v;
		}
	}
}

int
udp_recv_batch(int fd, const struct iovec *bufs, struct udp_rx *rx, int max)
{
	struct mmsghdr msgs[UDP_BATCH_MAX];
	union {
		uint8_t b[RX_CTL_LEN];
		struct cmsghdr align;
	} ctl[UDP_BATCH_MAX];
	int n;

	if (max > UDP_BATCH_MAX)
		max = UDP_BATCH_MAX;
	memset(msgs, 0, sizeof(msgs[0]) * (size_t)max);
	for (int i = 0; i < max; i++) {
		msgs[i].msg_hdr.msg_name = &rx[i].src;
		msgs[i].msg_hdr.msg_namelen = sizeof(rx[i].src);
		msgs[i].msg_hdr.msg_iov = (struct iovec *)(uintptr_t)&bufs[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		msgs[i].msg_hdr.msg_control = ctl[i].b;
		msgs[i].msg_hdr.msg_controllen = sizeof(ctl[i].b);
	}
	n = recvmmsg(fd, msgs, (unsigned int)max, MSG_DONTWAIT, NULL);
	if (n == -1)
		return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? 0 : -1;
	for (int i = 0; i < n; i++) {
		rx[i].srclen = msgs[i].msg_hdr.msg_namelen;
		/* An empty or truncated (oversized) datagram is empty: it counts as malformed
		 * and the batch goes on. */
		rx[i].len = msgs[i].msg_hdr.msg_flags & MSG_TRUNC ? 0 : msgs[i].msg_len;
		rx[i].seg = rx[i].len;
		rx[i].tos = 0;
		rx_control(&msgs[i].msg_hdr, &rx[i]);
	}
	return n;
}

bool
udp_gro_set(int fd, bool on)
{
	int v = on;

	return setsockopt(fd, SOL_UDP, UDP_GRO, &v, sizeof(v)) == 0;
}

void
udp_disconnect(int fd)
{
	struct sockaddr unspec = { .sa_family = AF_UNSPEC };

	connect(fd, &unspec, sizeof(unspec));
}

void
udp_drain(int fd)
{
	uint8_t b[1];
	int soerr;
	socklen_t len = sizeof(soerr);

	getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
	for (int i = 0; i < 100000; i++)
		if (recv(fd, b, sizeof(b), MSG_DONTWAIT | MSG_TRUNC) == -1 && errno != EINTR)
			break;
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

/* How many of bufs[0..n) one GSO send can carry: a run of datagrams as long as the first, the
 * last of them possibly shorter, of one tos, within the kernel's limits. */
static int
gso_run(const struct buf *bufs, const uint8_t *tos, int n)
{
	size_t seg = bufs[0].len, total = seg;
	int k = 1;

	while (k < n && k < UDP_GSO_MAX_SEGS && bufs[k].len <= seg &&
	    total + bufs[k].len <= UDP_GSO_MAX_BYTES && (tos == NULL || tos[k] == tos[0])) {
		total += bufs[k].len;
		if (bufs[k++].len < seg)
			break; /* a shorter datagram ends the run */
	}
	return k;
}

int
udp_send_batch(int fd, struct buf *bufs, int n, const struct sockaddr *dst, socklen_t dstlen,
    const uint8_t *tos, bool v4, bool *gso)
{
	struct mmsghdr msgs[UDP_BATCH_MAX];
	struct iovec iov[UDP_BATCH_MAX];
	union {
		uint8_t b[CMSG_SPACE(sizeof(uint16_t)) + CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl[UDP_BATCH_MAX];
	int first[UDP_BATCH_MAX + 1]; /* the first datagram of each message */
	int nmsg = 0, sent;

	if (n > UDP_BATCH_MAX)
		n = UDP_BATCH_MAX;
	if (n <= 0)
		return 0;
	memset(msgs, 0, sizeof(msgs[0]) * (size_t)n);
	for (int i = 0; i < n; i++) {
		iov[i].iov_base = buf_data(&bufs[i]);
		iov[i].iov_len = bufs[i].len;
	}
	for (int i = 0, k; i < n; i += k, nmsg++) {
		struct msghdr *h = &msgs[nmsg].msg_hdr;

		size_t clen = 0;

		k = *gso ? gso_run(bufs + i, tos != NULL ? tos + i : NULL, n - i) : 1;
		first[nmsg] = i;
		h->msg_name = (void *)(uintptr_t)dst;
		h->msg_namelen = dst != NULL ? dstlen : 0;
		h->msg_iov = &iov[i];
		h->msg_iovlen = (size_t)k;
		h->msg_control = ctl[nmsg].b;
		h->msg_controllen = sizeof(ctl[nmsg].b);
		if (k > 1) {
			/* One message, cut by the kernel (or the NIC) into datagrams of this size. */
			uint16_t size = (uint16_t)bufs[i].len;
			struct cmsghdr *cm = (struct cmsghdr *)(void *)ctl[nmsg].b;

			cm->cmsg_level = SOL_UDP;
			cm->cmsg_type = UDP_SEGMENT;
			cm->cmsg_len = CMSG_LEN(sizeof(size));
			memcpy(CMSG_DATA(cm), &size, sizeof(size));
			clen += CMSG_SPACE(sizeof(size));
		}
		if (tos != NULL && tos[i] != 0) {
			/* The outer ECN field (RFC 6040), per message. */
			struct cmsghdr *cm = (struct cmsghdr *)(void *)(ctl[nmsg].b + clen);
			int v = tos[i];

			cm->cmsg_level = v4 ? IPPROTO_IP : IPPROTO_IPV6;
			cm->cmsg_type = v4 ? IP_TOS : IPV6_TCLASS;
			cm->cmsg_len = CMSG_LEN(sizeof(v));
			memcpy(CMSG_DATA(cm), &v, sizeof(v));
			clen += CMSG_SPACE(sizeof(v));
		}
		h->msg_controllen = clen;
		if (clen == 0)
			h->msg_control = NULL;
	}
	first[nmsg] = n;
	sent = sendmmsg(fd, msgs, (unsigned int)nmsg, 0);
	if (sent >= 0)
		return first[sent];
	if (msgs[0].msg_hdr.msg_iovlen > 1 &&
	    (errno == EIO || errno == EINVAL || errno == EMSGSIZE)) {
		/* The route cannot segment (no checksum offload: EIO) or the datagrams are larger
		 * than the path MTU and need IP fragments (EMSGSIZE, EINVAL on older kernels): one
		 * datagram per message from now on. */
		*gso = false;
		return udp_send_batch(fd, bufs, n, dst, dstlen, tos, v4, gso);
	}
	return (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) ? 0 : -1;
}

bool
udp_gso_supported(int fd)
{
	int zero = 0;

	/* Linux 4.18 and later know the option; 0 leaves sends unsegmented by default. */
	return setsockopt(fd, SOL_UDP, UDP_SEGMENT, &zero, sizeof(zero)) == 0;
}
