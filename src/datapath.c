/*
 * datapath.c - the batch data path and message dispatch (datapath.h). Reads top to bottom:
 * sending (device -> peer), receiving (underlay -> device), handshakes, timers, peers, status.
 */
#define _GNU_SOURCE
#include "datapath.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "control.h"
#include "crypto.h"
#include "tun.h"
#include "wire.h"

static void conn_lost(struct dp *dp, struct tcp_lconn *c, uint64_t now);

/* ---- after every session call ------------------------------------------------------------ */

/* Where the peer's packets come from, for log lines. */
static void
peer_where(const struct peer *p, char *a, size_t len)
{
	snprintf(a, len, "-");
	if (p->tcp.conn != NULL)
		addr_format((const struct sockaddr *)&p->tcp.conn->addr, a, len);
	else if (p->udp.ep_len != 0)
		addr_format((const struct sockaddr *)&p->udp.ep, a, len);
}

/* Client, TCP: dial again after the back-off. */
static void
schedule_dial(struct dp *dp, struct peer *p, uint64_t now)
{
	unsigned r;
	uint64_t d;

	crypto_random(&r, sizeof(r));
	d = tcp_link_backoff(&p->tcp, r);
	if (d > 0)
		log_info("peer %s: reconnecting in %llu.%llu s", p->cfg.name,
		    (unsigned long long)(d / 1000), (unsigned long long)(d % 1000 / 100));
	p->dial_at = now + d;
	peer_changed(&dp->peers, p);
}

/* Act on what the session says happened (ev: what session_take_events returned), then let
 * the engine re-arm the peer's events. */
static void
peer_events(struct dp *dp, struct peer *p, uint64_t now, unsigned ev)
{
	char a[80];

	if (ev & (SE_UP | SE_REKEYED)) {
		peer_where(p, a, sizeof(a));
		if (ev & SE_UP)
			log_info("peer %s: session up (%s, %s)", p->cfg.name, a,
			    names_proto[p->cfg.proto]);
		else
			log_info("peer %s: rekeyed (%s)", p->cfg.name, a);
		if (!dp->server)
			tcp_link_backoff_reset(&p->tcp);
	}
	if (ev & SE_DOWN) {
		/* Drop the TCP connection (a client dials again); a UDP client connects its socket
		 * again, in case the host moved and its old source address leads nowhere now. */
		if (p->tcp.conn != NULL) {
			struct tcp_lconn *c = p->tcp.conn;

			tcp_link_flush(&dp->tcp, c); /* a close message may be queued */
			conn_lost(dp, c, now);
		} else if (p->cfg.proto == VT_UDP) {
			udp_link_session_down(&dp->udp);
		}
	}
	peer_reindex(&dp->peers, p);
	peer_changed(&dp->peers, p);
}

static void
peer_finish(struct dp *dp, struct peer *p, uint64_t now)
{
	peer_events(dp, p, now, session_take_events(&p->s));
}

/* ---- sending ------------------------------------------------------------------------------ */

/* Stop or resume reading the device (TCP backpressure). */
static void
peer_pause(struct dp *dp, struct peer *p, bool pause)
{
	if (pause == p->tun_paused)
		return;
	p->tun_paused = pause;
	peer_changed(&dp->peers, p);
}

/* Write out what is queued on a connection; a peer whose connection is backlogged stops
 * reading its device until it drains. */
static void
conn_flush(struct dp *dp, struct tcp_lconn *c, uint64_t now)
{
	struct peer *p = c->peer;

	if (tcp_link_flush(&dp->tcp, c) == -1) {
		if (log_ratelimit_ok(&dp->rl_tcp))
			log_warn("tcp connection to %s: write failed",
			    p != NULL ? p->cfg.name : "an unidentified peer");
		conn_lost(dp, c, now);
		return;
	}
	if (p != NULL)
		peer_pause(dp, p, tcp_link_backlogged(c));
}

