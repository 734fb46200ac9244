/*
 * test_prefix.c - prefixes and the inner-source filter: host bits and networks at every
 * boundary, containment across families, text, and which decrypted frames a peer's filter
 * lets through (its peer-address, routes and allowed-ips; tap peers and peers with none of
 * them unfiltered; anything shorter than an IP header refused).
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "prefix.h"

static struct vt_addr
P(const char *s, int len)
{
	struct vt_addr a;

	memset(&a, 0, sizeof(a));
	a.family = strchr(s, ':') != NULL ? AF_INET6 : AF_INET;
	a.prefix = (uint8_t)len;
	assert_int_equal(inet_pton(a.family, s, a.addr), 1);
	return a;
}

static void
test_host_bits(void **state)
{
	static const struct {
		const char *a;
		int len;
		bool host;
		const char *net;
	} t[] = {
		{ "10.1.0.1", 16, true, "10.1.0.0/16" },
		{ "10.1.0.0", 16, false, "10.1.0.0/16" },
		{ "0.0.0.0", 0, false, "0.0.0.0/0" },
		{ "255.255.255.255", 0, true, "0.0.0.0/0" },
		{ "1.2.3.4", 32, false, "1.2.3.4/32" },
		{ "10.1.0.128", 25, false, "10.1.0.128/25" },
		{ "10.1.0.129", 25, true, "10.1.0.128/25" },
		{ "10.1.2.3", 12, true, "10.0.0.0/12" },
		{ "10.31.0.0", 12, true, "10.16.0.0/12" },
		{ "fd00::1", 64, true, "fd00::/64" },
		{ "fd00::", 64, false, "fd00::/64" },
		{ "::", 0, false, "::/0" },
		{ "fd00:abcd::1", 20, true, "fd00:a000::/20" },
		{ "2001:db8::1", 128, false, "2001:db8::1/128" },
		{ "2001:db8:0:0:8000::", 65, false, "2001:db8:0:0:8000::/65" },
		{ "2001:db8:0:0:c000::", 65, true, "2001:db8:0:0:8000::/65" },
	};
	char s[PREFIX_STRLEN];

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct vt_addr a = P(t[i].a, t[i].len), n = prefix_network(&a);

		assert_int_equal(prefix_host_bits(&a), t[i].host);
		assert_string_equal(prefix_str(&n, s, sizeof(s)), t[i].net);
		assert_false(prefix_host_bits(&n));
		assert_true(prefix_equal(&a, &n)); /* equal: the network bits agree */
	}
}

static void
test_contains_and_equal(void **state)
{
	struct vt_addr r = P("10.1.0.0", 16), all4 = P("0.0.0.0", 0), r6 = P("fd07:1::", 48),
	    one = P("10.9.0.2", 32), x;
	uint8_t a[16];

	(void)state;
	inet_pton(AF_INET, "10.1.255.255", a);
	assert_true(prefix_contains(&r, AF_INET, a));
	assert_true(prefix_contains(&all4, AF_INET, a));
	assert_false(prefix_contains(&r6, AF_INET, a));
	inet_pton(AF_INET, "10.2.0.0", a);
	assert_false(prefix_contains(&r, AF_INET, a));
	assert_true(prefix_contains(&all4, AF_INET, a));
	inet_pton(AF_INET, "10.9.0.2", a);
	assert_true(prefix_contains(&one, AF_INET, a));
	a[3] = 3;
	assert_false(prefix_contains(&one, AF_INET, a));
	inet_pton(AF_INET6, "fd07:1:0:ffff::9", a);
	assert_true(prefix_contains(&r6, AF_INET6, a));
	assert_false(prefix_contains(&all4, AF_INET6, a));
	assert_false(prefix_contains(&r, AF_INET6, a));
	inet_pton(AF_INET6, "fd07:2::", a);
	assert_false(prefix_contains(&r6, AF_INET6, a));
	assert_false(prefix_contains(&r6, AF_UNIX, a));
	/* equal: same family and length and network */
	assert_true(prefix_equal(&r, &r));
	x = P("10.1.0.0", 17);
	assert_false(prefix_equal(&r, &x));
	x = P("10.1.0.0", 16);
	x.family = AF_INET6;
	assert_false(prefix_equal(&r, &x));
	x = P("10.3.0.0", 16);
	assert_false(prefix_equal(&r, &x));
}

/* A tun peer with peer-address 10.9.0.2 and fd09::2, a route and an allowed prefix. */
static void
peer_of(struct vt_peer *p)
{
	memset(p, 0, sizeof(*p));
	p->type = VT_TUN;
	p->peer_addrs[0] = P("10.9.0.2", 32);
	p->peer_addrs[1] = P("fd09::2", 128);
	p->npeer_addrs = 2;
	p->routes[0] = P("10.2.0.0", 24);
	p->nroutes = 1;
	p->allowed_ips[0] = P("fd12::", 16);
	p->nallowed_ips = 1;
}

