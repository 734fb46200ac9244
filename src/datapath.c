/*
 * datapath.c - the batch data path and message dispatch (datapath.h). Reads top to bottom:
 * sending (device -> peer), receiving (underlay -> device), handshakes, timers, peers, status.
 */
#define _GNU_SOURCE
#include "datapath.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "control.h"
#include "crypto.h"
#include "ecn.h"
#include "mtu.h"
#include "prefix.h"
#include "tun.h"
#include "wire.h"

static void conn_lost(struct dp *dp, struct tcp_lconn *c, uint64_t now);
static void probe_over(struct dp *dp, struct peer *p, uint64_t now);
static void client_answered(struct dp *dp, struct peer *p, enum vt_proto over, uint64_t now);
static void client_timers(struct dp *dp, struct peer *p, uint64_t now);

/* ---- after every session call ------------------------------------------------------------ */

/* Where the peer's packets come from, for log lines. */
static void
peer_where(const struct peer *p, char *a, size_t len)
{
	snprintf(a, len, "-");
	if (p->link == VT_TCP && p->tcp.conn != NULL)
		addr_format((const struct sockaddr *)&p->tcp.conn->addr, a, len);
	else if (p->udp.ep_len != 0)
		addr_format((const struct sockaddr *)&p->udp.ep, a, len);
}

/* Remote i of a client, for the log and status: "vpn.example.net:443 tcp (2 of 2)". */
static void
remote_name(const struct peer *p, int i, char *s, size_t len)
{
	const struct vt_remote *r = &p->cfg.remotes[i];
	bool v6 = strchr(r->host, ':') != NULL;

	snprintf(s, len, "%s%s%s:%u %s (%d of %d)", v6 ? "[" : "", r->host, v6 ? "]" : "",
	    r->port, names_proto[r->proto], i + 1, p->cfg.nremotes);
}

static uint64_t
failback_ms(const struct peer *p)
{
	return (uint64_t)p->cfg.failback * 1000;
}

/* Look remote at up before going on (the engine asks the root parent: dp_peer_resolved). */
static void
want_resolve(struct dp *dp, struct peer *p, int at, bool probe)
{
	p->cl->resolve = at;
	p->cl->resolve_probe = probe;
	peer_changed(&dp->peers, p);
}

/* Client, TCP: dial again after the back-off. */
static void
schedule_dial(struct dp *dp, struct peer *p, uint64_t now)
{
	unsigned r;
	uint64_t d;

	crypto_random(&r, sizeof(r));
	d = tcp_link_backoff(&p->tcp, r);
	/* A refused or lost connection is a known failure: once this remote had its tries, the
	 * next one is tried at once. */
	if (p->cl != NULL && failover_exhausted(&p->cl->fo))
		d = 0;
	if (d > 0)
		log_info("peer %s: reconnecting in %llu.%llu s", p->cfg.name,
		    (unsigned long long)(d / 1000), (unsigned long long)(d % 1000 / 100));
	p->dial_at = now + d;
	peer_changed(&dp->peers, p);
}

/* Act on what the session says happened (ev: what session_take_events returned), then let
 * the engine re-arm the peer's events. */
/* A session came up (or went down) for the engine to report: queued in order; a queue that
 * is full keeps its last place for the newest (what the hooks see last is the truth). */
static void
notify(struct peer *p, bool up)
{
	if (p->nnotify == PEER_NOTIFY)
		p->nnotify--;
	p->notify[p->nnotify++] = up;
}

