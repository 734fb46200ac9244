/*
 * session.c - one session layer for both roles: Noise IKpsk2 handshake (the client initiates),
 * key slots with key confirmation, encapsulation and decapsulation of data, timers and counters.
 * No sockets, no event loop: the engine passes `now` and acts on the returned verdict.
 */
#include "session.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "addr.h"
#include "backoff.h"
#include "compress.h"
#include "log.h"

/* Bound into every handshake hash: a different program or version cannot complete one. */
static const uint8_t prologue[] = "vtund-ng wire 1";
_Static_assert(WIRE_VERSION == 1, "bump the prologue with WIRE_VERSION");
static const uint8_t zero_psk[32];


/* Scratch space for compression, kept behind the LZ4 state (one allocation per session). */
#define SCRATCH_LEN (BUF_MAX_FRAME + BUF_MAX_FRAME / 255 + 64)

static struct log_ratelimit rl_replay, rl_retry, rl_duplicate;

/* Wall clock seconds, for timestamps and status only (timers use the monotonic `now`). */
static void
wallclock(uint64_t *sec, uint32_t *nsec)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	*sec = (uint64_t)ts.tv_sec;
	*nsec = (uint32_t)ts.tv_nsec;
}

static int64_t
wall_seconds(void)
{
	uint64_t sec;
	uint32_t nsec;

	wallclock(&sec, &nsec);
	return (int64_t)sec;
}

static enum crypto_suite
suite_of(const struct vt_peer *p)
{
	return p->cipher == VT_CHACHA20POLY1305 ? CRYPTO_CHACHAPOLY : CRYPTO_AESGCM;
}

static const uint8_t *
psk_of(const struct vt_peer *p)
{
	return p->has_psk ? p->psk : zero_psk;
}

/* Largest frame of an MTU: the MTU, plus an Ethernet header with a VLAN tag on tap. */
static size_t
frame_of(const struct vt_peer *p, int mtu)
{
	return (size_t)mtu + (p->type == VT_TAP ? 18 : 0);
}

/* Largest frame the device may get under key kp: what our MTU or the peer's allows (a tun
 * peer's may be larger than ours; the kernel takes such a frame and routes it on). */
static size_t
max_frame(const struct vt_peer *p, const struct session_keypair *kp)
{
	return frame_of(p, kp->peer_mtu > p->mtu ? kp->peer_mtu : p->mtu);
}

int
session_path_mtu(const struct session *s)
{
	int mtu = s->peer->mtu;

	if (s->kp_cur.valid && s->kp_cur.peer_mtu != 0 && s->kp_cur.peer_mtu < mtu)
		mtu = s->kp_cur.peer_mtu;
	return mtu;
}

static void
params_of(const struct vt_peer *p, struct wire_params *w, uint8_t status)
{
	memset(w, 0, sizeof(*w));
	w->version = WIRE_VERSION;
	w->cipher = (uint8_t)p->cipher;
	w->compress = (uint8_t)p->compress;
	w->type = (uint8_t)p->type;
	w->mtu = (uint16_t)p->mtu;
	w->status = status;
	snprintf(w->name, sizeof(w->name), "%s", p->name);
}

/* Compare what both ends must agree on; log each difference; true if all agree. */
static bool
params_agree(const struct vt_peer *p, const struct wire_params *theirs)
{
	struct wire_params ours;
	bool ok = true;

	params_of(p, &ours, WIRE_STATUS_OK);
	if (ours.version != theirs->version) {
		log_warnx("peer %s: protocol version differs: ours %u, peer's %u", p->name,
		    ours.version, theirs->version);
		ok = false;
	}
	if (ours.cipher != theirs->cipher) {
		log_warnx("peer %s: cipher differs: ours %s, peer's %s", p->name,
		    NAMES_GET(names_cipher, ours.cipher), NAMES_GET(names_cipher, theirs->cipher));
		ok = false;
	}
	if (ours.compress != theirs->compress) {
		log_warnx("peer %s: compress differs: ours %s, peer's %s", p->name,
		    NAMES_GET(names_compress, ours.compress),
		    NAMES_GET(names_compress, theirs->compress));
		ok = false;
	}
	if (ours.type != theirs->type) {
		log_warnx("peer %s: type differs: ours %s, peer's %s", p->name,
		    NAMES_GET(names_devtype, ours.type), NAMES_GET(names_devtype, theirs->type));
		ok = false;
	}
	/* A tun link may have another MTU at each end (each sends what its device takes, TCP
	 * through it the smaller: MSS); a bridge has no way to say that a frame is too large. */
	if (ours.mtu != theirs->mtu && p->type == VT_TAP) {
		log_warnx("peer %s: mtu differs: ours %u, peer's %u (a tap link needs the same "
		    "on both ends: set mtu to the same number on both)", p->name, ours.mtu,
		    theirs->mtu);
		ok = false;
	}
	return ok;
}

static void
keypair_wipe(struct session_keypair *kp)
{
	crypto_aead_free(&kp->send);
	crypto_aead_free(&kp->recv);
	crypto_wipe(kp, sizeof(*kp));
}

