/*
 * parent.c - the root parent (parent.h): start-up with root rights, the engine child, the
 * parent's loop, and configuration reload.
 */
#define _GNU_SOURCE
#include "parent.h"

#include "config-auto.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "config_parse.h"
#include "crypto.h"
#include "daemon.h"
#include "engine.h"
#include "log.h"
#include "priv.h"
#include "privchan.h"
#include "transport.h"
#include "xmalloc.h"

#ifndef RUNSTATEDIR
#define RUNSTATEDIR "/run"
#endif
#define RUN_DIR RUNSTATEDIR "/vtund-ng"
#define GONE_TIMEOUT_MS 10000 /* how long the engine may take to let a removed peer go */
#define SEND_TIMEOUT_MS 10000 /* how long the engine may leave its channel full */
#define STOP_TIMEOUT_MS 10000 /* how long the engine may take to stop after SIGTERM */
#define RELOAD_GAP_MS 1000    /* at most one reload a second on the engine's request */
#define LOOKUPS_PER_S 5       /* a client's lookups a second on the engine's request */

/* A peer as the parent knows it: its configuration, device and resolved server. */
struct pdev {
	uint32_t id;
	int cfg;                     /* index into the current configuration's peers */
	int fd;                      /* the parent's copy of the device fd */
	int ifindex;                 /* of a device we created; 0 for a persistent one */
	struct sockaddr_storage remote; /* client: the first remote that resolved, */
	socklen_t remote_len;
	int remote_index;               /* which one it is */
	uint64_t look_start;            /* lookups the engine asked for in the second from then */
	int looks;
};

struct parent {
	struct parent_opts o;
	struct vt_config cfg;
	const char *role;
	struct pdev *devs;
	int ndevs;
	uint32_t next_id;
	int udp_fd, tcp_fd, ctl_fd;  /* server sockets and the control socket (until the fork) */
	int client_udp[2];           /* client: UDP sockets for the link, AF_INET and AF_INET6,
	                                made while privileged (until the fork) */
	bool have_udp, have_tcp;     /* the engine has such a server socket */
	char ctl_path[4096], pid_path[4096];
	bool wrote_pid;
	const char *user;            /* the engine's user; NULL = it keeps our rights */
	uid_t uid;
	gid_t gid;
	int chan;                    /* our end of the channel (privilege separation) */
	pid_t engine;
	struct engine *e;            /* or the engine in this process (no separation) */
	bool ready;
	bool watchdog;               /* systemd's WatchdogSec: ping on every engine heartbeat */
	int last_up;                 /* sessions up in the last STATUS= line, -1 before one */
	bool reload_asked;           /* a control client asked for a reload (answer pending) */
	uint64_t next_reload;        /* not before this (ms), when the engine asks */
	uint64_t stop_deadline;      /* SIGTERM forwarded: SIGKILL after this (ms); 0 = none */
	uint32_t *lost;              /* peers the engine says it let go without being asked */
	int nlost;
};

static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- configuration -------------------------------------------------------------------------- */

/* Load the configuration; every error goes to the log (or stderr) as file:line. */
static bool
load(const char *path, struct vt_config *cfg, bool to_log)
{
	struct config_errors errs;

	if (config_load(path, cfg, &errs) == 0)
		return true;
	for (int i = 0; i < errs.n; i++) {
		if (to_log)
			log_warnx("%s", errs.msg[i]);
		else
			fprintf(stderr, "%s\n", errs.msg[i]);
	}
	if (errs.dropped > 0) {
		if (to_log)
			log_warnx("%s: %d more errors not shown", path, errs.dropped);
		else
			fprintf(stderr, "%s: %d more errors not shown\n", path, errs.dropped);
	}
	return false;
}

/* Client: the peer to serve, with the command line's HOST[:PORT], resolved; -1 with err. */
/* One remote's address now (blocking: the parent's resolver, never the engine's). */
static int
parent_resolve(const struct vt_remote *r, struct sockaddr_storage *ss, socklen_t *len,
    char *err, size_t errlen)
{
	return transport_resolve(r->host, r->port, r->proto == VT_TCP ? SOCK_STREAM : SOCK_DGRAM,
	    ss, len, err, errlen);
}

static int
client_peer(const struct parent_opts *o, struct vt_config *cfg, int *index,
    struct sockaddr_storage *remote, socklen_t *remote_len, int *first, char *err,
    size_t errlen)
{
	const struct vt_peer *found = config_find_peer(cfg, o->client_peer);
	struct vt_peer *p;
	const char *why;
	uint16_t port;

	if (found == NULL) {
		snprintf(err, errlen, "%s: no peer named '%s'", cfg->path, o->client_peer);
		return -1;
	}
	*index = (int)(found - cfg->peers);
	p = &cfg->peers[*index];
	/* HOST[:PORT] takes the place of every remote's host (and port), each keeping its
	 * transport; a peer without remotes gets it over each of its transports. */
	if (o->client_override != NULL) {
		char host[CONFIG_HOST_MAX + 1];

		why = config_parse_hostport(o->client_override, false, host, &port, 0);
		if (why != NULL) {
			snprintf(err, errlen, "bad server address '%s': %s (HOST, HOST:PORT or "
			    "[V6]:PORT)", o->client_override, why);
			return -2;
		}
		if (p->nremotes == 0) {
			for (int i = 0; i < VT_PROTO_MAX; i++) {
				enum vt_proto pr = i == 0 ? p->proto : (enum vt_proto)(p->proto ^ 1);

				if (!(p->protos & (1u << pr)))
					continue;
				p->remotes[p->nremotes].proto = pr;
				p->remotes[p->nremotes].port = CONFIG_DEFAULT_PORT;
				p->remotes[p->nremotes++].line = p->line;
			}
		}
		for (int i = 0; i < p->nremotes; i++) {
			snprintf(p->remotes[i].host, sizeof(p->remotes[i].host), "%s", host);
			if (port != 0)
				p->remotes[i].port = port;
		}
		/* Remotes that became the same are tried once. */
		for (int i = 1; i < p->nremotes; i++) {
			for (int j = 0; j < i; j++) {
				if (p->remotes[j].port != p->remotes[i].port ||
				    p->remotes[j].proto != p->remotes[i].proto)
					continue;
				memmove(&p->remotes[i], &p->remotes[i + 1],
				    sizeof(p->remotes[0]) * (size_t)(p->nremotes - i - 1));
				p->nremotes--;
				i--;
				break;
			}
		}
	}
	if (p->nremotes == 0) {
		snprintf(err, errlen, "%s:%d: peer '%s': no remote: a client needs remote = "
		    "\"host:port\" or a HOST argument", cfg->path, p->line, p->name);
		return -1;
	}
	/* The first remote that resolves now is where the client starts (it resolves each one
	 * again before every try: parent_resolve). */
	for (int i = 0; i < p->nremotes; i++) {
		if (parent_resolve(&p->remotes[i], remote, remote_len, err, errlen) == 0) {
			*first = i;
			return 0;
		}
		if (p->nremotes > 1)
			log_warnx("peer %s: remote %d of %d: %s", p->name, i + 1, p->nremotes, err);
	}
	return -1;
}