/* Send one wire message (a handshake message, keepalive, close) to the peer by its link. */
static void
peer_send(struct dp *dp, struct peer *p, const struct buf *b, uint64_t now)
{
	struct tcp_lconn *c = p->tcp.conn;

	if (p->cfg.proto == VT_TCP) {
		if (c == NULL || tcp_link_queue(c, buf_data((struct buf *)b), b->len) == -1)
			p->traffic.drops[DROP_DEVICE]++;
		else if (tcp_link_backlogged(c))
			conn_flush(dp, c, now);
		return;
	}
	if (udp_link_send(&dp->udp, &p->udp, b) == -1)
		p->traffic.drops[DROP_DEVICE]++;
}

/* A client with no keys yet keeps the first frames from its device instead of dropping them,
 * so the packet that brought the link up (a ping, a TCP SYN) is not lost; they leave as soon
 * as the handshake completes. False if there is no room (the frame is then a no_key drop). */
static bool
stage_frame(struct peer *p, const struct buf *b)
{
	struct buf *slot;

	if (p->stage == NULL || p->nstage == PEER_STAGE || session_is_up(&p->s))
		return false;
	slot = &p->stage[p->nstage++];
	buf_reset(slot);
	memcpy(buf_put(slot, b->len), b->mem + b->off, b->len);
	return true;
}

/* A frame from the device could not be sealed: keep it for the first keys, or count it. */
static void
no_key(struct peer *p, const struct buf *b)
{
	if (!stage_frame(p, b))
		p->traffic.drops[DROP_NO_KEY]++;
}

/* Queue one sealed frame of len bytes on the peer's connection. */
static void
tcp_send_frame(struct dp *dp, struct peer *p, const struct buf *b, size_t len, uint64_t now)
{
	struct tcp_lconn *c = p->tcp.conn;

	if (c == NULL || tcp_link_queue(c, b->mem + b->off, b->len) == -1) {
		p->traffic.drops[DROP_DEVICE]++;
		return;
	}
	p->traffic.tx_packets++;
	p->traffic.tx_bytes += len;
	if (tcp_link_backlogged(c))
		conn_flush(dp, c, now);
}

/* Keys are ready: send the kept frames, oldest first. */
static void
stage_flush(struct dp *dp, struct peer *p, uint64_t now)
{
	for (int i = 0; i < p->nstage; i++) {
		struct buf *b = &p->stage[i];
		size_t len = b->len;

		if (session_encap(&p->s, b, now) != SV_SEND) {
			p->traffic.drops[DROP_NO_KEY]++;
		} else if (p->cfg.proto == VT_TCP) {
			tcp_send_frame(dp, p, b, len, now);
		} else if (udp_link_send(&dp->udp, &p->udp, b) == 0) {
			p->traffic.tx_packets++;
			p->traffic.tx_bytes += len;
		} else {
			p->traffic.drops[DROP_DEVICE]++;
		}
	}
	p->nstage = 0;
}

/* Read a frame from the device into b: 1, 0 if none waits, -1 to stop (logged). */
static int
device_read(struct dp *dp, struct peer *p, struct buf *b)
{
	ssize_t r = tun_read(p->tun_fd, b);

	if (r > 0)
		return 1;
	if (r == -1 && errno == EMSGSIZE) {
		p->traffic.drops[DROP_DEVICE]++;
		return 0;
	}
	if (r == -1 && log_ratelimit_ok(&dp->rl_device))
		log_warn("device %s: read", p->cfg.device);
	return r == 0 ? 0 : -1;
}