/* Install Split() output into kp. Consumes (wipes) the two keys. */
static int
keypair_install(struct session_keypair *kp, struct session *s, uint8_t ks[32],
    uint8_t kr[32], bool initiator, uint32_t local, uint32_t remote, uint16_t peer_mtu,
    uint64_t now)
{
	const struct vt_peer *p = s->peer;
	int lanes = s->local->lanes, ret = -1;

	keypair_wipe(kp);
	if (crypto_aead_init_lanes(&kp->send, suite_of(p), ks, true, lanes) == -1 ||
	    crypto_aead_init_lanes(&kp->recv, suite_of(p), kr, false, lanes) == -1) {
		keypair_wipe(kp);
		goto out;
	}
	kp->valid = true;
	kp->initiator = initiator;
	kp->confirmed = initiator;
	kp->local_index = local;
	kp->remote_index = remote;
	kp->created = now;
	kp->serial = ++s->local->serial;
	kp->peer_mtu = peer_mtu;
	replay_init(&kp->replay);
	ret = 0;
out:
	crypto_wipe(ks, 32);
	crypto_wipe(kr, 32);
	return ret;
}

static bool
keypair_usable(const struct session_keypair *kp, uint64_t now)
{
	return kp->valid && now - kp->created < SESSION_REJECT_AFTER &&
	    kp->send_counter < SESSION_REJECT_AFTER_MSGS &&
	    kp->send_blocks < SESSION_REJECT_AFTER_BLOCKS;
}

static void
wipe_all_keys(struct session *s)
{
	keypair_wipe(&s->kp_cur);
	keypair_wipe(&s->kp_prev);
	keypair_wipe(&s->kp_next);
	noise_wipe(&s->hs);
	s->hs_active = false;
}

/*
 * Mark the session down (logging once) and wipe the keys in use. A responder's unconfirmed new
 * key (kp_next) survives: it belongs to a handshake that is newer than whatever went wrong.
 */
static void
go_down(struct session *s, const char *why)
{
	struct session_keypair next = s->kp_next;

	if (s->stats.up_since != 0) {
		log_info("peer %s: session down (%s)", s->peer->name, why);
		s->events |= SE_DOWN;
	}
	s->stats.up_since = 0;
	dupkey_session_down(&s->dup);
	s->next_takes_over = false;
	memset(&s->kp_next, 0, sizeof(s->kp_next));
	wipe_all_keys(s);
	if (!s->initiator)
		s->kp_next = next;
	else
		keypair_wipe(&next);
	crypto_wipe(&next, sizeof(next));
	s->state = SESSION_IDLE;
}

const char *
session_state_name(enum session_state st)
{
	switch (st) {
	case SESSION_IDLE:
		return "down";
	case SESSION_HANDSHAKING:
		return "handshaking";
	case SESSION_ESTABLISHED:
		return "established";
	}
	return "unknown";
}

unsigned
session_take_events(struct session *s)
{
	unsigned ev = s->events;

	s->events = 0;
	return ev;
}

int
session_local_init(struct session_local *l, const uint8_t priv[32])
{
	memset(l, 0, sizeof(*l));
	memcpy(l->priv, priv, 32);
	l->lanes = 1;
	if (crypto_x25519_public(l->priv, l->pub) == -1)
		return -1;
	cookie_checker_init(&l->checker, l->pub);
	l->ratelimit = ratelimit_new();
	return l->ratelimit == NULL ? -1 : 0;
}

void
session_local_free(struct session_local *l)
{
	ratelimit_free(l->ratelimit);
	cookie_checker_wipe(&l->checker);
	crypto_wipe(l, sizeof(*l));
}

int
session_init(struct session *s, const struct vt_peer *p, struct session_local *l,
    bool initiator)
{
	memset(s, 0, sizeof(*s));
	s->peer = p;
	s->local = l;
	s->initiator = initiator;
	s->state = SESSION_IDLE;
	s->want_handshake = initiator;
	cookie_maker_init(&s->cookie, p->public_key);
	if (p->compress == VT_COMPRESS_LZ4) {
		s->lz4_state = malloc(compress_state_size() + SCRATCH_LEN);
		if (s->lz4_state == NULL)
			return -1;
	}
	return 0;
}

void
session_free(struct session *s)
{
	wipe_all_keys(s);
	cookie_maker_wipe(&s->cookie);
	free(s->lz4_state);
	s->lz4_state = NULL;
}

static uint8_t *
scratch_of(struct session *s)
{
	return (uint8_t *)s->lz4_state + compress_state_size();
}

/*
 * The timestamp of a new initiation: the wall clock rounded down to SESSION_TIMESTAMP_NS, and
 * always later than the one sent before (a responder refuses anything not later than what it
 * saw), even if the clock stepped back or two initiations fall into one slot.
 */
static void
next_timestamp(struct session *s, uint8_t ts[WIRE_TIMESTAMP_LEN])
{
	uint64_t sec;
	uint32_t nsec;

	wallclock(&sec, &nsec);
	nsec -= nsec % SESSION_TIMESTAMP_NS;
	wire_timestamp_encode(ts, sec, nsec);
	if (wire_timestamp_cmp(ts, s->sent_timestamp) <= 0) {
		sec = wire_get64(s->sent_timestamp);
		nsec = wire_get32(s->sent_timestamp + 8) + SESSION_TIMESTAMP_NS;
		if (nsec >= 1000000000) {
			nsec = 0;
			sec++;
		}
		wire_timestamp_encode(ts, sec, nsec);
	}
	memcpy(s->sent_timestamp, ts, WIRE_TIMESTAMP_LEN);
}

bool
session_handshaking(const struct session *s)
{
	return s->initiator && s->hs_active;
}

