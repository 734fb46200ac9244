/*
 * fuzz_session_decap.c - libFuzzer target for what the session layer does with bytes from the
 * network. A client and a server session with fixed static keys (LZ4 on, so that the decoder is
 * reachable) complete a real handshake on the first call, and again whenever an input closed or
 * expired the session; the client then keeps one initiation pending so that responses and
 * cookie replies have a handshake to aim at. Time is a fake clock, 60 ms per input.
 *
 * The first input byte picks a mode (low 7 bits, modulo 5) and, for initiations, whether the
 * server is told it is under load (high bit); the rest is the mode's argument:
 *   0 raw    a wire message, dispatched like the engine does: data and initiations to the server,
 *            responses and cookie replies to the client. Nothing may be delivered.
 *   1 fixed  the same, with the receiver index patched to the live one and mac1 (and mac2 once
 *            a cookie is known) recomputed, so mutations reach the replay window, the AEAD and the
 *            Noise read instead of stopping at the cheap checks.
 *   2 inner  a decrypted data payload (inner type + body) that the fuzzer seals with the client's
 *            real key; the server decapsulates it. Reaches inner parsing and LZ4 decoding.
 *   3 frame  a frame through session_encap on the client and session_decap on the server; a
 *            frame of 1..max_frame bytes must arrive bit-exact.
 *   4 inner  like 2, sealed by the server and decapsulated by the client.
 * Seeds in corpus/session_decap/ (the initiation there is valid for these keys).
 * Run: ./tests/fuzz/fuzz_session_decap -dict=tests/fuzz/session_decap.dict \
 *          tests/fuzz/corpus/session_decap
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>
#include <sys/socket.h>

#include "src/compress.h" /* fuzzers get -I$(srcdir), not -I src */
#include "src/cookie.h"
#include "src/log.h"
#include "src/session.h"
#include "src/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum mode { M_RAW, M_FIXED, M_INNER, M_FRAME, M_INNER_TO_CLIENT, M_COUNT };

/* Fixed test keys: any 32 bytes are X25519 private keys. */
static const uint8_t client_priv[32] = "vtund-ng fuzz session client...";
static const uint8_t server_priv[32] = "vtund-ng fuzz session server...";
static const uint8_t link_psk[32] = "vtund-ng fuzz session psk......";

#define T_START UINT64_C(1000000)
#define T_STEP 60          /* ms per input: keeps both handshake rate limits quiet */
#define KEY_REFRESH 150000 /* re-handshake before SESSION_REJECT_AFTER */

static struct vt_peer client_peer, server_peer;
static struct session_local client_local, server_local;
static struct session client, server;
static struct session *client_list[1] = { &client }, *server_list[1] = { &server };
static struct cookie_maker to_server, to_client; /* mac fix-ups for mode 1 */
static struct sockaddr_in src_setup, src_fuzz;
static struct buf msg, out, out2;
static uint8_t scratch[BUF_MAX_FRAME];
static uint64_t now = T_START;

static void
peer_of(struct vt_peer *p, const uint8_t pub[32])
{
	memset(p, 0, sizeof(*p));
	memcpy(p->name, "fuzz", 5);
	p->type = VT_TUN;
	p->mtu = 1400;
	p->keepalive = 10;
	p->timeout = 60;
	p->rekey_interval = 120;
	p->cipher = VT_AES256GCM;
	p->compress = VT_COMPRESS_LZ4;
	p->compress_accel = 1;
	memcpy(p->public_key, pub, 32);
	memcpy(p->psk, link_psk, 32);
	p->has_psk = true;
}

static void
setup(void)
{
	static bool done;

	if (done)
		return;
	done = true;
	log_init(true, LOG_LVL_ERR);
	if (session_local_init(&client_local, client_priv) == -1 ||
	    session_local_init(&server_local, server_priv) == -1)
		abort();
	peer_of(&client_peer, server_local.pub);
	peer_of(&server_peer, client_local.pub);
	if (session_init(&client, &client_peer, &client_local, true) == -1 ||
	    session_init(&server, &server_peer, &server_local, false) == -1)
		abort();
	cookie_maker_init(&to_server, server_local.pub);
	cookie_maker_init(&to_client, client_local.pub);
	src_setup.sin_family = src_fuzz.sin_family = AF_INET;
	src_setup.sin_addr.s_addr = htonl(0xc0000201);
	src_fuzz.sin_addr.s_addr = htonl(0xc0000202);
	src_setup.sin_port = src_fuzz.sin_port = htons(5000);
}

/* A verdict of route(): the close of a session (it raised SE_DOWN). */
#define V_DOWN 100

