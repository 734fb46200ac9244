/*
 * test_vtun_import.c - the VTun importer on the corners of VTun's grammar and on each mapping:
 * comments where a statement starts and '#' inside parameters, nested blocks, VTun's greedy
 * strings, keyword aliases and the old dialect's abbreviations, options anywhere, defaults
 * inherited, sessions twice or without a password, tty and pipe tunnels, every declarative
 * command form (ifconfig, ip with its abbreviations, route, brctl, ip link set master), hooks
 * with VTun's substitutions, names made valid, the errors that stop it; and the output of
 * every fixture loads as a vtund-ng configuration.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "crypto.h"
#include "vtun_import.h"

static char keyfile[] = "/tmp/vt-import-test-XXXXXX";
static char pubs[8][CRYPTO_B64_KEY_LEN + 1];
static const char *keys[8];

/* Convert text (as a server, with keys): 0, with r filled; the output must load. */
static int
convert(const char *text, struct vtun_import *r, const char *remote)
{
	struct vtun_import_opts o = { "t.conf", remote, keyfile, keys, 8 };
	struct config_errors e;
	struct vt_config cfg;
	int rc = vtun_import(text, strlen(text), &o, r);

	if (rc == 0 && r->sessions > 0 && remote == NULL) {
		if (config_load_string(r->out, "out.conf", &cfg, &e) != 0) {
			for (int i = 0; i < e.n; i++)
				print_message("%s\n", e.msg[i]);
			print_message("%s", r->out);
			fail();
		}
		config_free(&cfg);
	}
	return rc;
}

static bool
has(const char *s, const char *want)
{
	if (strstr(s, want) != NULL)
		return true;
	print_message("missing \"%s\" in:\n%s\n", want, s);
	return false;
}

/* Some warning contains want. */
static bool
warned(const struct vtun_import *r, const char *want)
{
	for (int i = 0; i < r->nwarnings; i++)
		if (strstr(r->warnings[i], want) != NULL)
			return true;
	print_message("no warning \"%s\"; warnings:\n", want);
	for (int i = 0; i < r->nwarnings; i++)
		print_message("  %s\n", r->warnings[i]);
	return false;
}

static void
test_grammar(void **state)
{
	static const char text[] =
	    "# a comment\n"
	    "options { port 5001;   # listen here\n"
	    "  bindaddr { addr 192.0.2.1; };\n"
	    "  ifconfig /usr/sbin/ifconfig; }\n"
	    "default { type tun; proto udp; keepalive 15:3; }\n"
	    "alpha {\n"
	    "  password s3#cret;     # '#' inside a parameter is part of it\n"
	    "  up { ifconfig \"%% 10.1.0.1 pointopoint 10.1.0.2 mtu 1300\"; };\n"
	    "};\n";
	struct vtun_import r;

	(void)state;
	assert_int_equal(convert(text, &r, NULL), 0);
	assert_int_equal(r.sessions, 1);
	assert_true(has(r.out, "listen = \"192.0.2.1:5001\";"));
	assert_true(has(r.out, "alpha = {"));
	assert_true(has(r.out, "proto = \"udp\";"));
	assert_true(has(r.out, "keepalive = 15;\n\t\ttimeout = 45;"));
	assert_true(has(r.out, "mtu = 1300;"));
	assert_true(has(r.out, "address = [ \"10.1.0.1/32\" ];"));
	assert_true(has(r.out, "peer-address = [ \"10.1.0.2\" ];"));
	assert_true(warned(&r, "t.conf:7: warning: the password does not carry over"));
	assert_string_equal(r.peers[0], "alpha");
	vtun_import_free(&r);
}

/* VTun's defaults: tcp, tty without a type (skipped); sessions without a password are
 * ignored, as vtund does; the second definition of a name is skipped. */