/* Whether two peers' remotes differ (hosts, ports, transports or their order). */
static bool
remotes_differ(const struct vt_peer *a, const struct vt_peer *b)
{
	if (a->nremotes != b->nremotes)
		return true;
	for (int i = 0; i < a->nremotes; i++)
		if (a->remotes[i].port != b->remotes[i].port ||
		    a->remotes[i].proto != b->remotes[i].proto ||
		    strcmp(a->remotes[i].host, b->remotes[i].host) != 0)
			return true;
	return false;
}

/* Whether new peer p may keep the mtu that "auto" gave running peer old (a reload): the same
 * peer, still "auto", over the same transport to the same place. A reload must not give a
 * peer another device because the kernel learned a path MTU, or because the lookup now goes
 * through one of our own devices. */
static bool
keeps_auto_mtu(const struct vt_config *oldcfg, const struct vt_config *cfg,
    const struct vt_peer *p, const struct vt_peer **old)
{
	*old = oldcfg != NULL ? config_find_peer(oldcfg, p->name) : NULL;
	return *old != NULL && (*old)->mtu_auto && p->mtu_auto && (*old)->mtu > 0 &&
	    (*old)->type == p->type && (*old)->protos == p->protos &&
	    !remotes_differ(*old, p) &&
	    strcmp(oldcfg->listen_host, cfg->listen_host) == 0;
}

/* mtu = "auto" for the peers this daemon serves: a client's toward its resolved server, a
 * server's toward its listen address (priv_auto_mtu); on reload (oldcfg: the running
 * configuration) what a running peer has, unless where it goes changed. */
static void
auto_mtus(const struct parent *pr, const struct vt_config *oldcfg, struct vt_config *cfg,
    int client_index, const struct sockaddr *remote)
{
	const struct vt_peer *old;
	struct sockaddr_storage ss;
	socklen_t sslen;
	char err[256];

	for (int i = 0; i < cfg->npeers; i++)
		if (keeps_auto_mtu(oldcfg, cfg, &cfg->peers[i], &old))
			cfg->peers[i].mtu = old->mtu;
	if (!pr->o.server) {
		if (cfg->peers[client_index].mtu == 0)
			priv_auto_mtu(&cfg->peers[client_index], remote);
		return;
	}
	if (transport_resolve(cfg->listen_host, cfg->listen_port, SOCK_DGRAM, &ss, &sslen, err,
	    sizeof(err)) == -1) {
		log_warnx("listen: %s", err);
		ss.ss_family = AF_UNSPEC;
	}
	for (int i = 0; i < cfg->npeers; i++)
		if (cfg->peers[i].mtu == 0)
			priv_auto_mtu(&cfg->peers[i], ss.ss_family != AF_UNSPEC ?
			    (const struct sockaddr *)&ss : NULL);
}

/*
 * What start-up would refuse later, beyond the file itself: a user or group that does not
 * exist (an error, file:line); with check (-t) also a remote that does not resolve now and a
 * missing default user (warnings: the daemon may start anyway). 0, or 1 after the errors on
 * stderr. The daemon runs it before it touches anything, so that its refusal reads as -t's.
 */
static int
check_system(const struct vt_config *cfg, int client_index, bool check)
{
	char err[256];
	struct sockaddr_storage ss;
	socklen_t len;
	int rc = 0;

	if (cfg->user != NULL && cfg->user[0] != '\0' && getpwnam(cfg->user) == NULL) {
		fprintf(stderr, "%s:%d: user %s: no such user\n", cfg->path, cfg->user_line,
		    cfg->user);
		rc = 1;
	} else if (check && cfg->user == NULL && getpwnam(VT_DEFAULT_USER) == NULL) {
		fprintf(stderr, "%s: warning: user %s does not exist: the engine would run as "
		    "nobody (create %s, or set user)\n", cfg->path, VT_DEFAULT_USER,
		    VT_DEFAULT_USER);
	}
	if (cfg->group != NULL && getgrnam(cfg->group) == NULL) {
		fprintf(stderr, "%s:%d: group %s: no such group\n", cfg->path, cfg->group_line,
		    cfg->group);
		rc = 1;
	}
	for (int i = 0; i < cfg->npeers; i++) {
		const struct vt_peer *p = &cfg->peers[i];

		if (!check || (client_index >= 0 && i != client_index))
			continue;
		for (int j = 0; j < p->nremotes; j++)
			if (parent_resolve(&p->remotes[j], &ss, &len, err, sizeof(err)) == -1)
				fprintf(stderr, "%s:%d: warning: peer '%s': %s (a client resolves it "
				    "before every try)\n", cfg->path, p->remotes[j].line, p->name,
				    err);
	}
	return rc;
}

/* Who the engine runs as. NULL: it keeps our rights (not root, or user = ""). Unless the
 * configuration says user = "", a root daemon never parses network input as root: without
 * the default user the engine runs as nobody. */
static const char *
engine_user(const struct vt_config *cfg, uid_t *uid, gid_t *gid, char *err, size_t errlen)
{
	const char *name = cfg->user;

	*uid = (uid_t)-1;
	*gid = (gid_t)-1;
	if (geteuid() != 0)
		return NULL;
	if (name == NULL) {
		name = VT_DEFAULT_USER;
		if (getpwnam(name) == NULL) {
			log_warnx("user %s does not exist: the engine runs as nobody (create %s, "
			    "or set user in the configuration)", name, name);
			name = "nobody";
		}
	}
	if (name[0] == '\0' || strcmp(name, "root") == 0)
		return NULL;
	if (priv_lookup_user(name, cfg->group, uid, gid, err, errlen) == -1)
		return "";
	return name;
}

/* ---- devices ------------------------------------------------------------------------------- */

static struct vt_peer *
peer_of(struct parent *pr, const struct pdev *d)
{
	return &pr->cfg.peers[d->cfg];
}

/* Bring a peer's device up (create or attach, configure, up hooks); 0 or -1 (logged). */
static int
dev_up(struct parent *pr, int index, struct pdev *d)
{
	const struct vt_peer *p = &pr->cfg.peers[index];
	char err[512];

	d->cfg = index;
	d->fd = priv_device_up(p, pr->role, &d->ifindex, err, sizeof(err));
	if (d->fd == -1) {
		log_warnx("peer %s: %s", p->name, err);
		return -1;
	}
	log_info("peer %s: device %s up", p->name, p->device);
	return 0;
}

