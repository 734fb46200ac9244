/*
 * test_datapath.c - the data path of a server and a client in one process, over real UDP and
 * TCP sockets on 127.0.0.1 and fake TUN devices (SOCK_SEQPACKET pairs). pump() plays the
 * engine: it polls every descriptor the data paths hold, calls the dp function the engine's
 * callback would, runs due peer timers, dials and queued handshakes, and after every call
 * drains the changed-lists as engine.c's sync_all does (releasing dead connections). Time is
 * a fake monotonic clock that only the tests move.
 *
 * Where an attacker or a misbehaving peer is needed, a raw client stands in: a TCP socket of
 * the test and a session driven by hand (as test_session.c does), whose bytes the server's data
 * path reads like any other.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "backoff.h"
#include "crypto.h"
#include "datapath.h"
#include "failover.h"
#include "log.h"
#include "ut.h"
#include "wire.h"

#define FRAME 100   /* bytes of a test frame */
#define MAXPOLL 64

/* A peer of a data path, with the test's end of its fake device. */
struct link {
	struct peer *p;
	int tun;
};

/* A client the test drives by hand over its own TCP socket. */
struct rawc {
	uint8_t priv[32], pub[32];
	struct vt_peer cfg;
	struct session_local local;
	struct session s;
	int fd;
	bool started;
};

struct fx {
	struct dp *s, *c;             /* server, client (NULL when raw clients stand in) */
	uint8_t spriv[32], spub[32], cpriv[32], cpub[32], psk[32];
	int lfd;                      /* the server's TCP listener, or -1 */
	struct sockaddr_in saddr;     /* the server's UDP socket or TCP listener */
	struct link ls, lc;           /* the link "link" on the server and on the client */
	struct link lb;               /* a second server peer "other" */
	struct rawc ra, rb;           /* raw clients for "link" and "other" */
	int threads;                  /* of both data paths (0: 1) */
	uint64_t now;
	uint64_t again[8];            /* connections whose read budget ran out (by id) */
	int nagain;
	struct buf m, out;
	struct buf keep[2];           /* messages a test holds back or replays */
	bool udp_blocked;             /* datagrams go nowhere */
};

static int lookups;               /* how many remotes sync_dp looked up */
static const uint64_t *test_now;  /* the fake clock of the test that runs */

static int
setup_n(void **state, int threads)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	f->threads = threads;
	crypto_x25519_keygen(f->spriv, f->spub);
	crypto_x25519_keygen(f->cpriv, f->cpub);
	crypto_random(f->psk, sizeof(f->psk));
	f->s = dp_new(true, f->spriv, f->threads > 0 ? f->threads : 1);
	if (f->s == NULL) {
		free(f);
		return -1;
	}
	/* Test frames are small: share every batch of more than one among the threads. */
	f->s->share_min = 0;
	f->lfd = -1;
	f->ls.tun = f->lc.tun = f->lb.tun = -1;
	f->ra.fd = f->rb.fd = -1;
	f->now = UT_T0;
	test_now = &f->now;
	*state = f;
	return 0;
}

static int
setup(void **state)
{
	return setup_n(state, 1);
}

/* The same with four threads sealing and opening UDP batches. */
static int
setup4(void **state)
{
	return setup_n(state, 4);
}

static void
rawc_free(struct rawc *r)
{
	if (r->fd != -1)
		close(r->fd);
	if (r->started) {
		session_free(&r->s);
		session_local_free(&r->local);
	}
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	int tuns[3] = { f->ls.tun, f->lc.tun, f->lb.tun };

	dp_free(f->s);
	if (f->c != NULL)
		dp_free(f->c);
	if (f->lfd != -1)
		close(f->lfd);
	for (int i = 0; i < 3; i++)
		if (tuns[i] != -1)
			close(tuns[i]);
	rawc_free(&f->ra);
	rawc_free(&f->rb);
	free(f);
	return 0;
}

/* ---- the engine in miniature -------------------------------------------------------------- */


/* What the root parent does when the engine asks: a client's remote (numeric here) now. */
static void
look_up(struct dp *dp, struct peer *p)
{
	struct sockaddr_in a;
	uint32_t seq;
	int at = dp_peer_want_resolve(dp, p, &seq);

	if (at < 0)
		return;
	lookups++;
	a = ut_addr(p->cfg.remotes[at].host, p->cfg.remotes[at].port);
	/* an answer to another lookup is ignored, and the one asked for still waits */
	dp_peer_resolved(dp, p, at, seq + 1, UT_SA(a), sizeof(a), "", *test_now);
	assert_true(p->cl->resolving);
	dp_peer_resolved(dp, p, at, seq, UT_SA(a), sizeof(a), "", *test_now);
}

/* What engine.c's sync_all does with the changed-lists: dead connections are released, and a
 * client's lookups are answered. */
static void
sync_dp(struct dp *dp)
{
	struct tcp_lconn *c;
	struct peer *p;
	bool any = true;

	if (dp == NULL)
		return;
	dp_udp_retire(dp);
	while (any) {
		any = false;
		while ((c = tcp_link_take_changed(&dp->tcp)) != NULL) {
			if (c->dead)
				tcp_link_release(&dp->tcp, c);
			any = true;
		}
		while ((p = peer_take_changed(&dp->peers)) != NULL) {
			if (p->cl != NULL)
				look_up(dp, p);
			any = true;
		}
	}
}

/* Timers, dials, queued handshakes and connections with messages left: true if any ran. */
static bool
run_due(struct fx *f, struct dp *dp)
{
	uint64_t ids[8];
	int n = 0;
	bool did = false;

	if (dp == NULL)
		return false;
	for (struct peer *p = peer_first(&dp->peers); p != NULL; p = peer_next(p)) {
		if (p->dial_at <= f->now) {
			dp_peer_dial(dp, p, f->now);
			sync_dp(dp);
			did = true;
		}
		if (dp_peer_deadline(dp, p, f->now) <= f->now) {
			dp_peer_timer(dp, p, f->now);
			sync_dp(dp);
			did = true;
		}
	}
	while (hsq_len(dp->hsq) > 0) {
		dp_handshakes(dp, f->now);
		sync_dp(dp);
		did = true;
	}
	if (dp == f->s) {
		memcpy(ids, f->again, sizeof(ids));
		n = f->nagain;
		f->nagain = 0;
	}
	for (int i = 0; i < n; i++) {
		struct tcp_lconn *c = tcp_link_by_id(&dp->tcp, ids[i]);

		if (c != NULL && dp_tcp_readable(dp, c, f->now) && f->nagain < 8)
			f->again[f->nagain++] = c->id;
		sync_dp(dp);
		did = true;
	}
	return did;
}

enum what { W_UDP, W_LISTEN, W_TUN, W_CONN_R, W_CONN_W };

struct watch {
	enum what what;
	struct dp *dp;
	struct peer *p;
	uint64_t conn;
};

/* The descriptors of one data path the engine would have events on. */
static int
watch_dp(struct fx *f, struct dp *dp, struct pollfd *pfd, struct watch *w, int n)
{
	if (dp == NULL)
		return n;
	if (dp->udp.fd != -1 && f->udp_blocked) {
		char junk[2048];

		while (recv(dp->udp.fd, junk, sizeof(junk), MSG_DONTWAIT) >= 0)
			; /* blocked: what arrives is lost */
	} else if (dp->udp.fd != -1) {
		pfd[n] = (struct pollfd){ .fd = dp->udp.fd, .events = POLLIN };
		w[n++] = (struct watch){ W_UDP, dp, NULL, 0 };
	}
	if (dp == f->s && f->lfd != -1) {
		pfd[n] = (struct pollfd){ .fd = f->lfd, .events = POLLIN };
		w[n++] = (struct watch){ W_LISTEN, dp, NULL, 0 };
	}
	for (struct peer *p = peer_first(&dp->peers); p != NULL; p = peer_next(p))
		if (p->tun_fd != -1 && !p->tun_paused && !p->rate_paused) {
			pfd[n] = (struct pollfd){ .fd = p->tun_fd, .events = POLLIN };
			w[n++] = (struct watch){ W_TUN, dp, p, 0 };
		}
	for (struct tcp_lconn *c = dp->tcp.conns; c != NULL; c = c->next) {
		if (c->dead)
			continue;
		if (!c->tc.connecting) {
			pfd[n] = (struct pollfd){ .fd = c->tc.fd, .events = POLLIN };
			w[n++] = (struct watch){ W_CONN_R, dp, NULL, c->id };
		}
		if (c->want_write) {
			pfd[n] = (struct pollfd){ .fd = c->tc.fd, .events = POLLOUT };
			w[n++] = (struct watch){ W_CONN_W, dp, NULL, c->id };
		}
	}
	assert_true(n < MAXPOLL - 8);
	return n;
}

/* One ready descriptor: the call the engine's callback makes, then its sync. */
static void
act(struct fx *f, const struct watch *w)
{
	struct tcp_lconn *c = w->conn != 0 ? tcp_link_by_id(&w->dp->tcp, w->conn) : NULL;

	switch (w->what) {
	case W_UDP:
		dp_udp_readable(w->dp, f->now);
		break;
	case W_LISTEN:
		assert_int_equal(dp_tcp_accept(w->dp, f->lfd, f->now), 0);
		break;
	case W_TUN:
		dp_tun_readable(w->dp, w->p, f->now);
		break;
	case W_CONN_R:
		if (c != NULL && dp_tcp_readable(w->dp, c, f->now) && f->nagain < 8)
			f->again[f->nagain++] = c->id;
		break;
	case W_CONN_W:
		if (c != NULL)
			dp_tcp_writable(w->dp, c, f->now);
		break;
	}
	sync_dp(w->dp);
}

