/* test_replay.c - replay window: edge table, aliasing after jumps, and a reference model. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "replay.h"

#define W REPLAY_WINDOW
#define L REPLAY_COUNTER_LIMIT
#define RING ((uint64_t)REPLAY_BLOCKS * REPLAY_BLOCK_BITS)

/* check() then commit() of one counter, both expected to say want; check must not write. */
static void
step(struct replay *r, uint64_t c, bool want, size_t line)
{
	struct replay before;
	bool got;

	memcpy(&before, r, sizeof(before));
	got = replay_check(r, c);
	if (got != want)
		fail_msg("table line %zu: check(%llu) = %d, want %d", line, (unsigned long long)c,
		    got, want);
	if (memcmp(&before, r, sizeof(before)) != 0)
		fail_msg("table line %zu: check(%llu) changed the state", line,
		    (unsigned long long)c);
	got = replay_commit(r, c);
	if (got != want)
		fail_msg("table line %zu: commit(%llu) = %d, want %d", line,
		    (unsigned long long)c, got, want);
	/* Whatever happened, the counter is not fresh any more (or never was). */
	if (replay_check(r, c))
		fail_msg("table line %zu: %llu still fresh after commit", line,
		    (unsigned long long)c);
	/* A refused commit leaves no trace. */
	if (!want && memcmp(&before, r, sizeof(before)) != 0)
		fail_msg("table line %zu: refused commit(%llu) changed the state", line,
		    (unsigned long long)c);
}

static const struct {
	uint64_t c;
	bool ok;
} table[] = {
	{ 0, true },	     /* counter 0 is a valid first packet */
	{ 0, false },	     /* duplicate */
	{ 1, true },
	{ 1, false },
	{ 9, true },	     /* gap */
	{ 8, true },	     /* reordered, inside the window */
	{ 7, true },
	{ 7, false },
	{ 2, true },
	{ W, true },	     /* H = W: the oldest accepted is 0 */
	{ 0, false },	     /* at the edge but already seen */
	{ 3, true },	     /* inside, unseen */
	{ W + 5, true },     /* H = W + 5: the edge is 5 */
	{ 4, false },	     /* one beyond the edge, unseen */
	{ 6, true },	     /* edge + 1 */
	{ 5, true },	     /* exactly at the edge */
	{ 5, false },
	{ W + 4, true },     /* just behind the top */
	{ W + 5, false },    /* the top itself is a duplicate */
	{ W + 6, true },     /* H = W + 6: the edge moves to 6 */
	{ 5, false },	     /* now one beyond */
	{ 6, false },	     /* at the edge, seen */
	{ 100000, true },    /* large jump: edge 91872 */
	{ 10, false },	     /* old packets from before the jump */
	{ W + 6, false },
	{ 91871, false },    /* one beyond */
	{ 91872, true },     /* at the edge */
	{ 91872, false },
	{ 99999, true },
	{ 100001, true },    /* edge 91873 */
	{ 91873, true },
	{ 91872, false },
	{ 100001 + 5 * RING + 3, true }, /* jump over the whole ring several times */
	{ 100001 + 5 * RING + 3 - W, true },
	{ 100001 + 5 * RING + 3 - W - 1, false },
	{ 100001, false },
	{ 100001 + 5 * RING, true }, /* same bit as 100001: stale unless the ring was cleared */
	{ L - 1, true },	     /* the last counter ever accepted */
	{ L - 1, false },
	{ L, false },		     /* the limit itself */
	{ L + 1, false },
	{ L - 2, true },
	{ L - 1 - W, true },	     /* edge below the limit */
	{ L - 2 - W, false },
	{ L - 1 - W, false },
	{ UINT64_MAX, false },	     /* c + W would wrap: refused by the limit first */
	{ UINT64_MAX - W, false },
	{ UINT64_MAX - W - 1, false },
	{ UINT64_MAX - 1, false },
	{ (UINT64_C(1) << 63) + 1, false },
	{ 0, false },
	{ L - 3, true },
};

static void
test_table(void **state)
{
	struct replay r;
	size_t i;

	replay_init(&r);
	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		step(&r, table[i].c, table[i].ok, i);
}

static void
test_init(void **state)
{
	struct replay r;

	memset(&r, 0xff, sizeof(r));
	replay_init(&r);
	assert_true(r.top == 0);
	assert_true(replay_check(&r, 0));
	assert_true(replay_check(&r, L - 1));
	assert_false(replay_check(&r, L));
	assert_false(replay_check(&r, UINT64_MAX));
	/* check alone never moves anything: the same answer forever. */
	assert_true(replay_check(&r, 0));
	assert_true(r.top == 0);
}

/* The first counter need not be 0; the window then reaches back from it. */
static void
test_first_not_zero(void **state)
{
	struct replay r;

	replay_init(&r);
	step(&r, 20000, true, 0);
	step(&r, 20000 - W - 1, false, 1);
	step(&r, 20000 - W, true, 2);
	replay_init(&r);
	step(&r, 5000, true, 3);
	step(&r, 0, true, 4);
	step(&r, 4999, true, 5);
}

