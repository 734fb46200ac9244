/*
 * transport.h - moving wire messages over the underlay. UDP: one datagram per message, one
 * socket serving every peer. TCP: a stream of messages, each behind a 2-byte big-endian length,
 * with fixed-size receive and send buffers: partial reads and writes are resumed, and a full send
 * buffer is reported so the engine stops reading the device (backpressure) instead of queueing
 * without bound.
 */
#ifndef VT_TRANSPORT_H
#define VT_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "addr.h"
#include "buf.h"
#include "wire.h"

/* Parse "host", "host:port", "[v6]:port" and resolve it (numeric or by name); 0 or -1 with a
 * message in err. Start-up only: may block on DNS. */
int transport_resolve(const char *host, uint16_t port, int socktype,
    struct sockaddr_storage *ss, socklen_t *sslen, char *err, size_t errlen);

/* UDP */
/* A non-blocking UDP socket bound to addr (dual-stack when it is [::]); -1 with err. */
int udp_bind(const struct sockaddr *addr, socklen_t len, char *err, size_t errlen);
/* An unbound non-blocking UDP socket of addr's family (client). */
int udp_socket(int family, char *err, size_t errlen);
/* A copy of socket fd (close-on-exec): -1 with err. */
int udp_socket_copy(int fd, char *err, size_t errlen);
/* Connect the socket to dst, or again (client): datagrams then leave without an address and the
 * route is looked up once, not per packet; only datagrams from dst are received. Connecting
 * again picks the source address and port afresh. 0 or -1 with err (the socket is then
 * unconnected). */
int udp_connect(int fd, const struct sockaddr *dst, socklen_t len, char *err, size_t errlen);
/* The most datagrams one udp_recv_batch or udp_send_batch call moves (one system call). */
#define UDP_BATCH_MAX 64
/* What one received message holds: a datagram of len bytes or, with UDP GRO, a run of
 * datagrams of seg bytes each (the last may be shorter) that the kernel coalesced; and the
 * TOS / traffic class byte of its IP header (ECN). */
struct udp_rx {
	size_t len;  /* 0: empty, or truncated (larger than its buffer) */
	size_t seg;  /* bytes per datagram (len when it is one) */
	uint8_t tos;
	struct sockaddr_storage src;
	socklen_t srclen;
};
/* Receive up to max (at most UDP_BATCH_MAX) messages in one system call, message i into
 * bufs[i]. Returns how many were consumed, 0 if nothing is waiting, -1 on error. */
int udp_recv_batch(int fd, const struct iovec *bufs, struct udp_rx *rx, int max);
/* Ask the kernel to coalesce received datagrams of one flow into one message (UDP_GRO, Linux
 * 5.0), or to stop: true if it took the setting. With it on, buffers must hold 65535 bytes. */
bool udp_gro_set(int fd, bool on);
/* Dissolve the socket's connection: a socket the kernel bound for the connect then receives
 * nothing more (a copy of it may live on). */
void udp_disconnect(int fd);
/* Throw away the datagrams and the error waiting on a socket taken over from an earlier use. */
void udp_drain(int fd);
/* Send one datagram (dst NULL on a connected socket); 0, 1 if the socket buffer is full
 * (dropped), -1 on error. */
int udp_send(int fd, const uint8_t *p, size_t len, const struct sockaddr *dst,
    socklen_t dstlen);
/*
 * Send bufs[0..n) (n at most UDP_BATCH_MAX), one datagram each, to dst (NULL on a connected
 * socket) in one system call. tos (NULL: none) gives each datagram's TOS / traffic class byte
 * (ECN), v4 whether the destination is IPv4 (also v4-mapped). With *gso set, each run of
 * equal-sized datagrams of one tos goes down the stack as one message that the kernel or the
 * NIC cuts up (UDP_SEGMENT); if the kernel refuses that, *gso is cleared and the batch goes out
 * unsegmented. Returns how many datagrams the socket took (0..n; 0 if its buffer is full), or
 * -1 if the first one failed with an error.
 */
int udp_send_batch(int fd, struct buf *bufs, int n, const struct sockaddr *dst,
    socklen_t dstlen, const uint8_t *tos, bool v4, bool *gso);
/* Whether the kernel can segment datagrams sent on fd (UDP_SEGMENT, Linux 4.18). */
bool udp_gso_supported(int fd);

/* TCP */
/* Buffers of a connection that carries a peer: a receive ring for many messages per read, and
 * a send queue deep enough for a burst (above TCP_TX_HIGH the engine stops reading the device). */
#define TCP_RX_CAP (128 * 1024)
#define TCP_TX_CAP (1024 * 1024)
#define TCP_TX_HIGH (256 * 1024)
/* Buffers of a connection nobody has identified yet: room for exactly one message of the
 * largest size in, and for a handshake response or cookie reply out. A few KiB, so that idle
 * connections cost little. */
#define TCP_RX_SMALL (WIRE_TCP_PREFIX_LEN + WIRE_MSG_MAX)
#define TCP_TX_SMALL 512

struct tcp_conn {
	int fd;
	bool connecting;       /* non-blocking connect in progress */
	size_t rx_off, rx_len; /* bytes waiting are rx[rx_off .. rx_off + rx_len) */
	size_t tx_off, tx_len; /* unsent bytes are tx[tx_off .. tx_off + tx_len) */
	size_t rx_cap, tx_cap;
	uint8_t *rx, *tx;
};

/* Give c (fd -1, empty) buffers of these sizes, or grow them keeping what they hold; at least
 * TCP_RX_SMALL and TCP_TX_SMALL. 0, or -1 (out of memory: c unchanged). */
int tcp_conn_buffers(struct tcp_conn *c, size_t rx_cap, size_t tx_cap);
/* Free the buffers (after tcp_close). */
void tcp_conn_free(struct tcp_conn *c);
/* A listening socket on addr; -1 with err. */
int tcp_listen(const struct sockaddr *addr, socklen_t len, char *err, size_t errlen);
/* Accept one connection: sets c's fd (non-blocking, TCP_NODELAY); 0, 1 if none waiting, -1. */
int tcp_accept(int lfd, struct tcp_conn *c, struct sockaddr_storage *src, socklen_t *srclen);
/* Start a non-blocking connect; 0 (connected or in progress) or -1 with err. */
int tcp_connect(struct tcp_conn *c, const struct sockaddr *dst, socklen_t len, char *err,
    size_t errlen);
/* After the socket became writable during a connect: 0 connected, -1 failed (err set). */
int tcp_connect_done(struct tcp_conn *c, char *err, size_t errlen);
/* Read what the socket has into rx: bytes read, 0 if nothing, -1 on EOF or error. */
ssize_t tcp_fill(struct tcp_conn *c);
/* Take the next complete message out of rx into b: 1 if one was taken, 0 if incomplete, -1 if
 * the stream is corrupt (a length of 0 or above WIRE_MSG_MAX: reported as soon as the prefix
 * is in, before its body arrives). */
int tcp_next_message(struct tcp_conn *c, struct buf *b);
/* Append a message (1..WIRE_MSG_MAX bytes) to tx: 0, or -1 if it does not fit. */
int tcp_queue(struct tcp_conn *c, const uint8_t *p, size_t len);
/* Write as much of tx as the socket takes: 0 all written, 1 data left (wait for writable),
 * -1 error. */
int tcp_flush(struct tcp_conn *c);
/* Close the socket and empty the buffers. */
void tcp_close(struct tcp_conn *c);

#endif
