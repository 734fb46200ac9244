/*
 * test_hmap.c - the hash multimap through its public API: values sharing a hash, removal marks
 * that keep probe chains intact, growth that keeps every entry, a walk that sees each value
 * once, and a random sequence of operations checked against a plain array.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hmap.h"

#define POOL 4096
static char pool[POOL]; /* distinct addresses to store as values */

#define V(i) ((void *)&pool[(i)])

/* How many times value v is stored under hash h, counted through hmap_next. */
static int
count_under(const struct hmap *m, uint64_t h, const void *v)
{
	size_t cur = 0;
	void *x;
	int n = 0;

	while ((x = hmap_next(m, h, &cur)) != NULL)
		if (x == v)
			n++;
	return n;
}

/* How many values hmap_next finds under h, whatever they are. */
static int
total_under(const struct hmap *m, uint64_t h)
{
	size_t cur = 0;
	int n = 0;

	while (hmap_next(m, h, &cur) != NULL)
		n++;
	return n;
}

static bool
power_of_two(size_t x)
{
	return x != 0 && (x & (x - 1)) == 0;
}

/* An empty map answers every question with nothing and allocates nothing. */
static void
test_empty(void **state)
{
	struct hmap m;
	size_t pos = 0, cur = 0;

	(void)state;
	hmap_init(&m);
	assert_int_equal(m.cap, 0);
	assert_null(m.slots);
	assert_null(hmap_next(&m, 42, &cur));
	assert_null(hmap_each(&m, &pos));
	assert_false(hmap_remove(&m, 42, V(0)));
	hmap_free(&m);
	hmap_free(&m); /* twice is harmless: free leaves an empty map */
}

/* Insert, find and remove values under distinct hashes. */
static void
test_insert_lookup_remove(void **state)
{
	struct hmap m;

	(void)state;
	hmap_init(&m);
	for (int i = 0; i < 10; i++)
		assert_int_equal(hmap_insert(&m, hmap_hash_u64((uint64_t)i), V(i)), 0);
	assert_int_equal(m.count, 10);
	for (int i = 0; i < 10; i++) {
		assert_int_equal(count_under(&m, hmap_hash_u64((uint64_t)i), V(i)), 1);
		assert_int_equal(total_under(&m, hmap_hash_u64((uint64_t)i)), 1);
	}
	assert_int_equal(total_under(&m, hmap_hash_u64(10)), 0);
	/* Removal wants the exact pair: the right hash with another value is not there. */
	assert_false(hmap_remove(&m, hmap_hash_u64(3), V(4)));
	assert_true(hmap_remove(&m, hmap_hash_u64(3), V(3)));
	assert_false(hmap_remove(&m, hmap_hash_u64(3), V(3)));
	assert_int_equal(m.count, 9);
	assert_int_equal(total_under(&m, hmap_hash_u64(3)), 0);
	for (int i = 0; i < 10; i++)
		if (i != 3)
			assert_int_equal(count_under(&m, hmap_hash_u64((uint64_t)i), V(i)), 1);
	hmap_free(&m);
}

/* Many values under one hash: every one is found, removing one leaves the others, and the
 * same pair stored twice is two entries. */
static void
test_shared_hash(void **state)
{
	const uint64_t h = UINT64_C(0xdeadbeefcafe);
	struct hmap m;

	(void)state;
	hmap_init(&m);
	for (int i = 0; i < 20; i++)
		assert_int_equal(hmap_insert(&m, h, V(i)), 0);
	/* A neighbour hash in the same bucket must not show up under h. */
	assert_int_equal(hmap_insert(&m, h + 1, V(100)), 0);
	assert_int_equal(total_under(&m, h), 20);
	for (int i = 0; i < 20; i++)
		assert_int_equal(count_under(&m, h, V(i)), 1);
	assert_int_equal(count_under(&m, h, V(100)), 0);
	assert_true(hmap_remove(&m, h, V(7)));
	assert_int_equal(total_under(&m, h), 19);
	assert_int_equal(count_under(&m, h, V(7)), 0);
	assert_int_equal(count_under(&m, h + 1, V(100)), 1);

	assert_int_equal(hmap_insert(&m, h, V(3)), 0);
	assert_int_equal(count_under(&m, h, V(3)), 2);
	assert_true(hmap_remove(&m, h, V(3)));
	assert_int_equal(count_under(&m, h, V(3)), 1);
	hmap_free(&m);
}

/* Hashes that collide in the low bits form one probe chain: removing entries at its start
 * and middle leaves a mark, and everything behind the mark is still found. */
