/*
 * test_transport.c - the TCP framing through the real tcp_fill, tcp_next_message, tcp_queue and
 * tcp_flush, on one end of a socketpair(AF_UNIX, SOCK_STREAM): the test writes a byte stream
 * into the other end in pieces and checks what comes out, with the buffers of a peer's
 * connection and with the small ones of a connection nobody has identified yet. A length of 0
 * or above WIRE_MSG_MAX must be reported as soon as its prefix is complete, before any body
 * arrives, and nothing past it may ever be taken out: the bound is what keeps a 64 KB frame from
 * an unauthenticated client out of a buffer that holds WIRE_MSG_MAX.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "transport.h"
#include "wire.h"

#define MAX_FRAMES 64
#define PFX WIRE_TCP_PREFIX_LEN

/* A byte stream of frames, and where each message sits in it. */
struct stream {
	uint8_t *p;
	size_t len;
	int n;
	size_t msg_off[MAX_FRAMES]; /* first byte of message i (behind its prefix) */
	size_t msg_len[MAX_FRAMES];
};

struct fx {
	struct tcp_conn *c; /* c->fd is one end of the socketpair */
	int peer;           /* the other end: the test writes and reads there */
	struct buf b;
	struct stream s;
	int taken; /* messages of s taken out so far */
};

/* A connection on a socketpair with buffers of rx_cap and tx_cap bytes. */
static int
setup_sized(void **state, size_t rx_cap, size_t tx_cap)
{
	struct fx *f = calloc(1, sizeof(*f));
	int sv[2];

	if (f == NULL || (f->c = calloc(1, sizeof(*f->c))) == NULL)
		return -1;
	f->c->fd = -1;
	if (tcp_conn_buffers(f->c, rx_cap, tx_cap) == -1)
		return -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == -1)
		return -1;
	f->c->fd = sv[0];
	f->peer = sv[1];
	f->s.p = malloc(4 * 65537);
	if (f->s.p == NULL)
		return -1;
	*state = f;
	return 0;
}

/* The buffers of a connection that carries a peer. */
static int
setup(void **state)
{
	return setup_sized(state, TCP_RX_CAP, TCP_TX_CAP);
}

/* The buffers of an accepted connection before a handshake identified it. */
static int
setup_small(void **state)
{
	return setup_sized(state, TCP_RX_SMALL, TCP_TX_SMALL);
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	tcp_close(f->c);
	tcp_conn_free(f->c);
	if (f->peer != -1)
		close(f->peer);
	free(f->s.p);
	free(f->c);
	free(f);
	return 0;
}

/* Append a frame with prefix `prefix` and `body` bytes of a pattern that differs per frame. */
static void
add_frame(struct stream *s, size_t prefix, size_t body)
{
	assert_true(s->n < MAX_FRAMES);
	assert_true(s->len + PFX + body <= 4 * 65537);
	wire_put16(s->p + s->len, (uint16_t)prefix);
	s->msg_off[s->n] = s->len + PFX;
	s->msg_len[s->n] = prefix;
	for (size_t j = 0; j < body; j++)
		s->p[s->len + PFX + j] = (uint8_t)(s->n * 37 + j * 11 + 1);
	s->len += PFX + body;
	s->n++;
}

/* Messages of s that lie wholly within its first k bytes. */
static int
complete_in(const struct stream *s, size_t k)
{
	int i = 0;

	while (i < s->n && s->msg_off[i] + s->msg_len[i] <= k)
		i++;
	return i;
}

/* Write p[0..n) into the peer end; the socket must take all of it. */
static void
feed(struct fx *f, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(f->peer, p, n);

		assert_true(w > 0);
		p += w;
		n -= (size_t)w;
	}
}

/* tcp_fill until it reads nothing more; returns its last result (0, or -1 at EOF). */
static ssize_t
fill(struct fx *f)
{
	ssize_t n;

	while ((n = tcp_fill(f->c)) > 0)
		;
	return n;
}

/* Take out every complete message; each must be the next one of f->s, byte for byte. Returns
 * tcp_next_message's final result: 0, or -1 for a corrupt stream. */
static int
drain(struct fx *f)
{
	int rc;

	while ((rc = tcp_next_message(f->c, &f->b)) == 1) {
		assert_true(f->taken < f->s.n);
		assert_int_equal(f->b.len, f->s.msg_len[f->taken]);
		assert_memory_equal(buf_data(&f->b), f->s.p + f->s.msg_off[f->taken], f->b.len);
		f->taken++;
	}
	assert_int_equal(rc == 0 || rc == -1, 1);
	return rc;
}

