/*
 * test_session.c - two sessions joined without sockets: the "network" is copying struct buf
 * contents from one side to the other, the way the engine would after a lookup. Time is a fake
 * monotonic `now`; nothing sleeps. The client (initiator) is side i, the server (responder) side
 * r; the server also holds two decoy sessions so that it has to find the right peer by key.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "backoff.h"
#include "buf.h"
#include "cookie.h"
#include "crypto.h"
#include "log.h"
#include "replay.h"
#include "compress.h"
#include "session.h"
#include "wire.h"

#define T0 UINT64_C(1000000) /* an arbitrary monotonic start, in ms */
#define NR 3                  /* sessions on the server */
#define SA(x) ((const struct sockaddr *)&(x))

struct side {
	struct vt_peer peer; /* this side's configuration of the link */
	struct session_local local;
	struct session s;
	uint8_t priv[32], pub[32];
};

struct fx {
	struct side i, r;
	struct vt_peer decoy_peer[2];
	struct session decoy[2];
	struct session *rs[NR]; /* the server's sessions: decoy, r, decoy */
	struct session *is[1];
	struct buf a, b, c, d;  /* messages in flight */
	struct sockaddr_in src; /* the client's address as the server sees it */
	bool started;
};

#define TV_DOWN 100
static uint64_t gdrops[DROP_MAX];

struct counts {
	uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes, no_key;
};
static struct counts cnt_i, cnt_r;
static struct session *sess_i; /* the initiator of the running test */

static void
default_peer(struct vt_peer *p, const char *name, const uint8_t pub[32], const uint8_t psk[32])
{
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->type = VT_TUN;
	p->mtu = 1400;
	p->keepalive = 0; /* timer tests switch them on; others stay quiet */
	p->timeout = 0;
	p->rekey_interval = 120;
	p->cipher = VT_AES256GCM;
	p->compress = VT_COMPRESS_NONE;
	p->compress_accel = 1;
	memcpy(p->public_key, pub, 32);
	memcpy(p->psk, psk, 32);
	p->has_psk = true;
}

/* Whether the responder's caller says the session is up with another endpoint (dupkey.h). */
static bool gcontested;

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	uint8_t psk[32], dpriv[32], dpub[32];

	gcontested = false; /* a failed test must not leave it set */

	if (f == NULL)
		return -1;
	if (crypto_x25519_keygen(f->i.priv, f->i.pub) == -1 ||
	    crypto_x25519_keygen(f->r.priv, f->r.pub) == -1) {
		free(f);
		return -1;
	}
	crypto_random(psk, sizeof(psk));
	default_peer(&f->i.peer, "link", f->r.pub, psk);
	default_peer(&f->r.peer, "link", f->i.pub, psk);
	for (int k = 0; k < 2; k++) {
		crypto_x25519_keygen(dpriv, dpub);
		default_peer(&f->decoy_peer[k], k == 0 ? "decoy0" : "decoy1", dpub, psk);
	}
	f->src.sin_family = AF_INET;
	f->src.sin_port = htons(40000);
	inet_pton(AF_INET, "192.0.2.1", &f->src.sin_addr);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	if (f->started) {
		session_free(&f->i.s);
		session_free(&f->r.s);
		session_free(&f->decoy[0]);
		session_free(&f->decoy[1]);
		session_local_free(&f->i.local);
		session_local_free(&f->r.local);
	}
	free(f);
	return 0;
}

/* Create identities and sessions once the test has adjusted the peers. */
static void
start(struct fx *f)
{
	assert_int_equal(session_local_init(&f->i.local, f->i.priv), 0);
	assert_int_equal(session_local_init(&f->r.local, f->r.priv), 0);
	assert_memory_equal(f->i.local.pub, f->i.pub, 32);
	assert_int_equal(session_init(&f->i.s, &f->i.peer, &f->i.local, true), 0);
	assert_int_equal(session_init(&f->r.s, &f->r.peer, &f->r.local, false), 0);
	assert_int_equal(session_init(&f->decoy[0], &f->decoy_peer[0], &f->r.local, false), 0);
	assert_int_equal(session_init(&f->decoy[1], &f->decoy_peer[1], &f->r.local, false), 0);
	f->rs[0] = &f->decoy[0];
	f->rs[1] = &f->r.s;
	f->rs[2] = &f->decoy[1];
	f->is[0] = &f->i.s;
	f->started = true;
	memset(gdrops, 0, sizeof(gdrops));
	memset(&cnt_i, 0, sizeof(cnt_i));
	memset(&cnt_r, 0, sizeof(cnt_r));
	sess_i = &f->i.s;
	buf_reset(&f->a);
	buf_reset(&f->b);
	buf_reset(&f->c);
	buf_reset(&f->d);
}

static void
copy_buf(struct buf *dst, const struct buf *src)
{
	buf_reset(dst);
	memcpy(buf_put(dst, src->len), src->mem + src->off, src->len);
}

static void
put_frame(struct buf *b, const uint8_t *p, size_t len)
{
	buf_reset(b);
	memcpy(buf_put(b, len), p, len);
}

static void
fill(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t k = 0; k < n; k++)
		p[k] = (uint8_t)(seed + 13 * k + (k >> 8));
}

static uint64_t
drops_total(const uint64_t *d)
{
	uint64_t t = 0;

	for (int k = 0; k < DROP_MAX; k++)
		t += d[k];
	return t;
}

/*
 * What the engine does around the session calls, in miniature. The data path counts drops of
 * no session (gdrops), frames delivered and sent, and no_key drops; the engine picks receiver
 * indices, finds peers by key and index, and acts on SE_DOWN. TV_DOWN stands for "the call
 * raised SE_DOWN" where the tests check that a session went down.
 */
static struct counts *
counts_of(const struct session *s)
{
	return s == sess_i ? &cnt_i : &cnt_r;
}

static uint32_t
fresh_index(void)
{
	uint32_t idx;

	do
		crypto_random(&idx, sizeof(idx));
	while (idx == 0);
	return idx;
}

static enum session_verdict
initiate(struct session *s, uint64_t now, struct buf *out)
{
	return session_initiate(s, fresh_index(), now, out);
}

/* session_tick, with TV_DOWN when the session went down. */
static int
tick(struct session *s, uint64_t now, struct buf *out)
{
	enum session_verdict v;

	session_take_events(s); /* what earlier direct calls raised is not this call's */
	v = session_tick(s, fresh_index(), now, out);
	if (session_take_events(s) & SE_DOWN)
		return TV_DOWN;
	return (int)v;
}

/* session_encap, counting what the data path counts. */
static enum session_verdict
encap(struct session *s, struct buf *b, uint64_t now)
{
	size_t len = b->len;
	enum session_verdict v = session_encap(s, b, now);

	if (v == SV_SEND) {
		counts_of(s)->tx_packets++;
		counts_of(s)->tx_bytes += len;
	} else {
		counts_of(s)->no_key++;
	}
	return v;
}

/* The responder's whole path for one initiation: open, find the session by key among ss,
 * finish. SV_SEND is an accepted initiation (its response in out); SV_REPLY a cookie reply
 * (*matched NULL) or a refusal; drops of no session are counted in gdrops. */
static enum session_verdict
respond_all(struct session *const *ss, int n, struct session_local *l,
    const struct sockaddr *src, socklen_t srclen, const uint8_t *msg, size_t len,
    bool under_load, uint64_t now, struct buf *out, struct session **matched)
{
	struct session_init in;
	enum session_verdict v;
	enum vt_drop why;
	struct session *s = NULL;

	*matched = NULL;
	v = session_respond_open(l, src, srclen, msg, len, under_load, now, &in, out, &why);
	if (v == SV_DROP) {
		gdrops[why]++;
		return SV_DROP;
	}
	if (v == SV_REPLY)
		return SV_REPLY;
	for (int i = 0; i < n && s == NULL; i++)
		if (crypto_equal(ss[i]->peer->public_key, in.remote_static, 32))
			s = ss[i];
	if (s == NULL) {
		gdrops[DROP_AUTH]++;
		session_init_wipe(&in);
		return SV_DROP;
	}
	in.contested = gcontested;
	if (gcontested)
		snprintf(in.holder, sizeof(in.holder), "192.0.2.9:5000");
	v = session_respond_finish(s, &in, fresh_index(), now, out);
	if (v != SV_DROP)
		*matched = s;
	return v;
}

/* The server receives an initiation in m. */
static enum session_verdict
respond(struct fx *f, const struct buf *m, bool under_load, uint64_t now, struct buf *out,
    struct session **matched)
{
	return respond_all(f->rs, NR, &f->r.local, SA(f->src), sizeof(f->src),
	    m->mem + m->off, m->len, under_load, now, out, matched);
}

/* The session of ss[] that uses receiver index idx, as the peer table finds it. */
static struct session *
find_index(struct session *const *ss, int n, uint32_t idx, struct session_keypair **kp)
{
	for (int i = 0; i < n; i++)
		if (session_slot_of(ss[i], idx, kp) != SLOT_NONE)
			return ss[i];
	*kp = NULL;
	return NULL;
}

/* A data message reaches the side owning ss[]: receiver-index lookup, then decap, counting
 * delivered frames; TV_DOWN when a close took the session down. *who gets the session (NULL
 * and SV_DROP if no key or handshake has that index). */
static int
route(struct session *const *ss, int n, struct buf *b, uint64_t now, struct session **who)
{
	struct session_keypair *kp;
	struct session *s;
	enum session_verdict v;

	assert_int_equal(wire_classify(buf_data(b), b->len), WIRE_DATA);
	s = find_index(ss, n, wire_get32(buf_data(b) + 4), &kp);
	if (who != NULL)
		*who = s;
	if (s == NULL || kp == NULL)
		return SV_DROP;
	session_take_events(s);
	v = session_decap(s, kp, b, now);
	if (v == SV_DELIVER) {
		counts_of(s)->rx_packets++;
		counts_of(s)->rx_bytes += b->len;
	}
	if (session_take_events(s) & SE_DOWN)
		return TV_DOWN;
	return (int)v;
}

static int
to_r(struct fx *f, struct buf *b, uint64_t now)
{
	struct session *who;
	int v = route(f->rs, NR, b, now, &who);

	assert_ptr_equal(who, &f->r.s);
	return v;
}

static int
to_i(struct fx *f, struct buf *b, uint64_t now)
{
	struct session *who;
	int v = route(f->is, 1, b, now, &who);

	assert_ptr_equal(who, &f->i.s);
	return v;
}

/* Run a whole handshake at `now`, checking every step. */
static void
handshake(struct fx *f, uint64_t now)
{
	struct session *m;

	assert_int_equal(initiate(&f->i.s, now, &f->a), SV_SEND);
	assert_int_equal(f->a.len, WIRE_INIT_LEN);
	assert_int_equal(wire_classify(buf_data(&f->a), f->a.len), WIRE_HS_INIT);
	assert_int_equal(respond(f, &f->a, false, now, &f->b, &m), SV_SEND);
	assert_ptr_equal(m, &f->r.s);
	assert_int_equal(f->b.len, WIRE_RESP_LEN);
	assert_int_equal(wire_classify(buf_data(&f->b), f->b.len), WIRE_HS_RESP);
	assert_int_equal(session_consume_response(&f->i.s, buf_data(&f->b), f->b.len, now,
	    &f->c), SV_SEND);
	assert_int_equal(to_r(f, &f->c, now), SV_NONE);
}

/* Send a frame from one side to the other and check it arrives bit-exact. */
static void
frame_trip(struct fx *f, bool from_i, const uint8_t *frame, size_t len, uint64_t now)
{
	struct session *tx = from_i ? &f->i.s : &f->r.s;

	put_frame(&f->d, frame, len);
	assert_int_equal(encap(tx, &f->d, now), SV_SEND);
	assert_int_equal(wire_classify(buf_data(&f->d), f->d.len), WIRE_DATA);
	assert_int_equal(from_i ? to_r(f, &f->d, now) : to_i(f, &f->d, now), SV_DELIVER);
	assert_int_equal(f->d.len, len);
	assert_memory_equal(buf_data(&f->d), frame, len);
}

/* Seal a frame on one side into b without delivering it. */
static void
seal_frame(struct session *s, struct buf *b, size_t len, uint8_t seed, uint64_t now)
{
	uint8_t frame[1500];

	fill(frame, len, seed);
	put_frame(b, frame, len);
	assert_int_equal(encap(s, b, now), SV_SEND);
}

static void
check_delivered(struct buf *b, size_t len, uint8_t seed)
{
	uint8_t frame[1500];

	fill(frame, len, seed);
	assert_int_equal(b->len, len);
	assert_memory_equal(buf_data(b), frame, len);
}

