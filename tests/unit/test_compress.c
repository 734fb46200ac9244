/*
 * test_compress.c - LZ4 wrapper: round trips at every packet size, "send raw" decisions, and
 * hostile input to the decoder. Buffers are malloc'd to their exact size so ASan sees any
 * over-read or over-write; a canary behind the output catches writes without ASan too.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "compress.h"

#define CANARY 0x5a
#define CANARY_LEN 64

static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Something like HTTP headers or config text: words from a small vocabulary. */
static void
fill_text(uint8_t *p, size_t n, uint64_t seed)
{
	static const char *words[] = { "GET ", "/index.html ", "HTTP/1.1\r\n", "Host: ",
		"example.net\r\n", "Accept: ", "text/html", ", ", "application/json", "\r\n",
		"User-Agent: vtund-ng ", "the ", "tunnel ", "packet " };
	size_t i = 0, k, w;

	while (i < n) {
		w = rnd(&seed) % (sizeof(words) / sizeof(words[0]));
		for (k = 0; words[w][k] != '\0' && i < n; k++)
			p[i++] = (uint8_t)words[w][k];
	}
}

static void
fill_random(uint8_t *p, size_t n, uint64_t seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(rnd(&seed) >> 24);
}

/* Output buffer of exactly maxout bytes followed by a canary, so overruns show without ASan. */
static uint8_t *
out_alloc(size_t maxout)
{
	uint8_t *o = malloc(maxout + CANARY_LEN);

	assert_non_null(o);
	memset(o, CANARY, maxout + CANARY_LEN);
	return o;
}

static void
assert_canary(const uint8_t *o, size_t maxout)
{
	size_t i;

	for (i = 0; i < CANARY_LEN; i++)
		if (o[maxout + i] != CANARY)
			fail_msg("write past maxout %zu at +%zu", maxout, i);
}

/* Compress n bytes; if it shrank, decode it back exactly and check the bounds on the way. */
static size_t
roundtrip(void *st, const uint8_t *data, size_t n, int accel)
{
	uint8_t *in, *z, *o;
	size_t zlen;
	long d;

	in = malloc(n ? n : 1);
	z = out_alloc(COMPRESS_BOUND(n));
	assert_non_null(in);
	memcpy(in, data, n);
	zlen = compress_encode(st, in, n, z, COMPRESS_BOUND(n), accel);
	assert_canary(z, COMPRESS_BOUND(n));
	if (zlen != 0) {
		assert_true(zlen < n);
		/* Exact output room: succeeds. */
		o = out_alloc(n);
		d = compress_decode(z, zlen, o, n);
		assert_int_equal(d, (long)n);
		assert_memory_equal(o, in, n);
		assert_canary(o, n);
		free(o);
		/* One byte short: refused, and nothing written past it. */
		o = out_alloc(n - 1);
		assert_int_equal(compress_decode(z, zlen, o, n - 1), -1);
		assert_canary(o, n - 1);
		free(o);
	}
	free(z);
	free(in);
	return zlen;
}

static int
setup(void **state)
{
	*state = malloc(compress_state_size());
	return *state == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	free(*state);
	return 0;
}

static void
test_state_size(void **state)
{
	/* LZ4 1.9's state is 16 KiB; anything tiny means the wrong function was called. */
	assert_true(compress_state_size() >= 1024);
}

static void
test_empty_and_oversize(void **state)
{
	static uint8_t big[COMPRESS_MAX_IN + 1];
	uint8_t out[COMPRESS_BOUND(COMPRESS_MAX_IN + 1)];

	assert_int_equal(compress_encode(*state, big, 0, out, sizeof(out), 1), 0);
	/* Zeros compress well, but more than the largest frame is never compressed. */
	assert_int_equal(compress_encode(*state, big, COMPRESS_MAX_IN + 1, out, sizeof(out), 1),
	    0);
	assert_true(compress_encode(*state, big, COMPRESS_MAX_IN, out, sizeof(out), 1) > 0);
	assert_int_equal(compress_decode(out, 0, big, sizeof(big)), -1);
	assert_int_equal(compress_decode(out, (size_t)INT_MAX + 1, big, sizeof(big)), -1);
}