void
session_want_handshake(struct session *s)
{
	if (s->initiator && !s->hs_active)
		s->want_handshake = true;
}

enum session_verdict
session_initiate(struct session *s, uint32_t idx, uint64_t now, struct buf *out)
{
	const struct vt_peer *p = s->peer;
	uint8_t payload[WIRE_INIT_PAYLOAD_LEN];
	struct wire_params params;
	uint8_t *msg;
	uint32_t r;
	size_t n;

	if (!s->initiator || now < s->hs_backoff_until)
		return SV_NONE;
	noise_wipe(&s->hs);
	if (noise_init_kp(&s->hs, NOISE_IKPSK2, suite_of(p), true, prologue,
	    sizeof(prologue) - 1, s->local->priv, s->local->pub, p->public_key, psk_of(p)) == -1)
		return SV_NONE;
	s->hs_index = idx;

	next_timestamp(s, payload);
	params_of(p, &params, WIRE_STATUS_OK);
	wire_params_encode(payload + WIRE_TIMESTAMP_LEN, &params);

	buf_reset(out);
	msg = buf_put(out, WIRE_INIT_LEN);
	memset(msg, 0, WIRE_INIT_LEN);
	wire_put_header(msg, WIRE_HS_INIT, (uint8_t)suite_of(p));
	wire_put32(msg + 4, s->hs_index);
	if (noise_write_message(&s->hs, payload, sizeof(payload), msg + 8,
	    WIRE_INIT_LEN - 8 - 2 * WIRE_MAC_LEN, &n) == -1 ||
	    n != WIRE_INIT_LEN - 8 - 2 * WIRE_MAC_LEN) {
		noise_wipe(&s->hs);
		buf_reset(out);
		return SV_NONE;
	}
	cookie_add_macs(&s->cookie, msg, WIRE_INIT_LEN, now);
	crypto_wipe(payload, sizeof(payload));

	if (!s->hs_active)
		s->hs_started = now;
	/* The wait before the next try doubles (backoff.h), its jitter drawn afresh per try:
	 * retries of many clients must not stay in step. */
	crypto_random(&r, sizeof(r));
	s->hs_tries = backoff_count(s->hs_tries);
	s->hs_wait = backoff_wait(s->hs_tries, r);
	s->hs_active = true;
	s->hs_sent = now;
	s->hs_responses = 0;
	s->want_handshake = false;
	if (s->state == SESSION_IDLE)
		s->state = SESSION_HANDSHAKING;
	return SV_SEND;
}

/* Per-peer initiation rate: at most 50 per second reach the Diffie-Hellman of message 2. */
static bool
peer_rate_ok(struct session *s, uint64_t now)
{
	if (now - s->hs_window_start >= 1000) {
		s->hs_window_start = now;
		s->hs_window_count = 0;
	}
	return ++s->hs_window_count <= 50;
}

void
session_init_wipe(struct session_init *in)
{
	noise_wipe(&in->hs);
	crypto_wipe(in, sizeof(*in));
}

enum session_verdict
session_respond_open(struct session_local *l, const struct sockaddr *src, socklen_t srclen,
    const uint8_t *msg, size_t len, bool under_load, uint64_t now, struct session_init *in,
    struct buf *out, enum vt_drop *why)
{
	enum cookie_result cr;
	size_t plen;

	memset(in, 0, sizeof(*in));
	if (len != WIRE_INIT_LEN || (msg[2] != WIRE_SUITE_AESGCM &&
	    msg[2] != WIRE_SUITE_CHACHAPOLY) || srclen > sizeof(in->src)) {
		*why = DROP_MALFORMED;
		return SV_DROP;
	}
	cr = cookie_validate(&l->checker, msg, len, src, srclen, now);
	if (cr == COOKIE_BAD_MAC1) {
		*why = DROP_AUTH;
		return SV_DROP;
	}
	/* Like WireGuard: only under load must a sender prove its address (mac2), and only then
	 * is it rate-limited by that address; a spoofed source cannot starve a client otherwise. */
	if (under_load) {
		if (cr != COOKIE_MAC2_OK) {
			buf_reset(out);
			cookie_make_reply(&l->checker, msg, len, wire_get32(msg + 4), src, srclen,
			    now, buf_put(out, WIRE_COOKIE_LEN));
			return SV_REPLY;
		}
		if (!ratelimit_allow(l->ratelimit, src, srclen, now)) {
			*why = DROP_RATELIMIT;
			return SV_DROP;
		}
	}
	if (noise_init_kp(&in->hs, NOISE_IKPSK2, (enum crypto_suite)msg[2], false, prologue,
	    sizeof(prologue) - 1, l->priv, l->pub, NULL, NULL) == -1 ||
	    noise_read_message(&in->hs, msg + 8, len - 8 - 2 * WIRE_MAC_LEN, in->payload,
	    sizeof(in->payload), &plen) == -1 || plen != sizeof(in->payload)) {
		session_init_wipe(in);
		*why = DROP_AUTH;
		return SV_DROP;
	}
	memcpy(in->remote_static, noise_remote_static(&in->hs), 32);
	in->sender = wire_get32(msg + 4);
	in->suite = msg[2];
	memcpy(&in->src, src, srclen);
	in->srclen = srclen;
	in->contested = in->moving = false; /* the caller knows (dupkey.h) */
	in->holder[0] = '\0';
	return SV_NONE;
}