/* Read and take out in turns until the socket is empty or the stream is corrupt (a receive
 * buffer smaller than what waits needs several turns). Returns drain's last result. */
static int
pump(struct fx *f)
{
	int rc, before;

	do {
		before = f->taken;
		assert_int_equal(fill(f), 0);
		rc = drain(f);
	} while (rc == 0 && f->taken > before);
	return rc;
}

/* Forget what the connection holds, keeping its socket, for the next run over the stream. */
static void
restart(struct fx *f)
{
	uint8_t junk[4096];

	while (read(f->c->fd, junk, sizeof(junk)) > 0)
		;
	f->c->rx_off = 0;
	f->c->rx_len = 0;
	f->taken = 0;
}

/* Valid frames: the smallest, the bound, and lengths whose prefix has a zero byte. */
static void
valid_stream(struct stream *s)
{
	static const size_t lens[] = { 1, WIRE_MSG_MAX, 1, 2, 255, 256 };

	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
		add_frame(s, lens[i], lens[i]);
}

/* The valid stream cut in two at every byte position: each message comes out exactly once, as
 * soon as its last byte is in. */
static void
test_split_everywhere(void **state)
{
	struct fx *f = *state;

	valid_stream(&f->s);
	for (size_t k = 0; k <= f->s.len; k++) {
		restart(f);
		feed(f, f->s.p, k);
		assert_int_equal(pump(f), 0);
		assert_int_equal(f->taken, complete_in(&f->s, k));
		feed(f, f->s.p + k, f->s.len - k);
		assert_int_equal(pump(f), 0);
		assert_int_equal(f->taken, f->s.n);
		assert_int_equal(f->c->rx_len, 0);
	}
}

/* The same stream one byte per read. */
static void
test_byte_by_byte(void **state)
{
	struct fx *f = *state;

	valid_stream(&f->s);
	for (size_t k = 0; k < f->s.len; k++) {
		feed(f, f->s.p + k, 1);
		assert_int_equal(tcp_fill(f->c), 1);
		assert_int_equal(drain(f), 0);
		assert_int_equal(f->taken, complete_in(&f->s, k + 1));
	}
	assert_int_equal(f->taken, f->s.n);
}

/*
 * A valid frame, then a corrupt length, then bytes that would parse as valid 1-byte frames if
 * the framing skipped or resynchronised past the bad prefix. Cut at every position: the valid
 * message comes out; -1 comes exactly when the bad prefix is complete, and stays; nothing behind
 * it is taken out and the message buffer is left alone.
 */
static void
corrupt_everywhere(struct fx *f, size_t bad)
{
	static struct buf untouched;
	size_t bad_end;
	int rc;

	f->s.len = 0;
	f->s.n = 0;
	memset(&untouched, 0xa5, sizeof(untouched));
	add_frame(&f->s, 5, 5);
	bad_end = f->s.len + PFX;
	add_frame(&f->s, bad, 0);
	for (int i = 0; i < 40; i++)
		add_frame(&f->s, 1, 1);
	for (size_t k = 0; k <= f->s.len; k++) {
		restart(f);
		feed(f, f->s.p, k);
		rc = pump(f);
		assert_int_equal(f->taken, k >= f->s.msg_off[1] - PFX ? 1 : 0);
		assert_int_equal(rc, k >= bad_end ? -1 : 0);
		if (rc == -1) {
			/* The bad prefix stays at the head of the buffer, unconsumed, and asking
			 * again leaves the message buffer alone. */
			assert_int_equal(wire_get16(f->c->rx + f->c->rx_off), bad);
			assert_int_equal(f->c->rx_len, k - (bad_end - PFX));
			memset(&f->b, 0xa5, sizeof(f->b));
			assert_int_equal(tcp_next_message(f->c, &f->b), -1);
			assert_memory_equal(&f->b, &untouched, sizeof(f->b));
		}
		feed(f, f->s.p + k, f->s.len - k);
		assert_int_equal(fill(f), 0);
		assert_int_equal(drain(f), -1);
		assert_int_equal(drain(f), -1);
		assert_int_equal(f->taken, 1);
	}
}

static void
test_corrupt_zero(void **state)
{
	corrupt_everywhere(*state, 0);
}

static void
test_corrupt_bound_plus_one(void **state)
{
	corrupt_everywhere(*state, WIRE_MSG_MAX + 1);
}

static void
test_corrupt_65535(void **state)
{
	corrupt_everywhere(*state, 65535);
}

/* An oversized frame with its whole body behind it (what a hostile client sends): -1, the
 * buffer holds it all and nothing comes out. */
