/*
 * engine.c - the libevent loop. Device, sessions, timers and transports meet only here:
 *   TX  device readable -> tun_read -> session_encap -> udp_send_batch / tcp_queue
 *   RX  socket readable -> udp_recv_batch / tcp_next_message -> session_* -> tun_write
 * Each wake-up handles a bounded batch; buffers live in struct engine (no allocation per
 * packet). Sessions return verdicts; the engine acts on them.
 */
#define _GNU_SOURCE
#include "engine.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "log.h"
#include "session.h"
#include "transport.h"
#include "tun.h"
#include "wire.h"
#include "xmalloc.h"

#define ENGINE_BATCH UDP_BATCH_MAX  /* packets per wake-up and direction */
#define ENGINE_MAX_PENDING 64       /* accepted TCP connections not yet identified */
#define ENGINE_PENDING_TIMEOUT 10000
#define ENGINE_RECONNECT_MAX 30000
#define ENGINE_STAGE 8              /* frames a client keeps while its handshake completes */
#define CONTROL_REPLY_MAX (256 * 1024)

struct engine;
struct econn;

struct epeer {
	struct engine *e;
	struct session s;
	const struct vt_peer *cfg;
	int tun_fd;
	struct event *tun_ev;
	bool tun_paused;
	struct event *timer;
	uint64_t timer_at;
	struct sockaddr_storage ep; /* UDP endpoint: where the last authenticated packet came */
	socklen_t ep_len;
	struct econn *conn;         /* TCP connection carrying this peer */
	struct event *reconnect_ev; /* client, TCP */
	uint64_t backoff;
	struct buf *stage;          /* client: frames from the device waiting for the first keys */
	int nstage;
};

struct econn {
	struct engine *e;
	struct tcp_conn tc;
	struct event *rev, *wev;
	struct epeer *peer;         /* set once a handshake identified the peer */
	struct sockaddr_storage addr;
	socklen_t addrlen;
	uint64_t opened;
	bool dead;                  /* closed; memory freed by the reaper */
	bool pending;               /* accepted, not yet identified by a handshake */
	struct econn *next;         /* every connection, open or dead */
};

struct engine {
	struct event_base *base;
	const struct engine_setup *setup;
	struct session_local local;
	struct epeer *peers;
	struct session **sessions;
	int npeers;
	int udp_fd;
	bool udp_connected;         /* client: the socket is connected to the server */
	bool udp_tried;             /* client: a connect was tried (log only the first failure) */
	bool udp_gso;               /* send batches with UDP_SEGMENT (off once the kernel refuses) */
	struct event *udp_ev;
	int tcp_fd;
	struct event *tcp_ev;
	struct econn *conns;
	int npending;
	struct event *housekeeping;
	struct event *reaper;
	int ctl_fd;
	struct event *ctl_ev;
	struct event *sig_term, *sig_int, *sig_hup;
	int exit_code;
	struct log_ratelimit rl_roam, rl_tcp, rl_version;
	/* Wire messages from the underlay: a UDP batch (one recvmmsg), or rx[0] for TCP. */
	struct buf rx[ENGINE_BATCH];
	struct sockaddr_storage rx_src[ENGINE_BATCH];
	socklen_t rx_srclen[ENGINE_BATCH];
	/* Device frames sealed into wire messages: a UDP batch (one sendmmsg), or tx[0] for TCP. */
	struct buf tx[ENGINE_BATCH];
	struct buf out;
};

static void peer_arm(struct epeer *p, uint64_t now);
static void conn_drop(struct econn *c);
static void client_connect(struct epeer *p);

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static struct epeer *
peer_of(struct session *s)
{
	return (struct epeer *)(void *)((char *)s - offsetof(struct epeer, s));
}

/* Stop or resume reading the device (TCP backpressure). */
static void
peer_pause(struct epeer *p, bool pause)
{
	if (pause == p->tun_paused)
		return;
	p->tun_paused = pause;
	if (pause)
		event_del(p->tun_ev);
	else
		event_add(p->tun_ev, NULL);
}

/* Write out what is queued on a connection; wait for writability if the socket is full. */
static void
conn_flush(struct econn *c)
{
	int rc = tcp_flush(&c->tc);

	if (rc == -1) {
		log_warn("tcp connection to %s: write failed",
		    c->peer ? c->peer->cfg->name : "unidentified peer");
		conn_drop(c);
		return;
	}
	if (rc == 1)
		event_add(c->wev, NULL);
	if (c->peer != NULL)
		peer_pause(c->peer, c->tc.tx_len >= TCP_TX_HIGH);
}

/*
 * Client, UDP: connect the socket to the server (again). The kernel then looks the route up
 * once instead of per datagram and picks the source address and port afresh, which a host that
 * moved to another network needs. Without a route now, datagrams go out with the address until
 * the next try.
 */
