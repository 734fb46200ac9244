/*
 * test_config.c - the configuration loader: every good fixture and example loads with the
 * expected values, every bad fixture fails with the line and message written in its first line
 * ("# expect: LINE: fragment"), errors are all collected, key files are read and checked. The
 * pure value parsers of config_parse.h are also called directly.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"
#include "config_parse.h"
#include "crypto.h"

#define OWN_PRIV "EF9futNLuiOSG/P0TwkprGrTWws05ZwuQdbRaqsqFVo="
#define OWN_PUB "85zTe+ttXp4aKqSEswGKDOHgszT/3ubkkR9DA7z9YXo="
#define K1 "PFazca8sc6ownTAq8Tq7a2BGQN327vcaFS/eiNdTnzw="
#define K2 "QcVu1k+0GhGJkjZFtu5pnCZoPEasD6qzYvejsI3/D2A="
#define PSK "jKsTZ94IJjgdRHLEq4lPP8/CwGNr2Y2apHTq2NVSMuo="

/* A one-peer configuration with extra text at the top level and inside the peer. */
#define WITH(global, inpeer)                                                   \
	"private-key = \"" OWN_PRIV "\";\n" global "\npeers = {\n\talice = {\n" \
	"\t\tpublic-key = \"" K1 "\";\n" inpeer "\n\t};\n};\n"

static char srcdir[4096];

/* The source tree: $top_srcdir under make check, else derived from this file's path. */
static const char *
top_srcdir(void)
{
	const char *env = getenv("top_srcdir");
	const char *tail = "tests/unit/test_config.c";
	size_t n = strlen(__FILE__);

	if (srcdir[0] != '\0')
		return srcdir;
	if (env != NULL && *env != '\0') {
		snprintf(srcdir, sizeof(srcdir), "%s", env);
	} else if (n >= strlen(tail) && strcmp(__FILE__ + n - strlen(tail), tail) == 0) {
		snprintf(srcdir, sizeof(srcdir), "%.*s", (int)(n - strlen(tail)), __FILE__);
		if (srcdir[0] == '\0')
			strcpy(srcdir, ".");
	} else {
		strcpy(srcdir, ".");
	}
	return srcdir;
}

static void
path_of(char *out, size_t len, const char *rel)
{
	snprintf(out, len, "%s/%s", top_srcdir(), rel);
}

static void
key_of(uint8_t key[32], const char *b64)
{
	assert_int_equal(crypto_key_from_base64(key, b64), 0);
}

static void
print_errors(const struct config_errors *e)
{
	for (int i = 0; i < e->n; i++)
		print_message("  %s\n", e->msg[i]);
}

/* Load a file that must be valid. */
static void
load_ok(const char *path, struct vt_config *cfg)
{
	struct config_errors e;

	memset(&e, 0, sizeof(e));
	if (config_load(path, cfg, &e) != 0) {
		print_message("%s should load:\n", path);
		print_errors(&e);
		fail();
	}
	assert_int_equal(e.n, 0);
}

/* Load a string that must fail; returns the number of errors. */
static int
load_bad(const char *text, struct config_errors *e)
{
	struct vt_config cfg;

	memset(e, 0, sizeof(*e));
	assert_int_equal(config_load_string(text, "t.conf", &cfg, e), -1);
	assert_null(cfg.peers); /* left empty on failure */
	assert_int_equal(cfg.npeers, 0);
	assert_true(e->n > 0);
	return e->n;
}

/* Load a string that must fail with exactly one error containing frag at line. */
static void
expect_error(const char *text, int line, const char *frag)
{
	struct config_errors e;
	char prefix[64];

	load_bad(text, &e);
	snprintf(prefix, sizeof(prefix), "t.conf:%d: ", line);
	if (e.n != 1 || strncmp(e.msg[0], prefix, strlen(prefix)) != 0 ||
	    strstr(e.msg[0], frag) == NULL) {
		print_message("expected one error \"%s...%s\", got:\n", prefix, frag);
		print_errors(&e);
		fail();
	}
}

static void
load_string_ok(const char *text, struct vt_config *cfg)
{
	struct config_errors e;

	memset(&e, 0, sizeof(e));
	if (config_load_string(text, "t.conf", cfg, &e) != 0) {
		print_message("should load:\n%s\n", text);
		print_errors(&e);
		fail();
	}
}

static void
assert_addr(const struct vt_addr *a, int family, const char *s, int prefix)
{
	uint8_t want[16] = { 0 };

	assert_int_equal(a->family, family);
	assert_int_equal(inet_pton(family, s, want), 1);
	assert_memory_equal(a->addr, want, family == AF_INET ? 4 : 16);
	assert_int_equal(a->prefix, prefix);
}

static void
assert_cmd(const struct vt_cmd *c, int argc, const char *const *argv)
{
	assert_int_equal(c->argc, argc);
	for (int i = 0; i < argc; i++)
		assert_string_equal(c->argv[i], argv[i]);
	assert_null(c->argv[argc]);
}