static void
test_defaults_and_skips(void **state)
{
	static const char text[] =
	    "a { passwd x; type tun; }\n"
	    "b { passwd x; }\n"
	    "c { type tun; }\n"
	    "a { passwd y; type ether; }\n"
	    "d { passwd x; type pipe; }\n";
	struct vtun_import r;

	(void)state;
	assert_int_equal(convert(text, &r, NULL), 0);
	assert_int_equal(r.sessions, 1);
	assert_int_equal(r.skipped, 4);
	assert_true(has(r.out, "proto = \"tcp\";    # VTun's default"));
	assert_true(warned(&r, "t.conf:2: warning: session b: a tty tunnel (VTun's default"));
	assert_true(warned(&r, "t.conf:3: warning: session c has no password"));
	assert_true(warned(&r, "t.conf:4: warning: session a is defined again (first at line 1)"));
	assert_true(warned(&r, "t.conf:5: warning: session d: a pipe tunnel"));
	vtun_import_free(&r);
}

/* The old dialect: abbreviations and commands outside up; aliases; options after sessions. */
static void
test_old_dialect(void **state)
{
	static const char text[] =
	    "s2 {\n"
	    "  pass XXXX; type tun; proto udp;\n"
	    "  ifconfig \"%% 192.168.0.1 pointopoint 192.168.0.2\";\n"
	    "  route \"add -net 192.168.1.0 gw 192.168.0.2\";\n"
	    "  comp lzo:1; delay_udp server;\n"
	    "}\n"
	    "options { port 6000; }\n";
	struct vtun_import r;

	(void)state;
	assert_int_equal(convert(text, &r, NULL), 0);
	assert_int_equal(r.sessions, 1);
	assert_true(has(r.out, "listen = \"[::]:6000\";"));
	assert_true(has(r.out, "routes = [ \"192.168.1.0/24\" ];"));
	assert_true(warned(&r, "t.conf:2: warning: 'pass' read as 'passwd'"));
	assert_true(warned(&r, "t.conf:5: warning: 'comp' read as 'compress'"));
	assert_true(warned(&r, "t.conf:4: warning: 'route' outside an up or down block"));
	assert_true(warned(&r, "t.conf:5: warning: compress lzo:1: LZO and zlib"));
	assert_true(warned(&r, "t.conf:5: warning: nat_hack server: not carried over"));
	vtun_import_free(&r);
}

/* ip with its abbreviations, -family, addr with and without peer, link master, route via
 * the peer and through a LAN router (a hook), ifconfig classful and with a netmask. */