static void
client_udp_connect(struct engine *e)
{
	const struct engine_setup *st = e->setup;
	bool was = e->udp_connected;
	char err[256];

	e->udp_connected = udp_connect(e->udp_fd, (const struct sockaddr *)&st->remote,
	    st->remote_len, err, sizeof(err)) == 0;
	if (!e->udp_connected && (was || !e->udp_tried))
		log_warnx("%s: sending unconnected", err);
	e->udp_tried = true;
}

/* A UDP send failed with an error (errno), not a full buffer. If the source address went away
 * or there is no route, a client connects again; a port closed at the server or a firewall is
 * not the client's socket to fix, and the server's socket has nothing to redo. */
static void
udp_send_failed(struct engine *e)
{
	if (e->setup->server)
		return;
	if (errno == ENETUNREACH || errno == EHOSTUNREACH || errno == ENETDOWN ||
	    errno == EADDRNOTAVAIL || errno == EINVAL)
		client_udp_connect(e);
}

/* Where to send a UDP peer's datagrams: its endpoint, or NULL on the client's connected
 * socket. */
static const struct sockaddr *
peer_dst(const struct epeer *p)
{
	return p->e->udp_connected ? NULL : (const struct sockaddr *)&p->ep;
}

/* Send one wire message to the peer by its transport. */
static void
peer_send(struct epeer *p, const struct buf *b)
{
	struct engine *e = p->e;
	int rc;

	if (p->cfg->proto == VT_TCP) {
		if (p->conn == NULL || p->conn->tc.connecting) {
			p->s.stats.drops[DROP_DEVICE]++;
			return;
		}
		if (tcp_queue(&p->conn->tc, b->mem + b->off, b->len) == -1)
			p->s.stats.drops[DROP_DEVICE]++;
		else if (p->conn->tc.tx_len >= TCP_TX_HIGH)
			conn_flush(p->conn);
		return;
	}
	if (p->ep_len == 0) {
		p->s.stats.drops[DROP_NO_SESSION]++;
		return;
	}
	/* A client without a route at its last connect tries again with each handshake or
	 * keepalive message. */
	if (!e->setup->server && !e->udp_connected)
		client_udp_connect(e);
	rc = udp_send(e->udp_fd, b->mem + b->off, b->len, peer_dst(p), p->ep_len);
	if (rc != 0)
		p->s.stats.drops[DROP_DEVICE]++;
	if (rc == -1)
		udp_send_failed(e);
}

/*
 * Send n sealed messages to a UDP peer with one sendmmsg. What the socket does not take is
 * offered once more, then counted as device drops.
 */
static void
peer_send_batch(struct epeer *p, struct buf *bufs, int n)
{
	struct engine *e = p->e;
	int sent = 0, rc;
	bool gso;

	if (n == 0)
		return;
	if (p->ep_len == 0) {
		p->s.stats.drops[DROP_NO_SESSION] += (uint64_t)n;
		return;
	}
	for (int tries = 0; tries < 2 && sent < n; tries++) {
		gso = e->udp_gso;
		rc = udp_send_batch(e->udp_fd, bufs + sent, n - sent, peer_dst(p), p->ep_len,
		    &e->udp_gso);
		if (rc == -1)
			udp_send_failed(e);
		else
			sent += rc;
		if (gso && !e->udp_gso)
			log_info("udp: the kernel refuses segmentation offload on this path (%s); "
			    "sending one datagram per message", strerror(errno));
	}
	p->s.stats.drops[DROP_DEVICE] += (uint64_t)(n - sent);
}

/* End of a batch for a peer: push TCP data out, re-arm its timer. */
static void
peer_finish(struct epeer *p, uint64_t now)
{
	if (p->conn != NULL && !p->conn->tc.connecting && p->conn->tc.tx_len > 0)
		conn_flush(p->conn);
	peer_arm(p, now);
}

/* The session went down: drop its TCP connection, a client dials again; a UDP client connects
 * its socket again, in case the host moved and its old source address leads nowhere now. */
static void
peer_down(struct epeer *p)
{
	if (p->conn != NULL) {
		struct econn *c = p->conn;

		conn_flush(c);
		conn_drop(c);
	}
	if (!p->e->setup->server && p->cfg->proto == VT_UDP)
		client_udp_connect(p->e);
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct epeer *p = arg;
	struct engine *e = p->e;
	uint64_t now = now_ms();
	enum session_verdict v;

	p->timer_at = 0;
	for (int i = 0; i < 8; i++) {
		v = session_tick(&p->s, now, &e->out);
		if (v == SV_SEND) {
			peer_send(p, &e->out);
		} else if (v == SV_DOWN) {
			peer_down(p);
			if (p->cfg->proto == VT_TCP)
				return;
		} else {
			break;
		}
	}
	peer_finish(p, now);
}