static void
test_good_full(void **state)
{
	struct vt_config cfg;
	const struct vt_peer *a, *b, *c;
	uint8_t k[32];
	char path[4200];

	(void)state;
	path_of(path, sizeof(path), "tests/data/good/full.conf");
	load_ok(path, &cfg);
	assert_string_equal(cfg.path, path);
	assert_string_equal(cfg.listen_host, "192.0.2.10");
	assert_int_equal(cfg.listen_port, 5555);
	assert_string_equal(cfg.pid_file, "/run/vt-test/server.pid");
	assert_string_equal(cfg.control_socket, "/run/vt-test/server.sock");
	assert_int_equal(cfg.log_level, 3);
	assert_string_equal(cfg.user, "nobody");
	assert_string_equal(cfg.group, "nogroup");
	key_of(k, OWN_PRIV);
	assert_memory_equal(cfg.private_key, k, 32);
	key_of(k, OWN_PUB);
	assert_memory_equal(cfg.public_key, k, 32);
	assert_false(cfg.example_key);
	assert_int_equal(cfg.npeers, 3);
	/* file order */
	assert_string_equal(cfg.peers[0].name, "alice");
	assert_string_equal(cfg.peers[1].name, "bob");
	assert_string_equal(cfg.peers[2].name, "carol_the_long_named-peer");

	a = config_find_peer(&cfg, "alice");
	assert_ptr_equal(a, &cfg.peers[0]);
	assert_int_equal(a->line, 29);
	assert_int_equal(a->type, VT_TUN); /* own value wins over defaults' tap */
	assert_string_equal(a->device, "vt-alice");
	assert_false(a->persist);
	assert_int_equal(a->proto, VT_TCP); /* inherited */
	assert_int_equal(a->nremotes, 1);
	assert_string_equal(a->remotes[0].host, "fd00::1");
	assert_int_equal(a->remotes[0].port, 5001);
	assert_int_equal(a->mtu, 1300);
	assert_int_equal(a->naddrs, 2);
	assert_addr(&a->addrs[0], AF_INET, "10.9.0.1", 24);
	assert_addr(&a->addrs[1], AF_INET6, "fd00:9::1", 64);
	assert_int_equal(a->npeer_addrs, 2);
	assert_addr(&a->peer_addrs[0], AF_INET, "10.9.0.2", 32);
	assert_addr(&a->peer_addrs[1], AF_INET6, "fd00:9::2", 128);
	assert_int_equal(a->up.ncmds, 2);
	assert_cmd(&a->up.cmds[0], 6,
	    (const char *const[]){ "/sbin/ip", "route", "add", "10.1.0.0/16", "dev", "%d" });
	assert_cmd(&a->up.cmds[1], 2,
	    (const char *const[]){ "/usr/bin/logger", "%p %r %a %P %m 100%%" });
	assert_int_equal(a->down.ncmds, 1); /* inherited */
	assert_cmd(&a->down.cmds[0], 3, (const char *const[]){ "/bin/echo", "%p", "down" });
	assert_int_equal(a->keepalive, 5);
	assert_int_equal(a->timeout, 30);
	assert_int_equal(a->rekey_interval, 60);
	assert_int_equal(a->cipher, VT_CHACHA20POLY1305);
	assert_int_equal(a->compress, VT_COMPRESS_LZ4);
	assert_int_equal(a->compress_accel, 4);
	key_of(k, K1);
	assert_memory_equal(a->public_key, k, 32);
	assert_true(a->has_psk);
	key_of(k, PSK);
	assert_memory_equal(a->psk, k, 32);

	b = config_find_peer(&cfg, "bob");
	assert_ptr_equal(b, &cfg.peers[1]);
	assert_int_equal(b->type, VT_TAP);
	assert_int_equal(b->proto, VT_TCP);
	assert_string_equal(b->device, "tap-bob");
	assert_int_equal(b->mtu, 9000);
	assert_string_equal(b->remotes[0].host, "198.51.100.7");
	assert_int_equal(b->remotes[0].port, 6000);
	assert_int_equal(b->naddrs, 1);
	assert_addr(&b->addrs[0], AF_INET, "10.10.0.1", 16);
	assert_int_equal(b->npeer_addrs, 0);
	assert_int_equal(b->up.ncmds, 1); /* inherited, a copy of its own */
	assert_cmd(&b->up.cmds[0], 2, (const char *const[]){ "/bin/true", "%d" });
	assert_ptr_not_equal(b->up.cmds[0].argv[0], cfg.peers[2].up.cmds[0].argv[0]);
	assert_int_equal(b->down.ncmds, 0); /* () drops the inherited hook */
	assert_int_equal(b->keepalive, 0);
	assert_int_equal(b->timeout, 30);
	assert_false(b->has_psk);

	c = config_find_peer(&cfg, "carol_the_long_named-peer");
	assert_non_null(c);
	assert_string_equal(c->device, "vt-carol_the_lo");
	assert_true(c->persist);
	assert_string_equal(c->remotes[0].host, "vpn.example.net"); /* from defaults */
	assert_int_equal(c->remotes[0].port, 5000);
	assert_null(config_find_peer(&cfg, "dave"));
	assert_null(config_find_peer(&cfg, "alic"));
	config_free(&cfg);
}

static void
test_good_minimal(void **state)
{
	struct vt_config cfg;
	const struct vt_peer *p;
	char path[4200];

	(void)state;
	path_of(path, sizeof(path), "tests/data/good/minimal.conf");
	load_ok(path, &cfg);
	assert_string_equal(cfg.listen_host, "::");
	assert_int_equal(cfg.listen_port, 5000);
	assert_null(cfg.pid_file);
	assert_null(cfg.control_socket);
	assert_null(cfg.user);
	assert_null(cfg.group);
	assert_int_equal(cfg.log_level, 2); /* info */
	assert_int_equal(cfg.npeers, 1);
	p = &cfg.peers[0];
	assert_string_equal(p->name, "x");
	assert_int_equal(p->type, VT_TUN);
	assert_string_equal(p->device, "vt-x");
	assert_false(p->persist);
	assert_int_equal(p->proto, VT_UDP);
	assert_int_equal(p->nremotes, 0);
	assert_int_equal(p->mtu, 0); /* auto: the parent sets it from the underlay */
	assert_true(p->mtu_auto);
	assert_false(p->mss_clamp);
	assert_int_equal(p->naddrs, 0);
	assert_int_equal(p->npeer_addrs, 0);
	assert_int_equal(p->up.ncmds, 0);
	assert_int_equal(p->down.ncmds, 0);
	assert_int_equal(p->keepalive, 10);
	assert_int_equal(p->timeout, 60);
	assert_int_equal(p->rekey_interval, 120);
	assert_int_equal(p->cipher, VT_AES256GCM);
	assert_int_equal(p->compress, VT_COMPRESS_NONE);
	assert_int_equal(p->compress_accel, 1);
	assert_false(p->has_psk);
	config_free(&cfg);
}

static void
test_good_syntax_variants(void **state)
{
	struct vt_config cfg;
	const struct vt_peer *p;
	char path[4200];

	(void)state;
	path_of(path, sizeof(path), "tests/data/good/syntax-variants.conf");
	load_ok(path, &cfg);
	assert_string_equal(cfg.listen_host, "fd00::10");
	assert_int_equal(cfg.listen_port, 5001);
	assert_int_equal(cfg.npeers, 2);
	p = config_find_peer(&cfg, "v6only");
	assert_non_null(p);
	assert_int_equal(p->mtu, 1400);
	assert_int_equal(p->timeout, 120);
	assert_int_equal(p->keepalive, 0);
	assert_int_equal(p->naddrs, 2);
	assert_addr(&p->addrs[0], AF_INET6, "fd00:1::1", 64);
	assert_addr(&p->addrs[1], AF_INET, "10.1.1.1", 32);
	assert_int_equal(p->npeer_addrs, 1);
	assert_addr(&p->peer_addrs[0], AF_INET6, "fd00:1::2", 128);
	assert_string_equal(p->remotes[0].host, "fd00::20");
	assert_int_equal(p->remotes[0].port, 5000);
	p = config_find_peer(&cfg, "Second-peer_2");
	assert_non_null(p);
	assert_int_equal(p->type, VT_TAP);
	assert_string_equal(p->device, "vt-Second-peer_");
	assert_string_equal(p->remotes[0].host, "203.0.113.5");
	config_free(&cfg);
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The *.conf files of a directory, sorted; returns how many. */
static int
list_confs(const char *dir, char ***out)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);

		if (len < 6 || strcmp(de->d_name + len - 5, ".conf") != 0)
			continue;
		names = realloc(names, sizeof(*names) * (size_t)(n + 1));
		assert_non_null(names);
		names[n++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(names, (size_t)n, sizeof(*names), cmp_names);
	*out = names;
	return n;
}