/* Device -> TCP: each sealed frame is queued on the connection, flushed at the end. */
static void
tun_to_tcp(struct dp *dp, struct peer *p, uint64_t now)
{
	struct buf *b = &dp->tx[0];

	for (int i = 0; i < DP_BATCH; i++) {
		struct tcp_lconn *c = p->tcp.conn;

		if (c != NULL && tcp_link_backlogged(c)) {
			conn_flush(dp, c, now);
			if (p->tcp.conn == NULL || tcp_link_backlogged(p->tcp.conn))
				break;
		}
		if (device_read(dp, p, b) <= 0)
			break;
		dp->tx_len[0] = b->len;
		if (session_encap(&p->s, b, now) == SV_SEND)
			tcp_send_frame(dp, p, b, dp->tx_len[0], now);
		else
			no_key(p, b);
	}
	if (p->tcp.conn != NULL)
		conn_flush(dp, p->tcp.conn, now);
}

/* Device -> UDP: each frame is sealed in its own dp->tx slot, then the batch leaves in one
 * sendmmsg (UDP GSO runs where the kernel takes them). */
static void
tun_to_udp(struct dp *dp, struct peer *p, uint64_t now)
{
	int n = 0, sent;

	for (int i = 0; i < DP_BATCH; i++) {
		if (device_read(dp, p, &dp->tx[n]) <= 0)
			break;
		dp->tx_len[n] = dp->tx[n].len;
		if (session_encap(&p->s, &dp->tx[n], now) == SV_SEND)
			n++;
		else
			no_key(p, &dp->tx[n]);
	}
	sent = udp_link_send_batch(&dp->udp, &p->udp, dp->tx, n);
	for (int i = 0; i < sent; i++) {
		p->traffic.tx_packets++;
		p->traffic.tx_bytes += dp->tx_len[i];
	}
	p->traffic.drops[DROP_DEVICE] += (uint64_t)(n - sent);
}

void
dp_tun_readable(struct dp *dp, struct peer *p, uint64_t now)
{
	if (p->cfg.proto == VT_TCP)
		tun_to_tcp(dp, p, now);
	else
		tun_to_udp(dp, p, now);
	peer_finish(dp, p, now);
}

/* ---- receiving ---------------------------------------------------------------------------- */

/* Deliver a decrypted frame to the peer's device. */
static void
deliver(struct dp *dp, struct peer *p, struct buf *b)
{
	int rc = tun_write(p->tun_fd, buf_data(b), b->len);

	if (rc == 0) {
		p->traffic.rx_packets++;
		p->traffic.rx_bytes += b->len;
		return;
	}
	p->traffic.drops[DROP_DEVICE]++;
	if (rc == -1 && log_ratelimit_ok(&dp->rl_device))
		log_warn("device %s: write", p->cfg.device);
}

/* A reply (response, cookie reply, refusal) goes back where the message came from: the UDP
 * source or the TCP connection, wherever the peer's endpoint is. */
static void
reply(struct dp *dp, struct tcp_lconn *c, const struct sockaddr *src, socklen_t srclen,
    const struct buf *b, uint64_t now)
{
	if (c == NULL) {
		udp_link_reply(&dp->udp, src, srclen, b);
		return;
	}
	if (tcp_link_queue(c, b->mem + b->off, b->len) == 0)
		conn_flush(dp, c, now);
}