/* The session of list[0] if idx is one of its receiver indices (the peer table's lookup). */
static struct session *
find_index(struct session *const *list, uint32_t idx, struct session_keypair **kp)
{
	return session_slot_of(list[0], idx, kp) != SLOT_NONE ? list[0] : NULL;
}

/* Look a data message up by receiver index and decapsulate it, as the data path does. */
static int
route(struct session *const *list, struct buf *b)
{
	struct session_keypair *kp;
	struct session *s;
	enum session_verdict v;

	if (b->len < 8)
		return SV_DROP;
	s = find_index(list, wire_get32(buf_data(b) + 4), &kp);
	if (s == NULL || kp == NULL)
		return SV_DROP;
	session_take_events(s);
	v = session_decap(s, kp, b, now);
	return session_take_events(s) & SE_DOWN ? V_DOWN : (int)v;
}

static uint32_t next_index = 1;

/* The responder's path: open, the peer by its key, finish. */
static enum session_verdict
respond(const struct sockaddr_in *src, bool under_load, struct session **m)
{
	struct session_init in;
	enum session_verdict v;
	enum vt_drop why;

	*m = NULL;
	v = session_respond_open(&server_local, (const struct sockaddr *)src, sizeof(*src),
	    buf_data(&msg), msg.len, under_load, now, &in, &out, &why);
	if (v != SV_NONE)
		return v;
	if (!crypto_equal(in.remote_static, server.peer->public_key, 32)) {
		session_init_wipe(&in);
		return SV_DROP;
	}
	*m = &server;
	return session_respond_finish(&server, &in, next_index++, now, &out);
}

/* A full handshake with the real client, then one initiation left pending. */
static void
handshake(void)
{
	struct session *m;

	session_reset(&client);
	session_reset(&server);
	memset(server.last_timestamp, 0, sizeof(server.last_timestamp));
	server.hs_window_count = 0;
	if (session_initiate(&client, next_index++, now, &msg) != SV_SEND ||
	    respond(&src_setup, false, &m) != SV_SEND || m != &server ||
	    session_consume_response(&client, buf_data(&out), out.len, now, &msg) != SV_SEND ||
	    route(server_list, &msg) != SV_NONE || !server.kp_cur.confirmed)
		abort();
	if (session_initiate(&client, next_index++, now, &msg) != SV_SEND)
		abort();
}

static void
ensure_up(void)
{
	if (!client.kp_cur.valid || !server.kp_cur.valid || !client.hs_active ||
	    now - client.kp_cur.created >= KEY_REFRESH ||
	    now - server.kp_cur.created >= KEY_REFRESH)
		handshake();
}

/* Patch receiver index and macs so that a mutated message gets past the cheap checks. */
static void
fix_up(struct buf *b)
{
	uint8_t *m = buf_data(b);

	switch (wire_classify(m, b->len)) {
	case WIRE_DATA:
		wire_put32(m + 4, server.kp_cur.local_index);
		break;
	case WIRE_HS_INIT:
		cookie_add_macs(&to_server, m, b->len, now);
		break;
	case WIRE_HS_RESP:
		wire_put32(m + 8, client.hs_index);
		cookie_add_macs(&to_client, m, b->len, now);
		break;
	case WIRE_COOKIE:
		wire_put32(m + 4, client.hs_index);
		break;
	default:
		break;
	}
}

/* Modes 0 and 1: a message from the network. */
static void
from_network(const uint8_t *p, size_t n, bool fixed, bool under_load)
{
	struct session_keypair *kp;
	struct session *s;
	enum session_verdict v;

	/* udp_recv_batch hands a datagram too large for its buffer on empty (MSG_TRUNC). */
	if (n > BUF_CAP - BUF_HEADROOM)
		n = 0;
	buf_reset(&msg);
	memcpy(buf_put(&msg, n), p, n);
	if (fixed)
		fix_up(&msg);
	switch (wire_classify(buf_data(&msg), msg.len)) {
	case WIRE_DATA:
		/* No key is known outside: nothing authenticates. */
		if (route(server_list, &msg) != SV_DROP)
			abort();
		break;
	case WIRE_HS_INIT:
		memset(server.last_timestamp, 0, sizeof(server.last_timestamp));
		v = respond(&src_fuzz, under_load, &s);
		if ((v == SV_SEND || v == SV_REPLY) &&
		    out.len != (s == NULL ? WIRE_COOKIE_LEN : WIRE_RESP_LEN))
			abort();
		/* Keep the cookie, so that later fixed-up initiations carry a valid mac2. */
		if (v == SV_REPLY && s == NULL && fixed &&
		    cookie_consume_reply(&to_server, buf_data(&out), out.len, now) == -1)
			abort();
		break;
	case WIRE_HS_RESP:
		s = find_index(client_list, wire_get32(buf_data(&msg) + 8), &kp);
		if (s == NULL || kp != NULL)
			break;
		s->hs_responses = 0; /* the per-try budget would end the search after 4 */
		/* A response that does not authenticate leaves the pending handshake alone. */
		if (session_consume_response(s, buf_data(&msg), msg.len, now, &out) != SV_DROP ||
		    !client.hs_active)
			abort();
		break;
	case WIRE_COOKIE:
		s = find_index(client_list, wire_get32(buf_data(&msg) + 4), &kp);
		if (s == NULL || kp != NULL)
			break;
		if (session_consume_cookie(s, buf_data(&msg), msg.len, now) != SV_DROP)
			abort();
		break;
	default:
		break;
	}
}