static void
free_names(char **names, int n)
{
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static void
test_good_all(void **state)
{
	static const char *const dirs[] = { "tests/data/good", "etc" };
	struct vt_config cfg;
	char dir[4200], path[4500], **names;
	int n, total = 0;

	(void)state;
	for (size_t d = 0; d < 2; d++) {
		path_of(dir, sizeof(dir), dirs[d]);
		n = list_confs(dir, &names);
		for (int i = 0; i < n; i++) {
			snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
			load_ok(path, &cfg);
			assert_true(cfg.npeers >= 1);
			config_free(&cfg);
			total++;
		}
		free_names(names, n);
	}
	assert_true(total >= 7);
}

static void
test_examples_match(void **state)
{
	struct vt_config srv, cli, sa, sb;
	const struct vt_peer *alice_s, *alice_c, *bob, *ls, *lc;
	char path[4200];

	(void)state;
	path_of(path, sizeof(path), "etc/server.conf");
	load_ok(path, &srv);
	path_of(path, sizeof(path), "etc/client.conf");
	load_ok(path, &cli);
	path_of(path, sizeof(path), "etc/site-a.conf");
	load_ok(path, &sa);
	path_of(path, sizeof(path), "etc/site-b.conf");
	load_ok(path, &sb);
	/* example keys are flagged so that main can warn */
	assert_true(srv.example_key && cli.example_key && sa.example_key && sb.example_key);

	alice_s = config_find_peer(&srv, "alice");
	alice_c = config_find_peer(&cli, "alice");
	bob = config_find_peer(&srv, "bob");
	assert_non_null(alice_s);
	assert_non_null(alice_c);
	assert_non_null(bob);
	assert_memory_equal(alice_s->public_key, cli.public_key, 32);
	assert_memory_equal(alice_c->public_key, srv.public_key, 32);
	assert_true(alice_s->has_psk && alice_c->has_psk);
	assert_memory_equal(alice_s->psk, alice_c->psk, 32);
	assert_int_equal(alice_s->type, VT_TUN);
	assert_int_equal(alice_s->proto, VT_UDP);
	assert_int_equal(alice_s->proto, alice_c->proto);
	assert_addr(&alice_s->addrs[0], AF_INET, "10.99.1.1", 30);
	assert_addr(&alice_s->peer_addrs[0], AF_INET, "10.99.1.2", 32);
	assert_addr(&alice_s->addrs[1], AF_INET6, "fd99:1::1", 64);
	assert_addr(&alice_s->peer_addrs[1], AF_INET6, "fd99:1::2", 128);
	assert_addr(&alice_c->addrs[0], AF_INET, "10.99.1.2", 30);
	assert_addr(&alice_c->peer_addrs[0], AF_INET, "10.99.1.1", 32);
	assert_addr(&alice_c->addrs[1], AF_INET6, "fd99:1::2", 64);
	assert_addr(&alice_c->peer_addrs[1], AF_INET6, "fd99:1::1", 128);
	assert_string_equal(alice_c->remotes[0].host, "10.98.0.1");
	assert_int_equal(alice_c->remotes[0].port, 5000);
	assert_int_equal(bob->type, VT_TAP);
	assert_int_equal(bob->proto, VT_TCP);
	assert_addr(&bob->addrs[0], AF_INET, "10.99.2.1", 24);

	ls = config_find_peer(&sa, "sitelink");
	lc = config_find_peer(&sb, "sitelink");
	assert_non_null(ls);
	assert_non_null(lc);
	assert_memory_equal(ls->public_key, sb.public_key, 32);
	assert_memory_equal(lc->public_key, sa.public_key, 32);
	assert_int_equal(ls->up.ncmds, 2);
	assert_int_equal(lc->up.ncmds, 2);
	assert_string_equal(ls->up.cmds[0].argv[0], "/sbin/ip");
	assert_string_equal(ls->up.cmds[0].argv[ls->up.cmds[0].argc - 1], "%d");
	assert_int_equal(lc->nremotes, 1);
	assert_int_equal(lc->remotes[0].port, sa.listen_port);
	assert_int_equal(ls->naddrs, 2);
	assert_int_equal(lc->naddrs, 2);
	config_free(&srv);
	config_free(&cli);
	config_free(&sa);
	config_free(&sb);
}

/* Every tests/data/bad file fails with exactly the one error its first line announces. */
static void
test_bad_all(void **state)
{
	struct config_errors e;
	struct vt_config cfg;
	char dir[4200], path[4500], first[512], prefix[4600], **names;
	const char *frag;
	FILE *f;
	int n, line;

	(void)state;
	path_of(dir, sizeof(dir), "tests/data/bad");
	n = list_confs(dir, &names);
	assert_true(n >= 30);
	for (int i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		f = fopen(path, "r");
		assert_non_null(f);
		assert_non_null(fgets(first, sizeof(first), f));
		fclose(f);
		first[strcspn(first, "\n")] = '\0';
		if (sscanf(first, "# expect: %d:", &line) != 1) {
			print_message("%s: first line must be \"# expect: LINE: fragment\"\n",
			    path);
			fail();
		}
		frag = strchr(strchr(first, ':') + 1, ':') + 2;
		memset(&e, 0, sizeof(e));
		if (config_load(path, &cfg, &e) != -1) {
			print_message("%s: loaded, but should fail\n", path);
			config_free(&cfg);
			fail();
		}
		snprintf(prefix, sizeof(prefix), "%s:%d: ", path, line);
		if (e.n != 1 || strncmp(e.msg[0], prefix, strlen(prefix)) != 0 ||
		    strstr(e.msg[0] + strlen(prefix), frag) == NULL) {
			print_message("%s: expected one error at line %d with \"%s\", got:\n",
			    names[i], line, frag);
			print_errors(&e);
			fail();
		}
	}
	free_names(names, n);
}

static void
test_three_errors(void **state)
{
	struct config_errors e;

	(void)state;
	assert_int_equal(load_bad("private-key = \"" OWN_PRIV "\";\n"
	    "log-level = \"loud\";\n"
	    "peers = {\n"
	    "\talice = {\n"
	    "\t\tpublic-key = \"" K1 "\";\n"
	    "\t\tmtu = 100;\n"
	    "\t\tup = [\"ip\", \"link\"];\n"
	    "\t};\n"
	    "};\n", &e), 3);
	assert_non_null(strstr(e.msg[0], "t.conf:2: log-level 'loud'"));
	assert_non_null(strstr(e.msg[1], "t.conf:6: peer 'alice': mtu 100 out of range"));
	assert_non_null(strstr(e.msg[2], "t.conf:7: peer 'alice': up: command 'ip'"));
	assert_int_equal(e.dropped, 0);
}

static void
test_error_cap(void **state)
{
	struct config_errors e;
	char text[16384];
	size_t len;

	(void)state;
	len = (size_t)snprintf(text, sizeof(text), "private-key = \"%s\";\npeers = {\n", OWN_PRIV);
	for (int i = 0; i < CONFIG_MAX_ERRORS + 10; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len,
		    "\tp%d = { public-key = \"%s\"; mtu = 1; };\n", i, K1);
	snprintf(text + len, sizeof(text) - len, "};\n");
	/* each peer: mtu out of range; all but the first: the public key is reused */
	load_bad(text, &e);
	assert_int_equal(e.n, CONFIG_MAX_ERRORS);
	assert_int_equal(e.n + e.dropped, 2 * (CONFIG_MAX_ERRORS + 10) - 1);
}

static void
test_errs_null(void **state)
{
	struct vt_config cfg;

	(void)state;
	assert_int_equal(config_load_string("mtu = ", "t.conf", &cfg, NULL), -1);
	assert_int_equal(config_load_string(WITH("", "mtu = 1;"), "t.conf", &cfg, NULL), -1);
	assert_int_equal(config_load("/nonexistent/vt.conf", &cfg, NULL), -1);
}

static void
test_cannot_open(void **state)
{
	struct config_errors e;
	struct vt_config cfg;

	(void)state;
	memset(&e, 0, sizeof(e));
	assert_int_equal(config_load("/nonexistent/vt.conf", &cfg, &e), -1);
	assert_int_equal(e.n, 1);
	assert_string_equal(e.msg[0],
	    "/nonexistent/vt.conf: cannot open: No such file or directory");
	memset(&e, 0, sizeof(e));
	assert_int_equal(config_load("/tmp", &cfg, &e), -1);
	assert_int_equal(e.n, 1);
	assert_string_equal(e.msg[0], "/tmp: cannot open: Is a directory");
	memset(&e, 0, sizeof(e));
	assert_int_equal(config_load("/dev/null", &cfg, &e), -1);
	assert_string_equal(e.msg[0], "/dev/null: cannot open: not a regular file");
}

static void
test_nul_byte(void **state)
{
	char path[] = "/tmp/vt-config-nul-XXXXXX";
	static const char text[] = "log-level = \"info\";\n\0junk\n";
	struct config_errors e;
	struct vt_config cfg;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)sizeof(text) - 1);
	close(fd);
	memset(&e, 0, sizeof(e));
	assert_int_equal(config_load(path, &cfg, &e), -1);
	assert_int_equal(e.n, 1);
	assert_non_null(strstr(e.msg[0], ":2: NUL byte"));
	unlink(path);
}