/* Data: find the key by receiver index, check the link may carry it, open it. */
static void
rx_data(struct dp *dp, struct tcp_lconn *c, struct buf *b, const struct sockaddr *src,
    socklen_t srclen, uint64_t now)
{
	uint32_t idx = wire_get32(buf_data(b) + 4);
	struct session_keypair *kp;
	enum session_slot slot;
	enum session_verdict v;
	struct peer *p;
	unsigned ev;

	p = peer_by_index(&dp->peers, idx, &slot, &kp);
	if (p == NULL || kp == NULL) {
		dp->drops[DROP_NO_SESSION]++;
		return;
	}
	/* A TCP peer's data only on the connection that carries it (or that carried the
	 * handshake of exactly this key); a UDP peer's never over TCP, and the reverse. Counted
	 * on the peer whose key it names. */
	if (c != NULL ? !tcp_link_accepts(c, p, idx) : p->cfg.proto == VT_TCP) {
		p->traffic.drops[DROP_NO_SESSION]++;
		return;
	}
	v = session_decap(&p->s, kp, b, now);
	ev = session_take_events(&p->s);
	if (v != SV_DROP) {
		/* Authenticated: only now may the link move (roaming), and only keys this packet
		 * confirmed bind a connection that carried their handshake. */
		if (c != NULL && c->peer == NULL && (ev & SE_CONFIRMED) &&
		    tcp_link_bind(&dp->tcp, c, &p->tcp, p) == 0) {
			char a[80];

			addr_format((const struct sockaddr *)&c->addr, a, sizeof(a));
			log_info("peer %s: tcp connection from %s", p->cfg.name, a);
			/* The old connection went with its backlog: read the device again. */
			peer_pause(dp, p, tcp_link_backlogged(c));
		} else if (c == NULL) {
			udp_link_set_endpoint(&dp->udp, &p->udp, p->cfg.name, src, srclen);
		}
		if (v == SV_DELIVER)
			deliver(dp, p, b);
	}
	peer_events(dp, p, now, ev);
}

/* Initiator: a response or cookie reply to our initiation. */
static void
rx_handshake_reply(struct dp *dp, struct tcp_lconn *c, struct buf *b, enum wire_type t,
    uint64_t now)
{
	const uint8_t *m = buf_data(b);
	uint32_t idx = wire_get32(m + (t == WIRE_HS_RESP ? 8 : 4));
	struct session_keypair *kp;
	enum session_slot slot;
	struct peer *p;

	p = peer_by_index(&dp->peers, idx, &slot, &kp);
	if (dp->server || p == NULL || slot != SLOT_HANDSHAKE ||
	    (c != NULL && c->peer != p) || (c == NULL && p->cfg.proto == VT_TCP)) {
		dp->drops[DROP_NO_SESSION]++;
		return;
	}
	if (t == WIRE_COOKIE) {
		session_consume_cookie(&p->s, m, b->len, now);
	} else if (session_consume_response(&p->s, m, b->len, now, &dp->out) == SV_SEND) {
		peer_send(dp, p, &dp->out, now);
		stage_flush(dp, p, now);
		if (p->tcp.conn != NULL)
			conn_flush(dp, p->tcp.conn, now);
	}
	peer_finish(dp, p, now);
}

/* An initiation: only its mac1 is checked now (garbage costs one MAC); the Diffie-Hellman
 * waits in the handshake queue, whose length is the load measure. */
static void
rx_initiation(struct dp *dp, struct tcp_lconn *c, struct buf *b, const struct sockaddr *src,
    socklen_t srclen, uint64_t now)
{
	if (!dp->server) {
		dp->drops[DROP_MALFORMED]++;
		return;
	}
	if (!cookie_mac1_ok(&dp->local.checker, buf_data(b), b->len)) {
		dp->drops[DROP_AUTH]++;
		return;
	}
	if (!hsq_push(dp->hsq, buf_data(b), src, srclen, c != NULL ? c->id : 0, now))
		dp->drops[DROP_RATELIMIT]++;
}

/* One wire message b from the underlay: from a UDP source, or from TCP connection c. */
static void
dispatch(struct dp *dp, struct tcp_lconn *c, struct buf *b, const struct sockaddr *src,
    socklen_t srclen, uint64_t now)
{
	const uint8_t *m = buf_data(b);
	enum wire_type t = wire_classify(m, b->len);

	switch (t) {
	case WIRE_DATA:
		rx_data(dp, c, b, src, srclen, now);
		return;
	case WIRE_HS_INIT:
		rx_initiation(dp, c, b, src, srclen, now);
		return;
	case WIRE_HS_RESP:
	case WIRE_COOKIE:
		rx_handshake_reply(dp, c, b, t, now);
		return;
	}
	if (b->len >= 2 && m[0] >= WIRE_HS_INIT && m[0] <= WIRE_DATA && m[1] != WIRE_VERSION &&
	    log_ratelimit_ok(&dp->rl_version)) {
		char a[80];

		addr_format(src, a, sizeof(a));
		log_warnx("packet of protocol version %u from %s: we speak version %u", m[1], a,
		    WIRE_VERSION);
	}
	dp->drops[DROP_MALFORMED]++;
}