static void
test_commands(void **state)
{
	static const char text[] =
	    "options { ifconfig /sbin/ip; }\n"
	    "t1 { passwd x; type tun; proto udp;\n"
	    "  up { ifconfig \"l set dev %% up mtu 1280\";\n"
	    "       ip \"-family inet addr add 10.3.0.1 peer 10.3.0.2 dev %%\";\n"
	    "       ip \"a add dev %% fd00:3::1/64\";\n"
	    "       ip \"route add 10.9.0.0/16 via 10.3.0.2\";\n"
	    "       ip \"ro add 10.8.0.0/16 dev %%\";\n"
	    "       ip \"route add 10.7.0.0/16 via 192.0.2.254\";\n"
	    "       program /usr/sbin/iptables \"-A FORWARD -i %% -j ACCEPT\";\n"
	    "       program \"logger up %% 100%\";\n"
	    "  };\n"
	    "  down { ip \"link set %% down\";\n ip \"addr flush dev %%\"; };\n"
	    "}\n"
	    "t2 { passwd x; type ether;\n"
	    "  up { ip \"link set %% master br0\";\n ifconfig \"%% up\"; };\n"
	    "}\n"
	    "t3 { passwd x; type ether; device \"tap%d\";\n"
	    "  up { program /sbin/brctl \"addif br-lan %%\";\n program /bin/echo \"%A %P\"; };\n"
	    "  down { program /sbin/brctl \"delif br-lan %%\"; };\n"
	    "}\n"
	    "options { ifconfig /sbin/ifconfig; }\n"
	    "t4 { passwd x; type tun; up { ifconfig \"%% 10.4.0.1 netmask 255.255.0.0\";\n"
	    "  ifconfig \"%% 172.20.0.1\"; }; }\n";
	struct vtun_import r;

	(void)state;
	assert_int_equal(convert(text, &r, NULL), 0);
	assert_int_equal(r.sessions, 4);
	/* the last options block wins, as in VTun: t1's "ifconfig" is ifconfig again */
	assert_true(has(r.out, "mtu = 1280;"));
	assert_true(has(r.out, "address = [ \"10.3.0.1/32\", \"fd00:3::1/64\" ];"));
	assert_true(has(r.out, "peer-address = [ \"10.3.0.2\" ];"));
	assert_true(has(r.out, "routes = [ \"10.9.0.0/16\", \"10.8.0.0/16\" ];"));
	assert_true(has(r.out, "[ \"/sbin/ip\", \"route\", \"add\", \"10.7.0.0/16\", \"via\", "
	    "\"192.0.2.254\" ]"));
	assert_true(has(r.out, "[ \"/usr/sbin/iptables\", \"-A\", \"FORWARD\", \"-i\", \"%d\", "
	    "\"-j\", \"ACCEPT\" ]"));
	assert_true(has(r.out, "[ \"/bin/sh\", \"-c\", \"logger up %d 100%%\" ]"));
	assert_true(has(r.out, "bridge = \"br0\";"));
	assert_true(has(r.out, "bridge = \"br-lan\";"));
	assert_true(warned(&r, "device tap%d is not an interface name vtund-ng takes"));
	assert_true(warned(&r, "VTun's %A (underlay address or port) has no equivalent"));
	assert_true(has(r.out, "address = [ \"10.4.0.1/16\", \"172.20.0.1/16\" ];"));
	vtun_import_free(&r);
}

/* VTun's strings run to the last '"' of their line: two commands on one line are one
 * string, as vtund reads them; a warning says so. */
static void
test_greedy_string(void **state)
{
	static const char text[] =
	    "g { passwd x; type tun;\n"
	    "  up { ip \"link set %% up\"; ip \"addr add 10.5.0.1/24 dev %%\"; };\n"
	    "}\n";
	struct vtun_import r;

	(void)state;
	assert_int_equal(convert(text, &r, NULL), 0);
	assert_true(has(r.out, "\"up; ip addr\""));
	assert_null(strstr(r.out, "address ="));
	assert_true(warned(&r, "t.conf:2: warning: a string with '\"' inside"));
	vtun_import_free(&r);
}

/* A command too long for the split buffer is left out with a warning (never read past it);
 * a quoted program whose first word is a path is still understood; an IPv6 default route. */
static void
test_long_and_quoted(void **state)
{
	static char text[8192];
	char big[3001];
	struct vtun_import r;

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	snprintf(text, sizeof(text),
	    "l { passwd x; type ether;\n"
	    "  up { program \"/sbin/brctl addif br9 %%%%\";\n"
	    "       program \"/usr/bin/logger up\";\n"
	    "       program /bin/echo \"%s\"; };\n"
	    "}\n"
	    "v6 { passwd x; type tun; up { ip \"-6 addr add fd00:6::1/64 dev %%%%\";\n"
	    "     ip \"-6 route add default dev %%%%\"; }; }\n", big);
	assert_int_equal(convert(text, &r, NULL), 0);
	assert_int_equal(r.sessions, 2);
	assert_true(has(r.out, "bridge = \"br9\";"));
	assert_true(has(r.out, "[ \"/bin/sh\", \"-c\", \"/usr/bin/logger up\" ]"));
	assert_null(strstr(r.out, "xxxx"));
	assert_true(warned(&r, "t.conf:4: warning: 'program': a command longer than 2047 bytes"));
	assert_true(has(r.out, "routes = [ \"::/0\" ];"));
	vtun_import_free(&r);
}

