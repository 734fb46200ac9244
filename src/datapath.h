/*
 * datapath.h - the batch data path and the dispatch of every message from the underlay: the
 * one place where device, session and link meet. The engine calls one function per readable
 * descriptor or expired timer; each handles a bounded batch and returns. Nothing here knows
 * about events: what the engine must change afterwards (a peer's timer, device reading or dial
 * time; a connection's events) is queued in the peer table and the TCP link, and the engine
 * takes it with peer_take_changed and tcp_link_take_changed after every call.
 *
 *   TX  device -> tun_read (vnet devices: off_split of super-packets) -> session_encap ->
 *       link (udp_link_send_batch / tcp_link_queue); over UDP session_encap_begin for each
 *       frame of a batch, then the seals shared by the pool's lanes, then one sendmmsg
 *   RX  link -> wire_classify -> peer lookup (receiver index) -> session_decap -> tun_write
 *       (vnet devices: off_gro over the batch, then one write per coalesced frame); over UDP
 *       the data messages of a batch are opened first, shared by the pool's lanes, and then
 *       handled one by one in order (session_decap_opened)
 *       initiations -> mac1 -> handshake queue -> dp_handshakes: session_respond_open ->
 *       peer lookup (static key) -> link checks -> session_respond_finish -> reply
 *
 * Counting: the data path counts traffic (frames written to the device, frames the socket
 * took), the drops it decides (no_key, device, link refusals; packets of no session in
 * dp->drops); sessions count the rest. Each drop is counted once, where it is decided.
 */
#ifndef VT_DATAPATH_H
#define VT_DATAPATH_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "hsq.h"
#include "link_tcp.h"
#include "link_udp.h"
#include "log.h"
#include "offload.h"
#include "peer.h"
#include "pool.h"
#include "session.h"
#include "transport.h"

#define DP_BATCH UDP_BATCH_MAX  /* packets per wake-up and direction */
#define DP_TCP_BUDGET 256       /* messages per TCP wake-up; more wait for the next turn */
#define DP_HS_BUDGET 32         /* initiations answered per wake-up */
#define DP_GRO_MSGS 16          /* coalesced UDP runs per recvmmsg */
#define DP_GRO_CAP 65536        /* bytes of one run */
#define DP_SHARE_MIN 32768      /* bytes of a batch's seals or opens worth waking threads for:
                                   one 1400-byte seal takes under a microsecond, a wake-up
                                   several (vt-bench) */

struct dp {
	bool server;
	struct session_local local;
	struct peer_table peers;
	struct udp_link udp;
	struct udp_link udp_old;     /* a client's link replaced (another address family): its
	                                socket closes once the engine let go of it */
	int client_udp[2];           /* a client's sockets made while privileged, AF_INET and
	                                AF_INET6 (the engine's; copied for a new link), or -1 */
	uint32_t lookup_seq;         /* the last lookup asked for (peer_client.seq) */
	struct tcp_link tcp;
	struct hsq *hsq;
	uint64_t drops[DROP_MAX];    /* packets of no session */
	struct log_ratelimit rl_tcp, rl_version, rl_unknown, rl_device, rl_proto;
	/* Wire messages from the underlay: a UDP batch (one recvmmsg), the datagrams cut out of
	 * coalesced runs (UDP GRO, received into gro_rx), or the messages of a TCP read. */
	struct buf rx[DP_BATCH];
	struct udp_rx rx_meta[DP_BATCH];
	const struct udp_rx *rx_src[DP_BATCH]; /* where each UDP message came from */
	uint8_t *gro_rx;             /* DP_GRO_MSGS areas of DP_GRO_CAP bytes */
	/* Device frames sealed into wire messages: a UDP batch (one sendmmsg), or tx[0]. */
	struct buf tx[DP_BATCH];
	size_t tx_len[DP_BATCH];     /* each frame's length before sealing */
	uint8_t tx_tos[DP_BATCH];    /* each one's outer ECN field */
	/* threads = N: the seals of a UDP batch and the opens of its data messages are jobs
	 * that the pool's lanes share; everything else stays in the engine's thread, in order. */
	struct pool *pool;
	size_t share_min;            /* DP_SHARE_MIN (tests lower it) */
	struct session_job tx_job[DP_BATCH];
	struct session_job rx_job[DP_BATCH];
	int rx_job_of[DP_BATCH];     /* each rx slot's job, or -1: not opened in advance */
	struct buf out;              /* a message a session wants sent */
	/* Vnet devices: one read (a super-packet, cut into segments as they are sealed), and
	 * the decrypted frames of one batch coalesced before they are written. */
	uint8_t *big;                /* OFF_VNET_LEN + OFF_FRAME_MAX */
	struct off_split split;
	int seg_next, seg_left;      /* segments of split still to cut */
	struct off_gro *gro;
};

