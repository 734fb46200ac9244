/*
 * privchan.h - the channel between the root parent and the unprivileged engine, in the style
 * of OpenBSD's imsg: fixed-size typed messages over an AF_UNIX SOCK_SEQPACKET pair, file
 * descriptors passed with SCM_RIGHTS. Requests flow down, from the parent that read the
 * configuration and opened the devices to the engine; only READY, PEER_GONE, RELOAD, ALIVE,
 * SESSION and RESOLVE flow up. chan_recv checks every message against the table of its type (exact
 * size, whether it carries a descriptor, which way it may travel) and the fields it carries (names, ranges)
 * before the caller sees it; the parent treats an invalid message from the engine as an
 * attack and stops the engine.
 */
#ifndef VT_PRIVCHAN_H
#define VT_PRIVCHAN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "config.h"

enum chan_type {
	/* down: parent -> engine */
	CHAN_PEER_ADD = 1,   /* a peer (chan_peer) and its device fd */
	CHAN_PEER_RESTART,   /* a peer's new settings: the session starts again on the same
	                        device (chan_peer, no fd) */
	CHAN_PEER_UPDATE,    /* settings that change in place (chan_peer, no fd) */
	CHAN_PEER_REMOVE,    /* close the peer and its device fd, then answer PEER_GONE (id) */
	CHAN_LOG_LEVEL,      /* arg: enum log_level */
	CHAN_SOCKET,         /* a server socket the configuration now needs: arg 0 UDP, 1 TCP */
	CHAN_GO,             /* every initial peer is there: start, answer READY */
	CHAN_RELOAD_DONE,    /* the result of a reload the engine asked for (chan_text) */
	/* up: engine -> parent */
	CHAN_READY,          /* the loop runs */
	CHAN_PEER_GONE,      /* id: the engine closed that peer's device fd */
	CHAN_RELOAD,         /* a control client asked for a reload */
	CHAN_ALIVE,          /* every second from the engine's loop: arg = sessions up (the
	                        parent's watchdog ping and STATUS= line) */
	CHAN_SESSION,        /* a session of peer arg came up (status 1) or was declared dead
	                        (0); text: its endpoint (chan_text): session-up/-down hooks */
	CHAN_RESOLVE,        /* client: resolve remote number index of peer arg now
	                        (chan_addr, only index set): before every try */
	/* down again (numbered after the others: the numbers of a release stay) */
	CHAN_RESOLVED,       /* peer arg's remote, resolved as the engine asked (chan_addr) */
	CHAN_TYPE_MAX
};

/* The settings of a peer the engine needs: no hooks, no addresses (the parent's business). */
struct chan_peer {
	uint32_t id;
	char name[CONFIG_NAME_MAX + 1];
	char device[CONFIG_IFNAME_MAX + 1];
	uint8_t type, proto, cipher, compress; /* enum vt_devtype ... */
	uint8_t protos, nremotes, remote_index;
	uint8_t persist, has_psk, offload, mss_clamp, mtu_auto, duplicate;
	int32_t mtu, keepalive, timeout, rekey_interval, compress_accel, failback;
	uint64_t rate_in, rate_out, rate_burst;
	uint8_t public_key[32];
	uint8_t psk[32];
	struct sockaddr_storage remote;        /* client: remote remote_index, resolved */
	uint32_t remote_len;
	struct chan_remote {                   /* client: every remote, to try and to show */
		char host[CONFIG_HOST_MAX + 1];
		uint16_t port;
		uint8_t proto;
	} remotes[CONFIG_MAX_REMOTES];
	/* the inner sources the peer may send from (its filter, prefix.h) */
	uint8_t npeer_addrs, nroutes, nallowed_ips;
	struct vt_addr peer_addrs[CONFIG_MAX_ADDRS];
	struct vt_addr routes[CONFIG_MAX_ROUTES];
	struct vt_addr allowed_ips[CONFIG_MAX_ROUTES];
};

#define CHAN_TEXT_MAX 480
struct chan_text {
	int32_t status;                        /* 0 done, 1 failed */
	char text[CHAN_TEXT_MAX];              /* NUL-terminated */
};

/* A remote's address, or why it has none (CHAN_RESOLVE, CHAN_RESOLVED). */
struct chan_addr {
	uint32_t index;                        /* which remote of the peer */
	uint32_t seq;                          /* the engine's number of the lookup, echoed */
	int32_t status;                        /* 0 resolved, 1 failed */
	struct sockaddr_storage addr;
	uint32_t len;
	char err[200];                         /* NUL-terminated: why not */
};

struct chan_msg {
	uint32_t type;                         /* enum chan_type */
	uint32_t arg;                          /* id, level or socket kind */
	union {
		struct chan_peer peer;
		struct chan_text text;
		struct chan_addr addr;
	} u;
};

/* Fill a chan_peer from a configured peer (id assigned by the parent). */
void chan_peer_from(struct chan_peer *cp, uint32_t id, const struct vt_peer *p,
    const struct sockaddr *remote, socklen_t remote_len, int remote_index);
/* The engine's struct vt_peer from a checked chan_peer (no hooks, no addresses). */
void chan_peer_to(const struct chan_peer *cp, struct vt_peer *p);

/* Send m (of type m->type: its size comes from the table) with fd if not -1: 0 or -1. */
int chan_send(int sock, const struct chan_msg *m, int fd);
/* Send a message without payload. */
int chan_send_simple(int sock, enum chan_type type, uint32_t arg);
/*
 * Receive one message travelling down (the engine) or up (the parent). Returns 1 with the
 * message in m and its descriptor in *fd (or -1), 0 if the other end closed, -1 if nothing was
 * waiting (EAGAIN), -2 if the message is invalid (wrong type, size, direction, descriptor or
 * field; any descriptor that came with it is closed).
 */
int chan_recv(int sock, bool down, struct chan_msg *m, int *fd);
/* Check a message as chan_recv does (size as received, has_fd whether one came): true if
 * valid. Pure; the fuzzer and the tests call it on any bytes. */
bool chan_valid(const void *msg, size_t size, bool has_fd, bool down);

#endif
