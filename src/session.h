/*
 * session.h - per-peer session shared by client and server: the handshake (Noise IKpsk2), key
 * slots, encapsulation (frame -> wire) and decapsulation (wire -> frame), timers and counters.
 * No sockets and no timers of its own: every call gets `now` (monotonic milliseconds) and returns
 * what the engine should do. The wall clock is read only for handshake timestamps and status. The only difference between the roles is that the client initiates.
 */
#ifndef VT_SESSION_H
#define VT_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "buf.h"
#include "config.h"
#include "cookie.h"
#include "crypto.h"
#include "noise.h"
#include "replay.h"
#include "wire.h"

/* Timers (milliseconds) and limits; see doc/PROTOCOL.md. */
#define SESSION_REKEY_TIMEOUT 5000      /* retransmit an unanswered initiation */
#define SESSION_REJECT_AFTER 180000     /* a key older than this is never used */
#define SESSION_PREV_KEY_LINGER 10000   /* previous key kept for packets in flight */
#define SESSION_REKEY_AFTER_MSGS (UINT64_C(1) << 59)
#define SESSION_REJECT_AFTER_MSGS (REPLAY_COUNTER_LIMIT - 1)
#define SESSION_REKEY_AFTER_BLOCKS (UINT64_C(1) << 33) /* soft: start a new handshake */
#define SESSION_REJECT_AFTER_BLOCKS (UINT64_C(1) << 34) /* hard: stop using the key */
#define SESSION_MISMATCH_RETRY 30000    /* wait after the peer refused our settings */

enum session_state {
	SESSION_IDLE = 0,      /* no keys; a server waits, a client is about to dial */
	SESSION_HANDSHAKING,   /* initiation sent (client) */
	SESSION_ESTABLISHED,   /* a confirmed key pair is in use */
	SESSION_CLOSING,       /* a close was sent or received; keys are being wiped */
};

/* Why a packet was dropped; counted per session (and globally for packets of no session). */
enum session_drop {
	DROP_AUTH = 0,     /* tag, mac1 or handshake authentication failed */
	DROP_REPLAY,       /* counter seen before or too old; replayed handshake timestamp */
	DROP_MALFORMED,    /* wrong length, unknown type, bad inner header or LZ4 block */
	DROP_NO_SESSION,   /* no key for the receiver index or the key expired */
	DROP_NO_KEY,       /* a frame from the device while no key is ready (tx side) */
	DROP_RATELIMIT,    /* handshake over the per-source or per-peer rate */
	DROP_MISMATCH,     /* handshake with settings that differ from ours */
	DROP_DEVICE,       /* the device or socket could not take the packet */
	DROP_MAX
};
extern const char *const session_drop_names[DROP_MAX];

struct session_stats {
	uint64_t rx_packets, rx_bytes;       /* frames delivered to the device */
	uint64_t tx_packets, tx_bytes;       /* frames sent to the peer */
	uint64_t drops[DROP_MAX];
	uint64_t comp_in, comp_out;          /* bytes before and after compression (tx) */
	uint64_t comp_raw;                   /* packets sent raw because they did not shrink */
	uint64_t handshakes;                 /* completed handshakes */
	int64_t last_handshake;              /* wall clock seconds of the last one, 0 = never */
	int64_t up_since;                    /* wall clock seconds the session came up, 0 = down */
};

/* One key pair in one slot. */
struct session_keypair {
	bool valid;
	bool initiator;       /* created by our initiation */
	bool confirmed;       /* the peer proved it has the keys (responder: first packet) */
	uint32_t local_index; /* receiver index the peer puts on packets for us */
	uint32_t remote_index;
	uint64_t created;     /* ms */
	uint64_t send_counter;
	uint64_t send_blocks; /* 16-byte cipher blocks sealed */
	bool rekey_requested; /* responder: asked the initiator for a new handshake */
	struct crypto_aead send, recv;
	struct replay replay;
};

/* Our own identity, shared by every session of a daemon. */
struct session_local {
	uint8_t priv[32];
	uint8_t pub[32];
	struct cookie_checker checker; /* mac1/cookie checks for messages sent to us */
	struct ratelimit *ratelimit;   /* per-source handshake limit (responder) */
	uint64_t drops[DROP_MAX];      /* packets of no known session */
	uint64_t load_window;          /* initiations with a valid mac1 in the current second */
	int load_count;
};
/* Initiations per second with a valid mac1 above which the responder asks for cookies. */
#define SESSION_LOAD_THRESHOLD 64

struct session {
	const struct vt_peer *peer;
	struct session_local *local;
	bool initiator;             /* client role */
	enum session_state state;

