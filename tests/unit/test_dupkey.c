/*
 * test_dupkey.c - one key, two clients: an uncontested handshake always passes; "refuse"
 * refuses every contested one; "replace" lets two confirmed takeovers through and refuses the
 * next contested one within the window as flapping (unconfirmed ones never count), and every
 * later one until the session goes down; takeovers further apart than the window never flap;
 * the window is four times the timeout, at least a minute.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "dupkey.h"

static void
test_window(void **state)
{
	(void)state;
	assert_int_equal(dupkey_window(0), 60000);
	assert_int_equal(dupkey_window(4), 60000);
	assert_int_equal(dupkey_window(15), 60000);
	assert_int_equal(dupkey_window(60), 240000);
	assert_int_equal(dupkey_window(86400), 345600000ULL);
}

static void
test_refuse(void **state)
{
	struct dupkey d = { 0 };

	(void)state;
	assert_int_equal(dupkey_decide(&d, VT_DUP_REFUSE, false, 60000, 1000), DK_ACCEPT);
	for (int k = 0; k < 10; k++)
		assert_int_equal(dupkey_decide(&d, VT_DUP_REFUSE, true, 60000, 1000 + k),
		    DK_REFUSE);
	assert_false(d.flapping);
}

/* decide, and when it says takeover, confirm it */
static enum dupkey_verdict
take(struct dupkey *d, uint64_t window, uint64_t now)
{
	enum dupkey_verdict v = dupkey_decide(d, VT_DUP_REPLACE, true, window, now);

	if (v == DK_TAKEOVER)
		dupkey_taken(d, now);
	return v;
}

static void
test_replace_flaps(void **state)
{
	struct dupkey d = { 0 };

	(void)state;
	/* takeovers that are never confirmed (lost responses, re-sent initiations) never flap */
	for (int k = 0; k < 10; k++)
		assert_int_equal(dupkey_decide(&d, VT_DUP_REPLACE, true, 60000, 100 + k),
		    DK_TAKEOVER);
	assert_int_equal(take(&d, 60000, 1000), DK_TAKEOVER);
	assert_int_equal(dupkey_decide(&d, VT_DUP_REPLACE, false, 60000, 2000), DK_ACCEPT);
	assert_int_equal(take(&d, 60000, 5000), DK_TAKEOVER);
	assert_int_equal(take(&d, 60000, 9000), DK_FLAPPING);
	assert_true(d.flapping);
	assert_int_equal(dupkey_decide(&d, VT_DUP_REPLACE, true, 60000, 900000), DK_REFUSE);
	assert_int_equal(dupkey_decide(&d, VT_DUP_REPLACE, false, 60000, 900001), DK_ACCEPT);
	dupkey_session_down(&d);
	assert_false(d.flapping);
	assert_int_equal(take(&d, 60000, 900002), DK_TAKEOVER);
}

static void
test_replace_slow(void **state)
{
	struct dupkey d = { 0 };
	uint64_t now = 0;

	(void)state;
	/* a client that restarts every 40 s, with a window of 60 s: never flapping */
	for (int k = 0; k < 20; k++, now += 40000)
		assert_int_equal(take(&d, 60000, now), DK_TAKEOVER);
	assert_false(d.flapping);
	/* at the clock's start (0 means "none"): still counted */
	dupkey_session_down(&d);
	assert_int_equal(take(&d, 60000, 0), DK_TAKEOVER);
	assert_int_equal(take(&d, 60000, 1), DK_TAKEOVER);
	assert_int_equal(take(&d, 60000, 2), DK_FLAPPING);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_window),
		cmocka_unit_test(test_refuse),
		cmocka_unit_test(test_replace_flaps),
		cmocka_unit_test(test_replace_slow),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