/* Copy a key from tests/data/keys into a fresh /tmp file with the given mode. */
static void
make_key_file(const char *name, mode_t mode, char *out, size_t outlen)
{
	char src[4200], buf[256];
	FILE *f;
	size_t n;
	int fd;

	path_of(src, sizeof(src), name);
	f = fopen(src, "r");
	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	snprintf(out, outlen, "/tmp/vt-config-key-XXXXXX");
	fd = mkstemp(out);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, n), (ssize_t)n);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void
test_key_files(void **state)
{
	char priv[64], psk[64], text[1024];
	struct config_errors e;
	struct vt_config cfg;
	uint8_t k[32];

	(void)state;
	make_key_file("tests/data/keys/private.key", 0600, priv, sizeof(priv));
	make_key_file("tests/data/keys/alice.psk", 0600, psk, sizeof(psk));
	snprintf(text, sizeof(text), "private-key-file = \"%s\";\npeers = {\n\talice = {\n"
	    "\t\tpublic-key = \"%s\";\n\t\tpreshared-key-file = \"%s\";\n\t};\n};\n", priv, K1,
	    psk);
	load_string_ok(text, &cfg);
	key_of(k, OWN_PRIV);
	assert_memory_equal(cfg.private_key, k, 32);
	key_of(k, OWN_PUB);
	assert_memory_equal(cfg.public_key, k, 32);
	assert_true(cfg.peers[0].has_psk);
	key_of(k, PSK);
	assert_memory_equal(cfg.peers[0].psk, k, 32);
	config_free(&cfg);

	/* readable by others: both key files are refused, on their own lines */
	assert_int_equal(chmod(priv, 0644), 0);
	assert_int_equal(chmod(psk, 0640), 0);
	assert_int_equal(load_bad(text, &e), 2);
	assert_non_null(strstr(e.msg[0], "t.conf:1: private-key-file: "));
	assert_non_null(strstr(e.msg[1], "t.conf:5: peer 'alice': preshared-key-file: "));

	/* missing files */
	unlink(priv);
	unlink(psk);
	assert_int_equal(load_bad(text, &e), 2);
	assert_non_null(strstr(e.msg[0], "t.conf:1: private-key-file: "));
	assert_non_null(strstr(e.msg[1], "t.conf:5: "));
}

/* Write text to a new temporary file of the given mode; its path into out. */
static void
make_conf_file(const char *text, mode_t mode, char *out, size_t outlen)
{
	int fd;

	snprintf(out, outlen, "/tmp/vt-config-XXXXXX");
	fd = mkstemp(out);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

/* A key written in the configuration itself is as private as that file: a file its group or
 * others may read is flagged (the daemon warns). Key files are refused outright instead. */
static void
test_inline_secrets_exposed(void **state)
{
	static const struct {
		const char *text;
		mode_t mode;
		bool exposed;
	} cases[] = {
		{ "private-key = \"" OWN_PRIV "\";\npeers = { a = { public-key = \"" K1 "\"; }; };\n",
		    0644, true },
		{ "private-key = \"" OWN_PRIV "\";\npeers = { a = { public-key = \"" K1 "\"; }; };\n",
		    0640, true },
		{ "private-key = \"" OWN_PRIV "\";\npeers = { a = { public-key = \"" K1 "\"; }; };\n",
		    0600, false },
		{ "private-key = \"" OWN_PRIV "\";\npeers = { a = { public-key = \"" K1 "\";\n"
		    "preshared-key = \"" PSK "\"; }; };\n", 0604, true },
	};
	struct config_errors e;
	struct vt_config cfg;
	char path[64];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		make_conf_file(cases[i].text, cases[i].mode, path, sizeof(path));
		assert_int_equal(config_load(path, &cfg, &e), 0);
		assert_int_equal(cfg.secrets_exposed, cases[i].exposed);
		config_free(&cfg);
		unlink(path);
	}
	/* From a string there is no file to judge. */
	assert_int_equal(config_load_string(cases[0].text, "t.conf", &cfg, &e), 0);
	assert_false(cfg.secrets_exposed);
	config_free(&cfg);
}

/* True if loading text names key in an error, and not as an unknown key. */
static bool
rejected_by_name(const char *text, const char *key, struct config_errors *e)
{
	char unknown[128];
	bool named = false;

	snprintf(unknown, sizeof(unknown), "unknown key '%s'", key);
	load_bad(text, e);
	for (int i = 0; i < e->n; i++) {
		if (strstr(e->msg[i], unknown) != NULL)
			return false;
		if (strstr(e->msg[i], key) != NULL)
			named = true;
	}
	return named;
}

static void
test_config_keys(void **state)
{
	static const char *const expected[] = { "listen", "pid-file", "control-socket",
		"log-level", "threads", "user", "group", "private-key", "private-key-file",
		"defaults", "peers", "type", "device", "persist", "bridge", "proto", "remote",
		"failback", "mtu", "mss-clamp", "address", "peer-address", "routes", "allowed-ips", "up", "down",
		"session-up", "session-down", "keepalive", "timeout", "rekey-interval", "cipher", "compress",
		"compress-acceleration", "offload", "duplicate", "rate-in", "rate-out", "rate-burst",
		"public-key", "preshared-key", "preshared-key-file", NULL };
	struct config_errors e;
	char text[1024];
	int n = 0;

	(void)state;
	for (; config_keys[n] != NULL; n++) {
		assert_non_null(expected[n]);
		assert_string_equal(config_keys[n], expected[n]);
	}
	assert_null(expected[n]);
	/* every key is really parsed, either at the top level or in a peer: there a value of
	 * the wrong type is rejected by name, and elsewhere the key is unknown */
	for (int i = 0; config_keys[i] != NULL; i++) {
		bool at_top, in_peer;

		snprintf(text, sizeof(text), "%s = 3.5;\n", config_keys[i]);
		at_top = rejected_by_name(text, config_keys[i], &e);
		snprintf(text, sizeof(text), "private-key = \"%s\";\npeers = { alice = { %s = 3.5; "
		    "}; };\n", OWN_PRIV, config_keys[i]);
		in_peer = rejected_by_name(text, config_keys[i], &e);
		if (at_top == in_peer)
			print_message("key %s: top %d, peer %d\n", config_keys[i], at_top, in_peer);
		assert_true(at_top != in_peer);
	}
}