static void
test_removal_marks_keep_chains(void **state)
{
	struct hmap m;
	uint64_t h[6];

	(void)state;
	hmap_init(&m);
	assert_int_equal(hmap_insert(&m, 5, V(0)), 0);
	assert_true(power_of_two(m.cap));
	/* Same bucket for any capacity up to 2^32: only the high bits differ. */
	for (int i = 0; i < 6; i++)
		h[i] = 5 + ((uint64_t)(i + 1) << 32);
	for (int i = 0; i < 6; i++)
		assert_int_equal(hmap_insert(&m, h[i], V(i + 1)), 0);
	/* A value of the next bucket lands behind the chain. */
	assert_int_equal(hmap_insert(&m, 6, V(50)), 0);

	assert_true(hmap_remove(&m, 5, V(0)));       /* the head of the chain */
	assert_true(hmap_remove(&m, h[2], V(3)));    /* the middle */
	for (int i = 0; i < 6; i++)
		assert_int_equal(count_under(&m, h[i], V(i + 1)), i == 2 ? 0 : 1);
	assert_int_equal(count_under(&m, 6, V(50)), 1);
	assert_int_equal(total_under(&m, 5), 0);
	/* A mark is reused by the next insert; the chain still holds. */
	assert_int_equal(hmap_insert(&m, h[2], V(3)), 0);
	for (int i = 0; i < 6; i++)
		assert_int_equal(count_under(&m, h[i], V(i + 1)), 1);
	assert_true(hmap_remove(&m, h[5], V(6))); /* the tail */
	assert_int_equal(count_under(&m, 6, V(50)), 1);
	assert_int_equal(m.count, 6);
	hmap_free(&m);
}

/* Growth rehashes into larger tables and keeps every entry; the table stays a power of two
 * with a quarter or more of its slots empty. */
static void
test_growth(void **state)
{
	struct hmap m;
	size_t last_cap = 0;
	int grew = 0;

	(void)state;
	hmap_init(&m);
	for (int i = 0; i < POOL; i++) {
		/* Every fourth value shares its hash with the one before. */
		uint64_t h = hmap_hash_u64((uint64_t)(i - (i % 4 == 3)));

		assert_int_equal(hmap_insert(&m, h, V(i)), 0);
		assert_true(power_of_two(m.cap));
		assert_true(m.used * 4 <= m.cap * 3);
		if (m.cap != last_cap) {
			grew++;
			last_cap = m.cap;
			/* Right after a growth, every value so far is still there. */
			for (int k = 0; k <= i; k++)
				assert_int_equal(count_under(&m, hmap_hash_u64((uint64_t)(k -
				    (k % 4 == 3))), V(k)), 1);
		}
	}
	assert_true(grew >= 8);
	assert_int_equal(m.count, POOL);
	for (int k = 0; k < POOL; k++)
		assert_int_equal(count_under(&m, hmap_hash_u64((uint64_t)(k - (k % 4 == 3))),
		    V(k)), 1);
	hmap_free(&m);
}

/* Inserting and removing forever with few live values: the removal marks are swept by the
 * rehash, so the table does not grow without bound and every lookup still ends. */
static void
test_churn_stays_small(void **state)
{
	struct hmap m;

	(void)state;
	hmap_init(&m);
	for (int i = 0; i < 100000; i++) {
		uint64_t h = hmap_hash_u64((uint64_t)i);

		assert_int_equal(hmap_insert(&m, h, V(i % POOL)), 0);
		if (i >= 8)
			assert_true(hmap_remove(&m, hmap_hash_u64((uint64_t)(i - 8)),
			    V((i - 8) % POOL)));
		assert_true(m.count <= 9);
	}
	assert_true(m.cap <= 64);
	for (int i = 100000 - 8; i < 100000; i++)
		assert_int_equal(count_under(&m, hmap_hash_u64((uint64_t)i), V(i % POOL)), 1);
	hmap_free(&m);
}

/* hmap_each returns every stored value exactly once and never a removed one. */
static void
test_each_once(void **state)
{
	static int seen[POOL];
	struct hmap m;
	size_t pos = 0;
	void *v;
	int n = 0;

	(void)state;
	memset(seen, 0, sizeof(seen));
	hmap_init(&m);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(hmap_insert(&m, (uint64_t)(i % 37), V(i)), 0);
	for (int i = 0; i < 1000; i += 3)
		assert_true(hmap_remove(&m, (uint64_t)(i % 37), V(i)));
	while ((v = hmap_each(&m, &pos)) != NULL) {
		ptrdiff_t k = (char *)v - pool;

		assert_true(k >= 0 && k < 1000);
		seen[k]++;
		n++;
	}
	assert_int_equal(n, m.count);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(seen[i], i % 3 == 0 ? 0 : 1);
	assert_null(hmap_each(&m, &pos)); /* stays at the end */
	hmap_free(&m);
}

