/* test_cookie.c - mac1/mac2, cookie replies, secret rotation, cookie expiry, rate limiter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cmocka.h>

#include "cookie.h"
#include "crypto.h"
#include "wire.h"

#define T0 UINT64_C(1000000) /* an arbitrary monotonic start, in ms */

static const uint8_t zero16[16];

/* Two distinct public keys: B (the responder) and C (someone else). */
static uint8_t pub_b[32], pub_c[32];

static int
setup(void **state)
{
	(void)state;
	memset(pub_b, 0xb0, sizeof(pub_b));
	pub_b[31] = 1;
	memset(pub_c, 0xc0, sizeof(pub_c));
	return 0;
}

static struct sockaddr_in
v4(const char *ip, uint16_t port)
{
	struct sockaddr_in sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	assert_int_equal(inet_pton(AF_INET, ip, &sin.sin_addr), 1);
	return sin;
}

static struct sockaddr_in6
v6(const char *ip, uint16_t port)
{
	struct sockaddr_in6 sin6;

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(port);
	assert_int_equal(inet_pton(AF_INET6, ip, &sin6.sin6_addr), 1);
	return sin6;
}

#define SA(x) ((const struct sockaddr *)&(x))

/* A handshake initiation with a recognisable body (macs are filled by the maker). */
static void
make_msg(uint8_t *m, size_t len, uint8_t seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		m[i] = (uint8_t)(seed + 7 * i);
	wire_put_header(m, WIRE_HS_INIT, WIRE_SUITE_AESGCM);
}

static void
test_mac1_ok(void **state)
{
	struct cookie_maker m;
	struct cookie_checker c;
	struct sockaddr_in src = v4("192.0.2.1", 40000);
	uint8_t msg[WIRE_INIT_LEN], before[WIRE_INIT_LEN];

	(void)state;
	cookie_maker_init(&m, pub_b);
	cookie_checker_init(&c, pub_b);
	assert_false(c.has_secret); /* drawn lazily */
	assert_false(m.has_cookie);
	assert_false(m.has_last_mac1);

	make_msg(msg, sizeof(msg), 1);
	memcpy(before, msg, sizeof(msg));
	cookie_add_macs(&m, msg, sizeof(msg), T0);
	/* Only the last 32 bytes change; mac2 is zero without a cookie. */
	assert_memory_equal(msg, before, sizeof(msg) - 32);
	assert_memory_not_equal(msg + sizeof(msg) - 32, zero16, 16);
	assert_memory_equal(msg + sizeof(msg) - 16, zero16, 16);
	assert_true(m.has_last_mac1);
	assert_memory_equal(m.last_mac1, msg + sizeof(msg) - 32, 16);

	assert_int_equal(cookie_validate(&c, msg, sizeof(msg), SA(src), sizeof(src), T0),
	    COOKIE_MAC1_OK);

	/* The construction of cookie.h, recomputed here: HMAC(SHA256("mac1----" || pub)). */
	{
		uint8_t key[32], mac[32];

		crypto_sha256(key, (const uint8_t *)"mac1----", 8, pub_b, 32);
		crypto_hmac(mac, key, 32, msg, sizeof(msg) - 32);
		assert_memory_equal(mac, msg + sizeof(msg) - 32, 16);
		crypto_sha256(key, (const uint8_t *)"cookie--", 8, pub_b, 32);
		assert_memory_equal(key, c.reply_key, 32);
		assert_memory_equal(key, m.reply_key, 32);
	}

	/* The same works for a response-sized message. */
	{
		uint8_t resp[WIRE_RESP_LEN];

		make_msg(resp, sizeof(resp), 9);
		cookie_add_macs(&m, resp, sizeof(resp), T0);
		assert_int_equal(cookie_validate(&c, resp, sizeof(resp), SA(src), sizeof(src), T0),
		    COOKIE_MAC1_OK);
	}
}