/* routes and allowed-ips: prefixes, one or a list; the network address, each once, at most
 * CONFIG_MAX_ROUTES; tun only (also on a persistent device: device add applies them); not the
 * network of one of the peer's own addresses, IPv6 ones only with an MTU for IPv6, and not the
 * same as another peer's; only in a peer, never in defaults. */
/* rate-in, rate-out, rate-burst: units, ranges, inheritance from defaults. */
static void
test_rates(void **state)
{
	struct vt_config cfg;

	(void)state;
	load_string_ok(WITH("", "rate-in = \"2.5mbit\"; rate-out = \"1gbit\"; "
	    "rate-burst = \"64kb\";"), &cfg);
	assert_int_equal(cfg.peers[0].rate_in, 2500000);
	assert_int_equal(cfg.peers[0].rate_out, 1000000000);
	assert_int_equal(cfg.peers[0].rate_burst, 65536);
	config_free(&cfg);
	load_string_ok(WITH("defaults = { rate-out = \"10mbit\"; };", ""), &cfg);
	assert_int_equal(cfg.peers[0].rate_in, 0);
	assert_int_equal(cfg.peers[0].rate_out, 10000000);
	assert_int_equal(cfg.peers[0].rate_burst, 0);
	config_free(&cfg);
	load_string_ok(WITH("defaults = { rate-out = \"10mbit\"; };", "rate-out = \"0\";"),
	    &cfg);
	assert_int_equal(cfg.peers[0].rate_out, 0);
	config_free(&cfg);
	expect_error(WITH("", "rate-in = \"10\";"), 6, "rate-in '10' needs a unit");
	/* mtu: auto, a number, IPv6 at 1280 at least (also when set in defaults) */
	load_string_ok(WITH("", "mtu = \"auto\"; mss-clamp = true;"), &cfg);
	assert_true(cfg.peers[0].mtu_auto);
	assert_true(cfg.peers[0].mss_clamp);
	config_free(&cfg);
	load_string_ok(WITH("defaults = { mtu = 1300; };", "mtu = \"auto\";"), &cfg);
	assert_true(cfg.peers[0].mtu_auto);
	config_free(&cfg);
	expect_error(WITH("", "mtu = \"1400\";"), 6, "mtu must be an integer, not a string "
	    "(mtu = 1400, without quotes)");
	expect_error(WITH("", "mtu = \"big\";"), 6, "mtu 'big' is not \"auto\"");
	expect_error(WITH("", "mtu = 1279;\naddress = \"fd00::1/64\";"), 7,
	    "IPv6 address fd00::1/64 needs mtu >= 1280, not 1279");
	expect_error(WITH("defaults = { mtu = 1000; };", "address = [\"10.0.0.1/30\", "
	    "\"fd00::1/64\"];"), 6, "IPv6 address fd00::1/64 needs mtu >= 1280, not 1000");
	load_string_ok(WITH("", "mtu = 1280; address = \"fd00::1/64\";"), &cfg);
	config_free(&cfg);
	expect_error(WITH("", "rate-in = \"10mb\";"), 6, "rate-in '10mb' has an unknown unit");
	expect_error(WITH("", "rate-out = 10;"), 6, "rate-out must be a string, not an integer");
	expect_error(WITH("", "rate-out = \"7kbit\";"), 6,
	    "rate-out '7kbit' out of range 8kbit..100gbit");
	expect_error(WITH("", "rate-out = \"101gbit\";"), 6, "out of range 8kbit..100gbit");
	expect_error(WITH("", "rate-burst = \"1kb\";"), 6,
	    "rate-burst '1kb' out of range 2kb..64mb");
	expect_error(WITH("", "rate-burst = \"1mbit\";"), 6,
	    "rate-burst '1mbit' has an unknown unit");
}

static void
test_routes(void **state)
{
	struct vt_config cfg;
	char text[8192], list[4096];
	size_t n = 0;

	(void)state;
	load_string_ok(WITH("", "address = \"10.99.1.1/24\"; routes = [\"10.2.0.0/24\", "
	    "\"fd02::/48\", \"0.0.0.0/0\"]; allowed-ips = \"192.0.2.0/28\";"), &cfg);
	assert_int_equal(cfg.peers[0].nroutes, 3);
	assert_int_equal(cfg.peers[0].routes[1].family, AF_INET6);
	assert_int_equal(cfg.peers[0].routes[1].prefix, 48);
	assert_int_equal(cfg.peers[0].routes[2].prefix, 0);
	assert_int_equal(cfg.peers[0].nallowed_ips, 1);
	assert_int_equal(cfg.peers[0].allowed_ips[0].prefix, 28);
	config_free(&cfg);
	load_string_ok(WITH("", "routes = \"10.2.0.0/24\";"), &cfg);
	assert_int_equal(cfg.peers[0].nroutes, 1);
	config_free(&cfg);
	expect_error(WITH("", "routes = [\"10.2.0.1/24\"];"), 6,
	    "routes '10.2.0.1/24' has host bits set (the network is 10.2.0.0/24)");
	expect_error(WITH("", "allowed-ips = [\"fd00::1/64\"];"), 6,
	    "allowed-ips 'fd00::1/64' has host bits set (the network is fd00::/64)");
	expect_error(WITH("", "routes = [\"10.2.0.0\"];"), 6,
	    "routes '10.2.0.0' needs a prefix length");
	expect_error(WITH("", "routes = [\"10.2.0.0/24\", \"10.2.0.0/24\"];"), 6,
	    "routes '10.2.0.0/24' is listed twice");
	expect_error(WITH("", "routes = [\"lan\"];"), 6, "routes 'lan' is not an IPv4 or IPv6");
	expect_error(WITH("", "routes = 5;"), 6, "routes must be a string or a list of strings");
	expect_error(WITH("", "type = \"tap\"; routes = [\"10.2.0.0/24\"];"), 6,
	    "routes are for tun devices only");
	expect_error(WITH("", "type = \"tap\"; allowed-ips = [\"10.2.0.0/24\"];"), 6,
	    "allowed-ips is for tun devices only");
	/* with persist, vtund-ng device add -a applies them (the daemon only attaches) */
	load_string_ok(WITH("", "persist = true; address = \"10.99.1.1/24\"; "
	    "routes = [\"10.2.0.0/24\"];"), &cfg);
	assert_int_equal(cfg.peers[0].nroutes, 1);
	assert_int_equal(cfg.peers[0].naddrs, 1);
	config_free(&cfg);
	expect_error(WITH("", "mtu = 1000; routes = [\"fd02::/48\"];"), 6,
	    "route fd02::/48 needs mtu >= 1280 (IPv6), not 1000");
	expect_error(WITH("", "address = \"10.99.1.1/24\"; routes = [\"10.99.1.0/24\"];"), 6,
	    "route 10.99.1.0/24 is the network of address 10.99.1.1/24");
	expect_error(WITH("defaults = { routes = [\"10.2.0.0/24\"]; };", ""), 2, "routes");
	/* bridge: tap only, not persist, not the device itself, a valid name */
	load_string_ok(WITH("", "type = \"tap\"; bridge = \"br0\";"), &cfg);
	assert_string_equal(cfg.peers[0].bridge, "br0");
	config_free(&cfg);
	load_string_ok(WITH("defaults = { type = \"tap\"; bridge = \"br-lan\"; };", ""), &cfg);
	assert_string_equal(cfg.peers[0].bridge, "br-lan");
	config_free(&cfg);
	expect_error(WITH("", "bridge = \"br0\";"), 6, "bridge is for tap devices only");
	load_string_ok(WITH("", "type = \"tap\"; persist = true; bridge = \"br0\";"), &cfg);
	config_free(&cfg);
	expect_error(WITH("", "type = \"tap\"; device = \"t0\"; bridge = \"t0\";"), 6,
	    "bridge 't0' is the peer's own device");
	expect_error(WITH("", "type = \"tap\"; bridge = \"br/0\";"), 6,
	    "bridge 'br/0' is not a valid interface name");
	/* two peers with one route */
	snprintf(text, sizeof(text), "private-key = \"%s\";\npeers = {\n"
	    "\ta = { public-key = \"%s\"; routes = [\"10.2.0.0/24\", \"10.3.0.0/24\"]; };\n"
	    "\tb = { public-key = \"%s\"; routes = [\"10.3.0.0/24\"]; };\n};\n", OWN_PRIV,
	    K1, K2);
	expect_error(text, 4, "peer 'b': route 10.3.0.0/24 is also a route of peer 'a'");
	/* at most CONFIG_MAX_ROUTES */
	for (int i = 0; i <= CONFIG_MAX_ROUTES; i++)
		n += (size_t)snprintf(list + n, sizeof(list) - n, "%s\"10.%d.0.0/16\"",
		    i > 0 ? ", " : "", i);
	snprintf(text, sizeof(text), WITH("", "routes = [%s];"), list);
	expect_error(text, 6, "routes: too many prefixes (at most 64)");
}

