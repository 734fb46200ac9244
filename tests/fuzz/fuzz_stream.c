/*
 * fuzz_stream.c - libFuzzer target for the byte streams vtund-ng parses outside the session:
 * the TCP framing and the control socket's request line.
 *
 * TCP: the input after its first byte is a stream, written piece by piece into one end of a
 * socketpair; the other end is the fd of a struct tcp_conn, drained after each piece with the
 * real tcp_fill and tcp_next_message, as the engine does when the socket is readable. Byte 0
 * chooses the piece size and the connection:
 *   bits 0-6  0..63 give pieces of 1..64 bytes, 64..127 of 1..64 KiB: prefixes split across
 *             reads, and whole frames of any length a prefix can announce (up to 65535) arrive;
 *   bit 7     clear: a peer's connection (TCP_RX_CAP from the start); set: an unidentified one
 *             (TCP_RX_SMALL, room for one largest message), grown to TCP_RX_CAP with what it
 *             holds after its first message, as tcp_link_bind does.
 * A reading of the prefixes of its own checks every answer:
 *   - a message taken out is exactly the bytes its prefix announced, 1..WIRE_MSG_MAX of them;
 *   - a prefix of 0 or above WIRE_MSG_MAX is reported corrupt (-1) as soon as it has arrived,
 *     and nothing at or behind it is ever taken out;
 *   - "incomplete" (0) only while the next message has not fully arrived.
 * Control: the whole input as a request line; an accepted peer name must fit a peer name.
 * Seeds in corpus/stream/ (tests/fuzz/make-seeds.py writes the framing bounds).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sys/socket.h>

#include "buf.h"
#include "control.h"
#include "transport.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct tcp_conn conn; /* conn.fd is the reading end */
static int rfd = -1, wfd = -1;
static bool grow; /* grow conn's buffers after the first message */
static struct buf msg;
static uint8_t scratch[64 * 1024];

static void
setup(void)
{
	int sv[2];

	if (wfd != -1)
		return;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == -1)
		abort();
	memset(&conn, 0, sizeof(conn));
	conn.fd = -1;
	rfd = sv[0];
	wfd = sv[1];
}

/* Fresh buffers for the next input: those of a peer's connection or of an unidentified one. */
static void
connection(bool unidentified)
{
	conn.fd = -1;
	tcp_conn_free(&conn);
	if (tcp_conn_buffers(&conn, unidentified ? TCP_RX_SMALL : TCP_RX_CAP, TCP_TX_SMALL) == -1)
		abort();
	conn.fd = rfd;
	grow = unidentified;
}

/* How tcp_next_message must answer when got bytes of s have arrived and the next message
 * starts at next: 1 complete, 0 incomplete, -1 corrupt. */
static int
expect(const uint8_t *s, size_t got, size_t next)
{
	size_t mlen;

	if (got - next < WIRE_TCP_PREFIX_LEN)
		return 0;
	mlen = (size_t)s[next] * 256 + s[next + 1];
	if (mlen == 0 || mlen > WIRE_MSG_MAX)
		return -1;
	return got - next >= WIRE_TCP_PREFIX_LEN + mlen;
}

/* Read what the socket holds and take out every complete message; false once corrupt. */
static bool
drain(const uint8_t *s, size_t *got, size_t *next)
{
	ssize_t n;
	int rc;

	do {
		n = tcp_fill(&conn);
		if (n < 0)
			abort(); /* the writer never closes: no EOF, no error */
		*got += (size_t)n;
		for (;;) {
			int want = expect(s, *got, *next);

			rc = tcp_next_message(&conn, &msg);
			if (rc != want)
				abort();
			if (rc == -1)
				return false; /* corrupt: the engine closes the connection */
			if (rc == 0)
				break;
			if (msg.len == 0 || msg.len > WIRE_MSG_MAX ||
			    msg.len != (size_t)s[*next] * 256 + s[*next + 1] ||
			    memcmp(buf_data(&msg), s + *next + WIRE_TCP_PREFIX_LEN, msg.len) != 0)
				abort();
			*next += WIRE_TCP_PREFIX_LEN + msg.len;
			if (grow) {
				if (tcp_conn_buffers(&conn, TCP_RX_CAP, TCP_TX_CAP) == -1)
					abort();
				grow = false;
			}
		}
		/* What is left in rx is exactly the start of the next message. */
		if (conn.rx_len != *got - *next)
			abort();
	} while (n > 0);
	return true;
}

/* Write s in pieces of at most piece bytes, draining the connection after each. */
static void
stream(const uint8_t *s, size_t size, size_t piece)
{
	size_t off = 0, got = 0, next = 0, before;
	ssize_t w;

	while (off < size) {
		w = send(wfd, s + off, size - off < piece ? size - off : piece, MSG_NOSIGNAL);
		if (w == -1 && errno != EAGAIN && errno != EWOULDBLOCK)
			abort();
		if (w > 0)
			off += (size_t)w;
		before = got;
		if (!drain(s, &got, &next))
			break;
		if (w <= 0 && got == before)
			abort(); /* socket full and nothing read: the connection is stuck */
	}
	/* Throw away what a corrupt stream left in the socket, for the next input. */
	while (recv(conn.fd, scratch, sizeof(scratch), 0) > 0)
		;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct control_request req;
	size_t piece;

	if (size < 1)
		return 0;
	setup();
	connection(data[0] & 0x80);
	piece = data[0] & 0x7f;
	stream(data + 1, size - 1, piece < 64 ? piece + 1 : (piece - 63) * 1024);
	if (control_parse_request((const char *)data, size, &req) == 0 &&
	    strlen(req.peer) > NAMES_PEER_MAX)
		abort();
	return 0;
}