static void
test_handshake(void **state)
{
	struct fx *f = *state;
	struct session *m;

	start(f);
	assert_int_equal(f->i.s.state, SESSION_IDLE);
	assert_int_equal(initiate(&f->i.s, T0, &f->a), SV_SEND);
	assert_int_equal(f->i.s.state, SESSION_HANDSHAKING);
	assert_true(f->i.s.hs_active);
	assert_int_equal(wire_get32(buf_data(&f->a) + 4), f->i.s.hs_index);

	assert_int_equal(respond(f, &f->a, false, T0, &f->b, &m), SV_SEND);
	assert_ptr_equal(m, &f->r.s);
	/* Only the right session learned anything. */
	assert_false(f->decoy[0].kp_next.valid);
	assert_false(f->decoy[1].kp_next.valid);
	assert_true(f->r.s.kp_next.valid);
	assert_false(f->r.s.kp_next.confirmed);
	assert_false(f->r.s.kp_cur.valid);
	assert_int_equal(f->r.s.state, SESSION_IDLE);
	assert_int_equal(wire_get32(buf_data(&f->b) + 8), f->i.s.hs_index);
	assert_int_equal(wire_get32(buf_data(&f->b) + 4), f->r.s.kp_next.local_index);

	/* The response is found by the handshake's index, as the engine looks it up. */
	{
		struct session_keypair *kp = (struct session_keypair *)1;

		assert_ptr_equal(find_index(f->is, 1, wire_get32(buf_data(&f->b) + 8),
		    &kp), &f->i.s);
		assert_null(kp);
	}
	assert_int_equal(session_consume_response(&f->i.s, buf_data(&f->b), f->b.len, T0,
	    &f->c), SV_SEND);
	assert_int_equal(f->i.s.state, SESSION_ESTABLISHED);
	assert_false(f->i.s.hs_active);
	assert_true(f->i.s.kp_cur.valid);
	assert_int_equal(f->i.s.stats.handshakes, 1);
	assert_true(f->i.s.stats.up_since > 0);
	/* The confirmation is an authenticated keepalive on the new key. */
	assert_int_equal(f->c.len, WIRE_DATA_HDR_LEN + WIRE_INNER_HDR_LEN + WIRE_TAG_LEN);
	assert_int_equal(wire_get32(buf_data(&f->c) + 4), f->r.s.kp_next.local_index);

	assert_int_equal(to_r(f, &f->c, T0 + 5), SV_NONE);
	assert_int_equal(f->r.s.state, SESSION_ESTABLISHED);
	assert_true(f->r.s.kp_cur.valid);
	assert_true(f->r.s.kp_cur.confirmed);
	assert_false(f->r.s.kp_next.valid);
	assert_int_equal(f->r.s.stats.handshakes, 1);
	assert_int_equal(f->r.s.last_recv, T0 + 5);
	assert_int_equal(cnt_r.rx_packets, 0); /* a keepalive is no frame */
	assert_int_equal(f->r.s.kp_cur.local_index, f->i.s.kp_cur.remote_index);
	assert_int_equal(f->r.s.kp_cur.remote_index, f->i.s.kp_cur.local_index);
	assert_int_equal(drops_total(f->i.s.stats.drops), 0);
	assert_int_equal(drops_total(f->r.s.stats.drops), 0);
	assert_int_equal(drops_total(gdrops), 0);
	assert_string_equal(session_state_name(f->r.s.state), "established");
}

static void
test_data_both_ways(void **state)
{
	static const size_t sizes[] = { 1, 100, 1400 };
	struct fx *f = *state;
	uint8_t frame[1400];

	start(f);
	handshake(f, T0);
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		fill(frame, sizes[k], (uint8_t)k);
		frame_trip(f, true, frame, sizes[k], T0 + 10);
		fill(frame, sizes[k], (uint8_t)(k + 100));
		frame_trip(f, false, frame, sizes[k], T0 + 20);
	}
	assert_int_equal(cnt_i.tx_packets, 3);
	assert_int_equal(cnt_i.tx_bytes, 1501);
	assert_int_equal(cnt_r.rx_packets, 3);
	assert_int_equal(cnt_r.rx_bytes, 1501);
	assert_int_equal(cnt_r.tx_packets, 3);
	assert_int_equal(cnt_i.rx_packets, 3);
	assert_int_equal(cnt_i.rx_bytes, 1501);
	/* Wire size: header, inner header, frame, tag; nothing else. */
	seal_frame(&f->i.s, &f->d, 1400, 1, T0 + 30);
	assert_int_equal(f->d.len, WIRE_DATA_HDR_LEN + 1 + 1400 + WIRE_TAG_LEN);
	assert_int_equal(drops_total(f->i.s.stats.drops), 0);
	assert_int_equal(drops_total(f->r.s.stats.drops), 0);
}

/* Sealing and opening in steps (threads = N): the first steps of a batch, the AEAD jobs in any
 * order and on the lanes the key has, the last steps in order; a job that failed, a job whose
 * key pair is gone and a message the first step refuses are each decided as session_decap
 * would, and counted once. */
static void
test_steps(void **state)
{
	struct fx *f = *state;
	static struct buf m[4];
	struct session_job tx[4], rx[4];
	struct session_keypair *kp;
	struct session *who;

	start(f);
	f->i.local.lanes = 2;
	f->r.local.lanes = 2;
	handshake(f, T0);
	assert_int_equal(f->i.s.kp_cur.send.lanes, 2);
	assert_int_equal(f->r.s.kp_cur.recv.lanes, 2);
	for (int k = 0; k < 4; k++) {
		uint8_t frame[300];

		fill(frame, sizeof(frame), (uint8_t)k);
		put_frame(&m[k], frame, sizeof(frame));
		assert_int_equal(session_encap_begin(&f->i.s, &m[k], T0 + 1, &tx[k]), SV_SEND);
		/* counters in order (0 went to the keepalive that confirmed the keys) */
		assert_int_equal(tx[k].counter, tx[0].counter + (uint64_t)k);
	}
	/* Sealed backwards, on both lanes; a lane the key lacks fails. */
	for (int k = 3; k >= 0; k--) {
		session_job_run(&tx[k], k % 2);
		assert_int_equal(tx[k].rc, 0);
	}
	{
		struct session_job bad = tx[0];

		session_job_run(&bad, 2);
		assert_int_equal(bad.rc, -1);
	}
	/* Opened: first steps for all, jobs backwards, last steps in order. */
	m[2].mem[m[2].off + m[2].len - 1] ^= 1; /* forged tag */
	for (int k = 0; k < 4; k++) {
		who = find_index(f->rs, NR, wire_get32(buf_data(&m[k]) + 4), &kp);
		assert_ptr_equal(who, &f->r.s);
		assert_true(session_decap_ready(kp, &m[k], T0 + 2, &rx[k]));
	}
	for (int k = 3; k >= 0; k--)
		session_job_run(&rx[k], (k + 1) % 2);
	assert_int_equal(rx[2].rc, -1);
	/* The key pair of message 3 is no longer the one it was opened with. */
	rx[3].serial++;
	for (int k = 0; k < 4; k++) {
		enum session_verdict v;

		find_index(f->rs, NR, wire_get32(buf_data(&m[k]) + 4), &kp);
		v = session_decap_opened(&f->r.s, kp, &m[k], &rx[k], T0 + 2);
		assert_int_equal(v, k < 2 ? SV_DELIVER : SV_DROP);
		if (k < 2)
			check_delivered(&m[k], 300, (uint8_t)k);
	}
	assert_int_equal(f->r.s.stats.drops[DROP_AUTH], 1);
	assert_int_equal(f->r.s.stats.drops[DROP_NO_SESSION], 1);
	assert_int_equal(drops_total(f->r.s.stats.drops), 2);
	/* Message 0 again: the first step refuses it (its counter is taken) and counts nothing;
	 * session_decap counts it as a replay. */
	seal_frame(&f->i.s, &m[0], 100, 9, T0 + 3);
	copy_buf(&m[1], &m[0]);
	assert_int_equal(to_r(f, &m[0], T0 + 3), SV_DELIVER);
	find_index(f->rs, NR, wire_get32(buf_data(&m[1]) + 4), &kp);
	assert_false(session_decap_ready(kp, &m[1], T0 + 3, &rx[0]));
	assert_int_equal(drops_total(f->r.s.stats.drops), 2);
	assert_int_equal(to_r(f, &m[1], T0 + 3), SV_DROP);
	assert_int_equal(f->r.s.stats.drops[DROP_REPLAY], 1);
	/* No key pair, or a wiped one: the first step says no; the last counts no_session. */
	assert_false(session_decap_ready(NULL, &m[1], T0 + 3, &rx[0]));
	assert_int_equal(session_decap_opened(&f->r.s, NULL, &m[1], &rx[1], T0 + 3), SV_DROP);
	assert_int_equal(f->r.s.stats.drops[DROP_NO_SESSION], 2);
}

static void
test_no_send_before_confirmation(void **state)
{
	struct fx *f = *state;
	struct session *m;
	uint8_t frame[100];

	start(f);
	/* Neither side has a key yet. */
	fill(frame, sizeof(frame), 1);
	put_frame(&f->d, frame, sizeof(frame));
	assert_int_equal(encap(&f->r.s, &f->d, T0), SV_DROP);
	assert_int_equal(cnt_r.no_key, 1);

	assert_int_equal(initiate(&f->i.s, T0, &f->a), SV_SEND);
	assert_int_equal(respond(f, &f->a, false, T0, &f->b, &m), SV_SEND);
	/* The responder holds the new keys but may not use them until the initiator speaks. */
	put_frame(&f->d, frame, sizeof(frame));
	assert_int_equal(encap(&f->r.s, &f->d, T0 + 1), SV_DROP);
	assert_int_equal(cnt_r.no_key, 2);
	assert_int_equal(cnt_r.tx_packets, 0);
	/* A responder never schedules a handshake of its own. */
	assert_false(f->r.s.want_handshake);

	assert_int_equal(session_consume_response(&f->i.s, buf_data(&f->b), f->b.len, T0 + 2,
	    &f->c), SV_SEND);
	/* Still unconfirmed while the keepalive is in flight. */
	put_frame(&f->d, frame, sizeof(frame));
	assert_int_equal(encap(&f->r.s, &f->d, T0 + 3), SV_DROP);
	assert_int_equal(cnt_r.no_key, 3);
	/* The initiator may send at once; its first frame confirms just like a keepalive. */
	frame_trip(f, true, frame, sizeof(frame), T0 + 4);
	assert_true(f->r.s.kp_cur.confirmed);
	frame_trip(f, false, frame, sizeof(frame), T0 + 5);
	/* The keepalive arrives late: the key is already current, it is a plain keepalive. */
	assert_int_equal(to_r(f, &f->c, T0 + 6), SV_NONE);
	assert_int_equal(f->r.s.stats.handshakes, 1);
}

/* Which drop reason a data message altered at byte j should get, given the original counter
 * and that every counter <= seen_top has been committed. */
static enum vt_drop
tamper_reason(size_t j, uint64_t counter, uint64_t seen_top)
{
	if (j < 4)
		return DROP_MALFORMED; /* type, version, suite, reserved: wire_classify */
	if (j >= 8 && j < 16)
		if (counter >= REPLAY_COUNTER_LIMIT || counter <= seen_top)
			return DROP_REPLAY; /* refused before the tag is even checked */
	return DROP_AUTH;
}