/* Run both data paths until nothing is left to do: every descriptor quiet for 20 ms. */
static void
pump(struct fx *f)
{
	struct pollfd pfd[MAXPOLL];
	struct watch w[MAXPOLL];

	for (int round = 0;; round++) {
		bool did;
		int n = 0, ready;

		assert_true(round < 5000);
		did = run_due(f, f->s);
		did |= run_due(f, f->c);
		n = watch_dp(f, f->s, pfd, w, n);
		n = watch_dp(f, f->c, pfd, w, n);
		ready = poll(pfd, (nfds_t)n, did || f->nagain > 0 ? 0 : 20);
		assert_true(ready >= 0);
		if (ready == 0 && !did && f->nagain == 0)
			return;
		for (int i = 0; i < n; i++)
			if (pfd[i].revents != 0)
				act(f, &w[i]);
	}
}

/* ---- frames on the fake devices ------------------------------------------------------------ */

static void
frame_fill(uint8_t *b, uint32_t seq, size_t len)
{
	for (size_t i = 0; i < len; i++)
		b[i] = (uint8_t)(seq * 31 + i);
	wire_put32(b, seq);
}

/* The device hands the data path frame number seq. */
static void
tun_put(int tun, uint32_t seq, size_t len)
{
	uint8_t b[2048];

	frame_fill(b, seq, len);
	assert_int_equal(write(tun, b, len), (ssize_t)len);
}

/* The next frame the data path wrote to the device: its number, or -1 if none waits. */
static long
tun_get(int tun, size_t len)
{
	uint8_t b[2048], want[2048];
	ssize_t n = read(tun, b, sizeof(b));
	uint32_t seq;

	if (n == -1 && errno == EAGAIN)
		return -1;
	assert_int_equal(n, (ssize_t)len);
	seq = wire_get32(b);
	frame_fill(want, seq, len);
	assert_memory_equal(b, want, len);
	return seq;
}

/* Frames first .. first + n - 1 arrived in order, then frame last. */
static void
expect_frames_with(int tun, uint32_t first, int n, uint32_t last)
{
	for (int i = 0; i < n; i++)
		assert_int_equal(tun_get(tun, FRAME), first + (uint32_t)i);
	assert_int_equal(tun_get(tun, FRAME), last);
}

/* Frames first .. first + n - 1 arrived in order, and nothing else. */
static void
expect_frames(int tun, uint32_t first, int n)
{
	for (int i = 0; i < n; i++)
		assert_int_equal(tun_get(tun, FRAME), first + (uint32_t)i);
	assert_int_equal(tun_get(tun, FRAME), -1);
}

static uint64_t
drops_sum(const uint64_t *d)
{
	uint64_t t = 0;

	for (int i = 0; i < DROP_MAX; i++)
		t += d[i];
	return t;
}

/* ---- set-ups ------------------------------------------------------------------------------ */

static void
add_peer(struct fx *f, struct dp *dp, struct link *l, uint32_t id, const char *name,
    const uint8_t pub[32], enum vt_proto proto, const struct sockaddr_in *remote)
{
	struct vt_peer cfg;
	int fds[2];

	ut_fake_tun(fds);
	ut_peer_cfg(&cfg, name, pub, proto, f->psk);
	l->p = dp_peer_add(dp, id, &cfg, (const struct sockaddr *)remote,
	    remote != NULL ? sizeof(*remote) : 0, 0, fds[0], f->now);
	assert_non_null(l->p);
	l->tun = fds[1];
	sync_dp(dp);
}

/* The server's UDP socket on 127.0.0.1 (bound as the parent would), into *addr. */
static void
udp_server(struct fx *f, struct sockaddr_in *addr)
{
	struct sockaddr_in any = ut_addr("127.0.0.1", 0);
	char err[256];
	socklen_t len = sizeof(*addr);
	int fd = udp_bind(UT_SA(any), sizeof(any), err, sizeof(err));

	assert_true(fd >= 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)addr, &len), 0);
	dp_udp_server(f->s, fd);
}

/* A server on a UDP socket of 127.0.0.1 and a client with its connected socket. */
static void
udp_link(struct fx *f)
{
	char err[256];

	udp_server(f, &f->saddr);
	f->c = dp_new(false, f->cpriv, f->threads > 0 ? f->threads : 1);
	assert_non_null(f->c);
	f->c->share_min = 0;
	assert_int_equal(dp_udp_client(f->c, -1, UT_SA(f->saddr), sizeof(f->saddr), err,
	    sizeof(err)), 0);
	add_peer(f, f->s, &f->ls, 1, "link", f->cpub, VT_UDP, NULL);
	add_peer(f, f->c, &f->lc, 1, "link", f->spub, VT_UDP, &f->saddr);
}

/* A server listening on TCP; with_client: a client data path that dials it. */
static void
tcp_link(struct fx *f, bool with_client)
{
	f->lfd = ut_tcp_listener(&f->saddr);
	add_peer(f, f->s, &f->ls, 1, "link", f->cpub, VT_TCP, NULL);
	if (!with_client)
		return;
	f->c = dp_new(false, f->cpriv, f->threads > 0 ? f->threads : 1);
	assert_non_null(f->c);
	f->c->share_min = 0;
	add_peer(f, f->c, &f->lc, 1, "link", f->spub, VT_TCP, &f->saddr);
}

static bool
established(const struct fx *f, const struct link *l)
{
	(void)f;
	return session_state(&l->p->s) == SESSION_ESTABLISHED && session_is_up(&l->p->s);
}

/* ---- the raw client ----------------------------------------------------------------------- */

/* A client of the server called name, with private key priv (NULL: a new one); not yet
 * connected. */
static void
rawc_init(struct fx *f, struct rawc *r, const char *name, const uint8_t *priv)
{
	if (priv == NULL) {
		crypto_x25519_keygen(r->priv, r->pub);
	} else {
		memcpy(r->priv, priv, 32);
		assert_int_equal(crypto_x25519_public(r->priv, r->pub), 0);
	}
	assert_int_equal(session_local_init(&r->local, r->priv), 0);
	ut_peer_cfg(&r->cfg, name, f->spub, VT_TCP, f->psk);
	assert_int_equal(session_init(&r->s, &r->cfg, &r->local, true), 0);
	r->started = true;
}

/* Write one message with its length prefix on fd. */
static void
raw_send_on(int fd, const struct buf *m)
{
	uint8_t b[2 + WIRE_MSG_MAX];

	wire_put16(b, (uint16_t)m->len);
	memcpy(b + 2, m->mem + m->off, m->len);
	assert_int_equal(send(fd, b, m->len + 2, MSG_NOSIGNAL), (ssize_t)(m->len + 2));
}

/* Read exactly n bytes from fd within a second; false on EOF or timeout. */
static bool
read_full(int fd, uint8_t *p, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t k;

		if (!ut_readable(fd, 1000))
			return false;
		k = read(fd, p + got, n - got);
		if (k <= 0)
			return false;
		got += (size_t)k;
	}
	return true;
}