static void
test_sizes(void **state)
{
	static uint8_t data[COMPRESS_MAX_IN];
	size_t n, text_shrank = 0, zero_shrank = 0, z;

	for (n = 0; n <= COMPRESS_MAX_IN; n = n < 200 ? n + 1 : n + 37) {
		fill_text(data, n, n + 1);
		if (roundtrip(*state, data, n, 1) != 0)
			text_shrank++;
		memset(data, 0, n);
		z = roundtrip(*state, data, n, 1);
		if (z != 0)
			zero_shrank++;
		/* Zeros shrink as soon as there is room for a match plus the 5 literal tail. */
		if (n >= 32)
			assert_true(z != 0 && z < n / 4 + 16);
	}
	assert_true(text_shrank > 200);
	assert_true(zero_shrank > 200);
	/* And the very last size. */
	fill_text(data, COMPRESS_MAX_IN, 7);
	assert_true(roundtrip(*state, data, COMPRESS_MAX_IN, 1) != 0);
}

static void
test_accel(void **state)
{
	static uint8_t data[1400];
	static const int accels[] = { -5, 0, 1, 2, 8, 64, 65537 };
	size_t i;

	fill_text(data, sizeof(data), 42);
	/* Every level round-trips; the slow ones must still find the repetition. */
	for (i = 0; i < sizeof(accels) / sizeof(accels[0]); i++)
		if (roundtrip(*state, data, sizeof(data), accels[i]) == 0 && accels[i] <= 8)
			fail_msg("accel %d did not compress text", accels[i]);
}

/* Incompressible data is reported as such (0 = send raw), at every size. */
static void
test_random_not_smaller(void **state)
{
	static uint8_t data[COMPRESS_MAX_IN];
	size_t n;

	for (n = 0; n <= COMPRESS_MAX_IN; n = n < 200 ? n + 1 : n + 37) {
		fill_random(data, n, n * 31 + 1);
		assert_int_equal(roundtrip(*state, data, n, 1), 0);
	}
}

/* A small output capacity gives 0 and no write past it. */
static void
test_small_outcap(void **state)
{
	uint8_t data[1400], *o;
	size_t full, cap;

	fill_text(data, sizeof(data), 3);
	o = out_alloc(COMPRESS_BOUND(sizeof(data)));
	full = compress_encode(*state, data, sizeof(data), o, COMPRESS_BOUND(sizeof(data)), 1);
	assert_true(full > 0);
	free(o);
	for (cap = 0; cap < full; cap++) {
		o = out_alloc(cap);
		assert_int_equal(compress_encode(*state, data, sizeof(data), o, cap, 1), 0);
		assert_canary(o, cap);
		free(o);
	}
	o = out_alloc(full);
	assert_int_equal(compress_encode(*state, data, sizeof(data), o, full, 1), full);
	assert_canary(o, full);
	free(o);
}

/* Decode in (copied to an exact-size heap block) and check the result's bounds. */
static long
decode_hostile(const uint8_t *in, size_t len, size_t maxout)
{
	uint8_t *copy = malloc(len ? len : 1), *o = out_alloc(maxout);
	long d;

	assert_non_null(copy);
	memcpy(copy, in, len);
	d = compress_decode(copy, len, o, maxout);
	if (d != -1 && (d < 0 || (size_t)d > maxout))
		fail_msg("decode returned %ld for maxout %zu", d, maxout);
	assert_canary(o, maxout);
	free(o);
	free(copy);
	return d;
}

/*
 * Every prefix of a valid block. A prefix that happens to end right after a run of literals is
 * itself a valid (shorter) block, so the rule is: -1, or fewer bytes than the whole.
 */
