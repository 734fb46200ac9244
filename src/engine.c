/*
 * engine.c - the libevent loop: callbacks, signals and timers, and nothing else. Each callback
 * calls down into the data path (datapath.c) for one descriptor or timer, then sync_all()
 * brings the events in line with what changed: peers whose timer, device reading or dial time
 * moved, connections that opened, want writability or closed (freed only here, after their
 * events).
 */
#define _GNU_SOURCE
#include "engine.h"

#include <errno.h>
#include <fcntl.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "datapath.h"
#include "log.h"
#include "privchan.h"
#include "xmalloc.h"

#define CTL_MAX_CLIENTS 16      /* control connections served at once */
#define CTL_TIMEOUT 5           /* seconds a control client may take */
#define ACCEPT_PAUSE_MS 250     /* listener rest after running out of descriptors */

struct engine {
	struct event_base *base;
	struct engine_setup setup;
	struct dp *dp;
	int tcp_fd;
	struct event *udp_ev, *tcp_ev, *ctl_ev, *chan_ev, *hs_ev, *housekeeping;
	int udp_fd;                     /* the socket udp_ev watches, or -1 */
	struct event *tcp_rest, *ctl_rest;
	struct event *sig_term, *sig_int, *sig_hup;
	int ctl_clients;
	struct bufferevent *ctl[CTL_MAX_CLIENTS]; /* the control clients being served */
	struct bufferevent *reload_bev; /* the control client waiting for a reload */
	int exit_code;
	bool exiting;
};

/* The engine's events of one peer (peer->io). */
struct peer_io {
	struct engine *e;
	struct peer *p;
	struct event *tun, *timer, *dial;
	uint64_t timer_at, dial_at;   /* armed for; UINT64_MAX = not armed */
	bool tun_on;
};

/* The engine's events of one TCP connection (tcp_lconn->io). */
struct conn_io {
	struct engine *e;
	struct tcp_lconn *c;
	struct event *rev, *wev;
	bool rev_on, wev_on;
};

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
arm(struct event *ev, uint64_t at, uint64_t now)
{
	struct timeval tv;

	at = at > now ? at : now;
	tv.tv_sec = (time_t)((at - now) / 1000);
	tv.tv_usec = (suseconds_t)((at - now) % 1000) * 1000;
	evtimer_add(ev, &tv);
}

static void conn_read_cb(evutil_socket_t fd, short what, void *arg);
static void conn_write_cb(evutil_socket_t fd, short what, void *arg);

/* A connection changed: create, adjust or free its events. */
static void
sync_conn(struct engine *e, struct tcp_lconn *c)
{
	struct conn_io *io = c->io;
	bool want_r, want_w;

	if (c->dead) {
		if (io != NULL) {
			event_free(io->rev);
			event_free(io->wev);
			free(io);
		}
		tcp_link_release(&e->dp->tcp, c);
		return;
	}
	if (io == NULL) {
		io = xcalloc(1, sizeof(*io));
		io->e = e;
		io->c = c;
		io->rev = event_new(e->base, c->tc.fd, EV_READ | EV_PERSIST, conn_read_cb, io);
		io->wev = event_new(e->base, c->tc.fd, EV_WRITE | EV_PERSIST, conn_write_cb, io);
		if (io->rev == NULL || io->wev == NULL)
			fatalx("event_new failed");
		c->io = io;
	}
	want_r = !c->tc.connecting;
	want_w = c->want_write;
	if (want_r != io->rev_on) {
		if (want_r)
			event_add(io->rev, NULL);
		else
			event_del(io->rev);
		io->rev_on = want_r;
	}
	if (want_w != io->wev_on) {
		if (want_w)
			event_add(io->wev, NULL);
		else
			event_del(io->wev);
		io->wev_on = want_w;
	}
}

