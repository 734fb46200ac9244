/*
 * test_pool.c - the fork-join pool of crypto threads and the per-lane AEAD contexts: every item
 * of every batch runs exactly once, on a lane that exists, before pool_run returns; a batch
 * whose items are slow still waits for all of them; keys sealed and opened on many lanes at
 * once give exactly the bytes of one lane.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "crypto.h"
#include "pool.h"

#define ITEMS_MAX 64

struct batch {
	_Atomic int runs[ITEMS_MAX];
	_Atomic int lanes_seen[POOL_LANES_MAX];
	int lane_of[ITEMS_MAX];
	int lanes;
	bool slow;      /* item 0 sleeps: the others must not return without it */
};

static void
mark(void *arg, int item, int lane)
{
	struct batch *b = arg;

	assert_true(item >= 0 && item < ITEMS_MAX);
	assert_true(lane >= 0 && lane < b->lanes);
	if (b->slow && item == 0)
		usleep(20000);
	b->lane_of[item] = lane;
	atomic_fetch_add(&b->runs[item], 1);
	atomic_fetch_add(&b->lanes_seen[lane], 1);
}

static void
test_bad_sizes(void **state)
{
	(void)state;
	errno = 0;
	assert_null(pool_new(0));
	assert_int_equal(errno, EINVAL);
	assert_null(pool_new(POOL_LANES_MAX + 1));
	pool_free(NULL);
}

/* One lane: the caller runs the items itself, in order; no thread exists. */
static void
test_one_lane_inline(void **state)
{
	struct pool *pl = pool_new(1);
	struct batch b;
	struct pool_stats st;

	(void)state;
	assert_non_null(pl);
	assert_int_equal(pool_lanes(pl), 1);
	memset(&b, 0, sizeof(b));
	b.lanes = 1;
	pool_run(pl, mark, &b, 10);
	pool_run(pl, mark, &b, 0);
	for (int i = 0; i < 10; i++)
		assert_int_equal(b.runs[i], 1);
	pool_stats(pl, &st);
	assert_int_equal(st.shared, 0);
	assert_int_equal(st.items[0], 10);
	pool_free(pl);
}

/* Many batches of every size on every lane count: each item exactly once, before pool_run
 * returns; the per-lane counts add up. */
static void
test_every_item_once(void **state)
{
	uint64_t total = 0;

	(void)state;
	for (int lanes = 2; lanes <= POOL_LANES_MAX; lanes *= 2) {
		struct pool *pl = pool_new(lanes);
		struct pool_stats st;
		uint64_t sum = 0;

		assert_non_null(pl);
		total = 0;
		for (int round = 0; round < 3000; round++) {
			static struct batch b;
			int items = round % (ITEMS_MAX + 1);

			memset(&b, 0, sizeof(b));
			b.lanes = lanes;
			pool_run(pl, mark, &b, items);
			for (int i = 0; i < ITEMS_MAX; i++)
				assert_int_equal(b.runs[i], i < items ? 1 : 0);
			total += (uint64_t)items;
		}
		pool_stats(pl, &st);
		for (int i = 0; i < POOL_LANES_MAX; i++) {
			sum += st.items[i];
			if (i >= lanes)
				assert_int_equal(st.items[i], 0);
		}
		assert_int_equal(sum, total);
		assert_true(st.shared > 0);
		pool_free(pl);
	}
}

/* A slow item on another lane: pool_run waits for it. The other lanes do take work: over many
 * batches, some item runs on a lane other than the caller's. */
static void
test_waits_for_slow_items(void **state)
{
	struct pool *pl = pool_new(4);
	uint64_t others = 0;
	struct pool_stats st;

	(void)state;
	assert_non_null(pl);
	for (int round = 0; round < 20; round++) {
		struct batch b;

		memset(&b, 0, sizeof(b));
		b.lanes = 4;
		b.slow = true;
		pool_run(pl, mark, &b, 8);
		for (int i = 0; i < 8; i++)
			assert_int_equal(b.runs[i], 1);
	}
	pool_stats(pl, &st);
	for (int i = 1; i < 4; i++)
		others += st.items[i];
	assert_true(others > 0);
	pool_free(pl);
}

/* ---- keys on lanes -------------------------------------------------------------------------- */

#define PKT 1400

struct seal_batch {
	struct crypto_aead *a;
	uint8_t pkt[ITEMS_MAX][PKT + CRYPTO_TAG_LEN];
	int rc[ITEMS_MAX];
	bool open;
};