static void
dev_down(struct parent *pr, struct pdev *d)
{
	priv_device_down(peer_of(pr, d), pr->role, d->fd, d->ifindex);
	d->fd = -1;
}

static void engine_misbehaves(struct parent *pr, const char *what);

/* Send a message down. The channel is non-blocking: an engine that leaves it full for
 * SEND_TIMEOUT_MS is not reading, and is stopped; the parent never blocks on it. */
static int
send_down(struct parent *pr, const struct chan_msg *m, int fd)
{
	struct pollfd pfd = { .fd = pr->chan, .events = POLLOUT };
	uint64_t end = mono_ms() + SEND_TIMEOUT_MS;

	if (pr->chan == -1)
		return -1;
	while (chan_send(pr->chan, m, fd) == -1) {
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		if (mono_ms() >= end) {
			engine_misbehaves(pr, "a channel left full");
			return -1;
		}
		poll(&pfd, 1, 100);
	}
	return 0;
}

static int
send_simple(struct parent *pr, enum chan_type type, uint32_t arg)
{
	struct chan_msg m;

	memset(&m, 0, sizeof(m));
	m.type = type;
	m.arg = arg;
	return send_down(pr, &m, -1);
}

/*
 * Tell the engine about a peer: added (with its device), restarted with new settings, or
 * updated in place. Over the channel, or by a call when the engine runs in this process;
 * either way the engine gets its own copy of the device fd and we keep ours (the device stays
 * while the down hooks run).
 */
static int
tell_peer(struct parent *pr, enum chan_type type, const struct pdev *d)
{
	const struct vt_peer *p = peer_of(pr, d);
	const struct sockaddr *remote = (const struct sockaddr *)&d->remote;
	struct chan_msg m;
	int rc, fd;

	if (pr->e != NULL) {
		if (type == CHAN_PEER_UPDATE)
			return engine_update_peer(pr->e, d->id, p);
		if (type == CHAN_PEER_RESTART)
			return engine_restart_peer(pr->e, d->id, p, remote, d->remote_len,
			    d->remote_index);
		if ((fd = dup(d->fd)) == -1) {
			log_warn("peer %s: dup", p->name);
			return -1;
		}
		return engine_add_peer(pr->e, d->id, p, remote, d->remote_len, d->remote_index,
		    fd);
	}
	memset(&m, 0, sizeof(m));
	m.type = type;
	chan_peer_from(&m.u.peer, d->id, p, remote, d->remote_len, d->remote_index);
	rc = send_down(pr, &m, type == CHAN_PEER_ADD ? d->fd : -1);
	crypto_wipe(&m, sizeof(m));
	if (rc == -1)
		log_warn("telling the engine about peer %s", p->name);
	return rc;
}

/* The engine sent something it may not: it parses network input and is not trusted. */
static void
engine_misbehaves(struct parent *pr, const char *what)
{
	log_warnx("privileged parent: %s from the engine: stopping it", what);
	kill(pr->engine, SIGKILL);
}

/* Note that the engine no longer has peer id (it could not take a restart or an add). */
static void
lose(struct parent *pr, uint32_t id)
{
	pr->lost = xreallocarray(pr->lost, (size_t)pr->nlost + 1, sizeof(*pr->lost));
	pr->lost[pr->nlost++] = id;
}

/* Take the devices of lost peers down: what the engine does not serve, the parent does not
 * keep. Not during a reload's walk over the peers: after it. */
static void
sweep_lost(struct parent *pr)
{
	for (int k = 0; k < pr->nlost; k++) {
		for (int i = 0; i < pr->ndevs; i++) {
			struct pdev *d = &pr->devs[i];

			if (d->id != pr->lost[k])
				continue;
			log_warnx("peer %s: the engine could not take it (see the log before): its "
			    "device is removed", peer_of(pr, d)->name);
			dev_down(pr, d);
			pr->devs[i] = pr->devs[--pr->ndevs];
			break;
		}
	}
	pr->nlost = 0;
}

/* The engine's loop runs (its heartbeat, every second): systemd's watchdog (WatchdogSec) is
 * pinged only then, so a stuck engine gets the service restarted; the STATUS= line says how
 * many sessions are up when that changes. */
static void
alive(struct parent *pr, int up)
{
	char s[96];

	if (pr->watchdog)
		daemon_notify("WATCHDOG=1");
	if (up == pr->last_up)
		return;
	pr->last_up = up;
	snprintf(s, sizeof(s), "STATUS=%d of %d session%s up", up, pr->ndevs,
	    pr->ndevs == 1 ? "" : "s");
	daemon_notify(s);
}

/* A session of peer id came up or was declared dead: its session-up or session-down hook. */
static void
session_event(struct parent *pr, uint32_t id, bool up, const char *endpoint)
{
	for (int i = 0; i < pr->ndevs; i++)
		if (pr->devs[i].id == id)
			priv_session_hook(peer_of(pr, &pr->devs[i]), pr->role, up, endpoint);
}

/* The engine is about to try remote index of peer id: its address now, or why not. */
static void
resolve_for(struct parent *pr, uint32_t id, uint32_t index, uint32_t seq,
    struct chan_addr *out)
{
	memset(out, 0, sizeof(*out));
	out->index = index;
	out->seq = seq;
	out->status = 1;
	for (int i = 0; i < pr->ndevs; i++) {
		const struct vt_peer *p = peer_of(pr, &pr->devs[i]);
		struct pdev *d = &pr->devs[i];
		uint64_t t = mono_ms();
		socklen_t len = 0;

		if (d->id != id)
			continue;
		if (index >= (uint32_t)p->nremotes)
			break;
		/* A few a second at most: an engine that asks more keeps no resolver busy. */
		if (t - d->look_start >= 1000) {
			d->look_start = t;
			d->looks = 0;
		}
		if (++d->looks > LOOKUPS_PER_S) {
			snprintf(out->err, sizeof(out->err), "not looked up: more than %d lookups a "
			    "second", LOOKUPS_PER_S);
			return;
		}
		if (parent_resolve(&p->remotes[index], &out->addr, &len, out->err,
		    sizeof(out->err)) == 0) {
			out->status = 0;
			out->len = len;
		}
		return;
	}
	snprintf(out->err, sizeof(out->err), "no such remote (a reload changed them)");
}

/* A message from the engine, other than the PEER_GONE a removal waits for. A reload request
 * is remembered (answered when the current work is done); anything else unexpected stops the
 * engine. */
