/*
 * link_udp.h - the UDP link policy: where each UDP peer's datagrams go (its endpoint, moved
 * only by authenticated data: roaming), the client's connected socket (connected again when the
 * host moves), and UDP segmentation offload with its runtime fallback. One socket serves every
 * UDP peer of a server; a client has one peer. The system calls are transport_udp's; this
 * module decides which to make.
 */
#ifndef VT_LINK_UDP_H
#define VT_LINK_UDP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "buf.h"
#include "log.h"

/* Where one peer's datagrams go. */
struct udp_peer {
	struct sockaddr_storage ep;
	socklen_t ep_len; /* 0: unknown (a server before the peer's first authenticated packet) */
	bool no_gso;      /* offload = "off": one datagram per message */
};

struct udp_link {
	int fd;                  /* -1: no UDP socket */
	bool client;
	struct sockaddr_storage remote; /* client: the server */
	socklen_t remote_len;
	bool connected;          /* client: the socket is connected to the server */
	bool tried;              /* client: a connect was tried (log only the first failure) */
	bool gso;                /* send runs with UDP_SEGMENT (off once the kernel refuses) */
	bool gro_wanted;         /* a peer with offload auto uses the socket */
	bool gro;                /* the socket receives coalesced runs (UDP_GRO) */
	struct log_ratelimit rl_roam;
};

/* A server's link on its bound socket fd (or -1 for none yet). */
void udp_link_server(struct udp_link *l, int fd);
/* Set or replace the server's socket (a reload added the first UDP peer). */
void udp_link_set_fd(struct udp_link *l, int fd);
/* A client's link, connected to remote: on fd (taken over; a socket of remote's family made
 * while privileged, with large buffers), or on a new socket if fd is -1. 0 or -1 with err. */
int udp_link_client(struct udp_link *l, int fd, const struct sockaddr *remote, socklen_t len,
    char *err, size_t errlen);
/* A client's link to another server of the same address family, on the same socket
 * (connected again): 0, or -1 if the family differs (the caller makes a new link). */
int udp_link_retarget(struct udp_link *l, const struct sockaddr *remote, socklen_t len);
/* Close the socket. */
void udp_link_close(struct udp_link *l);
/* A client's peer starts with the server as its endpoint. */
void udp_link_peer_init(const struct udp_link *l, struct udp_peer *up);

/* An authenticated packet of peer `name` came from src: move its endpoint there (roaming).
 * True if it moved (logged, rate-limited). */
bool udp_link_set_endpoint(struct udp_link *l, struct udp_peer *up, const char *name,
    const struct sockaddr *src, socklen_t srclen);
/* Send one message to the peer: 0 sent, -1 dropped (no endpoint, full buffer, error). */
int udp_link_send(struct udp_link *l, const struct udp_peer *up, const struct buf *b);
/* Send bufs[0..n) to the peer in one system call when possible (GSO runs), offering what the
 * socket did not take once more; tos[i] (tos NULL: 0) is each one's outer TOS byte. Returns
 * how many it took. */
int udp_link_send_batch(struct udp_link *l, const struct udp_peer *up, struct buf *bufs,
    const uint8_t *tos, int n);
/* A peer with offload auto uses the link: receive coalesced runs (UDP GRO) where the kernel
 * can, on this socket and on any that replaces it. */
void udp_link_want_gro(struct udp_link *l);
/* Send a reply to src, wherever the peer's endpoint is: 0 or -1. */
int udp_link_reply(struct udp_link *l, const struct sockaddr *src, socklen_t srclen,
    const struct buf *b);
/* The session went down: a client connects its socket again, in case the host moved. */
void udp_link_session_down(struct udp_link *l);

#endif
