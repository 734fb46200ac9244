/*
 * engine.h - the event loop: the one place where devices, sessions, timers and transports meet.
 * Runs unprivileged: everything privileged (devices, addresses, sockets below 1024) was opened
 * before and is handed over in struct engine_setup.
 */
#ifndef VT_ENGINE_H
#define VT_ENGINE_H

#include <stdbool.h>
#include <sys/socket.h>

#include "config.h"

struct engine_setup {
	const struct vt_config *cfg;
	bool server;
	const struct vt_peer *peers[CONFIG_MAX_PEERS]; /* the peers this daemon serves */
	int tun_fds[CONFIG_MAX_PEERS];
	int npeers;
	int udp_fd;                      /* server: bound socket for UDP peers, or -1 */
	int tcp_fd;                      /* server: listening socket for TCP peers, or -1 */
	struct sockaddr_storage remote;  /* client: where to dial */
	socklen_t remote_len;
	int ctl_fd;                      /* listening control socket, or -1 */
	void (*ready)(void *arg);        /* called once the loop runs (readiness notification) */
	void *ready_arg;
};

/* Run until SIGTERM or SIGINT; returns the exit status (0 clean, 1 error). */
int engine_run(const struct engine_setup *setup);

#endif