static void
take_up(struct parent *pr, const struct chan_msg *m)
{
	switch ((enum chan_type)m->type) {
	case CHAN_READY:
		if (pr->ready) {
			engine_misbehaves(pr, "a second READY");
			return;
		}
		pr->ready = true;
		daemon_notify("READY=1");
		break;
	case CHAN_RELOAD:
		pr->reload_asked = true;
		break;
	case CHAN_ALIVE:
		alive(pr, (int)m->arg);
		break;
	case CHAN_SESSION:
		session_event(pr, m->arg, m->u.text.status == 1, m->u.text.text);
		break;
	case CHAN_RESOLVE: {
		struct chan_msg r;

		memset(&r, 0, sizeof(r));
		r.type = CHAN_RESOLVED;
		r.arg = m->arg;
		resolve_for(pr, m->arg, m->u.addr.index, m->u.addr.seq, &r.u.addr);
		if (send_down(pr, &r, -1) == -1)
			log_warn("answering the engine's lookup");
		break;
	}
	case CHAN_PEER_GONE:
		/* Unasked: the engine could not add or restart that peer (it logged why), and
		 * its device goes once the current work is done. A late answer to a removal the
		 * parent gave up waiting for names a peer that is gone already. */
		lose(pr, m->arg);
		break;
	default:
		engine_misbehaves(pr, "a request of the wrong direction");
		break;
	}
}

/* Wait until the engine confirms it let peer id go (it closed the device fd). */
static void
wait_gone(struct parent *pr, uint32_t id)
{
	struct pollfd pfd = { .fd = pr->chan, .events = POLLIN };
	uint64_t end = mono_ms() + GONE_TIMEOUT_MS;
	struct chan_msg m;
	int mfd, rc;

	while (mono_ms() < end) {
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		rc = chan_recv(pr->chan, false, &m, &mfd);
		if (rc == 0)
			return; /* the engine is gone: nothing holds the device */
		if (rc == -2) {
			engine_misbehaves(pr, "a malformed message");
			return;
		}
		if (rc == 1 && m.type == CHAN_PEER_GONE && m.arg == id)
			return;
		if (rc == 1)
			take_up(pr, &m);
	}
	log_warnx("the engine did not release peer %u in %d s: removing its device anyway", id,
	    GONE_TIMEOUT_MS / 1000);
}

/* The engine closes a peer (a close message to it, its device fd); returns once it did. */
static void
tell_remove(struct parent *pr, uint32_t id)
{
	if (pr->e != NULL) {
		engine_remove_peer(pr->e, id);
		return;
	}
	if (send_simple(pr, CHAN_PEER_REMOVE, id) == 0)
		wait_gone(pr, id);
}

/* ---- reload -------------------------------------------------------------------------------- */

/* Settings that need a new device, and settings that need a new session; the rest apply in
 * place (keepalive, timeout, rekey-interval, compress-acceleration, routes, allowed-ips,
 * rates, mss-clamp, mtu = "auto" against the same number, duplicate, hooks). */
static bool
device_differs(const struct vt_peer *a, const struct vt_peer *b)
{
	return a->type != b->type || strcmp(a->device, b->device) != 0 ||
	    strcmp(a->bridge, b->bridge) != 0 ||
	    a->persist != b->persist || a->mtu != b->mtu || a->offload != b->offload ||
	    a->naddrs != b->naddrs ||
	    a->npeer_addrs != b->npeer_addrs ||
	    memcmp(a->addrs, b->addrs, sizeof(a->addrs[0]) * (size_t)a->naddrs) != 0 ||
	    memcmp(a->peer_addrs, b->peer_addrs,
	    sizeof(a->peer_addrs[0]) * (size_t)a->npeer_addrs) != 0;
}

static bool
session_differs(const struct vt_peer *a, const struct vt_peer *b)
{
	return a->proto != b->proto || a->protos != b->protos || a->cipher != b->cipher ||
	    a->compress != b->compress || memcmp(a->public_key, b->public_key, 32) != 0 ||
	    a->has_psk != b->has_psk || memcmp(a->psk, b->psk, 32) != 0 || remotes_differ(a, b);
}

static bool
prefixes_differ(const struct vt_addr *a, int na, const struct vt_addr *b, int nb)
{
	return na != nb || memcmp(a, b, sizeof(*a) * (size_t)na) != 0;
}

static bool
routes_differ(const struct vt_peer *a, const struct vt_peer *b)
{
	return prefixes_differ(a->routes, a->nroutes, b->routes, b->nroutes);
}

static bool
inplace_differs(const struct vt_peer *a, const struct vt_peer *b)
{
	return a->keepalive != b->keepalive || a->timeout != b->timeout ||
	    a->rekey_interval != b->rekey_interval || a->compress_accel != b->compress_accel ||
	    routes_differ(a, b) ||
	    prefixes_differ(a->allowed_ips, a->nallowed_ips, b->allowed_ips, b->nallowed_ips) ||
	    a->rate_in != b->rate_in || a->rate_out != b->rate_out ||
	    a->rate_burst != b->rate_burst || a->mss_clamp != b->mss_clamp ||
	    a->mtu_auto != b->mtu_auto || a->duplicate != b->duplicate ||
	    a->failback != b->failback;
}

/* Replace *to with a copy of from (either may be NULL). */
static void
keep_string(char **to, const char *from)
{
	free(*to);
	*to = from != NULL ? xstrdup(from) : NULL;
}

/* Whether another running peer than d has key now: two peers that swap keys must each go
 * and come back (a restart adds the new settings while the old peer still holds them). */
static bool
key_taken_by_other(struct parent *pr, const struct pdev *d, const uint8_t key[32])
{
	for (int i = 0; i < pr->ndevs; i++)
		if (&pr->devs[i] != d && memcmp(peer_of(pr, &pr->devs[i])->public_key, key,
		    32) == 0)
			return true;
	return false;
}

/* Global settings that only a restart applies: say so, and keep the running ones. */
static void
note_restart_settings(const struct vt_config *old, struct vt_config *new)
{
	const char *changed[7];
	int n = 0;

	if (strcmp(old->listen_host, new->listen_host) != 0 ||
	    old->listen_port != new->listen_port)
		changed[n++] = "listen";
	if ((old->user == NULL) != (new->user == NULL) ||
	    (old->user != NULL && strcmp(old->user, new->user) != 0))
		changed[n++] = "user";
	if ((old->group == NULL) != (new->group == NULL) ||
	    (old->group != NULL && strcmp(old->group, new->group) != 0))
		changed[n++] = "group";
	if (memcmp(old->private_key, new->private_key, 32) != 0)
		changed[n++] = "private-key";
	if ((old->control_socket == NULL) != (new->control_socket == NULL) ||
	    (old->control_socket != NULL &&
	    strcmp(old->control_socket, new->control_socket) != 0))
		changed[n++] = "control-socket";
	if (old->threads != new->threads)
		changed[n++] = "threads";
	if ((old->pid_file == NULL) != (new->pid_file == NULL) ||
	    (old->pid_file != NULL && strcmp(old->pid_file, new->pid_file) != 0))
		changed[n++] = "pid-file";
	for (int i = 0; i < n; i++)
		log_warnx("reload: %s changed: that needs a restart; the running value stays",
		    changed[i]);
	/* The running values stay (the engine keeps its key, sockets, user and files), and a
	 * socket a reload adds binds where the running ones are. */
	memcpy(new->private_key, old->private_key, 32);
	memcpy(new->public_key, old->public_key, 32);
	memcpy(new->listen_host, old->listen_host, sizeof(new->listen_host));
	new->threads = old->threads;
	new->listen_port = old->listen_port;
	keep_string(&new->user, old->user);
	keep_string(&new->group, old->group);
	keep_string(&new->control_socket, old->control_socket);
	keep_string(&new->pid_file, old->pid_file);
}