static void
peer_arm(struct epeer *p, uint64_t now)
{
	uint64_t at = session_next_deadline(&p->s, now);
	struct timeval tv;

	/* A TCP client without a connection has nothing to send: the reconnect timer runs. */
	if (p->cfg->proto == VT_TCP && p->s.initiator &&
	    (p->conn == NULL || p->conn->tc.connecting))
		at = UINT64_MAX;
	if (at == UINT64_MAX) {
		if (p->timer_at != 0)
			event_del(p->timer);
		p->timer_at = 0;
		return;
	}
	if (at == p->timer_at && evtimer_pending(p->timer, NULL))
		return;
	at = at > now ? at : now;
	tv.tv_sec = (time_t)((at - now) / 1000);
	tv.tv_usec = (suseconds_t)((at - now) % 1000) * 1000;
	evtimer_add(p->timer, &tv);
	p->timer_at = at;
}

/*
 * A client with no keys yet keeps the first frames from its device instead of dropping them, so
 * the packet that brought the link up (a ping, a TCP SYN) is not lost; they leave as soon as the
 * handshake completes. True if the frame in b was kept (then it is not counted as dropped).
 */
static bool
stage_frame(struct epeer *p, const struct buf *b)
{
	struct buf *slot;

	if (p->stage == NULL || p->nstage == ENGINE_STAGE || p->s.state == SESSION_ESTABLISHED)
		return false;
	slot = &p->stage[p->nstage++];
	buf_reset(slot);
	memcpy(buf_put(slot, b->len), b->mem + b->off, b->len);
	p->s.stats.drops[DROP_NO_KEY]--;
	return true;
}

/* Keys are ready: send the kept frames, oldest first. */
static void
stage_flush(struct epeer *p, uint64_t now)
{
	for (int i = 0; i < p->nstage; i++)
		if (session_encap(&p->s, &p->stage[i], now) == SV_SEND)
			peer_send(p, &p->stage[i]);
	p->nstage = 0;
}

/* Device -> TCP: each sealed frame is queued on the connection (flushed by peer_finish). */
static void
tun_to_tcp(struct epeer *p, uint64_t now)
{
	struct engine *e = p->e;
	ssize_t n;

	for (int i = 0; i < ENGINE_BATCH; i++) {
		if (p->conn != NULL && p->conn->tc.tx_len >= TCP_TX_HIGH) {
			conn_flush(p->conn);
			if (p->conn != NULL && p->conn->tc.tx_len >= TCP_TX_HIGH)
				break;
		}
		n = tun_read(p->tun_fd, &e->tx[0]);
		if (n <= 0) {
			if (n == -1)
				log_warn("device %s: read", p->cfg->device);
			break;
		}
		if (session_encap(&p->s, &e->tx[0], now) == SV_SEND)
			peer_send(p, &e->tx[0]);
		else
			stage_frame(p, &e->tx[0]);
	}
}

/* Device -> UDP: each frame is sealed in its own e->tx slot, then the batch leaves in one
 * sendmmsg. */
static void
tun_to_udp(struct epeer *p, uint64_t now)
{
	struct engine *e = p->e;
	ssize_t r;
	int n = 0;

	for (int i = 0; i < ENGINE_BATCH; i++) {
		r = tun_read(p->tun_fd, &e->tx[n]);
		if (r <= 0) {
			if (r == -1)
				log_warn("device %s: read", p->cfg->device);
			break;
		}
		if (session_encap(&p->s, &e->tx[n], now) == SV_SEND)
			n++;
		else
			stage_frame(p, &e->tx[n]);
	}
	peer_send_batch(p, e->tx, n);
}

static void
tun_cb(evutil_socket_t fd, short what, void *arg)
{
	struct epeer *p = arg;
	uint64_t now = now_ms();

	if (p->cfg->proto == VT_TCP)
		tun_to_tcp(p, now);
	else
		tun_to_udp(p, now);
	peer_finish(p, now);
}

/* Deliver a decrypted frame to the peer's device. */
static void
peer_deliver(struct epeer *p, struct buf *b)
{
	int rc = tun_write(p->tun_fd, buf_data(b), b->len);

	if (rc != 0) {
		p->s.stats.drops[DROP_DEVICE]++;
		p->s.stats.rx_packets--;
		p->s.stats.rx_bytes -= b->len;
	}
}

