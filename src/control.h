/*
 * control.h - the status protocol of the control socket: request parsing and reply formatting
 * (pure), plus the client used by `vtund-ng status`. The engine owns the listening socket.
 *
 * Protocol: the client connects to the unix socket, sends one line and reads the reply to EOF.
 *   request  = "status" [" json" | " metrics"] [" " PEER] "\n"  |  "reload\n"
 *   reply    = text (like `wg show`), one JSON document, or Prometheus text (the exposition
 *              format 0.0.4, for node_exporter's textfile collector); a reload gets one line
 *              saying what changed; an unknown request or a failure gets "error: ...".
 */
#ifndef VT_CONTROL_H
#define VT_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "names.h"

#define CONTROL_REQ_MAX 128
#define CONTROL_QUERY_TIMEOUT 5   /* seconds without progress before a client gives up */
/* Seconds the engine waits for the parent to finish a reload (it brings devices up and down:
 * it may take longer than a query); the client waits a query timeout more, so the engine's
 * answer comes first. */
#define CONTROL_RELOAD_TIMEOUT 60

struct control_request {
	bool json;
	bool metrics;
	char peer[NAMES_PEER_MAX + 1]; /* "" = all */
};

/* The counters of one peer, gathered from the modules that count them. */
struct control_counters {
	uint64_t rx_packets, rx_bytes;       /* frames delivered to the device */
	uint64_t tx_packets, tx_bytes;       /* frames the socket took for the peer */
	uint64_t drops[DROP_MAX];
	uint64_t comp_in, comp_out;          /* bytes before and after compression (tx) */
	uint64_t comp_raw;                   /* packets sent raw because they did not shrink */
	uint64_t split, coalesced;           /* device reads cut into segments; frames written
	                                        to the device that merged several */
	uint64_t clamped;                    /* TCP SYNs whose MSS mss-clamp lowered */
	uint64_t handshakes;                 /* completed handshakes */
	int64_t last_handshake;              /* wall clock seconds of the last one, 0 = never */
	int64_t up_since;                    /* wall clock seconds the session came up, 0 = down */
};

/* A snapshot of one session, filled by the engine. */
struct control_status {
	char peer[NAMES_PEER_MAX + 1];
	const char *role;      /* "server" | "client" */
	const char *type;      /* "tun" | "tap" */
	const char *proto;     /* "udp" | "tcp" */
	char device[NAMES_DEVICE_MAX + 1];
	char endpoint[64];     /* "203.0.113.1:5000", "[2001:db8::1]:5000" or "" */
	char remote[304];      /* client: the remote in use or being tried, "vpn.example.net:443
	                          tcp (2 of 2)"; "" on a server */
	const char *state;     /* session_state_name() */
	const char *cipher;    /* "aes-256-gcm" | "chacha20-poly1305" */
	const char *compress;  /* "none" | "lz4" */
	char offload[96];      /* the offloads in use: "off", or names ("tso uso gro ...") */
	int threads;           /* that seal and open its packets (threads = N; 1 over TCP) */
	uint64_t rate_in, rate_out; /* bit/s of rate-in and rate-out; 0 = no limit */
	int mtu;               /* the device's, as the daemon set it */
	bool mtu_auto;         /* mtu = "auto": from the underlay */
	bool mss_clamp;        /* mss-clamp = true */
	int64_t now;           /* wall clock seconds at the snapshot */
	struct control_counters stats;
};

/* Parse one status request line (with or without the newline); 0 or -1. */
int control_parse_request(const char *line, size_t len, struct control_request *req);
/* Whether the line (with or without the newline) is a reload request. */
bool control_is_reload(const char *line, size_t len);
/* Format the sessions matching req into out (cap bytes, NUL-terminated); returns the length, or
 * -1 if it does not fit. An unknown PEER gives an error reply "error: no such peer: X\n". daemon
 * = a line of daemon-wide facts (version, pid, role, drops of packets of no session). */
long control_format(const struct control_request *req, const struct control_status *st, int n,
    const uint64_t no_session_drops[DROP_MAX], char *out, size_t cap);
/* Client side: send request line to the socket at path, copy the reply to out; 0, or -1 with a
 * message on err (no daemon at that path, permission denied...). */
int control_query(const char *path, const char *request, int timeout, FILE *out, FILE *err);

#endif