/* Report the peer's session events to the parent (its session-up and -down hooks). */
static void
report_sessions(struct engine *e, struct peer *p)
{
	for (int i = 0; i < p->nnotify; i++) {
		if (e->setup.chan_fd != -1) {
			struct chan_msg m;

			memset(&m, 0, sizeof(m));
			m.type = CHAN_SESSION;
			m.arg = p->id;
			m.u.text.status = p->notify[i] ? 1 : 0;
			snprintf(m.u.text.text, sizeof(m.u.text.text), "%s",
			    strcmp(p->notify_ep, "-") == 0 ? "" : p->notify_ep);
			if (chan_send(e->setup.chan_fd, &m, -1) == -1)
				log_warnx("peer %s: the session event did not reach the parent",
				    p->cfg.name);
		} else if (e->setup.session != NULL) {
			e->setup.session(e->setup.arg, p->id, p->notify[i],
			    strcmp(p->notify_ep, "-") == 0 ? "" : p->notify_ep);
		}
	}
	p->nnotify = 0;
}

static void set_udp(struct engine *e, int fd);

/* A client's remote looked up (or not): to the data path. */
static void
resolved(struct engine *e, struct peer *p, const struct chan_addr *a)
{
	dp_peer_resolved(e->dp, p, (int)a->index, a->seq, a->status == 0 ?
	    (const struct sockaddr *)&a->addr : NULL, a->status == 0 ? a->len : 0, a->err,
	    now_ms());
}

/* A client wants a remote looked up before its next try or probe: the root parent does it
 * (the engine may have no resolver); without one, the call the parent gave. */
static void
ask_resolve(struct engine *e, struct peer *p)
{
	struct chan_msg m;
	uint32_t seq;
	int at = dp_peer_want_resolve(e->dp, p, &seq);

	if (at < 0)
		return;
	memset(&m, 0, sizeof(m));
	m.u.addr.index = (uint32_t)at;
	m.u.addr.seq = seq;
	m.u.addr.status = 1;
	if (e->setup.chan_fd != -1) {
		m.type = CHAN_RESOLVE;
		m.arg = p->id;
		if (chan_send(e->setup.chan_fd, &m, -1) == 0)
			return;
		snprintf(m.u.addr.err, sizeof(m.u.addr.err), "the privileged parent does not "
		    "answer");
	} else if (e->setup.resolve != NULL) {
		e->setup.resolve(e->setup.arg, p->id, (uint32_t)at, &m.u.addr);
	} else {
		snprintf(m.u.addr.err, sizeof(m.u.addr.err), "no resolver");
	}
	resolved(e, p, &m.u.addr);
}

/* A peer changed: device reading, timer and dial time as the data path wants them. */
static void
sync_peer(struct engine *e, struct peer *p, uint64_t now)
{
	struct peer_io *io = p->io;
	uint64_t at;
	bool on;

	if (p->nnotify > 0)
		report_sessions(e, p);
	if (p->cl != NULL)
		ask_resolve(e, p);
	if (io == NULL)
		return;
	on = !p->tun_paused && !p->rate_paused && p->tun_fd != -1;
	if (on != io->tun_on) {
		if (on)
			event_add(io->tun, NULL);
		else
			event_del(io->tun);
		io->tun_on = on;
	}
	at = dp_peer_deadline(e->dp, p, now);
	if (at != io->timer_at || (at != UINT64_MAX && !evtimer_pending(io->timer, NULL))) {
		if (at == UINT64_MAX)
			event_del(io->timer);
		else
			arm(io->timer, at, now);
		io->timer_at = at;
	}
	if (p->dial_at != io->dial_at) {
		if (p->dial_at == UINT64_MAX)
			event_del(io->dial);
		else
			arm(io->dial, p->dial_at, now);
		io->dial_at = p->dial_at;
	}
}

