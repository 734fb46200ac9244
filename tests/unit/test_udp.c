/*
 * test_udp.c - UDP batches through the real udp_send_batch and udp_recv_batch over loopback:
 * the TOS / traffic class byte of each datagram (IP_TOS, IPV6_TCLASS, and IP_TOS for a
 * v4-mapped destination on a dual-stack socket) sent and received, GSO runs that break where
 * the TOS changes, and coalesced runs received with UDP GRO, cut by the segment size the kernel
 * reports; and a client's link taking over a socket used before (a copy of the parent's): GRO
 * off again, nothing queued, and on close no more datagrams for it.
 * Loopback without IPv6, without UDP segmentation or a kernel without UDP_GRO skip the tests
 * that need them.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "link_udp.h"
#include "transport.h"

#define AREA 65536

struct fx {
	int tx, rx;
	struct sockaddr_storage dst;
	socklen_t dstlen;
	struct buf b[8];
	uint8_t *area[UDP_BATCH_MAX];
	struct iovec iov[UDP_BATCH_MAX];
	struct udp_rx meta[UDP_BATCH_MAX];
};

/* A socket of family bound to the loopback address (any: the wildcard, dual-stack for
 * AF_INET6), its address in ss. */
static int
bound(int family, bool any, struct sockaddr_storage *ss, socklen_t *len)
{
	char err[128];
	int fd;

	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_addr.s_addr = htonl(any ? INADDR_ANY : INADDR_LOOPBACK);
		*len = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_addr = any ? in6addr_any : in6addr_loopback;
		*len = sizeof(*s6);
	}
	fd = udp_bind((struct sockaddr *)ss, *len, err, sizeof(err));
	if (fd == -1 && family == AF_INET6)
		skip(); /* no IPv6 on this loopback */
	if (fd == -1)
		fail_msg("%s", err);
	assert_int_equal(getsockname(fd, (struct sockaddr *)ss, len), 0);
	return fd;
}

/* The sender: a dual-stack socket when mapped (sending to the v4-mapped form of dst). */
static void
pair(struct fx *f, int family, bool mapped)
{
	struct sockaddr_storage a;
	socklen_t alen;

	memset(f, 0, sizeof(*f));
	f->rx = bound(family, false, &f->dst, &f->dstlen);
	f->tx = bound(mapped ? AF_INET6 : family, mapped, &a, &alen);
	if (mapped) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&f->dst;
		struct sockaddr_in6 m = { .sin6_family = AF_INET6, .sin6_port = s4->sin_port };

		m.sin6_addr.s6_addr[10] = m.sin6_addr.s6_addr[11] = 0xff;
		memcpy(&m.sin6_addr.s6_addr[12], &s4->sin_addr, 4);
		memcpy(&f->dst, &m, sizeof(m));
		f->dstlen = sizeof(m);
	}
	for (int i = 0; i < UDP_BATCH_MAX; i++) {
		f->area[i] = malloc(AREA);
		assert_non_null(f->area[i]);
		f->iov[i].iov_base = f->area[i];
		f->iov[i].iov_len = AREA;
	}
}

static void
unpair(struct fx *f)
{
	close(f->tx);
	close(f->rx);
	for (int i = 0; i < UDP_BATCH_MAX; i++)
		free(f->area[i]);
}

/* Fill b[0..n) with datagrams of lens[i] bytes, byte j of datagram i being i * 16 + j. */
static void
fill(struct fx *f, const size_t *lens, int n)
{
	for (int i = 0; i < n; i++) {
		buf_reset(&f->b[i]);
		for (size_t j = 0; j < lens[i]; j++)
			buf_put(&f->b[i], 1)[0] = (uint8_t)(i * 16 + j);
	}
}

/* Receive until want datagrams came (or nothing more does): the messages in f->meta; how many. */
static int
receive(struct fx *f, int want)
{
	int got = 0, m = 0;

	for (int tries = 0; tries < 1000 && got < want; tries++) {
		int n = udp_recv_batch(f->rx, f->iov + m, f->meta + m, UDP_BATCH_MAX - m);

		assert_true(n >= 0);
		for (int i = m; i < m + n; i++) {
			if (f->meta[i].len == 0 || f->meta[i].seg == 0)
				fail_msg("message %d: empty or truncated", i);
			got += (int)((f->meta[i].len + f->meta[i].seg - 1) / f->meta[i].seg);
		}
		m += n;
		if (n == 0)
			usleep(5000);
	}
	assert_int_equal(got, want);
	return m;
}

/* Message k holds datagrams first.. of lens, each with its bytes, cut at seg. */
static void
check_msg(struct fx *f, int k, const size_t *lens, int first, int count, uint8_t tos)
{
	const uint8_t *p = f->area[k];
	size_t total = 0;

	assert_int_equal(f->meta[k].tos, tos);
	for (int i = first; i < first + count; i++) {
		for (size_t j = 0; j < lens[i]; j++)
			if (p[total + j] != (uint8_t)(i * 16 + j))
				fail_msg("message %d, datagram %d, byte %zu", k, i, j);
		if (i < first + count - 1)
			assert_int_equal(f->meta[k].seg, lens[i]);
		total += lens[i];
	}
	assert_int_equal(f->meta[k].len, total);
}

/* One run of five datagrams (the last shorter) with one TOS: one GSO message out; with UDP GRO
 * one message in, cut at 1000 bytes; ECT(0) on each. */