/* Record where a peer's authenticated packets come from (UDP roaming). */
static void
peer_set_endpoint(struct epeer *p, const struct sockaddr *src, socklen_t srclen)
{
	char a[80];

	if (p->ep_len == srclen && addr_equal((struct sockaddr *)&p->ep, src))
		return;
	addr_format(src, a, sizeof(a));
	if (p->ep_len != 0 && log_ratelimit_ok(&p->e->rl_roam))
		log_info("peer %s: endpoint now %s", p->cfg->name, a);
	else if (p->ep_len == 0)
		log_info("peer %s: endpoint %s", p->cfg->name, a);
	memcpy(&p->ep, src, srclen);
	p->ep_len = srclen;
}

static void
conn_bind(struct econn *c, struct epeer *p)
{
	char a[80];

	if (c->peer == p)
		return;
	if (p->conn != NULL && p->conn != c) {
		struct econn *old = p->conn;

		/* Detach first: the session already holds the new handshake's keys. */
		log_info("peer %s: new connection replaces the old one", p->cfg->name);
		old->peer = NULL;
		p->conn = NULL;
		conn_drop(old);
	}
	c->peer = p;
	p->conn = c;
	if (c->pending) {
		c->pending = false;
		c->e->npending--;
	}
	addr_format((struct sockaddr *)&c->addr, a, sizeof(a));
	log_info("peer %s: tcp connection from %s", p->cfg->name, a);
}

/* Log a completed handshake (the session counts them) with the peer's address. */
static void
note_handshake(struct epeer *p, uint64_t before, bool was_up)
{
	char a[80] = "-";

	if (p->s.stats.handshakes == before)
		return;
	if (p->conn != NULL)
		addr_format((struct sockaddr *)&p->conn->addr, a, sizeof(a));
	else if (p->ep_len != 0)
		addr_format((struct sockaddr *)&p->ep, a, sizeof(a));
	if (was_up)
		log_info("peer %s: rekeyed (%s)", p->cfg->name, a);
	else
		log_info("peer %s: session up (%s, %s)", p->cfg->name, a,
		    p->cfg->proto == VT_TCP ? "tcp" : "udp");
}

/*
 * One wire message b (one of e->rx) from the underlay: from a UDP source, or from TCP
 * connection c. Replies are built in e->out.
 */
static void
handle_message(struct engine *e, struct econn *c, struct buf *b, const struct sockaddr *src,
    socklen_t srclen, uint64_t now)
{
	const uint8_t *m = buf_data(b);
	struct session_keypair *kp;
	struct session *s = NULL;
	struct epeer *p;
	enum session_verdict v;
	uint64_t before;
	bool was_up;

	switch (wire_classify(m, b->len)) {
	case WIRE_HS_INIT:
		if (!e->setup->server)
			break;
		v = session_respond(e->sessions, e->npeers, &e->local, src, srclen, m, b->len,
		    false, now, &e->out, &s);
		if (v != SV_SEND)
			return;
		if (s != NULL && s->respond_ok) {
			p = peer_of(s);
			if ((p->cfg->proto == VT_TCP) != (c != NULL)) {
				/* Right key, wrong transport: refuse rather than guess. */
				p->s.stats.drops[DROP_MISMATCH]++;
				return;
			}
			if (c != NULL)
				conn_bind(c, p);
			else
				peer_set_endpoint(p, src, srclen);
			peer_send(p, &e->out);
			peer_finish(p, now);
		} else if (c != NULL) {
			/* A cookie or a refusal goes back where the initiation came from; the peer's
			 * endpoint and connection stay as they are. */
			tcp_queue(&c->tc, buf_data(&e->out), e->out.len);
			conn_flush(c);
		} else {
			udp_send(e->udp_fd, buf_data(&e->out), e->out.len, src, srclen);
		}
		return;
	case WIRE_HS_RESP:
		s = session_find_index(e->sessions, e->npeers, wire_get32(m + 8), &kp);
		if (s == NULL || kp != NULL)
			break;
		p = peer_of(s);
		before = s->stats.handshakes;
		was_up = s->stats.up_since != 0;
		if (session_consume_response(s, m, b->len, now, &e->out) == SV_SEND) {
			p->backoff = 0;
			peer_send(p, &e->out);
			stage_flush(p, now);
		}
		note_handshake(p, before, was_up);
		peer_finish(p, now);
		return;
	case WIRE_COOKIE:
		s = session_find_index(e->sessions, e->npeers, wire_get32(m + 4), &kp);
		if (s == NULL || kp != NULL)
			break;
		p = peer_of(s);
		session_consume_cookie(s, m, b->len, now);
		peer_finish(p, now);
		return;
	case WIRE_DATA:
		s = session_find_index(e->sessions, e->npeers, wire_get32(m + 4), &kp);
		if (s == NULL || kp == NULL) {
			e->local.drops[DROP_NO_SESSION]++;
			return;
		}
		p = peer_of(s);
		if ((c != NULL && c->peer != p) || (c == NULL && p->cfg->proto == VT_TCP)) {
			e->local.drops[DROP_NO_SESSION]++;
			return;
		}
		before = s->stats.handshakes;
		was_up = s->stats.up_since != 0;
		v = session_decap(s, kp, b, now);
		if (v == SV_DELIVER || v == SV_NONE) {
			if (c == NULL && e->setup->server)
				peer_set_endpoint(p, src, srclen);
			note_handshake(p, before, was_up);
			if (v == SV_DELIVER)
				peer_deliver(p, b);
		} else if (v == SV_DOWN) {
			peer_down(p);
			if (p->s.initiator && p->cfg->proto == VT_TCP)
				return;
		}
		peer_finish(p, now);
		return;
	default:
		if (b->len >= 2 && m[0] >= WIRE_HS_INIT && m[0] <= WIRE_DATA &&
		    m[1] != WIRE_VERSION && log_ratelimit_ok(&e->rl_version)) {
			char a[80];

			addr_format(src, a, sizeof(a));
			log_warnx("packet of protocol version %u from %s: we speak version %u",
			    m[1], a, WIRE_VERSION);
		}
		break;
	}
	e->local.drops[DROP_MALFORMED]++;
}