/* After every call into the data path. */
static void
sync_all(struct engine *e)
{
	uint64_t now = now_ms();
	struct tcp_lconn *c;
	struct peer *p;

	/* A client's lookup, answered at once without a parent, may change more. */
	for (bool any = true; any;) {
		any = false;
		while ((c = tcp_link_take_changed(&e->dp->tcp)) != NULL) {
			sync_conn(e, c);
			any = true;
		}
		while ((p = peer_take_changed(&e->dp->peers)) != NULL) {
			sync_peer(e, p, now);
			any = true;
		}
	}
	/* A client's data path may have moved its UDP link to a new socket (failover). */
	if (!e->setup.server && e->dp->udp.fd != e->udp_fd)
		set_udp(e, e->dp->udp.fd);
	dp_udp_retire(e->dp); /* the socket it replaced, now that no event watches it */
	/* Initiations wait: answer a budget of them after the next poll, so that the sockets get
	 * their turn in between and a flood shows as a growing queue (the load measure). */
	if (hsq_len(e->dp->hsq) > 0 && !evtimer_pending(e->hs_ev, NULL)) {
		struct timeval zero = { 0, 0 };

		evtimer_add(e->hs_ev, &zero);
	}
}

/* ---- data ---------------------------------------------------------------------------------- */

static void
tun_cb(evutil_socket_t fd, short what, void *arg)
{
	struct peer_io *io = arg;

	dp_tun_readable(io->e->dp, io->p, now_ms());
	sync_all(io->e);
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct peer_io *io = arg;

	io->timer_at = UINT64_MAX;
	dp_peer_timer(io->e->dp, io->p, now_ms());
	sync_all(io->e);
}

static void
dial_cb(evutil_socket_t fd, short what, void *arg)
{
	struct peer_io *io = arg;

	io->dial_at = UINT64_MAX;
	dp_peer_dial(io->e->dp, io->p, now_ms());
	sync_all(io->e);
}

static void
udp_cb(evutil_socket_t fd, short what, void *arg)
{
	struct engine *e = arg;

	dp_udp_readable(e->dp, now_ms());
	sync_all(e);
}

static void
conn_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn_io *io = arg;
	struct engine *e = io->e;

	/* More complete messages than one turn takes: come back after the other events. */
	if (dp_tcp_readable(e->dp, io->c, now_ms()) && !io->c->dead)
		event_active(io->rev, EV_READ, 0);
	sync_all(e);
}

static void
conn_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn_io *io = arg;

	dp_tcp_writable(io->e->dp, io->c, now_ms());
	sync_all(io->e);
}

static void
hs_cb(evutil_socket_t fd, short what, void *arg)
{
	struct engine *e = arg;

	dp_handshakes(e->dp, now_ms());
	sync_all(e); /* re-activates this event while initiations wait */
}

static void
housekeeping_cb(evutil_socket_t fd, short what, void *arg)
{
	struct engine *e = arg;

	dp_housekeeping(e->dp, now_ms());
	sync_all(e);
	/* The heartbeat: the loop runs (the parent's watchdog), and how many sessions are up. */
	if (e->setup.chan_fd != -1)
		chan_send_simple(e->setup.chan_fd, CHAN_ALIVE, (uint32_t)dp_sessions_up(e->dp));
	else if (e->setup.alive != NULL)
		e->setup.alive(e->setup.arg, dp_sessions_up(e->dp));
}

/* A listener ran out of descriptors (or memory): let it rest instead of spinning on it. */
static bool
exhausted(int err)
{
	return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
}

static void
rest(struct event *listener, struct event *timer)
{
	struct timeval tv = { 0, ACCEPT_PAUSE_MS * 1000 };

	event_del(listener);
	evtimer_add(timer, &tv);
}

static void
tcp_rest_cb(evutil_socket_t fd, short what, void *arg)
{
	struct engine *e = arg;

	if (e->tcp_ev != NULL)
		event_add(e->tcp_ev, NULL);
}

static void
accept_cb(evutil_socket_t fd, short what, void *arg)
{
	struct engine *e = arg;
	int err = dp_tcp_accept(e->dp, e->tcp_fd, now_ms());

	if (exhausted(err)) {
		log_warnx("tcp: %s; not accepting for %d ms", strerror(err), ACCEPT_PAUSE_MS);
		rest(e->tcp_ev, e->tcp_rest);
	}
	sync_all(e);
}