static void
test_tamper(void **state)
{
	static const uint8_t masks[] = { 0x01, 0x80, 0xff };
	struct fx *f = *state;
	struct session_keypair *kp, *nokp;
	struct buf *p = &f->c;
	uint64_t before[DROP_MAX], counter, top;
	uint8_t frame[100];

	start(f);
	handshake(f, T0);
	fill(frame, sizeof(frame), 7);
	for (int k = 0; k < 5; k++)
		frame_trip(f, true, frame, sizeof(frame), T0 + 1);
	/* Counters 0 (keepalive) to 5 are committed; the victim has counter 6. */
	seal_frame(&f->i.s, p, sizeof(frame), 7, T0 + 2);
	counter = wire_get64(buf_data(p) + 8);
	assert_int_equal(counter, 6);
	top = 5;
	assert_ptr_equal(find_index(f->rs, NR, wire_get32(buf_data(p) + 4), &kp),
	    &f->r.s);
	assert_ptr_equal(kp, &f->r.s.kp_cur);

	for (size_t j = 0; j < p->len; j++) {
		for (size_t m = 0; m < sizeof(masks); m++) {
			uint64_t c2 = counter;
			enum vt_drop want;

			if (j >= 8 && j < 16)
				c2 ^= (uint64_t)masks[m] << (8 * (15 - j));
			want = tamper_reason(j, c2, top);
			copy_buf(&f->d, p);
			buf_data(&f->d)[j] ^= masks[m];
			memcpy(before, f->r.s.stats.drops, sizeof(before));
			/* At session level: the key the original receiver index selects. */
			assert_int_equal(session_decap(&f->r.s, kp, &f->d, T0 + 3), SV_DROP);
			for (int d = 0; d < DROP_MAX; d++)
				assert_int_equal(f->r.s.stats.drops[d],
				    before[d] + (d == (int)want ? 1 : 0));
		}
	}
	assert_int_equal(cnt_r.rx_packets, 5);
	/* Changing the receiver index sends the message nowhere: the engine finds no key. */
	copy_buf(&f->d, p);
	buf_data(&f->d)[4] ^= 0x55;
	assert_null(find_index(f->rs, NR, wire_get32(buf_data(&f->d) + 4), &nokp));
	assert_null(nokp);
	/* Truncated: too short to be a data message, or a tag cut short. */
	copy_buf(&f->d, p);
	buf_trim(&f->d, WIRE_DATA_MIN_LEN - 1);
	memcpy(before, f->r.s.stats.drops, sizeof(before));
	assert_int_equal(session_decap(&f->r.s, kp, &f->d, T0 + 3), SV_DROP);
	assert_int_equal(f->r.s.stats.drops[DROP_MALFORMED], before[DROP_MALFORMED] + 1);
	copy_buf(&f->d, p);
	buf_trim(&f->d, p->len - 1);
	assert_int_equal(session_decap(&f->r.s, kp, &f->d, T0 + 3), SV_DROP);
	assert_int_equal(f->r.s.stats.drops[DROP_AUTH], before[DROP_AUTH] + 1);
	/* No forgery moved the window: the genuine message still gets through. */
	assert_int_equal(to_r(f, p, T0 + 4), SV_DELIVER);
	assert_int_equal(p->len, sizeof(frame));
	assert_memory_equal(buf_data(p), frame, sizeof(frame));
	assert_int_equal(cnt_r.rx_packets, 6);
	assert_int_equal(f->r.s.last_recv, T0 + 4);
}

static void
test_replay(void **state)
{
	struct fx *f = *state;
	struct buf *pk;
	struct session *who;

	start(f);
	handshake(f, T0);
	pk = calloc(4, sizeof(*pk));
	assert_non_null(pk);
	for (int k = 0; k < 4; k++)
		seal_frame(&f->i.s, &pk[k], 60, (uint8_t)k, T0 + 1);

	/* The same message twice. */
	copy_buf(&f->d, &pk[0]);
	assert_int_equal(to_r(f, &f->d, T0 + 2), SV_DELIVER);
	check_delivered(&f->d, 60, 0);
	copy_buf(&f->d, &pk[0]);
	assert_int_equal(to_r(f, &f->d, T0 + 2), SV_DROP);
	assert_int_equal(f->r.s.stats.drops[DROP_REPLAY], 1);
	/* Out of order inside the window: 3, 1, 2 are all fresh. */
	for (int k = 0; k < 3; k++) {
		static const int order[] = { 3, 1, 2 };

		copy_buf(&f->d, &pk[order[k]]);
		assert_int_equal(to_r(f, &f->d, T0 + 3), SV_DELIVER);
		check_delivered(&f->d, 60, (uint8_t)order[k]);
	}
	for (int k = 0; k < 4; k++) {
		copy_buf(&f->d, &pk[k]);
		assert_int_equal(to_r(f, &f->d, T0 + 3), SV_DROP);
	}
	assert_int_equal(f->r.s.stats.drops[DROP_REPLAY], 5);
	assert_int_equal(cnt_r.rx_packets, 4);

	/* Too old: 9000 messages later the window has moved on; 8000 behind is still fine. */
	seal_frame(&f->i.s, &pk[0], 60, 50, T0 + 4);
	for (int k = 1; k <= 9000; k++) {
		struct buf *b = k == 1000 ? &pk[1] : k == 9000 ? &pk[2] : &f->d;

		seal_frame(&f->i.s, b, 1, 0, T0 + 4);
	}
	assert_int_equal(wire_get64(buf_data(&pk[2]) + 8) - wire_get64(buf_data(&pk[0]) + 8),
	    9000);
	assert_int_equal(route(f->rs, NR, &pk[2], T0 + 5, &who), SV_DELIVER);
	assert_int_equal(route(f->rs, NR, &pk[1], T0 + 5, &who), SV_DELIVER);
	assert_int_equal(route(f->rs, NR, &pk[0], T0 + 5, &who), SV_DROP);
	assert_int_equal(f->r.s.stats.drops[DROP_REPLAY], 6);
	assert_int_equal(f->r.s.stats.drops[DROP_AUTH], 0);
	free(pk);
}

static void
test_wrong_responder_key(void **state)
{
	struct fx *f = *state;
	struct cookie_maker mk;
	struct session *m = (struct session *)1;
	uint8_t priv2[32], pub2[32];

	start(f);
	/* The server runs with another key than the one the client knows. */
	assert_int_equal(crypto_x25519_keygen(priv2, pub2), 0);
	session_local_free(&f->r.local);
	assert_int_equal(session_local_init(&f->r.local, priv2), 0);

	assert_int_equal(initiate(&f->i.s, T0, &f->a), SV_SEND);
	assert_int_equal(respond(f, &f->a, false, T0, &f->b, &m), SV_DROP);
	assert_null(m);
	assert_int_equal(gdrops[DROP_AUTH], 1); /* mac1 is keyed by the server's key */
	/* Even with a mac1 for the real key, the Noise message cannot be read. */
	cookie_maker_init(&mk, pub2);
	cookie_add_macs(&mk, buf_data(&f->a), f->a.len, T0);
	assert_int_equal(respond(f, &f->a, false, T0, &f->b, &m), SV_DROP);
	assert_null(m);
	assert_int_equal(gdrops[DROP_AUTH], 2);
	for (int k = 0; k < NR; k++) {
		assert_false(f->rs[k]->kp_next.valid);
		assert_int_equal(drops_total(f->rs[k]->stats.drops), 0);
	}
	cookie_maker_wipe(&mk);
}

static void
wrong_psk(struct fx *f)
{
	struct session *m;
	uint8_t frame[10] = { 0 };

	start(f);
	assert_int_equal(initiate(&f->i.s, T0, &f->a), SV_SEND);
	/* IKpsk2 mixes the psk in at message 2: the server cannot tell yet and answers. */
	assert_int_equal(respond(f, &f->a, false, T0, &f->b, &m), SV_SEND);
	assert_ptr_equal(m, &f->r.s);
	assert_int_equal(session_consume_response(&f->i.s, buf_data(&f->b), f->b.len, T0,
	    &f->c), SV_DROP);
	assert_int_equal(f->i.s.stats.drops[DROP_AUTH], 1);
	assert_false(f->i.s.kp_cur.valid);
	assert_int_equal(f->i.s.stats.handshakes, 0);
	assert_int_equal(f->i.s.state, SESSION_HANDSHAKING);
	assert_true(f->i.s.hs_active); /* still waiting for a genuine response */
	/* The server's keys are never confirmed and never used. */
	put_frame(&f->d, frame, sizeof(frame));
	assert_int_equal(encap(&f->r.s, &f->d, T0 + 1), SV_DROP);
	assert_int_equal(cnt_r.no_key, 1);
	assert_int_equal(f->r.s.stats.handshakes, 0);
	put_frame(&f->d, frame, sizeof(frame));
	assert_int_equal(encap(&f->i.s, &f->d, T0 + 1), SV_DROP);
}

static void
test_wrong_psk(void **state)
{
	struct fx *f = *state;

	f->r.peer.psk[5] ^= 0x20;
	wrong_psk(f);
}

static void
test_psk_on_one_side_only(void **state)
{
	struct fx *f = *state;

	f->i.peer.has_psk = false;
	wrong_psk(f);
}

static void
test_unknown_initiator(void **state)
{
	struct fx *f = *state;
	struct side *x = calloc(1, sizeof(*x));
	struct session *m = (struct session *)1;

	assert_non_null(x);
	start(f);
	/* A stranger who knows the server's public key. */
	assert_int_equal(crypto_x25519_keygen(x->priv, x->pub), 0);
	x->peer = f->i.peer;
	assert_int_equal(session_local_init(&x->local, x->priv), 0);
	assert_int_equal(session_init(&x->s, &x->peer, &x->local, true), 0);
	assert_int_equal(initiate(&x->s, T0, &f->a), SV_SEND);
	assert_int_equal(respond(f, &f->a, false, T0, &f->b, &m), SV_DROP);
	assert_null(m);
	assert_int_equal(gdrops[DROP_AUTH], 1);
	for (int k = 0; k < NR; k++) {
		assert_false(f->rs[k]->kp_next.valid);
		assert_int_equal(drops_total(f->rs[k]->stats.drops), 0);
	}
	session_free(&x->s);
	session_local_free(&x->local);
	free(x);
}

static void
test_bad_mac1(void **state)
{
	struct fx *f = *state;
	struct session *m = (struct session *)1;

	start(f);
	assert_int_equal(initiate(&f->i.s, T0, &f->a), SV_SEND);
	/* More bad messages than the rate limiter's burst: none of them costs a token, a
	 * timestamp or a Diffie-Hellman. */
	for (size_t j = 0; j < 12; j++) {
		size_t at = j < 6 ? WIRE_INIT_LEN - 32 + j : 4 + 13 * j; /* mac1, then body */

		copy_buf(&f->b, &f->a);
		buf_data(&f->b)[at] ^= 0x04;
		assert_int_equal(respond(f, &f->b, false, T0, &f->c, &m), SV_DROP);
		assert_null(m);
		assert_int_equal(gdrops[DROP_AUTH], j + 1);
	}
	assert_int_equal(drops_total(gdrops), 12);
	assert_int_equal(drops_total(f->r.s.stats.drops), 0);
	assert_false(f->r.s.kp_next.valid);
	/* Wrong length or suite: malformed before anything else. */
	assert_int_equal(respond_all(f->rs, NR, &f->r.local, SA(f->src), sizeof(f->src),
	    buf_data(&f->a), f->a.len - 1, false, T0, &f->c, &m), SV_DROP);
	copy_buf(&f->b, &f->a);
	buf_data(&f->b)[2] = 7;
	assert_int_equal(respond(f, &f->b, false, T0, &f->c, &m), SV_DROP);
	assert_int_equal(gdrops[DROP_MALFORMED], 2);
	/* The genuine message still gets in. */
	assert_int_equal(respond(f, &f->a, false, T0, &f->b, &m), SV_SEND);
	assert_ptr_equal(m, &f->r.s);
}

static void
test_replayed_initiation(void **state)
{
	struct fx *f = *state;
	struct session *m;
	uint32_t idx;

	start(f);
	assert_int_equal(initiate(&f->i.s, T0, &f->a), SV_SEND);
	assert_int_equal(respond(f, &f->a, false, T0, &f->b, &m), SV_SEND);
	idx = f->r.s.kp_next.local_index;
	assert_int_equal(respond(f, &f->a, false, T0 + 1, &f->c, &m), SV_DROP);
	assert_null(m);
	assert_int_equal(f->r.s.stats.drops[DROP_REPLAY], 1);
	/* The replay did not disturb the answered handshake. */
	assert_int_equal(f->r.s.kp_next.local_index, idx);
	assert_int_equal(session_consume_response(&f->i.s, buf_data(&f->b), f->b.len, T0 + 2,
	    &f->c), SV_SEND);
	assert_int_equal(to_r(f, &f->c, T0 + 2), SV_NONE);
	assert_int_equal(f->r.s.stats.handshakes, 1);

	/* An older initiation arriving after a newer one is refused too. */
	assert_int_equal(initiate(&f->i.s, T0 + 3, &f->a), SV_SEND);
	assert_int_equal(initiate(&f->i.s, T0 + 4, &f->b), SV_SEND);
	assert_int_equal(respond(f, &f->b, false, T0 + 4, &f->c, &m), SV_SEND);
	assert_int_equal(respond(f, &f->a, false, T0 + 5, &f->c, &m), SV_DROP);
	assert_int_equal(f->r.s.stats.drops[DROP_REPLAY], 2);
	/* A replay long after the session went down is still refused, and the pending pair of
	 * the newest handshake (a lost connection does not take it: it may have come over
	 * another one) is not replaced. */
	idx = f->r.s.kp_next.local_index;
	session_reset(&f->r.s);
	assert_int_equal(respond(f, &f->b, false, T0 + 100000, &f->c, &m), SV_DROP);
	assert_int_equal(f->r.s.stats.drops[DROP_REPLAY], 3);
	assert_true(f->r.s.kp_next.valid);
	assert_int_equal(f->r.s.kp_next.local_index, idx);
}

enum mismatch { MM_COMPRESS, MM_MTU, MM_TYPE, MM_CIPHER, MM_NAME };

