/*
 * test_shaper.c - the token bucket and the frame queue of rate-in and rate-out: the long-run
 * rate is exact for any frame size and clock step, a burst is what a full bucket lets through
 * and no more, a debt is paid before anything leaves, tb_when names the first millisecond a
 * frame may leave, long idle times neither overflow nor over-fill; the queue keeps frames in
 * order across its wrap, refuses what does not fit and nothing else. Also the rate and size
 * parsers of the configuration.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config_parse.h"
#include "shaper.h"

/* Send frames of len bytes as fast as the bucket allows, the clock stepping step ms, for
 * dur ms: the bytes that left; *last: the ms of the last step. */
static uint64_t
run(uint64_t rate_bits, uint64_t burst, size_t len, uint64_t step, uint64_t dur,
    uint64_t *last)
{
	struct tbucket tb;
	uint64_t bytes = 0;

	tb_init(&tb, rate_bits, burst, 1000);
	for (uint64_t t = 1000; t < 1000 + dur; t += step) {
		*last = t - 1000;
		while (tb_ready(&tb, t)) {
			tb_take(&tb, len);
			bytes += len;
		}
		assert_true(tb_when(&tb, t) > t);
	}
	return bytes;
}

static void
test_rate_exact(void **state)
{
	static const uint64_t rates[] = { 8000, 1000000, 10000000, 100000000, 1000000000 };
	static const size_t lens[] = { 60, 1400, 9000, 65000 };
	/* wake-ups closer than the default burst (10 ms of the rate) */
	static const uint64_t steps[] = { 1, 3, 9 };

	(void)state;
	for (size_t r = 0; r < sizeof(rates) / sizeof(rates[0]); r++) {
		for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++) {
			for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
				uint64_t burst = shaper_default_burst(rates[r]), last = 0;
				uint64_t got = run(rates[r], 0, lens[l], steps[s], 10000, &last);
				/* the rate for the time that passed, and the full bucket */
				uint64_t want = rates[r] / 8 * last / 1000 + burst;

				/* within one frame either way of rate x time + burst */
				assert_true(got + lens[l] >= want);
				assert_true(got <= want + lens[l]);
			}
		}
	}
}

/* Woken less often than the bucket lasts, a sender gets less than the rate: what a full
 * bucket cannot hold is lost (the reason for the default burst of 10 ms). */
static void
test_slow_wakeups(void **state)
{
	uint64_t last = 0, got;

	(void)state;
	got = run(1000000000, 0, 1400, 20, 10000, &last); /* 20 ms steps, a 10 ms bucket */
	assert_true(got < 1000000000 / 8 * last / 1000 * 6 / 10);
	got = run(1000000000, 5000000, 1400, 20, 10000, &last); /* a 40 ms bucket */
	assert_true(got + 1400 >= 1000000000 / 8 * last / 1000 + 5000000);
}

static void
test_burst(void **state)
{
	struct tbucket tb;
	uint64_t sent = 0;

	(void)state;
	tb_init(&tb, 8000000, 100000, 0); /* 1 MB/s, 100 kB bucket */
	while (tb_ready(&tb, 0)) {
		tb_take(&tb, 1000);
		sent += 1000;
	}
	assert_int_equal(sent, 100000);
	/* in debt by nothing; 1 ms later 1000 bytes' worth */
	assert_int_equal(tb_when(&tb, 0), 1);
	assert_true(tb_ready(&tb, 1));
	tb_take(&tb, 1000);
	assert_false(tb_ready(&tb, 1));
	/* a long idle time fills the bucket once, never beyond */
	assert_true(tb_ready(&tb, 1000000000000ULL));
	sent = 0;
	while (tb_ready(&tb, 1000000000000ULL)) {
		tb_take(&tb, 1000);
		sent += 1000;
	}
	assert_int_equal(sent, 100000);
}

static void
test_debt(void **state)
{
	struct tbucket tb;

	(void)state;
	tb_init(&tb, 8000000, 16384, 0); /* 1000 bytes per ms */
	assert_true(tb_ready(&tb, 0));
	tb_take(&tb, 65536);              /* one super-packet: in debt by 49152 bytes */
	assert_false(tb_ready(&tb, 0));
	assert_int_equal(tb_when(&tb, 0), 50); /* 49152 + 1 thousandth: 50 ms */
	assert_false(tb_ready(&tb, 49));
	assert_int_equal(tb_when(&tb, 49), 50);
	assert_true(tb_ready(&tb, 50));
	/* the clock never goes back: an earlier time changes nothing */
	{
		struct tbucket before = tb;

		assert_true(tb_ready(&tb, 10));
		assert_int_equal(tb.tokens, before.tokens);
		assert_int_equal(tb.last, before.last);
		assert_int_equal(tb_when(&tb, 10), 10);
	}
}

static void
test_unlimited(void **state)
{
	struct tbucket tb;

	(void)state;
	tb_init(&tb, 0, 0, 5);
	for (int i = 0; i < 1000; i++)
		tb_take(&tb, 65536);
	assert_true(tb_ready(&tb, 5));
	assert_int_equal(tb_when(&tb, 5), 5);
}