/* The UDP socket is readable: one recvmmsg of up to ENGINE_BATCH datagrams, then each in
 * turn. */
static void
udp_cb(evutil_socket_t fd, short what, void *arg)
{
	struct engine *e = arg;
	uint64_t now = now_ms();
	int n;

	n = udp_recv_batch(e->udp_fd, e->rx, e->rx_src, e->rx_srclen, ENGINE_BATCH);
	for (int i = 0; i < n; i++)
		handle_message(e, NULL, &e->rx[i], (struct sockaddr *)&e->rx_src[i],
		    e->rx_srclen[i], now);
}

/*
 * Close a connection. Its memory is released later by the reaper, so a callback that closed it
 * may still look at c->dead.
 */
static void
conn_drop(struct econn *c)
{
	struct engine *e = c->e;

	if (c->dead)
		return;
	c->dead = true;
	event_del(c->rev);
	event_del(c->wev);
	tcp_close(&c->tc);
	if (c->peer != NULL) {
		struct epeer *p = c->peer;

		c->peer = NULL;
		p->conn = NULL;
		peer_pause(p, false);
		if (p->s.state != SESSION_IDLE || p->s.hs_active)
			session_reset(&p->s, now_ms());
		if (p->s.initiator)
			client_connect(p);
		else
			peer_arm(p, now_ms());
	}
	if (c->pending) {
		c->pending = false;
		e->npending--;
	}
	event_active(e->reaper, EV_TIMEOUT, 0);
}

/* Free the memory of closed connections (outside of their callbacks). */
static void
reaper_cb(evutil_socket_t fd, short what, void *arg)
{
	struct engine *e = arg;
	struct econn **pp = &e->conns, *c;

	while ((c = *pp) != NULL) {
		if (c->dead) {
			*pp = c->next;
			event_free(c->rev);
			event_free(c->wev);
			free(c);
		} else {
			pp = &c->next;
		}
	}
}

static void
conn_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct econn *c = arg;
	struct engine *e = c->e;
	uint64_t now = now_ms();
	ssize_t n;
	int rc;

	n = tcp_fill(&c->tc);
	for (int i = 0; i < ENGINE_BATCH * 4; i++) {
		rc = tcp_next_message(&c->tc, &e->rx[0]);
		if (rc == 0)
			break;
		if (rc == -1) {
			if (log_ratelimit_ok(&e->rl_tcp))
				log_warnx("tcp connection: corrupt stream, closing");
			e->local.drops[DROP_MALFORMED]++;
			conn_drop(c);
			return;
		}
		handle_message(e, c, &e->rx[0], (struct sockaddr *)&c->addr, c->addrlen, now);
		if (c->dead)
			return;
	}
	if (n == -1) {
		if (c->peer != NULL)
			log_info("peer %s: tcp connection closed", c->peer->cfg->name);
		conn_drop(c);
	}
}

static void
conn_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct econn *c = arg;
	char err[128];

	if (c->tc.connecting) {
		struct epeer *p = c->peer;
		char a[80];

		addr_format((struct sockaddr *)&c->addr, a, sizeof(a));
		if (tcp_connect_done(&c->tc, err, sizeof(err)) == -1) {
			log_warnx("peer %s: connect to %s: %s", p->cfg->name, a, err);
			conn_drop(c);
			return;
		}
		log_info("peer %s: connected to %s", p->cfg->name, a);
		event_add(c->rev, NULL);
		if (session_initiate(&p->s, now_ms(), &c->e->out) == SV_SEND)
			peer_send(p, &c->e->out);
		peer_finish(p, now_ms());
		return;
	}
	conn_flush(c);
}