/* A valid handshake from addr while the session is up with in->holder: the peer's duplicate
 * policy decides (dupkey.h); the status to answer with. */
static uint8_t
contested(struct session *s, const struct session_init *in, const char *addr, uint64_t now,
    bool *takeover)
{
	const struct vt_peer *p = s->peer;
	uint64_t window = dupkey_window(p->timeout);

	/* Over the other transport it is a client failing over or back (a second client on one
	 * key is still caught as flapping): taken over whatever the policy. */
	switch (dupkey_decide(&s->dup, in->moving ? VT_DUP_REPLACE : p->duplicate, true, window,
	    now)) {
	case DK_ACCEPT:
		break;
	case DK_TAKEOVER:
		if (in->moving)
			log_info("peer %s: handshake from %s over the other transport while the "
			    "session with %s is up: the session moves there once it confirms the "
			    "keys", p->name, addr, in->holder);
		else
			log_info("peer %s: handshake from %s while the session with %s is up: %s "
			    "takes it over once it confirms the keys (duplicate = replace)", p->name,
			    addr, in->holder, addr);
		*takeover = true;
		break;
	case DK_FLAPPING:
		log_warnx("peer %s: the session went back and forth between %s and %s, %d times "
		    "in %llu s: two clients with one key? Keeping %s; handshakes from elsewhere "
		    "are refused while its session is up", p->name, in->holder, addr,
		    DUPKEY_FLAPS, (unsigned long long)(window / 1000), in->holder);
		return WIRE_STATUS_DUPLICATE;
	case DK_REFUSE:
		if (log_ratelimit_ok(&rl_duplicate))
			log_warnx("peer %s: handshake from %s refused: the session with %s is up "
			    "(%s)", p->name, addr, in->holder, s->dup.flapping ?
			    "two clients with one key" : "duplicate = refuse");
		return WIRE_STATUS_DUPLICATE;
	}
	return WIRE_STATUS_OK;
}

enum session_verdict
session_respond_finish(struct session *s, struct session_init *in, uint32_t local_idx,
    uint64_t now, struct buf *out)
{
	uint8_t rpayload[WIRE_RESP_PAYLOAD_LEN], k1[32], k2[32];
	struct wire_params theirs, ours;
	char addr[80];
	uint8_t status, *r;
	size_t wlen;
	enum session_verdict v = SV_DROP;
	bool takeover = false;

	addr_format((const struct sockaddr *)&in->src, addr, sizeof(addr));
	/* The timestamp first: replayed initiations must not use up the peer's budget. */
	if (wire_timestamp_cmp(in->payload, s->last_timestamp) <= 0) {
		if (log_ratelimit_ok(&rl_replay))
			log_info("peer %s: replayed handshake from %s: refused", s->peer->name,
			    addr);
		s->stats.drops[DROP_REPLAY]++;
		goto out;
	}
	if (!peer_rate_ok(s, now)) {
		s->stats.drops[DROP_RATELIMIT]++;
		goto out;
	}
	if (!wire_params_decode(in->payload + WIRE_TIMESTAMP_LEN, &theirs) ||
	    theirs.cipher != in->suite) {
		s->stats.drops[DROP_MALFORMED]++;
		goto out;
	}
	status = WIRE_STATUS_OK;
	if (strcmp(theirs.name, s->peer->name) != 0) {
		log_warnx("peer %s: %s calls this link '%s', not '%s': refused", s->peer->name,
		    addr, theirs.name, s->peer->name);
		status = WIRE_STATUS_UNKNOWN_NAME;
	} else if (!params_agree(s->peer, &theirs)) {
		log_warnx("peer %s: handshake from %s refused: settings differ", s->peer->name,
		    addr);
		status = WIRE_STATUS_MISMATCH;
	} else if (in->contested) {
		status = contested(s, in, addr, now, &takeover);
	}
	/* A refused duplicate changes nothing, not even the timestamp: a client whose clock is
	 * ahead must not lock the holder's own handshakes out as replays. */
	if (status != WIRE_STATUS_DUPLICATE)
		memcpy(s->last_timestamp, in->payload, WIRE_TIMESTAMP_LEN);

	noise_set_psk(&in->hs, psk_of(s->peer));
	params_of(s->peer, &ours, status);
	wire_params_encode(rpayload, &ours);
	buf_reset(out);
	r = buf_put(out, WIRE_RESP_LEN);
	memset(r, 0, WIRE_RESP_LEN);
	wire_put_header(r, WIRE_HS_RESP, in->suite);
	wire_put32(r + 4, local_idx);
	wire_put32(r + 8, in->sender);
	if (noise_write_message(&in->hs, rpayload, sizeof(rpayload), r + 12,
	    WIRE_RESP_LEN - 12 - 2 * WIRE_MAC_LEN, &wlen) == -1 ||
	    wlen != WIRE_RESP_LEN - 12 - 2 * WIRE_MAC_LEN) {
		buf_reset(out);
		s->stats.drops[DROP_AUTH]++;
		goto out;
	}
	cookie_add_macs(&s->cookie, r, WIRE_RESP_LEN, now);
	if (status != WIRE_STATUS_OK) {
		s->stats.drops[status == WIRE_STATUS_DUPLICATE ? DROP_DUPLICATE : DROP_MISMATCH]++;
		v = SV_REPLY;
		goto out;
	}
	/* The initiator sends with k1 and receives with k2. The new pair waits in kp_next until
	 * the initiator's first data packet proves it holds the keys (key confirmation). */
	noise_split(&in->hs, k1, k2);
	if (keypair_install(&s->kp_next, s, k2, k1, false, local_idx, in->sender, theirs.mtu,
	    now) == -1) {
		buf_reset(out);
		goto out;
	}
	s->next_takes_over = takeover;
	log_debug("peer %s: handshake from %s answered", s->peer->name, addr);
	v = SV_SEND;
out:
	session_init_wipe(in);
	crypto_wipe(rpayload, sizeof(rpayload));
	return v;
}

