/*
 * link_tcp.h - the TCP link policy: the connections of a daemon, which peer each belongs to,
 * and what an unidentified connection may cost.
 *
 *  - A connection belongs to one peer for life. A server's accepted connection belongs to no
 *    one until the first authenticated data packet under keys whose handshake came over that
 *    very connection (tcp_link_bind); an initiation alone never binds it. Binding a peer's new
 *    connection closes its old one. A client's connection belongs to its peer from the dial.
 *  - Unidentified connections have small buffers (a few KiB: TCP_RX_SMALL, TCP_TX_SMALL) and
 *    limits: TCP_PENDING_PER_SOURCE per source (an IPv4 address or an IPv6 /64) and
 *    TCP_PENDING_MAX in all; when full, the oldest connection of the source that holds the
 *    most goes (one that carried an answered initiation only if all of them did), so one host
 *    cannot lock others out. They are closed after TCP_PENDING_TIMEOUT.
 *  - A client dials again after an exponential back-off with jitter (1 s doubling to 30 s).
 *  - A connection whose send queue passes TCP_TX_HIGH stops its peer's device reading
 *    (backpressure); the data path asks tcp_link_backlogged.
 * Closed connections stay allocated until the owner of their events releases them
 * (tcp_link_take_changed, tcp_link_release): no callback ever sees freed memory.
 */
#ifndef VT_LINK_TCP_H
#define VT_LINK_TCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "addr.h"
#include "hmap.h"
#include "transport.h"

#define TCP_PENDING_MAX 256
#define TCP_PENDING_PER_SOURCE 32
#define TCP_PENDING_TIMEOUT 10000 /* ms */

struct peer;

/* One peer's TCP state, kept in the peer; only this module changes it. */
struct tcp_peer {
	struct tcp_lconn *conn; /* the connection that carries the peer, or NULL */
	unsigned tries;         /* client: dials since the last session up (backoff.h) */
};

struct tcp_lconn {
	struct tcp_conn tc;
	uint64_t id;                 /* unique for the daemon's life */
	struct sockaddr_storage addr;
	socklen_t addrlen;
	struct addr_source src;
	uint64_t opened;             /* ms */
	bool outbound;               /* we dialled it (client) */
	bool dead;                   /* closed: only tcp_link_release may follow */
	bool want_write;             /* waiting for writability: connecting, or a send queue the
	                                socket did not take */
	struct peer *peer;           /* bound: the peer it carries, for life; else NULL */
	struct tcp_peer *slot;
	struct peer *hs_peer;        /* unbound: whose handshake it carried, and the index of */
	uint32_t hs_index;           /* the key pair that handshake made */
	void *io;                    /* the event owner's; never touched here */
	struct tcp_lconn *prev, *next;         /* every connection */
	struct tcp_lconn *pend_prev, *pend_next; /* unidentified, oldest first */
	struct tcp_lconn *changed_next;
	bool changed;
};

struct tcp_link {
	struct tcp_lconn *conns;
	struct tcp_lconn *pend_head, *pend_tail;
	int npending;
	struct hmap by_id;
	struct hmap sources;         /* struct tcp_source by hash of the source */
	uint64_t next_id;
	uint64_t seed;               /* keys the hash of sources (they come from the network) */
	struct tcp_lconn *changed_head, *changed_tail;
};

void tcp_link_init(struct tcp_link *tl);
/* Close and free every connection (at exit; the event owner freed its events first). */
void tcp_link_free(struct tcp_link *tl);

/*
 * Accept one connection on listening socket lfd. Returns it (unidentified, small buffers), or
 * NULL if none was waiting (*err 0) or on error (*err the errno). *evicted counts the
 * connections closed to make room.
 */
struct tcp_lconn *tcp_link_accept(struct tcp_link *tl, int lfd, uint64_t now, int *evicted,
    int *err);
/* Client: start a connection for the peer (owner, slot) to dst, bound to it. NULL with err. */
struct tcp_lconn *tcp_link_dial(struct tcp_link *tl, struct tcp_peer *slot, struct peer *owner,
    const struct sockaddr *dst, socklen_t dstlen, uint64_t now, char *err, size_t errlen);
/* After writability during a connect: 0 connected, -1 failed (err; the connection is closed). */
int tcp_link_connected(struct tcp_link *tl, struct tcp_lconn *c, char *err, size_t errlen);
/* The first authenticated data packet of owner arrived on unbound c: c carries owner from now
 * on, with full buffers; owner's previous connection is closed. -1 if c carries another peer,
 * or without memory (c closed then). */
int tcp_link_bind(struct tcp_link *tl, struct tcp_lconn *c, struct tcp_peer *slot,
    struct peer *owner);
/* Note that c carried an initiation of owner answered with key index idx. */
void tcp_link_handshake(struct tcp_lconn *c, struct peer *owner, uint32_t idx);
/* Whether a data packet of owner under key index idx may be taken from c: c carries owner,
 * or c is unbound and carried owner's handshake for exactly that key. */
bool tcp_link_accepts(const struct tcp_lconn *c, const struct peer *owner, uint32_t idx);
/* Close c (idempotent). Returns the peer it carried, or NULL. */
struct peer *tcp_link_close(struct tcp_link *tl, struct tcp_lconn *c);
/* Queue one message on c: 0, or -1 (no room, or c is connecting or closed). */
int tcp_link_queue(struct tcp_lconn *c, const uint8_t *p, size_t len);
/* Write out c's queue: 0 done, 1 waiting for writability, -1 failed (the caller closes c). */
int tcp_link_flush(struct tcp_link *tl, struct tcp_lconn *c);
/* True if c's send queue is over TCP_TX_HIGH: stop feeding it. */
bool tcp_link_backlogged(const struct tcp_lconn *c);
/* Peer owner is going away: no connection may remember its handshake. */
void tcp_link_forget(struct tcp_link *tl, const struct peer *owner);
/* Close unidentified connections older than TCP_PENDING_TIMEOUT; returns how many. */
int tcp_link_expire(struct tcp_link *tl, uint64_t now);
/* The connection with this id, if still open. */
struct tcp_lconn *tcp_link_by_id(const struct tcp_link *tl, uint64_t id);

/* The next connection whose events must be set up, changed or removed, or NULL. */
struct tcp_lconn *tcp_link_take_changed(struct tcp_link *tl);
/* Free a dead connection (its events are gone). */
void tcp_link_release(struct tcp_link *tl, struct tcp_lconn *c);

/* Client back-off: the delay before the next dial (backoff.h: at once, then 1 s doubling to
 * 30 s, jitter from rand), counting the dial; reset once a session is up. */
uint64_t tcp_link_backoff(struct tcp_peer *slot, unsigned rand);
void tcp_link_backoff_reset(struct tcp_peer *slot);

#endif
