/*
 * peer.h - the peer table: every peer a daemon serves, with its session, device and link
 * state, found by id, name, static public key or receiver index through hash tables (the shape
 * of WireGuard's peer lookup), never by a scan per packet. No limit on the number of peers.
 * Receiver indices are chosen here (random, unique) and the index table follows each
 * session's key slots when the caller asks (peer_reindex).
 */
#ifndef VT_PEER_H
#define VT_PEER_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "failover.h"
#include "hmap.h"
#include "link_tcp.h"
#include "link_udp.h"
#include "names.h"
#include "prefix.h"
#include "session.h"
#include "shaper.h"

/* What the data path counts for a peer: traffic as the device and the socket took it, and the
 * drops it decides on (no_key, device, and link refusals). The session counts the rest. */
struct peer_traffic {
	uint64_t rx_packets, rx_bytes; /* frames written to the device */
	uint64_t tx_packets, tx_bytes; /* frames the socket took */
	uint64_t split;                /* super-packets read from the device and cut */
	uint64_t coalesced;            /* frames written to the device that merged several */
	uint64_t clamped;              /* TCP SYNs whose MSS mss-clamp lowered (both ways) */
	uint64_t drops[DROP_MAX];
};

#define PEER_STAGE 8 /* frames a client keeps while its first handshake completes */
#define PEER_NOTIFY 4 /* session events queued between two syncs of the engine */

/* A client's remotes: which one it uses or tries (failover.h), each one's last address, and
 * the lookup it waits for (the engine asks the root parent: dp_peer_resolved). */
struct peer_client {
	struct failover fo;
	struct sockaddr_storage addr[CONFIG_MAX_REMOTES]; /* as last resolved */
	socklen_t addr_len[CONFIG_MAX_REMOTES];           /* 0: never */
	int resolve;                 /* the remote to look up now, -1 none */
	bool resolve_probe;          /* ... for a probe (else for a try) */
	bool resolving;              /* the engine asked; the answer has not come */
	bool asked_probe;            /* what it asked for: a probe's lookup */
	uint32_t seq;                /* the number of the lookup asked for (0: none) */
	int udp_at, tcp_at;          /* the remotes the UDP socket and the TCP connection
	                                were last pointed at, -1 none */
	bool probe_live;             /* the probe's link is ready: initiations go there */
	uint8_t held[WIRE_INIT_LEN]; /* a UDP try's initiation, until its remote resolves */
	bool has_held;
	uint64_t old_conn_until;     /* a connection the session moved off closes then */
};

struct peer {
	uint32_t id;                 /* chosen by the root parent; stable across reloads */
	struct vt_peer cfg;          /* own copy, without hooks (the parent runs those) */
	struct sockaddr_storage remote; /* client: the server, resolved */
	socklen_t remote_len;
	struct session s;
	int tun_fd;
	bool tun_paused;             /* device reading stopped (TCP backpressure) */
	bool rate_paused;            /* device reading stopped: rate-out's bucket is empty */
	struct tbucket shape_out;    /* rate-out: frames read from the device */
	struct tbucket shape_in;     /* rate-in: frames written to it */
	struct fqueue inq;           /* rate-in: decrypted frames waiting for shape_in */
	bool vnet;                   /* frames on tun_fd carry a virtio_net_hdr */
	unsigned offload;            /* TUN_F_* the device took: what its reads may hold */
	unsigned gro;                /* OFF_GRO_*: what is coalesced before writing to it */
	struct peer_traffic traffic;
	enum vt_proto link;          /* the transport the session uses: a client's remote's; a
	                                server's where the peer's keys were last confirmed */
	struct peer_client *cl;      /* a client's remotes; NULL on a server */
	struct prefix_set filter;    /* inner sources it may send from */
	struct udp_peer udp;
	struct tcp_peer tcp;
	struct buf *stage;           /* client: frames waiting for the first keys */
	int nstage;
	uint64_t dial_at;            /* client, TCP: when to dial; UINT64_MAX: not now */
	/* Session events for the engine to report (session-up/-down hooks), oldest first:
	 * true up, false down; where the peer was when it came up. */
	bool notify[PEER_NOTIFY];
	int nnotify;
	char notify_ep[80];
	void *io;                    /* the engine's events; nothing else touches it */
	/* the table's own */
	uint32_t idx[4];
	int nidx;
	struct peer *prev, *next;    /* in the order they were added */
	bool changed;
	struct peer *changed_next;
};

struct peer_table {
	struct peer *head, *tail;
	int count;
	struct hmap by_id, by_name, by_key, by_index;
	struct peer *changed_head, *changed_tail;
};

void peer_table_init(struct peer_table *t);
/* Free every peer (sessions wiped). The caller closed the device fds it wanted closed. */
void peer_table_free(struct peer_table *t);

/* Add a peer: copies cfg (without hooks), builds its filter, starts its session with local.
 * NULL if the id, name or key is taken, or without memory. */
struct peer *peer_add(struct peer_table *t, uint32_t id, const struct vt_peer *cfg,
    struct session_local *local, bool initiator);
/* Remove and free p (its session wiped; its fd is the caller's). */
void peer_remove(struct peer_table *t, struct peer *p);

struct peer *peer_by_id(const struct peer_table *t, uint32_t id);
struct peer *peer_by_name(const struct peer_table *t, const char *name);
struct peer *peer_by_key(const struct peer_table *t, const uint8_t pub[32]);
/* The peer using receiver index idx, with what the index is in its session. */
struct peer *peer_by_index(const struct peer_table *t, uint32_t idx, enum session_slot *slot,
    struct session_keypair **kp);
/* A random receiver index no peer uses (never 0). */
uint32_t peer_new_index(const struct peer_table *t);
/* Make the index table match p's session after a call that may have changed its keys. */
void peer_reindex(struct peer_table *t, struct peer *p);

/* Iterate in the order peers were added. */
static inline struct peer *peer_first(const struct peer_table *t) { return t->head; }
static inline struct peer *peer_next(const struct peer *p) { return p->next; }

/* Note that p's timers, device reading or dial time may have changed: the engine re-arms its
 * events for every peer peer_take_changed returns. */
void peer_changed(struct peer_table *t, struct peer *p);
struct peer *peer_take_changed(struct peer_table *t);

#endif
