/*
 * session.h - per-peer session shared by client and server: the handshake (Noise IKpsk2), key
 * slots, encapsulation (frame -> wire) and decapsulation (wire -> frame), timers and counters.
 * No sockets and no timers of its own: every call gets `now` (monotonic milliseconds) and returns
 * what the engine should do (a verdict, and events taken with session_take_events). The wall
 * clock is read only for handshake timestamps and status. The only difference between the
 * roles is that the client initiates.
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
#include "dupkey.h"
#include "crypto.h"
#include "noise.h"
#include "replay.h"
#include "wire.h"

/* Timers (milliseconds) and limits; see doc/PROTOCOL.md. */
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
};

/* Counted by the session itself: handshakes, and the drops it detects (auth, replay, malformed,
 * no_session, ratelimit, mismatch). Traffic (frames delivered and sent) and the drops of the
 * data path (no_key, device) are counted by whoever writes the device or the socket. */
struct session_stats {
	uint64_t drops[DROP_MAX];
	uint64_t comp_in, comp_out;          /* bytes before and after compression (tx) */
	uint64_t comp_raw;                   /* packets sent raw because they did not shrink */
	uint64_t handshakes;                 /* completed handshakes */
	int64_t last_handshake;              /* wall clock seconds of the last one, 0 = never */
	int64_t up_since;                    /* wall clock seconds the session came up, 0 = down */
};

/* What happened to the session during a call, for the engine to act on (session_take_events).
 * Several may be set after one call (a packet that confirms new keys and closes...). */
enum session_event {
	SE_UP = 1 << 0,        /* the first key pair is in use: the session is up */
	SE_REKEYED = 1 << 1,   /* new keys replaced the previous ones; the session stays up */
	SE_DOWN = 1 << 2,      /* the session went down (timed out, expired, closed by the peer) */
	SE_CONFIRMED = 1 << 3, /* this authenticated packet confirmed a new key pair: only now may
	                          the engine move the peer's endpoint or bind its connection */
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
	uint64_t serial;      /* unique among the daemon's key pairs, never 0 */
	uint16_t peer_mtu;    /* the MTU the peer's handshake gave: its largest frame */
};

/* Our own identity, shared by every session of a daemon. */
struct session_local {
	uint8_t priv[32];
	uint8_t pub[32];
	struct cookie_checker checker; /* mac1/cookie checks for messages sent to us */
	struct ratelimit *ratelimit;   /* per-source handshake limit under load (responder) */
	int lanes;                     /* threads that seal and open (1; pool.h): contexts per
	                                  key, for keys made from now on */
	uint64_t serial;               /* the last key pair's serial */
};

/* Responses the initiator opens (two Diffie-Hellman operations each) per initiation sent: a
 * forged response with the right index costs that much, so only a few get that far. */
#define SESSION_RESPONSES_PER_TRY 4
/* Granularity of the handshake timestamp, like WireGuard's: finer times would tell the host's
 * clock apart; 20 ms also caps initiations at 50 a second per peer. */
#define SESSION_TIMESTAMP_NS 20000000

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
	unsigned hs_tries;              /* initiations since the last success (backoff.h) */
	uint64_t hs_wait;               /* ms after the last one before the next */
	uint8_t last_timestamp[WIRE_TIMESTAMP_LEN]; /* greatest initiation timestamp seen */
	uint8_t sent_timestamp[WIRE_TIMESTAMP_LEN]; /* initiator: the last one sent */
	int hs_responses;               /* initiator: responses opened for this try */
	unsigned hs_refused;            /* initiator: refusals as a duplicate since the last
	                                   success (backoff.h) */
	struct dupkey dup;              /* responder: the same key from two endpoints */
	bool next_takes_over;           /* responder: kp_next came from a contested handshake */
	uint64_t hs_window_start;       /* per-peer initiation rate limit */
	int hs_window_count;
	struct cookie_maker cookie;     /* macs on messages we send to this peer */

	struct session_keypair kp_cur, kp_prev, kp_next;
	uint64_t prev_retired;          /* when kp_prev stopped being current, or (initiator) when
	                                   the first packet under the new key arrived */
	bool cur_heard;                 /* a packet arrived under kp_cur */

	uint64_t last_sent, last_recv;  /* any authenticated packet, ms */
	bool want_handshake;            /* initiator: start one at the next tick */
	unsigned events;                /* enum session_event bits not yet taken */

	void *lz4_state;                /* compress_state_size() bytes, allocated once */
	struct session_stats stats;
};