/* The hash helpers are deterministic and tell inputs apart. */
static void
test_hash_helpers(void **state)
{
	const char a[] = "alice", b[] = "alicf";

	(void)state;
	assert_int_equal(hmap_hash_u64(12345), hmap_hash_u64(12345));
	assert_int_not_equal(hmap_hash_u64(0), hmap_hash_u64(1));
	assert_int_not_equal(hmap_hash_u64(1), hmap_hash_u64(UINT64_C(1) << 32));
	assert_int_equal(hmap_hash_bytes(a, 5), hmap_hash_bytes("alice", 5));
	assert_int_not_equal(hmap_hash_bytes(a, 5), hmap_hash_bytes(b, 5));
	assert_int_not_equal(hmap_hash_bytes(a, 4), hmap_hash_bytes(a, 5));
	assert_int_not_equal(hmap_hash_bytes(a, 0), hmap_hash_bytes(a, 1));
}

/* A small deterministic generator, so that a failure can be replayed. */
static uint64_t rng_state;

static uint64_t
rng(void)
{
	uint64_t x = rng_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	rng_state = x;
	return x;
}

struct pair {
	uint64_t hash;
	void *value;
};

/* Random inserts, removals (present and absent), lookups and walks against a plain array of
 * (hash, value) pairs. The hashes come from a small set, many sharing their low bits, so that
 * chains, marks and shared hashes are the common case; values may repeat. */
static void
test_model(void **state)
{
	static struct pair model[20000];
	static int tally[POOL];
	uint64_t hashes[48];
	struct hmap m;
	size_t n = 0;

	(void)state;
	for (int seed = 1; seed <= 4; seed++) {
		rng_state = UINT64_C(0x9e3779b97f4a7c15) * (uint64_t)seed;
		for (size_t i = 0; i < 48; i++)
			hashes[i] = i < 16 ? (rng() << 12) | 7 : rng(); /* 16 share a bucket */
		hmap_init(&m);
		n = 0;
		for (int op = 0; op < 60000; op++) {
			uint64_t r = rng();
			uint64_t h = hashes[(r >> 8) % 48];
			void *v = V((r >> 20) % 64);

			switch (r % 8) {
			case 0: case 1: case 2: /* insert */
				if (n == sizeof(model) / sizeof(model[0]))
					break;
				assert_int_equal(hmap_insert(&m, h, v), 0);
				model[n].hash = h;
				model[n++].value = v;
				break;
			case 3: case 4: { /* remove a present pair */
				size_t k;

				if (n == 0)
					break;
				k = (size_t)(r >> 32) % n;
				assert_true(hmap_remove(&m, model[k].hash, model[k].value));
				model[k] = model[--n];
				break;
			}
			case 5: { /* remove a pair that may be absent */
				bool present = false;

				for (size_t k = 0; k < n && !present; k++)
					if (model[k].hash == h && model[k].value == v) {
						present = true;
						model[k] = model[--n];
					}
				assert_int_equal(hmap_remove(&m, h, v), present);
				break;
			}
			default: { /* look up: the same multiset of values under h */
				size_t cur = 0;
				void *x;
				int want = 0, got = 0;

				memset(tally, 0, sizeof(tally));
				for (size_t k = 0; k < n; k++)
					if (model[k].hash == h) {
						tally[(char *)model[k].value - pool]++;
						want++;
					}
				while ((x = hmap_next(&m, h, &cur)) != NULL) {
					tally[(char *)x - pool]--;
					got++;
				}
				assert_int_equal(got, want);
				for (int k = 0; k < 64; k++)
					assert_int_equal(tally[k], 0);
				break;
			}
			}
			assert_int_equal(m.count, n);
			if (op % 5000 == 0) {
				size_t pos = 0, walked = 0;

				while (hmap_each(&m, &pos) != NULL)
					walked++;
				assert_int_equal(walked, n);
			}
		}
		hmap_free(&m);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_insert_lookup_remove),
		cmocka_unit_test(test_shared_hash),
		cmocka_unit_test(test_removal_marks_keep_chains),
		cmocka_unit_test(test_growth),
		cmocka_unit_test(test_churn_stays_small),
		cmocka_unit_test(test_each_once),
		cmocka_unit_test(test_hash_helpers),
		cmocka_unit_test(test_model),
	};

	return cmocka_run_group_tests_name("hmap", tests, NULL, NULL);
}