static void
test_mac1_bitflip(void **state)
{
	struct cookie_maker m;
	struct cookie_checker c;
	struct sockaddr_in src = v4("192.0.2.1", 40000);
	uint8_t msg[WIRE_INIT_LEN];
	size_t i;

	(void)state;
	cookie_maker_init(&m, pub_b);
	cookie_checker_init(&c, pub_b);
	make_msg(msg, sizeof(msg), 2);
	cookie_add_macs(&m, msg, sizeof(msg), T0);

	/* Every covered byte and mac1 itself. */
	for (i = 0; i < sizeof(msg) - 16; i++) {
		msg[i] ^= (uint8_t)(1u << (i % 8));
		assert_int_equal(
		    cookie_validate(&c, msg, sizeof(msg), SA(src), sizeof(src), T0),
		    COOKIE_BAD_MAC1);
		assert_false(cookie_mac1_ok(&c, msg, sizeof(msg)));
		msg[i] ^= (uint8_t)(1u << (i % 8));
	}
	/* mac2 is not covered by mac1. */
	msg[sizeof(msg) - 1] ^= 1;
	assert_int_equal(cookie_validate(&c, msg, sizeof(msg), SA(src), sizeof(src), T0),
	    COOKIE_MAC1_OK);
	assert_true(cookie_mac1_ok(&c, msg, sizeof(msg)));
	msg[sizeof(msg) - 1] ^= 1;

	/* Truncated, too short to hold macs, or extended: all bad. */
	assert_int_equal(cookie_validate(&c, msg, sizeof(msg) - 1, SA(src), sizeof(src), T0),
	    COOKIE_BAD_MAC1);
	assert_int_equal(cookie_validate(&c, msg, 31, SA(src), sizeof(src), T0), COOKIE_BAD_MAC1);
	assert_int_equal(cookie_validate(&c, msg, 0, SA(src), sizeof(src), T0), COOKIE_BAD_MAC1);
	assert_false(cookie_mac1_ok(&c, msg, sizeof(msg) - 1));
	assert_false(cookie_mac1_ok(&c, msg, 31));
	assert_false(cookie_mac1_ok(&c, msg, 0));
	assert_int_equal(cookie_validate(&c, msg, sizeof(msg), SA(src), sizeof(src), T0),
	    COOKIE_MAC1_OK);
	assert_true(cookie_mac1_ok(&c, msg, sizeof(msg)));
	/* It never draws the secret: a valid mac1 costs one MAC there, nothing more. */
	cookie_checker_init(&c, pub_b);
	assert_true(cookie_mac1_ok(&c, msg, sizeof(msg)));
	assert_false(c.has_secret);
}

static void
test_mac1_other_key(void **state)
{
	struct cookie_maker m;
	struct cookie_checker c;
	struct sockaddr_in src = v4("192.0.2.1", 40000);
	uint8_t msg[WIRE_INIT_LEN];

	(void)state;
	cookie_maker_init(&m, pub_b);
	cookie_checker_init(&c, pub_c);
	make_msg(msg, sizeof(msg), 3);
	cookie_add_macs(&m, msg, sizeof(msg), T0);
	assert_int_equal(cookie_validate(&c, msg, sizeof(msg), SA(src), sizeof(src), T0),
	    COOKIE_BAD_MAC1);

	/* All zero macs (a sender that knows nothing) are bad too. */
	cookie_checker_init(&c, pub_b);
	memset(msg + sizeof(msg) - 32, 0, 32);
	assert_int_equal(cookie_validate(&c, msg, sizeof(msg), SA(src), sizeof(src), T0),
	    COOKIE_BAD_MAC1);
}