/* An IPv4 (or, with a ':' in src, IPv6) packet header of len bytes from src. */
static size_t
packet(uint8_t *b, const char *src, size_t len)
{
	memset(b, 0, len);
	if (strchr(src, ':') != NULL) {
		b[0] = 0x60;
		inet_pton(AF_INET6, src, b + 8);
	} else {
		b[0] = 0x45;
		inet_pton(AF_INET, src, b + 12);
	}
	return len;
}

static void
test_filter(void **state)
{
	static const struct {
		const char *src;
		bool ok;
	} t[] = {
		{ "10.9.0.2", true }, { "10.9.0.3", false }, { "10.2.0.77", true },
		{ "10.2.1.0", false }, { "fd09::2", true }, { "fd09::3", false },
		{ "fd12:3456::1", true }, { "fd13::1", false }, { "0.0.0.0", false },
		{ "::", false }, { "fe80::1", true }, { "febf:ffff::1", true },
		{ "fec0::1", false }, { "169.254.1.1", false },
	};
	struct prefix_set set = { NULL, 0, true };
	struct vt_peer p;
	uint8_t b[64];

	(void)state;
	peer_of(&p);
	assert_int_equal(prefix_set_build(&set, &p), 0);
	assert_false(set.any);
	assert_int_equal(set.n, 4);
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		size_t len = packet(b, t[i].src, strchr(t[i].src, ':') ? 40 : 20);

		assert_int_equal(prefix_set_allows(&set, b, len), t[i].ok);
	}
	/* Too short for the header, or not IPv4 or IPv6: refused. */
	packet(b, "10.9.0.2", 20);
	assert_false(prefix_set_allows(&set, b, 19));
	assert_false(prefix_set_allows(&set, b, 0));
	b[0] = 0x55;
	assert_false(prefix_set_allows(&set, b, 20));
	packet(b, "fd09::2", 40);
	assert_false(prefix_set_allows(&set, b, 39));
	/* A tun peer without any of the three, and a tap peer: no filter. */
	memset(&p, 0, sizeof(p));
	p.type = VT_TUN;
	prefix_set_build(&set, &p);
	assert_true(set.any);
	assert_true(prefix_set_allows(&set, b, 1));
	peer_of(&p);
	p.type = VT_TAP;
	prefix_set_build(&set, &p);
	assert_true(set.any);
	/* allowed-ips alone turns the filter on; 0.0.0.0/0 lets every IPv4 source in. */
	memset(&p, 0, sizeof(p));
	p.type = VT_TUN;
	p.allowed_ips[0] = P("0.0.0.0", 0);
	p.nallowed_ips = 1;
	prefix_set_build(&set, &p);
	assert_false(set.any);
	packet(b, "192.0.2.1", 20);
	assert_true(prefix_set_allows(&set, b, 20));
	packet(b, "2001:db8::1", 40);
	assert_false(prefix_set_allows(&set, b, 40));
	prefix_set_free(&set);
	assert_true(set.any);
	assert_null(set.p);
}

/* Full lists fit: CONFIG_MAX_ADDRS peer addresses and CONFIG_MAX_ROUTES of each list. */
static void
test_full_lists(void **state)
{
	struct prefix_set set = { NULL, 0, true };
	struct vt_peer p;
	uint8_t b[20];

	(void)state;
	memset(&p, 0, sizeof(p));
	p.type = VT_TUN;
	for (int i = 0; i < CONFIG_MAX_ADDRS; i++)
		p.peer_addrs[p.npeer_addrs++] = P("10.9.0.2", 32);
	for (int i = 0; i < CONFIG_MAX_ROUTES; i++) {
		p.routes[p.nroutes] = P("10.2.0.0", 24);
		p.routes[p.nroutes++].addr[2] = (uint8_t)i;
		p.allowed_ips[p.nallowed_ips] = P("10.3.0.0", 24);
		p.allowed_ips[p.nallowed_ips++].addr[2] = (uint8_t)i;
	}
	prefix_set_build(&set, &p);
	assert_int_equal(set.n, CONFIG_MAX_ADDRS + 2 * CONFIG_MAX_ROUTES);
	packet(b, "10.3.63.1", 20);
	assert_true(prefix_set_allows(&set, b, 20));
	packet(b, "10.3.64.1", 20);
	assert_false(prefix_set_allows(&set, b, 20));
	prefix_set_free(&set);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_host_bits),
		cmocka_unit_test(test_contains_and_equal),
		cmocka_unit_test(test_filter),
		cmocka_unit_test(test_full_lists),
	};

	return cmocka_run_group_tests_name("prefix", tests, NULL, NULL);
}
