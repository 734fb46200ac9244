/* test_buf.c - packet buffer: headroom, push/pull/put/trim, and abort on out-of-bounds use. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"

/* One buffer per test, on the heap: BUF_CAP is too large for comfort on a test stack. */
static int
setup(void **state)
{
	struct buf *b = malloc(sizeof(*b));

	if (b == NULL)
		return -1;
	memset(b, 0xcc, sizeof(*b));
	buf_reset(b);
	*state = b;
	return 0;
}

static int
teardown(void **state)
{
	free(*state);
	return 0;
}

/* Room for a 9000 MTU frame with a VLAN tag, its LZ4 worst case, headers and the tag. */
_Static_assert(BUF_CAP >= BUF_HEADROOM + BUF_MAX_FRAME + BUF_MAX_FRAME / 255 + 16 + 16,
    "BUF_CAP holds a jumbo frame, its LZ4 worst case, headers and the tag");
_Static_assert(BUF_HEADROOM >= 16 + 1 + 2, "headroom for data header, inner header, TCP prefix");

static void
test_reset(void **state)
{
	struct buf *b = *state;

	b->off = 3;
	b->len = 1000;
	buf_reset(b);
	assert_int_equal(b->off, BUF_HEADROOM);
	assert_int_equal(b->len, 0);
	assert_ptr_equal(buf_data(b), b->mem + BUF_HEADROOM);
	assert_int_equal(buf_tailroom(b), BUF_CAP - BUF_HEADROOM);
}

static void
test_put(void **state)
{
	struct buf *b = *state;
	uint8_t *p, *q;

	p = buf_put(b, 100);
	assert_ptr_equal(p, b->mem + BUF_HEADROOM);
	assert_int_equal(b->len, 100);
	memset(p, 1, 100);
	q = buf_put(b, 50);
	assert_ptr_equal(q, p + 100);
	assert_int_equal(b->len, 150);
	assert_int_equal(buf_tailroom(b), BUF_CAP - BUF_HEADROOM - 150);
	/* put 0 is a no-op that still returns the end. */
	assert_ptr_equal(buf_put(b, 0), p + 150);
	assert_int_equal(b->len, 150);
	/* Exactly all the tailroom is allowed. */
	q = buf_put(b, buf_tailroom(b));
	assert_ptr_equal(q, p + 150);
	assert_int_equal(buf_tailroom(b), 0);
	assert_int_equal(b->off + b->len, BUF_CAP);
	assert_ptr_equal(buf_put(b, 0), b->mem + BUF_CAP);
}

static void
test_push_pull(void **state)
{
	struct buf *b = *state;
	uint8_t *frame, *p;
	size_t tail;

	frame = buf_put(b, 1400);
	memset(frame, 0xab, 1400);
	tail = buf_tailroom(b);

	/* Headers pushed in front: the frame does not move, tailroom is unchanged. */
	p = buf_push(b, 1);
	assert_ptr_equal(p, frame - 1);
	*p = 0x02;
	p = buf_push(b, 16);
	assert_ptr_equal(p, frame - 17);
	assert_ptr_equal(buf_data(b), p);
	assert_int_equal(b->len, 1417);
	assert_int_equal(buf_tailroom(b), tail);

	/* Pull returns the old front and undoes the push. */
	assert_ptr_equal(buf_pull(b, 16), frame - 17);
	assert_ptr_equal(buf_data(b), frame - 1);
	assert_int_equal(*buf_data(b), 0x02);
	assert_ptr_equal(buf_pull(b, 1), frame - 1);
	assert_ptr_equal(buf_data(b), frame);
	assert_int_equal(b->len, 1400);
	assert_int_equal(buf_data(b)[0], 0xab);
	assert_int_equal(buf_tailroom(b), tail);

	/* All the headroom may be used. */
	p = buf_push(b, BUF_HEADROOM);
	assert_ptr_equal(p, b->mem);
	assert_int_equal(b->off, 0);
	assert_int_equal(b->len, 1400 + BUF_HEADROOM);
	assert_ptr_equal(buf_push(b, 0), b->mem);

	/* Pull everything: empty, data points at the end of what was there. */
	assert_ptr_equal(buf_pull(b, b->len), b->mem);
	assert_int_equal(b->len, 0);
	assert_int_equal(b->off, 1400 + BUF_HEADROOM);
}

static void
test_trim(void **state)
{
	struct buf *b = *state;
	uint8_t *p = buf_put(b, 200);
	size_t tail = buf_tailroom(b);

	buf_trim(b, 200); /* same length: allowed, no change */
	assert_int_equal(b->len, 200);
	buf_trim(b, 60);
	assert_int_equal(b->len, 60);
	assert_ptr_equal(buf_data(b), p);
	assert_int_equal(buf_tailroom(b), tail + 140);
	buf_trim(b, 0);
	assert_int_equal(b->len, 0);
	assert_ptr_equal(buf_data(b), p);
}

enum op { OP_PUSH, OP_PULL, OP_PUT, OP_TRIM };

/* Run op(n) on a buffer holding len bytes in a child; true if the child died of SIGABRT. */
static bool
aborts(enum op op, size_t len, size_t n)
{
	struct buf *b;
	pid_t pid;
	int status;

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		b = malloc(sizeof(*b));
		if (b == NULL)
			_exit(2);
		buf_reset(b);
		buf_put(b, len);
		switch (op) {
		case OP_PUSH:
			buf_push(b, n);
			break;
		case OP_PULL:
			buf_pull(b, n);
			break;
		case OP_PUT:
			buf_put(b, n);
			break;
		case OP_TRIM:
			buf_trim(b, n);
			break;
		}
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFEXITED(status)) {
		assert_int_equal(WEXITSTATUS(status), 0);
		return false;
	}
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT);
	return true;
}

static void
test_bounds_abort(void **state)
{
	const size_t room = BUF_CAP - BUF_HEADROOM - 100;

	/* The largest legal call, then one more byte, for every operation. */
	assert_false(aborts(OP_PUSH, 100, BUF_HEADROOM));
	assert_true(aborts(OP_PUSH, 100, BUF_HEADROOM + 1));
	assert_true(aborts(OP_PUSH, 100, SIZE_MAX));
	assert_false(aborts(OP_PULL, 100, 100));
	assert_true(aborts(OP_PULL, 100, 101));
	assert_true(aborts(OP_PULL, 0, 1));
	assert_true(aborts(OP_PULL, 100, SIZE_MAX));
	assert_false(aborts(OP_PUT, 100, room));
	assert_true(aborts(OP_PUT, 100, room + 1));
	assert_true(aborts(OP_PUT, 100, SIZE_MAX));
	assert_false(aborts(OP_TRIM, 100, 100));
	assert_true(aborts(OP_TRIM, 100, 101));
	assert_true(aborts(OP_TRIM, 0, 1));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_put, setup, teardown),
		cmocka_unit_test_setup_teardown(test_push_pull, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trim, setup, teardown),
		cmocka_unit_test(test_bounds_abort),
	};

	return cmocka_run_group_tests_name("buf", tests, NULL, NULL);
}