static struct econn *
conn_new(struct engine *e)
{
	struct econn *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->e = e;
	c->tc.fd = -1;
	c->opened = now_ms();
	return c;
}

static void
conn_events(struct econn *c)
{
	c->rev = event_new(c->e->base, c->tc.fd, EV_READ | EV_PERSIST, conn_read_cb, c);
	c->wev = event_new(c->e->base, c->tc.fd, EV_WRITE, conn_write_cb, c);
	if (c->rev == NULL || c->wev == NULL)
		fatalx("event_new failed");
	c->next = c->e->conns;
	c->e->conns = c;
}

static void
accept_cb(evutil_socket_t fd, short what, void *arg)
{
	struct engine *e = arg;
	struct econn *c;

	for (int i = 0; i < 16; i++) {
		c = conn_new(e);
		if (c == NULL)
			return;
		if (tcp_accept(e->tcp_fd, &c->tc, &c->addr, &c->addrlen) != 0) {
			free(c);
			return;
		}
		if (e->npending >= ENGINE_MAX_PENDING) {
			/* Too many connections that never said who they are: the oldest goes, so
			 * idle connections cannot lock real clients out. */
			struct econn *it, *oldest = NULL;

			for (it = e->conns; it != NULL; it = it->next)
				if (it->pending && !it->dead &&
				    (oldest == NULL || it->opened < oldest->opened))
					oldest = it;
			if (oldest != NULL)
				conn_drop(oldest);
			e->local.drops[DROP_RATELIMIT]++;
		}
		e->npending++;
		c->pending = true;
		conn_events(c);
		event_add(c->rev, NULL);
	}
}

static void
reconnect_cb(evutil_socket_t fd, short what, void *arg)
{
	struct epeer *p = arg;
	struct engine *e = p->e;
	const struct engine_setup *st = e->setup;
	char err[256], a[80];
	struct econn *c;

	c = conn_new(e);
	if (c == NULL)
		fatalx("out of memory");
	memcpy(&c->addr, &st->remote, st->remote_len);
	c->addrlen = st->remote_len;
	addr_format((struct sockaddr *)&c->addr, a, sizeof(a));
	if (tcp_connect(&c->tc, (struct sockaddr *)&st->remote, st->remote_len, err,
	    sizeof(err)) == -1) {
		log_warnx("peer %s: %s", p->cfg->name, err);
		free(c);
		client_connect(p);
		return;
	}
	c->peer = p;
	p->conn = c;
	conn_events(c);
	log_debug("peer %s: connecting to %s", p->cfg->name, a);
	if (c->tc.connecting) {
		event_add(c->wev, NULL);
	} else {
		c->tc.connecting = true;
		conn_write_cb(c->tc.fd, EV_WRITE, c);
	}
}

/* Client, TCP: dial (again) after the current back-off. */
static void
client_connect(struct epeer *p)
{
	struct timeval tv;

	tv.tv_sec = (time_t)(p->backoff / 1000);
	tv.tv_usec = (suseconds_t)(p->backoff % 1000) * 1000;
	if (p->backoff > 0)
		log_info("peer %s: reconnecting in %llu s", p->cfg->name,
		    (unsigned long long)(p->backoff / 1000));
	evtimer_add(p->reconnect_ev, &tv);
	p->backoff = p->backoff == 0 ? 1000 : p->backoff * 2;
	if (p->backoff > ENGINE_RECONNECT_MAX)
		p->backoff = ENGINE_RECONNECT_MAX;
}

static void
housekeeping_cb(evutil_socket_t fd, short what, void *arg)
{
	struct engine *e = arg;
	uint64_t now = now_ms();
	struct econn *c, *next;

	for (c = e->conns; c != NULL; c = next) {
		next = c->next;
		if (c->pending && !c->dead && now - c->opened >= ENGINE_PENDING_TIMEOUT)
			conn_drop(c);
	}
}