	/* handshake in progress (initiator), or the last responder handshake */
	struct noise_hs hs;
	uint32_t hs_index;
	bool hs_active;
	uint64_t hs_started, hs_sent;   /* first try and last (re)transmission */
	uint64_t hs_backoff_until;      /* after a refused handshake, wait until then */
	uint64_t hs_jitter;
	uint8_t last_timestamp[WIRE_TIMESTAMP_LEN]; /* greatest initiation timestamp seen */
	uint64_t hs_window_start;       /* per-peer initiation rate limit */
	int hs_window_count;
	struct cookie_maker cookie;     /* macs on messages we send to this peer */

	struct session_keypair kp_cur, kp_prev, kp_next;
	uint64_t prev_retired;          /* when kp_prev stopped being current, or (initiator) when
	                                   the first packet under the new key arrived */
	bool cur_heard;                 /* a packet arrived under kp_cur */

	uint64_t last_sent, last_recv;  /* any authenticated packet, ms */
	bool want_handshake;            /* initiator: start one at the next tick */
	bool close_received;
	bool respond_ok;                /* the last session_respond accepted the initiation: only
	                                   then may the engine move the endpoint or connection */

	void *lz4_state;                /* compress_state_size() bytes, allocated once */
	struct session_stats stats;
};

/* What the engine should do after a call. */
enum session_verdict {
	SV_NONE = 0, /* nothing (packet consumed, or nothing due) */
	SV_SEND,     /* out holds one wire message for the peer */
	SV_DELIVER,  /* the buffer holds one frame for the device */
	SV_DROP,     /* dropped and counted */
	SV_DOWN,     /* the session went down: the engine tears down the transport (TCP) and, on
	                a client, reconnects */
};

/* Set up our identity: keys, cookie checker; 0 or -1. */
int session_local_init(struct session_local *l, const uint8_t priv[32]);
void session_local_free(struct session_local *l);
/* Prepare a session for peer p; allocates its compression state once. 0 or -1. */
int session_init(struct session *s, const struct vt_peer *p, struct session_local *l,
    bool initiator);
/* Wipe every key and free what session_init allocated. */
void session_free(struct session *s);

/* Initiator: build a handshake initiation into out. SV_SEND, or SV_NONE if backing off. */
enum session_verdict session_initiate(struct session *s, uint64_t now, struct buf *out);
/*
 * Responder: process an initiation (msg, len) from src against sessions[0..n-1]. Checks mac1
 * first (garbage costs one MAC), answers with a cookie under load (more than
 * SESSION_LOAD_THRESHOLD valid-mac1 initiations a second, or force_load), rate-limits, runs the
 * Noise read, finds the peer by static key and checks its timestamp and settings. On SV_SEND, out
 * holds a response or a cookie reply for src and *matched is the session (NULL for a cookie);
 * (*matched)->respond_ok tells an accepted initiation from a refusal sent back to src.
 */
enum session_verdict session_respond(struct session *const *sessions, int n,
    struct session_local *l, const struct sockaddr *src, socklen_t srclen, const uint8_t *msg,
    size_t len, bool force_load, uint64_t now, struct buf *out, struct session **matched);
/* Initiator: process a response; SV_SEND (a keepalive that confirms the keys) or SV_DROP. */
enum session_verdict session_consume_response(struct session *s, const uint8_t *msg,
    size_t len, uint64_t now, struct buf *out);
/* Initiator: store the cookie from a cookie reply; SV_NONE or SV_DROP. */
enum session_verdict session_consume_cookie(struct session *s, const uint8_t *msg, size_t len,
    uint64_t now);
/* The session whose handshake or key uses receiver index idx, or NULL; *kp gets the key pair
 * (NULL for a pending handshake). */
struct session *session_find_index(struct session *const *sessions, int n, uint32_t idx,
    struct session_keypair **kp);

/* Seal the frame in b (consumed and replaced by the wire message in place). SV_SEND or SV_DROP
 * (no key: counted, and an initiator schedules a handshake). */
enum session_verdict session_encap(struct session *s, struct buf *b, uint64_t now);
/* Open the data message in b found for key pair kp. SV_DELIVER (b holds the frame), SV_NONE
 * (keepalive, rekey request), SV_DOWN (close received) or SV_DROP. */
enum session_verdict session_decap(struct session *s, struct session_keypair *kp, struct buf *b,
    uint64_t now);
/* Timers: at most one message per call; the engine calls again while it gets SV_SEND.
 * SV_SEND (initiation or keepalive in out), SV_DOWN (timed out or expired) or SV_NONE. */
enum session_verdict session_tick(struct session *s, uint64_t now, struct buf *out);
/* Monotonic ms at which session_tick has something to do next (UINT64_MAX: nothing). */
uint64_t session_next_deadline(const struct session *s, uint64_t now);
/* Build a close message into out if a key is available (SV_SEND) and wipe the keys. */
enum session_verdict session_close(struct session *s, uint64_t now, struct buf *out);
/* The transport went away (TCP): wipe keys; an initiator will handshake again. */
void session_reset(struct session *s, uint64_t now);
/* Human-readable state name. */
const char *session_state_name(enum session_state st);

#endif
