/*
 * main.c - command line: parse options and subcommands, load the configuration, set up devices
 * and sockets with root rights, then run the engine (unprivileged when a user is configured).
 */
#include "config-auto.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "config.h"
#include "control.h"
#include "crypto.h"
#include "daemon.h"
#include "engine.h"
#include "keys.h"
#include "log.h"
#include "priv.h"
#include "transport.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#ifndef RUNSTATEDIR
#define RUNSTATEDIR "/run"
#endif
#define RUN_DIR RUNSTATEDIR "/vtund-ng"
#define DEFAULT_CONFIG SYSCONFDIR "/vtund-ng/vtund-ng.conf"

/* One table drives option parsing and --help. */
static const struct option_help {
	const char *flag;
	const char *text;
} option_help[] = {
	{ "-s", "run as server: serve every peer in the configuration" },
	{ "-f FILE", "configuration file (default " DEFAULT_CONFIG ")" },
	{ "-n", "stay in the foreground and log to stderr" },
	{ "-t", "check the configuration and exit (0 valid, 1 invalid)" },
	{ "-v", "more logging (repeat for debug)" },
	{ "-V", "print the version and exit" },
	{ "-h", "print this help and exit" },
};

static struct {
	const char *config;
	bool server, foreground, check;
	int verbose;
	const char *client_peer;
	const char *client_override;
} opt = { .config = DEFAULT_CONFIG };

static void
usage(FILE *f)
{
	fprintf(f, "usage: vtund-ng [-nv] [-f file] -s\n"
	    "       vtund-ng [-nv] [-f file] client PEER [HOST[:PORT]]\n"
	    "       vtund-ng [-f file] -t [-s | client PEER]\n"
	    "       vtund-ng status [--json] [-S socket] [PEER]\n"
	    "       vtund-ng genkey | pubkey | genpsk\n"
	    "       vtund-ng -V | -h\n");
	for (size_t i = 0; i < sizeof(option_help) / sizeof(option_help[0]); i++)
		fprintf(f, "  %-8s %s\n", option_help[i].flag, option_help[i].text);
}

static void __attribute__((noreturn, format(printf, 1, 2)))
usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vtund-ng: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	usage(stderr);
	exit(2);
}

/* Ask one daemon; an "error" answer (such as an unknown peer) makes the exit status 1. */
static int
query(const char *path, const char *req)
{
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);
	int rc;

	if (mem == NULL)
		return 1;
	rc = control_query(path, req, mem, stderr);
	fclose(mem);
	if (text != NULL) {
		fwrite(text, 1, len, stdout);
		if (strncmp(text, "error:", 6) == 0 || strncmp(text, "{\"error\"", 9) == 0)
			rc = -1;
	}
	free(text);
	return rc == 0 ? 0 : 1;
}

/* vtund-ng status [--json] [-S socket] [PEER] */
static int
cmd_status(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "socket", required_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sock = NULL, *peer = NULL;
	char req[CONTROL_REQ_MAX], path[4096];
	bool json = false;
	int c, rc = 0, found = 0;
	DIR *d;
	struct dirent *de;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+S:", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'S':
			sock = optarg;
			break;
		default:
			if (optopt != 0)
				usage_error("status: unknown option -%c", optopt);
			usage_error("status: unknown option %s", argv[optind - 1]);
		}
	}
	if (optind < argc)
		peer = argv[optind++];
	if (optind < argc)
		usage_error("status: unexpected argument %s", argv[optind]);
	snprintf(req, sizeof(req), "status%s%s%s", json ? " json" : "", peer ? " " : "",
	    peer ? peer : "");
	if (sock != NULL)
		return query(sock, req);
	d = opendir(RUN_DIR);
	if (d != NULL) {
		while ((de = readdir(d)) != NULL) {
			size_t n = strlen(de->d_name);

			if (n < 6 || strcmp(de->d_name + n - 5, ".sock") != 0)
				continue;
			snprintf(path, sizeof(path), "%s/%s", RUN_DIR, de->d_name);
			found++;
			if (query(path, req) != 0)
				rc = 1;
		}
		closedir(d);
	}
	if (found == 0) {
		fprintf(stderr, "vtund-ng: no running vtund-ng found (no control socket in %s)\n",
		    RUN_DIR);
		return 1;
	}
	return rc;
}