/* The first step of sealing an inner message of type `inner` whose body (maybe empty) is
 * already in b: header and counter; job seals it. */
static void
seal_begin(struct session *s, struct session_keypair *kp, struct buf *b, uint8_t inner,
    uint64_t now, struct session_job *job)
{
	struct wire_data_hdr h;
	size_t plen;

	*buf_push(b, WIRE_INNER_HDR_LEN) = inner;
	plen = b->len;
	h.receiver = kp->remote_index;
	h.counter = kp->send_counter++;
	kp->send_blocks += (plen + 15) / 16 + 1;
	job->hdr = buf_push(b, WIRE_DATA_HDR_LEN);
	wire_data_hdr_encode(job->hdr, &h);
	buf_put(b, WIRE_TAG_LEN);
	job->aead = &kp->send;
	job->counter = h.counter;
	job->serial = kp->serial;
	job->len = plen;
	job->rc = -1;
	s->last_sent = now;
}

void
session_job_run(struct session_job *job, int lane)
{
	uint8_t *body = job->hdr + WIRE_DATA_HDR_LEN;

	if (job->aead->encrypt)
		job->rc = crypto_aead_seal_lane(job->aead, lane, job->counter, job->hdr,
		    WIRE_DATA_HDR_LEN, body, job->len, body);
	else
		job->rc = crypto_aead_open_lane(job->aead, lane, job->counter, job->hdr,
		    WIRE_DATA_HDR_LEN, body, job->len, body);
}

/* Seal an inner message of type `inner` whose body (maybe empty) is already in b. */
static enum session_verdict
seal(struct session *s, struct session_keypair *kp, struct buf *b, uint8_t inner,
    uint64_t now)
{
	struct session_job job;

	seal_begin(s, kp, b, inner, now, &job);
	session_job_run(&job, 0);
	return job.rc == 0 ? SV_SEND : SV_DROP;
}

/* A keepalive or control message with no body, into out. */
static enum session_verdict
seal_empty(struct session *s, uint8_t inner, uint64_t now, struct buf *out)
{
	if (!keypair_usable(&s->kp_cur, now))
		return SV_NONE;
	buf_reset(out);
	return seal(s, &s->kp_cur, out, inner, now);
}

enum session_verdict
session_consume_response(struct session *s, const uint8_t *msg, size_t len, uint64_t now,
    struct buf *out)
{
	uint8_t payload[WIRE_RESP_PAYLOAD_LEN], k1[32], k2[32];
	struct sockaddr_in none = { .sin_family = AF_INET };
	struct wire_params theirs;
	struct noise_hs hs;
	bool first;
	size_t plen;
	enum session_verdict v = SV_DROP;

	if (!s->initiator || !s->hs_active || len != WIRE_RESP_LEN ||
	    wire_get32(msg + 8) != s->hs_index) {
		s->stats.drops[DROP_NO_SESSION]++;
		return SV_DROP;
	}
	if (cookie_validate(&s->local->checker, msg, len,
	    (struct sockaddr *)&none, sizeof(none), now) == COOKIE_BAD_MAC1) {
		s->stats.drops[DROP_AUTH]++;
		return SV_DROP;
	}
	/* Anyone who saw our initiation knows its index and our public key: a forged response
	 * costs us two Diffie-Hellman operations, so only a few per try are opened. */
	if (s->hs_responses >= SESSION_RESPONSES_PER_TRY) {
		s->stats.drops[DROP_RATELIMIT]++;
		return SV_DROP;
	}
	s->hs_responses++;
	/* Work on a copy: a forged response must not destroy the pending handshake. */
	hs = s->hs;
	noise_set_psk(&hs, psk_of(s->peer));
	if (noise_read_message(&hs, msg + 12, len - 12 - 2 * WIRE_MAC_LEN, payload,
	    sizeof(payload), &plen) == -1 || plen != sizeof(payload) ||
	    !wire_params_decode(payload, &theirs)) {
		s->stats.drops[DROP_AUTH]++;
		goto out;
	}
	if (theirs.status == WIRE_STATUS_DUPLICATE) {
		uint64_t wait;
		uint32_t r;

		crypto_random(&r, sizeof(r));
		s->hs_refused = backoff_count(s->hs_refused);
		wait = backoff_wait(s->hs_refused, r);
		log_warnx("peer %s: the server refused the handshake: another client holds this "
		    "link's session (the same key twice?); trying again in %llu.%llu s",
		    s->peer->name, (unsigned long long)(wait / 1000),
		    (unsigned long long)(wait % 1000 / 100));
		s->stats.drops[DROP_DUPLICATE]++;
		noise_wipe(&s->hs);
		s->hs_active = false;
		s->hs_tries = 0;
		s->hs_backoff_until = now + wait;
		goto out;
	}
	if (!params_agree(s->peer, &theirs) || theirs.status != WIRE_STATUS_OK) {
		if (theirs.status == WIRE_STATUS_UNKNOWN_NAME)
			log_warnx("peer %s: the server does not know a link of that name for "
			    "our key: refused", s->peer->name);
		else
			log_warnx("peer %s: the server refused the handshake: settings differ",
			    s->peer->name);
		s->stats.drops[DROP_MISMATCH]++;
		noise_wipe(&s->hs);
		s->hs_active = false;
		s->hs_tries = 0;
		s->hs_backoff_until = now + SESSION_MISMATCH_RETRY;
		goto out;
	}
	noise_split(&hs, k1, k2);
	keypair_wipe(&s->kp_prev);
	s->kp_prev = s->kp_cur;
	memset(&s->kp_cur, 0, sizeof(s->kp_cur));
	s->prev_retired = now;
	s->cur_heard = false;
	if (keypair_install(&s->kp_cur, s, k1, k2, true, s->hs_index,
	    wire_get32(msg + 4), theirs.mtu, now) == -1)
		goto out;
	noise_wipe(&s->hs);
	s->hs_active = false;
	s->hs_started = 0;
	s->hs_tries = 0;
	s->hs_refused = 0;
	first = s->stats.up_since == 0;
	s->stats.handshakes++;
	s->stats.last_handshake = wall_seconds();
	if (first)
		s->stats.up_since = s->stats.last_handshake;
	s->events |= first ? SE_UP : SE_REKEYED;
	s->state = SESSION_ESTABLISHED;
	s->last_recv = now;
	/* Confirm the keys to the responder at once: it may not send before it hears from us. */
	v = seal_empty(s, WIRE_INNER_KEEPALIVE, now, out);
out:
	noise_wipe(&hs);
	crypto_wipe(payload, sizeof(payload));
	return v;
}