/* What the engine should do after a call. */
enum session_verdict {
	SV_NONE = 0, /* nothing (packet consumed, or nothing due) */
	SV_SEND,     /* out holds one wire message for the peer (by its endpoint or connection) */
	SV_REPLY,    /* out holds a reply for the sender of the message just processed (a cookie
	                reply, or a refusal): send it back where the message came from, and move
	                nothing */
	SV_DELIVER,  /* the buffer holds one frame for the device */
	SV_DROP,     /* dropped (counted where the function says) */
};

/* Set up our identity: keys, cookie checker, rate limiter; 0 or -1. */
int session_local_init(struct session_local *l, const uint8_t priv[32]);
void session_local_free(struct session_local *l);
/* Prepare a session for peer p (kept by pointer: it must outlive the session); allocates its
 * compression state once. 0 or -1. */
int session_init(struct session *s, const struct vt_peer *p, struct session_local *l,
    bool initiator);
/* Wipe every key and free what session_init allocated. */
void session_free(struct session *s);
/* The session_event bits raised since the last call, cleared. */
unsigned session_take_events(struct session *s);

/* Initiator: a handshake is under way (sent, not answered yet). */
bool session_handshaking(const struct session *s);
/* Initiator: start a handshake at the next tick even though none is due (a client probing
 * another remote); nothing if one is under way. */
void session_want_handshake(struct session *s);
/* Initiator: build a handshake initiation with receiver index idx (unique among our indices:
 * the caller chooses it) into out. SV_SEND, or SV_NONE if backing off. */
enum session_verdict session_initiate(struct session *s, uint32_t idx, uint64_t now,
    struct buf *out);

/*
 * Responder, in two steps so that the caller can find the peer by its static key (a hash
 * table) and check the link before any state of that peer changes.
 * session_respond_open: check an initiation (msg, len) from src: mac1 first (garbage costs one
 * MAC); under_load (the caller's measure of handshake work waiting), a cookie reply unless mac2
 * is valid, and then the per-source rate limit; then the first half of the Noise read, which
 * reveals the initiator's static key (in->remote_static). Returns SV_NONE when opened (then call
 * session_respond_finish or session_init_wipe), SV_REPLY with a cookie reply in out, or SV_DROP
 * with the reason in *why (not counted: no session is known yet).
 */
struct session_init {
	struct noise_hs hs;
	uint8_t payload[WIRE_INIT_PAYLOAD_LEN];
	uint8_t remote_static[32];
	uint32_t sender;       /* the initiator's index */
	uint8_t suite;
	struct sockaddr_storage src;
	socklen_t srclen;
	/* set by the caller before session_respond_finish: whether the session is up with
	 * another endpoint, and that endpoint (for the log) */
	bool contested;
	bool moving;           /* ... over the other transport (a client failing over or back):
	                          taken over whatever the policy, counted for flapping */
	char holder[80];
};
enum session_verdict session_respond_open(struct session_local *l, const struct sockaddr *src,
    socklen_t srclen, const uint8_t *msg, size_t len, bool under_load, uint64_t now,
    struct session_init *in, struct buf *out, enum vt_drop *why);
/*
 * Finish an opened initiation for session s (whose peer has the key in->remote_static): the
 * timestamp (replays refused), the per-peer rate, the settings. SV_SEND: out holds the
 * response, and a new key pair with receiver index local_idx waits for the initiator's first
 * data packet (SE_CONFIRMED then). SV_REPLY: out holds a refusal (settings or name differ, or
 * in->contested and the peer's duplicate policy says no: dupkey.h) for the sender. SV_DROP:
 * counted in s. Nothing of s changes but its timestamp, its dupkey state and the pending key
 * pair: the endpoint, connection and timers move only when keys are confirmed. Wipes in.
 */
enum session_verdict session_respond_finish(struct session *s, struct session_init *in,
    uint32_t local_idx, uint64_t now, struct buf *out);
/* Forget an opened initiation (wipes in). */
void session_init_wipe(struct session_init *in);

/* Initiator: process a response; SV_SEND (a keepalive that confirms the keys: SE_UP or
 * SE_REKEYED) or SV_DROP (counted). */
enum session_verdict session_consume_response(struct session *s, const uint8_t *msg,
    size_t len, uint64_t now, struct buf *out);
/* Initiator: store the cookie from a cookie reply; SV_NONE or SV_DROP (counted). */
enum session_verdict session_consume_cookie(struct session *s, const uint8_t *msg, size_t len,
    uint64_t now);