/* Bind a server socket the new configuration needs and hand it to the engine. */
static void
need_socket(struct parent *pr, bool tcp)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	char err[256];
	struct chan_msg m;
	int fd, rc;

	if (!pr->o.server || (tcp ? pr->have_tcp : pr->have_udp))
		return;
	if (transport_resolve(pr->cfg.listen_host, pr->cfg.listen_port, SOCK_DGRAM, &ss, &sslen,
	    err, sizeof(err)) == -1) {
		log_warnx("reload: listen: %s", err);
		return;
	}
	fd = tcp ? tcp_listen((struct sockaddr *)&ss, sslen, err, sizeof(err)) :
	    udp_bind((struct sockaddr *)&ss, sslen, err, sizeof(err));
	if (fd == -1) {
		log_warnx("reload: %s", err);
		return;
	}
	if (pr->e != NULL) {
		engine_set_socket(pr->e, tcp, fd); /* taken over */
	} else {
		memset(&m, 0, sizeof(m));
		m.type = CHAN_SOCKET;
		m.arg = tcp ? 1 : 0;
		rc = send_down(pr, &m, fd);
		close(fd);
		if (rc == -1)
			return;
	}
	if (tcp)
		pr->have_tcp = true;
	else
		pr->have_udp = true;
}

enum change { KEEP = 0, UPDATE, RESTART };

/* Apply a new configuration as a difference; a one-line result in text. 0 applied (failures of
 * single peers counted in the text), 1 nothing changed (the file is invalid). */
static int
reload(struct parent *pr, char *text, size_t textlen)
{
	struct vt_config new;
	struct sockaddr_storage remote;
	socklen_t remote_len = 0;
	int remote_index = 0;
	struct pdev *devs;
	const struct vt_peer **olds;
	enum change *how;
	bool *taken, udp = false, tcp = false;
	int ndevs = 0, added = 0, removed = 0, restarted = 0, updated = 0, failed = 0;
	int client_index = -1, unchanged;
	char err[512];

	daemon_notify_reloading();
	log_info("reloading %s", pr->o.config);
	if (!load(pr->o.config, &new, true)) {
		snprintf(text, textlen, "%s is not valid (every error is in the log): nothing "
		    "changed", pr->o.config);
		daemon_notify("READY=1");
		return 1;
	}
	if (!pr->o.server && client_peer(&pr->o, &new, &client_index, &remote, &remote_len,
	    &remote_index, err, sizeof(err)) != 0) {
		log_warnx("reload: %s", err);
		snprintf(text, textlen, "%.400s: nothing changed", err);
		config_free(&new);
		daemon_notify("READY=1");
		return 1;
	}
	auto_mtus(pr, &pr->cfg, &new, client_index, (const struct sockaddr *)&remote);
	note_restart_settings(&pr->cfg, &new);
	if (new.log_level != pr->cfg.log_level) {
		log_set_level((enum log_level)(new.log_level + pr->o.verbose > LOG_LVL_DEBUG ?
		    LOG_LVL_DEBUG : new.log_level + pr->o.verbose));
		if (pr->e == NULL)
			send_simple(pr, CHAN_LOG_LEVEL, (uint32_t)log_get_level());
	}

	devs = xcalloc((size_t)new.npeers + 1, sizeof(*devs));
	olds = xcalloc((size_t)new.npeers + 1, sizeof(*olds));
	how = xcalloc((size_t)new.npeers + 1, sizeof(*how));
	taken = xcalloc((size_t)new.npeers + 1, sizeof(*taken));
	/* Each running peer: gone, on a new device (removed, added again below), restarted on
	 * the same device, updated in place, or untouched. Removals go first: their names, keys
	 * and devices become free for what follows. */
	for (int i = 0; i < pr->ndevs; i++) {
		struct pdev *d = &pr->devs[i];
		const struct vt_peer *old = peer_of(pr, d), *p = NULL;
		int j = client_index;

		if (pr->o.server)
			for (j = 0; j < new.npeers && strcmp(new.peers[j].name, old->name) != 0; j++)
				;
		if (j >= 0 && j < new.npeers)
			p = &new.peers[j];
		if (p == NULL || device_differs(old, p) ||
		    (memcmp(old->public_key, p->public_key, 32) != 0 &&
		    key_taken_by_other(pr, d, p->public_key))) {
			tell_remove(pr, d->id);
			dev_down(pr, d);
			removed += p == NULL;
			continue;
		}
		taken[j] = true;
		devs[ndevs] = *d;
		devs[ndevs].cfg = j;
		olds[ndevs] = old;
		if (!pr->o.server) {
			if (remote_len != d->remote_len || memcmp(&remote, &d->remote,
			    remote_len) != 0)
				how[ndevs] = RESTART;
			devs[ndevs].remote = remote;
			devs[ndevs].remote_len = remote_len;
			devs[ndevs].remote_index = remote_index;
		}
		if (session_differs(old, p))
			how[ndevs] = RESTART;
		else if (how[ndevs] == KEEP && inplace_differs(old, p))
			how[ndevs] = UPDATE;
		ndevs++;
	}
	/* Routes that moved: every peer's old ones go before any new one comes (one may move
	 * from one peer to another); a peer removed above took its routes with its device. */
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < ndevs; i++) {
			const struct vt_peer *p = &new.peers[devs[i].cfg];

			if (!routes_differ(olds[i], p) ||
			    priv_routes_change(olds[i], p, pass == 1, err, sizeof(err)) == 0)
				continue;
			log_warnx("peer %s: %s", p->name, err);
			if (pass == 1)
				failed++;
		}
	}
	free(olds);
	/* From here on the new configuration is the one. */
	config_free(&pr->cfg);
	pr->cfg = new;
	free(pr->devs);
	pr->devs = devs;
	pr->ndevs = ndevs;
	for (int i = 0; i < ndevs; i++) {
		if (how[i] == KEEP)
			continue;
		if (tell_peer(pr, how[i] == RESTART ? CHAN_PEER_RESTART : CHAN_PEER_UPDATE,
		    &devs[i]) == -1) {
			lose(pr, devs[i].id);
			failed++;
		} else if (how[i] == RESTART) {
			restarted++;
		} else {
			updated++;
		}
	}
	unchanged = ndevs - restarted - updated - failed;
	for (int j = 0; j < pr->cfg.npeers; j++) {
		struct pdev *d = &pr->devs[pr->ndevs];

		if (taken[j] || (!pr->o.server && j != client_index))
			continue;
		memset(d, 0, sizeof(*d));
		d->id = pr->next_id++;
		if (!pr->o.server) {
			d->remote = remote;
			d->remote_len = remote_len;
			d->remote_index = remote_index;
		}
		if (dev_up(pr, j, d) == -1) {
			failed++;
			continue;
		}
		if (tell_peer(pr, CHAN_PEER_ADD, d) == -1) {
			dev_down(pr, d);
			failed++;
			continue;
		}
		pr->ndevs++;
		added++;
	}
	for (int i = 0; i < pr->ndevs; i++) {
		udp |= (peer_of(pr, &pr->devs[i])->protos & (1u << VT_UDP)) != 0;
		tcp |= (peer_of(pr, &pr->devs[i])->protos & (1u << VT_TCP)) != 0;
	}
	if (udp)
		need_socket(pr, false);
	if (tcp)
		need_socket(pr, true);
	sweep_lost(pr);
	free(how);
	free(taken);
	snprintf(text, textlen, "reloaded: %d added, %d removed, %d restarted, %d updated in "
	    "place, %d unchanged", added, removed, restarted, updated, unchanged);
	if (failed > 0)
		snprintf(text + strlen(text), textlen - strlen(text), ", %d failed (see the log)",
		    failed);
	log_info("%s", text);
	daemon_notify("READY=1");
	return 0;
}