/* ---- peers --------------------------------------------------------------------------------- */

/* Give a new peer its events. */
static void
peer_io_new(struct engine *e, struct peer *p)
{
	struct peer_io *io = xcalloc(1, sizeof(*io));

	io->e = e;
	io->p = p;
	io->timer_at = io->dial_at = UINT64_MAX;
	io->tun = event_new(e->base, p->tun_fd, EV_READ | EV_PERSIST, tun_cb, io);
	io->timer = evtimer_new(e->base, timer_cb, io);
	io->dial = evtimer_new(e->base, dial_cb, io);
	if (io->tun == NULL || io->timer == NULL || io->dial == NULL)
		fatalx("event_new failed");
	p->io = io;
	peer_changed(&e->dp->peers, p);
}

static void
peer_io_free(struct peer *p)
{
	struct peer_io *io = p->io;

	if (io == NULL)
		return;
	event_free(io->tun);
	event_free(io->timer);
	event_free(io->dial);
	free(io);
	p->io = NULL;
}

static void
set_udp(struct engine *e, int fd)
{
	if (e->udp_ev != NULL)
		event_free(e->udp_ev);
	e->udp_ev = NULL;
	e->udp_fd = fd;
	if (fd == -1)
		return;
	e->udp_ev = event_new(e->base, fd, EV_READ | EV_PERSIST, udp_cb, e);
	if (e->udp_ev == NULL)
		fatalx("event_new failed");
	event_add(e->udp_ev, NULL);
}

static void
set_tcp(struct engine *e, int fd)
{
	if (e->tcp_ev != NULL)
		event_free(e->tcp_ev);
	if (e->tcp_fd != -1 && e->tcp_fd != fd)
		close(e->tcp_fd);
	e->tcp_ev = NULL;
	e->tcp_fd = fd;
	if (fd == -1)
		return;
	e->tcp_ev = event_new(e->base, fd, EV_READ | EV_PERSIST, accept_cb, e);
	if (e->tcp_ev == NULL)
		fatalx("event_new failed");
	event_add(e->tcp_ev, NULL);
}

int
engine_add_peer(struct engine *e, uint32_t id, const struct vt_peer *cfg,
    const struct sockaddr *remote, socklen_t remote_len, int remote_index, int fd)
{
	enum vt_proto first = cfg->nremotes > 0 && remote_index >= 0 &&
	    remote_index < cfg->nremotes ? cfg->remotes[remote_index].proto : cfg->proto;
	char err[256];
	struct peer *p;

	/* A client sends from its own socket, connected to the server: one the parent made (a
	 * copy, so that a restart of the peer can take it again), else a new one. */
	if (!e->setup.server && first == VT_UDP && remote != NULL) {
		int s = e->setup.client_udp[remote->sa_family == AF_INET6];

		if (s != -1 && (s = fcntl(s, F_DUPFD_CLOEXEC, 0)) == -1)
			log_warn("peer %s: dup", cfg->name);
		if (dp_udp_client(e->dp, s, remote, remote_len, err, sizeof(err)) == -1) {
			log_warnx("peer %s: %s", cfg->name, err);
			close(fd);
			return -1;
		}
		set_udp(e, e->dp->udp.fd);
	}
	p = dp_peer_add(e->dp, id, cfg, remote, remote_len, remote_index, fd, now_ms());
	if (p == NULL) {
		log_warnx("peer %s: cannot add it (name, key or id in use, or out of memory)",
		    cfg->name);
		return -1;
	}
	peer_io_new(e, p);
	sync_all(e);
	return 0;
}

/* Take a peer out: its events first, then the data path closes it. keep_fd: return its fd. */
static int
remove_peer(struct engine *e, struct peer *p, bool keep_fd)
{
	int fd;

	peer_io_free(p);
	fd = dp_peer_remove(e->dp, p, keep_fd, now_ms());
	sync_all(e);
	return fd;
}

