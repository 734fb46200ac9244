/*
 * test_backoff.c - the retry schedule: at once, then 1 s doubling to 30 s, each wait up to a
 * quarter longer at random and never shorter; the jitter is exactly rand % 1000 thousandths of
 * a quarter; huge try counts neither overflow nor shrink the wait; the counter saturates.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "backoff.h"

static const uint64_t base[] = { 0, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000 };

static void
test_schedule(void **state)
{
	(void)state;
	for (unsigned n = 0; n < sizeof(base) / sizeof(base[0]); n++)
		assert_int_equal(backoff_wait(n, 0), base[n]);
	assert_int_equal(BACKOFF_FIRST, 1000);
	assert_int_equal(BACKOFF_MAX, 30000);
}

static void
test_jitter(void **state)
{
	static const uint32_t rands[] = { 0, 1, 500, 998, 999, 1000, 123456789u, 0xffffffffu };

	(void)state;
	for (size_t r = 0; r < sizeof(rands) / sizeof(rands[0]); r++)
		for (unsigned n = 0; n < sizeof(base) / sizeof(base[0]); n++) {
			uint64_t d = backoff_wait(n, rands[r]);

			assert_true(d >= base[n]);
			assert_true(d * 4 < base[n] * 5 || base[n] == 0);
			assert_int_equal(d, base[n] + base[n] * (rands[r] % 1000) / 4000);
		}
	assert_int_equal(backoff_wait(1, 999), 1249);
	assert_int_equal(backoff_wait(7, 999), 30000 + 7492);
}

static void
test_large(void **state)
{
	(void)state;
	assert_int_equal(backoff_wait(64, 0), BACKOFF_MAX);
	assert_int_equal(backoff_wait(65, 0), BACKOFF_MAX);
	assert_int_equal(backoff_wait(BACKOFF_TRIES_MAX, 0), BACKOFF_MAX);
	assert_int_equal(backoff_wait(~0u, 0), BACKOFF_MAX);
	assert_int_equal(backoff_count(0), 1);
	assert_int_equal(backoff_count(41), 42);
	assert_int_equal(backoff_count(BACKOFF_TRIES_MAX), BACKOFF_TRIES_MAX);
	assert_int_equal(backoff_count(~0u), ~0u);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_schedule),
		cmocka_unit_test(test_jitter),
		cmocka_unit_test(test_large),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
