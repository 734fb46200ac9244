/* transport_tcp.c - length-prefixed messages over TCP with fixed buffers and partial I/O. */
#define _GNU_SOURCE
#include "transport.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

_Static_assert(WIRE_FRAME_MAX == BUF_MAX_FRAME, "one largest frame for wire and buf");
_Static_assert(WIRE_MSG_MAX <= BUF_CAP - BUF_HEADROOM, "a buf holds the largest message");

int
tcp_listen(const struct sockaddr *addr, socklen_t len, char *err, size_t errlen)
{
	char a[80];
	int fd, on = 1, off = 0;

	fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		snprintf(err, errlen, "tcp socket: %s", strerror(errno));
		return -1;
	}
	if (addr->sa_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (bind(fd, addr, len) == -1 || listen(fd, 64) == -1) {
		addr_format(addr, a, sizeof(a));
		snprintf(err, errlen, "listen tcp %s: %s", a, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int
tcp_conn_buffers(struct tcp_conn *c, size_t rx_cap, size_t tx_cap)
{
	uint8_t *rx, *tx;

	if (rx_cap < TCP_RX_SMALL)
		rx_cap = TCP_RX_SMALL;
	if (tx_cap < TCP_TX_SMALL)
		tx_cap = TCP_TX_SMALL;
	if (rx_cap <= c->rx_cap && tx_cap <= c->tx_cap)
		return 0;
	rx = malloc(rx_cap > c->rx_cap ? rx_cap : c->rx_cap);
	tx = malloc(tx_cap > c->tx_cap ? tx_cap : c->tx_cap);
	if (rx == NULL || tx == NULL) {
		free(rx);
		free(tx);
		return -1;
	}
	/* Compact while copying: the waiting bytes move to the front. */
	if (c->rx_len > 0)
		memcpy(rx, c->rx + c->rx_off, c->rx_len);
	if (c->tx_len > 0)
		memcpy(tx, c->tx + c->tx_off, c->tx_len);
	free(c->rx);
	free(c->tx);
	c->rx = rx;
	c->tx = tx;
	c->rx_off = c->tx_off = 0;
	if (rx_cap > c->rx_cap)
		c->rx_cap = rx_cap;
	if (tx_cap > c->tx_cap)
		c->tx_cap = tx_cap;
	return 0;
}

void
tcp_conn_free(struct tcp_conn *c)
{
	free(c->rx);
	free(c->tx);
	c->rx = c->tx = NULL;
	c->rx_cap = c->tx_cap = 0;
	c->rx_off = c->rx_len = c->tx_off = c->tx_len = 0;
}

static void
conn_init(struct tcp_conn *c, int fd)
{
	int on = 1;

	c->fd = fd;
	c->connecting = false;
	c->rx_off = 0;
	c->rx_len = 0;
	c->tx_off = 0;
	c->tx_len = 0;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
}

int
tcp_accept(int lfd, struct tcp_conn *c, struct sockaddr_storage *src, socklen_t *srclen)
{
	int fd;

	*srclen = sizeof(*src);
	fd = accept4(lfd, (struct sockaddr *)src, srclen, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd == -1)
		return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ||
		    errno == ECONNABORTED) ? 1 : -1;
	conn_init(c, fd);
	return 0;
}

int
tcp_connect(struct tcp_conn *c, const struct sockaddr *dst, socklen_t len, char *err,
    size_t errlen)
{
	char a[80];
	int fd;

	fd = socket(dst->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		snprintf(err, errlen, "tcp socket: %s", strerror(errno));
		return -1;
	}
	conn_init(c, fd);
	if (connect(fd, dst, len) == -1) {
		if (errno != EINPROGRESS) {
			addr_format(dst, a, sizeof(a));
			snprintf(err, errlen, "connect %s: %s", a, strerror(errno));
			close(fd);
			c->fd = -1;
			return -1;
		}
		c->connecting = true;
	}
	return 0;
}

int
tcp_connect_done(struct tcp_conn *c, char *err, size_t errlen)
{
	int e = 0;
	socklen_t elen = sizeof(e);

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &elen) == -1)
		e = errno;
	if (e != 0) {
		snprintf(err, errlen, "%s", strerror(e));
		return -1;
	}
	c->connecting = false;
	return 0;
}

ssize_t
tcp_fill(struct tcp_conn *c)
{
	ssize_t n;

	if (c->rx_off > 0) {
		memmove(c->rx, c->rx + c->rx_off, c->rx_len);
		c->rx_off = 0;
	}
	if (c->rx_len == c->rx_cap)
		return 0;
	n = recv(c->fd, c->rx + c->rx_len, c->rx_cap - c->rx_len, 0);
	if (n == 0)
		return -1;
	if (n == -1)
		return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? 0 : -1;
	c->rx_len += (size_t)n;
	return n;
}

int
tcp_next_message(struct tcp_conn *c, struct buf *b)
{
	size_t mlen;

	if (c->rx_len < WIRE_TCP_PREFIX_LEN)
		return 0;
	mlen = wire_get16(c->rx + c->rx_off);
	if (mlen == 0 || mlen > WIRE_MSG_MAX)
		return -1;
	if (c->rx_len < WIRE_TCP_PREFIX_LEN + mlen)
		return 0;
	buf_reset(b);
	memcpy(buf_put(b, mlen), c->rx + c->rx_off + WIRE_TCP_PREFIX_LEN, mlen);
	c->rx_off += WIRE_TCP_PREFIX_LEN + mlen;
	c->rx_len -= WIRE_TCP_PREFIX_LEN + mlen;
	if (c->rx_len == 0)
		c->rx_off = 0;
	return 1;
}

int
tcp_queue(struct tcp_conn *c, const uint8_t *p, size_t len)
{
	size_t need = WIRE_TCP_PREFIX_LEN + len;

	if (len == 0 || len > WIRE_MSG_MAX)
		return -1;
	if (c->tx_off + c->tx_len + need > c->tx_cap) {
		/* Compact: move the unsent bytes to the front. */
		memmove(c->tx, c->tx + c->tx_off, c->tx_len);
		c->tx_off = 0;
		if (c->tx_len + need > c->tx_cap)
			return -1;
	}
	wire_put16(c->tx + c->tx_off + c->tx_len, (uint16_t)len);
	memcpy(c->tx + c->tx_off + c->tx_len + WIRE_TCP_PREFIX_LEN, p, len);
	c->tx_len += need;
	return 0;
}

int
tcp_flush(struct tcp_conn *c)
{
	ssize_t n;

	while (c->tx_len > 0) {
		n = send(c->fd, c->tx + c->tx_off, c->tx_len, MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 1;
			if (errno == EINTR)
				continue;
			return -1;
		}
		c->tx_off += (size_t)n;
		c->tx_len -= (size_t)n;
	}
	c->tx_off = 0;
	return 0;
}

void
tcp_close(struct tcp_conn *c)
{
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	c->connecting = false;
	c->rx_off = 0;
	c->rx_len = 0;
	c->tx_off = 0;
	c->tx_len = 0;
}