int
engine_remove_peer(struct engine *e, uint32_t id)
{
	struct peer *p = peer_by_id(&e->dp->peers, id);

	if (p == NULL)
		return -1;
	log_info("peer %s: removed from the configuration", p->cfg.name);
	remove_peer(e, p, false);
	if (!e->setup.server) {
		/* A client's socket belongs to its one peer: a peer added later makes its own. */
		set_udp(e, -1);
		udp_link_close(&e->dp->udp);
	}
	return 0;
}

int
engine_restart_peer(struct engine *e, uint32_t id, const struct vt_peer *cfg,
    const struct sockaddr *remote, socklen_t remote_len, int remote_index)
{
	struct peer *p = peer_by_id(&e->dp->peers, id);
	int fd;

	if (p == NULL)
		return -1;
	log_info("peer %s: settings changed, starting the session again", cfg->name);
	fd = remove_peer(e, p, true);
	if (!e->setup.server) {
		set_udp(e, -1);
		udp_link_close(&e->dp->udp);
	}
	return engine_add_peer(e, id, cfg, remote, remote_len, remote_index, fd);
}

int
engine_update_peer(struct engine *e, uint32_t id, const struct vt_peer *cfg)
{
	struct peer *p = peer_by_id(&e->dp->peers, id);

	if (p == NULL)
		return -1;
	dp_peer_update(e->dp, p, cfg, now_ms());
	sync_all(e);
	return 0;
}

void
engine_set_socket(struct engine *e, bool tcp, int fd)
{
	if (tcp) {
		set_tcp(e, fd);
	} else {
		dp_udp_server(e->dp, fd);
		set_udp(e, fd);
	}
}

void
engine_ready(struct engine *e)
{
	log_info("ready");
	if (e->setup.chan_fd != -1)
		chan_send_simple(e->setup.chan_fd, CHAN_READY, 0);
	else if (e->setup.ready != NULL)
		e->setup.ready(e->setup.arg);
}

/* ---- the channel from the root parent ------------------------------------------------------ */

static void ctl_reply(struct bufferevent *bev, const char *text, size_t len);

/* Answer the control client that asked for a reload. */
static void
reload_done(struct engine *e, int status, const char *text)
{
	char line[CHAN_TEXT_MAX + 16];
	int n;

	if (e->reload_bev == NULL)
		return;
	n = snprintf(line, sizeof(line), "%s%s\n", status == 0 ? "" : "error: ", text);
	ctl_reply(e->reload_bev, line, (size_t)n > sizeof(line) - 1 ? sizeof(line) - 1 : (size_t)n);
	e->reload_bev = NULL;
}

/* One request from the parent, checked by chan_recv. */
static void
chan_message(struct engine *e, struct chan_msg *m, int fd)
{
	const struct chan_peer *cp = &m->u.peer;
	const struct sockaddr *remote = (const struct sockaddr *)&cp->remote;
	struct vt_peer cfg;

	if (m->type == CHAN_PEER_ADD || m->type == CHAN_PEER_RESTART ||
	    m->type == CHAN_PEER_UPDATE)
		chan_peer_to(cp, &cfg);
	switch ((enum chan_type)m->type) {
	/* A peer the engine cannot take (or no longer has) is reported gone: the parent then
	 * takes its device down. */
	case CHAN_PEER_ADD:
		if (engine_add_peer(e, cp->id, &cfg, remote, cp->remote_len, cp->remote_index,
		    fd) == -1)
			chan_send_simple(e->setup.chan_fd, CHAN_PEER_GONE, cp->id);
		break;
	case CHAN_PEER_RESTART:
		if (engine_restart_peer(e, cp->id, &cfg, remote, cp->remote_len,
		    cp->remote_index) == -1)
			chan_send_simple(e->setup.chan_fd, CHAN_PEER_GONE, cp->id);
		break;
	case CHAN_PEER_UPDATE:
		if (engine_update_peer(e, cp->id, &cfg) == -1)
			chan_send_simple(e->setup.chan_fd, CHAN_PEER_GONE, cp->id);
		break;
	case CHAN_PEER_REMOVE:
		engine_remove_peer(e, m->arg);
		chan_send_simple(e->setup.chan_fd, CHAN_PEER_GONE, m->arg);
		break;
	case CHAN_LOG_LEVEL:
		log_set_level((enum log_level)m->arg);
		break;
	case CHAN_SOCKET:
		engine_set_socket(e, m->arg == 1, fd);
		break;
	case CHAN_GO:
		engine_ready(e);
		break;
	case CHAN_RELOAD_DONE:
		reload_done(e, m->u.text.status, m->u.text.text);
		break;
	case CHAN_RESOLVED: {
		struct peer *p = peer_by_id(&e->dp->peers, m->arg);

		if (p != NULL) {
			resolved(e, p, &m->u.addr);
			sync_all(e);
		}
		break;
	}
	default: /* chan_recv lets only requests for the engine through */
		if (fd != -1)
			close(fd);
		break;
	}
}