/* ---- the engine child ----------------------------------------------------------------------- */

/* In the child: keep only what the engine needs, drop every privilege, run the loop. */
static void __attribute__((noreturn))
engine_child(struct parent *pr, int chan, pid_t parent)
{
	struct engine_setup st;
	struct engine *e;
	char err[256];
	int keep[6] = { pr->udp_fd, pr->tcp_fd, pr->ctl_fd, chan, pr->client_udp[0],
	    pr->client_udp[1] }, rc;

	/* The parent's copies of the devices and anything else inherited stay with it: the
	 * engine gets each device over the channel. */
	daemon_close_fds_except(keep, 6);
	if (priv_drop(pr->user, pr->cfg.group, err, sizeof(err)) == -1)
		fatalx("%s", err);
	log_info("engine running as user %s without capabilities", pr->user);
	/* If the parent dies (even by SIGKILL), so does the engine at once: nothing may hold
	 * the sockets and devices of a daemon that is gone. After the drop: a change of
	 * credentials clears this setting. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 || getppid() != parent)
		_exit(1);
	memset(&st, 0, sizeof(st));
	st.private_key = pr->cfg.private_key;
	st.server = pr->o.server;
	st.udp_fd = pr->udp_fd;
	st.tcp_fd = pr->tcp_fd;
	st.client_udp[0] = pr->client_udp[0];
	st.client_udp[1] = pr->client_udp[1];
	st.ctl_fd = pr->ctl_fd;
	st.chan_fd = chan;
	st.role = pr->role;
	st.threads = pr->cfg.threads;
	e = engine_new(&st);
	if (e == NULL)
		_exit(1);
	rc = engine_dispatch(e);
	engine_free(e);
	exit(rc);
}

/* ---- the loop ------------------------------------------------------------------------------ */

/* Answer a control client's reload: run it, send the outcome down. At most one a second:
 * requests in between wait (and count as one), so an engine cannot keep the parent busy. */
static void
asked_reload(struct parent *pr)
{
	char text[CHAN_TEXT_MAX];
	struct chan_msg m;
	int rc;

	if (!pr->reload_asked || mono_ms() < pr->next_reload)
		return;
	pr->reload_asked = false;
	rc = reload(pr, text, sizeof(text));
	pr->next_reload = mono_ms() + RELOAD_GAP_MS;
	memset(&m, 0, sizeof(m));
	m.type = CHAN_RELOAD_DONE;
	m.u.text.status = rc;
	snprintf(m.u.text.text, sizeof(m.u.text.text), "%s", text);
	send_down(pr, &m, -1);
}

/* How long the loop may sleep: until a deferred reload or the end of the engine's time to
 * stop; -1 for ever. */
static int
poll_timeout(const struct parent *pr)
{
	uint64_t now = mono_ms(), at = UINT64_MAX;

	if (pr->reload_asked)
		at = pr->next_reload;
	if (pr->stop_deadline != 0 && pr->stop_deadline < at)
		at = pr->stop_deadline;
	if (at == UINT64_MAX)
		return -1;
	return at > now ? (int)(at - now) : 0;
}

/* A message from the engine. */
static void
engine_message(struct parent *pr)
{
	struct chan_msg m;
	int mfd, rc;

	rc = chan_recv(pr->chan, false, &m, &mfd);
	if (rc == -1 || rc == 0)
		return;
	if (rc == -2) {
		engine_misbehaves(pr, "a malformed message");
		return;
	}
	take_up(pr, &m);
}

/* Run the parent until the engine exits; returns its exit status. */
static int
parent_loop(struct parent *pr, int sfd)
{
	struct pollfd pfd[2];
	struct signalfd_siginfo si;
	char text[CHAN_TEXT_MAX];
	int status = 0;

	pfd[0].fd = sfd;
	pfd[0].events = POLLIN;
	pfd[1].fd = pr->chan;
	pfd[1].events = POLLIN;
	for (;;) {
		int n = poll(pfd, 2, poll_timeout(pr));

		if (n == -1) {
			if (errno == EINTR)
				continue;
			fatal("poll");
		}
		if (pr->stop_deadline != 0 && mono_ms() >= pr->stop_deadline) {
			/* It had its time to send its closes: the devices go now either way. */
			log_warnx("the engine did not stop %d s after the signal: killing it",
			    STOP_TIMEOUT_MS / 1000);
			kill(pr->engine, SIGKILL);
			pr->stop_deadline = 0;
		}
		if (pfd[1].revents & POLLIN)
			engine_message(pr);
		if (pfd[1].revents & (POLLHUP | POLLERR))
			pfd[1].fd = -1;
		asked_reload(pr);
		sweep_lost(pr);
		if (!(pfd[0].revents & POLLIN) ||
		    read(sfd, &si, sizeof(si)) != (ssize_t)sizeof(si))
			continue;
		if (si.ssi_signo == SIGCHLD) {
			if (waitpid(pr->engine, &status, WNOHANG) == pr->engine)
				break;
		} else if (si.ssi_signo == SIGHUP) {
			log_info("SIGHUP received");
			reload(pr, text, sizeof(text));
		} else {
			daemon_notify("STOPPING=1");
			kill(pr->engine, (int)si.ssi_signo);
			if (pr->stop_deadline == 0)
				pr->stop_deadline = mono_ms() + STOP_TIMEOUT_MS;
		}
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		log_warnx("engine killed by signal %d", WTERMSIG(status));
	return 1;
}

/* ---- start-up ------------------------------------------------------------------------------ */

/* Bind the control socket at path, refusing to steal one a running daemon answers on. */
static int
control_listen(const char *path, uid_t uid, gid_t gid)
{
	struct sockaddr_un sun;
	int fd, probe;
	char dir[4096], *slash;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		log_warnx("control socket path too long: %s", path);
		return -1;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash != NULL && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) == -1 && errno != EEXIST)
			log_warn("mkdir %s", dir);
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path));
	probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe != -1) {
		if (connect(probe, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
			close(probe);
			log_warnx("%s: another vtund-ng is running there", path);
			return -1;
		}
		close(probe);
	}
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    listen(fd, 16) == -1) {
		log_warn("control socket %s", path);
		if (fd != -1)
			close(fd);
		return -1;
	}
	if (chmod(path, 0660) == -1 || (uid != (uid_t)-1 && chown(path, uid, gid) == -1))
		log_warn("control socket %s: permissions", path);
	return fd;
}