void
dp_udp_readable(struct dp *dp, uint64_t now)
{
	int n;

	if (dp->udp.fd == -1)
		return;
	n = udp_recv_batch(dp->udp.fd, dp->rx, dp->rx_src, dp->rx_srclen, DP_BATCH);
	for (int i = 0; i < n; i++)
		dispatch(dp, NULL, &dp->rx[i], (struct sockaddr *)&dp->rx_src[i],
		    dp->rx_srclen[i], now);
}

/* A connection is gone (closed by the peer, corrupt, failed, or its session went down). */
static void
conn_lost(struct dp *dp, struct tcp_lconn *c, uint64_t now)
{
	struct peer *p;

	if ((p = tcp_link_close(&dp->tcp, c)) == NULL)
		return;
	p->tun_paused = false;
	session_reset(&p->s);
	if (!dp->server)
		schedule_dial(dp, p, now);
	peer_finish(dp, p, now);
}

bool
dp_tcp_readable(struct dp *dp, struct tcp_lconn *c, uint64_t now)
{
	ssize_t n;
	int rc;

	if (c->dead)
		return false;
	n = tcp_fill(&c->tc);
	for (int i = 0; i < DP_TCP_BUDGET; i++) {
		rc = tcp_next_message(&c->tc, &dp->rx[0]);
		if (rc == 0)
			break;
		if (rc == -1) {
			if (log_ratelimit_ok(&dp->rl_tcp))
				log_warnx("tcp connection: corrupt stream, closing");
			dp->drops[DROP_MALFORMED]++;
			conn_lost(dp, c, now);
			return false;
		}
		dispatch(dp, c, &dp->rx[0], (struct sockaddr *)&c->addr, c->addrlen, now);
		if (c->dead)
			return false;
		if (i == DP_TCP_BUDGET - 1)
			return true; /* more may wait: the engine comes back after other events */
	}
	if (n == -1) {
		if (c->peer != NULL)
			log_info("peer %s: tcp connection closed", c->peer->cfg.name);
		conn_lost(dp, c, now);
	}
	return false;
}

int
dp_tcp_accept(struct dp *dp, int lfd, uint64_t now)
{
	int evicted = 0, err = 0;

	for (int i = 0; i < 16; i++)
		if (tcp_link_accept(&dp->tcp, lfd, now, &evicted, &err) == NULL)
			break;
	/* Evicted before they said who they are: counted like rate-limited handshakes. */
	dp->drops[DROP_RATELIMIT] += (uint64_t)evicted;
	return err;
}

void
dp_tcp_writable(struct dp *dp, struct tcp_lconn *c, uint64_t now)
{
	struct peer *p = c->peer;
	char err[128], a[80];

	if (c->dead)
		return;
	if (c->tc.connecting) {
		addr_format((const struct sockaddr *)&c->addr, a, sizeof(a));
		if (tcp_link_connected(&dp->tcp, c, err, sizeof(err)) == -1) {
			log_warnx("peer %s: connect to %s: %s", p->cfg.name, a, err);
			schedule_dial(dp, p, now);
			peer_finish(dp, p, now);
			return;
		}
		log_info("peer %s: connected to %s", p->cfg.name, a);
		if (session_initiate(&p->s, peer_new_index(&dp->peers), now, &dp->out) == SV_SEND)
			peer_send(dp, p, &dp->out, now);
		conn_flush(dp, c, now);
		peer_finish(dp, p, now);
		return;
	}
	conn_flush(dp, c, now);
}

/* ---- handshakes --------------------------------------------------------------------------- */