static void
test_corrupt_whole_body(void **state)
{
	struct fx *f = *state;
	size_t bad[] = { WIRE_MSG_MAX + 1, 65535 };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		restart(f);
		f->s.len = 0;
		f->s.n = 0;
		add_frame(&f->s, bad[i], bad[i]);
		add_frame(&f->s, 1, 1);
		feed(f, f->s.p, f->s.len);
		assert_int_equal(fill(f), 0);
		assert_int_equal(f->c->rx_len,
		    f->s.len < f->c->rx_cap ? f->s.len : f->c->rx_cap);
		assert_int_equal(drain(f), -1);
		assert_int_equal(f->taken, 0);
	}
}

/* Many messages that arrive in one read come out one after the other. */
static void
test_back_to_back(void **state)
{
	struct fx *f = *state;

	for (int i = 0; i < 12; i++)
		add_frame(&f->s, (size_t)(1 + i * 797), (size_t)(1 + i * 797));
	add_frame(&f->s, WIRE_MSG_MAX, WIRE_MSG_MAX);
	for (int i = 0; i < 30; i++)
		add_frame(&f->s, 1, 1);
	assert_true(f->s.len <= TCP_RX_CAP);
	feed(f, f->s.p, f->s.len);
	assert_int_equal(tcp_fill(f->c), (ssize_t)f->s.len);
	assert_int_equal(drain(f), 0);
	assert_int_equal(f->taken, f->s.n);
	assert_int_equal(f->c->rx_len, 0);
	assert_int_equal(f->c->rx_off, 0);
}

/* More bytes waiting than the receive buffer holds: it fills up, tcp_fill then reads nothing
 * until a message is taken out, and every message still comes out once, in order. */
static void
test_ring_full(void **state)
{
	struct fx *f = *state;
	size_t written = 0;
	ssize_t w;

	for (int i = 0; i < 16; i++)
		add_frame(&f->s, WIRE_MSG_MAX, WIRE_MSG_MAX);
	assert_true(f->s.len > TCP_RX_CAP);
	/* Write what the socket takes, fill, and again, until the buffer is full. */
	while (f->c->rx_len < TCP_RX_CAP) {
		w = write(f->peer, f->s.p + written, f->s.len - written);
		if (w > 0)
			written += (size_t)w;
		assert_int_equal(fill(f), 0);
		assert_true(written < f->s.len || f->c->rx_len == TCP_RX_CAP);
	}
	assert_int_equal(f->c->rx_len, TCP_RX_CAP);
	feed(f, f->s.p + written, f->s.len - written);
	/* Full: nothing is read, nothing is lost. */
	assert_int_equal(tcp_fill(f->c), 0);
	assert_int_equal(f->c->rx_len, TCP_RX_CAP);
	assert_int_equal(tcp_next_message(f->c, &f->b), 1);
	assert_int_equal(f->b.len, WIRE_MSG_MAX);
	assert_memory_equal(buf_data(&f->b), f->s.p + f->s.msg_off[0], WIRE_MSG_MAX);
	f->taken = 1;
	/* Room again: the rest is moved to the front and more is read behind it. */
	assert_int_equal(tcp_fill(f->c), PFX + WIRE_MSG_MAX);
	assert_int_equal(f->c->rx_off, 0);
	assert_int_equal(f->c->rx_len, TCP_RX_CAP);
	while (f->taken < f->s.n) {
		assert_int_equal(drain(f), 0);
		fill(f);
	}
	assert_int_equal(f->c->rx_len, 0);
}

/* The small receive buffer of an unidentified connection holds exactly one message of the
 * bound: such messages back to back still come out, one per turn. */
static void
test_small_ring(void **state)
{
	struct fx *f = *state;

	assert_int_equal(f->c->rx_cap, PFX + WIRE_MSG_MAX);
	add_frame(&f->s, WIRE_MSG_MAX, WIRE_MSG_MAX);
	add_frame(&f->s, WIRE_MSG_MAX, WIRE_MSG_MAX);
	add_frame(&f->s, 1, 1);
	add_frame(&f->s, WIRE_MSG_MAX, WIRE_MSG_MAX);
	feed(f, f->s.p, f->s.len);
	assert_int_equal(tcp_fill(f->c), PFX + WIRE_MSG_MAX);
	assert_int_equal(tcp_fill(f->c), 0); /* full */
	assert_int_equal(pump(f), 0);
	assert_int_equal(f->taken, f->s.n);
}

/* Growing the buffers (a connection that turned out to carry a peer) keeps the bytes that wait
 * in them, wherever they sit, and the stream goes on. */