static void
test_truncated(void **state)
{
	uint8_t data[1500], z[COMPRESS_BOUND(1500)];
	size_t zlen, k;
	unsigned long refused = 0;
	long d;

	fill_text(data, sizeof(data), 9);
	zlen = compress_encode(*state, data, sizeof(data), z, sizeof(z), 1);
	assert_true(zlen > 0);
	for (k = 0; k < zlen; k++) {
		d = decode_hostile(z, k, sizeof(data));
		if (d == -1)
			refused++;
		else
			assert_true(d < (long)sizeof(data));
	}
	assert_true(refused > zlen / 2);
	assert_int_equal(decode_hostile(z, zlen, sizeof(data)), (long)sizeof(data));
}

/* Every single-bit flip of a valid block: -1 or a bounded size, never an overrun. */
static void
test_bitflips(void **state)
{
	uint8_t data[1500], z[COMPRESS_BOUND(1500)];
	size_t zlen, k, bit;
	unsigned long refused = 0;

	fill_text(data, sizeof(data), 11);
	zlen = compress_encode(*state, data, sizeof(data), z, sizeof(z), 1);
	assert_true(zlen > 0);
	for (k = 0; k < zlen; k++)
		for (bit = 0; bit < 8; bit++) {
			z[k] ^= (uint8_t)(1u << bit);
			if (decode_hostile(z, zlen, sizeof(data)) == -1)
				refused++;
			/* Tighter room makes more flips overflow; still bounded. */
			decode_hostile(z, zlen, 100);
			z[k] ^= (uint8_t)(1u << bit);
		}
	assert_true(refused > 0);
}

static void
test_random_input(void **state)
{
	uint8_t in[600];
	uint64_t s = 12345;
	size_t len, i;
	unsigned long refused = 0;

	for (i = 0; i < 20000; i++) {
		len = rnd(&s) % sizeof(in);
		fill_random(in, len, rnd(&s));
		if (decode_hostile(in, len, 1500) == -1)
			refused++;
	}
	assert_true(refused > 10000);
}

/* A tiny block expanding past maxout is refused; with room it is valid. */
static void
test_bomb(void **state)
{
	uint8_t bomb[64], zeros[COMPRESS_MAX_IN], z[COMPRESS_BOUND(COMPRESS_MAX_IN)];
	size_t n = 0, i, zlen;

	/* Token: 1 literal, match length 15+; literal 'A'; offset 1; 40 x 255 + 0 more length. */
	bomb[n++] = 0x1f;
	bomb[n++] = 'A';
	bomb[n++] = 0x01;
	bomb[n++] = 0x00;
	for (i = 0; i < 40; i++)
		bomb[n++] = 0xff;
	bomb[n++] = 0x00;
	/* Last sequence: 5 literals, as LZ4 requires. */
	bomb[n++] = 0x50;
	memcpy(bomb + n, "BCDEF", 5);
	n += 5;
	/* 1 + (4 + 15 + 40 * 255) + 5 bytes. */
	assert_int_equal(decode_hostile(bomb, n, 20000), 1 + 4 + 15 + 40 * 255 + 5);
	assert_int_equal(decode_hostile(bomb, n, COMPRESS_MAX_IN), -1);
	assert_int_equal(decode_hostile(bomb, n, 1500), -1);
	assert_int_equal(decode_hostile(bomb, n, 0), -1);

	/* The same through our own encoder: a full frame of zeros. */
	memset(zeros, 0, sizeof(zeros));
	zlen = compress_encode(*state, zeros, sizeof(zeros), z, sizeof(z), 1);
	assert_true(zlen > 0 && zlen < 64);
	assert_int_equal(decode_hostile(z, zlen, 1500), -1);
	assert_int_equal(decode_hostile(z, zlen, COMPRESS_MAX_IN - 1), -1);
	assert_int_equal(decode_hostile(z, zlen, COMPRESS_MAX_IN), COMPRESS_MAX_IN);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_state_size),
		cmocka_unit_test(test_empty_and_oversize),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_accel),
		cmocka_unit_test(test_random_not_smaller),
		cmocka_unit_test(test_small_outcap),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_bitflips),
		cmocka_unit_test(test_random_input),
		cmocka_unit_test(test_bomb),
	};

	return cmocka_run_group_tests_name("compress", tests, setup, teardown);
}