/* Get a cookie for maker m from checker c, as seen from src; returns the reply in reply. */
static void
get_cookie(struct cookie_maker *m, struct cookie_checker *c, const struct sockaddr *src,
    socklen_t srclen, uint64_t now, uint8_t reply[WIRE_COOKIE_LEN])
{
	uint8_t msg[WIRE_INIT_LEN];

	make_msg(msg, sizeof(msg), 4);
	cookie_add_macs(m, msg, sizeof(msg), now);
	assert_int_not_equal(cookie_validate(c, msg, sizeof(msg), src, srclen, now),
	    COOKIE_BAD_MAC1);
	cookie_make_reply(c, msg, sizeof(msg), 0x11223344, src, srclen, now, reply);
	assert_int_equal(cookie_consume_reply(m, reply, WIRE_COOKIE_LEN, now), 0);
	assert_true(m->has_cookie);
}

static void
test_cookie_roundtrip(void **state)
{
	struct cookie_maker m;
	struct cookie_checker c;
	struct sockaddr_in src = v4("192.0.2.1", 40000), other = v4("192.0.2.2", 40000),
	    other_port = v4("192.0.2.1", 40001);
	uint8_t reply[WIRE_COOKIE_LEN], msg[WIRE_INIT_LEN];

	(void)state;
	cookie_maker_init(&m, pub_b);
	cookie_checker_init(&c, pub_b);
	get_cookie(&m, &c, SA(src), sizeof(src), T0, reply);

	/* The reply layout of wire.h. */
	assert_int_equal(wire_classify(reply, sizeof(reply)), WIRE_COOKIE);
	assert_int_equal(reply[0], WIRE_COOKIE);
	assert_int_equal(reply[1], WIRE_VERSION);
	assert_int_equal(reply[2], 0);
	assert_int_equal(reply[3], 0);
	assert_int_equal(reply[4], 0x11);
	assert_int_equal(reply[5], 0x22);
	assert_int_equal(reply[6], 0x33);
	assert_int_equal(reply[7], 0x44);
	assert_int_equal(wire_get32(reply + 4), 0x11223344u);

	/* The next message carries mac2 and proves the address. */
	make_msg(msg, sizeof(msg), 5);
	cookie_add_macs(&m, msg, sizeof(msg), T0 + 10);
	assert_memory_not_equal(msg + sizeof(msg) - 16, zero16, 16);
	assert_int_equal(cookie_validate(&c, msg, sizeof(msg), SA(src), sizeof(src), T0 + 10),
	    COOKIE_MAC2_OK);
	assert_int_equal(
	    cookie_validate(&c, msg, sizeof(msg), SA(other), sizeof(other), T0 + 10),
	    COOKIE_MAC1_OK);
	assert_int_equal(cookie_validate(&c, msg, sizeof(msg), SA(other_port),
	                     sizeof(other_port), T0 + 10),
	    COOKIE_MAC1_OK);
	/* A short sockaddr or one of another family cannot prove anything. */
	assert_int_equal(cookie_validate(&c, msg, sizeof(msg), SA(src), 4, T0 + 10),
	    COOKIE_MAC1_OK);
	{
		struct sockaddr_un sun;

		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		assert_int_equal(
		    cookie_validate(&c, msg, sizeof(msg), SA(sun), sizeof(sun), T0 + 10),
		    COOKIE_MAC1_OK);
	}
	/* mac2 covers mac1 too: a flipped mac2 bit loses it, mac1 still fine. */
	msg[sizeof(msg) - 5] ^= 0x40;
	assert_int_equal(cookie_validate(&c, msg, sizeof(msg), SA(src), sizeof(src), T0 + 10),
	    COOKIE_MAC1_OK);
	msg[sizeof(msg) - 5] ^= 0x40;

	/* Two replies never share a nonce. */
	{
		uint8_t reply2[WIRE_COOKIE_LEN];

		get_cookie(&m, &c, SA(src), sizeof(src), T0 + 20, reply2);
		assert_memory_not_equal(reply + 8, reply2 + 8, WIRE_COOKIE_NONCE_LEN);
	}
	cookie_maker_wipe(&m);
	cookie_checker_wipe(&c);
}