static void
test_grow_keeps_bytes(void **state)
{
	struct fx *f = *state;
	uint8_t m[100] = { 7 };

	add_frame(&f->s, 100, 100);
	add_frame(&f->s, WIRE_MSG_MAX, WIRE_MSG_MAX);
	add_frame(&f->s, 3, 3);
	feed(f, f->s.p, f->s.len - 10);
	assert_int_equal(fill(f), 0);
	assert_int_equal(drain(f), 0);
	assert_int_equal(f->taken, 1);
	assert_true(f->c->rx_off > 0);
	assert_int_equal(tcp_queue(f->c, m, sizeof(m)), 0);
	assert_int_equal(tcp_conn_buffers(f->c, TCP_RX_CAP, TCP_TX_CAP), 0);
	assert_int_equal(f->c->rx_cap, TCP_RX_CAP);
	assert_int_equal(f->c->tx_cap, TCP_TX_CAP);
	assert_int_equal(f->c->rx_off, 0);
	feed(f, f->s.p + f->s.len - 10, 10);
	assert_int_equal(pump(f), 0);
	assert_int_equal(f->taken, f->s.n);
	assert_int_equal(f->c->tx_len, PFX + sizeof(m));
	assert_int_equal(wire_get16(f->c->tx + f->c->tx_off), sizeof(m));
	assert_memory_equal(f->c->tx + f->c->tx_off + PFX, m, sizeof(m));
}

/* EOF: tcp_fill says -1, and what was already complete still comes out. */
static void
test_eof(void **state)
{
	struct fx *f = *state;

	add_frame(&f->s, 100, 100);
	add_frame(&f->s, 50, 50);
	assert_int_equal(tcp_fill(f->c), 0); /* nothing yet: would block */
	feed(f, f->s.p, f->s.len - 10);      /* the second message is cut short */
	close(f->peer);
	f->peer = -1;
	assert_int_equal(fill(f), -1);
	assert_int_equal(f->c->rx_len, f->s.len - 10);
	assert_int_equal(drain(f), 0);
	assert_int_equal(f->taken, 1);
	assert_int_equal(tcp_fill(f->c), -1);
	assert_int_equal(drain(f), 0);
	assert_int_equal(f->taken, 1);
}

/* tcp_queue: lengths 0 and above WIRE_MSG_MAX (the bound the receiver applies) are refused,
 * 65535 and 65536 too; the bound is queued behind its prefix; a message that does not fit in
 * the send buffer is refused and changes nothing. */
static void
test_queue_bounds(void **state)
{
	struct fx *f = *state;
	struct tcp_conn *c = f->c;
	static uint8_t msg[65536];
	size_t fit = TCP_TX_CAP / (PFX + WIRE_MSG_MAX), room;

	memset(msg, 0x5a, sizeof(msg));
	assert_int_equal(tcp_queue(c, msg, 0), -1);
	assert_int_equal(tcp_queue(c, msg, WIRE_MSG_MAX + 1), -1);
	assert_int_equal(tcp_queue(c, msg, 65535), -1);
	assert_int_equal(tcp_queue(c, msg, 65536), -1);
	assert_int_equal(c->tx_len, 0);
	assert_int_equal(tcp_queue(c, msg, WIRE_MSG_MAX), 0);
	assert_int_equal(c->tx_len, PFX + WIRE_MSG_MAX);
	assert_int_equal(wire_get16(c->tx), WIRE_MSG_MAX);
	assert_memory_equal(c->tx + PFX, msg, WIRE_MSG_MAX);
	for (size_t i = 1; i < fit; i++)
		assert_int_equal(tcp_queue(c, msg, WIRE_MSG_MAX), 0);
	assert_int_equal(c->tx_len, fit * (PFX + WIRE_MSG_MAX));
	assert_int_equal(tcp_queue(c, msg, WIRE_MSG_MAX), -1);
	assert_int_equal(c->tx_len, fit * (PFX + WIRE_MSG_MAX));
	/* Exactly the room that is left, then not one byte more. */
	room = TCP_TX_CAP - c->tx_len;
	assert_true(room > PFX && room - PFX < WIRE_MSG_MAX);
	assert_int_equal(tcp_queue(c, msg, room - PFX), 0);
	assert_int_equal(c->tx_len, TCP_TX_CAP);
	assert_int_equal(tcp_queue(c, msg, 1), -1);
	assert_int_equal(c->tx_len, TCP_TX_CAP);
	assert_int_equal(c->tx_off, 0);
}