/* In order for four rings' worth, then every recent counter again: all duplicates. */
static void
test_in_order(void **state)
{
	struct replay r;
	uint64_t c, top = 4 * RING;

	replay_init(&r);
	for (c = 0; c < top; c++)
		if (!replay_commit(&r, c))
			fail_msg("in-order commit(%llu) refused", (unsigned long long)c);
	for (c = top - 1 - W; c < top; c++)
		if (replay_check(&r, c) || replay_commit(&r, c))
			fail_msg("duplicate %llu accepted", (unsigned long long)c);
	assert_false(replay_check(&r, top - 2 - W));
	assert_true(replay_check(&r, top));
}

/* A full ring of set bits must not leak into the blocks the window moves into. */
static void
test_block_reuse(void **state)
{
	struct replay r;
	uint64_t c, jump;

	/* Jump by every number of blocks from 1 to past the ring, from a completely full ring. */
	for (jump = 1; jump <= REPLAY_BLOCKS + 2; jump++) {
		replay_init(&r);
		for (c = 0; c < RING; c++)
			assert_true(replay_commit(&r, c));
		/* New top: last bit of the block jump blocks ahead of the current one. */
		c = RING - 1 + jump * REPLAY_BLOCK_BITS;
		assert_true(replay_commit(&r, c));
		/* Everything between the old top and the new one that is in the window is fresh. */
		c = RING - 1 + jump * REPLAY_BLOCK_BITS - W;
		if (c < RING)
			c = RING;
		for (; c < RING - 1 + jump * REPLAY_BLOCK_BITS; c++)
			if (!replay_check(&r, c))
				fail_msg("jump %llu: %llu wrongly seen", (unsigned long long)jump,
				    (unsigned long long)c);
		/* Old counters still in the window are still duplicates. */
		c = RING - 1 + jump * REPLAY_BLOCK_BITS - W;
		for (; c < RING; c++)
			if (replay_check(&r, c))
				fail_msg("jump %llu: %llu forgotten", (unsigned long long)jump,
				    (unsigned long long)c);
	}
}

/* Small deterministic generator so failures reproduce. */
static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

#define MODEL_N 300000

/* high - d, or a random counter at or below high when that would go below zero. */
static uint64_t
sub(uint64_t high, uint64_t d, uint64_t *s)
{
	return d <= high ? high - d : rnd(s) % (high + 1);
}

/* The definition in replay.c, written as plainly as possible over a bitmap of every counter. */
static bool
model_fresh(const bool *seen, bool any, uint64_t high, uint64_t c)
{
	if (c >= L)
		return false;
	if (!any || c > high)
		return true;
	return c + W >= high && !seen[c];
}

/* Random traffic (in order, reordered, duplicated, jumps) against the model. */
static void
test_model(void **state)
{
	struct replay r;
	bool *seen = calloc(MODEL_N, sizeof(*seen));
	bool any = false, want;
	uint64_t high = 0, s = 0x9e3779b97f4a7c15u, c = 0, k;
	unsigned long i, accepted = 0, refused = 0, resets = 0;

	assert_non_null(seen);
	replay_init(&r);
	for (i = 0; i < 2000000; i++) {
		k = rnd(&s) % 100;
		if (k < 50)
			c = high + 1 + rnd(&s) % 3;
		else if (k < 85)
			c = sub(high, rnd(&s) % (W + 200), &s);
		else if (k < 95)
			c = sub(high, W + 2 - rnd(&s) % 5, &s); /* hammer the edge */
		else if (k < 99)
			c = high; /* duplicate of the top */
		else
			c = high + rnd(&s) % (3 * RING);
		if (c >= MODEL_N) {
			/* Start over with a fresh window. */
			memset(seen, 0, MODEL_N * sizeof(*seen));
			replay_init(&r);
			any = false;
			high = 0;
			resets++;
			continue;
		}
		want = model_fresh(seen, any, high, c);
		if (replay_check(&r, c) != want)
			fail_msg("op %lu: check(%llu) != %d (high %llu)", i, (unsigned long long)c,
			    want, (unsigned long long)high);
		if (replay_commit(&r, c) != want)
			fail_msg("op %lu: commit(%llu) != %d", i, (unsigned long long)c, want);
		if (want) {
			seen[c] = true;
			if (!any || c > high)
				high = c;
			any = true;
			accepted++;
		} else {
			refused++;
		}
	}
	/* Both outcomes were exercised a lot. */
	assert_true(accepted > 100000);
	assert_true(refused > 100000);
	assert_true(resets > 10);
	free(seen);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_first_not_zero),
		cmocka_unit_test(test_in_order),
		cmocka_unit_test(test_block_reuse),
		cmocka_unit_test(test_model),
	};

	return cmocka_run_group_tests_name("replay", tests, NULL, NULL);
}