static void
chan_cb(evutil_socket_t fd, short what, void *arg)
{
	struct engine *e = arg;
	struct chan_msg m;
	int rc, mfd;

	for (int i = 0; i < 64; i++) {
		rc = chan_recv(e->setup.chan_fd, true, &m, &mfd);
		if (rc == -1)
			return;
		if (rc == 0) {
			log_warnx("the privileged parent went away: shutting down");
			dp_shutdown(e->dp, now_ms());
			event_base_loopexit(e->base, NULL);
			e->exit_code = 1;
			event_del(e->chan_ev);
			return;
		}
		if (rc == -2) {
			log_warnx("malformed message from the privileged parent: ignored");
			continue;
		}
		chan_message(e, &m, mfd);
	}
}

/* ---- the control socket -------------------------------------------------------------------- */

/* One client fewer: a listener that rested at the limit takes connections again. */
static void
ctl_done(struct engine *e, struct bufferevent *bev)
{
	if (bev == e->reload_bev)
		e->reload_bev = NULL;
	for (int i = 0; i < CTL_MAX_CLIENTS; i++)
		if (e->ctl[i] == bev)
			e->ctl[i] = NULL;
	bufferevent_free(bev);
	if (e->ctl_clients-- == CTL_MAX_CLIENTS && !evtimer_pending(e->ctl_rest, NULL))
		event_add(e->ctl_ev, NULL);
}

static void
ctl_rest_cb(evutil_socket_t fd, short what, void *arg)
{
	struct engine *e = arg;

	if (e->ctl_clients < CTL_MAX_CLIENTS)
		event_add(e->ctl_ev, NULL);
}

/* Send the reply and close once it is written. */
static void
ctl_reply(struct bufferevent *bev, const char *text, size_t len)
{
	bufferevent_disable(bev, EV_READ);
	bufferevent_write(bev, text, len);
}

static void
ctl_read_cb(struct bufferevent *bev, void *arg)
{
	struct engine *e = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer_ptr eol;
	char line[CONTROL_REQ_MAX + 1], *reply = NULL;
	size_t eol_len = 0, n;
	long len;

	eol = evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_LF);
	if (eol.pos == -1) {
		if (evbuffer_get_length(in) > CONTROL_REQ_MAX)
			ctl_reply(bev, "error: request too long\n", 24);
		return;
	}
	if ((size_t)eol.pos > CONTROL_REQ_MAX) {
		ctl_reply(bev, "error: request too long\n", 24);
		return;
	}
	n = (size_t)eol.pos;
	if (evbuffer_remove(in, line, n) != (int)n) {
		ctl_reply(bev, "error: read failed\n", 19);
		return;
	}
	line[n] = '\0';
	evbuffer_drain(in, eol_len);
	if (control_is_reload(line, n)) {
		if (e->setup.chan_fd == -1) {
			char text[CHAN_TEXT_MAX];
			int rc = e->setup.reload != NULL ?
			    e->setup.reload(e->setup.arg, text, sizeof(text)) :
			    (snprintf(text, sizeof(text), "reload is not available"), 1);

			e->reload_bev = bev;
			reload_done(e, rc, text);
		} else if (e->reload_bev != NULL)
			ctl_reply(bev, "error: a reload is in progress\n", 31);
		else if (chan_send_simple(e->setup.chan_fd, CHAN_RELOAD, 0) == -1)
			ctl_reply(bev, "error: the privileged parent does not answer\n", 45);
		else {
			struct timeval tv = { CONTROL_RELOAD_TIMEOUT, 0 };

			e->reload_bev = bev;
			bufferevent_disable(bev, EV_READ);
			bufferevent_set_timeouts(bev, &tv, &tv);
		}
		return;
	}
	len = dp_status(e->dp, line, n, e->setup.role, &reply);
	if (len < 0)
		ctl_reply(bev, "error: out of memory\n", 21);
	else
		ctl_reply(bev, reply, (size_t)len);
	free(reply);
}

