/*
 * engine.h - the event loop of the unprivileged engine: libevent callbacks, signals and timers
 * wired to the data path, the control socket and the channel from the root parent. Everything
 * privileged (devices, sockets below 1024) is opened by the parent and handed over: at start
 * in struct engine_setup, and peers (with their device fds) over the channel, at start and on
 * every reload.
 */
#ifndef VT_ENGINE_H
#define VT_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "config.h"

struct chan_addr;

struct engine_setup {
	const uint8_t *private_key;      /* 32 bytes */
	bool server;
	int udp_fd;                      /* server: bound socket for UDP peers, or -1 */
	int tcp_fd;                      /* server: listening socket for TCP peers, or -1 */
	int client_udp[2];               /* client: unbound UDP sockets, AF_INET and AF_INET6,
	                                    made while privileged (buffers beyond rmem_max), or
	                                    -1; the link to the server uses one of them */
	int ctl_fd;                      /* listening control socket, or -1 */
	int chan_fd;                     /* the root parent's channel (privchan.h), or -1 */
	const char *role;                /* "server" or "client", for status */
	int threads;                     /* of the data path (pool.h); 0 counts as 1 */
	/* Without a channel (the engine runs in the parent's process): what SIGHUP and a reload
	 * request call, what engine_ready calls, and the heartbeat. All get arg. */
	int (*reload)(void *arg, char *text, size_t len); /* 0 applied, 1 nothing changed */
	void (*ready)(void *arg);
	void (*alive)(void *arg, int up);  /* every second from the loop: sessions up (with a
	                                      channel: CHAN_ALIVE instead) */
	void (*session)(void *arg, uint32_t id, bool up, const char *endpoint); /* a session
	                                      came up or died (with a channel: CHAN_SESSION) */
	void (*resolve)(void *arg, uint32_t id, uint32_t index, struct chan_addr *out); /* a
	                                      client's remote, now (with a channel:
	                                      CHAN_RESOLVE and CHAN_RESOLVED) */
	void *arg;
};

struct engine;

/* Set up the loop (no peers yet); NULL with a logged error. */
struct engine *engine_new(const struct engine_setup *setup);
/* Add a peer with its device fd (taken over); remote: a client's server, its remote number
 * remote_index resolved. 0 or -1. */
int engine_add_peer(struct engine *e, uint32_t id, const struct vt_peer *cfg,
    const struct sockaddr *remote, socklen_t remote_len, int remote_index, int fd);
/* The same for what the parent changes on a reload: the peer with that id is removed (its
 * device fd closed), restarted with new settings on the same device, or its in-place
 * settings changed. 0, or -1 if there is no such peer. */
int engine_remove_peer(struct engine *e, uint32_t id);
int engine_restart_peer(struct engine *e, uint32_t id, const struct vt_peer *cfg,
    const struct sockaddr *remote, socklen_t remote_len, int remote_index);
int engine_update_peer(struct engine *e, uint32_t id, const struct vt_peer *cfg);
/* A server socket the configuration needs now (taken over). */
void engine_set_socket(struct engine *e, bool tcp, int fd);
/* Every initial peer is there: tell the parent (or the ready hook) that the engine runs. */
void engine_ready(struct engine *e);
/* Run until SIGTERM or SIGINT; returns the exit status (0 clean, 1 error). */
int engine_dispatch(struct engine *e);
/* Run the callbacks that are ready now, without waiting (tests and the fuzzer); returns
 * whether the loop should go on (no exit was asked for). */
bool engine_step(struct engine *e);
/* Close every socket, fd and session; free. */
void engine_free(struct engine *e);

#endif
