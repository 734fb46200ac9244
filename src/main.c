/*
 * main.c - the command line: options and subcommands, each from one table that also drives
 * --help. Running the daemon is the root parent's job (parent.c); talking to a running one is
 * the control client's (control.c).
 */
#include "config-auto.h"

#include <dirent.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "keys.h"
#include "parent.h"

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

/* Every subcommand: its name, its arguments for the usage text, and what runs it. */
static const struct command {
	const char *name;
	const char *usage;
	int (*run)(int argc, char **argv);
} commands[] = {
	{ "client", "[-nv] [-f file] client PEER [HOST[:PORT]]", cmd_client },
	{ "status", "status [--json] [-S socket] [PEER]", cmd_status },
	{ "reload", "reload [-S socket]", cmd_reload },
	{ "genkey", "genkey", cmd_genkey },
	{ "pubkey", "pubkey", cmd_pubkey },
	{ "genpsk", "genpsk", cmd_genpsk },
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

/* Ask the daemon at sock, or every daemon with a socket in RUN_DIR. */
static int
query_all(const char *sock, const char *req, int timeout)
{
	char path[4096];
	struct dirent *de;
	int rc = 0, found = 0;
	DIR *d;

	if (sock != NULL)
		return query(sock, req, timeout);
	if ((d = opendir(RUN_DIR)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			size_t n = strlen(de->d_name);

			if (n < 6 || strcmp(de->d_name + n - 5, ".sock") != 0)
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

/* Parse [--json] [-S socket] for status and reload; returns the index of the first operand. */
static int
client_opts(int argc, char **argv, const char *cmd, bool json_ok, bool *json,
    const char **sock)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "socket", required_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+S:", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			if (!json_ok)
				usage_error("%s: unknown option --json", cmd);
			*json = true;
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

/* vtund-ng status [--json] [-S socket] [PEER] */
static int
cmd_status(int argc, char **argv)
{
	const char *sock = NULL, *peer = NULL;
	char req[CONTROL_REQ_MAX];
	bool json = false;
	int i = client_opts(argc, argv, "status", true, &json, &sock);

	if (i < argc)
		peer = argv[i++];
	if (i < argc)
		usage_error("status: unexpected argument %s", argv[i]);
	snprintf(req, sizeof(req), "status%s%s%s", json ? " json" : "", peer ? " " : "",
	    peer ? peer : "");
	return query_all(sock, req, CONTROL_QUERY_TIMEOUT);
}

/* vtund-ng reload [-S socket]: the root parent re-reads its configuration; the answer says
 * what changed, or that the file is invalid (exit 1, nothing changed). */
static int
cmd_reload(int argc, char **argv)
{
	const char *sock = NULL;
	bool json = false;
	int i = client_opts(argc, argv, "reload", false, &json, &sock);

	if (i < argc)
		usage_error("reload: unexpected argument %s", argv[i]);
	return query_all(sock, "reload", CONTROL_RELOAD_TIMEOUT + CONTROL_QUERY_TIMEOUT);
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