/* The server's settings differ in one respect: both sides refuse, and no keys appear. */
static void
mismatch(struct fx *f, enum mismatch what)
{
	struct session *m;
	uint64_t now = T0;
	uint8_t frame[10] = { 0 };

	switch (what) {
	case MM_COMPRESS:
		f->r.peer.compress = VT_COMPRESS_LZ4;
		break;
	case MM_MTU: /* a tap link; a tun link may differ (test_tun_mtus_differ) */
		f->i.peer.type = f->r.peer.type = VT_TAP;
		f->r.peer.mtu = 1380;
		break;
	case MM_TYPE:
		f->r.peer.type = VT_TAP;
		break;
	case MM_CIPHER:
		f->r.peer.cipher = VT_CHACHA20POLY1305;
		break;
	case MM_NAME:
		snprintf(f->r.peer.name, sizeof(f->r.peer.name), "other");
		break;
	}
	start(f);
	assert_int_equal(initiate(&f->i.s, now, &f->a), SV_SEND);
	assert_int_equal(respond(f, &f->a, false, now, &f->b, &m), SV_REPLY);
	assert_ptr_equal(m, &f->r.s); /* found by key; the answer says no */
	assert_int_equal(wire_classify(buf_data(&f->b), f->b.len), WIRE_HS_RESP);
	assert_int_equal(f->r.s.stats.drops[DROP_MISMATCH], 1);
	assert_false(f->r.s.kp_next.valid);
	assert_false(f->r.s.kp_cur.valid);

	assert_int_equal(session_consume_response(&f->i.s, buf_data(&f->b), f->b.len, now,
	    &f->c), SV_DROP);
	assert_int_equal(f->i.s.stats.drops[DROP_MISMATCH], 1);
	assert_int_equal(f->i.s.stats.drops[DROP_AUTH], 0);
	assert_false(f->i.s.kp_cur.valid);
	assert_false(f->i.s.hs_active);
	assert_int_equal(f->i.s.stats.handshakes, 0);
	put_frame(&f->d, frame, sizeof(frame));
	assert_int_equal(encap(&f->i.s, &f->d, now), SV_DROP);

	/* Back off: no initiation until SESSION_MISMATCH_RETRY has passed. */
	assert_int_equal(initiate(&f->i.s, now + 1, &f->a), SV_NONE);
	assert_int_equal(session_next_deadline(&f->i.s, now + 1), now + SESSION_MISMATCH_RETRY);
	assert_int_equal(tick(&f->i.s, now + SESSION_MISMATCH_RETRY - 1, &f->a), SV_NONE);
	assert_int_equal(tick(&f->i.s, now + SESSION_MISMATCH_RETRY, &f->a), SV_SEND);
	assert_int_equal(wire_classify(buf_data(&f->a), f->a.len), WIRE_HS_INIT);
	assert_true(f->i.s.hs_active);
}

static void
test_mismatch_compress(void **state)
{
	mismatch(*state, MM_COMPRESS);
}

static void
test_mismatch_mtu(void **state)
{
	mismatch(*state, MM_MTU);
}

/* A tun link may have another MTU at each end: the session comes up, each end takes frames up
 * to the larger MTU, session_path_mtu gives the smaller (mss-clamp's), and a frame above both
 * is malformed. */
static void
test_tun_mtus_differ(void **state)
{
	struct fx *f = *state;
	uint8_t frame[1500];

	f->r.peer.mtu = 1380; /* the initiator has 1400 */
	start(f);
	handshake(f, T0);
	assert_int_equal(session_path_mtu(&f->i.s), 1380);
	assert_int_equal(session_path_mtu(&f->r.s), 1380);
	fill(frame, sizeof(frame), 7);
	frame_trip(f, true, frame, 1400, T0 + 10); /* above the responder's own 1380 */
	frame_trip(f, false, frame, 1380, T0 + 20);
	frame_trip(f, false, frame, 1400, T0 + 30);
	put_frame(&f->d, frame, 1401);
	assert_int_equal(encap(&f->i.s, &f->d, T0 + 40), SV_SEND);
	assert_int_equal(to_r(f, &f->d, T0 + 40), SV_DROP);
	assert_int_equal(f->r.s.stats.drops[DROP_MALFORMED], 1);
	assert_int_equal(f->r.s.stats.drops[DROP_MISMATCH], 0);
}

static void
test_mismatch_type(void **state)
{
	mismatch(*state, MM_TYPE);
}

static void
test_mismatch_cipher(void **state)
{
	mismatch(*state, MM_CIPHER);
}

static void
test_mismatch_name(void **state)
{
	mismatch(*state, MM_NAME);
}

static void
test_forged_response(void **state)
{
	struct fx *f = *state;
	struct cookie_maker mk;
	struct session *m;

	start(f);
	assert_int_equal(initiate(&f->i.s, T0, &f->a), SV_SEND);
	assert_int_equal(respond(f, &f->a, false, T0, &f->b, &m), SV_SEND);
	/* Anyone can compute mac1 (it is keyed by a public key): alter the sealed part and fix
	 * mac1 up. The Noise read fails and must leave the pending handshake intact. */
	cookie_maker_init(&mk, f->i.pub);
	for (size_t j = 12; j < WIRE_RESP_LEN - 32; j += 9) {
		copy_buf(&f->c, &f->b);
		buf_data(&f->c)[j] ^= 0x10;
		cookie_add_macs(&mk, buf_data(&f->c), f->c.len, T0);
		f->i.s.hs_responses = 0; /* every position gets its Noise read */
		assert_int_equal(session_consume_response(&f->i.s, buf_data(&f->c), f->c.len, T0,
		    &f->d), SV_DROP);
		assert_true(f->i.s.hs_active);
	}
	assert_true(f->i.s.stats.drops[DROP_AUTH] > 0);
	assert_int_equal(f->i.s.stats.drops[DROP_AUTH],
	    drops_total(f->i.s.stats.drops));
	/* Only a few forgeries per initiation get the two Diffie-Hellman operations; the rest
	 * are dropped as rate-limited before any work. */
	f->i.s.hs_responses = 0;
	copy_buf(&f->c, &f->b);
	buf_data(&f->c)[20] ^= 0x10;
	cookie_add_macs(&mk, buf_data(&f->c), f->c.len, T0);
	for (int k = 0; k < SESSION_RESPONSES_PER_TRY + 3; k++)
		assert_int_equal(session_consume_response(&f->i.s, buf_data(&f->c), f->c.len,
		    T0, &f->d), SV_DROP);
	assert_int_equal(f->i.s.stats.drops[DROP_RATELIMIT], 3);
	f->i.s.hs_responses = 0;
	/* Without a valid mac1 it is refused before the Noise read. */
	copy_buf(&f->c, &f->b);
	buf_data(&f->c)[WIRE_RESP_LEN - 20] ^= 1;
	assert_int_equal(session_consume_response(&f->i.s, buf_data(&f->c), f->c.len, T0,
	    &f->d), SV_DROP);
	/* A response for another handshake index. */
	copy_buf(&f->c, &f->b);
	buf_data(&f->c)[9] ^= 1;
	assert_int_equal(session_consume_response(&f->i.s, buf_data(&f->c), f->c.len, T0,
	    &f->d), SV_DROP);
	assert_int_equal(f->i.s.stats.drops[DROP_NO_SESSION], 1);
	/* The genuine one still completes the handshake. */
	assert_int_equal(session_consume_response(&f->i.s, buf_data(&f->b), f->b.len, T0,
	    &f->c), SV_SEND);
	assert_int_equal(to_r(f, &f->c, T0), SV_NONE);
	assert_int_equal(f->r.s.state, SESSION_ESTABLISHED);
	/* A second copy finds no handshake waiting. */
	assert_int_equal(session_consume_response(&f->i.s, buf_data(&f->b), f->b.len, T0,
	    &f->c), SV_DROP);
	assert_int_equal(f->i.s.stats.drops[DROP_NO_SESSION], 2);
	cookie_maker_wipe(&mk);
}

static void
test_cookie_under_load(void **state)
{
	static const uint8_t zero16[16];
	struct fx *f = *state;
	struct sockaddr_in other;
	struct session *m = (struct session *)1;
	struct session_keypair *kp;

	start(f);
	assert_int_equal(initiate(&f->i.s, T0, &f->a), SV_SEND);
	assert_memory_equal(buf_data(&f->a) + WIRE_INIT_LEN - 16, zero16, 16); /* no mac2 */
	assert_int_equal(respond(f, &f->a, true, T0, &f->b, &m), SV_REPLY);
	assert_null(m);
	assert_int_equal(f->b.len, WIRE_COOKIE_LEN);
	assert_int_equal(wire_classify(buf_data(&f->b), f->b.len), WIRE_COOKIE);
	assert_false(f->r.s.kp_next.valid); /* no Diffie-Hellman was spent */
	/* The engine finds the cookie's session by the handshake index. */
	assert_ptr_equal(find_index(f->is, 1, wire_get32(buf_data(&f->b) + 4), &kp),
	    &f->i.s);
	assert_null(kp);

	/* A tampered reply is refused, the genuine one is taken. */
	copy_buf(&f->c, &f->b);
	buf_data(&f->c)[30] ^= 1;
	assert_int_equal(session_consume_cookie(&f->i.s, buf_data(&f->c), f->c.len, T0 + 1),
	    SV_DROP);
	assert_int_equal(f->i.s.stats.drops[DROP_AUTH], 1);
	assert_int_equal(session_consume_cookie(&f->i.s, buf_data(&f->b), f->b.len, T0 + 1),
	    SV_NONE);
	/* A responder takes no cookies. */
	assert_int_equal(session_consume_cookie(&f->r.s, buf_data(&f->b), f->b.len, T0 + 1),
	    SV_DROP);

	/* The retransmission carries mac2 and is answered under load. */
	assert_int_equal(tick(&f->i.s, T0 + BACKOFF_FIRST * 5 / 4, &f->a),
	    SV_SEND);
	assert_memory_not_equal(buf_data(&f->a) + WIRE_INIT_LEN - 16, zero16, 16);
	/* From another address the cookie does not count. */
	other = f->src;
	other.sin_port = htons(40001);
	assert_int_equal(respond_all(f->rs, NR, &f->r.local, SA(other), sizeof(other),
	    buf_data(&f->a), f->a.len, true, T0 + 6000, &f->b, &m), SV_REPLY);
	assert_int_equal(f->b.len, WIRE_COOKIE_LEN);
	assert_null(m);
	assert_int_equal(respond(f, &f->a, true, T0 + 6000, &f->b, &m), SV_SEND);
	assert_ptr_equal(m, &f->r.s);
	assert_int_equal(wire_classify(buf_data(&f->b), f->b.len), WIRE_HS_RESP);
	assert_int_equal(session_consume_response(&f->i.s, buf_data(&f->b), f->b.len, T0 + 6000,
	    &f->c), SV_SEND);
	assert_int_equal(to_r(f, &f->c, T0 + 6000), SV_NONE);
	assert_int_equal(f->r.s.stats.handshakes, 1);
}

/* The load rule is WireGuard's: only under load (the caller's measure of handshake work
 * waiting) must a sender prove its address, and only then is it rate-limited by address. A
 * spoofed source cannot starve a client otherwise. */
static void
test_load_rule(void **state)
{
	struct fx *f = *state;
	struct session *m;
	int k;

	start(f);
	/* Not under load: one source may send more than the per-source burst; every fresh
	 * initiation is answered, none gets a cookie. */
	for (k = 0; k < 3 * RATELIMIT_BURST; k++) {
		assert_int_equal(initiate(&f->i.s, T0 + (uint64_t)k * 30, &f->a), SV_SEND);
		assert_int_equal(respond(f, &f->a, false, T0 + (uint64_t)k * 30, &f->b, &m),
		    SV_SEND);
		assert_ptr_equal(m, &f->r.s);
		assert_int_equal(f->b.len, WIRE_RESP_LEN);
	}
	assert_int_equal(gdrops[DROP_RATELIMIT], 0);
	/* Under load, without mac2: a cookie reply, no Diffie-Hellman, nothing of the peer
	 * changes. */
	assert_int_equal(initiate(&f->i.s, T0 + 1000, &f->a), SV_SEND);
	assert_int_equal(respond(f, &f->a, true, T0 + 1000, &f->b, &m), SV_REPLY);
	assert_null(m);
	assert_int_equal(f->b.len, WIRE_COOKIE_LEN);
	/* The same initiation is still fresh afterwards: nothing was recorded of it. */
	assert_int_equal(respond(f, &f->a, false, T0 + 1001, &f->b, &m), SV_SEND);
	assert_ptr_equal(m, &f->r.s);
}