/* Answer one queued initiation. */
static void
answer(struct dp *dp, const struct hsq_item *it, bool under_load, uint64_t now)
{
	const struct sockaddr *src = (const struct sockaddr *)&it->src;
	struct tcp_lconn *c = NULL;
	struct session_init in;
	enum session_verdict v;
	enum vt_drop why;
	struct peer *p;
	uint32_t idx;
	char a[80];

	if (it->conn != 0 && (c = tcp_link_by_id(&dp->tcp, it->conn)) == NULL)
		return; /* the connection went away meanwhile */
	v = session_respond_open(&dp->local, src, it->srclen, it->msg, WIRE_INIT_LEN, under_load,
	    now, &in, &dp->out, &why);
	if (v == SV_DROP) {
		dp->drops[why]++;
		return;
	}
	if (v == SV_REPLY) {
		reply(dp, c, src, it->srclen, &dp->out, now);
		return;
	}
	p = peer_by_key(&dp->peers, in.remote_static);
	if (p == NULL) {
		if (log_ratelimit_ok(&dp->rl_unknown)) {
			addr_format(src, a, sizeof(a));
			log_info("handshake from %s with an unknown key: refused", a);
		}
		dp->drops[DROP_AUTH]++;
		session_init_wipe(&in);
		return;
	}
	/* Refuse before anything of the peer changes: the right key over the other transport,
	 * or on a connection that already carries another peer (it belongs to that one). */
	if ((p->cfg.proto == VT_TCP) != (c != NULL)) {
		p->traffic.drops[DROP_MISMATCH]++;
		session_init_wipe(&in);
		return;
	}
	if (c != NULL && c->peer != NULL && c->peer != p) {
		p->traffic.drops[DROP_MISMATCH]++;
		session_init_wipe(&in);
		return;
	}
	idx = peer_new_index(&dp->peers);
	v = session_respond_finish(&p->s, &in, idx, now, &dp->out);
	if (v == SV_SEND || v == SV_REPLY)
		reply(dp, c, src, it->srclen, &dp->out, now);
	if (v == SV_SEND && c != NULL)
		tcp_link_handshake(c, p, idx);
	peer_finish(dp, p, now);
}

bool
dp_handshakes(struct dp *dp, uint64_t now)
{
	const struct hsq_item *it;

	for (int i = 0; i < DP_HS_BUDGET && (it = hsq_pop(dp->hsq)) != NULL; i++)
		answer(dp, it, hsq_under_load(dp->hsq, now), now);
	return hsq_len(dp->hsq) > 0;
}

/* ---- timers ------------------------------------------------------------------------------- */

void
dp_peer_timer(struct dp *dp, struct peer *p, uint64_t now)
{
	for (int i = 0; i < 8; i++) {
		if (session_tick(&p->s, peer_new_index(&dp->peers), now, &dp->out) != SV_SEND)
			break;
		peer_send(dp, p, &dp->out, now);
	}
	if (p->tcp.conn != NULL)
		conn_flush(dp, p->tcp.conn, now);
	peer_finish(dp, p, now);
}

uint64_t
dp_peer_deadline(const struct dp *dp, const struct peer *p, uint64_t now)
{
	/* A TCP client without a connection has nothing to send: the dial timer runs. */
	if (!dp->server && p->cfg.proto == VT_TCP &&
	    (p->tcp.conn == NULL || p->tcp.conn->tc.connecting))
		return UINT64_MAX;
	return session_next_deadline(&p->s, now);
}

void
dp_peer_dial(struct dp *dp, struct peer *p, uint64_t now)
{
	char err[256], a[80];

	p->dial_at = UINT64_MAX;
	if (p->tcp.conn != NULL)
		return;
	addr_format((const struct sockaddr *)&p->remote, a, sizeof(a));
	if (tcp_link_dial(&dp->tcp, &p->tcp, p, (const struct sockaddr *)&p->remote,
	    p->remote_len, now, err, sizeof(err)) == NULL) {
		log_warnx("peer %s: %s", p->cfg.name, err);
		schedule_dial(dp, p, now);
		return;
	}
	log_debug("peer %s: connecting to %s", p->cfg.name, a);
	peer_changed(&dp->peers, p);
}