static void
test_defaults(void **state)
{
	(void)state;
	assert_int_equal(shaper_default_burst(8000), 16384);
	assert_int_equal(shaper_default_burst(1000000000), 1250000);
	assert_int_equal(shaper_queue_size(8000), SHAPER_QUEUE_MIN);
	assert_int_equal(shaper_queue_size(100000000), 625000);
	assert_int_equal(shaper_queue_size(SHAPER_RATE_MAX), SHAPER_QUEUE_MAX);
}

static void
test_queue_order_and_wrap(void **state)
{
	struct fqueue q;
	uint8_t in[3000], out[3000];
	unsigned next_in = 0, next_out = 0;

	(void)state;
	assert_int_equal(fq_init(&q, 10000), 0);
	assert_true(fq_empty(&q));
	assert_int_equal(fq_peek(&q), 0);
	assert_int_equal(fq_pop(&q, out, sizeof(out)), 0);
	/* push and pop frames of changing sizes many times around the ring */
	for (int round = 0; round < 2000; round++) {
		size_t len = 1 + (size_t)(round * 997) % sizeof(in);

		memset(in, (int)(next_in & 0xff), len);
		in[0] = (uint8_t)len;
		if (fq_push(&q, in, len)) {
			next_in++;
		} else {
			/* it did not fit: there was no room for the frame and its length */
			assert_true(q.cap - q.used < len + 4);
		}
		if (round % 3 != 0 || q.n > 2) {
			size_t want = fq_peek(&q), n;

			if (want == 0)
				continue;
			n = fq_pop(&q, out, sizeof(out));
			assert_int_equal(n, want);
			assert_int_equal(out[0], (uint8_t)n);
			if (n > 1)
				assert_int_equal(out[n - 1], (uint8_t)(next_out & 0xff));
			next_out++;
		}
		assert_true(q.used <= q.cap);
	}
	while (fq_pop(&q, out, sizeof(out)) > 0)
		next_out++;
	assert_int_equal(next_in, next_out);
	assert_true(fq_empty(&q));
	assert_int_equal(q.used, 0);
	fq_free(&q);
	assert_null(q.mem);
}

static void
test_queue_limits(void **state)
{
	struct fqueue q, none;
	uint8_t f[100] = { 1 }, out[50];

	(void)state;
	memset(&none, 0, sizeof(none));
	assert_false(fq_push(&none, f, 10)); /* no queue */
	assert_int_equal(fq_init(&q, 208), 0);
	assert_false(fq_push(&q, f, 0));
	assert_true(fq_push(&q, f, 100));
	assert_true(fq_push(&q, f, 100));
	assert_int_equal(q.used, 208);
	assert_false(fq_push(&q, f, 1)); /* full to the byte */
	/* a frame larger than the caller's buffer is discarded, not cut */
	assert_int_equal(fq_pop(&q, out, sizeof(out)), 0);
	assert_int_equal(q.n, 1);
	assert_true(fq_push(&q, f, 100));
	fq_free(&q);
}

static void
test_parse_rate(void **state)
{
	static const struct {
		const char *s;
		uint64_t v;
	} ok[] = {
		{ "0", 0 }, { "8kbit", 8000 }, { "512kbit", 512000 }, { "10mbit", 10000000 },
		{ "10Mbit", 10000000 }, { "2.5mbit", 2500000 }, { "1gbit", 1000000000 },
		{ "100000bit", 100000 }, { "0.5GBIT", 500000000 }, { "1.", 0 }, { "0mbit", 0 },
		{ "0.001kbit", 1 },
	};
	static const char *const bad[] = {
		"", "10", "mbit", "10 mbit", "10mb", "10mbits", "-1mbit", "1e3kbit",
		"99999999999999999999gbit", ".", "1.5", "0.5bit", "0.0001kbit",
	};
	uint64_t v;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		if (strcmp(ok[i].s, "1.") == 0) {
			assert_non_null(config_parse_rate(ok[i].s, &v)); /* a number needs a unit */
			continue;
		}
		assert_null(config_parse_rate(ok[i].s, &v));
		assert_int_equal(v, ok[i].v);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_non_null(config_parse_rate(bad[i], &v));
	assert_null(config_parse_size("64kb", &v));
	assert_int_equal(v, 65536);
	assert_null(config_parse_size("1MiB", &v));
	assert_int_equal(v, 1048576);
	assert_null(config_parse_size("3000b", &v));
	assert_int_equal(v, 3000);
	assert_non_null(config_parse_size("3000", &v));
	assert_non_null(config_parse_size("3kbit", &v));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rate_exact),
		cmocka_unit_test(test_slow_wakeups),
		cmocka_unit_test(test_burst),
		cmocka_unit_test(test_debt),
		cmocka_unit_test(test_unlimited),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_queue_order_and_wrap),
		cmocka_unit_test(test_queue_limits),
		cmocka_unit_test(test_parse_rate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