static void
test_replays_spare_peer_budget(void **state)
{
	struct fx *f = *state;
	struct session *m;
	struct sockaddr_in other = f->src;

	start(f);
	assert_int_equal(initiate(&f->i.s, T0, &f->a), SV_SEND);
	assert_int_equal(respond(f, &f->a, false, T0, &f->b, &m), SV_SEND);
	/* Replays from many addresses (past the per-source limit) within one second. */
	for (int k = 0; k < 60; k++) {
		other.sin_addr.s_addr = htonl(0xc6336400 + (uint32_t)k);
		assert_int_equal(respond_all(f->rs, NR, &f->r.local, SA(other), sizeof(other),
		    buf_data(&f->a), f->a.len, false, T0 + 1, &f->b, &m), SV_DROP);
	}
	assert_int_equal(f->r.s.stats.drops[DROP_REPLAY], 60);
	assert_int_equal(f->r.s.stats.drops[DROP_RATELIMIT], 0);
	/* The peer's genuine new initiation is still answered in that second. */
	assert_int_equal(initiate(&f->i.s, T0 + 2, &f->a), SV_SEND);
	assert_int_equal(respond(f, &f->a, false, T0 + 2, &f->b, &m), SV_SEND);
	assert_ptr_equal(m, &f->r.s);
}

static void
test_retransmit(void **state)
{
	struct fx *f = *state;
	struct session *m;
	uint64_t due;

	start(f);
	/* A fresh client wants a handshake at once. */
	assert_int_equal(session_next_deadline(&f->i.s, T0), T0);
	assert_int_equal(tick(&f->i.s, T0, &f->a), SV_SEND);
	assert_int_equal(wire_classify(buf_data(&f->a), f->a.len), WIRE_HS_INIT);
	/* The first retry after 1 s and up to a quarter more. */
	assert_true(f->i.s.hs_wait >= BACKOFF_FIRST && f->i.s.hs_wait < BACKOFF_FIRST * 5 / 4);
	due = T0 + f->i.s.hs_wait;
	assert_int_equal(session_next_deadline(&f->i.s, T0), due);
	assert_int_equal(tick(&f->i.s, due - 1, &f->b), SV_NONE);
	assert_int_equal(tick(&f->i.s, due, &f->b), SV_SEND);
	assert_int_equal(wire_classify(buf_data(&f->b), f->b.len), WIRE_HS_INIT);
	/* A new initiation: new sender index and ephemeral. */
	assert_int_not_equal(wire_get32(buf_data(&f->a) + 4), wire_get32(buf_data(&f->b) + 4));
	assert_memory_not_equal(buf_data(&f->a) + 8, buf_data(&f->b) + 8, 32);
	assert_int_equal(session_next_deadline(&f->i.s, due),
	    due + f->i.s.hs_wait);
	assert_true(f->i.s.hs_wait >= 2000 && f->i.s.hs_wait < 2500);

	/* The late answer to the first try is stale; the answer to the second completes. */
	assert_int_equal(respond(f, &f->a, false, due, &f->c, &m), SV_SEND);
	assert_int_equal(session_consume_response(&f->i.s, buf_data(&f->c), f->c.len, due,
	    &f->d), SV_DROP);
	assert_int_equal(f->i.s.stats.drops[DROP_NO_SESSION], 1);
	assert_int_equal(respond(f, &f->b, false, due, &f->c, &m), SV_SEND);
	assert_int_equal(session_consume_response(&f->i.s, buf_data(&f->c), f->c.len, due,
	    &f->d), SV_SEND);
	assert_int_equal(to_r(f, &f->d, due), SV_NONE);
	assert_int_equal(f->r.s.state, SESSION_ESTABLISHED);
	/* Established: no more retransmissions. */
	assert_int_equal(tick(&f->i.s, due + BACKOFF_MAX * 2, &f->a),
	    SV_NONE);
}

/* A server that stays away: the tries follow the back-off (1, 2, 4, 8, 16, 30, 30 s, each up
 * to a quarter longer, jitter drawn per try); once a handshake completes the count starts
 * again, so an unanswered rekey is retried after 1 s, not 30. */
static void
test_retransmit_backoff(void **state)
{
	static const uint64_t base[] = { 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000 };
	struct fx *f = *state;
	uint64_t now = T0, waits[8];
	bool differ = false;

	f->i.peer.rekey_interval = 60;
	f->i.peer.keepalive = 0;
	f->i.peer.timeout = 0;
	start(f);
	assert_int_equal(tick(&f->i.s, now, &f->a), SV_SEND);
	for (size_t k = 0; k < 8; k++) {
		uint64_t next = session_next_deadline(&f->i.s, now);

		waits[k] = next - now;
		assert_true(waits[k] >= base[k] && waits[k] * 4 < base[k] * 5);
		assert_int_equal(tick(&f->i.s, next - 1, &f->a), SV_NONE);
		assert_int_equal(tick(&f->i.s, next, &f->a), SV_SEND);
		assert_int_equal(wire_classify(buf_data(&f->a), f->a.len), WIRE_HS_INIT);
		now = next;
	}
	/* The jitter is drawn per try: three waits at the cap are not all the same. */
	differ = waits[5] != waits[6] || waits[6] != waits[7];
	assert_true(differ);
	assert_int_equal(f->i.s.hs_tries, 9);
	/* The server answers the latest try: the count starts again. */
	{
		struct session *m;

		assert_int_equal(respond(f, &f->a, false, now, &f->b, &m), SV_SEND);
		assert_int_equal(session_consume_response(&f->i.s, buf_data(&f->b), f->b.len,
		    now, &f->c), SV_SEND);
	}
	assert_int_equal(f->i.s.state, SESSION_ESTABLISHED);
	assert_int_equal(f->i.s.hs_tries, 0);
	/* The rekey is due after 60 s; unanswered, it is retried after 1 s and a bit. */
	now += 60000;
	assert_int_equal(tick(&f->i.s, now, &f->a), SV_SEND);
	assert_true(f->i.s.hs_wait >= 1000 && f->i.s.hs_wait < 1250);
	assert_int_equal(session_next_deadline(&f->i.s, now), now + f->i.s.hs_wait);
}

/* The same key from another endpoint while the session is up (the caller says so): with
 * duplicate = refuse the handshake is refused with WIRE_STATUS_DUPLICATE, counted on both
 * ends, and the client backs off 1 s, then 2 s (its session stays); with replace two takeovers
 * pass and the third is refused as flapping, as is any later one, until the session goes
 * down; a handshake that is not contested (the holder's own rekey) always passes. */
static void
test_duplicate(void **state)
{
	struct fx *f = *state;
	struct session *m;
	uint64_t now = T0;

	start(f);
	handshake(f, now);
	assert_int_equal(f->r.s.state, SESSION_ESTABLISHED);
	gcontested = true;
	f->r.peer.duplicate = VT_DUP_REFUSE;
	for (int k = 0; k < 2; k++) {
		now += 100;
		assert_int_equal(initiate(&f->i.s, now, &f->a), SV_SEND);
		assert_int_equal(respond(f, &f->a, false, now, &f->b, &m), SV_REPLY);
		assert_int_equal(f->r.s.stats.drops[DROP_DUPLICATE], k + 1);
		assert_int_equal(session_consume_response(&f->i.s, buf_data(&f->b), f->b.len, now,
		    &f->c), SV_DROP);
		assert_int_equal(f->i.s.stats.drops[DROP_DUPLICATE], k + 1);
		assert_false(f->i.s.hs_active);
		assert_true(f->i.s.hs_backoff_until >= now + 1000 * (uint64_t)(k + 1));
		assert_true(f->i.s.hs_backoff_until < now + 1250 * (uint64_t)(k + 1));
		assert_int_equal(initiate(&f->i.s, now + 999, &f->a), SV_NONE);
		assert_true(f->i.s.kp_cur.valid); /* the client's session is not touched */
		now = f->i.s.hs_backoff_until;
	}
	assert_int_equal(f->r.s.stats.drops[DROP_MISMATCH], 0);
	/* a refused initiation does not move the responder's timestamp */
	{
		uint8_t ts[WIRE_TIMESTAMP_LEN];

		memcpy(ts, f->r.s.last_timestamp, sizeof(ts));
		now += 100;
		f->i.s.hs_backoff_until = 0;
		assert_int_equal(initiate(&f->i.s, now, &f->a), SV_SEND);
		assert_int_equal(respond(f, &f->a, false, now, &f->b, &m), SV_REPLY);
		assert_memory_equal(ts, f->r.s.last_timestamp, sizeof(ts));
		now = f->i.s.hs_backoff_until;
		f->i.s.hs_backoff_until = 0;
	}
	/* replace: unconfirmed takeovers never flap */
	f->r.peer.duplicate = VT_DUP_REPLACE;
	for (int k = 0; k < 4; k++) {
		now += 100;
		assert_int_equal(initiate(&f->i.s, now, &f->a), SV_SEND);
		assert_int_equal(respond(f, &f->a, false, now, &f->b, &m), SV_SEND);
	}
	assert_false(f->r.s.dup.flapping);
	/* two confirmed takeovers, then flapping */
	for (int k = 0; k < 4; k++) {
		now += 100;
		assert_int_equal(initiate(&f->i.s, now, &f->a), SV_SEND);
		assert_int_equal(respond(f, &f->a, false, now, &f->b, &m),
		    k < 2 ? SV_SEND : SV_REPLY);
		assert_int_equal(f->r.s.dup.flapping, k >= 2);
		if (k < 2) { /* the newcomer confirms: its key is the session's now */
			assert_int_equal(session_consume_response(&f->i.s, buf_data(&f->b),
			    f->b.len, now, &f->c), SV_SEND);
			assert_int_equal(to_r(f, &f->c, now), SV_NONE);
		}
	}
	assert_int_equal(f->r.s.stats.drops[DROP_DUPLICATE], 5);
	/* the holder's own handshake is not contested */
	gcontested = false;
	now += 100;
	f->i.s.hs_backoff_until = 0;
	assert_int_equal(initiate(&f->i.s, now, &f->a), SV_SEND);
	assert_int_equal(respond(f, &f->a, false, now, &f->b, &m), SV_SEND);
	assert_true(f->r.s.dup.flapping);
	/* the session goes down: the history goes with it */
	f->r.peer.timeout = 5;
	assert_int_equal(tick(&f->r.s, now + 5000, &f->d), TV_DOWN);
	assert_false(f->r.s.dup.flapping);
	gcontested = false;
}

static void
test_rekey_and_previous_key(void **state)
{
	struct fx *f = *state;
	struct buf *old = calloc(4, sizeof(struct buf));
	struct session *m, *who;
	uint64_t rk = T0 + 120000, linger_end;
	uint32_t old_i_idx, old_r_idx;

	assert_non_null(old);
	start(f);
	handshake(f, T0);
	old_i_idx = f->i.s.kp_cur.local_index;
	old_r_idx = f->r.s.kp_cur.local_index;
	assert_int_equal(session_next_deadline(&f->i.s, T0), rk);
	assert_int_equal(tick(&f->i.s, rk - 1, &f->a), SV_NONE);
	/* Messages sealed with the old keys, delivered after the rekey. */
	seal_frame(&f->i.s, &old[0], 40, 1, rk - 1);
	seal_frame(&f->i.s, &old[1], 40, 2, rk - 1);
	seal_frame(&f->r.s, &old[2], 40, 3, rk - 1);
	seal_frame(&f->r.s, &old[3], 40, 4, rk - 1);

	assert_int_equal(tick(&f->i.s, rk, &f->a), SV_SEND);
	assert_int_equal(wire_classify(buf_data(&f->a), f->a.len), WIRE_HS_INIT);
	assert_int_equal(f->i.s.state, SESSION_ESTABLISHED);
	/* While the handshake runs the old key still works both ways. */
	seal_frame(&f->i.s, &f->d, 30, 9, rk);
	assert_int_equal(to_r(f, &f->d, rk), SV_DELIVER);
	check_delivered(&f->d, 30, 9);
	assert_int_equal(respond(f, &f->a, false, rk, &f->b, &m), SV_SEND);
	seal_frame(&f->r.s, &f->d, 30, 10, rk);
	assert_int_equal(to_i(f, &f->d, rk), SV_DELIVER);
	check_delivered(&f->d, 30, 10);
	assert_int_equal(session_consume_response(&f->i.s, buf_data(&f->b), f->b.len, rk + 1,
	    &f->c), SV_SEND);
	assert_int_equal(f->i.s.stats.handshakes, 2);
	assert_true(f->i.s.kp_prev.valid);
	assert_int_equal(f->i.s.kp_prev.local_index, old_i_idx);
	/* The server still sends on the old key until the keepalive arrives; the client copes. */
	seal_frame(&f->r.s, &f->d, 30, 11, rk + 1);
	assert_int_equal(to_i(f, &f->d, rk + 1), SV_DELIVER);
	check_delivered(&f->d, 30, 11);
	assert_int_equal(to_r(f, &f->c, rk + 2), SV_NONE);
	assert_int_equal(f->r.s.stats.handshakes, 2);
	assert_true(f->r.s.kp_prev.valid);
	assert_int_equal(f->r.s.kp_prev.local_index, old_r_idx);
	assert_int_not_equal(f->r.s.kp_cur.local_index, old_r_idx);
	/* New traffic uses the new keys. */
	seal_frame(&f->i.s, &f->d, 30, 12, rk + 3);
	assert_int_equal(wire_get32(buf_data(&f->d) + 4), f->r.s.kp_cur.local_index);
	assert_int_equal(to_r(f, &f->d, rk + 3), SV_DELIVER);
	seal_frame(&f->r.s, &f->d, 30, 13, rk + 3);
	assert_int_equal(wire_get32(buf_data(&f->d) + 4), f->i.s.kp_cur.local_index);
	assert_int_equal(to_i(f, &f->d, rk + 3), SV_DELIVER);

	/* Messages in flight on the previous keys still arrive. */
	assert_int_equal(to_r(f, &old[0], rk + 4), SV_DELIVER);
	check_delivered(&old[0], 40, 1);
	assert_int_equal(to_i(f, &old[2], rk + 4), SV_DELIVER);
	check_delivered(&old[2], 40, 3);

	/* ... until SESSION_PREV_KEY_LINGER after the switch. */
	linger_end = f->r.s.prev_retired + SESSION_PREV_KEY_LINGER;
	assert_true(session_next_deadline(&f->r.s, rk + 4) <= linger_end);
	tick(&f->r.s, linger_end - 1, &f->d);
	assert_true(f->r.s.kp_prev.valid);
	tick(&f->r.s, linger_end, &f->d);
	assert_false(f->r.s.kp_prev.valid);
	assert_int_equal(route(f->rs, NR, &old[1], linger_end, &who), SV_DROP);
	assert_null(who);
	linger_end = f->i.s.prev_retired + SESSION_PREV_KEY_LINGER;
	tick(&f->i.s, linger_end, &f->d);
	assert_false(f->i.s.kp_prev.valid);
	assert_int_equal(route(f->is, 1, &old[3], linger_end, &who), SV_DROP);
	assert_null(who);
	/* The new keys carry on. */
	seal_frame(&f->i.s, &f->d, 30, 14, linger_end);
	assert_int_equal(to_r(f, &f->d, linger_end), SV_DELIVER);
	free(old);
}