/* Names: a leading digit, a dot, too long, and a clash between the results. */
static void
test_names(void **state)
{
	static const char text[] =
	    "729051000001 { passwd x; type tun; }\n"
	    "s729051000001 { passwd x; type tun; }\n"
	    "a.b { passwd x; type tun; }\n"
	    "abcdefghijklmnopqrstuvwxyz0123456789 { passwd x; type tun; }\n";
	struct vtun_import r;

	(void)state;
	assert_int_equal(convert(text, &r, NULL), 0);
	assert_int_equal(r.sessions, 4);
	assert_string_equal(r.peers[0], "s729051000001");
	assert_string_equal(r.peers[1], "s729051000001-2");
	assert_string_equal(r.peers[2], "a-b");
	assert_int_equal(strlen(r.peers[3]), CONFIG_NAME_MAX);
	assert_true(warned(&r, "session a.b is peer a-b"));
	vtun_import_free(&r);
}

/* A client's configuration: remote with the port, no listen, placeholders for keys. */
static void
test_client(void **state)
{
	static const char text[] = "options { port 7000; }\nx { passwd p; type tun; }\n";
	struct vtun_import_opts o = { "t.conf", "vpn.example.net", NULL, NULL, 0 };
	struct vtun_import r;

	(void)state;
	assert_int_equal(vtun_import(text, strlen(text), &o, &r), 0);
	assert_true(has(r.out, "remote = \"vpn.example.net:7000\";"));
	assert_true(has(r.out, "public-key = \"FILL-IN"));
	assert_true(has(r.out, "private-key-file = \"/etc/vtund-ng/private.key\";"));
	assert_null(strstr(r.out, "listen"));
	vtun_import_free(&r);
	o.remote = "[2001:db8::1]:5555";
	assert_int_equal(vtun_import(text, strlen(text), &o, &r), 0);
	assert_true(has(r.out, "remote = \"[2001:db8::1]:5555\";"));
	vtun_import_free(&r);
}

/* What stops it: each names its line, and nothing is written. */
static void
test_errors(void **state)
{
	static const struct {
		const char *text, *want;
	} t[] = {
		{ "a { passwd x;\n", "t.conf:2: the file ends inside a block" },
		{ "a { passwd x; }\n}\n", "t.conf:2: '}' without its '{'" },
		{ "a {\n up { ip \"link set %% up; };\n}\n", "t.conf:2: a string without" },
		{ "a { passwd x }\n", "t.conf:1: 'passwd' is not ended by ';'" },
		{ "{ }\n", "t.conf:1: a statement must start with a keyword" },
		{ "a\0b { }\n", "a NUL byte" },
		{ "a{b{c{d{e{f{g{h{i{}}}}}}}}}\n", "nested too deep" },
	};
	struct vtun_import_opts o = { "t.conf", NULL, NULL, NULL, 0 };
	struct vtun_import r;

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		size_t len = strlen(t[i].text);

		if (i == 5)
			len = 8;
		assert_int_equal(vtun_import(t[i].text, len, &o, &r), -1);
		if (strstr(r.error, t[i].want) == NULL)
			fail_msg("case %zu: \"%s\", want \"%s\"", i, r.error, t[i].want);
		assert_null(r.out);
		assert_int_equal(vtun_import_count(t[i].text, len), -1);
	}
	assert_int_equal(vtun_import_count("a { } b { } options { } default { }", 35), 2);
}