static void
ctl_write_cb(struct bufferevent *bev, void *arg)
{
	if (!(bufferevent_get_enabled(bev) & EV_READ) && bev != ((struct engine *)arg)->reload_bev)
		ctl_done(arg, bev);
}

static void
ctl_event_cb(struct bufferevent *bev, short what, void *arg)
{
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
		ctl_done(arg, bev);
}

static void
ctl_accept_cb(evutil_socket_t fd, short what, void *arg)
{
	struct engine *e = arg;
	struct bufferevent *bev;
	struct timeval tv = { CTL_TIMEOUT, 0 };
	int cfd;

	cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (cfd == -1) {
		if (exhausted(errno)) {
			log_warnx("control socket: out of descriptors; not accepting for %d ms",
			    ACCEPT_PAUSE_MS);
			rest(e->ctl_ev, e->ctl_rest);
		}
		return;
	}
	bev = bufferevent_socket_new(e->base, cfd, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		close(cfd);
		return;
	}
	bufferevent_setcb(bev, ctl_read_cb, ctl_write_cb, ctl_event_cb, e);
	bufferevent_set_timeouts(bev, &tv, &tv);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	for (int i = 0; i < CTL_MAX_CLIENTS; i++)
		if (e->ctl[i] == NULL) {
			e->ctl[i] = bev;
			break;
		}
	/* At the limit, stop accepting until a client is done: the kernel's backlog waits. */
	if (++e->ctl_clients == CTL_MAX_CLIENTS)
		event_del(e->ctl_ev);
}

/* ---- signals and the loop ------------------------------------------------------------------ */

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct engine *e = arg;

	if (sig == SIGHUP) {
		char text[CHAN_TEXT_MAX];

		if (e->setup.reload != NULL && e->setup.chan_fd == -1) {
			log_info("SIGHUP received: reloading");
			e->setup.reload(e->setup.arg, text, sizeof(text));
		} else {
			log_info("SIGHUP received by the engine: the root parent reloads (send it "
			    "there, or run vtund-ng reload)");
		}
		return;
	}
	log_info("%s received, shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
	dp_shutdown(e->dp, now_ms());
	e->exiting = true;
	event_base_loopexit(e->base, NULL);
}