static void
run_gro(int family, bool mapped)
{
	static const size_t lens[5] = { 1000, 1000, 1000, 1000, 500 };
	static const uint8_t tos[5] = { 2, 2, 2, 2, 2 };
	struct fx f;
	bool gso = true;

	pair(&f, family, mapped);
	if (!udp_gro_set(f.rx, true) || !udp_gso_supported(f.tx))
		skip(); /* a kernel without UDP GRO or GSO */
	fill(&f, lens, 5);
	assert_int_equal(udp_send_batch(f.tx, f.b, 5, (struct sockaddr *)&f.dst, f.dstlen, tos,
	    family == AF_INET, &gso), 5);
	if (!gso)
		skip(); /* this loopback does not segment */
	assert_int_equal(receive(&f, 5), 1);
	check_msg(&f, 0, lens, 0, 5, 2);
	unpair(&f);
}

static void
test_gro_v4(void **state)
{
	(void)state;
	run_gro(AF_INET, false);
}

static void
test_gro_v6(void **state)
{
	(void)state;
	run_gro(AF_INET6, false);
}

static void
test_gro_v4_mapped(void **state)
{
	(void)state;
	run_gro(AF_INET, true);
}

/* A TOS change ends a run: [2 2] [1 1] [0]; each run leaves as its own message with its TOS
 * and arrives as one. */
static void
test_tos_breaks_runs(void **state)
{
	static const size_t lens[5] = { 800, 800, 800, 800, 800 };
	static const uint8_t tos[5] = { 2, 2, 1, 1, 0 };
	struct fx f;
	bool gso = true;

	(void)state;
	pair(&f, AF_INET, false);
	if (!udp_gro_set(f.rx, true) || !udp_gso_supported(f.tx))
		skip();
	fill(&f, lens, 5);
	assert_int_equal(udp_send_batch(f.tx, f.b, 5, (struct sockaddr *)&f.dst, f.dstlen, tos,
	    true, &gso), 5);
	assert_int_equal(receive(&f, 5), 3);
	check_msg(&f, 0, lens, 0, 2, 2);
	check_msg(&f, 1, lens, 2, 2, 1);
	check_msg(&f, 2, lens, 4, 1, 0);
	unpair(&f);
}

/* Without UDP GRO every datagram is a message of its own, with its TOS; without a tos array
 * they leave with 0. */
static void
test_no_gro(void **state)
{
	static const size_t lens[4] = { 1200, 1200, 1200, 7 };
	static const uint8_t tos[4] = { 3, 3, 3, 3 };
	struct fx f;
	bool gso = true;

	(void)state;
	pair(&f, AF_INET6, false);
	fill(&f, lens, 4);
	assert_int_equal(udp_send_batch(f.tx, f.b, 4, (struct sockaddr *)&f.dst, f.dstlen, tos,
	    false, &gso), 4);
	assert_int_equal(receive(&f, 4), 4);
	for (int i = 0; i < 4; i++) {
		check_msg(&f, i, lens, i, 1, 3);
		assert_int_equal(f.meta[i].seg, lens[i]);
	}
	fill(&f, lens, 4);
	assert_int_equal(udp_send_batch(f.tx, f.b, 4, (struct sockaddr *)&f.dst, f.dstlen, NULL,
	    false, &gso), 4);
	assert_int_equal(receive(&f, 4), 4);
	for (int i = 0; i < 4; i++)
		check_msg(&f, i, lens, i, 1, 0);
	unpair(&f);
}

static int
gro_of(int fd)
{
	int v = -1;
	socklen_t len = sizeof(v);

	assert_int_equal(getsockopt(fd, SOL_UDP, UDP_GRO, &v, &len), 0);
	return v;
}

/* A client's link on a socket used before: GRO off again, what was queued gone; on close the
 * socket (alive in the parent's copy) is no longer connected, so it receives nothing more. */
static void
test_link_takes_over(void **state)
{
	static const size_t lens[1] = { 100 };
	struct sockaddr_storage me;
	socklen_t melen = sizeof(me);
	struct udp_link l;
	char err[128];
	uint8_t b[200];
	struct fx f;
	bool gso = false;
	int s;

	(void)state;
	pair(&f, AF_INET, false);
	s = udp_socket(AF_INET, err, sizeof(err));
	assert_true(s != -1);
	if (!udp_gro_set(s, true))
		skip();
	assert_int_equal(connect(s, (struct sockaddr *)&f.dst, f.dstlen), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&me, &melen), 0);
	fill(&f, lens, 1); /* a datagram waiting on s from its earlier use */
	assert_int_equal(udp_send_batch(f.rx, f.b, 1, (struct sockaddr *)&me, melen, NULL, true,
	    &gso), 1);
	usleep(20000);
	assert_int_equal(udp_link_client(&l, fcntl(s, F_DUPFD_CLOEXEC, 0),
	    (struct sockaddr *)&f.dst, f.dstlen, err, sizeof(err)), 0);
	assert_int_equal(gro_of(s), 0);
	assert_int_equal(recv(s, b, sizeof(b), MSG_DONTWAIT), -1);
	udp_link_close(&l);
	assert_int_equal(getpeername(s, (struct sockaddr *)&me, &melen), -1);
	close(s);
	unpair(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gro_v4),
		cmocka_unit_test(test_gro_v6),
		cmocka_unit_test(test_gro_v4_mapped),
		cmocka_unit_test(test_tos_breaks_runs),
		cmocka_unit_test(test_no_gro),
		cmocka_unit_test(test_link_takes_over),
	};

	return cmocka_run_group_tests_name("udp", tests, NULL, NULL);
}