/* Print every configuration error; true if the file is valid. */
static bool
load_config(struct vt_config *cfg)
{
	struct config_errors errs;

	if (config_load(opt.config, cfg, &errs) == 0)
		return true;
	for (int i = 0; i < errs.n; i++)
		fprintf(stderr, "%s\n", errs.msg[i]);
	if (errs.dropped > 0)
		fprintf(stderr, "%s: %d more errors not shown\n", opt.config, errs.dropped);
	return false;
}

/* Parse "HOST", "HOST:PORT" or "[V6]:PORT" from the command line into the client peer. */
static bool
apply_override(struct vt_peer *p, const char *arg)
{
	const char *colon;
	char *end;
	long port;

	if (arg[0] == '[') {
		const char *close = strchr(arg, ']');

		if (close == NULL)
			return false;
		colon = close[1] == ':' ? close + 1 : NULL;
		if (close[1] != '\0' && colon == NULL)
			return false;
	} else {
		colon = strrchr(arg, ':');
		if (colon != NULL && strchr(arg, ':') != colon)
			colon = NULL; /* a bare IPv6 address */
	}
	if (colon != NULL) {
		port = strtol(colon + 1, &end, 10);
		if (*end != '\0' || port < 1 || port > 65535 || (size_t)(colon - arg) == 0 ||
		    (size_t)(colon - arg) >= sizeof(p->remote_host))
			return false;
		memcpy(p->remote_host, arg, (size_t)(colon - arg));
		p->remote_host[colon - arg] = '\0';
		p->remote_port = (uint16_t)port;
	} else {
		if (strlen(arg) >= sizeof(p->remote_host))
			return false;
		snprintf(p->remote_host, sizeof(p->remote_host), "%s", arg);
		if (!p->has_remote)
			p->remote_port = 5000;
	}
	p->has_remote = true;
	return true;
}

struct run_state {
	struct vt_config *cfg;
	struct engine_setup setup;
	const char *role;
	char ctl_path[4096];
	char pid_path[4096];
	bool wrote_pid;
};

static void
ready_direct(void *arg)
{
	(void)arg;
	daemon_notify("READY=1");
	log_info("ready");
}

static void
ready_to_parent(void *arg)
{
	int chan = *(int *)arg;

	log_info("ready");
	if (daemon_tell_parent(chan, PRIV_MSG_READY, 0) == -1)
		log_warn("telling the privileged parent we are ready");
}

static int
engine_child(void *arg, int chan)
{
	struct run_state *rs = arg;
	static int chan_copy;

	chan_copy = chan;
	rs->setup.ready = ready_to_parent;
	rs->setup.ready_arg = &chan_copy;
	return engine_run(&rs->setup);
}

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

/* Who the engine runs as: NULL = stay as we are. */
static const char *
engine_user(const struct vt_config *cfg, uid_t *uid, gid_t *gid)
{
	const char *name = cfg->user;
	struct passwd *pw;
	struct group *gr;

	*uid = (uid_t)-1;
	*gid = (gid_t)-1;
	if (geteuid() != 0)
		return NULL;
	if (name == NULL) {
		name = VT_DEFAULT_USER;
		if (getpwnam(name) == NULL) {
			log_warnx("user %s does not exist: the engine keeps running as root "
			    "(set user in the configuration)", name);
			return NULL;
		}
	}
	if (name[0] == '\0' || strcmp(name, "root") == 0)
		return NULL;
	pw = getpwnam(name);
	if (pw == NULL)
		fatalx("user %s does not exist", name);
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	if (cfg->group != NULL) {
		gr = getgrnam(cfg->group);
		if (gr == NULL)
			fatalx("group %s does not exist", cfg->group);
		*gid = gr->gr_gid;
	}
	return name;
}