/* The next message the server sent on fd, or false if none comes (or the stream ended). */
static bool
raw_recv_on(int fd, struct buf *m)
{
	uint8_t len[2];

	if (!ut_readable(fd, 50) || !read_full(fd, len, 2))
		return false;
	buf_reset(m);
	return read_full(fd, buf_put(m, wire_get16(len)), wire_get16(len));
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

/* A whole handshake of r on its connection; init and confirm get copies of the initiation
 * and of the confirming keepalive when not NULL. */
static void
raw_handshake(struct fx *f, struct rawc *r, struct buf *init, struct buf *confirm)
{
	assert_int_equal(session_initiate(&r->s, fresh_index(), f->now, &f->m), SV_SEND);
	if (init != NULL)
		*init = f->m;
	raw_send_on(r->fd, &f->m);
	pump(f);
	assert_true(raw_recv_on(r->fd, &f->m));
	assert_int_equal(wire_classify(buf_data(&f->m), f->m.len), WIRE_HS_RESP);
	assert_int_equal(session_consume_response(&r->s, buf_data(&f->m), f->m.len, f->now,
	    &f->out), SV_SEND);
	session_take_events(&r->s);
	if (confirm != NULL)
		*confirm = f->out;
	raw_send_on(r->fd, &f->out);
	pump(f);
}

/* r sends frame seq; the server's data path reads it. */
static void
raw_frame_out(struct fx *f, struct rawc *r, uint32_t seq)
{
	buf_reset(&f->m);
	frame_fill(buf_put(&f->m, FRAME), seq, FRAME);
	assert_int_equal(session_encap(&r->s, &f->m, f->now), SV_SEND);
	raw_send_on(r->fd, &f->m);
	pump(f);
}

/* The server's peer l sends frame seq from its device; r receives and opens it. */
static void
raw_frame_in(struct fx *f, struct rawc *r, struct link *l, uint32_t seq)
{
	struct session_keypair *kp;
	uint8_t want[FRAME];

	tun_put(l->tun, seq, FRAME);
	pump(f);
	assert_true(raw_recv_on(r->fd, &f->m));
	assert_int_not_equal(session_slot_of(&r->s, wire_get32(buf_data(&f->m) + 4), &kp),
	    SLOT_NONE);
	assert_int_equal(session_decap(&r->s, kp, &f->m, f->now), SV_DELIVER);
	frame_fill(want, seq, FRAME);
	assert_int_equal(f->m.len, FRAME);
	assert_memory_equal(buf_data(&f->m), want, FRAME);
}

/* Connect r from src_ip and let the server accept it; returns the server's connection. */
static struct tcp_lconn *
raw_connect(struct fx *f, struct rawc *r, const char *src_ip)
{
	struct tcp_lconn *newest;

	r->fd = ut_tcp_connect_from(src_ip, &f->saddr);
	pump(f);
	newest = f->s->tcp.conns; /* the list starts with the newest */
	assert_non_null(newest);
	assert_false(newest->dead);
	return newest;
}

/* ---- UDP ---------------------------------------------------------------------------------- */

/* A datagram of len bytes from socket x to the server. */
static void
udp_to_server(struct fx *f, int x, const void *p, size_t len)
{
	assert_int_equal(sendto(x, p, len, 0, UT_SA(f->saddr), sizeof(f->saddr)), (ssize_t)len);
}

/* The client's first frame waits for the keys and arrives right after the handshake; both
 * ends count it once. */
static void
test_udp_first_frame_staged(void **state)
{
	struct fx *f = *state;
	struct sockaddr_in caddr;
	socklen_t len = sizeof(caddr);

	udp_link(f);
	tun_put(f->lc.tun, 0, FRAME);
	/* The device is read before any key exists: the frame is kept, not dropped. */
	dp_tun_readable(f->c, f->lc.p, f->now);
	sync_dp(f->c);
	assert_int_equal(f->lc.p->nstage, 1);
	assert_int_equal(f->lc.p->traffic.drops[DROP_NO_KEY], 0);
	assert_int_equal(f->lc.p->traffic.tx_packets, 0);
	assert_int_equal(tun_get(f->ls.tun, FRAME), -1);

	pump(f);
	assert_true(established(f, &f->lc));
	assert_true(established(f, &f->ls));
	expect_frames(f->ls.tun, 0, 1);
	assert_int_equal(f->lc.p->nstage, 0);
	assert_int_equal(f->lc.p->traffic.tx_packets, 1);
	assert_int_equal(f->lc.p->traffic.tx_bytes, FRAME);
	assert_int_equal(f->ls.p->traffic.rx_packets, 1);
	assert_int_equal(f->ls.p->traffic.rx_bytes, FRAME);
	/* The server learnt the client's endpoint from its first authenticated packet. */
	assert_int_equal(getsockname(f->c->udp.fd, (struct sockaddr *)&caddr, &len), 0);
	assert_int_equal(f->ls.p->udp.ep_len, sizeof(caddr));
	assert_true(addr_equal((struct sockaddr *)&f->ls.p->udp.ep, UT_SA(caddr)));
	assert_int_equal(drops_sum(f->lc.p->traffic.drops) + drops_sum(f->ls.p->traffic.drops) +
	    drops_sum(f->s->drops) + drops_sum(f->c->drops), 0);
	assert_int_equal(drops_sum(f->lc.p->s.stats.drops) +
	    drops_sum(f->ls.p->s.stats.drops), 0);
}

/* Frames both ways; each is counted once, keepalives and handshakes not at all. */
static void
test_udp_frames_both_ways(void **state)
{
	struct fx *f = *state;
	const int n = 150; /* more than one batch */

	udp_link(f);
	pump(f);
	assert_true(established(f, &f->lc));
	for (int i = 0; i < n; i++)
		tun_put(f->lc.tun, (uint32_t)i, FRAME);
	for (int i = 0; i < n; i++)
		tun_put(f->ls.tun, (uint32_t)(1000 + i), FRAME);
	pump(f);
	expect_frames(f->ls.tun, 0, n);
	expect_frames(f->lc.tun, 1000, n);
	assert_int_equal(f->lc.p->traffic.tx_packets, n);
	assert_int_equal(f->lc.p->traffic.tx_bytes, n * FRAME);
	assert_int_equal(f->ls.p->traffic.rx_packets, n);
	assert_int_equal(f->ls.p->traffic.rx_bytes, n * FRAME);
	assert_int_equal(f->ls.p->traffic.tx_packets, n);
	assert_int_equal(f->lc.p->traffic.rx_packets, n);
	assert_int_equal(f->lc.p->traffic.rx_bytes, n * FRAME);
	assert_int_equal(drops_sum(f->lc.p->traffic.drops) + drops_sum(f->ls.p->traffic.drops) +
	    drops_sum(f->s->drops) + drops_sum(f->c->drops), 0);
	assert_int_equal(f->lc.p->s.stats.handshakes, 1);
	assert_int_equal(f->ls.p->s.stats.handshakes, 1);
}

/* Set the rates of a running peer as a reload does (rate bit/s; burst bytes). */
static void
set_rates(struct fx *f, struct dp *dp, struct link *l, uint64_t in, uint64_t out,
    uint64_t burst)
{
	struct vt_peer cfg = l->p->cfg;

	cfg.rate_in = in;
	cfg.rate_out = out;
	cfg.rate_burst = burst;
	dp_peer_update(dp, l->p, &cfg, f->now);
	sync_dp(dp);
}

/* rate-out: at 8 Mbit/s (1000 bytes a millisecond) with a 2048-byte bucket, frames of 100
 * bytes leave 21 at a time when the clock stands still (the last one in debt), the device is
 * not read meanwhile, its timer is due when the debt is paid, and they leave in order; without
 * the limit, the rest at once. */
static void
test_udp_rate_out(void **state)
{
	struct fx *f = *state;

	udp_link(f);
	pump(f);
	assert_true(established(f, &f->lc));
	set_rates(f, f->c, &f->lc, 0, 8000000, 2048);
	for (int i = 0; i < 100; i++)
		tun_put(f->lc.tun, (uint32_t)i, FRAME);
	pump(f);
	expect_frames(f->ls.tun, 0, 21);
	assert_true(f->lc.p->rate_paused);
	assert_int_equal(dp_peer_deadline(f->c, f->lc.p, f->now), f->now + 1);
	f->now += 1; /* 1000 bytes: 52 paid, 10 frames more */
	pump(f);
	expect_frames(f->ls.tun, 21, 10);
	f->now += 60000; /* a full bucket, no more */
	pump(f);
	expect_frames(f->ls.tun, 31, 21);
	set_rates(f, f->c, &f->lc, 0, 0, 0);
	assert_false(f->lc.p->rate_paused);
	pump(f);
	expect_frames(f->ls.tun, 52, 48);
	assert_int_equal(f->lc.p->traffic.tx_packets, 100);
	assert_int_equal(drops_sum(f->lc.p->traffic.drops) + drops_sum(f->ls.p->traffic.drops),
	    0);
}

/* rate-in: the same bucket on the server; the frames over it wait in the queue, in order,
 * and leave as the clock moves; a queue that is full drops and counts "rate"; removing the
 * limit writes what waits at once. */
static void
test_udp_rate_in(void **state)
{
	struct fx *f = *state;
	size_t room;

	udp_link(f);
	pump(f);
	assert_true(established(f, &f->lc));
	set_rates(f, f->s, &f->ls, 8000000, 0, 2048);
	room = f->ls.p->inq.cap / (FRAME + 4); /* frames the queue holds */
	for (int i = 0; i < 100; i++)
		tun_put(f->lc.tun, (uint32_t)i, FRAME);
	pump(f);
	expect_frames(f->ls.tun, 0, 21);
	assert_int_equal(f->ls.p->inq.n, 79);
	assert_int_equal(dp_peer_deadline(f->s, f->ls.p, f->now), f->now + 1);
	f->now += 1;
	pump(f);
	expect_frames(f->ls.tun, 21, 10);
	/* fill the queue beyond its room: the excess is counted */
	for (int i = 0; i < (int)room; i++)
		tun_put(f->lc.tun, (uint32_t)(100 + i), FRAME);
	pump(f);
	assert_int_equal(f->ls.p->inq.n, room);
	assert_int_equal(f->ls.p->traffic.drops[DROP_RATE], 69);
	assert_int_equal(f->ls.p->traffic.rx_packets, 31);
	set_rates(f, f->s, &f->ls, 0, 0, 0);
	assert_true(fq_empty(&f->ls.p->inq));
	assert_null(f->ls.p->inq.mem);
	expect_frames_with(f->ls.tun, 31, 69, 100);
	assert_int_equal(f->ls.p->traffic.rx_packets, 31 + room);
}

/* Each drop lands in one counter: no_key on the peer beyond the staging room, no_session and
 * malformed on the data path, auth in the session, device on the peer when the device does
 * not take a frame. */
static void
test_udp_drops(void **state)
{
	struct fx *f = *state;
	struct sockaddr_in xaddr;
	uint8_t junk[200];
	int x, small = 1, sent = 200, got = 0;

	udp_link(f);
	x = ut_udp_socket("127.0.0.2", &xaddr);
	/* One more frame than the client keeps while it has no keys. */
	for (int i = 0; i < PEER_STAGE + 1; i++)
		tun_put(f->lc.tun, (uint32_t)i, FRAME);
	pump(f);
	assert_int_equal(f->lc.p->traffic.drops[DROP_NO_KEY], 1);
	expect_frames(f->ls.tun, 0, PEER_STAGE);

	/* Data under an index nobody has. */
	memset(junk, 0x5a, sizeof(junk));
	wire_put_header(junk, WIRE_DATA, 0);
	wire_put32(junk + 4, f->ls.p->s.kp_cur.local_index ^ 0x01010101);
	udp_to_server(f, x, junk, 60);
	/* A response to a server, which never initiates. */
	wire_put_header(junk, WIRE_HS_RESP, WIRE_SUITE_AESGCM);
	udp_to_server(f, x, junk, WIRE_RESP_LEN);
	pump(f);
	assert_int_equal(f->s->drops[DROP_NO_SESSION], 2);
	/* Too short, another protocol version, an unknown type. */
	udp_to_server(f, x, junk, 3);
	junk[0] = WIRE_DATA;
	junk[1] = WIRE_VERSION + 1;
	udp_to_server(f, x, junk, 60);
	junk[0] = 9;
	junk[1] = WIRE_VERSION;
	udp_to_server(f, x, junk, 60);
	/* An initiation whose mac1 is wrong. */
	wire_put_header(junk, WIRE_HS_INIT, WIRE_SUITE_AESGCM);
	udp_to_server(f, x, junk, WIRE_INIT_LEN);
	pump(f);
	assert_int_equal(f->s->drops[DROP_MALFORMED], 3);
	assert_int_equal(f->s->drops[DROP_AUTH], 1);
	assert_int_equal(hsq_len(f->s->hsq), 0);
	assert_int_equal(drops_sum(f->ls.p->traffic.drops) + drops_sum(f->ls.p->s.stats.drops),
	    0);

	/* The server's device takes only a few frames at a time and nobody reads it. */
	setsockopt(f->ls.p->tun_fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	for (int i = 0; i < sent; i++)
		tun_put(f->lc.tun, (uint32_t)(100 + i), FRAME);
	pump(f);
	assert_true(f->ls.p->traffic.drops[DROP_DEVICE] > 0);
	assert_int_equal(f->ls.p->traffic.rx_packets + f->ls.p->traffic.drops[DROP_DEVICE],
	    PEER_STAGE + sent);
	while (tun_get(f->ls.tun, FRAME) != -1)
		got++;
	assert_int_equal(PEER_STAGE + got, f->ls.p->traffic.rx_packets);
	assert_int_equal(f->lc.p->traffic.tx_packets, PEER_STAGE + sent);
	assert_int_equal(drops_sum(f->ls.p->s.stats.drops), 0);
	close(x);
}

/* A packet with the right receiver index but a forged tag, from another source, does not
 * move the server's endpoint; a genuine packet relayed from elsewhere does (roaming), and its
 * replay from a third place does not. */
static void
test_udp_forged_packet_keeps_endpoint(void **state)
{
	struct fx *f = *state;
	struct sockaddr_in caddr, xaddr, yaddr, from;
	socklen_t len = sizeof(caddr);
	uint8_t pkt[200], got[2048];
	ssize_t n;
	int x, y;

	udp_link(f);
	pump(f);
	assert_true(established(f, &f->ls));
	assert_int_equal(getsockname(f->c->udp.fd, (struct sockaddr *)&caddr, &len), 0);
	x = ut_udp_socket("127.0.0.2", &xaddr);
	y = ut_udp_socket("127.0.0.3", &yaddr);

	crypto_random(pkt, sizeof(pkt));
	wire_put_header(pkt, WIRE_DATA, 0);
	wire_put32(pkt + 4, f->ls.p->s.kp_cur.local_index);
	wire_put64(pkt + 8, 7);
	udp_to_server(f, x, pkt, 16 + 1 + FRAME + 16);
	pump(f);
	assert_int_equal(f->ls.p->s.stats.drops[DROP_AUTH], 1);
	assert_true(addr_equal((struct sockaddr *)&f->ls.p->udp.ep, UT_SA(caddr)));
	assert_int_equal(tun_get(f->ls.tun, FRAME), -1);
	assert_int_equal(f->ls.p->traffic.rx_packets, 0);
	/* The server still answers the client where it was. */
	tun_put(f->ls.tun, 1, FRAME);
	pump(f);
	expect_frames(f->lc.tun, 1, 1);
	assert_false(ut_readable(x, 0));

	/* A genuine packet, taken off the wire and sent again from 127.0.0.3. */
	tun_put(f->lc.tun, 2, FRAME);
	dp_tun_readable(f->c, f->lc.p, f->now);
	sync_dp(f->c);
	len = sizeof(from);
	assert_true(ut_readable(f->s->udp.fd, 1000));
	n = recvfrom(f->s->udp.fd, got, sizeof(got), 0, (struct sockaddr *)&from, &len);
	assert_true(n > 0);
	assert_int_equal(wire_classify(got, (size_t)n), WIRE_DATA);
	udp_to_server(f, y, got, (size_t)n);
	pump(f);
	expect_frames(f->ls.tun, 2, 1);
	assert_true(addr_equal((struct sockaddr *)&f->ls.p->udp.ep, UT_SA(yaddr)));
	/* Its replay from 127.0.0.2 is refused and moves nothing. */
	udp_to_server(f, x, got, (size_t)n);
	pump(f);
	assert_int_equal(f->ls.p->s.stats.drops[DROP_REPLAY], 1);
	assert_true(addr_equal((struct sockaddr *)&f->ls.p->udp.ep, UT_SA(yaddr)));
	/* The client's next packet brings the endpoint home. */
	tun_put(f->lc.tun, 3, FRAME);
	pump(f);
	expect_frames(f->ls.tun, 3, 1);
	assert_true(addr_equal((struct sockaddr *)&f->ls.p->udp.ep, UT_SA(caddr)));
	close(x);
	close(y);
}

/* Take every datagram waiting on fd (up to max) into pkts/lens; returns how many. The
 * socket's UDP GRO is turned off first: one datagram per read. */
static int
udp_take(int fd, uint8_t (*pkts)[256], size_t *lens, int max)
{
	int n = 0;

	udp_gro_set(fd, false);
	while (n < max && ut_readable(fd, n == 0 ? 1000 : 50)) {
		ssize_t r = recv(fd, pkts[n], sizeof(pkts[n]), 0);

		assert_true(r > 0);
		lens[n++] = (size_t)r;
	}
	return n;
}

/* One batch (one recvmmsg) holding genuine data, a replay and a forgery in the middle: the
 * opens are shared among the threads, yet everything is decided in order, exactly as one by
 * one: the frames arrive in order, the replay and the forgery are counted once each, and the
 * genuine packet behind the forgery of its counter is still taken. */
static void
test_udp_batch_mixed(void **state)
{
	struct fx *f = *state;
	static uint8_t pkts[40][256];
	size_t lens[40], flen;
	uint8_t forged[256];
	int n;

	udp_link(f);
	pump(f);
	assert_true(established(f, &f->ls));
	udp_gro_set(f->s->udp.fd, false);
	for (int i = 0; i < 40; i++)
		tun_put(f->lc.tun, (uint32_t)i, FRAME);
	dp_tun_readable(f->c, f->lc.p, f->now);
	sync_dp(f->c);
	assert_int_equal(f->lc.p->traffic.tx_packets, 40);
	/* Off the server's socket before it reads them; sent again from the client's socket. */
	n = udp_take(f->s->udp.fd, pkts, lens, 40);
	assert_int_equal(n, 40);
	memcpy(forged, pkts[21], lens[21]);
	flen = lens[21];
	forged[flen - 1] ^= 0x80;
	/* Where the kernel coalesces them (UDP GRO), the batch is cut from its runs. */
	udp_gro_set(f->s->udp.fd, f->s->udp.gro);
	for (int i = 0; i < 20; i++)
		assert_int_equal(send(f->c->udp.fd, pkts[i], lens[i], 0), (ssize_t)lens[i]);
	assert_int_equal(send(f->c->udp.fd, pkts[5], lens[5], 0), (ssize_t)lens[5]);
	assert_int_equal(send(f->c->udp.fd, forged, flen, 0), (ssize_t)flen);
	for (int i = 20; i < 40; i++)
		assert_int_equal(send(f->c->udp.fd, pkts[i], lens[i], 0), (ssize_t)lens[i]);
	assert_true(ut_readable(f->s->udp.fd, 1000));
	dp_udp_readable(f->s, f->now);
	sync_dp(f->s);
	pump(f);
	expect_frames(f->ls.tun, 0, 40);
	assert_int_equal(f->ls.p->traffic.rx_packets, 40);
	assert_int_equal(f->ls.p->s.stats.drops[DROP_REPLAY], 1);
	assert_int_equal(f->ls.p->s.stats.drops[DROP_AUTH], 1);
	assert_int_equal(drops_sum(f->ls.p->s.stats.drops), 2);
	assert_int_equal(drops_sum(f->ls.p->traffic.drops) + drops_sum(f->s->drops), 0);
	if (f->threads > 1) {
		struct pool_stats ps;
		uint64_t others = 0;

		pool_stats(f->s->pool, &ps);
		assert_true(ps.shared >= 1);
		for (int i = 1; i < POOL_LANES_MAX; i++)
			others += ps.items[i];
		/* The other threads took part, or lane 0 did it all before they woke: the jobs
		 * add up either way. */
		assert_true(ps.items[0] + others >= 42);
	}
}

/* A rekey whose first data under the new keys arrives as one batch (the server still has
 * the keys as its next pair): the first message promotes them, the others are found again
 * under their index as the current pair and taken; a packet of the old keys in the same
 * batch (kept in flight) is taken too. */
static void
test_udp_rekey_inside_batch(void **state)
{
	struct fx *f = *state;
	static uint8_t pkts[40][256], old[1][256];
	size_t lens[40], oldlen[1];
	int n;

	udp_link(f);
	pump(f);
	assert_true(established(f, &f->ls));
	/* A frame under the first keys, held back. */
	tun_put(f->lc.tun, 999, FRAME);
	dp_tun_readable(f->c, f->lc.p, f->now);
	assert_int_equal(udp_take(f->s->udp.fd, old, oldlen, 1), 1);
	/* The client starts a handshake; the server answers; the client takes the response and
	 * confirms with a keepalive, which the test takes off the wire. */
	f->now += 1000;
	f->lc.p->s.want_handshake = true;
	dp_peer_timer(f->c, f->lc.p, f->now);
	sync_dp(f->c);
	assert_true(ut_readable(f->s->udp.fd, 1000));
	dp_udp_readable(f->s, f->now);
	sync_dp(f->s);
	while (hsq_len(f->s->hsq) > 0)
		dp_handshakes(f->s, f->now);
	sync_dp(f->s);
	assert_true(f->ls.p->s.kp_next.valid);
	assert_true(ut_readable(f->c->udp.fd, 1000));
	dp_udp_readable(f->c, f->now);
	sync_dp(f->c);
	assert_int_equal(f->lc.p->s.stats.handshakes, 2);
	assert_int_equal(udp_take(f->s->udp.fd, pkts, lens, 1), 1);
	for (int i = 0; i < 30; i++)
		tun_put(f->lc.tun, (uint32_t)i, FRAME);
	dp_tun_readable(f->c, f->lc.p, f->now);
	sync_dp(f->c);
	n = udp_take(f->s->udp.fd, pkts, lens, 40);
	assert_int_equal(n, 30);
	udp_gro_set(f->s->udp.fd, f->s->udp.gro);
	for (int i = 0; i < 15; i++)
		assert_int_equal(send(f->c->udp.fd, pkts[i], lens[i], 0), (ssize_t)lens[i]);
	assert_int_equal(send(f->c->udp.fd, old[0], oldlen[0], 0), (ssize_t)oldlen[0]);
	for (int i = 15; i < 30; i++)
		assert_int_equal(send(f->c->udp.fd, pkts[i], lens[i], 0), (ssize_t)lens[i]);
	assert_true(ut_readable(f->s->udp.fd, 1000));
	dp_udp_readable(f->s, f->now);
	sync_dp(f->s);
	pump(f);
	assert_false(f->ls.p->s.kp_next.valid);
	assert_int_equal(f->ls.p->s.stats.handshakes, 2);
	expect_frames_with(f->ls.tun, 0, 15, 999);
	expect_frames(f->ls.tun, 15, 15);
	assert_int_equal(f->ls.p->traffic.rx_packets, 31);
	assert_int_equal(drops_sum(f->ls.p->s.stats.drops) + drops_sum(f->ls.p->traffic.drops) +
	    drops_sum(f->s->drops), 0);
}

/* ---- TCP ---------------------------------------------------------------------------------- */

/* The client dials, its staged first frame arrives after the handshake, the connection binds
 * to the peer, and frames go both ways. */
static void
test_tcp_dial_and_frames(void **state)
{
	struct fx *f = *state;
	struct tcp_lconn *sc;

	tcp_link(f, true);
	tun_put(f->lc.tun, 0, FRAME);
	pump(f);
	assert_true(established(f, &f->lc));
	assert_true(established(f, &f->ls));
	expect_frames(f->ls.tun, 0, 1);
	sc = f->ls.p->tcp.conn;
	assert_non_null(sc);
	assert_ptr_equal(sc->peer, f->ls.p);
	assert_int_equal(sc->tc.rx_cap, TCP_RX_CAP);
	assert_int_equal(f->s->tcp.npending, 0);
	assert_non_null(f->lc.p->tcp.conn);
	assert_true(f->lc.p->tcp.conn->outbound);
	for (int i = 1; i <= 100; i++) {
		tun_put(f->lc.tun, (uint32_t)i, FRAME);
		tun_put(f->ls.tun, (uint32_t)(500 + i), FRAME);
	}
	pump(f);
	expect_frames(f->ls.tun, 1, 100);
	expect_frames(f->lc.tun, 501, 100);
	assert_int_equal(f->lc.p->traffic.tx_packets, 101);
	assert_int_equal(f->ls.p->traffic.rx_packets, 101);
	assert_int_equal(f->ls.p->traffic.tx_packets, 100);
	assert_int_equal(f->lc.p->traffic.rx_packets, 100);
	assert_int_equal(drops_sum(f->lc.p->traffic.drops) + drops_sum(f->ls.p->traffic.drops) +
	    drops_sum(f->s->drops) + drops_sum(f->c->drops), 0);
}

/* A client whose server refuses dials again after a growing back-off with jitter; once a
 * session was up, losing it makes the client dial again at once. */
static void
test_tcp_client_redials(void **state)
{
	struct fx *f = *state;
	struct sockaddr_in port;
	uint64_t base = BACKOFF_FIRST, old_id;
	char err[256];
	int tmp = ut_tcp_listener(&port);

	close(tmp); /* nobody listens there, for now */
	f->saddr = port;
	f->c = dp_new(false, f->cpriv, f->threads > 0 ? f->threads : 1);
	assert_non_null(f->c);
	f->c->share_min = 0;
	add_peer(f, f->s, &f->ls, 1, "link", f->cpub, VT_TCP, NULL);
	add_peer(f, f->c, &f->lc, 1, "link", f->spub, VT_TCP, &port);
	assert_int_equal(f->lc.p->dial_at, f->now);
	pump(f);
	/* Refused (the first retry goes at once), then 1 s and more, doubling. */
	for (int k = 0; k < 3; k++, base *= 2) {
		uint64_t d = f->lc.p->dial_at - f->now;

		assert_null(f->lc.p->tcp.conn);
		assert_true(d >= base && d * 4 <= base * 5);
		f->now += d;
		pump(f);
	}
	/* The server comes up; the next dial gets through and the session comes up. */
	f->lfd = tcp_listen(UT_SA(port), sizeof(port), err, sizeof(err));
	assert_true(f->lfd >= 0);
	f->now = f->lc.p->dial_at;
	pump(f);
	assert_true(established(f, &f->lc));
	assert_true(established(f, &f->ls));
	assert_int_equal(f->lc.p->tcp.tries, 0);
	assert_int_equal(f->lc.p->dial_at, UINT64_MAX);
	/* The server takes the peer out (its CLOSE reaches the client): the client dials again
	 * at once, and its new initiation meets a key the server no longer knows. */
	old_id = f->lc.p->tcp.conn->id;
	dp_peer_remove(f->s, f->ls.p, false, f->now);
	f->ls.p = NULL;
	close(f->ls.tun);
	f->ls.tun = -1;
	sync_dp(f->s);
	pump(f);
	assert_non_null(f->lc.p->tcp.conn);
	assert_true(f->lc.p->tcp.conn->id > old_id);
	assert_false(f->lc.p->tcp.conn->tc.connecting);
	assert_int_equal(f->lc.p->s.state, SESSION_HANDSHAKING);
	assert_int_equal(f->lc.p->tcp.tries, 1);
	assert_int_equal(f->s->drops[DROP_AUTH], 1);
}

/* More complete messages in one read than one turn takes: dp_tcp_readable says so, and the
 * next call delivers the rest without anything new on the socket (no stall). */
static void
test_tcp_many_messages_one_read(void **state)
{
	struct fx *f = *state;
	const int n = 300;
	const int wire = WIRE_TCP_PREFIX_LEN + WIRE_DATA_HDR_LEN + WIRE_INNER_HDR_LEN + FRAME +
	    WIRE_TAG_LEN;
	struct tcp_lconn *sc;
	int waited = 0;

	tcp_link(f, true);
	pump(f);
	assert_true(established(f, &f->ls));
	sc = f->ls.p->tcp.conn;
	assert_non_null(sc);
	/* The client seals and sends them all (one device batch per call); the server waits. */
	for (int i = 0; i < n; i++)
		tun_put(f->lc.tun, (uint32_t)i, FRAME);
	while (ut_readable(f->lc.p->tun_fd, 0)) {
		dp_tun_readable(f->c, f->lc.p, f->now);
		sync_dp(f->c);
	}
	assert_int_equal(f->lc.p->traffic.tx_packets, n);
	while (ut_pending_bytes(sc->tc.fd) < n * wire && waited++ < 100)
		ut_readable(sc->tc.fd, 10);
	assert_int_equal(ut_pending_bytes(sc->tc.fd), n * wire);

	assert_true(dp_tcp_readable(f->s, sc, f->now));
	sync_dp(f->s);
	assert_int_equal(ut_pending_bytes(sc->tc.fd), 0);
	assert_int_equal(f->ls.p->traffic.rx_packets, DP_TCP_BUDGET);
	expect_frames(f->ls.tun, 0, DP_TCP_BUDGET);
	assert_false(dp_tcp_readable(f->s, sc, f->now));
	sync_dp(f->s);
	expect_frames(f->ls.tun, DP_TCP_BUDGET, n - DP_TCP_BUDGET);
	assert_int_equal(f->ls.p->traffic.rx_packets, n);
	assert_false(dp_tcp_readable(f->s, sc, f->now));
	assert_false(sc->dead);
}

/* The same key from a second TCP connection while the session is up (dupkey.h, through
 * mark_contested): with duplicate = refuse it is answered with status DUPLICATE, counted on
 * both ends, and A keeps its connection and talks both ways; with replace the newcomer's
 * confirmed keys take the session and its connection, the takeover is recorded, and A's
 * connection is closed. */
static void
test_tcp_duplicate_key(void **state)
{
	struct fx *f = *state;
	struct tcp_lconn *sc;

	tcp_link(f, false);
	rawc_init(f, &f->ra, "link", f->cpriv);
	rawc_init(f, &f->rb, "link", f->cpriv); /* B holds A's key */
	raw_connect(f, &f->ra, "127.0.0.2");
	raw_handshake(f, &f->ra, NULL, NULL);
	raw_frame_out(f, &f->ra, 1);
	expect_frames(f->ls.tun, 1, 1);
	sc = f->ls.p->tcp.conn;
	assert_non_null(sc);

	f->ls.p->cfg.duplicate = VT_DUP_REFUSE;
	raw_connect(f, &f->rb, "127.0.0.3");
	f->now += 100;
	assert_int_equal(session_initiate(&f->rb.s, fresh_index(), f->now, &f->m), SV_SEND);
	raw_send_on(f->rb.fd, &f->m);
	pump(f);
	assert_true(raw_recv_on(f->rb.fd, &f->m));
	assert_int_equal(session_consume_response(&f->rb.s, buf_data(&f->m), f->m.len, f->now,
	    &f->out), SV_DROP);
	assert_int_equal(f->rb.s.stats.drops[DROP_DUPLICATE], 1);
	assert_int_equal(f->ls.p->s.stats.drops[DROP_DUPLICATE], 1);
	assert_ptr_equal(f->ls.p->tcp.conn, sc);
	raw_frame_out(f, &f->ra, 2);
	expect_frames(f->ls.tun, 2, 1);
	raw_frame_in(f, &f->ra, &f->ls, 3);

	f->ls.p->cfg.duplicate = VT_DUP_REPLACE;
	f->now += 100;
	f->rb.s.hs_backoff_until = 0;
	raw_handshake(f, &f->rb, NULL, NULL);
	assert_non_null(f->ls.p->tcp.conn);
	assert_ptr_not_equal(f->ls.p->tcp.conn, sc);
	assert_true(f->ls.p->s.dup.at[0] != 0 || f->ls.p->s.dup.at[1] != 0);
	assert_false(f->ls.p->s.dup.flapping);
	raw_frame_out(f, &f->rb, 4);
	expect_frames(f->ls.tun, 4, 1);
	raw_frame_in(f, &f->rb, &f->ls, 5);
	{ /* A's connection went with the takeover: end of stream, nothing before it */
		uint8_t x;

		assert_true(ut_readable(f->ra.fd, 1000));
		assert_true(read(f->ra.fd, &x, 1) <= 0);
	}
}

/* An initiation for peer B on the connection peer A is bound to is refused: A keeps its
 * connection and its traffic, B learns nothing. The test drives the whole story before it
 * checks: B confirms whatever answer it got, A talks both ways, the connection closes and
 * then the server's A and B send. Had B's handshake been taken on A's connection, A's slot
 * would still point at that connection after it was released, and ASan would stop the test
 * at A's first send. */
static void
test_tcp_initiation_of_other_peer_on_bound_connection(void **state)
{
	struct fx *f = *state;
	struct tcp_lconn *sc;
	bool answered = false, kept;
	long a_frame;

	tcp_link(f, false);
	rawc_init(f, &f->ra, "link", f->cpriv);
	rawc_init(f, &f->rb, "other", NULL);
	add_peer(f, f->s, &f->lb, 2, "other", f->rb.pub, VT_TCP, NULL);
	raw_connect(f, &f->ra, "127.0.0.2");
	raw_handshake(f, &f->ra, NULL, NULL);
	sc = f->ls.p->tcp.conn;
	assert_non_null(sc);
	assert_ptr_equal(sc->peer, f->ls.p);
	raw_frame_out(f, &f->ra, 1);
	expect_frames(f->ls.tun, 1, 1);

	/* B's initiation on A's connection; if an answer comes, B confirms it there. */
	assert_int_equal(session_initiate(&f->rb.s, fresh_index(), f->now, &f->m), SV_SEND);
	raw_send_on(f->ra.fd, &f->m);
	pump(f);
	if (raw_recv_on(f->ra.fd, &f->m)) {
		answered = true;
		if (session_consume_response(&f->rb.s, buf_data(&f->m), f->m.len, f->now,
		    &f->out) == SV_SEND) {
			raw_send_on(f->ra.fd, &f->out);
			pump(f);
		}
	}
	/* A talks both ways on its connection. */
	raw_frame_out(f, &f->ra, 2);
	a_frame = tun_get(f->ls.tun, FRAME);
	raw_frame_in(f, &f->ra, &f->ls, 3);
	kept = f->ls.p->tcp.conn == sc && !sc->dead && sc->peer == f->ls.p;
	/* The connection goes; then the server's A and B have something to send. */
	close(f->ra.fd);
	f->ra.fd = -1;
	pump(f);
	tun_put(f->ls.tun, 4, FRAME);
	tun_put(f->lb.tun, 5, FRAME);
	pump(f);
	dp_peer_timer(f->s, f->ls.p, f->now + 1000);
	dp_peer_timer(f->s, f->lb.p, f->now + 1000);
	sync_dp(f->s);

	assert_false(answered);
	/* Counted on the peer whose key the initiation proved, not on the daemon. */
	assert_int_equal(f->lb.p->traffic.drops[DROP_MISMATCH], 1);
	assert_int_equal(f->s->drops[DROP_MISMATCH], 0);
	assert_true(kept);
	assert_int_equal(a_frame, 2);
	assert_int_equal(f->lb.p->s.state, SESSION_IDLE);
	assert_int_equal(f->lb.p->s.stats.handshakes, 0);
	assert_int_equal(f->lb.p->nidx, 0);
	assert_null(f->lb.p->tcp.conn);
	assert_null(f->ls.p->tcp.conn);
	assert_null(f->s->tcp.conns);
	assert_int_equal(f->ls.p->traffic.tx_packets, 1);
	assert_int_equal(f->ls.p->traffic.drops[DROP_NO_KEY], 1);
	assert_int_equal(f->lb.p->traffic.drops[DROP_NO_KEY], 1);
	assert_int_equal(drops_sum(f->lb.p->s.stats.drops), 0);
}

/* A replayed initiation on a new connection neither answers nor takes over the live one, nor
 * does its replayed confirmation; a fresh handshake on the new connection does, at its first
 * data packet. */
static void
test_tcp_replayed_initiation_new_connection(void **state)
{
	struct fx *f = *state;
	struct buf *init = &f->keep[0], *confirm = &f->keep[1];
	struct tcp_lconn *c1, *c2;
	struct rawc *r = &f->ra;
	uint32_t cur;
	int fd1;
	uint8_t b[16];

	tcp_link(f, false);
	rawc_init(f, r, "link", f->cpriv);
	c1 = raw_connect(f, r, "127.0.0.2");
	raw_handshake(f, r, init, confirm);
	assert_ptr_equal(f->ls.p->tcp.conn, c1);
	cur = f->ls.p->s.kp_cur.local_index;
	fd1 = r->fd;

	/* Someone who saw it all replays both messages on a connection of their own. */
	r->fd = -1;
	c2 = raw_connect(f, r, "127.0.0.3");
	assert_ptr_not_equal(c2, c1);
	raw_send_on(r->fd, init);
	pump(f);
	assert_int_equal(f->ls.p->s.stats.drops[DROP_REPLAY], 1);
	assert_false(raw_recv_on(r->fd, &f->m));
	assert_null(c2->peer);
	assert_null(c2->hs_peer);
	raw_send_on(r->fd, confirm);
	pump(f);
	/* Counted on the peer whose key index it names. */
	assert_int_equal(f->ls.p->traffic.drops[DROP_NO_SESSION], 1);
	assert_int_equal(f->s->drops[DROP_NO_SESSION], 0);
	assert_null(c2->peer);
	assert_ptr_equal(f->ls.p->tcp.conn, c1);
	assert_false(c1->dead);
	assert_int_equal(f->ls.p->s.kp_cur.local_index, cur);
	assert_false(f->ls.p->s.kp_next.valid);
	close(r->fd);

	/* The live connection carries on. */
	r->fd = fd1;
	raw_frame_out(f, r, 1);
	expect_frames(f->ls.tun, 1, 1);
	raw_frame_in(f, r, &f->ls, 2);

	/* The real client moves to a new connection: answered there, bound at its first data
	 * packet, and only then the old connection goes. */
	c2 = raw_connect(f, r, "127.0.0.3"); /* r->fd is the new connection, fd1 the old */
	assert_int_equal(session_initiate(&r->s, fresh_index(), f->now, &f->m), SV_SEND);
	raw_send_on(r->fd, &f->m);
	pump(f);
	assert_ptr_equal(c2->hs_peer, f->ls.p);
	assert_ptr_equal(f->ls.p->tcp.conn, c1);
	assert_true(raw_recv_on(r->fd, &f->m));
	assert_int_equal(session_consume_response(&r->s, buf_data(&f->m), f->m.len, f->now,
	    &f->out), SV_SEND);
	raw_send_on(r->fd, &f->out);
	pump(f);
	assert_ptr_equal(f->ls.p->tcp.conn, c2);
	assert_ptr_equal(c2->peer, f->ls.p);
	/* The old connection was closed (and released: c1 is gone). */
	assert_true(ut_readable(fd1, 1000));
	assert_int_equal(read(fd1, b, sizeof(b)), 0);
	close(fd1);
	raw_frame_out(f, r, 3);
	expect_frames(f->ls.tun, 3, 1);
}

/* A CLOSE sealed under the previous key pair, delivered after a new handshake (it was
 * delayed), ends only that pair: the session and its connection stay. */
static void
test_tcp_close_under_previous_keys(void **state)
{
	struct fx *f = *state;
	struct buf *close_msg = &f->keep[0];
	struct rawc *r = &f->ra;
	struct tcp_lconn *sc;
	uint32_t old;

	tcp_link(f, false);
	rawc_init(f, r, "link", f->cpriv);
	sc = raw_connect(f, r, "127.0.0.2");
	raw_handshake(f, r, NULL, NULL);
	old = f->ls.p->s.kp_cur.local_index;
	/* The client closes; its CLOSE is held up on the way. */
	assert_int_equal(session_close(&r->s, f->now, close_msg), SV_SEND);
	session_take_events(&r->s);
	/* It comes back on the same connection with a new handshake. */
	f->now += 1000;
	raw_handshake(f, r, NULL, NULL);
	assert_int_equal(f->ls.p->s.kp_prev.local_index, old);
	assert_true(f->ls.p->s.kp_prev.valid);
	assert_int_not_equal(f->ls.p->s.kp_cur.local_index, old);
	/* The old CLOSE arrives. */
	raw_send_on(r->fd, close_msg);
	pump(f);
	assert_true(established(f, &f->ls));
	assert_false(f->ls.p->s.kp_prev.valid);
	assert_ptr_equal(f->ls.p->tcp.conn, sc);
	assert_false(sc->dead);
	assert_false(ut_readable(r->fd, 0)); /* no EOF: the connection is up */
	raw_frame_out(f, r, 1);
	expect_frames(f->ls.tun, 1, 1);
	raw_frame_in(f, r, &f->ls, 2);
	/* A CLOSE under the current keys does end it, and the connection with it. */
	assert_int_equal(session_close(&r->s, f->now, close_msg), SV_SEND);
	raw_send_on(r->fd, close_msg);
	pump(f);
	assert_int_equal(f->ls.p->s.state, SESSION_IDLE);
	assert_null(f->ls.p->tcp.conn);
	assert_true(ut_readable(r->fd, 1000));
}

/* The right key over the other transport is refused before anything of the peer changes, and
 * counted on that peer: a UDP peer's initiation over TCP, a TCP peer's over UDP. */
static void
test_wrong_transport(void **state)
{
	struct fx *f = *state;
	struct sockaddr_in uaddr, xaddr;
	int x;

	f->lfd = ut_tcp_listener(&f->saddr);
	udp_server(f, &uaddr);
	rawc_init(f, &f->ra, "link", f->cpriv);
	rawc_init(f, &f->rb, "other", NULL);
	add_peer(f, f->s, &f->ls, 1, "link", f->cpub, VT_UDP, NULL);
	add_peer(f, f->s, &f->lb, 2, "other", f->rb.pub, VT_TCP, NULL);
	raw_connect(f, &f->ra, "127.0.0.2");
	assert_int_equal(session_initiate(&f->ra.s, fresh_index(), f->now, &f->m), SV_SEND);
	raw_send_on(f->ra.fd, &f->m);
	x = ut_udp_socket("127.0.0.3", &xaddr);
	assert_int_equal(session_initiate(&f->rb.s, fresh_index(), f->now, &f->m), SV_SEND);
	assert_int_equal(sendto(x, buf_data(&f->m), f->m.len, 0, UT_SA(uaddr), sizeof(uaddr)),
	    (ssize_t)f->m.len);
	pump(f);
	assert_int_equal(f->ls.p->traffic.drops[DROP_MISMATCH], 1);
	assert_int_equal(f->lb.p->traffic.drops[DROP_MISMATCH], 1);
	assert_false(raw_recv_on(f->ra.fd, &f->m));
	assert_false(ut_readable(x, 0));
	assert_false(f->ls.p->s.kp_next.valid);
	assert_false(f->lb.p->s.kp_next.valid);
	assert_int_equal(f->ls.p->udp.ep_len, 0);
	assert_null(f->s->tcp.conns->hs_peer);
	assert_int_equal(drops_sum(f->s->drops), 0);
	close(x);
}

/* Failover: the server's peer "link", taken over UDP and TCP. */
static void
fo_server_peer(struct fx *f)
{
	struct vt_peer cfg;
	int fds[2];

	ut_peer_cfg(&cfg, "link", f->cpub, VT_UDP, f->psk);
	cfg.protos = (1u << VT_UDP) | (1u << VT_TCP);
	cfg.keepalive = 1;
	cfg.timeout = 4;
	ut_fake_tun(fds);
	f->ls.p = dp_peer_add(f->s, 1, &cfg, NULL, 0, 0, fds[0], f->now);
	assert_non_null(f->ls.p);
	f->ls.tun = fds[1];
}

/* ... and a client data path whose peer has two remotes on 127.0.0.1, p0 on port0 first and
 * p1 on port1 next; it starts on the first, at first. */
static void
fo_client(struct fx *f, enum vt_proto p0, uint16_t port0, enum vt_proto p1, uint16_t port1,
    const struct sockaddr_in *first)
{
	struct vt_peer cfg;
	char err[256];
	int fds[2];

	f->c = dp_new(false, f->cpriv, 1);
	assert_non_null(f->c);
	/* A client starting over UDP has its socket first, as engine_add_peer gives it. */
	if (p0 == VT_UDP)
		assert_int_equal(dp_udp_client(f->c, -1, UT_SA(*first), sizeof(*first), err,
		    sizeof(err)), 0);
	ut_peer_cfg(&cfg, "link", f->spub, p0, f->psk);
	cfg.keepalive = 1;
	cfg.timeout = 4;
	cfg.failback = 3;
	cfg.nremotes = 2;
	cfg.protos = (1u << VT_UDP) | (1u << VT_TCP);
	snprintf(cfg.remotes[0].host, sizeof(cfg.remotes[0].host), "127.0.0.1");
	cfg.remotes[0].port = port0;
	cfg.remotes[0].proto = p0;
	cfg.remotes[1] = cfg.remotes[0];
	cfg.remotes[1].port = port1;
	cfg.remotes[1].proto = p1;
	ut_fake_tun(fds);
	f->lc.p = dp_peer_add(f->c, 1, &cfg, UT_SA(*first), sizeof(*first), 0, fds[0], f->now);
	assert_non_null(f->lc.p);
	f->lc.tun = fds[1];
	sync_dp(f->s);
	sync_dp(f->c);
	lookups = 0;
}

/*
 * Failover (failover.h): a client with two remotes, UDP first and TCP next, and a server that
 * takes the peer over both. UDP goes dark mid-session: after its timeout the client tries UDP
 * three times, each looked up first, then TCP, where the session comes up on both ends and
 * frames cross; probes of UDP while it is dark never bring the session down. UDP comes back:
 * the next probe moves the session there on both ends without going down, the server closes
 * the connection, and frames cross over UDP again.
 */
static void
test_failover_udp_tcp(void **state)
{
	struct fx *f = *state;
	struct sockaddr_in uaddr, taddr;
	int n, before;
	int64_t up_since;
	uint64_t hs;

	f->lfd = ut_tcp_listener(&taddr);
	udp_server(f, &uaddr);
	fo_server_peer(f);
	fo_client(f, VT_UDP, ntohs(uaddr.sin_port), VT_TCP, ntohs(taddr.sin_port), &uaddr);

	tun_put(f->lc.tun, 0, FRAME);
	pump(f);
	assert_true(established(f, &f->lc));
	assert_true(established(f, &f->ls));
	expect_frames(f->ls.tun, 0, 1);
	assert_int_equal(f->lc.p->link, VT_UDP);
	assert_int_equal(f->ls.p->link, VT_UDP);
	assert_int_equal(lookups, 1); /* the first try was looked up too */

	/* UDP goes dark: the session times out, three UDP tries (each looked up), then TCP. */
	f->udp_blocked = true;
	for (n = 0; n < 200 && !(f->lc.p->link == VT_TCP && established(f, &f->lc)); n++) {
		f->now += 250;
		pump(f);
	}
	assert_int_equal(f->lc.p->link, VT_TCP);
	assert_true(established(f, &f->lc));
	assert_true(established(f, &f->ls));
	assert_int_equal(f->ls.p->link, VT_TCP);
	assert_int_equal(f->lc.p->cl->fo.cur, 1);
	assert_int_equal(lookups, 1 + FAILOVER_TRIES + 1);
	assert_non_null(f->ls.p->tcp.conn);
	tun_put(f->lc.tun, 1, FRAME);
	tun_put(f->ls.tun, 501, FRAME);
	pump(f);
	expect_frames(f->ls.tun, 1, 1);
	expect_frames(f->lc.tun, 501, 1);

	/* Probes while UDP is dark (failback 3 s, 5 s each): the session stays up on TCP and
	 * its keys are renewed there. */
	up_since = f->lc.p->s.stats.up_since;
	hs = f->lc.p->s.stats.handshakes;
	before = lookups;
	for (n = 0; n < 80; n++) {
		f->now += 250;
		pump(f);
	}
	assert_true(lookups > before);
	assert_int_equal(f->lc.p->link, VT_TCP);
	assert_true(established(f, &f->lc));
	assert_true(f->lc.p->s.stats.handshakes > hs);
	assert_int_equal(f->lc.p->s.stats.up_since, up_since);
	tun_put(f->lc.tun, 2, FRAME);
	pump(f);
	expect_frames(f->ls.tun, 2, 1);

	/* UDP is back: the next probe moves the session, hitless, on both ends. */
	f->udp_blocked = false;
	for (n = 0; n < 80 && f->ls.p->link != VT_UDP; n++) {
		f->now += 250;
		pump(f);
	}
	assert_int_equal(f->lc.p->link, VT_UDP);
	assert_int_equal(f->ls.p->link, VT_UDP);
	assert_int_equal(f->lc.p->cl->fo.cur, 0);
	assert_true(established(f, &f->lc));
	assert_true(established(f, &f->ls));
	assert_int_equal(f->lc.p->s.stats.up_since, up_since);
	assert_null(f->ls.p->tcp.conn); /* the server closed it */
	for (n = 0; n < 60; n++) { /* the client's copy goes too, and nothing comes down */
		f->now += 250;
		pump(f);
	}
	assert_null(f->lc.p->tcp.conn);
	assert_int_equal(f->lc.p->s.stats.up_since, up_since);
	assert_int_equal(f->ls.p->link, VT_UDP);
	before = (int)f->lc.p->traffic.tx_packets;
	tun_put(f->lc.tun, 3, FRAME);
	tun_put(f->ls.tun, 503, FRAME);
	pump(f);
	expect_frames(f->ls.tun, 3, 1);
	expect_frames(f->lc.tun, 503, 1);
	assert_int_equal(f->lc.p->traffic.tx_packets, (uint64_t)before + 1);
}

/*
 * A client whose first remote is TCP on a port nobody listens on: no UDP socket at first,
 * three refused dials on the back-off, then at once the UDP remote on a socket of its own,
 * whose first initiation is answered and taken (nothing dropped as of no session).
 */
static void
test_failover_tcp_refused_then_udp(void **state)
{
	struct fx *f = *state;
	struct sockaddr_in uaddr, closed;
	int n, tmp = ut_tcp_listener(&closed);

	close(tmp); /* nobody listens there */
	udp_server(f, &uaddr);
	fo_server_peer(f);
	fo_client(f, VT_TCP, ntohs(closed.sin_port), VT_UDP, ntohs(uaddr.sin_port), &closed);
	assert_int_equal(f->c->udp.fd, -1);
	tun_put(f->lc.tun, 0, FRAME);
	pump(f);
	for (n = 0; n < 100 && f->lc.p->link == VT_TCP; n++) {
		assert_int_equal(f->c->udp.fd, -1);
		f->now += 250;
		pump(f);
	}
	assert_int_equal(f->lc.p->link, VT_UDP);
	assert_int_equal(lookups, FAILOVER_TRIES + 1);
	/* 1 s and 2 s of back-off between the three dials (each up to a quarter more), then no
	 * wait for the fourth: it goes to UDP. */
	assert_true(n * 250 >= 3000 && n * 250 <= 4000);
	assert_true(f->c->udp.fd >= 0);
	pump(f);
	assert_true(established(f, &f->lc));
	assert_true(established(f, &f->ls));
	assert_int_equal(f->lc.p->s.stats.handshakes, 1);
	assert_int_equal(drops_sum(f->c->drops), 0);
	expect_frames(f->ls.tun, 0, 1);
	assert_int_equal(f->lc.p->cl->fo.cur, 1);
}

/* A peer whose connection was backlogged (device reading stopped) moves to a new connection:
 * binding it resumes reading the device, and the frames waiting there leave on the new one. */
static void
test_tcp_rebind_resumes_device(void **state)
{
	struct fx *f = *state;
	struct rawc *r = &f->ra;
	struct session_keypair *kp;
	int small = 4096, fd1, sent = 0;
	long seq = -1;

	tcp_link(f, false);
	rawc_init(f, r, "link", f->cpriv);
	raw_connect(f, r, "127.0.0.2");
	raw_handshake(f, r, NULL, NULL);
	fd1 = r->fd;
	/* The client stops reading: the server's queue grows past TCP_TX_HIGH. */
	setsockopt(f->ls.p->tcp.conn->tc.fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	setsockopt(fd1, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	while (!f->ls.p->tun_paused) {
		assert_true(sent < 20000);
		for (int i = 0; i < 64; i++)
			tun_put(f->ls.tun, (uint32_t)sent++, FRAME);
		pump(f);
	}
	/* The client comes back on a new connection; frames keep coming to the device. */
	raw_connect(f, r, "127.0.0.3");
	raw_handshake(f, r, NULL, NULL);
	assert_ptr_not_equal(f->ls.p->tcp.conn, NULL);
	assert_int_equal(f->ls.p->tcp.conn->tc.fd >= 0, 1);
	assert_false(f->ls.p->tun_paused);
	tun_put(f->ls.tun, 100000, FRAME);
	pump(f);
	/* What waited in the device, then the new frame, arrive on the new connection. */
	while (raw_recv_on(r->fd, &f->m)) {
		assert_int_not_equal(session_slot_of(&r->s, wire_get32(buf_data(&f->m) + 4), &kp),
		    SLOT_NONE);
		assert_int_equal(session_decap(&r->s, kp, &f->m, f->now), SV_DELIVER);
		seq = (long)wire_get32(buf_data(&f->m));
	}
	assert_int_equal(seq, 100000);
	close(fd1);
}

/*
 * A client that moved to a new connection c2 got its answer there; the server then learns that
 * the old connection c1 is gone (its EOF or RST comes in after the answer, before the client's
 * confirmation). Losing c1 must not take the pending key pair negotiated over c2: the
 * confirmation on c2 brings the session up. (Found by this suite: session_reset wiped it, and
 * the server dropped everything until the client's timeout.)
 */
static void
test_tcp_old_connection_lost_after_new_handshake(void **state)
{
	struct fx *f = *state;
	struct rawc *r = &f->ra;
	struct tcp_lconn *c2;
	int fd1;

	tcp_link(f, false);
	rawc_init(f, r, "link", f->cpriv);
	raw_connect(f, r, "127.0.0.2");
	raw_handshake(f, r, NULL, NULL);
	fd1 = r->fd;
	c2 = raw_connect(f, r, "127.0.0.3");
	assert_int_equal(session_initiate(&r->s, fresh_index(), f->now, &f->m), SV_SEND);
	raw_send_on(r->fd, &f->m);
	pump(f);
	assert_true(raw_recv_on(r->fd, &f->m));
	assert_int_equal(session_consume_response(&r->s, buf_data(&f->m), f->m.len, f->now,
	    &f->out), SV_SEND);
	/* The old connection's end reaches the server before the confirmation. */
	close(fd1);
	pump(f);
	assert_null(f->ls.p->tcp.conn);
	raw_send_on(r->fd, &f->out);
	pump(f);
	assert_int_equal(f->s->drops[DROP_NO_SESSION], 0);
	assert_ptr_equal(f->ls.p->tcp.conn, c2);
	assert_true(established(f, &f->ls));
	raw_frame_out(f, r, 1);
	expect_frames(f->ls.tun, 1, 1);
}

int
main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
#define T4(name) { "threads=4: " #name, name, setup4, teardown, NULL }
	const struct CMUnitTest tests[] = {
		T(test_udp_first_frame_staged),
		T(test_udp_frames_both_ways),
		T(test_udp_rate_out),
		T(test_udp_rate_in),
		T(test_udp_drops),
		T(test_udp_forged_packet_keeps_endpoint),
		T(test_udp_batch_mixed),
		T(test_udp_rekey_inside_batch),
		T4(test_udp_first_frame_staged),
		T4(test_udp_frames_both_ways),
		T4(test_udp_drops),
		T4(test_udp_forged_packet_keeps_endpoint),
		T4(test_udp_batch_mixed),
		T4(test_udp_rekey_inside_batch),
		T4(test_wrong_transport),
		T(test_tcp_dial_and_frames),
		T(test_tcp_client_redials),
		T(test_tcp_many_messages_one_read),
		T(test_tcp_initiation_of_other_peer_on_bound_connection),
		T(test_tcp_duplicate_key),
		T(test_tcp_replayed_initiation_new_connection),
		T(test_tcp_close_under_previous_keys),
		T(test_wrong_transport),
		T(test_failover_udp_tcp),
		T(test_failover_tcp_refused_then_udp),
		T(test_tcp_rebind_resumes_device),
		T(test_tcp_old_connection_lost_after_new_handshake),
	};
#undef T
#undef T4

	log_init(true, LOG_LVL_ERR);
	return cmocka_run_group_tests_name("datapath", tests, NULL, NULL);
}