static void
test_cookie_roundtrip_v6(void **state)
{
	struct cookie_maker m;
	struct cookie_checker c;
	struct sockaddr_in6 src = v6("2001:db8::1", 5000), other = v6("2001:db8::2", 5000),
	    other_port = v6("2001:db8::1", 5001);
	struct sockaddr_in mapped = v4("0.0.0.0", 5000);
	uint8_t reply[WIRE_COOKIE_LEN], msg[WIRE_INIT_LEN];

	(void)state;
	cookie_maker_init(&m, pub_b);
	cookie_checker_init(&c, pub_b);
	get_cookie(&m, &c, SA(src), sizeof(src), T0, reply);
	make_msg(msg, sizeof(msg), 6);
	cookie_add_macs(&m, msg, sizeof(msg), T0 + 1);
	assert_int_equal(cookie_validate(&c, msg, sizeof(msg), SA(src), sizeof(src), T0 + 1),
	    COOKIE_MAC2_OK);
	assert_int_equal(cookie_validate(&c, msg, sizeof(msg), SA(other), sizeof(other), T0 + 1),
	    COOKIE_MAC1_OK);
	assert_int_equal(cookie_validate(&c, msg, sizeof(msg), SA(other_port),
	                     sizeof(other_port), T0 + 1),
	    COOKIE_MAC1_OK);
	assert_int_equal(
	    cookie_validate(&c, msg, sizeof(msg), SA(mapped), sizeof(mapped), T0 + 1),
	    COOKIE_MAC1_OK);
}

static void
test_reply_tampered(void **state)
{
	struct cookie_maker m;
	struct cookie_checker c;
	struct sockaddr_in src = v4("192.0.2.1", 40000);
	uint8_t msg[WIRE_INIT_LEN], reply[WIRE_COOKIE_LEN];
	size_t i;

	(void)state;
	cookie_maker_init(&m, pub_b);
	cookie_checker_init(&c, pub_b);

	/* Nothing sent yet: no reply can match. */
	make_msg(msg, sizeof(msg), 7);
	cookie_make_reply(&c, msg, sizeof(msg), 1, SA(src), sizeof(src), T0, reply);
	assert_int_equal(cookie_consume_reply(&m, reply, sizeof(reply), T0), -1);

	cookie_add_macs(&m, msg, sizeof(msg), T0);
	cookie_make_reply(&c, msg, sizeof(msg), 1, SA(src), sizeof(src), T0, reply);
	/* Header, nonce, ciphertext or tag changed: refused. The receiver index is not
	 * authenticated here (the session matches it), so bytes 4..7 are skipped. */
	for (i = 0; i < sizeof(reply); i++) {
		if (i >= 4 && i < 8)
			continue;
		reply[i] ^= 0x01;
		assert_int_equal(cookie_consume_reply(&m, reply, sizeof(reply), T0), -1);
		reply[i] ^= 0x01;
	}
	assert_false(m.has_cookie);
	/* Wrong length. */
	assert_int_equal(cookie_consume_reply(&m, reply, sizeof(reply) - 1, T0), -1);
	/* A checker for another key seals under another key. */
	{
		struct cookie_checker c2;
		uint8_t r2[WIRE_COOKIE_LEN];

		cookie_checker_init(&c2, pub_c);
		cookie_make_reply(&c2, msg, sizeof(msg), 1, SA(src), sizeof(src), T0, r2);
		assert_int_equal(cookie_consume_reply(&m, r2, sizeof(r2), T0), -1);
	}
	/* Intact, it works once; the same reply again does not. */
	assert_int_equal(cookie_consume_reply(&m, reply, sizeof(reply), T0), 0);
	assert_true(m.has_cookie);
	assert_int_equal(cookie_consume_reply(&m, reply, sizeof(reply), T0), -1);

	/* A reply to an earlier message does not answer the last one. */
	cookie_maker_init(&m, pub_b);
	cookie_add_macs(&m, msg, sizeof(msg), T0);
	cookie_make_reply(&c, msg, sizeof(msg), 1, SA(src), sizeof(src), T0, reply);
	make_msg(msg, sizeof(msg), 8);
	cookie_add_macs(&m, msg, sizeof(msg), T0 + 1);
	assert_int_equal(cookie_consume_reply(&m, reply, sizeof(reply), T0 + 1), -1);
	assert_false(m.has_cookie);
}

