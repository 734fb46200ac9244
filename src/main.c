/*
 * main.c - the command line: options and subcommands, each from one table that also drives
 * --help. Running the daemon is the root parent's job (parent.c); talking to a running one is
 * the control client's (control.c).
 */
#include "config-auto.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <net/if.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "control.h"
#include "crypto.h"
#include "keys.h"
#include "config.h"
#include "names.h"
#include "parent.h"
#include "priv.h"
#include "transport.h"
#include "tun.h"
#include "vtun_import.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#ifndef RUNSTATEDIR
#define RUNSTATEDIR "/run"
#endif
#define RUN_DIR RUNSTATEDIR "/vtund-ng"
#define DEFAULT_CONFIG SYSCONFDIR "/vtund-ng/vtund-ng.conf"

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

static struct parent_opts opt = { .config = DEFAULT_CONFIG };

static int cmd_client(int argc, char **argv);
static int cmd_status(int argc, char **argv);
static int cmd_reload(int argc, char **argv);
static int cmd_genkey(int argc, char **argv);
static int cmd_pubkey(int argc, char **argv);
static int cmd_genpsk(int argc, char **argv);
static int cmd_import_vtun(int argc, char **argv);
static int cmd_device(int argc, char **argv);

/* Every subcommand: its name, its arguments for the usage text, and what runs it. */
static const struct command {
	const char *name;
	const char *usage;
	int (*run)(int argc, char **argv);
} commands[] = {
	{ "client", "[-nv] [-f file] client PEER [HOST[:PORT]]", cmd_client },
	{ "status", "status [--json | --metrics] [-S socket] [PEER]", cmd_status },
	{ "reload", "reload [-S socket]", cmd_reload },
	{ "genkey", "genkey", cmd_genkey },
	{ "pubkey", "pubkey", cmd_pubkey },
	{ "genpsk", "genpsk", cmd_genpsk },
	{ "import-vtun", "import-vtun FILE [-o OUT] [-r HOST[:PORT]] [-k DIR]", cmd_import_vtun },
	{ "device", "device add NAME [-t tun|tap] [-u USER] [-g GROUP] | device del NAME",
	    cmd_device },
	{ "device", "[-f file] device add -a [-u USER] [-g GROUP] | device del -a", cmd_device },
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void
usage(FILE *f)
{
	fprintf(f, "usage: vtund-ng [-nv] [-f file] -s\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "       vtund-ng %s\n", commands[i].usage);
	fprintf(f, "       vtund-ng [-f file] -t [-s | client PEER]\n"
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
query(const char *path, const char *req, int timeout)
{
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);
	int rc;

	if (mem == NULL)
		return 1;
	rc = control_query(path, req, timeout, mem, stderr);
	fclose(mem);
	if (text != NULL) {
		fwrite(text, 1, len, stdout);
		if (strncmp(text, "error:", 6) == 0 || strncmp(text, "{\"error\"", 8) == 0)
			rc = -1;
	}
	free(text);
	return rc == 0 ? 0 : 1;
}

/* Whether d_name is a control socket's name (NAME.sock). */
static bool
is_sock(const char *name)
{
	size_t n = strlen(name);

	return n >= 6 && strcmp(name + n - 5, ".sock") == 0;
}

/* Ask the daemon at sock, or every daemon with a socket in RUN_DIR; one: only if there is one
 * (a metrics document cannot be two). */
static int
query_all(const char *sock, const char *req, int timeout, bool one)
{
	char path[4096];
	struct dirent *de;
	int rc = 0, found = 0;
	DIR *d;

	if (sock != NULL)
		return query(sock, req, timeout);
	if (one && (d = opendir(RUN_DIR)) != NULL) {
		while ((de = readdir(d)) != NULL)
			found += is_sock(de->d_name);
		closedir(d);
		if (found > 1) {
			fprintf(stderr, "vtund-ng: %d daemons run (control sockets in %s): name one "
			    "with -S\n", found, RUN_DIR);
			return 1;
		}
		found = 0;
	}
	if ((d = opendir(RUN_DIR)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (!is_sock(de->d_name))
				continue;
			snprintf(path, sizeof(path), "%s/%s", RUN_DIR, de->d_name);
			found++;
			if (query(path, req, timeout) != 0)
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

/* Parse [--json | --metrics] [-S socket] for status and reload (json_ok: status); returns the
 * index of the first operand. */
static int
client_opts(int argc, char **argv, const char *cmd, bool json_ok, bool *json, bool *metrics,
    const char **sock)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "metrics", no_argument, NULL, 'm' },
		{ "socket", required_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+S:", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
		case 'm':
			if (!json_ok)
				usage_error("%s: unknown option --%s", cmd, c == 'j' ? "json" :
				    "metrics");
			*(c == 'j' ? json : metrics) = true;
			if (*json && *metrics)
				usage_error("%s: --json or --metrics, not both", cmd);
			break;
		case 'S':
			*sock = optarg;
			break;
		default:
			if (optopt != 0)
				usage_error("%s: unknown option -%c", cmd, optopt);
			usage_error("%s: unknown option %s", cmd, argv[optind - 1]);
		}
	}
	return optind;
}

/* vtund-ng status [--json | --metrics] [-S socket] [PEER] */
static int
cmd_status(int argc, char **argv)
{
	const char *sock = NULL, *peer = NULL;
	char req[CONTROL_REQ_MAX];
	bool json = false, metrics = false;
	int i = client_opts(argc, argv, "status", true, &json, &metrics, &sock);

	if (i < argc)
		peer = argv[i++];
	if (i < argc)
		usage_error("status: unexpected argument %s", argv[i]);
	snprintf(req, sizeof(req), "status%s%s%s", json ? " json" : metrics ? " metrics" : "",
	    peer ? " " : "", peer ? peer : "");
	return query_all(sock, req, CONTROL_QUERY_TIMEOUT, metrics);
}

/* vtund-ng reload [-S socket]: the root parent re-reads its configuration; the answer says
 * what changed, or that the file is invalid (exit 1, nothing changed). */
static int
cmd_reload(int argc, char **argv)
{
	const char *sock = NULL;
	bool json = false, metrics = false;
	int i = client_opts(argc, argv, "reload", false, &json, &metrics, &sock);

	if (i < argc)
		usage_error("reload: unexpected argument %s", argv[i]);
	return query_all(sock, "reload", CONTROL_RELOAD_TIMEOUT + CONTROL_QUERY_TIMEOUT, false);
}

static int
cmd_genkey(int argc, char **argv)
{
	if (argc > 1)
		usage_error("genkey: unexpected argument %s", argv[1]);
	return keys_cmd_genkey(stdout) == 0 ? 0 : 1;
}

static int
cmd_pubkey(int argc, char **argv)
{
	if (argc > 1)
		usage_error("pubkey: unexpected argument %s", argv[1]);
	return keys_cmd_pubkey(stdin, stdout, stderr) == 0 ? 0 : 1;
}

static int
cmd_genpsk(int argc, char **argv)
{
	if (argc > 1)
		usage_error("genpsk: unexpected argument %s", argv[1]);
	return keys_cmd_genpsk(stdout) == 0 ? 0 : 1;
}

#define IMPORT_MAX (64 * 1024 * 1024) /* bytes of a VTun configuration */

/* The whole file path into a malloc'd buffer; NULL with a message on stderr. */
static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t cap = 0, n = 0;

	if (f == NULL) {
		fprintf(stderr, "vtund-ng: import-vtun: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	for (;;) {
		if (n == cap) {
			char *b;

			cap = cap ? cap * 2 : 65536;
			if (cap > IMPORT_MAX + 1 || (b = realloc(buf, cap)) == NULL) {
				fprintf(stderr, "vtund-ng: import-vtun: %s: larger than %d MiB\n",
				    path, IMPORT_MAX >> 20);
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = b;
		}
		size_t r = fread(buf + n, 1, cap - n, f);

		n += r;
		if (r == 0)
			break;
	}
	if (ferror(f)) {
		fprintf(stderr, "vtund-ng: import-vtun: %s: %s\n", path, strerror(errno));
		free(buf);
		fclose(f);
		return NULL;
	}
	fclose(f);
	*len = n;
	return buf;
}

/* A new file dir/name of mode 0600 (never one that exists) holding text. */
static int
write_new(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) == -1) {
		fprintf(stderr, "vtund-ng: import-vtun: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
		fprintf(stderr, "vtund-ng: import-vtun: %s: %s\n", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (close(fd) == -1) {
		fprintf(stderr, "vtund-ng: import-vtun: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* A key pair: the private key in base64 (with a newline) and the public key. */
static int
keypair(char priv[CRYPTO_B64_KEY_LEN + 2], char pub[CRYPTO_B64_KEY_LEN + 1])
{
	uint8_t k[32], p[32];

	if (crypto_x25519_keygen(k, p) == -1)
		return -1;
	crypto_key_to_base64(priv, k);
	strcat(priv, "\n");
	crypto_key_to_base64(pub, p);
	crypto_wipe(k, sizeof(k));
	return 0;
}

/*
 * vtund-ng import-vtun FILE [-o OUT] [-r HOST[:PORT]] [-k DIR]: a VTun vtund.conf as a vtund-ng
 * configuration on OUT (or stdout), the warnings on stderr. -r: for a client whose server is
 * HOST. -k DIR (a new or empty directory): make the keys: DIR/private.key for this side, and
 * for a server one key pair per peer, its private key in DIR/PEER.key for that client and its
 * public key in the configuration.
 */
static int
cmd_import_vtun(int argc, char **argv)
{
	const char *in = NULL, *outpath = NULL, *remote = NULL, *keydir = NULL;
	struct vtun_import_opts o;
	struct vtun_import r;
	char **pubs = NULL, **privs = NULL, priv[CRYPTO_B64_KEY_LEN + 2], dir[PATH_MAX];
	char keyfile[PATH_MAX + 16];
	int c, n = 0, rc = 1;
	char *text;
	size_t len;

	optind = 0; /* a fresh scan (GNU getopt), which may put FILE after the options */
	opterr = 0;
	while ((c = getopt(argc, argv, "o:r:k:")) != -1) {
		switch (c) {
		case 'o':
			outpath = optarg;
			break;
		case 'r':
			remote = optarg;
			break;
		case 'k':
			keydir = optarg;
			break;
		default:
			usage_error("import-vtun: unknown option -%c", optopt);
		}
	}
	if (optind < argc)
		in = argv[optind++];
	if (in == NULL || optind < argc)
		usage_error("%s", "import-vtun needs one FILE (a VTun vtund.conf)");
	if ((text = slurp(in, &len)) == NULL)
		return 1;
	memset(&o, 0, sizeof(o));
	o.name = in;
	o.remote = remote;
	if (keydir != NULL) {
		if (mkdir(keydir, 0700) == -1 && errno != EEXIST) {
			fprintf(stderr, "vtund-ng: import-vtun: %s: %s\n", keydir, strerror(errno));
			goto out;
		}
		if (realpath(keydir, dir) == NULL) {
			fprintf(stderr, "vtund-ng: import-vtun: %s: %s\n", keydir, strerror(errno));
			goto out;
		}
		snprintf(keyfile, sizeof(keyfile), "%s/private.key", dir);
		o.private_key_file = keyfile;
		if (crypto_init() == -1 || (n = vtun_import_count(text, len)) < 0)
			n = 0;
		if (remote != NULL)
			n = 0; /* a client names its server's public key: not ours to make */
		pubs = calloc((size_t)n + 1, sizeof(*pubs));
		privs = calloc((size_t)n + 1, sizeof(*privs));
		if (pubs == NULL || privs == NULL)
			goto out;
		for (int i = 0; i < n; i++) {
			pubs[i] = malloc(CRYPTO_B64_KEY_LEN + 1);
			privs[i] = malloc(CRYPTO_B64_KEY_LEN + 2);
			if (pubs[i] == NULL || privs[i] == NULL || keypair(privs[i], pubs[i]) == -1)
				goto out;
		}
		o.keys = (const char *const *)pubs;
		o.nkeys = n;
	}
	if (vtun_import(text, len, &o, &r) == -1) {
		fprintf(stderr, "vtund-ng: import-vtun: %s\n", r.error);
		goto out;
	}
	for (int i = 0; i < r.nwarnings; i++)
		fprintf(stderr, "%s\n", r.warnings[i]);
	if (r.dropped > 0)
		fprintf(stderr, "%s: %d more warnings not shown\n", in, r.dropped);
	if (keydir != NULL) {
		char pub[CRYPTO_B64_KEY_LEN + 2], name[96]; /* room for the newline */

		if (keypair(priv, pub) == -1 || write_new(dir, "private.key", priv) == -1)
			goto free_r;
		crypto_wipe(priv, sizeof(priv));
		snprintf(name, sizeof(name), "private.pub");
		strcat(pub, "\n");
		if (write_new(dir, name, pub) == -1)
			goto free_r;
		for (int i = 0; i < r.sessions && i < n; i++) {
			snprintf(name, sizeof(name), "%s.key", r.peers[i]);
			if (write_new(dir, name, privs[i]) == -1)
				goto free_r;
		}
	}
	if (outpath != NULL) {
		int fd = open(outpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		bool ok = fd != -1 && write(fd, r.out, strlen(r.out)) == (ssize_t)strlen(r.out);

		if (fd != -1 && close(fd) == -1)
			ok = false;
		if (!ok) {
			fprintf(stderr, "vtund-ng: import-vtun: %s: %s\n", outpath, strerror(errno));
			goto free_r;
		}
	} else {
		fputs(r.out, stdout);
	}
	fprintf(stderr, "vtund-ng: import-vtun: %d session%s converted, %d skipped, %d "
	    "warning%s%s%s\n", r.sessions, r.sessions == 1 ? "" : "s", r.skipped,
	    r.nwarnings + r.dropped, r.nwarnings + r.dropped == 1 ? "" : "s",
	    keydir != NULL ? "; keys in " : "", keydir != NULL ? dir : "");
	rc = r.sessions > 0 ? 0 : 1;
	if (r.sessions == 0)
		fprintf(stderr, "vtund-ng: import-vtun: no session could be converted\n");
free_r:
	vtun_import_free(&r);
out:
	for (int i = 0; i < n; i++) {
		if (privs != NULL && privs[i] != NULL)
			crypto_wipe(privs[i], CRYPTO_B64_KEY_LEN + 2);
		if (privs != NULL)
			free(privs[i]);
		if (pubs != NULL)
			free(pubs[i]);
	}
	free(pubs);
	free(privs);
	free(text);
	return rc;
}

/* The owner of -a's devices: -u, else the configuration's user (none for ""), else the
 * default user if it exists; -1 for none. */
static int
device_owner(const char *user, const char *group, const struct vt_config *cfg, uid_t *uid,
    gid_t *gid)
{
	char err[256];

	*uid = (uid_t)-1;
	*gid = (gid_t)-1;
	if (user == NULL && cfg != NULL) {
		user = cfg->user;
		if (group == NULL)
			group = cfg->group;
	}
	if (user == NULL && cfg != NULL && getpwnam(VT_DEFAULT_USER) != NULL)
		user = VT_DEFAULT_USER;
	if (user == NULL || user[0] == '\0')
		return 0;
	if (priv_lookup_user(user, group, uid, gid, err, sizeof(err)) == -1) {
		fprintf(stderr, "vtund-ng: device: %s\n", err);
		return -1;
	}
	return 0;
}


/* device add -a with mtu = "auto": the MTU toward the peer's remote (a client's file), or
 * toward the default route (a server's), as the daemon would choose it (priv_auto_mtu). */
static void
device_mtu(struct vt_peer *p)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char err[256];

	p->persist = false; /* the device is being made: no MTU of its own yet */
	if (p->nremotes > 0 && transport_resolve(p->remotes[0].host, p->remotes[0].port,
	    p->remotes[0].proto == VT_TCP ? SOCK_STREAM : SOCK_DGRAM, &ss, &len, err,
	    sizeof(err)) == 0)
		priv_auto_mtu(p, (struct sockaddr *)&ss);
	else
		priv_auto_mtu(p, NULL);
	p->persist = true;
}
/*
 * vtund-ng device add NAME [-t tun|tap] [-u USER] [-g GROUP] | device del NAME: a persistent
 * device owned by USER (as tunctl -t tap0 -u USER did), or its removal. With -a instead of a
 * NAME: every peer of the configuration with persist = true, its device made and configured
 * (mtu, address, peer-address, bridge, link up, routes) so that the daemon runs without root;
 * devices that exist already are left as they are. Root only (CAP_NET_ADMIN).
 */
static int
cmd_device(int argc, char **argv)
{
	const char *name = NULL, *user = NULL, *group = NULL, *type = "tun";
	struct vt_config cfg;
	struct config_errors errs;
	bool add, all = false;
	char err[512];
	int c, rc = 0, n = 0;
	uid_t uid;
	gid_t gid;

	if (argc < 2 || (strcmp(argv[1], "add") != 0 && strcmp(argv[1], "del") != 0))
		usage_error("%s", "device needs add or del");
	add = strcmp(argv[1], "add") == 0;
	optind = 0;
	opterr = 0;
	while ((c = getopt(argc - 1, argv + 1, "at:u:g:")) != -1) {
		switch (c) {
		case 'a':
			all = true;
			break;
		case 't':
			type = optarg;
			break;
		case 'u':
			user = optarg;
			break;
		case 'g':
			group = optarg;
			break;
		default:
			usage_error("device: unknown option -%c or a missing argument", optopt);
		}
	}
	if (optind < argc - 1)
		name = argv[1 + optind++];
	if (optind < argc - 1 || (all == (name != NULL)))
		usage_error("%s", "device add|del needs one device NAME, or -a");
	if (!add && (user != NULL || group != NULL || strcmp(type, "tun") != 0))
		usage_error("%s", "device del takes no -t, -u or -g");
	if (name != NULL) {
		enum vt_devtype t = strcmp(type, "tap") == 0 ? VT_TAP : VT_TUN;

		if (strcmp(type, "tun") != 0 && strcmp(type, "tap") != 0)
			usage_error("device: -t %s: tun or tap", type);
		if (!add)
			rc = tun_remove_persistent(name, err, sizeof(err));
		else if (device_owner(user, group, NULL, &uid, &gid) == -1)
			return 1;
		else
			rc = tun_make_persistent(name, t, uid, gid, err, sizeof(err));
		if (rc == -1) {
			fprintf(stderr, "vtund-ng: %s\n", err);
			return 1;
		}
		printf("device %s: %s\n", name, add ? "made (persistent)" : "removed");
		return 0;
	}
	if (config_load(opt.config, &cfg, &errs) == -1) {
		for (int i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.msg[i]);
		return 1;
	}
	if (add && device_owner(user, group, &cfg, &uid, &gid) == -1) {
		config_free(&cfg);
		return 1;
	}
	for (int i = 0; i < cfg.npeers; i++) {
		struct vt_peer *p = &cfg.peers[i];

		if (!p->persist)
			continue;
		n++;
		if (add && if_nametoindex(p->device) != 0) {
			printf("device %s (peer %s): exists, left as it is\n", p->device, p->name);
			continue;
		}
		if (add)
			device_mtu(p);
		if ((add ? priv_device_make(p, uid, gid, err, sizeof(err)) :
		    tun_remove_persistent(p->device, err, sizeof(err))) == -1) {
			fprintf(stderr, "vtund-ng: peer %s: %s\n", p->name, err);
			rc = 1;
			continue;
		}
		printf("device %s (peer %s): %s\n", p->device, p->name, add ?
		    "made and configured" : "removed");
	}
	if (n == 0)
		printf("%s: no peer has persist = true: nothing to do\n", opt.config);
	config_free(&cfg);
	return rc;
}


/* vtund-ng [-nv] [-f file] [-t] client PEER [HOST[:PORT]] */
static int
cmd_client(int argc, char **argv)
{
	if (opt.server)
		usage_error("%s", "-s and client exclude each other");
	if (argc < 2)
		usage_error("%s", "client needs a PEER name");
	if (argc > 3)
		usage_error("unexpected argument %s", argv[3]);
	opt.client_peer = argv[1];
	opt.client_override = argc == 3 ? argv[2] : NULL;
	return parent_run(&opt);
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
		default:
			if (optopt == 'f')
				usage_error("option -%c needs an argument", optopt);
			usage_error("unknown option -%c", optopt);
		}
	}
	cmd = optind < argc ? argv[optind] : NULL;
	if (cmd != NULL) {
		for (size_t i = 0; i < NCOMMANDS; i++)
			if (strcmp(cmd, commands[i].name) == 0)
				return commands[i].run(argc - optind, argv + optind);
		usage_error("unknown command or argument %s", cmd);
	}
	if (!opt.server && !opt.check)
		usage_error("%s", "nothing to do: give -s, client PEER, or -t");
	return parent_run(&opt);
}