/* The server's sockets, before any interface is touched: a taken port changes nothing. */
/* Client: the UDP sockets of the link, made now so that their buffers can be sized beyond
 * rmem_max and wmem_max (SO_RCVBUFFORCE needs CAP_NET_ADMIN): one per address family, as the
 * server's address may change family on a reload. Without one the engine makes its own. */
static void
client_sockets(struct parent *pr)
{
	char err[256];

	/* made also for a client without UDP peers: a reload may give it one */
	pr->client_udp[0] = udp_socket(AF_INET, err, sizeof(err));
	pr->client_udp[1] = udp_socket(AF_INET6, err, sizeof(err));
}

static void
close_client_sockets(struct parent *pr)
{
	for (int i = 0; i < 2; i++) {
		if (pr->client_udp[i] != -1)
			close(pr->client_udp[i]);
		pr->client_udp[i] = -1;
	}
}

static void
bind_sockets(struct parent *pr)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	char err[512];

	for (int i = 0; i < pr->ndevs; i++) {
		pr->have_udp |= (peer_of(pr, &pr->devs[i])->protos & (1u << VT_UDP)) != 0;
		pr->have_tcp |= (peer_of(pr, &pr->devs[i])->protos & (1u << VT_TCP)) != 0;
	}
	if (transport_resolve(pr->cfg.listen_host, pr->cfg.listen_port, SOCK_DGRAM, &ss, &sslen,
	    err, sizeof(err)) == -1)
		fatalx("listen: %s", err);
	if (pr->have_udp && (pr->udp_fd = udp_bind((struct sockaddr *)&ss, sslen, err,
	    sizeof(err))) == -1)
		fatalx("%s", err);
	if (pr->have_tcp && (pr->tcp_fd = tcp_listen((struct sockaddr *)&ss, sslen, err,
	    sizeof(err))) == -1)
		fatalx("%s", err);
}

static void
paths(struct parent *pr)
{
	const struct vt_config *cfg = &pr->cfg;

	if (cfg->control_socket != NULL)
		snprintf(pr->ctl_path, sizeof(pr->ctl_path), "%s", cfg->control_socket);
	else if (pr->o.server)
		snprintf(pr->ctl_path, sizeof(pr->ctl_path), "%s/server.sock", RUN_DIR);
	else
		snprintf(pr->ctl_path, sizeof(pr->ctl_path), "%s/client-%s.sock", RUN_DIR,
		    pr->o.client_peer);
	if (cfg->pid_file != NULL)
		snprintf(pr->pid_path, sizeof(pr->pid_path), "%s", cfg->pid_file);
	else if (pr->o.server)
		snprintf(pr->pid_path, sizeof(pr->pid_path), "%s/server.pid", RUN_DIR);
	else
		snprintf(pr->pid_path, sizeof(pr->pid_path), "%s/client-%s.pid", RUN_DIR,
		    pr->o.client_peer);
}

static int
inproc_reload(void *arg, char *text, size_t len)
{
	return reload(arg, text, len);
}

static void
inproc_ready(void *arg)
{
	daemon_notify("READY=1");
}

static void
inproc_alive(void *arg, int up)
{
	alive(arg, up);
}

static void
inproc_session(void *arg, uint32_t id, bool up, const char *endpoint)
{
	session_event(arg, id, up, endpoint);
}

static void
inproc_resolve(void *arg, uint32_t id, uint32_t index, struct chan_addr *out)
{
	resolve_for(arg, id, index, out->seq, out);
}

/* Without privilege separation: the engine runs here, and a reload calls it directly. */
static int
run_inprocess(struct parent *pr)
{
	struct engine_setup st;
	int rc;

	memset(&st, 0, sizeof(st));
	st.private_key = pr->cfg.private_key;
	st.server = pr->o.server;
	st.udp_fd = pr->udp_fd;
	st.tcp_fd = pr->tcp_fd;
	st.client_udp[0] = pr->client_udp[0];
	st.client_udp[1] = pr->client_udp[1];
	st.ctl_fd = pr->ctl_fd;
	st.chan_fd = -1;
	st.role = pr->role;
	st.threads = pr->cfg.threads;
	st.reload = inproc_reload;
	st.ready = inproc_ready;
	st.alive = inproc_alive;
	st.resolve = inproc_resolve;
	st.session = inproc_session;
	st.arg = pr;
	pr->udp_fd = pr->tcp_fd = pr->ctl_fd = -1; /* the engine's now */
	pr->client_udp[0] = pr->client_udp[1] = -1;
	if ((pr->e = engine_new(&st)) == NULL)
		return 1;
	for (int i = 0; i < pr->ndevs; i++)
		if (tell_peer(pr, CHAN_PEER_ADD, &pr->devs[i]) == -1)
			lose(pr, pr->devs[i].id);
	sweep_lost(pr);
	engine_ready(pr->e);
	rc = engine_dispatch(pr->e);
	engine_free(pr->e);
	pr->e = NULL;
	return rc;
}

/*
 * Every peer holds a device fd in the engine and one here, every TCP connection one more: a
 * server of many peers needs more descriptors than the usual soft limit of 1024. Take the
 * hard limit (raising it as root if even that is too low); warn if that is still short.
 */