static void
test_prev_key_kept_until_heard(void **state)
{
	struct fx *f = *state;
	struct session *m;
	uint64_t rk = T0 + 120000, t;

	start(f);
	handshake(f, T0);
	assert_int_equal(tick(&f->i.s, rk, &f->a), SV_SEND);
	assert_int_equal(respond(f, &f->a, false, rk, &f->b, &m), SV_SEND);
	assert_int_equal(session_consume_response(&f->i.s, buf_data(&f->b), f->b.len, rk,
	    &f->c), SV_SEND);
	/* The confirming keepalive is lost: the server goes on with the old key, and the client
	 * must keep accepting it well past the linger time. */
	for (t = rk + 1000; t < rk + 3 * SESSION_PREV_KEY_LINGER; t += 1000) {
		tick(&f->i.s, t, &f->d);
		assert_true(f->i.s.kp_prev.valid);
		seal_frame(&f->r.s, &f->d, 20, (uint8_t)t, t);
		assert_int_equal(to_i(f, &f->d, t), SV_DELIVER);
		check_delivered(&f->d, 20, (uint8_t)t);
	}
	/* Client data on the new key confirms it; the server switches and is heard. */
	seal_frame(&f->i.s, &f->d, 20, 1, t);
	assert_int_equal(to_r(f, &f->d, t), SV_DELIVER);
	assert_true(f->r.s.kp_cur.confirmed);
	seal_frame(&f->r.s, &f->d, 20, 2, t);
	assert_int_equal(to_i(f, &f->d, t), SV_DELIVER);
	/* Only now does the linger start. */
	tick(&f->i.s, t + SESSION_PREV_KEY_LINGER - 1, &f->d);
	assert_true(f->i.s.kp_prev.valid);
	tick(&f->i.s, t + SESSION_PREV_KEY_LINGER, &f->d);
	assert_false(f->i.s.kp_prev.valid);
}

static void
test_prev_key_age_limit(void **state)
{
	struct fx *f = *state;
	struct session *m;
	uint64_t rk = T0 + 120000;

	start(f);
	handshake(f, T0);
	assert_int_equal(tick(&f->i.s, rk, &f->a), SV_SEND);
	assert_int_equal(respond(f, &f->a, false, rk, &f->b, &m), SV_SEND);
	assert_int_equal(session_consume_response(&f->i.s, buf_data(&f->b), f->b.len, rk,
	    &f->c), SV_SEND);
	/* Never heard under the new key: the old one still goes at its age limit. */
	assert_int_equal(session_next_deadline(&f->i.s, rk), T0 + SESSION_REJECT_AFTER);
	tick(&f->i.s, T0 + SESSION_REJECT_AFTER - 1, &f->d);
	assert_true(f->i.s.kp_prev.valid);
	tick(&f->i.s, T0 + SESSION_REJECT_AFTER, &f->d);
	assert_false(f->i.s.kp_prev.valid);
	assert_true(f->i.s.kp_cur.valid);
	assert_int_equal(f->i.s.state, SESSION_ESTABLISHED);
}

static void
test_key_expiry(void **state)
{
	struct fx *f = *state;
	uint64_t end = T0 + SESSION_REJECT_AFTER;
	struct session *who;

	start(f);
	handshake(f, T0);
	/* Server side: no rekey ever comes. */
	assert_int_equal(session_next_deadline(&f->r.s, T0), end);
	seal_frame(&f->i.s, &f->a, 20, 1, end - 2);
	seal_frame(&f->i.s, &f->b, 20, 2, end - 2);
	assert_int_equal(route(f->rs, NR, &f->a, end - 1, &who), SV_DELIVER);
	assert_int_equal(tick(&f->r.s, end - 1, &f->c), SV_NONE);
	/* The expired key opens nothing, even before the tick wipes it. */
	assert_int_equal(route(f->rs, NR, &f->b, end, &who), SV_DROP);
	assert_int_equal(f->r.s.stats.drops[DROP_NO_SESSION], 1);
	assert_int_equal(tick(&f->r.s, end, &f->c), TV_DOWN);
	assert_int_equal(f->r.s.state, SESSION_IDLE);
	assert_false(f->r.s.kp_cur.valid);
	assert_int_equal(f->r.s.stats.up_since, 0);

	/* Client side: its rekey attempts go unanswered. */
	assert_int_equal(tick(&f->i.s, T0 + 120000, &f->c), SV_SEND);
	assert_int_equal(wire_classify(buf_data(&f->c), f->c.len), WIRE_HS_INIT);
	put_frame(&f->d, (const uint8_t *)"x", 1);
	assert_int_equal(encap(&f->i.s, &f->d, end - 1), SV_SEND);
	put_frame(&f->d, (const uint8_t *)"x", 1);
	assert_int_equal(encap(&f->i.s, &f->d, end), SV_DROP);
	assert_int_equal(cnt_i.no_key, 1);
	assert_true(session_next_deadline(&f->i.s, end - 1) <= end);
	assert_int_equal(tick(&f->i.s, end, &f->c), TV_DOWN);
	assert_int_equal(f->i.s.state, SESSION_IDLE);
	assert_false(f->i.s.kp_cur.valid);
	assert_false(f->i.s.hs_active);
	/* A client starts over. */
	assert_int_equal(tick(&f->i.s, end + 1, &f->c), SV_SEND);
	assert_int_equal(wire_classify(buf_data(&f->c), f->c.len), WIRE_HS_INIT);
}

static void
test_expiry_spares_pending_key(void **state)
{
	struct fx *f = *state;
	struct session *m;
	uint64_t rk = T0 + 120000, end = T0 + SESSION_REJECT_AFTER;

	start(f);
	handshake(f, T0);
	/* A rekey whose confirming keepalive is lost; the client has nothing else to send. */
	assert_int_equal(tick(&f->i.s, rk, &f->a), SV_SEND);
	assert_int_equal(respond(f, &f->a, false, rk, &f->b, &m), SV_SEND);
	assert_int_equal(session_consume_response(&f->i.s, buf_data(&f->b), f->b.len, rk,
	    &f->c), SV_SEND);
	assert_true(f->r.s.kp_next.valid);
	/* The server's old key reaches its age limit: the new one, 60 s old, must survive. */
	tick(&f->r.s, end, &f->d);
	assert_true(f->r.s.kp_next.valid);
	seal_frame(&f->i.s, &f->d, 30, 1, end + 1);
	assert_int_equal(to_r(f, &f->d, end + 1), SV_DELIVER);
	check_delivered(&f->d, 30, 1);
	assert_int_equal(f->r.s.state, SESSION_ESTABLISHED);
}

static void
test_timeout_spares_pending_key(void **state)
{
	struct fx *f = *state;
	struct session *m;
	uint64_t to = T0 + 60000;

	f->i.peer.timeout = f->r.peer.timeout = 60;
	start(f);
	handshake(f, T0);
	/* The server hears nothing for almost a minute, then a new initiation just in time; its
	 * timeout fires before the confirmation arrives. The fresh key must not go with it. */
	assert_int_equal(initiate(&f->i.s, to - 100, &f->a), SV_SEND);
	assert_int_equal(respond(f, &f->a, false, to - 100, &f->b, &m), SV_SEND);
	assert_int_equal(session_consume_response(&f->i.s, buf_data(&f->b), f->b.len, to - 50,
	    &f->c), SV_SEND);
	tick(&f->r.s, to, &f->d);
	assert_true(f->r.s.kp_next.valid);
	assert_int_equal(to_r(f, &f->c, to + 50), SV_NONE);
	assert_int_equal(f->r.s.state, SESSION_ESTABLISHED);
}

static void
test_keepalive(void **state)
{
	struct fx *f = *state;
	uint64_t ka = 10000;

	f->i.peer.keepalive = f->r.peer.keepalive = 10;
	start(f);
	handshake(f, T0);
	/* The client's confirmation counts as sending. */
	assert_int_equal(f->i.s.last_sent, T0);
	assert_int_equal(session_next_deadline(&f->i.s, T0), T0 + ka);
	assert_int_equal(tick(&f->i.s, T0 + ka - 1, &f->a), SV_NONE);
	assert_int_equal(tick(&f->i.s, T0 + ka, &f->a), SV_SEND);
	assert_int_equal(wire_classify(buf_data(&f->a), f->a.len), WIRE_DATA);
	assert_int_equal(f->a.len, WIRE_DATA_MIN_LEN);
	assert_int_equal(tick(&f->i.s, T0 + ka, &f->b), SV_NONE); /* one is enough */
	assert_int_equal(to_r(f, &f->a, T0 + ka), SV_NONE);
	assert_int_equal(f->r.s.last_recv, T0 + ka);
	assert_int_equal(cnt_r.rx_packets, 0);
	/* Sending data resets the silence. */
	seal_frame(&f->i.s, &f->a, 10, 1, T0 + ka + 5000);
	assert_int_equal(session_next_deadline(&f->i.s, T0 + ka + 5000), T0 + 2 * ka + 5000);
	assert_int_equal(tick(&f->i.s, T0 + 2 * ka + 4999, &f->a), SV_NONE);
	assert_int_equal(tick(&f->i.s, T0 + 2 * ka + 5000, &f->a), SV_SEND);
	/* The server keeps its own silence count. */
	seal_frame(&f->r.s, &f->b, 10, 1, T0 + 30000);
	assert_int_equal(tick(&f->r.s, T0 + 30000 + ka - 1, &f->b), SV_NONE);
	assert_int_equal(tick(&f->r.s, T0 + 30000 + ka, &f->b), SV_SEND);
	assert_int_equal(to_i(f, &f->b, T0 + 30000 + ka), SV_NONE);
	assert_int_equal(f->i.s.last_recv, T0 + 30000 + ka);
}

static void
test_keepalive_fresh_responder(void **state)
{
	struct fx *f = *state;

	f->i.peer.keepalive = f->r.peer.keepalive = 10;
	start(f);
	handshake(f, T0);
	/* The server came up at T0 and has not been silent for 10 s: nothing is due yet. */
	assert_true(session_next_deadline(&f->r.s, T0) >= T0 + 10000);
	assert_int_equal(tick(&f->r.s, T0 + 1, &f->a), SV_NONE);
}