void
dp_housekeeping(struct dp *dp, uint64_t now)
{
	tcp_link_expire(&dp->tcp, now);
}

void
dp_shutdown(struct dp *dp, uint64_t now)
{
	for (struct peer *p = peer_first(&dp->peers); p != NULL; p = peer_next(p)) {
		if (session_close(&p->s, now, &dp->out) == SV_SEND)
			peer_send(dp, p, &dp->out, now);
		if (p->tcp.conn != NULL)
			tcp_link_flush(&dp->tcp, p->tcp.conn);
		session_take_events(&p->s); /* nothing to act on: the daemon exits */
	}
}

/* ---- peers -------------------------------------------------------------------------------- */

struct dp *
dp_new(bool server, const uint8_t priv[32])
{
	struct dp *dp = calloc(1, sizeof(*dp));

	if (dp == NULL)
		return NULL;
	dp->server = server;
	peer_table_init(&dp->peers);
	tcp_link_init(&dp->tcp);
	udp_link_server(&dp->udp, -1);
	if ((dp->hsq = malloc(sizeof(*dp->hsq))) == NULL ||
	    session_local_init(&dp->local, priv) == -1) {
		free(dp->hsq);
		free(dp);
		return NULL;
	}
	hsq_init(dp->hsq);
	return dp;
}

void
dp_free(struct dp *dp)
{
	for (struct peer *p = peer_first(&dp->peers); p != NULL; p = peer_next(p)) {
		if (p->tun_fd != -1)
			close(p->tun_fd);
		p->tun_fd = -1;
	}
	tcp_link_free(&dp->tcp);
	peer_table_free(&dp->peers);
	udp_link_close(&dp->udp);
	session_local_free(&dp->local);
	free(dp->hsq);
	crypto_wipe(dp, sizeof(*dp));
	free(dp);
}

void
dp_udp_server(struct dp *dp, int fd)
{
	udp_link_set_fd(&dp->udp, fd);
}

int
dp_udp_client(struct dp *dp, const struct sockaddr *remote, socklen_t len, char *err,
    size_t errlen)
{
	return udp_link_client(&dp->udp, remote, len, err, errlen);
}

struct peer *
dp_peer_add(struct dp *dp, uint32_t id, const struct vt_peer *cfg,
    const struct sockaddr *remote, socklen_t remote_len, int fd, uint64_t now)
{
	struct peer *p = peer_add(&dp->peers, id, cfg, &dp->local, !dp->server);

	if (p == NULL || (remote_len > 0 && remote_len > sizeof(p->remote))) {
		if (p != NULL)
			peer_remove(&dp->peers, p);
		close(fd);
		return NULL;
	}
	p->tun_fd = fd;
	if (remote_len > 0) {
		memcpy(&p->remote, remote, remote_len);
		p->remote_len = remote_len;
	}
	if (!dp->server) {
		p->stage = calloc(PEER_STAGE, sizeof(*p->stage));
		if (p->stage == NULL) {
			p->tun_fd = -1;
			peer_remove(&dp->peers, p);
			close(fd);
			return NULL;
		}
	}
	udp_link_peer_init(&dp->udp, &p->udp);
	if (!dp->server && cfg->proto == VT_TCP)
		p->dial_at = now + tcp_link_backoff(&p->tcp, 0); /* at once; a retry after 1 s */
	peer_changed(&dp->peers, p);
	return p;
}