/* Modes 2 and 4: seal an inner payload with the sender's real key, decap on the other side. */
static void
inner(struct session *tx, struct session *const *rx_list, const uint8_t *p, size_t n)
{
	struct session_keypair *kp = &tx->kp_cur;
	struct session *rx = rx_list[0];
	struct wire_data_hdr h;
	int v, want;
	uint8_t *hdr;
	long dn = -1;

	if (n == 0)
		return;
	/* A peer with the keys may send any payload that fits a UDP receive buffer. */
	if (n > BUF_CAP - BUF_HEADROOM - WIRE_DATA_HDR_LEN - WIRE_TAG_LEN)
		n = BUF_CAP - BUF_HEADROOM - WIRE_DATA_HDR_LEN - WIRE_TAG_LEN;
	buf_reset(&msg);
	memcpy(buf_put(&msg, n), p, n);
	h.receiver = kp->remote_index;
	h.counter = kp->send_counter++;
	hdr = buf_push(&msg, WIRE_DATA_HDR_LEN);
	wire_data_hdr_encode(hdr, &h);
	buf_put(&msg, WIRE_TAG_LEN);
	if (crypto_aead_seal(&kp->send, h.counter, hdr, WIRE_DATA_HDR_LEN, hdr + WIRE_DATA_HDR_LEN,
	    n, hdr + WIRE_DATA_HDR_LEN) == -1)
		abort();

	/* What the receiver must make of it. */
	n--;
	switch (p[0]) {
	case WIRE_INNER_FRAME:
		want = n >= 1 && n <= (size_t)rx->peer->mtu ? SV_DELIVER : SV_DROP;
		break;
	case WIRE_INNER_FRAME_LZ4:
		/* Reference: the decoder on its own, bounded by the MTU (tun). */
		if (n > 0)
			dn = compress_decode(p + 1, n, scratch, (size_t)rx->peer->mtu);
		want = dn > 0 ? SV_DELIVER : SV_DROP;
		break;
	case WIRE_INNER_KEEPALIVE:
	case WIRE_INNER_REKEY:
		want = n == 0 ? SV_NONE : SV_DROP;
		break;
	case WIRE_INNER_CLOSE:
		want = n == 0 ? V_DOWN : SV_DROP;
		break;
	default:
		want = SV_DROP;
		break;
	}
	v = route(rx_list, &msg);
	if (v != want)
		abort();
	if (v == SV_DELIVER) {
		if (p[0] == WIRE_INNER_FRAME && (msg.len != n || memcmp(buf_data(&msg), p + 1, n)))
			abort();
		if (p[0] == WIRE_INNER_FRAME_LZ4 &&
		    (msg.len != (size_t)dn || memcmp(buf_data(&msg), scratch, msg.len) != 0))
			abort();
	}
}

/* Mode 3: a frame from the client's device to the server's. */
static void
frame(const uint8_t *p, size_t n)
{
	if (n > BUF_MAX_FRAME)
		n = BUF_MAX_FRAME;
	buf_reset(&out2);
	memcpy(buf_put(&out2, n), p, n);
	if (session_encap(&client, &out2, now) != SV_SEND)
		abort();
	if (n >= 1 && n <= (size_t)server_peer.mtu) {
		if (route(server_list, &out2) != SV_DELIVER || out2.len != n ||
		    memcmp(buf_data(&out2), p, n) != 0)
			abort();
	} else if (route(server_list, &out2) != SV_DROP) {
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	setup();
	now += T_STEP;
	ensure_up();
	if (size == 0)
		return 0;
	switch ((data[0] & 0x7f) % M_COUNT) {
	case M_RAW:
		from_network(data + 1, size - 1, false, data[0] & 0x80);
		break;
	case M_FIXED:
		from_network(data + 1, size - 1, true, data[0] & 0x80);
		break;
	case M_INNER:
		inner(&client, server_list, data + 1, size - 1);
		break;
	case M_FRAME:
		frame(data + 1, size - 1);
		break;
	case M_INNER_TO_CLIENT:
		inner(&server, client_list, data + 1, size - 1);
		break;
	}
	return 0;
}