static void
test_secret_rotation(void **state)
{
	struct cookie_maker m;
	struct cookie_checker c;
	struct sockaddr_in src = v4("198.51.100.7", 1234);
	uint8_t msg[WIRE_INIT_LEN], reply[WIRE_COOKIE_LEN], old_secret[32];
	uint64_t birth;

	(void)state;
	cookie_maker_init(&m, pub_b);
	cookie_checker_init(&c, pub_b);
	get_cookie(&m, &c, SA(src), sizeof(src), T0, reply);
	assert_true(c.has_secret);
	birth = c.secret_birth;
	assert_true(birth == T0);
	memcpy(old_secret, c.secret, 32);

	make_msg(msg, sizeof(msg), 9);
	cookie_add_macs(&m, msg, sizeof(msg), T0 + 1);
	assert_int_equal(cookie_validate(&c, msg, sizeof(msg), SA(src), sizeof(src),
	                     birth + COOKIE_SECRET_LIFETIME - 1),
	    COOKIE_MAC2_OK);
	assert_memory_equal(c.secret, old_secret, 32);
	/* 120 s after the secret was drawn it is replaced: the old cookie is worthless. */
	assert_int_equal(cookie_validate(&c, msg, sizeof(msg), SA(src), sizeof(src),
	                     birth + COOKIE_SECRET_LIFETIME),
	    COOKIE_MAC1_OK);
	assert_memory_not_equal(c.secret, old_secret, 32);
	assert_true(c.secret_birth == birth + COOKIE_SECRET_LIFETIME);
	/* and stays worthless. */
	assert_int_equal(cookie_validate(&c, msg, sizeof(msg), SA(src), sizeof(src),
	                     birth + COOKIE_SECRET_LIFETIME + 1),
	    COOKIE_MAC1_OK);

	/* A new cookie under the new secret works again. */
	get_cookie(&m, &c, SA(src), sizeof(src), birth + COOKIE_SECRET_LIFETIME + 2, reply);
	make_msg(msg, sizeof(msg), 10);
	cookie_add_macs(&m, msg, sizeof(msg), birth + COOKIE_SECRET_LIFETIME + 3);
	assert_int_equal(cookie_validate(&c, msg, sizeof(msg), SA(src), sizeof(src),
	                     birth + COOKIE_SECRET_LIFETIME + 3),
	    COOKIE_MAC2_OK);

	/* Wiping leaves nothing behind. */
	{
		struct cookie_checker zero;

		memset(&zero, 0, sizeof(zero));
		cookie_checker_wipe(&c);
		assert_memory_equal(&c, &zero, sizeof(c));
	}
}

static void
test_cookie_expiry(void **state)
{
	struct cookie_maker m;
	struct cookie_checker c;
	struct sockaddr_in src = v4("198.51.100.7", 1234);
	uint8_t msg[WIRE_INIT_LEN], reply[WIRE_COOKIE_LEN];

	(void)state;
	cookie_maker_init(&m, pub_b);
	cookie_checker_init(&c, pub_b);
	get_cookie(&m, &c, SA(src), sizeof(src), T0, reply);

	make_msg(msg, sizeof(msg), 11);
	cookie_add_macs(&m, msg, sizeof(msg), T0 + COOKIE_VALIDITY - 1);
	assert_memory_not_equal(msg + sizeof(msg) - 16, zero16, 16);
	assert_int_equal(cookie_validate(&c, msg, sizeof(msg), SA(src), sizeof(src),
	                     T0 + COOKIE_VALIDITY - 1),
	    COOKIE_MAC2_OK);

	/* From COOKIE_VALIDITY on, the maker stops using it. */
	cookie_add_macs(&m, msg, sizeof(msg), T0 + COOKIE_VALIDITY);
	assert_memory_equal(msg + sizeof(msg) - 16, zero16, 16);
	assert_false(m.has_cookie);
	assert_int_equal(cookie_validate(&c, msg, sizeof(msg), SA(src), sizeof(src),
	                     T0 + COOKIE_VALIDITY),
	    COOKIE_MAC1_OK);

	{
		struct cookie_maker zero;

		memset(&zero, 0, sizeof(zero));
		cookie_maker_wipe(&m);
		assert_memory_equal(&m, &zero, sizeof(m));
	}
}