int
dp_peer_remove(struct dp *dp, struct peer *p, bool keep_fd, uint64_t now)
{
	int fd = p->tun_fd;

	if (session_close(&p->s, now, &dp->out) == SV_SEND)
		peer_send(dp, p, &dp->out, now);
	session_take_events(&p->s);
	if (p->tcp.conn != NULL) {
		struct tcp_lconn *c = p->tcp.conn;

		tcp_link_flush(&dp->tcp, c);
		tcp_link_close(&dp->tcp, c);
	}
	tcp_link_forget(&dp->tcp, p);
	if (!keep_fd && fd != -1) {
		close(fd);
		fd = -1;
	}
	p->tun_fd = -1;
	peer_remove(&dp->peers, p);
	return fd;
}

void
dp_peer_update(struct dp *dp, struct peer *p, const struct vt_peer *cfg)
{
	p->cfg.keepalive = cfg->keepalive;
	p->cfg.timeout = cfg->timeout;
	p->cfg.rekey_interval = cfg->rekey_interval;
	p->cfg.compress_accel = cfg->compress_accel;
	peer_changed(&dp->peers, p);
}

/* ---- status ------------------------------------------------------------------------------- */

/* One peer's snapshot, its counters gathered from the session and the data path. */
static void
snapshot(const struct dp *dp, const struct peer *p, const char *role, int64_t wall,
    struct control_status *c)
{
	const struct session_stats *ss = &p->s.stats;

	memset(c, 0, sizeof(*c));
	snprintf(c->peer, sizeof(c->peer), "%s", p->cfg.name);
	c->role = role;
	c->type = names_devtype[p->cfg.type];
	c->proto = names_proto[p->cfg.proto];
	snprintf(c->device, sizeof(c->device), "%s", p->cfg.device);
	peer_where(p, c->endpoint, sizeof(c->endpoint));
	if (strcmp(c->endpoint, "-") == 0)
		c->endpoint[0] = '\0';
	c->state = session_state_name(session_state(&p->s));
	c->cipher = names_cipher[p->cfg.cipher];
	c->compress = names_compress[p->cfg.compress];
	c->now = wall;
	c->stats.rx_packets = p->traffic.rx_packets;
	c->stats.rx_bytes = p->traffic.rx_bytes;
	c->stats.tx_packets = p->traffic.tx_packets;
	c->stats.tx_bytes = p->traffic.tx_bytes;
	for (int i = 0; i < DROP_MAX; i++)
		c->stats.drops[i] = ss->drops[i] + p->traffic.drops[i];
	c->stats.comp_in = ss->comp_in;
	c->stats.comp_out = ss->comp_out;
	c->stats.comp_raw = ss->comp_raw;
	c->stats.handshakes = ss->handshakes;
	c->stats.last_handshake = ss->last_handshake;
	c->stats.up_since = ss->up_since;
	(void)dp;
}

long
dp_status(struct dp *dp, const char *line, size_t len, const char *role, char **out)
{
	struct control_request req;
	struct control_status *st;
	int64_t wall = (int64_t)time(NULL);
	size_t cap = 64 * 1024;
	long n = -1;
	int i = 0;

	*out = NULL;
	if (control_parse_request(line, len, &req) == -1) {
		*out = strdup("error: unknown request\n");
		return *out != NULL ? (long)strlen(*out) : -1;
	}
	st = calloc((size_t)dp->peers.count + 1, sizeof(*st));
	if (st == NULL)
		return -1;
	for (struct peer *p = peer_first(&dp->peers); p != NULL; p = peer_next(p))
		snapshot(dp, p, role, wall, &st[i++]);
	/* A reply grows with the peers: try larger buffers until it fits. */
	for (; cap <= (size_t)256 * 1024 * 1024; cap *= 4) {
		char *buf = realloc(*out, cap);

		if (buf == NULL)
			break;
		*out = buf;
		if ((n = control_format(&req, st, i, dp->drops, buf, cap)) >= 0)
			break;
	}
	free(st);
	if (n < 0) {
		free(*out);
		*out = NULL;
	}
	return n;
}