static int
cmd_run(void)
{
	static struct vt_config cfg;
	static struct run_state rs;
	struct engine_setup *st = &rs.setup;
	const char *user;
	char err[512];
	uid_t uid;
	gid_t gid;
	int rc, i;

	if (!load_config(&cfg))
		return 1;
	rs.cfg = &cfg;
	rs.role = opt.server ? "server" : "client";
	st->cfg = &cfg;
	st->server = opt.server;
	st->udp_fd = st->tcp_fd = st->ctl_fd = -1;
	if (opt.server) {
		for (i = 0; i < cfg.npeers; i++)
			st->peers[st->npeers++] = &cfg.peers[i];
		if (st->npeers == 0) {
			fprintf(stderr, "%s: no peers to serve\n", cfg.path);
			return 1;
		}
	} else {
		struct vt_peer *p = (struct vt_peer *)config_find_peer(&cfg, opt.client_peer);

		if (p == NULL) {
			fprintf(stderr, "%s: no peer named '%s'\n", cfg.path, opt.client_peer);
			return 1;
		}
		if (opt.client_override != NULL && !apply_override(p, opt.client_override)) {
			fprintf(stderr, "vtund-ng: bad server address '%s' (HOST, HOST:PORT or "
			    "[V6]:PORT)\n", opt.client_override);
			return 2;
		}
		if (!p->has_remote) {
			fprintf(stderr, "%s:%d: peer '%s': no remote: a client needs remote = "
			    "\"host:port\" or a HOST argument\n", cfg.path, p->line, p->name);
			return 1;
		}
		if (transport_resolve(p->remote_host, p->remote_port,
		    p->proto == VT_TCP ? SOCK_STREAM : SOCK_DGRAM, &st->remote, &st->remote_len,
		    err, sizeof(err)) == -1) {
			fprintf(stderr, "vtund-ng: peer %s: %s\n", p->name, err);
			return 1;
		}
		st->peers[st->npeers++] = p;
	}
	if (opt.check) {
		printf("configuration OK\n");
		return 0;
	}

	log_init(true, (enum log_level)(cfg.log_level + opt.verbose > LOG_LVL_DEBUG ?
	    LOG_LVL_DEBUG : cfg.log_level + opt.verbose));
	if (cfg.example_key)
		log_warnx("%s uses an EXAMPLE private key from the documentation: anyone can "
		    "read this tunnel; generate your own with 'vtund-ng genkey'", cfg.path);
	if (crypto_init() == -1)
		fatalx("OpenSSL initialisation failed");
	signal(SIGPIPE, SIG_IGN);

	if (cfg.control_socket != NULL)
		snprintf(rs.ctl_path, sizeof(rs.ctl_path), "%s", cfg.control_socket);
	else if (opt.server)
		snprintf(rs.ctl_path, sizeof(rs.ctl_path), "%s/server.sock", RUN_DIR);
	else
		snprintf(rs.ctl_path, sizeof(rs.ctl_path), "%s/client-%s.sock", RUN_DIR,
		    opt.client_peer);
	if (cfg.pid_file != NULL)
		snprintf(rs.pid_path, sizeof(rs.pid_path), "%s", cfg.pid_file);
	else if (opt.server)
		snprintf(rs.pid_path, sizeof(rs.pid_path), "%s/server.pid", RUN_DIR);
	else
		snprintf(rs.pid_path, sizeof(rs.pid_path), "%s/client-%s.pid", RUN_DIR,
		    opt.client_peer);

	user = engine_user(&cfg, &uid, &gid);

	/* Sockets first: nothing is touched if the port is taken. */
	if (opt.server) {
		struct sockaddr_storage ss;
		socklen_t sslen;
		bool udp = false, tcp = false;

		for (i = 0; i < st->npeers; i++) {
			udp |= st->peers[i]->proto == VT_UDP;
			tcp |= st->peers[i]->proto == VT_TCP;
		}
		if (transport_resolve(cfg.listen_host, cfg.listen_port, SOCK_DGRAM, &ss, &sslen,
		    err, sizeof(err)) == -1)
			fatalx("listen: %s", err);
		if (udp && (st->udp_fd = udp_bind((struct sockaddr *)&ss, sslen, err,
		    sizeof(err))) == -1)
			fatalx("%s", err);
		if (tcp && (st->tcp_fd = tcp_listen((struct sockaddr *)&ss, sslen, err,
		    sizeof(err))) == -1)
			fatalx("%s", err);
	}
	st->ctl_fd = control_listen(rs.ctl_path, uid, gid);
	if (st->ctl_fd == -1)
		return 1;

	for (i = 0; i < st->npeers; i++) {
		st->tun_fds[i] = priv_device_up(st->peers[i], rs.role, err, sizeof(err));
		if (st->tun_fds[i] == -1) {
			log_warnx("peer %s: %s", st->peers[i]->name, err);
			while (--i >= 0)
				priv_device_down(st->peers[i], rs.role, st->tun_fds[i]);
			unlink(rs.ctl_path);
			return 1;
		}
		log_info("peer %s: device %s up", st->peers[i]->name, st->peers[i]->device);
	}

	if (!opt.foreground) {
		daemon_detach();
		log_init(false, log_get_level());
		rs.wrote_pid = daemon_pidfile_write(rs.pid_path) == 0;
	}
	log_info("vtund-ng %s started as %s with %d peer%s", PACKAGE_VERSION, rs.role,
	    st->npeers, st->npeers == 1 ? "" : "s");

	if (user != NULL) {
		rc = daemon_privsep(user, cfg.group, engine_child, &rs);
	} else {
		st->ready = ready_direct;
		rc = engine_run(st);
	}

	for (i = 0; i < st->npeers; i++)
		priv_device_down(st->peers[i], rs.role, st->tun_fds[i]);
	unlink(rs.ctl_path);
	if (rs.wrote_pid)
		unlink(rs.pid_path);
	log_info("stopped");
	config_free(&cfg);
	return rc;
}