/* Count how many of n attempts from src at time now are allowed. */
static int
allowed(struct ratelimit *rl, const struct sockaddr *src, socklen_t len, uint64_t now, int n)
{
	int i, ok = 0;

	for (i = 0; i < n; i++)
		ok += ratelimit_allow(rl, src, len, now);
	return ok;
}

static void
test_ratelimit_burst_refill(void **state)
{
	struct ratelimit *rl = ratelimit_new();
	struct sockaddr_in a = v4("203.0.113.1", 1000), a2 = v4("203.0.113.1", 2000);
	uint64_t t;
	int ok, i;

	(void)state;
	assert_non_null(rl);
	assert_int_equal(allowed(rl, SA(a), sizeof(a), T0, 5), 5);
	assert_false(ratelimit_allow(rl, SA(a), sizeof(a), T0));
	/* The port does not matter: one bucket per host. */
	assert_false(ratelimit_allow(rl, SA(a2), sizeof(a2), T0));

	/* 20 per second: one token every 50 ms. */
	assert_false(ratelimit_allow(rl, SA(a), sizeof(a), T0 + 49));
	assert_true(ratelimit_allow(rl, SA(a), sizeof(a), T0 + 50));
	assert_false(ratelimit_allow(rl, SA(a), sizeof(a), T0 + 50));
	assert_false(ratelimit_allow(rl, SA(a), sizeof(a), T0 + 99));
	assert_true(ratelimit_allow(rl, SA(a), sizeof(a), T0 + 100));

	/* Sustained attempts every 5 ms for 10 s: about 20 per second get through. */
	ok = 0;
	for (i = 1; i <= 2000; i++)
		ok += ratelimit_allow(rl, SA(a), sizeof(a), T0 + 100 + 5 * (uint64_t)i);
	assert_int_equal(ok, 200);

	/* A quiet second refills the bucket, but only up to the burst. */
	t = T0 + 100 + 5 * 2000 + 10000;
	assert_int_equal(allowed(rl, SA(a), sizeof(a), t, 10), 5);

	/* A clock that goes back grants nothing. */
	assert_int_equal(allowed(rl, SA(a), sizeof(a), t - 5000, 10), 0);
	ratelimit_free(rl);
	ratelimit_free(NULL);
}

static void
test_ratelimit_independent(void **state)
{
	struct ratelimit *rl = ratelimit_new();
	struct sockaddr_in a = v4("203.0.113.1", 1000), b = v4("203.0.113.2", 1000);
	struct sockaddr_in6 x = v6("2001:db8::1", 1000), y = v6("2001:db8:0:1::2", 1000),
	    x2 = v6("2001:db8::1", 4000), same64 = v6("2001:db8::99", 1000),
	    mapped = v6("::ffff:203.0.113.1", 1000);
	struct sockaddr_un sun;

	(void)state;
	assert_non_null(rl);
	assert_int_equal(allowed(rl, SA(a), sizeof(a), T0, 10), 5);
	assert_int_equal(allowed(rl, SA(b), sizeof(b), T0, 10), 5);
	assert_int_equal(allowed(rl, SA(x), sizeof(x), T0, 10), 5);
	assert_int_equal(allowed(rl, SA(x2), sizeof(x2), T0, 10), 0);
	/* An IPv6 source is a /64: another host of the same prefix shares the bucket. */
	assert_int_equal(allowed(rl, SA(same64), sizeof(same64), T0, 10), 0);
	assert_int_equal(allowed(rl, SA(y), sizeof(y), T0, 10), 5);
	/* ::ffff:a.b.c.d is the IPv4 source a.b.c.d (a dual-stack socket): a's empty bucket. */
	assert_int_equal(allowed(rl, SA(mapped), sizeof(mapped), T0, 10), 0);
	/* 50 ms later each has one token again. */
	assert_int_equal(allowed(rl, SA(a), sizeof(a), T0 + 50, 10), 1);
	assert_int_equal(allowed(rl, SA(x), sizeof(x), T0 + 50, 10), 1);

	/* Sources we cannot identify are refused. */
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	assert_false(ratelimit_allow(rl, SA(sun), sizeof(sun), T0));
	assert_false(ratelimit_allow(rl, SA(a), 4, T0 + 1000));
	assert_false(ratelimit_allow(rl, NULL, 0, T0));
	ratelimit_free(rl);
}