/* Read what the peer end has into out (up to cap); returns the new length. */
static size_t
collect(int fd, uint8_t *out, size_t len, size_t cap, size_t most)
{
	ssize_t n;

	while (len < cap && most > 0) {
		n = read(fd, out + len, cap - len < most ? cap - len : most);
		if (n <= 0)
			break;
		len += (size_t)n;
		most -= (size_t)n;
	}
	return len;
}

/*
 * Partial writes: with a small socket buffer tcp_flush writes what fits and says 1; after the
 * reader drains some it resumes where it stopped. Messages queued meanwhile (one of them only
 * after the unsent bytes are moved to the front) arrive after the others, and the reader gets
 * exactly the stream of prefixes and messages.
 */
static void
test_flush_partial(void **state)
{
	struct fx *f = *state;
	struct tcp_conn *c = f->c;
	static uint8_t msg[WIRE_MSG_MAX], want[TCP_TX_CAP + 2 * (PFX + WIRE_MSG_MAX)],
	    got[sizeof(want)];
	size_t wlen = 0, glen = 0;
	int sndbuf = 8192, rc, rounds = 0;

	assert_int_equal(setsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)), 0);
	for (size_t j = 0; j < sizeof(msg); j++)
		msg[j] = (uint8_t)(j * 13 + 7);
	/* Fill the send buffer but for 10 bytes. */
	while (c->tx_len + PFX + WIRE_MSG_MAX <= TCP_TX_CAP - 10) {
		assert_int_equal(tcp_queue(c, msg, WIRE_MSG_MAX), 0);
		wire_put16(want + wlen, WIRE_MSG_MAX);
		memcpy(want + wlen + PFX, msg, WIRE_MSG_MAX);
		wlen += PFX + WIRE_MSG_MAX;
	}
	assert_int_equal(tcp_flush(c), 1);
	assert_true(c->tx_off > 0 && c->tx_len > 0);
	assert_int_equal(c->tx_off + c->tx_len, wlen);
	/* Only fits once the sent bytes are gone from the front. */
	assert_true(c->tx_off + c->tx_len + PFX + WIRE_MSG_MAX > TCP_TX_CAP);
	assert_int_equal(tcp_queue(c, msg, WIRE_MSG_MAX), 0);
	assert_int_equal(c->tx_off, 0);
	wire_put16(want + wlen, WIRE_MSG_MAX);
	memcpy(want + wlen + PFX, msg, WIRE_MSG_MAX);
	wlen += PFX + WIRE_MSG_MAX;
	while ((rc = tcp_flush(c)) == 1) {
		glen = collect(f->peer, got, glen, sizeof(got), 20000);
		if (++rounds == 3) {
			/* A small message queued between partial writes. */
			assert_int_equal(tcp_queue(c, msg, 1), 0);
			wire_put16(want + wlen, 1);
			want[wlen + PFX] = msg[0];
			wlen += PFX + 1;
		}
		assert_true(rounds < 100000);
	}
	assert_int_equal(rc, 0);
	assert_true(rounds > 3);
	assert_int_equal(c->tx_len, 0);
	assert_int_equal(c->tx_off, 0);
	glen = collect(f->peer, got, glen, sizeof(got), sizeof(got));
	assert_int_equal(glen, wlen);
	assert_memory_equal(got, want, wlen);
	/* Nothing queued: nothing to do. */
	assert_int_equal(tcp_flush(c), 0);
}

/* A peer that went away: tcp_flush fails (no SIGPIPE). */
static void
test_flush_error(void **state)
{
	struct fx *f = *state;
	uint8_t msg[100] = { 1 };

	assert_int_equal(tcp_queue(f->c, msg, sizeof(msg)), 0);
	close(f->peer);
	f->peer = -1;
	assert_int_equal(tcp_flush(f->c), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_split_everywhere, setup, teardown),
		cmocka_unit_test_setup_teardown(test_byte_by_byte, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_zero, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_bound_plus_one, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_65535, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_whole_body, setup, teardown),
		/* The same with the buffers of an unidentified connection. */
		cmocka_unit_test_setup_teardown(test_split_everywhere, setup_small, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_bound_plus_one, setup_small, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_65535, setup_small, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_whole_body, setup_small, teardown),
		cmocka_unit_test_setup_teardown(test_back_to_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ring_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_small_ring, setup_small, teardown),
		cmocka_unit_test_setup_teardown(test_grow_keeps_bytes, setup_small, teardown),
		cmocka_unit_test_setup_teardown(test_eof, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_bounds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flush_partial, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flush_error, setup, teardown),
	};

	return cmocka_run_group_tests_name("transport", tests, NULL, NULL);
}