/* A data path for a server or a client with private key priv, sealing and opening UDP
 * batches on threads lanes (1..POOL_LANES_MAX: pool.h); NULL without memory or threads. */
struct dp *dp_new(bool server, const uint8_t priv[32], int threads);
/* Free everything, closing the device fds and sockets it holds. */
void dp_free(struct dp *dp);
/* The server's UDP socket (bound by the parent; -1 for none), or the client's (fd: one the
 * parent made, taken over, or -1 to make one here), connected to the peer's server: 0, or -1
 * with err. */
void dp_udp_server(struct dp *dp, int fd);
int dp_udp_client(struct dp *dp, int fd, const struct sockaddr *remote, socklen_t len,
    char *err, size_t errlen);

/* Add a peer with its device fd (taken over); remote: the client's server. NULL if the table
 * refuses it (id, name or key taken) or without memory; fd is then closed. */
struct peer *dp_peer_add(struct dp *dp, uint32_t id, const struct vt_peer *cfg,
    const struct sockaddr *remote, socklen_t remote_len, int remote_index, int fd,
    uint64_t now);
/* Close the peer's session (a close message goes out), its connection and its device fd, and
 * free it. The engine releases the peer's events first. keep_fd: hand the fd back instead of
 * closing it (a restart on the same device); returns it, or -1. */
int dp_peer_remove(struct dp *dp, struct peer *p, bool keep_fd, uint64_t now);
/* Apply the settings that change in place (keepalive, timeout, rekey-interval,
 * compress-acceleration, mss-clamp, routes and allowed-ips: the filter; rate-in, rate-out,
 * rate-burst: the buckets start full again) from cfg. */
void dp_peer_update(struct dp *dp, struct peer *p, const struct vt_peer *cfg, uint64_t now);

/* Peers whose session is up. */
int dp_sessions_up(const struct dp *dp);

void dp_udp_readable(struct dp *dp, uint64_t now);
/* Accept up to a batch of connections on the listening socket: 0, or the errno of an accept
 * that failed for another reason than an empty queue (EMFILE: the caller lets it rest). */
int dp_tcp_accept(struct dp *dp, int lfd, uint64_t now);
/* Read c and handle up to DP_TCP_BUDGET messages: true if complete messages are still waiting
 * (call again soon, after the other events). */
bool dp_tcp_readable(struct dp *dp, struct tcp_lconn *c, uint64_t now);
void dp_tcp_writable(struct dp *dp, struct tcp_lconn *c, uint64_t now);
void dp_tun_readable(struct dp *dp, struct peer *p, uint64_t now);
void dp_peer_timer(struct dp *dp, struct peer *p, uint64_t now);
/* Client, TCP: dial the peer's server (a try: the remote is looked up first). */
void dp_peer_dial(struct dp *dp, struct peer *p, uint64_t now);
/* Client: the remote p wants looked up now, marked asked with a number of its own (*seq); or
 * -1. The engine asks the root parent and gives the answer to dp_peer_resolved with that
 * number (an answer to anything else is ignored): the address, or addr NULL with err when it
 * did not resolve (the last address is tried, if any). */
int dp_peer_want_resolve(struct dp *dp, struct peer *p, uint32_t *seq);
void dp_peer_resolved(struct dp *dp, struct peer *p, int at, uint32_t seq,
    const struct sockaddr *addr, socklen_t len, const char *err, uint64_t now);
/* After the engine moved its event to a client's new UDP socket: close the one replaced. */
void dp_udp_retire(struct dp *dp);
/* Answer up to DP_HS_BUDGET queued initiations: true if more wait. */
bool dp_handshakes(struct dp *dp, uint64_t now);
/* Once a second: unidentified connections that said nothing time out. */
void dp_housekeeping(struct dp *dp, uint64_t now);
/* Shutting down: a close message to every peer with keys, connections flushed. */
void dp_shutdown(struct dp *dp, uint64_t now);
/* When p's timer is due (monotonic ms; UINT64_MAX: none). */
uint64_t dp_peer_deadline(const struct dp *dp, const struct peer *p, uint64_t now);
/* The reply to one control request line (status): a malloc'd text in *out; its length, or -1
 * without memory. */
long dp_status(struct dp *dp, const char *line, size_t len, const char *role, char **out);

#endif