/* Unknown things are warnings, not errors: keys, blocks, options. */
static void
test_unknown(void **state)
{
	static const char text[] =
	    "options { syslog daemon; frobnicate 1; type inetd; }\n"
	    "k { passwd x; type tun; proto kcpoudp; }\n"
	    "m { passwd x; type tun; kcp { kcp_tick 500; } wibble 3; srcaddr { addr 10.0.0.1; };\n"
	    "  speed 512:128; up { ppp \"noipdefault\"; }; }\n";
	struct vtun_import r;

	(void)state;
	assert_int_equal(convert(text, &r, NULL), 0);
	assert_int_equal(r.sessions, 1);
	assert_true(warned(&r, "t.conf:1: warning: options: 'frobnicate' has no equivalent"));
	assert_true(warned(&r, "t.conf:1: warning: type inetd"));
	assert_true(warned(&r, "t.conf:2: warning: session k: proto kcpoudp is not VTun's"));
	assert_true(warned(&r, "t.conf:3: warning: block 'kcp' is not VTun 3.x's"));
	assert_true(warned(&r, "t.conf:3: warning: 'wibble' has no equivalent"));
	assert_true(warned(&r, "t.conf:3: warning: srcaddr"));
	assert_false(warned(&r, "t.conf:4: warning: speed")); /* it carries over */
	assert_true(has(r.out, "rate-out = \"524288bit\";")); /* VTun's K: 1024 */
	assert_true(has(r.out, "rate-in = \"131072bit\";"));
	assert_true(warned(&r, "t.conf:4: warning: ppp"));
	vtun_import_free(&r);
}

/* speed: N is both ways, IN:OUT is to and from the client, 0 is none; a client ignores it. */
static void
test_speed(void **state)
{
	struct vtun_import r;

	(void)state;
	assert_int_equal(convert("a { passwd x; type tun; speed 64; }\n"
	    "b { passwd x; type tun; speed 0:256; }\n"
	    "c { passwd x; type tun; speed 0; }\n"
	    "d { passwd x; type tun; speed fast; }\n"
	    "e { passwd x; type tun; speed 4:4; }\n", &r, NULL), 0);
	assert_int_equal(r.sessions, 5);
	assert_true(has(r.out, "\ta = {"));
	assert_true(has(strstr(r.out, "\ta = {"), "rate-out = \"65536bit\";\n\t\trate-in = "
	    "\"65536bit\";"));
	assert_true(has(strstr(r.out, "\tb = {"), "rate-in = \"262144bit\";"));
	assert_false(has(strstr(r.out, "\tb = {"), "rate-out"));
	assert_false(has(strstr(r.out, "\tc = {"), "rate-"));
	assert_true(warned(&r, "t.conf:4: warning: speed fast: not a speed in kbit/s"));
	assert_true(warned(&r, "t.conf:5: warning: speed 4:4: below 8 kbit/s"));
	vtun_import_free(&r);
	assert_int_equal(convert("a { passwd x; type tun; speed 64; }\n", &r, "gw.example"), 0);
	assert_false(has(r.out, "rate-out = "));
	assert_true(has(r.out, "a VTun client ignores it"));
	vtun_import_free(&r);
}

static int
setup(void **state)
{
	uint8_t priv[32], pub[32];
	char b64[CRYPTO_B64_KEY_LEN + 2];
	int fd;

	(void)state;
	if (crypto_init() == -1 || (fd = mkstemp(keyfile)) == -1)
		return -1;
	crypto_x25519_keygen(priv, pub);
	crypto_key_to_base64(b64, priv);
	strcat(b64, "\n");
	if (write(fd, b64, strlen(b64)) != (ssize_t)strlen(b64))
		return -1;
	close(fd);
	for (int i = 0; i < 8; i++) {
		crypto_x25519_keygen(priv, pub);
		crypto_key_to_base64(pubs[i], pub);
		keys[i] = pubs[i];
	}
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	unlink(keyfile);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grammar),
		cmocka_unit_test(test_defaults_and_skips),
		cmocka_unit_test(test_old_dialect),
		cmocka_unit_test(test_commands),
		cmocka_unit_test(test_greedy_string),
		cmocka_unit_test(test_long_and_quoted),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_client),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_unknown),
		cmocka_unit_test(test_speed),
	};

	return cmocka_run_group_tests_name("vtun_import", tests, setup, teardown);
}