/* Failover: remote as a list, each with its transport or proto's (once for each of a list of
 * them, in its order); protos holds every transport named; none twice; at most
 * CONFIG_MAX_REMOTES; failback 0..86400, 30 by default. */
static void
test_remotes(void **state)
{
	struct vt_config cfg;
	const struct vt_peer *p;
	char text[2048];

	(void)state;
	snprintf(text, sizeof(text), WITH("", "remote = ( \"vpn.example.net:5000\", "
	    "\"vpn.example.net:443 tcp\", \"[fd00::1]:6000  udp\" ); failback = 5;"));
	load_string_ok(text, &cfg);
	p = &cfg.peers[0];
	assert_int_equal(p->nremotes, 3);
	assert_string_equal(p->remotes[0].host, "vpn.example.net");
	assert_int_equal(p->remotes[0].port, 5000);
	assert_int_equal(p->remotes[0].proto, VT_UDP);
	assert_int_equal(p->remotes[1].port, 443);
	assert_int_equal(p->remotes[1].proto, VT_TCP);
	assert_string_equal(p->remotes[2].host, "fd00::1");
	assert_int_equal(p->remotes[2].proto, VT_UDP);
	assert_int_equal(p->remotes[2].line, 6);
	assert_int_equal(p->proto, VT_UDP);
	assert_int_equal(p->protos, (1u << VT_UDP) | (1u << VT_TCP));
	assert_int_equal(p->failback, 5);
	config_free(&cfg);
	/* one remote, proto a list: tried over each, in the list's order */
	snprintf(text, sizeof(text), WITH("", "proto = [ \"tcp\", \"udp\" ]; remote = "
	    "\"192.0.2.1\";"));
	load_string_ok(text, &cfg);
	p = &cfg.peers[0];
	assert_int_equal(p->nremotes, 2);
	assert_int_equal(p->remotes[0].proto, VT_TCP);
	assert_int_equal(p->remotes[1].proto, VT_UDP);
	assert_int_equal(p->remotes[1].port, 5000);
	assert_int_equal(p->proto, VT_TCP);
	assert_int_equal(p->failback, CONFIG_FAILBACK_DEFAULT);
	config_free(&cfg);
	/* a server's peer: the transports it takes, no remotes */
	snprintf(text, sizeof(text), WITH("", "proto = ( \"udp\", \"tcp\" );"));
	load_string_ok(text, &cfg);
	assert_int_equal(cfg.peers[0].nremotes, 0);
	assert_int_equal(cfg.peers[0].protos, 3);
	config_free(&cfg);
	/* a single remote with a transport of its own, proto left alone */
	snprintf(text, sizeof(text), WITH("", "remote = \"192.0.2.1:443 tcp\";"));
	load_string_ok(text, &cfg);
	assert_int_equal(cfg.peers[0].nremotes, 1);
	assert_int_equal(cfg.peers[0].remotes[0].proto, VT_TCP);
	assert_int_equal(cfg.peers[0].protos, 3);
	config_free(&cfg);

	expect_error(WITH("", "remote = \"192.0.2.1 sctp\";"), 6, "a transport");
	expect_error(WITH("", "remote = \"192.0.2.1 tcp udp\";"), 6, "a transport");
	expect_error(WITH("", "remote = ();"), 6, "an empty list");
	expect_error(WITH("", "remote = 5;"), 6, "a string or a list");
	expect_error(WITH("", "remote = ( \"a\", \"b\", \"c\", \"d\", \"e\", \"f\", \"g\", "
	    "\"h\", \"i\" );"), 6, "too many");
	expect_error(WITH("", "proto = [ \"udp\", \"tcp\" ];\nremote = ( \"a\", \"b\", \"c\", "
	    "\"d\", \"e\" );"), 7, "more than 8");
	expect_error(WITH("", "remote = ( \"a:5000\", \"a udp\" );"), 6, "listed twice");
	expect_error(WITH("", "proto = [ ];"), 6, "an empty list");
	expect_error(WITH("", "proto = [ \"udp\", \"udp\" ];"), 6, "named twice");
	expect_error(WITH("", "proto = [ \"udp\", \"sctp\" ];"), 6, "not one of");
	expect_error(WITH("", "failback = -1;"), 6, "failback");
	expect_error(WITH("", "failback = 86401;"), 6, "failback");
}

static void
test_hostport(void **state)
{
	static const struct {
		const char *remote;
		const char *host;
		int port;
	} ok[] = {
		{ "vpn.example.net", "vpn.example.net", 5000 },
		{ "vpn.example.net:1", "vpn.example.net", 1 },
		{ "192.0.2.1:65535", "192.0.2.1", 65535 },
		{ "[fd00::1]:5001", "fd00::1", 5001 },
		{ "[fd00::1]", "fd00::1", 5000 },
		{ "fd00::1", "fd00::1", 5000 },
		{ "::1", "::1", 5000 },
		{ "a", "a", 5000 },
		{ "x-1.y-2.example", "x-1.y-2.example", 5000 },
		{ "3com.example", "3com.example", 5000 },
	};
	static const char *const bad[] = { "", ":5000", "host:", "host:x", "host:65536",
		"host:0", "-host", "host-", "a..b", "ho st", "[fd00::1]5000", "[::1", "[]:5",
		"10.0.0.256", "1.2.3", "[10.0.0.1]:5", "fd00::1:5000:x" };
	struct vt_config cfg;
	char text[1024];

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(text, sizeof(text), WITH("", "remote = \"%s\";"), ok[i].remote);
		load_string_ok(text, &cfg);
		assert_int_equal(cfg.peers[0].nremotes, 1);
		assert_string_equal(cfg.peers[0].remotes[0].host, ok[i].host);
		assert_int_equal(cfg.peers[0].remotes[0].port, ok[i].port);
		config_free(&cfg);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), WITH("", "remote = \"%s\";"), bad[i]);
		expect_error(text, 6, "remote '");
	}
	snprintf(text, sizeof(text), WITH("listen = \"0.0.0.0\";", ""));
	load_string_ok(text, &cfg);
	assert_string_equal(cfg.listen_host, "0.0.0.0");
	assert_int_equal(cfg.listen_port, 5000);
	config_free(&cfg);
	snprintf(text, sizeof(text), WITH("listen = \"[::]:6000\";", ""));
	load_string_ok(text, &cfg);
	assert_string_equal(cfg.listen_host, "::");
	assert_int_equal(cfg.listen_port, 6000);
	config_free(&cfg);
	expect_error(WITH("listen = \"vpn.example.net:5000\";", ""), 2, "not a numeric");
}