struct engine *
engine_new(const struct engine_setup *st)
{
	struct timeval hk = { 1, 0 };
	struct engine *e = xcalloc(1, sizeof(*e));

	e->setup = *st;
	e->tcp_fd = -1;
	e->udp_fd = -1;
	e->base = event_base_new();
	if (e->base == NULL)
		fatalx("event_base_new failed");
	e->dp = dp_new(st->server, st->private_key, st->threads > 0 ? st->threads : 1);
	if (e->dp == NULL) {
		log_warn("cannot set up the data path (its key, memory or %d threads)",
		    st->threads > 0 ? st->threads : 1);
		event_base_free(e->base);
		free(e);
		return NULL;
	}
	e->dp->client_udp[0] = st->client_udp[0]; /* the engine's; copied for a new link */
	e->dp->client_udp[1] = st->client_udp[1];
	e->hs_ev = evtimer_new(e->base, hs_cb, e);
	e->housekeeping = event_new(e->base, -1, EV_PERSIST, housekeeping_cb, e);
	e->tcp_rest = evtimer_new(e->base, tcp_rest_cb, e);
	e->sig_term = evsignal_new(e->base, SIGTERM, signal_cb, e);
	e->sig_int = evsignal_new(e->base, SIGINT, signal_cb, e);
	e->sig_hup = evsignal_new(e->base, SIGHUP, signal_cb, e);
	if (e->hs_ev == NULL || e->housekeeping == NULL || e->tcp_rest == NULL ||
	    e->sig_term == NULL || e->sig_int == NULL || e->sig_hup == NULL)
		fatalx("event_new failed");
	event_add(e->housekeeping, &hk);
	event_add(e->sig_term, NULL);
	event_add(e->sig_int, NULL);
	event_add(e->sig_hup, NULL);
	if (st->udp_fd != -1) {
		dp_udp_server(e->dp, st->udp_fd);
		set_udp(e, st->udp_fd);
	}
	set_tcp(e, st->tcp_fd);
	if (st->ctl_fd != -1) {
		e->ctl_ev = event_new(e->base, st->ctl_fd, EV_READ | EV_PERSIST, ctl_accept_cb, e);
		e->ctl_rest = evtimer_new(e->base, ctl_rest_cb, e);
		if (e->ctl_ev == NULL || e->ctl_rest == NULL)
			fatalx("event_new failed");
		event_add(e->ctl_ev, NULL);
	}
	if (st->chan_fd != -1) {
		/* Never block on the parent: a message that does not fit is lost, not waited for. */
		fcntl(st->chan_fd, F_SETFL, fcntl(st->chan_fd, F_GETFL) | O_NONBLOCK);
		e->chan_ev = event_new(e->base, st->chan_fd, EV_READ | EV_PERSIST, chan_cb, e);
		if (e->chan_ev == NULL)
			fatalx("event_new failed");
		event_add(e->chan_ev, NULL);
	}
	return e;
}

int
engine_dispatch(struct engine *e)
{
	if (event_base_dispatch(e->base) == -1) {
		log_warnx("event loop failed");
		e->exit_code = 1;
	}
	return e->exit_code;
}

bool
engine_step(struct engine *e)
{
	event_base_loop(e->base, EVLOOP_NONBLOCK);
	return !e->exiting && !event_base_got_exit(e->base);
}

void
engine_free(struct engine *e)
{
	for (struct peer *p = peer_first(&e->dp->peers); p != NULL; p = peer_next(p))
		peer_io_free(p);
	for (struct tcp_lconn *c = e->dp->tcp.conns; c != NULL; c = c->next) {
		struct conn_io *io = c->io;

		if (io != NULL) {
			event_free(io->rev);
			event_free(io->wev);
			free(io);
			c->io = NULL;
		}
	}
	for (int i = 0; i < CTL_MAX_CLIENTS; i++)
		if (e->ctl[i] != NULL)
			bufferevent_free(e->ctl[i]);
	e->reload_bev = NULL;
	dp_free(e->dp);
	set_udp(e, -1);
	set_tcp(e, -1);
	if (e->ctl_ev != NULL)
		event_free(e->ctl_ev);
	if (e->ctl_rest != NULL)
		event_free(e->ctl_rest);
	if (e->chan_ev != NULL)
		event_free(e->chan_ev);
	if (e->setup.ctl_fd != -1)
		close(e->setup.ctl_fd);
	for (int i = 0; i < 2; i++)
		if (e->setup.client_udp[i] != -1)
			close(e->setup.client_udp[i]);
	if (e->setup.chan_fd != -1)
		close(e->setup.chan_fd);
	event_free(e->hs_ev);
	event_free(e->housekeeping);
	event_free(e->tcp_rest);
	event_free(e->sig_term);
	event_free(e->sig_int);
	event_free(e->sig_hup);
	event_base_free(e->base);
	free(e);
}
