/*
 * test_hsq.c - the handshake queue: first in, first out across the ring's wrap, a full queue
 * refuses, and the load measure (on from HSQ_LOAD waiting initiations, for HSQ_LOAD_LINGER ms
 * after the queue was last that long).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "hsq.h"

#define T0 UINT64_C(1000000) /* an arbitrary monotonic start, in ms */

static int
setup(void **state)
{
	struct hsq *q = malloc(sizeof(*q));

	if (q == NULL)
		return -1;
	hsq_init(q);
	*state = q;
	return 0;
}

static int
teardown(void **state)
{
	free(*state);
	return 0;
}

/* Initiation number k: its bytes, its source 192.0.2.(k % 250):(1000 + k), connection k. */
static void
item(unsigned k, uint8_t msg[WIRE_INIT_LEN], struct sockaddr_in *src)
{
	for (size_t i = 0; i < WIRE_INIT_LEN; i++)
		msg[i] = (uint8_t)(k * 7 + i);
	memset(src, 0, sizeof(*src));
	src->sin_family = AF_INET;
	src->sin_port = htons((uint16_t)(1000 + k));
	src->sin_addr.s_addr = htonl(0xc0000200u | (k % 250));
}

static bool
push(struct hsq *q, unsigned k, uint64_t now)
{
	uint8_t msg[WIRE_INIT_LEN];
	struct sockaddr_in src;

	item(k, msg, &src);
	return hsq_push(q, msg, (const struct sockaddr *)&src, sizeof(src), k, now);
}

/* The popped item is initiation k, every field copied. */
static void
check_item(const struct hsq_item *it, unsigned k)
{
	uint8_t msg[WIRE_INIT_LEN];
	struct sockaddr_in src;

	assert_non_null(it);
	item(k, msg, &src);
	assert_memory_equal(it->msg, msg, WIRE_INIT_LEN);
	assert_int_equal(it->srclen, sizeof(src));
	assert_memory_equal(&it->src, &src, sizeof(src));
	assert_int_equal(it->conn, k);
}

/* Items leave in the order they came, also when the ring wraps many times. */
static void
test_fifo(void **state)
{
	struct hsq *q = *state;
	unsigned in = 0, out = 0;

	assert_null(hsq_pop(q));
	for (int k = 0; k < 10; k++)
		assert_true(push(q, in++, T0));
	assert_int_equal(hsq_len(q), 10);
	for (int k = 0; k < 10; k++)
		check_item(hsq_pop(q), out++);
	assert_null(hsq_pop(q));
	assert_int_equal(hsq_len(q), 0);
	/* Three items in, two out, until the ring has wrapped several times. */
	while (in < 4 * HSQ_CAP) {
		for (int k = 0; k < 3 && hsq_len(q) < HSQ_CAP; k++)
			assert_true(push(q, in++, T0));
		for (int k = 0; k < 2; k++)
			check_item(hsq_pop(q), out++);
	}
	while (hsq_len(q) > 0)
		check_item(hsq_pop(q), out++);
	assert_int_equal(in, out);
}

/* A full queue refuses (the initiation is dropped) until an item leaves. */
static void
test_full(void **state)
{
	struct hsq *q = *state;

	for (unsigned k = 0; k < HSQ_CAP; k++)
		assert_true(push(q, k, T0));
	assert_int_equal(hsq_len(q), HSQ_CAP);
	assert_false(push(q, 9999, T0));
	assert_false(push(q, 9999, T0));
	assert_int_equal(hsq_len(q), HSQ_CAP);
	check_item(hsq_pop(q), 0);
	assert_true(push(q, HSQ_CAP, T0));
	assert_false(push(q, 9999, T0));
	/* The refused ones never show up. */
	for (unsigned k = 1; k <= HSQ_CAP; k++)
		check_item(hsq_pop(q), k);
	assert_null(hsq_pop(q));
}

/* A source address longer than any socket address is refused. */
static void
test_source_too_long(void **state)
{
	struct hsq *q = *state;
	uint8_t msg[WIRE_INIT_LEN] = { 0 };
	uint8_t big[sizeof(struct sockaddr_storage) + 8] = { 0 };

	assert_false(hsq_push(q, msg, (const struct sockaddr *)big, sizeof(big), 0, T0));
	assert_int_equal(hsq_len(q), 0);
}

/* Load starts when HSQ_LOAD initiations wait, and lingers HSQ_LOAD_LINGER ms after the queue
 * drained; while it stays that long the linger keeps being renewed. */
static void
test_load(void **state)
{
	struct hsq *q = *state;
	uint64_t t = T0 + 500;

	assert_false(hsq_under_load(q, T0));
	for (unsigned k = 0; k < HSQ_LOAD - 1; k++)
		assert_true(push(q, k, T0));
	assert_false(hsq_under_load(q, T0));
	assert_false(hsq_under_load(q, T0 + 100000));
	assert_true(push(q, HSQ_LOAD, t));
	assert_int_equal(hsq_len(q), HSQ_LOAD);
	assert_true(hsq_under_load(q, t));
	/* Still that long later: the load mark moves with it. */
	t += 5000;
	assert_true(hsq_under_load(q, t));
	/* One leaves: below the threshold, the linger runs from the last time it was loaded. */
	assert_non_null(hsq_pop(q));
	assert_true(hsq_under_load(q, t + 1));
	while (hsq_len(q) > 0)
		assert_non_null(hsq_pop(q));
	assert_true(hsq_under_load(q, t + HSQ_LOAD_LINGER - 1));
	assert_false(hsq_under_load(q, t + HSQ_LOAD_LINGER));
	assert_false(hsq_under_load(q, t + 10 * HSQ_LOAD_LINGER));
	/* A new wave. */
	t += 20000;
	for (unsigned k = 0; k < HSQ_LOAD; k++)
		assert_true(push(q, k, t));
	assert_true(hsq_under_load(q, t));
}

/* The queue is the measure even when the clock reads 0 (pure module: any `now` is valid). */
static void
test_load_at_time_zero(void **state)
{
	struct hsq *q = *state;

	for (unsigned k = 0; k < HSQ_LOAD; k++)
		assert_true(push(q, k, 0));
	assert_true(hsq_under_load(q, 0));
	while (hsq_len(q) > 0)
		assert_non_null(hsq_pop(q));
	assert_true(hsq_under_load(q, HSQ_LOAD_LINGER - 1));
	assert_false(hsq_under_load(q, HSQ_LOAD_LINGER + 1));
}

/* Refused pushes of a full queue keep the load on. */
static void
test_full_keeps_load(void **state)
{
	struct hsq *q = *state;
	uint64_t t = T0;

	for (unsigned k = 0; k < HSQ_CAP; k++)
		assert_true(push(q, k, t));
	t += 3000;
	assert_false(push(q, 9999, t));
	while (hsq_len(q) > 0)
		assert_non_null(hsq_pop(q));
	assert_true(hsq_under_load(q, t + HSQ_LOAD_LINGER - 1));
	assert_false(hsq_under_load(q, t + HSQ_LOAD_LINGER));
}

int
main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_fifo),
		T(test_full),
		T(test_source_too_long),
		T(test_load),
		T(test_load_at_time_zero),
		T(test_full_keeps_load),
	};
#undef T

	return cmocka_run_group_tests_name("hsq", tests, NULL, NULL);
}