/* Snapshot every session for the control socket. */
static long
status_reply(struct engine *e, const char *line, size_t len, char *out, size_t cap)
{
	static struct control_status st[CONFIG_MAX_PEERS];
	static const char *const ciphers[] = { "aes-256-gcm", "chacha20-poly1305" };
	struct control_request req;
	int64_t wall = (int64_t)time(NULL);

	if (control_parse_request(line, len, &req) == -1)
		return snprintf(out, cap, "error: unknown request\n");
	for (int i = 0; i < e->npeers; i++) {
		struct epeer *p = &e->peers[i];
		struct control_status *c = &st[i];

		memset(c, 0, sizeof(*c));
		snprintf(c->peer, sizeof(c->peer), "%s", p->cfg->name);
		c->role = e->setup->server ? "server" : "client";
		c->type = p->cfg->type == VT_TAP ? "tap" : "tun";
		c->proto = p->cfg->proto == VT_TCP ? "tcp" : "udp";
		snprintf(c->device, sizeof(c->device), "%s", p->cfg->device);
		if (p->cfg->proto == VT_TCP && p->conn != NULL)
			addr_format((struct sockaddr *)&p->conn->addr, c->endpoint,
			    sizeof(c->endpoint));
		else if (p->ep_len != 0)
			addr_format((struct sockaddr *)&p->ep, c->endpoint,
			    sizeof(c->endpoint));
		c->state = session_state_name(p->s.state);
		c->cipher = ciphers[p->cfg->cipher];
		c->compress = p->cfg->compress == VT_COMPRESS_LZ4 ? "lz4" : "none";
		c->now = wall;
		c->stats = p->s.stats;
	}
	return control_format(&req, st, e->npeers, e->local.drops, out, cap);
}

static void
ctl_read_cb(struct bufferevent *bev, void *arg)
{
	struct engine *e = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	char line[CONTROL_REQ_MAX + 2];
	size_t n;
	long len;
	char *reply;

	if (evbuffer_search_eol(in, NULL, NULL, EVBUFFER_EOL_LF).pos == -1) {
		if (evbuffer_get_length(in) > CONTROL_REQ_MAX)
			bufferevent_free(bev);
		return;
	}
	n = evbuffer_remove(in, line, sizeof(line) - 1) > 0 ? strcspn(line, "\n") : 0;
	line[n] = '\0';
	reply = malloc(CONTROL_REPLY_MAX);
	if (reply == NULL) {
		bufferevent_free(bev);
		return;
	}
	len = status_reply(e, line, n, reply, CONTROL_REPLY_MAX);
	if (len < 0)
		len = snprintf(reply, CONTROL_REPLY_MAX, "error: reply too large\n");
	bufferevent_write(bev, reply, (size_t)len);
	free(reply);
	bufferevent_disable(bev, EV_READ);
}

static void
ctl_write_cb(struct bufferevent *bev, void *arg)
{
	if (!(bufferevent_get_enabled(bev) & EV_READ))
		bufferevent_free(bev);
}

static void
ctl_event_cb(struct bufferevent *bev, short what, void *arg)
{
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
		bufferevent_free(bev);
}