static void
peer_events(struct dp *dp, struct peer *p, uint64_t now, unsigned ev)
{
	char a[80];

	if (ev & SE_DOWN)
		notify(p, false);
	if (ev & (SE_UP | SE_REKEYED)) {
		peer_where(p, a, sizeof(a));
		if ((ev & SE_UP) && p->cl != NULL) {
			char n[CONFIG_HOST_MAX + 48];

			remote_name(p, p->cl->fo.cur, n, sizeof(n));
			log_info("peer %s: session up (%s, %s, remote %s)", p->cfg.name, a,
			    names_proto[p->link], n);
			failover_up(&p->cl->fo, p->cl->fo.cur, failback_ms(p), now);
		} else if (ev & SE_UP) {
			log_info("peer %s: session up (%s, %s)", p->cfg.name, a,
			    names_proto[p->link]);
		}
		if (ev & SE_UP) {
			snprintf(p->notify_ep, sizeof(p->notify_ep), "%s", a);
			notify(p, true);
		}
		else
			log_info("peer %s: rekeyed (%s)", p->cfg.name, a);
		if (!dp->server)
			tcp_link_backoff_reset(&p->tcp);
	}
	if (ev & SE_DOWN) {
		/* A client starts again from its first remote, without a probe. */
		if (p->cl != NULL) {
			struct peer_client *cl = p->cl;

			failover_down(&cl->fo);
			cl->probe_live = false;
			if (cl->resolve != -1 && cl->resolve_probe)
				cl->resolve = -1;
			if (cl->resolving && cl->asked_probe) /* its answer is ignored */
				cl->resolving = false;
		}
		/* Drop the TCP connection (a client dials again); a UDP client connects its socket
		 * again, in case the host moved and its old source address leads nowhere now. */
		if (p->link == VT_TCP && p->tcp.conn != NULL) {
			struct tcp_lconn *c = p->tcp.conn;

			tcp_link_flush(&dp->tcp, c); /* a close message may be queued */
			conn_lost(dp, c, now);
		} else {
			if (p->tcp.conn != NULL) /* a probe's, or one the session moved off */
				tcp_link_close(&dp->tcp, p->tcp.conn);
			if (p->link == VT_UDP)
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

static void peer_send(struct dp *dp, struct peer *p, const struct buf *b, uint64_t now);

/* The client moves to remote at for its next try: the old remote's connection closes, the
 * new remote's transport carries the session from now; a TCP remote is dialled at once, a
 * UDP one gets an initiation now. */
static void
relink(struct dp *dp, struct peer *p, int at, uint64_t now)
{
	char n[CONFIG_HOST_MAX + 48];

	remote_name(p, at, n, sizeof(n));
	log_info("peer %s: trying remote %s", p->cfg.name, n);
	if (p->tcp.conn != NULL)
		tcp_link_close(&dp->tcp, p->tcp.conn);
	p->tun_paused = false;
	p->link = p->cfg.remotes[at].proto;
	p->dial_at = UINT64_MAX;
	if (p->link == VT_TCP) {
		p->dial_at = now;
	} else if (session_initiate(&p->s, peer_new_index(&dp->peers), now, &dp->out) ==
	    SV_SEND) {
		peer_reindex(&dp->peers, p); /* the response names the new index */
		peer_send(dp, p, &dp->out, now);
	}
	peer_changed(&dp->peers, p);
}

/*
 * A client's initiation: where it goes (*via), or false if not now. While a probe is live it
 * goes to the probed remote; while the session is up (a rekey), or over the TCP connection
 * whose dial was the try, where the session is. Otherwise it is a UDP try (failover.h): of
 * the current remote, or of the next (relink); held until its remote is looked up again.
 */
static bool
client_initiation(struct dp *dp, struct peer *p, const struct buf *b, uint64_t now,
    enum vt_proto *via)
{
	struct peer_client *cl = p->cl;
	char n[CONFIG_HOST_MAX + 48];
	int was = cl->fo.cur, at;

	if (cl->fo.probe != -1 && cl->probe_live) {
		*via = p->cfg.remotes[cl->fo.probe].proto;
		return true;
	}
	if (session_is_up(&p->s) || p->link == VT_TCP)
		return true;
	/* The try before is still being looked up: this newer initiation takes its place, and
	 * is not a try of its own. */
	if ((cl->resolving && !cl->asked_probe) || (cl->resolve != -1 && !cl->resolve_probe)) {
		memcpy(cl->held, buf_data((struct buf *)b), WIRE_INIT_LEN);
		cl->has_held = true;
		return false;
	}
	at = failover_where(&cl->fo);
	if (p->cfg.remotes[at].proto != VT_UDP) {
		relink(dp, p, at, now);
		return false;
	}
	if (at != was) {
		remote_name(p, at, n, sizeof(n));
		log_info("peer %s: trying remote %s", p->cfg.name, n);
	}
	failover_tried(&cl->fo);
	memcpy(cl->held, buf_data((struct buf *)b), WIRE_INIT_LEN);
	cl->has_held = true;
	want_resolve(dp, p, at, false);
	return false;
}

/* Send one wire message (a handshake message, keepalive, close) to the peer by its link. */
static void
peer_send(struct dp *dp, struct peer *p, const struct buf *b, uint64_t now)
{
	enum vt_proto via = p->link;
	struct tcp_lconn *c;

	if (p->cl != NULL && b->len == WIRE_INIT_LEN &&
	    wire_classify(buf_data((struct buf *)b), b->len) == WIRE_HS_INIT &&
	    !client_initiation(dp, p, b, now, &via))
		return;
	c = p->tcp.conn;
	if (via == VT_TCP) {
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
		} else if (p->link == VT_TCP) {
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

/* Read a frame from a plain device into b: 1, 0 if none waits, -1 to stop (logged). */
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

/* Read one frame from a vnet device into dp->big and plan its segments: 1, 0 if none waits,
 * -1 to stop (logged), 2 if it was dropped (a frame we cannot cut is a device drop). */
static int
vnet_read(struct dp *dp, struct peer *p)
{
	struct virtio_net_hdr vh;
	ssize_t r;

	r = tun_read_raw(p->tun_fd, dp->big, OFF_VNET_LEN + OFF_FRAME_MAX);
	if (r <= 0) {
		if (r == -1 && log_ratelimit_ok(&dp->rl_device))
			log_warn("device %s: read", p->cfg.device);
		return r == 0 ? 0 : -1;
	}
	memcpy(&vh, dp->big, OFF_VNET_LEN);
	if ((size_t)r <= OFF_VNET_LEN ||
	    off_split_plan(dp->big + OFF_VNET_LEN, (size_t)r - OFF_VNET_LEN, &vh,
	    p->cfg.type == VT_TAP, &dp->split) <= 0) {
		p->traffic.drops[DROP_DEVICE]++;
		return 2;
	}
	dp->seg_next = 0;
	dp->seg_left = dp->split.nseg;
	if (dp->split.gso)
		p->traffic.split++;
	return 1;
}

/* rate-out: whether the device may be read again. If not, reading stops until the bucket
 * holds tokens again: the peer's timer resumes it (dp_peer_deadline), and meanwhile frames wait
 * in the device's transmit queue, as in any shaper, the kernel dropping what does not fit. */
static bool
shape_out_ready(struct dp *dp, struct peer *p, uint64_t now)
{
	if (tb_ready(&p->shape_out, now))
		return true;
	p->rate_paused = true;
	peer_changed(&dp->peers, p);
	return false;
}

/* mss-clamp: a TCP SYN through the tunnel asks for no larger segments than the MTU of both
 * ends takes. */
static void
clamp(struct peer *p, struct buf *b)
{
	if (p->cfg.mss_clamp && mtu_clamp_mss(buf_data(b), b->len, p->cfg.type == VT_TAP,
	    session_path_mtu(&p->s)))
		p->traffic.clamped++;
}

/* A frame read from the device leaves: clamped, and paid for in rate-out's bucket. */
static void
frame_out(struct peer *p, struct buf *b)
{
	clamp(p, b);
	tb_take(&p->shape_out, b->len);
}

/* The next frame from the device into b: 1, 0 if none waits (or rate-out says wait), -1 to
 * stop. On a vnet device a super-packet is read once and handed out segment by segment; *reads
 * counts device reads. A segment larger than a frame we carry (the MTU raised behind our back)
 * is a device drop. Every frame handed out takes its length from rate-out's bucket. */
static int
next_frame(struct dp *dp, struct peer *p, struct buf *b, int *reads, uint64_t now)
{
	size_t n;
	int rc;

	if (!p->vnet) {
		if (!shape_out_ready(dp, p, now))
			return 0;
		++*reads;
		if ((rc = device_read(dp, p, b)) == 1)
			frame_out(p, b);
		return rc;
	}
	for (;;) {
		if (dp->seg_left == 0) {
			if (*reads >= DP_BATCH || !shape_out_ready(dp, p, now))
				return 0; /* dropped frames count against the budget too */
			++*reads;
			if ((rc = vnet_read(dp, p)) == 2)
				continue;
			if (rc <= 0)
				return rc;
		}
		buf_reset(b);
		n = off_split_segment(&dp->split, dp->big + OFF_VNET_LEN, dp->seg_next++,
		    buf_data(b), BUF_MAX_FRAME);
		dp->seg_left--;
		if (n > 0) {
			b->len = n;
			frame_out(p, b);
			return 1;
		}
		p->traffic.drops[DROP_DEVICE]++;
	}
}

/* Device -> TCP: each sealed frame is queued on the connection, flushed at the end. The
 * segments of one super-packet all go (the send queue has room for them above TCP_TX_HIGH). */
static void
tun_to_tcp(struct dp *dp, struct peer *p, uint64_t now)
{
	struct buf *b = &dp->tx[0];
	int reads = 0;

	for (;;) {
		struct tcp_lconn *c = p->tcp.conn;

		if (dp->seg_left == 0 && reads >= DP_BATCH)
			break;
		if (dp->seg_left == 0 && c != NULL && tcp_link_backlogged(c)) {
			conn_flush(dp, c, now);
			if (p->tcp.conn == NULL || tcp_link_backlogged(p->tcp.conn))
				break;
		}
		if (next_frame(dp, p, b, &reads, now) <= 0)
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

static void
seal_one(void *arg, int i, int lane)
{
	struct dp *dp = arg;

	session_job_run(&dp->tx_job[i], lane);
}

/* Run the n jobs of a batch: shared by the pool's lanes if they hold enough bytes to be worth
 * it, else here. */
static void
run_jobs(struct dp *dp, struct session_job *jobs, pool_fn *fn, int n)
{
	size_t bytes = 0;

	for (int i = 0; i < n && bytes < dp->share_min; i++)
		bytes += jobs[i].len;
	if (bytes >= dp->share_min) {
		pool_run(dp->pool, fn, dp, n);
		return;
	}
	for (int i = 0; i < n; i++)
		session_job_run(&jobs[i], 0);
}

/* Seal the frames dp->tx[0..n) (their jobs shared by the pool's lanes) and send them in one
 * sendmmsg (UDP GSO runs where the kernel takes them). A frame that did not seal (OpenSSL
 * failed) is a no_key drop and leaves the batch. */
static void
udp_send_sealed(struct dp *dp, struct peer *p, int n)
{
	int sent, k = 0;

	run_jobs(dp, dp->tx_job, seal_one, n);
	for (int i = 0; i < n; i++) {
		if (dp->tx_job[i].rc != 0) {
			p->traffic.drops[DROP_NO_KEY]++;
			continue;
		}
		if (k != i) {
			dp->tx[k].off = dp->tx[i].off;
			dp->tx[k].len = dp->tx[i].len;
			memcpy(buf_data(&dp->tx[k]), buf_data(&dp->tx[i]), dp->tx[i].len);
			dp->tx_len[k] = dp->tx_len[i];
			dp->tx_tos[k] = dp->tx_tos[i];
		}
		k++;
	}
	sent = udp_link_send_batch(&dp->udp, &p->udp, dp->tx, dp->tx_tos, k);
	for (int i = 0; i < sent; i++) {
		p->traffic.tx_packets++;
		p->traffic.tx_bytes += dp->tx_len[i];
	}
	p->traffic.drops[DROP_DEVICE] += (uint64_t)(k - sent);
}

/* Device -> UDP: each frame (or segment of a super-packet) is prepared in its own dp->tx slot;
 * a full batch is sealed and leaves at once. Up to DP_BATCH device reads, and every segment of
 * the last. */
static void
tun_to_udp(struct dp *dp, struct peer *p, uint64_t now)
{
	int n = 0, reads = 0;

	for (;;) {
		if (dp->seg_left == 0 && reads >= DP_BATCH)
			break;
		if (n == DP_BATCH) {
			udp_send_sealed(dp, p, n);
			n = 0;
		}
		if (next_frame(dp, p, &dp->tx[n], &reads, now) <= 0)
			break;
		dp->tx_len[n] = dp->tx[n].len;
		dp->tx_tos[n] = ecn_encap(buf_data(&dp->tx[n]), dp->tx[n].len,
		    p->cfg.type == VT_TAP);
		if (session_encap_begin(&p->s, &dp->tx[n], now, &dp->tx_job[n]) == SV_SEND)
			n++;
		else
			no_key(p, &dp->tx[n]);
	}
	udp_send_sealed(dp, p, n);
}

void
dp_tun_readable(struct dp *dp, struct peer *p, uint64_t now)
{
	if (p->link == VT_TCP)
		tun_to_tcp(dp, p, now);
	else
		tun_to_udp(dp, p, now);
	peer_finish(dp, p, now);
}

/* ---- receiving ---------------------------------------------------------------------------- */

static void gro_flush(struct dp *dp);

/* Deliver a decrypted frame to the peer's device: at once, or (vnet devices) coalesced with
 * the rest of the batch, written by gro_flush. b must then stay as it is until that. */
static void
deliver(struct dp *dp, struct peer *p, struct buf *b)
{
	int rc;

	if (p->vnet) {
		if (!off_gro_add(dp->gro, p, buf_data(b), b->len, p->cfg.type == VT_TAP, p->gro)) {
			gro_flush(dp);
			off_gro_add(dp->gro, p, buf_data(b), b->len, p->cfg.type == VT_TAP, p->gro);
		}
		return;
	}
	rc = tun_write(p->tun_fd, buf_data(b), b->len);

	if (rc == 0) {
		p->traffic.rx_packets++;
		p->traffic.rx_bytes += b->len;
		return;
	}
	p->traffic.drops[DROP_DEVICE]++;
	if (rc == -1 && log_ratelimit_ok(&dp->rl_device))
		log_warn("device %s: write", p->cfg.device);
}

/* rate-in: a frame leaves for the device while the bucket holds tokens and none waits before
 * it; else it waits in the peer's queue for the peer's timer (inq_drain), or, the queue full,
 * is a rate drop. */
static void
deliver_shaped(struct dp *dp, struct peer *p, struct buf *b, uint64_t now)
{
	if (p->inq.mem == NULL) {
		deliver(dp, p, b);
	} else if (fq_empty(&p->inq) && tb_ready(&p->shape_in, now)) {
		tb_take(&p->shape_in, b->len);
		deliver(dp, p, b);
	} else if (fq_push(&p->inq, buf_data(b), b->len)) {
		if (p->inq.n == 1)
			peer_changed(&dp->peers, p); /* its timer now includes the queue's */
	} else {
		p->traffic.drops[DROP_RATE]++;
	}
}

/* Write the queued frames the bucket has tokens for (all of them: rate-in was removed), in
 * order. Outside any batch: the receive slots are free. */
static void
inq_drain(struct dp *dp, struct peer *p, uint64_t now, bool all)
{
	int k = 0;

	while (!fq_empty(&p->inq) && (all || tb_ready(&p->shape_in, now))) {
		struct buf *b = &dp->rx[k];
		size_t n;

		buf_reset(b);
		if ((n = fq_pop(&p->inq, buf_data(b), buf_tailroom(b))) == 0)
			continue; /* cannot be: it fitted a buffer when it came */
		buf_put(b, n);
		tb_take(&p->shape_in, n);
		deliver(dp, p, b);
		if (++k == DP_BATCH) {
			gro_flush(dp);
			k = 0;
		}
	}
	gro_flush(dp);
}

/* The kernel refused a coalesced frame (EINVAL: it cannot take this GSO type): write its
 * segments one by one, and coalesce no more for this device. */
static void
gro_fallback(struct dp *dp, struct peer *p, const struct iovec *iov, int n)
{
	struct virtio_net_hdr vh, zero;
	struct off_split sp;
	size_t len = 0;
	int nseg;

	if (p->gro != 0)
		log_warnx("device %s: the kernel refuses coalesced frames: writing segments one "
		    "by one", p->cfg.device);
	p->gro = 0;
	memcpy(&vh, iov[0].iov_base, sizeof(vh));
	for (int i = 1; i < n; i++) {
		memcpy(dp->big + len, iov[i].iov_base, iov[i].iov_len);
		len += iov[i].iov_len;
	}
	nseg = off_split_plan(dp->big, len, &vh, p->cfg.type == VT_TAP, &sp);
	if (nseg <= 0) {
		p->traffic.drops[DROP_DEVICE] += (uint64_t)(n - 1); /* the frames merged */
		return;
	}
	memset(&zero, 0, sizeof(zero));
	for (int i = 0; i < nseg; i++) {
		struct buf *b = &dp->tx[0];
		struct iovec one[2] = { { &zero, sizeof(zero) }, { buf_data(b), 0 } };

		one[1].iov_len = off_split_segment(&sp, dp->big, i, buf_data(b), BUF_MAX_FRAME);
		if (one[1].iov_len > 0 && tun_writev(p->tun_fd, one, 2) == 0) {
			p->traffic.rx_packets++;
			p->traffic.rx_bytes += one[1].iov_len;
		} else {
			p->traffic.drops[DROP_DEVICE]++;
		}
	}
}

/* Write the frames of the batch to their devices, in order, and empty the coalescer. */
static void
gro_flush(struct dp *dp)
{
	struct off_gro *g = dp->gro;
	struct iovec iov[OFF_GRO_SEGS + 2];

	if (g->n == 0)
		return;
	off_gro_finish(g);
	for (int i = 0; i < g->n; i++) {
		const struct off_gro_frame *F = &g->f[i];
		struct peer *p = F->owner;
		int n = off_gro_iov(g, i, iov, OFF_GRO_SEGS + 2), rc;

		rc = tun_writev(p->tun_fd, iov, n);
		if (rc == 0) {
			p->traffic.rx_packets += (uint64_t)F->nseg;
			p->traffic.rx_bytes += F->bytes;
			p->traffic.coalesced += F->nseg > 1;
			continue;
		}
		if (rc == 1 && errno == EINVAL && F->nseg > 1) {
			gro_fallback(dp, p, iov, n);
			continue;
		}
		p->traffic.drops[DROP_DEVICE] += (uint64_t)F->nseg;
		if (rc == -1 && log_ratelimit_ok(&dp->rl_device))
			log_warn("device %s: write", p->cfg.device);
	}
	off_gro_reset(g);
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

/* Data: find the key by receiver index, check the link may carry it, open it (or take what
 * job did when it was opened in advance). tos: the outer TOS byte of a UDP datagram (ECN), 0
 * over TCP. */
static void
rx_data(struct dp *dp, struct tcp_lconn *c, struct buf *b, const struct sockaddr *src,
    socklen_t srclen, uint8_t tos, const struct session_job *job, uint64_t now)
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
	if (c != NULL ? !tcp_link_accepts(c, p, idx) : !(p->cfg.protos & (1u << VT_UDP))) {
		p->traffic.drops[DROP_NO_SESSION]++;
		return;
	}
	v = job != NULL ? session_decap_opened(&p->s, kp, b, job, now) :
	    session_decap(&p->s, kp, b, now);
	ev = session_take_events(&p->s);
	if (v != SV_DROP) {
		/* Authenticated: only now may the link move (roaming), and only keys this packet
		 * confirmed bind a connection that carried their handshake. */
		if (c != NULL && c->peer == NULL && (ev & SE_CONFIRMED) &&
		    tcp_link_bind(&dp->tcp, c, &p->tcp, p) == 0) {
			char a[80];

			addr_format((const struct sockaddr *)&c->addr, a, sizeof(a));
			log_info("peer %s: tcp connection from %s%s", p->cfg.name, a,
			    p->link != VT_TCP && !(ev & SE_UP) ? ": the session moves to tcp" : "");
			p->link = VT_TCP;
			/* The old connection went with its backlog: read the device again. */
			peer_pause(dp, p, tcp_link_backlogged(c));
		} else if (c == NULL && slot != SLOT_PREVIOUS) {
			/* Not under the previous key: after a takeover (dupkey.h) it is the other
			 * client's, and its packets must not pull the endpoint back. */
			udp_link_set_endpoint(&dp->udp, &p->udp, p->cfg.name, src, srclen);
			/* New keys confirmed over UDP while the session was on TCP: the client
			 * came back to UDP (failover); its connection goes. */
			if ((ev & SE_CONFIRMED) && dp->server && p->link == VT_TCP) {
				char a[80];

				addr_format(src, a, sizeof(a));
				if (!(ev & SE_UP))
					log_info("peer %s: keys confirmed over udp from %s: the session "
					    "moves to udp", p->cfg.name, a);
				p->link = VT_UDP;
				if (p->tcp.conn != NULL)
					tcp_link_close(&dp->tcp, p->tcp.conn);
				p->tun_paused = false;
			}
		}
		/* Only from the addresses the peer speaks for (the cryptokey filter). */
		if (v == SV_DELIVER && !prefix_set_allows(&p->filter, buf_data(b), b->len))
			p->traffic.drops[DROP_FILTER]++;
		else if (v == SV_DELIVER && ecn_decap(buf_data(b), b->len,
		    p->cfg.type == VT_TAP, tos)) {
			clamp(p, b);
			deliver_shaped(dp, p, b, now);
		}
		else if (v == SV_DELIVER)
			p->traffic.drops[DROP_ECN]++;
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
	    (c != NULL && c->peer != p) || (c == NULL && !(p->cfg.protos & (1u << VT_UDP)))) {
		dp->drops[DROP_NO_SESSION]++;
		return;
	}
	if (t == WIRE_COOKIE) {
		session_consume_cookie(&p->s, m, b->len, now);
	} else if (session_consume_response(&p->s, m, b->len, now, &dp->out) == SV_SEND) {
		if (p->cl != NULL)
			client_answered(dp, p, c != NULL ? VT_TCP : VT_UDP, now);
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

/* One wire message b from the underlay: from a UDP source (with its TOS byte), or from TCP
 * connection c; job: what opened it in advance, or NULL. */
static void
dispatch(struct dp *dp, struct tcp_lconn *c, struct buf *b, const struct sockaddr *src,
    socklen_t srclen, uint8_t tos, const struct session_job *job, uint64_t now)
{
	const uint8_t *m = buf_data(b);
	enum wire_type t = wire_classify(m, b->len);

	switch (t) {
	case WIRE_DATA:
		rx_data(dp, c, b, src, srclen, tos, job, now);
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

static void
open_one(void *arg, int i, int lane)
{
	struct dp *dp = arg;

	session_job_run(&dp->rx_job[i], lane);
}

/* The UDP messages dp->rx[from..to) (sources in dp->rx_src): the data messages that can be
 * opened now (a known key of a UDP peer, inside the replay window's bounds) are opened first,
 * shared by the pool's lanes; then every message is handled in order, as if one by one. */
static void
rx_batch(struct dp *dp, int from, int to, uint64_t now)
{
	int jobs = 0;

	for (int i = from; i < to; i++) {
		struct buf *b = &dp->rx[i];
		struct session_keypair *kp;
		enum session_slot slot;
		struct peer *p;

		dp->rx_job_of[i] = -1;
		if (wire_classify(buf_data(b), b->len) != WIRE_DATA)
			continue;
		p = peer_by_index(&dp->peers, wire_get32(buf_data(b) + 4), &slot, &kp);
		if (p == NULL || kp == NULL || !(p->cfg.protos & (1u << VT_UDP)))
			continue;
		if (session_decap_ready(kp, b, now, &dp->rx_job[jobs]))
			dp->rx_job_of[i] = jobs++;
	}
	run_jobs(dp, dp->rx_job, open_one, jobs);
	for (int i = from; i < to; i++) {
		const struct udp_rx *m = dp->rx_src[i];

		dispatch(dp, NULL, &dp->rx[i], (const struct sockaddr *)&m->src, m->srclen, m->tos,
		    dp->rx_job_of[i] >= 0 ? &dp->rx_job[dp->rx_job_of[i]] : NULL, now);
	}
}

/* Coalesced runs (UDP GRO): messages of up to 64 KiB into dp->gro_rx, DP_GRO_MSGS per
 * recvmmsg, each cut into its datagrams, copied into the receive slots in turn; each full set
 * of slots is handled (rx_batch) and its frames written before the slots are used again.
 * Single datagrams come one per message too: up to DP_BATCH of them take a few calls. */
static void
udp_readable_gro(struct dp *dp, uint64_t now)
{
	struct iovec iov[DP_GRO_MSGS];
	struct udp_rx rx[DP_GRO_MSGS];
	int n, k = 0, first = 0, total = 0;

	for (int i = 0; i < DP_GRO_MSGS; i++) {
		iov[i].iov_base = dp->gro_rx + (size_t)i * DP_GRO_CAP;
		iov[i].iov_len = DP_GRO_CAP;
	}
again:
	n = udp_recv_batch(dp->udp.fd, iov, rx, DP_GRO_MSGS);
	for (int i = 0; i < n; i++) {
		const uint8_t *p = iov[i].iov_base;
		size_t left = rx[i].len, seg = rx[i].seg;

		do {
			size_t len = left < seg ? left : seg;
			struct buf *b;

			if (k == DP_BATCH) {
				rx_batch(dp, first, k, now);
				gro_flush(dp);
				k = first = 0;
			}
			dp->rx_src[k] = &rx[i];
			b = &dp->rx[k++];
			buf_reset(b);
			if (len <= buf_tailroom(b))
				memcpy(buf_put(b, len), p, len);
			/* else: larger than any message, an empty buffer: malformed */
			p += len;
			left -= len;
			total++;
		} while (left > 0);
	}
	/* The sources of these slots are in rx: handle them before it is reused (the frames
	 * they deliver may wait in the coalescer for the next call's). */
	rx_batch(dp, first, k, now);
	first = k;
	if (n == DP_GRO_MSGS && total < DP_BATCH && dp->udp.fd != -1)
		goto again;
	gro_flush(dp);
}

void
dp_udp_readable(struct dp *dp, uint64_t now)
{
	struct iovec iov[DP_BATCH];
	int n;

	if (dp->udp.fd == -1)
		return;
	if (dp->udp.gro) {
		udp_readable_gro(dp, now);
		return;
	}
	for (int i = 0; i < DP_BATCH; i++) {
		buf_reset(&dp->rx[i]);
		iov[i].iov_base = buf_data(&dp->rx[i]);
		iov[i].iov_len = buf_tailroom(&dp->rx[i]);
	}
	n = udp_recv_batch(dp->udp.fd, iov, dp->rx_meta, DP_BATCH);
	for (int i = 0; i < n; i++) {
		buf_put(&dp->rx[i], dp->rx_meta[i].len);
		dp->rx_src[i] = &dp->rx_meta[i];
	}
	if (n > 0)
		rx_batch(dp, 0, n, now);
	gro_flush(dp);
}

/* A connection is gone (closed by the peer, corrupt, failed, or its session went down). */
static void
conn_lost(struct dp *dp, struct tcp_lconn *c, uint64_t now)
{
	struct peer *p;

	if ((p = tcp_link_close(&dp->tcp, c)) == NULL)
		return;
	if (p->link != VT_TCP) {
		/* Not the session's link: one it moved off, or a client's probe. */
		if (p->cl != NULL && p->cl->fo.probe != -1 &&
		    p->cfg.remotes[p->cl->fo.probe].proto == VT_TCP)
			probe_over(dp, p, now);
		peer_changed(&dp->peers, p);
		return;
	}
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

	bool more = false;

	if (c->dead)
		return false;
	n = tcp_fill(&c->tc);
	/* Messages go into the receive slots in turn, so that the frames of a whole batch can be
	 * coalesced before they are written. */
	for (int i = 0; i < DP_TCP_BUDGET; i++) {
		struct buf *b = &dp->rx[i % DP_BATCH];

		if (i > 0 && i % DP_BATCH == 0)
			gro_flush(dp);
		rc = tcp_next_message(&c->tc, b);
		if (rc == 0)
			break;
		if (rc == -1) {
			if (log_ratelimit_ok(&dp->rl_tcp))
				log_warnx("tcp connection: corrupt stream, closing");
			dp->drops[DROP_MALFORMED]++;
			gro_flush(dp);
			conn_lost(dp, c, now);
			return false;
		}
		dispatch(dp, c, b, (struct sockaddr *)&c->addr, c->addrlen, 0, NULL, now);
		if (c->dead) {
			gro_flush(dp);
			return false;
		}
		if (i == DP_TCP_BUDGET - 1)
			more = true; /* more may wait: the engine comes back after other events */
	}
	gro_flush(dp);
	if (more)
		return true;
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
			if (p->link != VT_TCP) { /* a probe */
				log_debug("peer %s: connect to %s: %s", p->cfg.name, a, err);
				if (p->cl != NULL)
					probe_over(dp, p, now);
				return;
			}
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

/* Whether this handshake contests a session that is up with another endpoint: another UDP
 * address and port, or another TCP connection (dupkey.h). */
static void
mark_contested(const struct peer *p, const struct tcp_lconn *c, const struct sockaddr *src,
    socklen_t srclen, struct session_init *in)
{
	in->contested = false;
	in->moving = false;
	if (!session_is_up(&p->s))
		return;
	/* Over the other transport: a client failing over or back (or a second client). */
	if ((c != NULL) != (p->link == VT_TCP)) {
		in->contested = in->moving = true;
		if (p->link == VT_TCP && p->tcp.conn != NULL)
			addr_format((const struct sockaddr *)&p->tcp.conn->addr, in->holder,
			    sizeof(in->holder));
		else if (p->link == VT_UDP && p->udp.ep_len != 0)
			addr_format((const struct sockaddr *)&p->udp.ep, in->holder,
			    sizeof(in->holder));
		else
			in->contested = in->moving = false;
		return;
	}
	if (c != NULL && p->tcp.conn != NULL && p->tcp.conn != c) {
		in->contested = true;
		addr_format((const struct sockaddr *)&p->tcp.conn->addr, in->holder,
		    sizeof(in->holder));
	} else if (c == NULL && p->udp.ep_len != 0 && (p->udp.ep_len != srclen ||
	    !addr_equal((const struct sockaddr *)&p->udp.ep, src))) {
		in->contested = true;
		addr_format((const struct sockaddr *)&p->udp.ep, in->holder, sizeof(in->holder));
	}
}

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
	if (!(p->cfg.protos & (1u << (c != NULL ? VT_TCP : VT_UDP)))) {
		if (log_ratelimit_ok(&dp->rl_proto)) {
			addr_format(src, a, sizeof(a));
			log_info("peer %s: handshake from %s over %s, but the link is %s only: "
			    "refused (a client with the other proto, or a replayed initiation)",
			    p->cfg.name, a, names_proto[c != NULL ? VT_TCP : VT_UDP],
			    names_proto[p->cfg.proto]);
		}
		p->traffic.drops[DROP_MISMATCH]++;
		session_init_wipe(&in);
		return;
	}
	if (c != NULL && c->peer != NULL && c->peer != p) {
		p->traffic.drops[DROP_MISMATCH]++;
		session_init_wipe(&in);
		return;
	}
	mark_contested(p, c, src, it->srclen, &in);
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

/* Whether the peer's session has timers now: not a TCP client without a connection (it has
 * nothing to send; the dial timer runs). */
static bool
session_runs(const struct dp *dp, const struct peer *p)
{
	return dp->server || p->link != VT_TCP ||
	    (p->tcp.conn != NULL && !p->tcp.conn->tc.connecting);
}

void
dp_peer_timer(struct dp *dp, struct peer *p, uint64_t now)
{
	if (p->rate_paused && tb_ready(&p->shape_out, now)) {
		p->rate_paused = false;
		peer_changed(&dp->peers, p);
	}
	inq_drain(dp, p, now, false);
	if (p->cl != NULL)
		client_timers(dp, p, now);
	for (int i = 0; i < 8 && session_runs(dp, p); i++) {
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
	uint64_t at = UINT64_MAX, t;

	if (session_runs(dp, p))
		at = session_next_deadline(&p->s, now);
	/* Shaping: reading the device resumes, queued frames leave, when their bucket fills. */
	if (p->rate_paused && (t = tb_when(&p->shape_out, now)) < at)
		at = t;
	if (!fq_empty(&p->inq) && (t = tb_when(&p->shape_in, now)) < at)
		at = t;
	/* A client's probe (not while a lookup is out), and a connection left behind. */
	if (p->cl != NULL && p->cl->resolve == -1 && !p->cl->resolving &&
	    (p->cl->fo.probe != -1 || !session_handshaking(&p->s)) &&
	    (t = failover_deadline(&p->cl->fo)) < at)
		at = t;
	if (p->cl != NULL && p->link != VT_TCP && p->tcp.conn != NULL && p->cl->fo.probe == -1 &&
	    p->cl->old_conn_until < at)
		at = p->cl->old_conn_until;
	return at;
}

/* Dial the client's server at p->remote. */
static void
dial(struct dp *dp, struct peer *p, uint64_t now)
{
	char err[256], a[80];

	addr_format((const struct sockaddr *)&p->remote, a, sizeof(a));
	if (p->cl != NULL)
		p->cl->tcp_at = p->cl->fo.cur;
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
dp_peer_dial(struct dp *dp, struct peer *p, uint64_t now)
{
	struct peer_client *cl = p->cl;
	int was, at;

	p->dial_at = UINT64_MAX;
	if (p->tcp.conn != NULL)
		return;
	if (cl == NULL) {
		dial(dp, p, now);
		return;
	}
	/* A try (failover.h): of this remote, or of the next; looked up again first. */
	was = cl->fo.cur;
	at = failover_where(&cl->fo);
	if (p->cfg.remotes[at].proto != VT_TCP) {
		relink(dp, p, at, now);
		return;
	}
	if (at != was) {
		char n[CONFIG_HOST_MAX + 48];

		remote_name(p, at, n, sizeof(n));
		log_info("peer %s: trying remote %s", p->cfg.name, n);
	}
	p->link = VT_TCP;
	failover_tried(&cl->fo);
	want_resolve(dp, p, at, false);
}

/* ---- a client's remotes -------------------------------------------------------------------- */

/* The client's UDP socket, connected to addr: the same socket connected again, or a new one
 * for another address family. 0 or -1 (logged). */
static int
client_udp_to(struct dp *dp, struct peer *p, int at, const struct sockaddr *addr,
    socklen_t len)
{
	bool gro = dp->udp.gro_wanted, no_gso = p->udp.no_gso;
	int fd = dp->client_udp[addr->sa_family == AF_INET6];
	struct udp_link old = dp->udp;
	char err[256];

	if (udp_link_retarget(&dp->udp, addr, len) == -1) {
		/* Another family: a new link, on a copy of the socket made while privileged (its
		 * large buffers) if there is one. The old socket stays open until the engine has
		 * moved its event (dp_udp_retire): a number used again at once would leave the
		 * new socket unwatched. */
		if (fd != -1 && (fd = udp_socket_copy(fd, err, sizeof(err))) == -1)
			log_warnx("peer %s: %s", p->cfg.name, err);
		if (udp_link_client(&dp->udp, fd, addr, len, err, sizeof(err)) == -1) {
			log_warnx("peer %s: %s", p->cfg.name, err);
			dp->udp = old;
			return -1;
		}
		if (dp->udp_old.fd != -1)
			udp_link_close(&old); /* made since the engine last looked: not watched */
		else
			dp->udp_old = old;
		if (gro)
			udp_link_want_gro(&dp->udp);
	}
	udp_link_peer_init(&dp->udp, &p->udp);
	p->udp.no_gso = no_gso;
	p->cl->udp_at = at;
	return 0;
}

static void
probe_over(struct dp *dp, struct peer *p, uint64_t now)
{
	struct peer_client *cl = p->cl;

	if (p->link != VT_TCP && p->tcp.conn != NULL)
		tcp_link_close(&dp->tcp, p->tcp.conn);
	cl->probe_live = false;
	failover_probe_over(&cl->fo, failback_ms(p), now);
	peer_changed(&dp->peers, p);
}

/* Remote at, probed while the session is up elsewhere, is looked up: a handshake goes there
 * (UDP: at the next tick; TCP: once the connection is up, dp_tcp_writable). */
static void
probe_start(struct dp *dp, struct peer *p, int at, uint64_t now)
{
	struct peer_client *cl = p->cl;
	const struct sockaddr *addr = (const struct sockaddr *)&cl->addr[at];
	char n[CONFIG_HOST_MAX + 48], err[256];

	if (cl->fo.probe != at || !session_is_up(&p->s))
		return;
	remote_name(p, at, n, sizeof(n));
	log_debug("peer %s: probing remote %s", p->cfg.name, n);
	if (p->cfg.remotes[at].proto == VT_UDP) {
		if (client_udp_to(dp, p, at, addr, cl->addr_len[at]) == -1) {
			probe_over(dp, p, now);
			return;
		}
		session_want_handshake(&p->s);
	} else {
		if (p->tcp.conn != NULL)
			tcp_link_close(&dp->tcp, p->tcp.conn);
		if (tcp_link_dial(&dp->tcp, &p->tcp, p, addr, cl->addr_len[at], now, err,
		    sizeof(err)) == NULL) {
			log_debug("peer %s: %s", p->cfg.name, err);
			probe_over(dp, p, now);
			return;
		}
		cl->tcp_at = at;
	}
	cl->probe_live = true;
	peer_changed(&dp->peers, p);
}

/* A response completed a handshake over transport over: if that is not where the session
 * is, the remote there answered a probe, and the session moves to it. */
static void
client_answered(struct dp *dp, struct peer *p, enum vt_proto over, uint64_t now)
{
	struct peer_client *cl = p->cl;
	char n[CONFIG_HOST_MAX + 48];
	int at = over == VT_UDP ? cl->udp_at : cl->tcp_at;
	enum vt_proto old = p->link;

	if (over == p->link) {
		if (cl->fo.probe != -1)
			probe_over(dp, p, now); /* it finished here, as a rekey */
		return;
	}
	if (at < 0 || at >= p->cfg.nremotes || cl->addr_len[at] == 0)
		return;
	remote_name(p, at, n, sizeof(n));
	log_info("peer %s: remote %s answers: the session moves there", p->cfg.name, n);
	p->link = over;
	memcpy(&p->remote, &cl->addr[at], cl->addr_len[at]);
	p->remote_len = cl->addr_len[at];
	cl->probe_live = false;
	failover_up(&cl->fo, at, failback_ms(p), now);
	/* The connection the session leaves stays a while for what is in flight (the server
	 * closes it once the keys are confirmed over UDP). */
	if (old == VT_TCP && p->tcp.conn != NULL)
		cl->old_conn_until = now + SESSION_PREV_KEY_LINGER;
	p->tun_paused = false;
	peer_changed(&dp->peers, p);
}

/* Probes that are due or over, and a connection left behind that may go. */
static void
client_timers(struct dp *dp, struct peer *p, uint64_t now)
{
	struct peer_client *cl = p->cl;
	int at;

	if (cl->fo.probe == -1 && p->link != VT_TCP && p->tcp.conn != NULL &&
	    now >= cl->old_conn_until)
		tcp_link_close(&dp->tcp, p->tcp.conn);
	if (cl->fo.probe != -1 && now >= cl->fo.probe_until) {
		char n[CONFIG_HOST_MAX + 48];

		remote_name(p, cl->fo.probe, n, sizeof(n));
		log_debug("peer %s: remote %s did not answer", p->cfg.name, n);
		probe_over(dp, p, now);
	}
	/* Not while a handshake is under way: after a probe that got no answer, the handshake
	 * finishes where the session is before the next probe. */
	if (session_is_up(&p->s) && !session_handshaking(&p->s) && cl->resolve == -1 &&
	    !cl->resolving && (at = failover_probe(&cl->fo, now)) != -1) {
		/* One socket per transport: a remote of the session's own transport waits until
		 * the session goes down. */
		if (p->cfg.remotes[at].proto == p->link)
			failover_probe_over(&cl->fo, failback_ms(p), now);
		else
			want_resolve(dp, p, at, true);
	}
}

void
dp_peer_resolved(struct dp *dp, struct peer *p, int at, uint32_t seq,
    const struct sockaddr *addr, socklen_t len, const char *err, uint64_t now)
{
	struct peer_client *cl = p->cl;
	char n[CONFIG_HOST_MAX + 48];
	bool probe;

	if (cl == NULL || !cl->resolving || seq != cl->seq || at < 0 || at >= p->cfg.nremotes)
		return; /* not the answer it waits for (an old one, or the peer's before a restart) */
	probe = cl->asked_probe;
	cl->resolving = false;
	cl->seq = 0;
	peer_changed(&dp->peers, p); /* a lookup asked for meanwhile goes out now */
	remote_name(p, at, n, sizeof(n));
	if (addr != NULL && len > 0 && len <= sizeof(cl->addr[at])) {
		memcpy(&cl->addr[at], addr, len);
		cl->addr_len[at] = len;
	} else if (cl->addr_len[at] != 0) {
		if (!probe)
			log_warnx("peer %s: remote %s: %s; trying its last address", p->cfg.name,
			    n, err);
	} else {
		if (!probe)
			log_warnx("peer %s: remote %s: %s", p->cfg.name, n, err);
		cl->has_held = false;
		if (probe)
			probe_over(dp, p, now);
		else if (p->link == VT_TCP)
			schedule_dial(dp, p, now);
		peer_changed(&dp->peers, p);
		return;
	}
	addr = (const struct sockaddr *)&cl->addr[at];
	len = cl->addr_len[at];
	if (probe) {
		probe_start(dp, p, at, now);
		return;
	}
	if (at != cl->fo.cur || p->cfg.remotes[at].proto != p->link) {
		cl->has_held = false; /* it moved on meanwhile */
		if (p->link == VT_TCP && p->tcp.conn == NULL && p->dial_at == UINT64_MAX &&
		    cl->resolve == -1)
			schedule_dial(dp, p, now); /* never left without a try to come */
		return;
	}
	memcpy(&p->remote, addr, len);
	p->remote_len = len;
	if (p->link == VT_TCP) {
		dial(dp, p, now);
		return;
	}
	if (client_udp_to(dp, p, at, addr, len) == 0 && cl->has_held) {
		buf_reset(&dp->out);
		memcpy(buf_put(&dp->out, WIRE_INIT_LEN), cl->held, WIRE_INIT_LEN);
		if (udp_link_send(&dp->udp, &p->udp, &dp->out) == -1)
			p->traffic.drops[DROP_DEVICE]++;
	}
	cl->has_held = false;
	peer_changed(&dp->peers, p);
}

int
dp_peer_want_resolve(struct dp *dp, struct peer *p, uint32_t *seq)
{
	int at;

	if (p->cl == NULL || p->cl->resolve == -1 || p->cl->resolving)
		return -1;
	at = p->cl->resolve;
	p->cl->asked_probe = p->cl->resolve_probe;
	p->cl->resolve = -1;
	p->cl->resolving = true;
	if (++dp->lookup_seq == 0) /* unique in the daemon: a restarted peer's too */
		dp->lookup_seq = 1;
	*seq = p->cl->seq = dp->lookup_seq;
	return at;
}

void
dp_udp_retire(struct dp *dp)
{
	udp_link_close(&dp->udp_old);
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
dp_new(bool server, const uint8_t priv[32], int threads)
{
	struct dp *dp = calloc(1, sizeof(*dp));

	if (dp == NULL)
		return NULL;
	if ((dp->pool = pool_new(threads)) == NULL) {
		free(dp);
		return NULL;
	}
	dp->server = server;
	peer_table_init(&dp->peers);
	tcp_link_init(&dp->tcp);
	udp_link_server(&dp->udp, -1);
	udp_link_server(&dp->udp_old, -1);
	dp->client_udp[0] = dp->client_udp[1] = -1;
	dp->big = malloc(OFF_VNET_LEN + OFF_FRAME_MAX);
	dp->gro = calloc(1, sizeof(*dp->gro));
	dp->gro_rx = malloc((size_t)DP_GRO_MSGS * DP_GRO_CAP);
	if ((dp->hsq = malloc(sizeof(*dp->hsq))) == NULL || dp->big == NULL || dp->gro == NULL ||
	    dp->gro_rx == NULL || session_local_init(&dp->local, priv) == -1) {
		pool_free(dp->pool);
		free(dp->hsq);
		free(dp->big);
		free(dp->gro);
		free(dp->gro_rx);
		free(dp);
		return NULL;
	}
	hsq_init(dp->hsq);
	dp->local.lanes = threads;
	dp->share_min = DP_SHARE_MIN;
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
	if (pool_lanes(dp->pool) > 1) {
		struct pool_stats ps;
		char lanes[POOL_LANES_MAX * 24];
		size_t o = 0;

		pool_stats(dp->pool, &ps);
		for (int i = 0; i < pool_lanes(dp->pool); i++)
			o += (size_t)snprintf(lanes + o, sizeof(lanes) - o, " %" PRIu64,
			    ps.items[i]);
		log_info("threads: %d; %" PRIu64 " batches shared; jobs per thread:%s",
		    pool_lanes(dp->pool), ps.shared, lanes);
	}
	pool_free(dp->pool);
	tcp_link_free(&dp->tcp);
	peer_table_free(&dp->peers);
	udp_link_close(&dp->udp);
	udp_link_close(&dp->udp_old);
	session_local_free(&dp->local);
	free(dp->hsq);
	free(dp->big);
	free(dp->gro);
	free(dp->gro_rx);
	crypto_wipe(dp, sizeof(*dp));
	free(dp);
}

void
dp_udp_server(struct dp *dp, int fd)
{
	udp_link_set_fd(&dp->udp, fd);
}

int
dp_udp_client(struct dp *dp, int fd, const struct sockaddr *remote, socklen_t len, char *err,
    size_t errlen)
{
	return udp_link_client(&dp->udp, fd, remote, len, err, errlen);
}

/* Probe what the device of a new peer takes: a vnet fd (opened so by the parent when offload
 * is auto) gets checksum and segmentation offloads, each the kernel refuses off with a line. */
static void
device_offload(struct peer *p)
{
	p->vnet = p->tun_fd >= 0 && tun_has_vnet(p->tun_fd);
	p->offload = 0;
	p->gro = 0;
	if (!p->vnet)
		return;
	p->offload = tun_offload(p->tun_fd);
	if (p->offload & (TUN_F_TSO4 | TUN_F_TSO6))
		p->gro |= OFF_GRO_TCP;
	if (p->offload & (TUN_F_USO4 | TUN_F_USO6))
		p->gro |= OFF_GRO_UDP;
	if (p->offload == 0)
		log_warnx("device %s: the kernel refuses checksum offload: plain frames",
		    p->cfg.device);
	else if (!(p->offload & TUN_F_TSO4))
		log_warnx("device %s: the kernel refuses TCP segmentation offload: checksum "
		    "offload only", p->cfg.device);
	else if (!(p->offload & TUN_F_USO4))
		log_info("device %s: no UDP segmentation offload in this kernel (6.2 has it): "
		    "TCP segmentation only", p->cfg.device);
}

/* rate-in and rate-out of p->cfg: buckets full, rate-in's queue sized for its rate. Frames
 * queued under the old rate keep their place, unless the queue's size changes: then they leave
 * now. */
static void
shape_setup(struct dp *dp, struct peer *p, uint64_t now)
{
	const struct vt_peer *c = &p->cfg;
	size_t qsize = c->rate_in != 0 ? shaper_queue_size(c->rate_in) : 0;

	tb_init(&p->shape_out, c->rate_out, c->rate_burst, now);
	tb_init(&p->shape_in, c->rate_in, c->rate_burst, now);
	/* A queue of another size (or none now): what waits in the old one leaves at once. */
	if (p->inq.cap != qsize) {
		inq_drain(dp, p, now, true);
		fq_free(&p->inq);
		if (qsize != 0 && fq_init(&p->inq, qsize) == -1)
			log_warnx("peer %s: no memory for the queue of rate-in: not shaped coming "
			    "in", c->name);
	}
	p->rate_paused = false;
	peer_changed(&dp->peers, p);
}

struct peer *
dp_peer_add(struct dp *dp, uint32_t id, const struct vt_peer *cfg,
    const struct sockaddr *remote, socklen_t remote_len, int remote_index, int fd,
    uint64_t now)
{
	struct peer *p = peer_add(&dp->peers, id, cfg, &dp->local, !dp->server);

	if (p == NULL || (remote_len > 0 && remote_len > sizeof(p->remote))) {
		if (p != NULL)
			peer_remove(&dp->peers, p);
		close(fd);
		return NULL;
	}
	p->tun_fd = fd;
	device_offload(p);
	if (remote_len > 0) {
		memcpy(&p->remote, remote, remote_len);
		p->remote_len = remote_len;
	}
	p->link = cfg->proto;
	if (!dp->server && cfg->nremotes > 0) {
		struct peer_client *cl = calloc(1, sizeof(*cl));

		if (cl == NULL || remote_index < 0 || remote_index >= cfg->nremotes) {
			free(cl);
			p->tun_fd = -1;
			peer_remove(&dp->peers, p);
			close(fd);
			return NULL;
		}
		p->cl = cl;
		failover_init(&cl->fo, cfg->nremotes, remote_index);
		cl->resolve = cl->udp_at = cl->tcp_at = -1;
		p->link = cfg->remotes[remote_index].proto;
		if (remote_len > 0) {
			memcpy(&cl->addr[remote_index], remote, remote_len);
			cl->addr_len[remote_index] = remote_len;
			if (p->link == VT_UDP)
				cl->udp_at = remote_index;
		}
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
	shape_setup(dp, p, now);
	udp_link_peer_init(&dp->udp, &p->udp);
	p->udp.no_gso = cfg->offload == VT_OFFLOAD_OFF;
	if ((cfg->protos & (1u << VT_UDP)) && cfg->offload == VT_OFFLOAD_AUTO)
		udp_link_want_gro(&dp->udp);
	if (!dp->server && p->link == VT_TCP)
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
dp_peer_update(struct dp *dp, struct peer *p, const struct vt_peer *cfg, uint64_t now)
{
	if (cfg->rate_in != p->cfg.rate_in || cfg->rate_out != p->cfg.rate_out ||
	    cfg->rate_burst != p->cfg.rate_burst) {
		p->cfg.rate_in = cfg->rate_in;
		p->cfg.rate_out = cfg->rate_out;
		p->cfg.rate_burst = cfg->rate_burst;
		shape_setup(dp, p, now);
	}
	p->cfg.keepalive = cfg->keepalive;
	p->cfg.duplicate = cfg->duplicate;
	if (p->cl != NULL && cfg->failback != p->cfg.failback && p->cl->fo.probe == -1) {
		p->cfg.failback = cfg->failback;
		failover_probe_over(&p->cl->fo, failback_ms(p), now); /* the next on the new one */
	}
	p->cfg.failback = cfg->failback;
	p->cfg.mss_clamp = cfg->mss_clamp;
	p->cfg.mtu_auto = cfg->mtu_auto; /* the same mtu, now from "auto" or not */
	p->cfg.timeout = cfg->timeout;
	p->cfg.rekey_interval = cfg->rekey_interval;
	p->cfg.compress_accel = cfg->compress_accel;
	p->cfg.nroutes = cfg->nroutes;
	memcpy(p->cfg.routes, cfg->routes, sizeof(p->cfg.routes));
	p->cfg.nallowed_ips = cfg->nallowed_ips;
	memcpy(p->cfg.allowed_ips, cfg->allowed_ips, sizeof(p->cfg.allowed_ips));
	if (prefix_set_build(&p->filter, &p->cfg) == -1)
		log_warnx("peer %s: no memory for the new routes and allowed-ips: the old "
		    "filter stays", p->cfg.name);
	peer_changed(&dp->peers, p);
}

/* ---- status ------------------------------------------------------------------------------- */

int
dp_sessions_up(const struct dp *dp)
{
	int n = 0;

	for (const struct peer *p = peer_first(&dp->peers); p != NULL; p = peer_next(p))
		n += session_is_up(&p->s);
	return n;
}

/* The offloads a peer's traffic uses, by name: "off" or a list. */
static void
offload_names(const struct dp *dp, const struct peer *p, char *s, size_t len)
{
	const struct {
		bool on;
		const char *name;
	} t[] = {
		{ p->vnet && (p->offload & TUN_F_CSUM), "csum" },
		{ p->vnet && (p->offload & (TUN_F_TSO4 | TUN_F_TSO6)), "tso" },
		{ p->vnet && (p->offload & (TUN_F_USO4 | TUN_F_USO6)), "uso" },
		{ p->vnet && (p->gro & OFF_GRO_TCP), "gro" },
		{ p->vnet && (p->gro & OFF_GRO_UDP), "gro-udp" },
		{ p->link == VT_UDP && dp->udp.gso && !p->udp.no_gso, "udp-gso" },
		{ p->link == VT_UDP && dp->udp.gro && !p->udp.no_gso, "udp-gro" },
	};
	size_t o = 0;

	s[0] = '\0';
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (t[i].on && o < len)
			o += (size_t)snprintf(s + o, len - o, "%s%s", o > 0 ? " " : "", t[i].name);
	if (o == 0)
		snprintf(s, len, "off");
}

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
	c->proto = names_proto[p->link];
	if (p->cl != NULL)
		remote_name(p, p->cl->fo.cur, c->remote, sizeof(c->remote));
	snprintf(c->device, sizeof(c->device), "%s", p->cfg.device);
	peer_where(p, c->endpoint, sizeof(c->endpoint));
	if (strcmp(c->endpoint, "-") == 0)
		c->endpoint[0] = '\0';
	c->state = session_state_name(session_state(&p->s));
	c->cipher = names_cipher[p->cfg.cipher];
	c->compress = names_compress[p->cfg.compress];
	offload_names(dp, p, c->offload, sizeof(c->offload));
	c->threads = p->link == VT_UDP ? pool_lanes(dp->pool) : 1;
	c->mtu = p->cfg.mtu;
	c->mtu_auto = p->cfg.mtu_auto;
	c->mss_clamp = p->cfg.mss_clamp;
	c->rate_in = p->cfg.rate_in;
	c->rate_out = p->cfg.rate_out;
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
	c->stats.split = p->traffic.split;
	c->stats.coalesced = p->traffic.coalesced;
	c->stats.clamped = p->traffic.clamped;
	c->stats.handshakes = ss->handshakes;
	c->stats.last_handshake = ss->last_handshake;
	c->stats.up_since = ss->up_since;
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