enum session_verdict
session_consume_cookie(struct session *s, const uint8_t *msg, size_t len, uint64_t now)
{
	if (!s->initiator || cookie_consume_reply(&s->cookie, msg, len, now) == -1) {
		s->stats.drops[DROP_AUTH]++;
		return SV_DROP;
	}
	log_debug("peer %s: server is under load, got a cookie", s->peer->name);
	/* Retry soon with mac2, after the usual retransmit delay. */
	return SV_NONE;
}

enum session_slot
session_slot_of(struct session *s, uint32_t idx, struct session_keypair **kp)
{
	*kp = NULL;
	if (s->kp_cur.valid && s->kp_cur.local_index == idx) {
		*kp = &s->kp_cur;
		return SLOT_CURRENT;
	}
	if (s->kp_next.valid && s->kp_next.local_index == idx) {
		*kp = &s->kp_next;
		return SLOT_NEXT;
	}
	if (s->kp_prev.valid && s->kp_prev.local_index == idx) {
		*kp = &s->kp_prev;
		return SLOT_PREVIOUS;
	}
	if (s->hs_active && s->hs_index == idx)
		return SLOT_HANDSHAKE;
	return SLOT_NONE;
}

int
session_indices(const struct session *s, uint32_t out[4])
{
	int n = 0;

	if (s->hs_active)
		out[n++] = s->hs_index;
	if (s->kp_cur.valid)
		out[n++] = s->kp_cur.local_index;
	if (s->kp_next.valid)
		out[n++] = s->kp_next.local_index;
	if (s->kp_prev.valid)
		out[n++] = s->kp_prev.local_index;
	return n;
}

bool
session_is_up(const struct session *s)
{
	return s->stats.up_since != 0;
}

enum session_state
session_state(const struct session *s)
{
	return s->state;
}

enum session_verdict
session_encap_begin(struct session *s, struct buf *b, uint64_t now, struct session_job *job)
{
	struct session_keypair *kp = &s->kp_cur;
	uint8_t inner = WIRE_INNER_FRAME;
	size_t len = b->len;

	if (!keypair_usable(kp, now)) {
		if (s->initiator && !s->hs_active)
			s->want_handshake = true;
		return SV_DROP;
	}
	if (s->lz4_state != NULL) {
		uint8_t *scratch = scratch_of(s);
		size_t clen = compress_encode(s->lz4_state, buf_data(b), len, scratch,
		    SCRATCH_LEN, s->peer->compress_accel);

		s->stats.comp_in += len;
		if (clen > 0) {
			memcpy(buf_data(b), scratch, clen);
			buf_trim(b, clen);
			inner = WIRE_INNER_FRAME_LZ4;
			s->stats.comp_out += clen;
		} else {
			s->stats.comp_out += len;
			s->stats.comp_raw++;
		}
	}
	seal_begin(s, kp, b, inner, now, job);
	if (kp->send_counter >= SESSION_REKEY_AFTER_MSGS ||
	    kp->send_blocks >= SESSION_REKEY_AFTER_BLOCKS ||
	    now - kp->created >= (uint64_t)s->peer->rekey_interval * 1000) {
		if (s->initiator && !s->hs_active)
			s->want_handshake = true;
	}
	return SV_SEND;
}

enum session_verdict
session_encap(struct session *s, struct buf *b, uint64_t now)
{
	struct session_job job;

	if (session_encap_begin(s, b, now, &job) != SV_SEND)
		return SV_DROP;
	session_job_run(&job, 0);
	return job.rc == 0 ? SV_SEND : SV_DROP;
}