static void
ctl_accept_cb(evutil_socket_t fd, short what, void *arg)
{
	struct engine *e = arg;
	struct bufferevent *bev;
	struct timeval tv = { 5, 0 };
	int cfd;

	cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (cfd == -1)
		return;
	bev = bufferevent_socket_new(e->base, cfd, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		close(cfd);
		return;
	}
	bufferevent_setcb(bev, ctl_read_cb, ctl_write_cb, ctl_event_cb, e);
	bufferevent_set_timeouts(bev, &tv, &tv);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

static void
shutdown_sessions(struct engine *e)
{
	uint64_t now = now_ms();

	for (int i = 0; i < e->npeers; i++) {
		struct epeer *p = &e->peers[i];

		if (session_close(&p->s, now, &e->out) == SV_SEND) {
			peer_send(p, &e->out);
			if (p->conn != NULL && !p->conn->tc.connecting)
				tcp_flush(&p->conn->tc);
		}
	}
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct engine *e = arg;

	if (sig == SIGHUP) {
		log_info("SIGHUP received: configuration reload is not supported yet; restart "
		    "to apply changes");
		return;
	}
	log_info("%s received, shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
	shutdown_sessions(e);
	event_base_loopexit(e->base, NULL);
}

static void
ready_cb(evutil_socket_t fd, short what, void *arg)
{
	struct engine *e = arg;

	if (e->setup->ready != NULL)
		e->setup->ready(e->setup->ready_arg);
}

static void
engine_free(struct engine *e)
{
	for (struct econn *c = e->conns; c != NULL; c = c->next)
		if (!c->dead) {
			c->peer = NULL; /* no reconnect while shutting down */
			c->dead = true;
			tcp_close(&c->tc);
		}
	reaper_cb(-1, 0, e);
	for (int i = 0; i < e->npeers; i++) {
		struct epeer *p = &e->peers[i];

		if (p->tun_ev)
			event_free(p->tun_ev);
		if (p->timer)
			event_free(p->timer);
		if (p->reconnect_ev)
			event_free(p->reconnect_ev);
		session_free(&p->s);
		free(p->stage);
	}
	free(e->peers);
	free(e->sessions);
	if (e->udp_ev)
		event_free(e->udp_ev);
	if (e->tcp_ev)
		event_free(e->tcp_ev);
	if (e->ctl_ev)
		event_free(e->ctl_ev);
	if (e->housekeeping)
		event_free(e->housekeeping);
	if (e->reaper)
		event_free(e->reaper);
	event_free(e->sig_term);
	event_free(e->sig_int);
	event_free(e->sig_hup);
	if (e->udp_fd != -1)
		close(e->udp_fd);
	if (e->tcp_fd != -1)
		close(e->tcp_fd);
	session_local_free(&e->local);
	event_base_free(e->base);
}

int
engine_run(const struct engine_setup *st)
{
	struct engine *e;
	struct timeval hk = { 1, 0 }, zero = { 0, 0 };
	char err[256];
	int rc;

	e = xcalloc(1, sizeof(*e));
	e->setup = st;
	e->udp_fd = st->udp_fd;
	e->tcp_fd = st->tcp_fd;
	e->ctl_fd = st->ctl_fd;
	e->npeers = st->npeers;
	e->base = event_base_new();
	if (e->base == NULL)
		fatalx("event_base_new failed");
	if (session_local_init(&e->local, st->cfg->private_key) == -1)
		fatalx("cannot set up the local key");
	e->peers = xcalloc((size_t)st->npeers, sizeof(*e->peers));
	e->sessions = xcalloc((size_t)st->npeers, sizeof(*e->sessions));

	if (!st->server) {
		/* A client has one peer; a UDP client sends from an unbound socket, connected to
		 * the server. */
		if (st->peers[0]->proto == VT_UDP) {
			e->udp_fd = udp_socket(st->remote.ss_family, err, sizeof(err));
			if (e->udp_fd == -1)
				fatalx("%s", err);
			client_udp_connect(e);
		}
	}
	for (int i = 0; i < st->npeers; i++) {
		struct epeer *p = &e->peers[i];

		p->e = e;
		p->cfg = st->peers[i];
		p->tun_fd = st->tun_fds[i];
		if (!st->server)
			p->stage = xcalloc(ENGINE_STAGE, sizeof(*p->stage));
		if (session_init(&p->s, p->cfg, &e->local, !st->server) == -1)
			fatalx("out of memory");
		e->sessions[i] = &p->s;
		p->tun_ev = event_new(e->base, p->tun_fd, EV_READ | EV_PERSIST, tun_cb, p);
		p->timer = evtimer_new(e->base, timer_cb, p);
		p->reconnect_ev = evtimer_new(e->base, reconnect_cb, p);
		if (p->tun_ev == NULL || p->timer == NULL || p->reconnect_ev == NULL)
			fatalx("event_new failed");
		event_add(p->tun_ev, NULL);
		if (!st->server && p->cfg->proto == VT_UDP) {
			memcpy(&p->ep, &st->remote, st->remote_len);
			p->ep_len = st->remote_len;
		}
	}
	if (e->udp_fd != -1) {
		e->udp_gso = udp_gso_supported(e->udp_fd);
		e->udp_ev = event_new(e->base, e->udp_fd, EV_READ | EV_PERSIST, udp_cb, e);
		event_add(e->udp_ev, NULL);
	}
	if (e->tcp_fd != -1) {
		e->tcp_ev = event_new(e->base, e->tcp_fd, EV_READ | EV_PERSIST, accept_cb, e);
		event_add(e->tcp_ev, NULL);
	}
	if (e->ctl_fd != -1) {
		e->ctl_ev = event_new(e->base, e->ctl_fd, EV_READ | EV_PERSIST, ctl_accept_cb, e);
		event_add(e->ctl_ev, NULL);
	}
	e->reaper = event_new(e->base, -1, 0, reaper_cb, e);
	e->housekeeping = event_new(e->base, -1, EV_PERSIST, housekeeping_cb, e);
	event_add(e->housekeeping, &hk);
	e->sig_term = evsignal_new(e->base, SIGTERM, signal_cb, e);
	e->sig_int = evsignal_new(e->base, SIGINT, signal_cb, e);
	e->sig_hup = evsignal_new(e->base, SIGHUP, signal_cb, e);
	event_add(e->sig_term, NULL);
	event_add(e->sig_int, NULL);
	event_add(e->sig_hup, NULL);
	event_base_once(e->base, -1, EV_TIMEOUT, ready_cb, e, &zero);

	for (int i = 0; i < st->npeers; i++) {
		struct epeer *p = &e->peers[i];

		if (!st->server && p->cfg->proto == VT_TCP)
			client_connect(p);
		else
			peer_arm(p, now_ms());
	}

	rc = event_base_dispatch(e->base);
	if (rc == -1) {
		log_warnx("event loop failed");
		e->exit_code = 1;
	}
	rc = e->exit_code;
	engine_free(e);
	free(e);
	return rc;
}