static void
test_ratelimit_flood(void **state)
{
	struct ratelimit *rl = ratelimit_new();
	struct sockaddr_in s;
	struct sockaddr_in6 s6 = v6("2001:db8::", 1);
	int i, ok = 0, refused = 0;

	(void)state;
	assert_non_null(rl);
	memset(&s, 0, sizeof(s));
	s.sin_family = AF_INET;
	/* 3 * table size of distinct sources within one millisecond. */
	for (i = 0; i < 3 * RATELIMIT_TABLE; i++) {
		s.sin_addr.s_addr = htonl(0x0a000000u + (uint32_t)i);
		if (ratelimit_allow(rl, SA(s), sizeof(s), T0))
			ok++;
		else
			refused++;
	}
	assert_true(ok <= RATELIMIT_TABLE);
	assert_true(ok >= RATELIMIT_TABLE / 2);
	assert_true(refused >= 2 * RATELIMIT_TABLE);

	/* A source that got a slot keeps its bucket while the table is full. */
	s.sin_addr.s_addr = htonl(0x0a000000u);
	assert_true(ratelimit_allow(rl, SA(s), sizeof(s), T0)); /* the first: 4 tokens left */
	assert_int_equal(allowed(rl, SA(s), sizeof(s), T0, 10), 3);

	/* Within the second, slots are not handed to newcomers. */
	ok = 0;
	for (i = 0; i < 1000; i++) {
		s6.sin6_addr.s6_addr[7] = (uint8_t)i;
		s6.sin6_addr.s6_addr[6] = (uint8_t)(i >> 8);
		ok += ratelimit_allow(rl, SA(s6), sizeof(s6), T0 + 1000);
	}
	assert_true(ok < 1000);

	/* After a second of silence every slot may be reused: newcomers get in (a few hundred, so
	 * that they cannot fill a whole probe chain among themselves). */
	ok = 0;
	for (i = 0; i < 300; i++) {
		s6.sin6_addr.s6_addr[5] = 1;
		s6.sin6_addr.s6_addr[7] = (uint8_t)i;
		s6.sin6_addr.s6_addr[6] = (uint8_t)(i >> 8);
		ok += ratelimit_allow(rl, SA(s6), sizeof(s6), T0 + 2001);
	}
	assert_int_equal(ok, 300);
	ratelimit_free(rl);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mac1_ok),
		cmocka_unit_test(test_mac1_bitflip),
		cmocka_unit_test(test_mac1_other_key),
		cmocka_unit_test(test_cookie_roundtrip),
		cmocka_unit_test(test_cookie_roundtrip_v6),
		cmocka_unit_test(test_reply_tampered),
		cmocka_unit_test(test_secret_rotation),
		cmocka_unit_test(test_cookie_expiry),
		cmocka_unit_test(test_ratelimit_burst_refill),
		cmocka_unit_test(test_ratelimit_independent),
		cmocka_unit_test(test_ratelimit_flood),
	};

	return cmocka_run_group_tests_name("cookie", tests, setup, NULL);
}