/* The responder's new key pair is confirmed: make it current. */
static void
promote_next(struct session *s, uint64_t now)
{
	keypair_wipe(&s->kp_prev);
	s->kp_prev = s->kp_cur;
	s->kp_cur = s->kp_next;
	s->cur_heard = true;
	memset(&s->kp_next, 0, sizeof(s->kp_next));
	s->kp_cur.confirmed = true;
	s->prev_retired = now;
	if (s->next_takes_over && s->stats.up_since != 0)
		dupkey_taken(&s->dup, now);
	s->next_takes_over = false;
	/* The response went out when the pair was made: it counts as sent (keepalive timer),
	 * now that the initiator has shown it got it. */
	if (s->last_sent < s->kp_cur.created)
		s->last_sent = s->kp_cur.created;
	s->stats.handshakes++;
	s->stats.last_handshake = wall_seconds();
	s->state = SESSION_ESTABLISHED;
	s->events |= SE_CONFIRMED | (s->stats.up_since == 0 ? SE_UP : SE_REKEYED);
	if (s->stats.up_since == 0)
		s->stats.up_since = s->stats.last_handshake;
}

/* Whether data message b may be opened with kp now: DROP_MAX, or why not. Nothing changes. */
static enum vt_drop
decap_check(const struct session_keypair *kp, const struct buf *b, uint64_t now,
    struct wire_data_hdr *h)
{
	if (!wire_data_hdr_decode(b->mem + b->off, b->len, h))
		return DROP_MALFORMED;
	if (kp == NULL || !kp->valid || now - kp->created >= SESSION_REJECT_AFTER)
		return DROP_NO_SESSION;
	/* Bounds only before the tag is checked; the window moves only after. */
	if (!replay_check(&kp->replay, h->counter))
		return DROP_REPLAY;
	return DROP_MAX;
}

bool
session_decap_ready(struct session_keypair *kp, struct buf *b, uint64_t now,
    struct session_job *job)
{
	struct wire_data_hdr h;

	if (decap_check(kp, b, now, &h) != DROP_MAX)
		return false;
	job->aead = &kp->recv;
	job->counter = h.counter;
	job->serial = kp->serial;
	job->hdr = buf_data(b);
	job->len = b->len - WIRE_DATA_HDR_LEN;
	job->rc = -1;
	return true;
}

enum session_verdict
session_decap(struct session *s, struct session_keypair *kp, struct buf *b, uint64_t now)
{
	struct wire_data_hdr h;
	struct session_job job;

	if (!session_decap_ready(kp, b, now, &job)) {
		s->stats.drops[decap_check(kp, b, now, &h)]++;
		return SV_DROP;
	}
	session_job_run(&job, 0);
	return session_decap_opened(s, kp, b, &job, now);
}

enum session_verdict
session_decap_opened(struct session *s, struct session_keypair *kp, struct buf *b,
    const struct session_job *job, uint64_t now)
{
	size_t len = b->len;
	uint8_t inner;
	bool prev;
	long n;

	if (kp == NULL || !kp->valid || kp->serial != job->serial) {
		s->stats.drops[DROP_NO_SESSION]++;
		return SV_DROP;
	}
	if (job->rc != 0) {
		s->stats.drops[DROP_AUTH]++;
		return SV_DROP;
	}
	if (!replay_commit(&kp->replay, job->counter)) {
		s->stats.drops[DROP_REPLAY]++;
		return SV_DROP;
	}
	buf_pull(b, WIRE_DATA_HDR_LEN);
	buf_trim(b, len - WIRE_DATA_HDR_LEN - WIRE_TAG_LEN);
	s->last_recv = now;
	prev = kp == &s->kp_prev;
	if (kp == &s->kp_next) {
		promote_next(s, now);
		kp = &s->kp_cur;
	} else if (kp == &s->kp_cur && !s->cur_heard) {
		s->cur_heard = true;
		s->prev_retired = now;
	}

	inner = *buf_pull(b, WIRE_INNER_HDR_LEN);
	switch (inner) {
	case WIRE_INNER_FRAME:
		if (b->len == 0 || b->len > max_frame(s->peer, kp))
			goto malformed;
		break;
	case WIRE_INNER_FRAME_LZ4:
		if (s->lz4_state == NULL || b->len == 0)
			goto malformed;
		n = compress_decode(buf_data(b), b->len, scratch_of(s), max_frame(s->peer, kp));
		if (n <= 0)
			goto malformed;
		buf_reset(b);
		memcpy(buf_put(b, (size_t)n), scratch_of(s), (size_t)n);
		break;
	case WIRE_INNER_KEEPALIVE:
		if (b->len != 0)
			goto malformed;
		return SV_NONE;
	case WIRE_INNER_REKEY:
		if (b->len != 0)
			goto malformed;
		if (s->initiator && !s->hs_active)
			s->want_handshake = true;
		return SV_NONE;
	case WIRE_INNER_CLOSE:
		if (b->len != 0)
			goto malformed;
		if (prev) {
			/* A close sealed under the previous pair is older than the keys in use (it
			 * was delayed, or replayed from before the rekey): it ends only that pair. */
			keypair_wipe(&s->kp_prev);
			return SV_NONE;
		}
		go_down(s, "closed by the peer");
		return SV_NONE;
	default:
		goto malformed;
	}
	return SV_DELIVER;

malformed:
	s->stats.drops[DROP_MALFORMED]++;
	return SV_DROP;
}