static void
test_timeout(void **state)
{
	struct fx *f = *state;
	uint64_t to = 60000;

	f->i.peer.keepalive = f->r.peer.keepalive = 10;
	f->i.peer.timeout = f->r.peer.timeout = 60;
	start(f);
	handshake(f, T0);
	/* The client hears nothing from the server; the server hears the client's keepalive. */
	assert_int_equal(tick(&f->i.s, T0 + 10000, &f->a), SV_SEND);
	assert_int_equal(to_r(f, &f->a, T0 + 10000), SV_NONE);
	assert_int_not_equal(tick(&f->i.s, T0 + to - 1, &f->a), TV_DOWN);
	assert_true(session_next_deadline(&f->i.s, T0 + to - 1) <= T0 + to);
	assert_int_equal(tick(&f->i.s, T0 + to, &f->a), TV_DOWN);
	assert_int_equal(f->i.s.state, SESSION_IDLE);
	assert_false(f->i.s.kp_cur.valid);
	assert_int_equal(f->i.s.stats.up_since, 0);

	assert_int_not_equal(tick(&f->r.s, T0 + 10000 + to - 1, &f->b), TV_DOWN);
	assert_int_equal(session_next_deadline(&f->r.s, T0 + 10000 + to - 1), T0 + 10000 + to);
	assert_int_equal(tick(&f->r.s, T0 + 10000 + to, &f->b), TV_DOWN);
	assert_int_equal(f->r.s.state, SESSION_IDLE);
	assert_false(f->r.s.kp_cur.valid);
}

static void
test_next_deadline(void **state)
{
	struct fx *f = *state;
	struct session *m;

	f->i.peer.keepalive = f->r.peer.keepalive = 25;
	f->i.peer.timeout = f->r.peer.timeout = 60;
	f->i.peer.rekey_interval = f->r.peer.rekey_interval = 50;
	start(f);
	/* A server with nothing: no timer at all. A client: now. */
	assert_int_equal(session_next_deadline(&f->r.s, T0), UINT64_MAX);
	assert_int_equal(session_next_deadline(&f->i.s, T0), T0);
	assert_int_equal(initiate(&f->i.s, T0, &f->a), SV_SEND);
	assert_int_equal(session_next_deadline(&f->i.s, T0),
	    T0 + f->i.s.hs_wait);
	/* A server with an unconfirmed key: it expires if never confirmed. */
	assert_int_equal(respond(f, &f->a, false, T0, &f->b, &m), SV_SEND);
	assert_int_equal(session_next_deadline(&f->r.s, T0), T0 + SESSION_REJECT_AFTER);
	assert_int_equal(tick(&f->r.s, T0 + SESSION_REJECT_AFTER - 1, &f->c), SV_NONE);
	assert_true(f->r.s.kp_next.valid);
	assert_int_equal(tick(&f->r.s, T0 + SESSION_REJECT_AFTER, &f->c), SV_NONE);
	assert_false(f->r.s.kp_next.valid);
	assert_int_equal(session_next_deadline(&f->r.s, T0 + SESSION_REJECT_AFTER), UINT64_MAX);

	/* Established (again, later): keepalive first, then timeout, rekey, expiry. */
	handshake(f, T0 + 200000);
	assert_int_equal(session_next_deadline(&f->i.s, T0 + 200000), T0 + 225000);
	seal_frame(&f->r.s, &f->a, 10, 1, T0 + 200000); /* the server has spoken */
	assert_int_equal(session_next_deadline(&f->r.s, T0 + 200000), T0 + 225000);
	f->i.peer.keepalive = 0;
	assert_int_equal(session_next_deadline(&f->i.s, T0 + 200000), T0 + 250000); /* rekey */
	f->i.peer.rekey_interval = 120;
	assert_int_equal(session_next_deadline(&f->i.s, T0 + 200000), T0 + 260000); /* timeout */
	f->i.peer.timeout = 0;
	assert_int_equal(session_next_deadline(&f->i.s, T0 + 200000), T0 + 320000); /* rekey */
	f->r.peer.keepalive = 0;
	f->r.peer.timeout = 0;
	assert_int_equal(session_next_deadline(&f->r.s, T0 + 200000),
	    T0 + 200000 + SESSION_REJECT_AFTER);
	/* A rekey pending, then the previous key's linger. */
	assert_int_equal(tick(&f->i.s, T0 + 320000, &f->a), SV_SEND);
	assert_int_equal(session_next_deadline(&f->i.s, T0 + 320000),
	    T0 + 320000 + f->i.s.hs_wait);
	assert_int_equal(respond(f, &f->a, false, T0 + 320000, &f->b, &m), SV_SEND);
	assert_int_equal(session_consume_response(&f->i.s, buf_data(&f->b), f->b.len,
	    T0 + 321000, &f->c), SV_SEND);
	/* The client keeps its previous key until it hears the server under the new one, at most
	 * until that key's age limit. */
	assert_int_equal(session_next_deadline(&f->i.s, T0 + 321000),
	    T0 + 200000 + SESSION_REJECT_AFTER);
	assert_int_equal(to_r(f, &f->c, T0 + 322000), SV_NONE);
	assert_int_equal(session_next_deadline(&f->r.s, T0 + 322000),
	    T0 + 322000 + SESSION_PREV_KEY_LINGER);
	seal_frame(&f->r.s, &f->a, 10, 1, T0 + 322500);
	assert_int_equal(to_i(f, &f->a, T0 + 322500), SV_DELIVER);
	assert_int_equal(session_next_deadline(&f->i.s, T0 + 322500),
	    T0 + 322500 + SESSION_PREV_KEY_LINGER);
	/* Closed: a server has nothing to do. */
	session_close(&f->r.s, T0 + 323000, &f->a);
	assert_int_equal(session_next_deadline(&f->r.s, T0 + 323000), UINT64_MAX);
}

static void
test_volume_rekey_initiator(void **state)
{
	struct fx *f = *state;
	struct session *m;

	start(f);
	handshake(f, T0);
	f->i.s.kp_cur.send_blocks = SESSION_REKEY_AFTER_BLOCKS;
	seal_frame(&f->i.s, &f->d, 50, 1, T0 + 1);
	assert_true(f->i.s.want_handshake);
	assert_int_equal(session_next_deadline(&f->i.s, T0 + 1), T0 + 1);
	assert_int_equal(tick(&f->i.s, T0 + 1, &f->a), SV_SEND);
	assert_int_equal(wire_classify(buf_data(&f->a), f->a.len), WIRE_HS_INIT);
	/* The old key is still good for the meantime. */
	assert_int_equal(to_r(f, &f->d, T0 + 2), SV_DELIVER);
	assert_int_equal(respond(f, &f->a, false, T0 + 2, &f->b, &m), SV_SEND);
	assert_int_equal(session_consume_response(&f->i.s, buf_data(&f->b), f->b.len, T0 + 2,
	    &f->c), SV_SEND);
	assert_int_equal(to_r(f, &f->c, T0 + 2), SV_NONE);
	assert_int_equal(f->i.s.kp_cur.send_blocks, 2); /* just the keepalive on the new key */
	assert_false(f->i.s.want_handshake);
	assert_int_equal(f->r.s.stats.handshakes, 2);
}

static void
test_volume_rekey_responder(void **state)
{
	struct fx *f = *state;

	start(f);
	handshake(f, T0);
	assert_int_equal(tick(&f->r.s, T0 + 1, &f->a), SV_NONE);
	f->r.s.kp_cur.send_blocks = SESSION_REKEY_AFTER_BLOCKS;
	assert_int_equal(session_next_deadline(&f->r.s, T0 + 1), T0 + 1);
	/* The server cannot start a handshake: it asks the client to. */
	assert_int_equal(tick(&f->r.s, T0 + 1, &f->a), SV_SEND);
	assert_int_equal(wire_classify(buf_data(&f->a), f->a.len), WIRE_DATA);
	assert_int_equal(f->a.len, WIRE_DATA_MIN_LEN);
	assert_int_equal(tick(&f->r.s, T0 + 2, &f->b), SV_NONE); /* asked once */
	assert_false(f->i.s.want_handshake);
	assert_int_equal(to_i(f, &f->a, T0 + 2), SV_NONE);
	assert_true(f->i.s.want_handshake);
	assert_int_equal(cnt_i.rx_packets, 0);
	assert_int_equal(session_next_deadline(&f->i.s, T0 + 2), T0 + 2);
	assert_int_equal(tick(&f->i.s, T0 + 2, &f->b), SV_SEND);
	assert_int_equal(wire_classify(buf_data(&f->b), f->b.len), WIRE_HS_INIT);
}

static void
volume_reject(struct fx *f, struct side *tx)
{
	uint8_t frame[20] = { 1 };

	start(f);
	handshake(f, T0);
	tx->s.kp_cur.send_blocks = SESSION_REJECT_AFTER_BLOCKS;
	put_frame(&f->d, frame, sizeof(frame));
	assert_int_equal(encap(&tx->s, &f->d, T0 + 1), SV_DROP);
	assert_int_equal(counts_of(&tx->s)->no_key, 1);
	assert_int_equal(counts_of(&tx->s)->tx_packets, 0);
	assert_int_equal(tick(&tx->s, T0 + 1, &f->a), TV_DOWN);
	assert_false(tx->s.kp_cur.valid);
	assert_int_equal(tx->s.state, SESSION_IDLE);
}

static void
test_volume_reject_initiator(void **state)
{
	struct fx *f = *state;

	volume_reject(f, &f->i);
}

static void
test_volume_reject_responder(void **state)
{
	struct fx *f = *state;

	volume_reject(f, &f->r);
}

/* The soft message limit must lie below the hard one. */
_Static_assert(SESSION_REKEY_AFTER_MSGS < SESSION_REJECT_AFTER_MSGS,
    "rekey after fewer messages than the receiver rejects");

static void
test_message_count_limits(void **state)
{
	struct fx *f = *state;

	start(f);
	handshake(f, T0);
	/* The last counter the receiver's window accepts still gets through. */
	f->i.s.kp_cur.send_counter = SESSION_REJECT_AFTER_MSGS - 1;
	seal_frame(&f->i.s, &f->d, 10, 1, T0 + 1);
	assert_int_equal(wire_get64(buf_data(&f->d) + 8), REPLAY_COUNTER_LIMIT - 2);
	assert_int_equal(to_r(f, &f->d, T0 + 1), SV_DELIVER);
	/* By now the client should have asked for a new handshake, as it does for the block
	 * limit (the soft message limit lies below the hard one: checked at compile time). */
	assert_true(f->i.s.want_handshake);
}

static void
test_close(void **state)
{
	struct fx *f = *state;

	start(f);
	/* Nothing to say without a key. */
	assert_int_equal(session_close(&f->i.s, T0, &f->a), SV_NONE);
	handshake(f, T0);
	assert_int_equal(session_close(&f->i.s, T0 + 1, &f->a), SV_SEND);
	assert_int_equal(wire_classify(buf_data(&f->a), f->a.len), WIRE_DATA);
	assert_false(f->i.s.kp_cur.valid);
	assert_int_equal(f->i.s.state, SESSION_IDLE);
	assert_int_equal(to_r(f, &f->a, T0 + 2), TV_DOWN);
	assert_int_equal(f->r.s.state, SESSION_IDLE);
	assert_false(f->r.s.kp_cur.valid);
	assert_false(f->r.s.kp_prev.valid);
	assert_false(f->r.s.kp_next.valid);
	assert_int_equal(f->r.s.stats.up_since, 0);

	/* The other way round, after a new handshake. */
	handshake(f, T0 + 1000);
	assert_int_equal(session_close(&f->r.s, T0 + 1001, &f->a), SV_SEND);
	assert_false(f->r.s.kp_cur.valid);
	copy_buf(&f->d, &f->a);
	assert_int_equal(to_i(f, &f->a, T0 + 1002), TV_DOWN);
	assert_false(f->i.s.kp_cur.valid);
	assert_int_equal(f->i.s.state, SESSION_IDLE);
	/* The close cannot be replayed into a later session. */
	handshake(f, T0 + 2000);
	assert_int_equal(route(f->is, 1, &f->d, T0 + 2001, NULL), SV_DROP);
	assert_int_equal(f->i.s.state, SESSION_ESTABLISHED);
}

/* Seal an inner message of type `inner` and no body under key pair kp, as its owner does. */
static void
seal_bodyless(struct session_keypair *kp, uint8_t inner, struct buf *b)
{
	struct wire_data_hdr h;
	uint8_t *hdr;

	buf_reset(b);
	*buf_put(b, WIRE_INNER_HDR_LEN) = inner;
	h.receiver = kp->remote_index;
	h.counter = kp->send_counter++;
	hdr = buf_push(b, WIRE_DATA_HDR_LEN);
	wire_data_hdr_encode(hdr, &h);
	buf_put(b, WIRE_TAG_LEN);
	assert_int_equal(crypto_aead_seal(&kp->send, h.counter, hdr, WIRE_DATA_HDR_LEN,
	    hdr + WIRE_DATA_HDR_LEN, WIRE_INNER_HDR_LEN, hdr + WIRE_DATA_HDR_LEN), 0);
}