static void
test_hook_substitutions(void **state)
{
	static const char *const bad[] = { "%x", "%D", "%", "a%", "%%%", "%%%q", "%1" };
	struct vt_config cfg;
	char text[1024];

	(void)state;
	load_string_ok(WITH("", "up = [\"/bin/x\", \"%d%p%r%a%P%m%%\", \"%%d\", \"\"];"), &cfg);
	assert_int_equal(cfg.peers[0].up.cmds[0].argc, 4);
	assert_string_equal(cfg.peers[0].up.cmds[0].argv[1], "%d%p%r%a%P%m%%");
	config_free(&cfg);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), WITH("", "up = [\"/bin/x\", \"%s\"];"), bad[i]);
		expect_error(text, 6, "up: ");
	}
	/* argv[0] may carry substitutions too, and must still be absolute */
	expect_error(WITH("", "down = [\"%d/x\"];"), 6, "must be an absolute path");
	expect_error(WITH("", "up = (" "[\"/a\"],[\"/a\"],[\"/a\"],[\"/a\"],[\"/a\"],[\"/a\"],"
	    "[\"/a\"],[\"/a\"],[\"/a\"]);"), 6, "too many commands");
}

static void
test_prescan(void **state)
{
	struct vt_config cfg;

	(void)state;
	/* "@include" and huge digits inside strings and comments are text, not directives */
	load_string_ok(WITH("# @include 99999999999\n/* 99999999999\n@include */",
	    "up = [\"/bin/echo\", \"@include 99999999999 \\\" 99999999999\"]; // 99999999999"),
	    &cfg);
	assert_string_equal(cfg.peers[0].up.cmds[0].argv[1], "@include 99999999999 \" 99999999999");
	config_free(&cfg);
	/* limits of the 32-bit literals libconfig keeps exactly */
	expect_error(WITH("", "timeout = 2147483648;"), 6, "integer 2147483648 is too large");
	expect_error(WITH("", "timeout = -2147483649;"), 6, "too large");
	expect_error(WITH("", "timeout = 0x100000000;"), 6, "too large");
	expect_error(WITH("", "timeout = 2147483647;"), 6, "timeout 2147483647 out of range");
	expect_error(WITH("", "timeout = 99999999999999999999999L;"), 6, "too large");
	load_string_ok(WITH("", "timeout = 0x00000000000000E10;"), &cfg);
	assert_int_equal(cfg.peers[0].timeout, 3600);
	config_free(&cfg);
	/* threads: 1 by default, up to VT_THREADS_MAX, a global setting */
	load_string_ok(WITH("", ""), &cfg);
	assert_int_equal(cfg.threads, 1);
	config_free(&cfg);
	load_string_ok(WITH("threads = 8;", ""), &cfg);
	assert_int_equal(cfg.threads, 8);
	config_free(&cfg);
	expect_error(WITH("threads = 0;", ""), 2, "threads 0 out of range 1..8");
	expect_error(WITH("threads = 9;", ""), 2, "threads 9 out of range 1..8");
	expect_error(WITH("threads = \"auto\";", ""), 2, "threads must be an integer");
	expect_error(WITH("", "threads = 2;"), 6, "threads");
	/* floating-point numbers are not integers, however long */
	expect_error(WITH("", "mtu = 12345678901234.5;"), 6, "mtu must be an integer, not a float");
	expect_error(WITH("", "mtu = 1e3;"), 6, "mtu must be an integer, not a float");
}

/* ---- the pure parsers of config_parse.h, called directly ------------------------------- */

static void
test_parse_hostport(void **state)
{
	char host[CONFIG_HOST_MAX + 1], longname[CONFIG_HOST_MAX + 8];
	uint16_t port;

	(void)state;
#define HP(s, numeric) config_parse_hostport((s), (numeric), host, &port, CONFIG_DEFAULT_PORT)
	assert_null(HP("[fd00::1]:6000", true));
	assert_string_equal(host, "fd00::1");
	assert_int_equal(port, 6000);
	assert_null(HP("0.0.0.0", true));
	assert_string_equal(host, "0.0.0.0");
	assert_int_equal(port, CONFIG_DEFAULT_PORT);
	assert_null(HP("::", true));
	assert_string_equal(host, "::");
	/* a name only where names are allowed */
	assert_null(HP("vpn.example.net:7", false));
	assert_string_equal(host, "vpn.example.net");
	assert_int_equal(port, 7);
	assert_string_equal(HP("vpn.example.net:7", true),
	    "not a numeric IPv4 or IPv6 address");
	assert_non_null(strstr(HP("5000", true),
	    "a port alone is not enough"));
	assert_string_equal(HP("5000", false),
	    "not a valid host name or address");
	assert_string_equal(HP("[::1", false), "missing ']'");
	assert_string_equal(HP("[::1]x", false),
	    "unexpected text after ']'");
	assert_string_equal(HP("h:123456", false), "bad port");
	assert_string_equal(HP("h:0", false),
	    "port out of range 1..65535");
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_string_equal(HP(longname, false),
	    "host name too long");
	/* 63 characters make a label, 64 do not */
	memset(longname, 'a', 64);
	strcpy(longname + 64, ".example");
	assert_string_equal(HP(longname, false),
	    "not a valid host name or address");
	strcpy(longname + 63, ".example");
	assert_null(HP(longname, false));
	/* Without a port the caller's default stays (the command line keeps the configured one). */
	assert_null(config_parse_hostport("vpn.example.net", false, host, &port, 6001));
	assert_int_equal(port, 6001);
	assert_null(config_parse_hostport("[fd00::1]", false, host, &port, 6002));
	assert_int_equal(port, 6002);
#undef HP
}

static void
test_parse_addr(void **state)
{
	struct vt_addr a;

	(void)state;
	assert_null(config_parse_addr("10.1.2.3/0", true, &a));
	assert_addr(&a, AF_INET, "10.1.2.3", 0);
	assert_null(config_parse_addr("fd00::1/128", true, &a));
	assert_addr(&a, AF_INET6, "fd00::1", 128);
	/* without a prefix the full length is implied */
	assert_null(config_parse_addr("fd00::2", false, &a));
	assert_addr(&a, AF_INET6, "fd00::2", 128);
	assert_string_equal(config_parse_addr("10.0.0.1", true, &a),
	    "needs a prefix length (e.g. /24)");
	assert_string_equal(config_parse_addr("fd00::1", true, &a),
	    "needs a prefix length (e.g. /64)");
	assert_string_equal(config_parse_addr("10.0.0.1/33", true, &a),
	    "prefix length out of range 0..32");
	assert_string_equal(config_parse_addr("fd00::1/129", true, &a),
	    "prefix length out of range 0..128");
	assert_string_equal(config_parse_addr("10.0.0.1/-1", true, &a), "has a bad prefix length");
	assert_string_equal(config_parse_addr("10.0.0.1/0024", true, &a),
	    "has a bad prefix length");
	assert_string_equal(config_parse_addr("10.0.0.1/8", false, &a),
	    "must not have a prefix length");
	assert_string_equal(config_parse_addr("host/8", true, &a),
	    "is not an IPv4 or IPv6 address");
}