static void
raise_nofile(int npeers)
{
	rlim_t need = (rlim_t)npeers * 2 + 1024;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur >= need)
		return;
	if (rl.rlim_max < need) {
		struct rlimit more = { need, need };

		if (setrlimit(RLIMIT_NOFILE, &more) == 0)
			return;
	}
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur < need)
		log_warnx("only %llu file descriptors for %d peers: some may fail (raise "
		    "LimitNOFILE or ulimit -n)", (unsigned long long)rl.rlim_cur, npeers);
}

/* Fork the engine and serve it until it ends. */
static int
run_engine(struct parent *pr)
{
	sigset_t set, old;
	pid_t parent = getpid();
	int sv[2], sfd, rc;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1)
		fatal("socketpair");
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, &old);
	pr->engine = fork();
	if (pr->engine == -1)
		fatal("fork");
	if (pr->engine == 0) {
		close(sv[0]);
		sigprocmask(SIG_SETMASK, &old, NULL);
		engine_child(pr, sv[1], parent);
	}
	close(sv[1]);
	pr->chan = sv[0];
	fcntl(pr->chan, F_SETFL, fcntl(pr->chan, F_GETFL) | O_NONBLOCK);
	/* The engine owns the sockets now. */
	if (pr->udp_fd != -1)
		close(pr->udp_fd);
	if (pr->tcp_fd != -1)
		close(pr->tcp_fd);
	if (pr->ctl_fd != -1)
		close(pr->ctl_fd);
	pr->udp_fd = pr->tcp_fd = pr->ctl_fd = -1;
	close_client_sockets(pr);
	sfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (sfd == -1)
		fatal("signalfd");
	for (int i = 0; i < pr->ndevs; i++)
		tell_peer(pr, CHAN_PEER_ADD, &pr->devs[i]);
	send_simple(pr, CHAN_GO, 0);
	rc = parent_loop(pr, sfd);
	close(sfd);
	close(pr->chan);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return rc;
}

int
parent_run(const struct parent_opts *o)
{
	static struct parent pr;
	char err[512];
	int rc, index;

	memset(&pr, 0, sizeof(pr));
	pr.o = *o;
	pr.role = o->server ? "server" : "client";
	pr.udp_fd = pr.tcp_fd = pr.ctl_fd = pr.chan = -1;
	pr.client_udp[0] = pr.client_udp[1] = -1;
	pr.next_id = 1;
	if (!load(o->config, &pr.cfg, false))
		return 1;
	if (o->check && !o->server && o->client_peer == NULL) {
		/* -t alone: the file itself, without choosing a role. */
		rc = check_system(&pr.cfg, -1, true);
		if (rc == 0)
			printf("configuration OK\n");
		config_free(&pr.cfg);
		return rc;
	}
	pr.devs = xcalloc((size_t)pr.cfg.npeers + 1, sizeof(*pr.devs));
	if (o->server) {
		for (int i = 0; i < pr.cfg.npeers; i++) {
			pr.devs[i].id = pr.next_id++;
			pr.devs[i].cfg = i;
			pr.devs[i].fd = -1;
		}
		pr.ndevs = pr.cfg.npeers;
	} else {
		rc = client_peer(o, &pr.cfg, &index, &pr.devs[0].remote, &pr.devs[0].remote_len,
		    &pr.devs[0].remote_index, err, sizeof(err));
		if (rc != 0) {
			fprintf(stderr, "vtund-ng: %s\n", err);
			return rc == -2 ? 2 : 1;
		}
		pr.devs[0].id = pr.next_id++;
		pr.devs[0].cfg = index;
		pr.devs[0].fd = -1;
		pr.ndevs = 1;
	}
	if (!o->check && check_system(&pr.cfg, -1, false) != 0)
		return 1;
	if (o->check) {
		rc = check_system(&pr.cfg, o->server ? INT32_MAX : index, true);
		if (rc == 0)
			printf("configuration OK\n");
		return rc;
	}

	log_init(true, (enum log_level)(pr.cfg.log_level + o->verbose > LOG_LVL_DEBUG ?
	    LOG_LVL_DEBUG : pr.cfg.log_level + o->verbose));
	if (pr.cfg.example_key)
		log_warnx("%s uses an EXAMPLE private key from the documentation: anyone can "
		    "read this tunnel; generate your own with 'vtund-ng genkey'", pr.cfg.path);
	if (pr.cfg.secrets_exposed)
		log_warnx("%s holds a private or preshared key and its group or others may read "
		    "it: chmod 600 it, or move the key to a private-key-file", pr.cfg.path);
	if (crypto_init() == -1)
		fatalx("OpenSSL initialisation failed");
	signal(SIGPIPE, SIG_IGN);
	paths(&pr);
	pr.user = engine_user(&pr.cfg, &pr.uid, &pr.gid, err, sizeof(err));
	if (pr.user != NULL && pr.user[0] == '\0') {
		log_warnx("%s", err);
		return 1;
	}
	auto_mtus(&pr, NULL, &pr.cfg, pr.devs[0].cfg, (const struct sockaddr *)&pr.devs[0].remote);
	raise_nofile(pr.ndevs);
	if (o->server)
		bind_sockets(&pr);
	else
		client_sockets(&pr);
	pr.ctl_fd = control_listen(pr.ctl_path, pr.uid, pr.gid);
	if (pr.ctl_fd == -1)
		return 1;
	for (int i = 0; i < pr.ndevs; i++) {
		if (dev_up(&pr, pr.devs[i].cfg, &pr.devs[i]) == -1) {
			while (--i >= 0)
				dev_down(&pr, &pr.devs[i]);
			unlink(pr.ctl_path);
			return 1;
		}
	}
	if (!o->foreground) {
		daemon_detach();
		log_init(false, log_get_level());
		pr.wrote_pid = daemon_pidfile_write(pr.pid_path) == 0;
	}
	log_info("vtund-ng %s started as %s with %d peer%s", PACKAGE_VERSION, pr.role, pr.ndevs,
	    pr.ndevs == 1 ? "" : "s");
	/* sd_watchdog_enabled(): WATCHDOG_USEC, for this process (WATCHDOG_PID, if set). */
	pr.last_up = -1;
	pr.watchdog = getenv("WATCHDOG_USEC") != NULL && (getenv("WATCHDOG_PID") == NULL ||
	    strtol(getenv("WATCHDOG_PID"), NULL, 10) == (long)getpid());
	if (pr.watchdog)
		log_info("systemd watchdog: pinged on every heartbeat of the engine (1 s)");

	rc = pr.user != NULL ? run_engine(&pr) : run_inprocess(&pr);

	for (int i = 0; i < pr.ndevs; i++)
		dev_down(&pr, &pr.devs[i]);
	unlink(pr.ctl_path);
	if (pr.wrote_pid)
		unlink(pr.pid_path);
	log_info("stopped");
	config_free(&pr.cfg);
	free(pr.devs);
	return rc;
}