static bool
rekey_due(const struct session *s, uint64_t now)
{
	const struct session_keypair *kp = &s->kp_cur;

	return kp->valid && (now - kp->created >= (uint64_t)s->peer->rekey_interval * 1000 ||
	    kp->send_counter >= SESSION_REKEY_AFTER_MSGS ||
	    kp->send_blocks >= SESSION_REKEY_AFTER_BLOCKS);
}

/* A responder cannot start a handshake: near a volume limit it asks the initiator to. */
static bool
responder_wants_rekey(const struct session *s)
{
	const struct session_keypair *kp = &s->kp_cur;

	return !s->initiator && kp->valid && !kp->rekey_requested &&
	    (kp->send_counter >= SESSION_REKEY_AFTER_MSGS ||
	    kp->send_blocks >= SESSION_REKEY_AFTER_BLOCKS);
}

enum session_verdict
session_tick(struct session *s, uint32_t idx, uint64_t now, struct buf *out)
{
	const struct vt_peer *p = s->peer;

	/* The previous key stays until the peer is heard under the new one (a lost confirmation
	 * must not strand its packets), then for the linger time, never past its age limit. */
	if (s->kp_prev.valid && ((s->cur_heard && now - s->prev_retired >=
	    SESSION_PREV_KEY_LINGER) || now - s->kp_prev.created >= SESSION_REJECT_AFTER))
		keypair_wipe(&s->kp_prev);
	if (s->kp_next.valid && now - s->kp_next.created >= SESSION_REJECT_AFTER)
		keypair_wipe(&s->kp_next);
	if (s->kp_cur.valid && !keypair_usable(&s->kp_cur, now)) {
		go_down(s, "no new handshake before the keys expired");
		return SV_NONE;
	}
	if (s->state == SESSION_ESTABLISHED && p->timeout > 0 &&
	    now - s->last_recv >= (uint64_t)p->timeout * 1000) {
		char why[64];

		snprintf(why, sizeof(why), "nothing received for %d s", p->timeout);
		go_down(s, why);
		return SV_NONE;
	}
	if (responder_wants_rekey(s)) {
		s->kp_cur.rekey_requested = true;
		return seal_empty(s, WIRE_INNER_REKEY, now, out);
	}
	if (s->initiator) {
		if (s->hs_active && now - s->hs_sent >= s->hs_wait) {
			if (log_ratelimit_ok(&rl_retry))
				log_info("peer %s: handshake not answered after %llu s, retrying",
				    p->name, (unsigned long long)((now - s->hs_started) / 1000));
			return session_initiate(s, idx, now, out);
		}
		if (!s->hs_active && now >= s->hs_backoff_until &&
		    (s->want_handshake || !s->kp_cur.valid || rekey_due(s, now)))
			return session_initiate(s, idx, now, out);
	}
	if (s->state == SESSION_ESTABLISHED && p->keepalive > 0 &&
	    now - s->last_sent >= (uint64_t)p->keepalive * 1000)
		return seal_empty(s, WIRE_INNER_KEEPALIVE, now, out);
	return SV_NONE;
}

static uint64_t
min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static uint64_t
max64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

uint64_t
session_next_deadline(const struct session *s, uint64_t now)
{
	const struct vt_peer *p = s->peer;
	uint64_t t = UINT64_MAX;

	if (s->kp_prev.valid && s->cur_heard)
		t = min64(t, s->prev_retired + SESSION_PREV_KEY_LINGER);
	if (s->kp_prev.valid)
		t = min64(t, s->kp_prev.created + SESSION_REJECT_AFTER);
	if (s->kp_next.valid)
		t = min64(t, s->kp_next.created + SESSION_REJECT_AFTER);
	if (s->kp_cur.valid)
		t = min64(t, s->kp_cur.created + SESSION_REJECT_AFTER);
	if (responder_wants_rekey(s))
		t = now;
	if (s->state == SESSION_ESTABLISHED) {
		if (p->timeout > 0)
			t = min64(t, s->last_recv + (uint64_t)p->timeout * 1000);
		if (p->keepalive > 0)
			t = min64(t, s->last_sent + (uint64_t)p->keepalive * 1000);
	}
	if (s->initiator) {
		if (s->hs_active)
			t = min64(t, s->hs_sent + s->hs_wait);
		else if (s->want_handshake || !s->kp_cur.valid)
			t = min64(t, s->hs_backoff_until > now ? s->hs_backoff_until : now);
		else
			/* Not before a back-off ends: session_tick would do nothing till then. */
			t = min64(t, max64(s->kp_cur.created + (uint64_t)p->rekey_interval * 1000,
			    s->hs_backoff_until));
	}
	return t;
}

enum session_verdict
session_close(struct session *s, uint64_t now, struct buf *out)
{
	enum session_verdict v = seal_empty(s, WIRE_INNER_CLOSE, now, out);

	go_down(s, "shutting down");
	return v;
}

void
session_reset(struct session *s)
{
	/* A responder's pending pair stays (go_down keeps it): it may have come over a newer
	 * connection than the one lost, which the initiator is about to confirm on. */
	go_down(s, "connection lost");
	s->want_handshake = s->initiator;
	s->hs_started = 0;
	s->hs_tries = 0; /* a new connection: its first initiation waits 1 s for an answer */
}