static void
test_names(void **state)
{
	static const char *const peers_ok[] = { "a", "alice", "B-2_x.y",
		"abcdefghijklmnopqrstuvwxyzabcde" };
	static const char *const peers_bad[] = { "", "1abc", "-a", ".a", "a*", "a b", "a/b",
		"abcdefghijklmnopqrstuvwxyzabcdef" };
	static const char *const ifs_ok[] = { "vt-alice", "a", "tun0.1-x_y@z",
		"abcdefghijklmno" };
	static const char *const ifs_bad[] = { "", ".", "..", "a/b", "a:b", "tun%d", "a b",
		"a\tb", "a\x7f", "abcdefghijklmnop" };
	static const char *const accounts_ok[] = { "", "vtund", "_vt", "a.b-c_d", "machine$",
		"abcdefghijklmnopqrstuvwxyzabcdef" };
	static const char *const accounts_bad[] = { "-vt", "a$b", "a*", "a b", "a:b",
		"abcdefghijklmnopqrstuvwxyzabcdefg" };

	(void)state;
	for (size_t i = 0; i < sizeof(peers_ok) / sizeof(peers_ok[0]); i++)
		assert_true(names_valid_peer(peers_ok[i], strlen(peers_ok[i])));
	for (size_t i = 0; i < sizeof(peers_bad) / sizeof(peers_bad[0]); i++)
		assert_false(names_valid_peer(peers_bad[i], strlen(peers_bad[i])));
	for (size_t i = 0; i < sizeof(ifs_ok) / sizeof(ifs_ok[0]); i++)
		assert_true(config_valid_ifname(ifs_ok[i]));
	for (size_t i = 0; i < sizeof(ifs_bad) / sizeof(ifs_bad[0]); i++)
		assert_false(config_valid_ifname(ifs_bad[i]));
	for (size_t i = 0; i < sizeof(accounts_ok) / sizeof(accounts_ok[0]); i++)
		assert_true(config_valid_account(accounts_ok[i]));
	for (size_t i = 0; i < sizeof(accounts_bad) / sizeof(accounts_bad[0]); i++)
		assert_false(config_valid_account(accounts_bad[i]));
}

static void
test_subst_and_keys(void **state)
{
	static const char *const good[] = { "", "plain", "%d%p%r%a%P%m%%", "%%d", "a%%" };
	const char *arg;
	uint8_t k[32], want[32], zero[32] = { 0 };

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_null(config_bad_subst(good[i]));
	arg = "x%d-%q";
	assert_ptr_equal(config_bad_subst(arg), arg + 4);
	arg = "%%%";
	assert_ptr_equal(config_bad_subst(arg), arg + 2);
	arg = "%";
	assert_ptr_equal(config_bad_subst(arg), arg);

	assert_int_equal(config_parse_key(k, K1), 0);
	key_of(want, K1);
	assert_memory_equal(k, want, 32);
	assert_false(config_is_example_key(zero));
	assert_true(config_is_example_key(k)); /* K1 is the key of etc/server.conf */
	key_of(want, OWN_PUB);
	assert_false(config_is_example_key(want));
	/* one character short: refused, and nothing of it left behind */
	memset(k, 0xaa, sizeof(k));
	assert_int_equal(config_parse_key(k, "PFazca8sc6ownTAq8Tq7a2BGQN327vcaFS/eiNdTnzw"), -1);
	assert_memory_equal(k, zero, 32);
}

static void
test_scan(void **state)
{
	const char *text = "a = 1;\n"
			   "b = 99999999999; # 99999999999\n"
			   "s = \"@include \\\" 99999999999\";\n"
			   "/* 0x100000000\n   @include */ @include \"x\"\n"
			   "c = 0x100000000; d = 0x0000000080000000L; e = 1.5e99999999999;\n"
			   "f = 9223372036854775808L; g = x99999999999;\n";
	struct config_scan_finding f;
	struct config_scan sc;

	(void)state;
	config_scan_init(&sc, text);
	assert_true(config_scan_next(&sc, &f));
	assert_int_equal(f.what, CONFIG_SCAN_TOO_LARGE);
	assert_int_equal(f.line, 2);
	assert_int_equal(f.len, 11);
	assert_memory_equal(f.text, "99999999999", 11);
	assert_true(config_scan_next(&sc, &f));
	assert_int_equal(f.what, CONFIG_SCAN_INCLUDE);
	assert_int_equal(f.line, 5);
	assert_memory_equal(f.text, "@include", 8);
	assert_true(config_scan_next(&sc, &f));
	assert_int_equal(f.what, CONFIG_SCAN_TOO_LARGE);
	assert_int_equal(f.line, 6);
	assert_int_equal(f.len, 11);
	assert_memory_equal(f.text, "0x100000000", 11);
	assert_true(config_scan_next(&sc, &f));
	assert_int_equal(f.what, CONFIG_SCAN_TOO_LARGE);
	assert_int_equal(f.line, 7);
	assert_int_equal(f.len, 19);
	assert_memory_equal(f.text, "9223372036854775808", 19);
	assert_false(config_scan_next(&sc, &f));
	assert_false(config_scan_next(&sc, &f)); /* stays at the end */
	config_scan_init(&sc, "");
	assert_false(config_scan_next(&sc, &f));
}

static void
test_free_wipes(void **state)
{
	struct vt_config cfg;
	static const uint8_t zero[32];

	(void)state;
	load_string_ok(WITH("user = \"\";", "preshared-key = \"" PSK "\";"), &cfg);
	assert_string_equal(cfg.user, ""); /* stay root */
	config_free(&cfg);
	assert_null(cfg.peers);
	assert_int_equal(cfg.npeers, 0);
	assert_null(cfg.path);
	assert_memory_equal(cfg.private_key, zero, 32);
	config_free(&cfg); /* twice is harmless */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_full),
		cmocka_unit_test(test_good_minimal),
		cmocka_unit_test(test_good_syntax_variants),
		cmocka_unit_test(test_good_all),
		cmocka_unit_test(test_examples_match),
		cmocka_unit_test(test_bad_all),
		cmocka_unit_test(test_three_errors),
		cmocka_unit_test(test_error_cap),
		cmocka_unit_test(test_errs_null),
		cmocka_unit_test(test_cannot_open),
		cmocka_unit_test(test_nul_byte),
		cmocka_unit_test(test_key_files),
		cmocka_unit_test(test_inline_secrets_exposed),
		cmocka_unit_test(test_config_keys),
		cmocka_unit_test(test_hostport),
		cmocka_unit_test(test_remotes),
		cmocka_unit_test(test_routes),
		cmocka_unit_test(test_hook_substitutions),
		cmocka_unit_test(test_prescan),
		cmocka_unit_test(test_free_wipes),
		cmocka_unit_test(test_parse_hostport),
		cmocka_unit_test(test_parse_addr),
		cmocka_unit_test(test_rates),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_subst_and_keys),
		cmocka_unit_test(test_scan),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
