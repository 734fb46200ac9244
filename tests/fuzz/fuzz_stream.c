/*
 * fuzz_stream.c - libFuzzer target for the byte streams vtund-ng parses outside the session:
 * the TCP framing (2-byte length prefixes, arriving in arbitrary pieces) and the control socket's
 * request line. The first input byte picks the piece size for the stream, so partial reads are
 * covered; every message taken out must have the length its prefix announced.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "control.h"
#include "transport.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct tcp_conn conn;
static struct buf msg;

/* Feed the stream to a connection's receive buffer piece by piece, as tcp_fill would. */
static void
stream(const uint8_t *data, size_t size, size_t piece)
{
	size_t off = 0, expect;
	int rc;

	if (conn.rx == NULL && tcp_conn_buffers(&conn, TCP_RX_CAP, TCP_TX_SMALL) == -1)
		abort();
	conn.fd = -1;
	conn.rx_off = conn.rx_len = 0;
	while (off < size) {
		size_t n = size - off < piece ? size - off : piece;

		if (conn.rx_off > 0) {
			memmove(conn.rx, conn.rx + conn.rx_off, conn.rx_len);
			conn.rx_off = 0;
		}
		if (n > conn.rx_cap - conn.rx_len)
			n = conn.rx_cap - conn.rx_len;
		if (n == 0)
			abort(); /* a full buffer with no complete message cannot happen */
		memcpy(conn.rx + conn.rx_len, data + off, n);
		conn.rx_len += n;
		off += n;
		for (;;) {
			expect = conn.rx_len >= 2 ? wire_get16(conn.rx + conn.rx_off) : 0;
			rc = tcp_next_message(&conn, &msg);
			if (rc == 0)
				break;
			if (rc == -1)
				return; /* corrupt stream: the engine closes the connection */
			if (msg.len != expect)
				abort();
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct control_request req;

	if (size < 1)
		return 0;
	stream(data + 1, size - 1, (size_t)data[0] + 1);
	if (control_parse_request((const char *)data, size, &req) == 0 &&
	    strlen(req.peer) > NAMES_PEER_MAX)
		abort();
	return 0;
}