int
main(int argc, char **argv)
{
	const char *cmd;
	int c;

	opterr = 0;
	while ((c = getopt(argc, argv, "+sf:ntvVh")) != -1) {
		switch (c) {
		case 's':
			opt.server = true;
			break;
		case 'f':
			opt.config = optarg;
			break;
		case 'n':
			opt.foreground = true;
			break;
		case 't':
			opt.check = true;
			break;
		case 'v':
			opt.verbose++;
			break;
		case 'V':
			printf("vtund-ng %s\n", PACKAGE_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		case ':':
		case '?':
		default:
			if (optopt == 'f')
				usage_error("option -%c needs an argument", optopt);
			usage_error("unknown option -%c", optopt);
		}
	}
	cmd = optind < argc ? argv[optind] : NULL;
	if (cmd != NULL && strcmp(cmd, "status") == 0)
		return cmd_status(argc - optind, argv + optind);
	if (cmd != NULL && strcmp(cmd, "genkey") == 0 && optind + 1 == argc)
		return keys_cmd_genkey(stdout) == 0 ? 0 : 1;
	if (cmd != NULL && strcmp(cmd, "genpsk") == 0 && optind + 1 == argc)
		return keys_cmd_genpsk(stdout) == 0 ? 0 : 1;
	if (cmd != NULL && strcmp(cmd, "pubkey") == 0 && optind + 1 == argc)
		return keys_cmd_pubkey(stdin, stdout, stderr) == 0 ? 0 : 1;
	if (cmd != NULL && strcmp(cmd, "client") == 0) {
		if (opt.server)
			usage_error("%s", "-s and client exclude each other");
		if (optind + 1 >= argc)
			usage_error("%s", "client needs a PEER name");
		opt.client_peer = argv[optind + 1];
		if (optind + 2 < argc)
			opt.client_override = argv[optind + 2];
		if (optind + 3 < argc)
			usage_error("unexpected argument %s", argv[optind + 3]);
	} else if (cmd != NULL) {
		usage_error("unknown command or argument %s", cmd);
	} else if (!opt.server && !opt.check) {
		usage_error("%s", "nothing to do: give -s, client PEER, or -t");
	}
	if (opt.check && !opt.server && opt.client_peer == NULL) {
		struct vt_config cfg;

		if (!load_config(&cfg))
			return 1;
		printf("configuration OK\n");
		config_free(&cfg);
		return 0;
	}
	return cmd_run();
}