static void
seal_item(void *arg, int item, int lane)
{
	struct seal_batch *s = arg;
	uint8_t ad[8] = { 1, 2, 3, 4, 5, 6, 7, (uint8_t)item };

	if (s->open)
		s->rc[item] = crypto_aead_open_lane(s->a, lane, (uint64_t)item * 7, ad,
		    sizeof(ad), s->pkt[item], PKT + CRYPTO_TAG_LEN, s->pkt[item]);
	else
		s->rc[item] = crypto_aead_seal_lane(s->a, lane, (uint64_t)item * 7, ad,
		    sizeof(ad), s->pkt[item], PKT, s->pkt[item]);
}

static void
lanes_suite(enum crypto_suite suite)
{
	static struct seal_batch par, seq;
	struct crypto_aead s, o, s1, o1;
	uint8_t key[32];
	struct pool *pl = pool_new(4);

	assert_non_null(pl);
	crypto_random(key, sizeof(key));
	assert_int_equal(crypto_aead_init_lanes(&s, suite, key, true, 4), 0);
	assert_int_equal(crypto_aead_init_lanes(&o, suite, key, false, 4), 0);
	assert_int_equal(crypto_aead_init(&s1, suite, key, true), 0);
	assert_int_equal(crypto_aead_init(&o1, suite, key, false), 0);
	assert_int_equal(s.lanes, 4);
	assert_int_equal(s1.lanes, 1);
	for (int round = 0; round < 50; round++) {
		for (int i = 0; i < ITEMS_MAX; i++) {
			crypto_random(par.pkt[i], PKT);
			memcpy(seq.pkt[i], par.pkt[i], PKT);
		}
		/* Sealed on four lanes at once, and on one lane one by one: the same bytes. */
		par.a = &s;
		par.open = false;
		pool_run(pl, seal_item, &par, ITEMS_MAX);
		seq.a = &s1;
		seq.open = false;
		for (int i = 0; i < ITEMS_MAX; i++)
			seal_item(&seq, i, 0);
		for (int i = 0; i < ITEMS_MAX; i++) {
			assert_int_equal(par.rc[i], 0);
			assert_memory_equal(par.pkt[i], seq.pkt[i], PKT + CRYPTO_TAG_LEN);
		}
		/* Opened on four lanes, one of them forged: only that one fails. */
		par.a = &o;
		par.open = true;
		par.pkt[round % ITEMS_MAX][3] ^= 1;
		pool_run(pl, seal_item, &par, ITEMS_MAX);
		for (int i = 0; i < ITEMS_MAX; i++)
			assert_int_equal(par.rc[i], i == round % ITEMS_MAX ? -1 : 0);
		seq.a = &o1;
		seq.open = true;
		for (int i = 0; i < ITEMS_MAX; i++) {
			seal_item(&seq, i, 0);
			assert_int_equal(seq.rc[i], 0);
			if (i != round % ITEMS_MAX)
				assert_memory_equal(par.pkt[i], seq.pkt[i], PKT);
		}
	}
	/* Lanes the key does not have, and lane counts out of range. */
	assert_int_equal(crypto_aead_seal_lane(&s, 4, 1, NULL, 0, par.pkt[0], 16, par.pkt[0]),
	    -1);
	assert_int_equal(crypto_aead_seal_lane(&s, -1, 1, NULL, 0, par.pkt[0], 16, par.pkt[0]),
	    -1);
	assert_int_equal(crypto_aead_seal_lane(&s1, 1, 1, NULL, 0, par.pkt[0], 16, par.pkt[0]),
	    -1);
	assert_int_equal(crypto_aead_open_lane(&s, 0, 1, NULL, 0, par.pkt[0], 32, par.pkt[0]),
	    -1);
	crypto_aead_free(&s);
	crypto_aead_free(&o);
	crypto_aead_free(&s1);
	crypto_aead_free(&o1);
	assert_int_equal(s.lanes, 0);
	for (int i = 0; i < CRYPTO_LANES_MAX; i++)
		assert_null(s.ctx[i]);
	assert_int_equal(crypto_aead_init_lanes(&s, suite, key, true, 0), -1);
	assert_int_equal(crypto_aead_init_lanes(&s, suite, key, true, CRYPTO_LANES_MAX + 1), -1);
	crypto_aead_free(&s);
	pool_free(pl);
}

static void
test_aesgcm_lanes(void **state)
{
	(void)state;
	lanes_suite(CRYPTO_AESGCM);
}

static void
test_chacha_lanes(void **state)
{
	(void)state;
	lanes_suite(CRYPTO_CHACHAPOLY);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_sizes),
		cmocka_unit_test(test_one_lane_inline),
		cmocka_unit_test(test_every_item_once),
		cmocka_unit_test(test_waits_for_slow_items),
		cmocka_unit_test(test_aesgcm_lanes),
		cmocka_unit_test(test_chacha_lanes),
	};

	if (crypto_init() == -1)
		return 1;
	return cmocka_run_group_tests_name("pool", tests, NULL, NULL);
}