/* What a receiver index of ours leads to in s. */
enum session_slot {
	SLOT_NONE = 0,
	SLOT_HANDSHAKE, /* the initiation we sent: responses and cookie replies carry it */
	SLOT_CURRENT,
	SLOT_NEXT,
	SLOT_PREVIOUS,
};
/* Which of s's indices idx is, and for a key pair the pair itself (else *kp = NULL). */
enum session_slot session_slot_of(struct session *s, uint32_t idx, struct session_keypair **kp);
/* The receiver indices s uses now (at most 4: handshake, current, next, previous) into out;
 * returns how many. The caller's index table follows this after every call. */
int session_indices(const struct session *s, uint32_t out[4]);

/* Seal the frame in b (consumed and replaced by the wire message in place). SV_SEND, or SV_DROP
 * when no key is usable (not counted: the caller keeps the frame or counts it; an initiator
 * schedules a handshake). */
enum session_verdict session_encap(struct session *s, struct buf *b, uint64_t now);
/*
 * Sealing and opening in three steps, for a data path that shares the AEAD work of a batch
 * among threads (pool.h): the first and last run in the engine's thread in packet order, the
 * middle one (session_job_run) on any lane, touching only its job and the job's buffer.
 * session_encap and session_decap are the three steps in a row on lane 0.
 */
struct session_job {
	struct crypto_aead *aead;
	uint64_t counter;
	uint64_t serial;  /* the key pair's */
	uint8_t *hdr;     /* the data header (associated data); the body follows it */
	size_t len;       /* sealing: bytes to seal; opening: bytes with the tag */
	int rc;           /* what session_job_run did: 0, or -1 (not sealed / not authentic) */
};
/* session_encap's first step: SV_SEND with the job to run (b then holds the header and room
 * for the tag), or SV_DROP as session_encap. A job that fails leaves nothing to send. */
enum session_verdict session_encap_begin(struct session *s, struct buf *b, uint64_t now,
    struct session_job *job);
/* Seal or open, on lane (0..s->local->lanes - 1 of the session whose key it is). */
void session_job_run(struct session_job *job, int lane);
/* Opening, first step: whether data message b may be opened with kp now (header, key age,
 * the replay window's bounds); job is then set. Nothing is counted or changed: when it says
 * no, session_decap counts the reason. */
bool session_decap_ready(struct session_keypair *kp, struct buf *b, uint64_t now,
    struct session_job *job);
/* Last step: b was opened by job; kp is the key pair its receiver index leads to now (the
 * messages before it may have moved or wiped keys: a pair that is no longer the job's is a
 * no_session drop). As session_decap from there on. */
enum session_verdict session_decap_opened(struct session *s, struct session_keypair *kp,
    struct buf *b, const struct session_job *job, uint64_t now);
/* Open the data message in b found for key pair kp. SV_DELIVER (b holds the frame), SV_NONE
 * (keepalive, rekey request, a close of an older key pair), or SV_DROP (counted). Events:
 * SE_CONFIRMED and SE_UP/SE_REKEYED when it confirmed new keys, SE_DOWN on a close. */
enum session_verdict session_decap(struct session *s, struct session_keypair *kp, struct buf *b,
    uint64_t now);
/* Timers: at most one message per call; the engine calls again while it gets SV_SEND.
 * SV_SEND (initiation or keepalive in out) or SV_NONE; SE_DOWN when it timed out or expired.
 * idx: an unused receiver index for an initiation this call may build. */
enum session_verdict session_tick(struct session *s, uint32_t idx, uint64_t now,
    struct buf *out);
/* Monotonic ms at which session_tick has something to do next (UINT64_MAX: nothing). */
uint64_t session_next_deadline(const struct session *s, uint64_t now);
/* Build a close message into out if a key is available (SV_SEND) and wipe the keys. */
enum session_verdict session_close(struct session *s, uint64_t now, struct buf *out);
/* The transport went away (TCP): wipe the keys in use (a responder keeps a pending pair, which
 * may belong to a newer connection); an initiator will handshake again. */
void session_reset(struct session *s);
/* Whether the session has come up and not gone down since. */
bool session_is_up(const struct session *s);
/* The MTU both ends take: ours, or the peer's as its last handshake gave it if smaller (what
 * mss-clamp clamps to). */
int session_path_mtu(const struct session *s);
enum session_state session_state(const struct session *s);
/* Human-readable state name. */
const char *session_state_name(enum session_state st);

#endif