/* A close sealed under the keys a rekey replaced (delayed in flight, or replayed) ends only
 * that old pair: the session under the new keys stays up, both ways. Regression: at b3eff8e
 * it wiped every key, the new confirmed pair included. */
static void
test_close_under_previous_keys(void **state)
{
	static struct buf held_r, held_i; /* handshake() uses f's buffers */
	struct fx *f = *state;
	uint8_t frame[64];

	start(f);
	handshake(f, T0);
	/* Each side's close under the first pair, held back. */
	seal_bodyless(&f->r.s.kp_cur, WIRE_INNER_CLOSE, &held_r);
	seal_bodyless(&f->i.s.kp_cur, WIRE_INNER_CLOSE, &held_i);
	handshake(f, T0 + 1000);
	assert_true(f->i.s.kp_prev.valid);
	assert_true(f->r.s.kp_prev.valid);
	/* Now they arrive: each is authentic, each is under the previous pair. */
	assert_int_equal(to_i(f, &held_r, T0 + 1001), SV_NONE);
	assert_int_equal(to_r(f, &held_i, T0 + 1002), SV_NONE);
	assert_int_equal(f->i.s.state, SESSION_ESTABLISHED);
	assert_int_equal(f->r.s.state, SESSION_ESTABLISHED);
	assert_true(f->i.s.kp_cur.valid);
	assert_true(f->r.s.kp_cur.valid);
	assert_false(f->i.s.kp_prev.valid); /* the old pair is over */
	assert_false(f->r.s.kp_prev.valid);
	assert_true(f->i.s.stats.up_since != 0 && f->r.s.stats.up_since != 0);
	fill(frame, sizeof(frame), 9);
	frame_trip(f, true, frame, sizeof(frame), T0 + 1003);
	frame_trip(f, false, frame, sizeof(frame), T0 + 1004);
	/* A close under the current pair still ends the session. */
	seal_bodyless(&f->r.s.kp_cur, WIRE_INNER_CLOSE, &f->a);
	assert_int_equal(to_i(f, &f->a, T0 + 1005), TV_DOWN);
	assert_int_equal(f->i.s.state, SESSION_IDLE);
}

static void
test_frame_size_limits(void **state)
{
	struct fx *f = *state;
	static uint8_t frame[1400 + 19];

	f->i.peer.type = f->r.peer.type = VT_TAP;
	start(f);
	handshake(f, T0);
	/* tap: the MTU plus an Ethernet header with a VLAN tag. */
	fill(frame, sizeof(frame), 3);
	frame_trip(f, true, frame, 1400 + 18, T0 + 1);
	put_frame(&f->d, frame, 1400 + 19);
	assert_int_equal(encap(&f->i.s, &f->d, T0 + 1), SV_SEND);
	assert_int_equal(to_r(f, &f->d, T0 + 1), SV_DROP);
	assert_int_equal(f->r.s.stats.drops[DROP_MALFORMED], 1);
	/* An empty frame is no frame. */
	put_frame(&f->d, frame, 0);
	assert_int_equal(encap(&f->i.s, &f->d, T0 + 1), SV_SEND);
	assert_int_equal(to_r(f, &f->d, T0 + 1), SV_DROP);
	assert_int_equal(f->r.s.stats.drops[DROP_MALFORMED], 2);
	assert_int_equal(cnt_r.rx_packets, 1);
}

static void
test_lz4(void **state)
{
	struct fx *f = *state;
	static uint8_t frame[1400];
	uint64_t raw;

	f->i.peer.compress = f->r.peer.compress = VT_COMPRESS_LZ4;
	start(f);
	handshake(f, T0);
	/* Compressible: an IP-like header, then text and zeros. */
	for (size_t len = 1; len <= sizeof(frame); len = len * 3 + 1) {
		memset(frame, 0, sizeof(frame));
		fill(frame, len < 40 ? len : 40, 0x45);
		for (size_t k = 40; k < len; k++)
			frame[k] = (uint8_t)"vtund-ng compresses this "[k % 25];
		frame_trip(f, true, frame, len, T0 + 1);
		frame_trip(f, false, frame, len, T0 + 1);
	}
	memset(frame, 'A', sizeof(frame));
	frame_trip(f, true, frame, sizeof(frame), T0 + 1);
	put_frame(&f->d, frame, sizeof(frame));
	assert_int_equal(encap(&f->i.s, &f->d, T0 + 1), SV_SEND);
	assert_true(f->d.len < 200); /* it really went compressed */
	assert_int_equal(to_r(f, &f->d, T0 + 1), SV_DELIVER);
	assert_memory_equal(buf_data(&f->d), frame, sizeof(frame));
	assert_true(f->i.s.stats.comp_out < f->i.s.stats.comp_in);
	assert_true(f->r.s.stats.comp_out < f->r.s.stats.comp_in);

	/* Random frames do not shrink and go raw. */
	raw = f->i.s.stats.comp_raw;
	for (int k = 0; k < 5; k++) {
		crypto_random(frame, sizeof(frame));
		frame_trip(f, true, frame, sizeof(frame), T0 + 2);
	}
	assert_int_equal(f->i.s.stats.comp_raw, raw + 5);
	put_frame(&f->d, frame, sizeof(frame));
	assert_int_equal(encap(&f->i.s, &f->d, T0 + 2), SV_SEND);
	assert_int_equal(f->d.len, WIRE_DATA_HDR_LEN + 1 + sizeof(frame) + WIRE_TAG_LEN);
	assert_int_equal(to_r(f, &f->d, T0 + 2), SV_DELIVER);
	assert_int_equal(drops_total(f->r.s.stats.drops), 0);
	assert_int_equal(drops_total(f->i.s.stats.drops), 0);
}

/* Seal an inner message (type + body) with the initiator's current key, as a peer holding the
 * keys could: the only way to reach the receiver's decompression with hostile input. */
static void
seal_inner(struct fx *f, struct buf *b, uint8_t inner, const uint8_t *body, size_t len)
{
	struct session_keypair *kp = &f->i.s.kp_cur;
	struct wire_data_hdr h = { kp->remote_index, kp->send_counter++ };
	uint8_t *p;

	buf_reset(b);
	p = buf_put(b, WIRE_DATA_HDR_LEN + 1 + len + WIRE_TAG_LEN);
	wire_data_hdr_encode(p, &h);
	p[WIRE_DATA_HDR_LEN] = inner;
	memcpy(p + WIRE_DATA_HDR_LEN + 1, body, len);
	assert_int_equal(crypto_aead_seal(&kp->send, h.counter, p, WIRE_DATA_HDR_LEN,
	    p + WIRE_DATA_HDR_LEN, 1 + len, p + WIRE_DATA_HDR_LEN), 0);
}

static void
test_lz4_malformed(void **state)
{
	struct fx *f = *state;
	uint8_t garbage[64], big[9018], block[COMPRESS_BOUND(9018)], *lz4state;
	size_t n;

	f->i.peer.compress = f->r.peer.compress = VT_COMPRESS_LZ4;
	start(f);
	handshake(f, T0);
	/* Not an LZ4 block at all. */
	fill(garbage, sizeof(garbage), 7);
	garbage[0] = 0xff;
	seal_inner(f, &f->d, WIRE_INNER_FRAME_LZ4, garbage, sizeof(garbage));
	assert_int_equal(to_r(f, &f->d, T0 + 1), SV_DROP);
	assert_int_equal(f->r.s.stats.drops[DROP_MALFORMED], 1);
	/* An empty LZ4 body. */
	seal_inner(f, &f->d, WIRE_INNER_FRAME_LZ4, garbage, 0);
	assert_int_equal(to_r(f, &f->d, T0 + 2), SV_DROP);
	assert_int_equal(f->r.s.stats.drops[DROP_MALFORMED], 2);
	/* A valid block that inflates past the MTU (a small bomb). */
	memset(big, 'A', sizeof(big));
	lz4state = malloc(compress_state_size());
	assert_non_null(lz4state);
	n = compress_encode(lz4state, big, f->r.peer.mtu + 1, block, sizeof(block), 1);
	free(lz4state);
	assert_true(n > 0 && n < 100);
	seal_inner(f, &f->d, WIRE_INNER_FRAME_LZ4, block, n);
	assert_int_equal(to_r(f, &f->d, T0 + 3), SV_DROP);
	assert_int_equal(f->r.s.stats.drops[DROP_MALFORMED], 3);
	/* Nothing reached the device, and the session still works. */
	assert_int_equal(cnt_r.rx_packets, 0);
	seal_frame(&f->i.s, &f->d, 300, 9, T0 + 4);
	assert_int_equal(to_r(f, &f->d, T0 + 4), SV_DELIVER);
	check_delivered(&f->d, 300, 9);
}

static void
test_lz4_frame_without_compression(void **state)
{
	struct fx *f = *state;
	uint8_t body[16] = { 0 };

	start(f);
	handshake(f, T0);
	/* A peer that compresses although the handshake said it would not. */
	seal_inner(f, &f->d, WIRE_INNER_FRAME_LZ4, body, sizeof(body));
	assert_int_equal(to_r(f, &f->d, T0 + 1), SV_DROP);
	assert_int_equal(f->r.s.stats.drops[DROP_MALFORMED], 1);
	/* Unknown inner types and a keepalive with a body are malformed too. */
	seal_inner(f, &f->d, 0x7f, body, sizeof(body));
	assert_int_equal(to_r(f, &f->d, T0 + 2), SV_DROP);
	seal_inner(f, &f->d, WIRE_INNER_KEEPALIVE, body, 1);
	assert_int_equal(to_r(f, &f->d, T0 + 3), SV_DROP);
	assert_int_equal(f->r.s.stats.drops[DROP_MALFORMED], 3);
}

static void
test_chachapoly(void **state)
{
	static const size_t sizes[] = { 1, 100, 1400 };
	struct fx *f = *state;
	uint8_t frame[1400];

	f->i.peer.cipher = f->r.peer.cipher = VT_CHACHA20POLY1305;
	start(f);
	assert_int_equal(initiate(&f->i.s, T0, &f->a), SV_SEND);
	assert_int_equal(buf_data(&f->a)[2], WIRE_SUITE_CHACHAPOLY);
	handshake(f, T0 + 1);
	assert_int_equal(buf_data(&f->b)[2], WIRE_SUITE_CHACHAPOLY);
	assert_int_equal(f->i.s.kp_cur.send.suite, CRYPTO_CHACHAPOLY);
	assert_int_equal(f->r.s.kp_cur.recv.suite, CRYPTO_CHACHAPOLY);
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		fill(frame, sizes[k], (uint8_t)(k + 1));
		frame_trip(f, true, frame, sizes[k], T0 + 2);
		frame_trip(f, false, frame, sizes[k], T0 + 2);
	}
	/* A flipped ciphertext byte fails Poly1305. */
	seal_frame(&f->i.s, &f->d, 100, 1, T0 + 3);
	buf_data(&f->d)[40] ^= 1;
	assert_int_equal(to_r(f, &f->d, T0 + 3), SV_DROP);
	assert_int_equal(f->r.s.stats.drops[DROP_AUTH], 1);
	assert_int_equal(f->r.s.stats.handshakes, 1);
}

int
main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_handshake),
		T(test_data_both_ways),
		T(test_steps),
		T(test_no_send_before_confirmation),
		T(test_tamper),
		T(test_replay),
		T(test_wrong_responder_key),
		T(test_wrong_psk),
		T(test_psk_on_one_side_only),
		T(test_unknown_initiator),
		T(test_bad_mac1),
		T(test_replayed_initiation),
		T(test_mismatch_compress),
		T(test_mismatch_mtu),
		T(test_mismatch_type),
		T(test_mismatch_cipher),
		T(test_mismatch_name),
		T(test_tun_mtus_differ),
		T(test_forged_response),
		T(test_cookie_under_load),
		T(test_load_rule),
		T(test_replays_spare_peer_budget),
		T(test_retransmit),
		T(test_retransmit_backoff),
		T(test_duplicate),
		T(test_rekey_and_previous_key),
		T(test_prev_key_kept_until_heard),
		T(test_prev_key_age_limit),
		T(test_key_expiry),
		T(test_expiry_spares_pending_key),
		T(test_timeout_spares_pending_key),
		T(test_keepalive),
		T(test_keepalive_fresh_responder),
		T(test_timeout),
		T(test_next_deadline),
		T(test_volume_rekey_initiator),
		T(test_volume_rekey_responder),
		T(test_volume_reject_initiator),
		T(test_volume_reject_responder),
		T(test_message_count_limits),
		T(test_close),
		T(test_close_under_previous_keys),
		T(test_frame_size_limits),
		T(test_lz4),
		T(test_lz4_malformed),
		T(test_lz4_frame_without_compression),
		T(test_chachapoly),
	};
#undef T

	log_init(true, LOG_LVL_ERR);
	return cmocka_run_group_tests_name("session", tests, NULL, NULL);
}
