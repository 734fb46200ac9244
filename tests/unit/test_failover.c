/*
 * test_failover.c - which remote a client tries: FAILOVER_TRIES tries each, in order, round
 * and round; one remote never moves; a session up stays where it is and, on a later remote,
 * probes the earlier ones every failback, most preferred first, one per turn; a probe that
 * gets no answer waits for the next turn; a session down starts from the first remote again;
 * failback 0 never probes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "failover.h"

/* Make one try wherever failover_where says; returns where it went. */
static int
try_once(struct failover *f)
{
	int at = failover_where(f);

	failover_tried(f);
	return at;
}

static void
test_order(void **state)
{
	struct failover f;
	int seen[4 * FAILOVER_TRIES * 3];

	(void)state;
	failover_init(&f, 3, 0);
	for (int i = 0; i < 3 * FAILOVER_TRIES * 3; i++)
		seen[i] = try_once(&f);
	for (int i = 0; i < 3 * FAILOVER_TRIES * 3; i++)
		assert_int_equal(seen[i], (i / FAILOVER_TRIES) % 3);
	/* Exhausted once the current one had its tries, and only with another to go to. */
	failover_init(&f, 2, 0);
	for (int i = 0; i < FAILOVER_TRIES; i++) {
		assert_false(failover_exhausted(&f));
		try_once(&f);
	}
	assert_true(failover_exhausted(&f));
	assert_int_equal(failover_where(&f), 1);
	assert_false(failover_exhausted(&f));
	failover_init(&f, 1, 0);
	for (int i = 0; i < 2 * FAILOVER_TRIES; i++)
		try_once(&f);
	assert_false(failover_exhausted(&f));
	/* Asking where does not count a try: only tries move it on. */
	failover_init(&f, 2, 0);
	for (int i = 0; i < 10; i++)
		assert_int_equal(failover_where(&f), 0);
}

static void
test_one_remote(void **state)
{
	struct failover f;

	(void)state;
	failover_init(&f, 1, 0);
	for (int i = 0; i < 50; i++)
		assert_int_equal(try_once(&f), 0);
	failover_up(&f, 0, 30000, 1000);
	assert_int_equal(failover_deadline(&f), UINT64_MAX);
	assert_int_equal(failover_probe(&f, 1000000), -1);
	/* n 0 (a peer without remotes) counts as one. */
	failover_init(&f, 0, 0);
	assert_int_equal(try_once(&f), 0);
}

static void
test_start_elsewhere(void **state)
{
	struct failover f;

	(void)state;
	/* The first remote did not resolve at start: the client begins on the second. */
	failover_init(&f, 3, 1);
	for (int i = 0; i < FAILOVER_TRIES; i++)
		assert_int_equal(try_once(&f), 1);
	assert_int_equal(try_once(&f), 2);
	failover_init(&f, 3, 7); /* out of range: the first */
	assert_int_equal(try_once(&f), 0);
}

static void
test_up_and_probe(void **state)
{
	struct failover f;

	(void)state;
	failover_init(&f, 3, 0);
	for (int i = 0; i < 2 * FAILOVER_TRIES; i++)
		try_once(&f);
	assert_int_equal(try_once(&f), 2);
	failover_up(&f, 2, 30000, 10000);
	assert_int_equal(f.cur, 2);
	assert_int_equal(failover_deadline(&f), 40000);
	assert_int_equal(failover_probe(&f, 39999), -1);
	/* The first probe goes to the most preferred remote, the next to the second. */
	assert_int_equal(failover_probe(&f, 40000), 0);
	assert_int_equal(failover_deadline(&f), 40000 + FAILOVER_PROBE_MS);
	assert_int_equal(failover_probe(&f, 41000), -1); /* one at a time */
	failover_probe_over(&f, 30000, 45000);
	assert_int_equal(f.probe, -1);
	assert_int_equal(failover_deadline(&f), 75000);
	assert_int_equal(failover_probe(&f, 75000), 1);
	failover_probe_over(&f, 30000, 80000);
	assert_int_equal(failover_probe(&f, 110000), 0); /* round again */
	/* The probe answered: the session moved there; remote 0 never probes. */
	failover_up(&f, 0, 30000, 111000);
	assert_int_equal(f.cur, 0);
	assert_int_equal(f.probe, -1);
	assert_int_equal(failover_deadline(&f), UINT64_MAX);
	assert_int_equal(failover_probe(&f, UINT64_MAX - 1), -1);
	/* Tries start afresh where it is. */
	for (int i = 0; i < FAILOVER_TRIES; i++)
		assert_int_equal(try_once(&f), 0);
	assert_int_equal(try_once(&f), 1);
}

static void
test_up_on_second_from_probe(void **state)
{
	struct failover f;

	(void)state;
	failover_init(&f, 3, 0);
	for (int i = 0; i < 2 * FAILOVER_TRIES; i++)
		try_once(&f);
	failover_up(&f, 2, 30000, 0);
	assert_int_equal(failover_probe(&f, 30000), 0);
	failover_probe_over(&f, 30000, 35000);
	assert_int_equal(failover_probe(&f, 65000), 1);
	/* The second remote answered: from there, only the first is probed. */
	failover_up(&f, 1, 30000, 66000);
	assert_int_equal(failover_probe(&f, 96000), 0);
	failover_probe_over(&f, 30000, 101000);
	assert_int_equal(failover_probe(&f, 131000), 0);
}

static void
test_down(void **state)
{
	struct failover f;

	(void)state;
	failover_init(&f, 2, 0);
	for (int i = 0; i < FAILOVER_TRIES; i++)
		try_once(&f);
	assert_int_equal(try_once(&f), 1);
	failover_up(&f, 1, 30000, 0);
	assert_int_equal(failover_probe(&f, 30000), 0);
	/* Down in the middle of a probe: no probe, and the first remote is tried first. */
	failover_down(&f);
	assert_int_equal(f.probe, -1);
	assert_int_equal(failover_deadline(&f), UINT64_MAX);
	for (int i = 0; i < FAILOVER_TRIES; i++)
		assert_int_equal(try_once(&f), 0);
	assert_int_equal(try_once(&f), 1);
}

static void
test_no_failback(void **state)
{
	struct failover f;

	(void)state;
	failover_init(&f, 2, 1);
	failover_up(&f, 1, 0, 1000);
	assert_int_equal(failover_deadline(&f), UINT64_MAX);
	assert_int_equal(failover_probe(&f, UINT64_MAX - 1), -1);
	failover_probe_over(&f, 0, 2000);
	assert_int_equal(failover_deadline(&f), UINT64_MAX);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_one_remote),
		cmocka_unit_test(test_start_elsewhere),
		cmocka_unit_test(test_up_and_probe),
		cmocka_unit_test(test_up_on_second_from_probe),
		cmocka_unit_test(test_down),
		cmocka_unit_test(test_no_failback),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
