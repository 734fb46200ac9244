/*
 * test_link_udp.c - the UDP link policy on real loopback sockets: endpoints move only through
 * udp_link_set_endpoint (never on a client), sends go to the endpoint or back to a source,
 * the client's socket is connected to its server, batches arrive as separate datagrams with
 * and without segmentation offload, and the fallback when the kernel refuses it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "addr.h"
#include "link_udp.h"
#include "log.h"
#include "transport.h"
#include "ut.h"

struct fx {
	struct udp_link l;
	struct udp_peer up;
	int sfd;                  /* the server's socket, 127.0.0.1 */
	struct sockaddr_in saddr;
	int pfd;                  /* a peer's socket, 127.0.0.2 */
	struct sockaddr_in paddr;
	struct buf *b;            /* NBUF messages */
};

#define NBUF 16

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL || (f->b = calloc(NBUF, sizeof(*f->b))) == NULL) {
		free(f);
		return -1;
	}
	f->sfd = ut_udp_socket("127.0.0.1", &f->saddr);
	f->pfd = ut_udp_socket("127.0.0.2", &f->paddr);
	f->l.fd = -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	udp_link_close(&f->l); /* closes sfd if the test gave it to the link */
	if (f->sfd != -1 && fcntl(f->sfd, F_GETFD) != -1)
		close(f->sfd);
	close(f->pfd);
	free(f->b);
	free(f);
	return 0;
}

static void
put(struct buf *b, uint8_t seed, size_t len)
{
	buf_reset(b);
	for (size_t i = 0; i < len; i++)
		buf_put(b, 1)[0] = (uint8_t)(seed + i);
}

/* The next datagram on fd is len bytes made by put(seed); from *from if not NULL. */
static void
expect_datagram(int fd, uint8_t seed, size_t len, const struct sockaddr_in *from)
{
	uint8_t got[2048];
	struct sockaddr_in src;
	socklen_t slen = sizeof(src);
	ssize_t n;

	assert_true(ut_readable(fd, 1000));
	n = recvfrom(fd, got, sizeof(got), 0, (struct sockaddr *)&src, &slen);
	assert_int_equal(n, (ssize_t)len);
	for (size_t i = 0; i < len; i++)
		assert_int_equal(got[i], (uint8_t)(seed + i));
	if (from != NULL)
		assert_true(addr_equal((struct sockaddr *)&src, UT_SA(*from)));
}

/* A server's peer has no endpoint until one is set; it moves only to a new address. */
static void
test_server_endpoint(void **state)
{
	struct fx *f = *state;
	struct sockaddr_in a = ut_addr("192.0.2.1", 4000), b = ut_addr("192.0.2.1", 4001);
	uint8_t huge[sizeof(struct sockaddr_storage) + 4] = { 0 };

	udp_link_server(&f->l, f->sfd);
	assert_false(f->l.client);
	udp_link_peer_init(&f->l, &f->up);
	assert_int_equal(f->up.ep_len, 0);
	put(&f->b[0], 1, 10);
	assert_int_equal(udp_link_send(&f->l, &f->up, &f->b[0]), -1);
	assert_int_equal(udp_link_send_batch(&f->l, &f->up, f->b, NULL, 1), 0);
	assert_true(udp_link_set_endpoint(&f->l, &f->up, "p", UT_SA(a), sizeof(a)));
	assert_int_equal(f->up.ep_len, sizeof(a));
	assert_true(addr_equal((struct sockaddr *)&f->up.ep, UT_SA(a)));
	assert_false(udp_link_set_endpoint(&f->l, &f->up, "p", UT_SA(a), sizeof(a)));
	assert_true(udp_link_set_endpoint(&f->l, &f->up, "p", UT_SA(b), sizeof(b)));
	assert_true(addr_equal((struct sockaddr *)&f->up.ep, UT_SA(b)));
	/* An address longer than any socket address is not taken. */
	assert_false(udp_link_set_endpoint(&f->l, &f->up, "p", (struct sockaddr *)huge,
	    sizeof(huge)));
	assert_true(addr_equal((struct sockaddr *)&f->up.ep, UT_SA(b)));
	/* Roaming back and forth many times: each move counts (only the logging is limited). */
	for (int i = 0; i < 50; i++)
		assert_true(udp_link_set_endpoint(&f->l, &f->up, "p", i % 2 ? UT_SA(b) : UT_SA(a),
		    sizeof(a)));
}

/* A server sends to the endpoint, replies to any source, and nothing once closed. */
static void
test_server_send_and_reply(void **state)
{
	struct fx *f = *state;
	struct sockaddr_in qaddr;
	int q = ut_udp_socket("127.0.0.3", &qaddr);

	udp_link_server(&f->l, f->sfd);
	udp_link_peer_init(&f->l, &f->up);
	udp_link_set_endpoint(&f->l, &f->up, "p", UT_SA(f->paddr), sizeof(f->paddr));
	put(&f->b[0], 7, 100);
	assert_int_equal(udp_link_send(&f->l, &f->up, &f->b[0]), 0);
	expect_datagram(f->pfd, 7, 100, &f->saddr);
	/* A reply goes to the source, wherever the endpoint is. */
	put(&f->b[0], 9, 60);
	assert_int_equal(udp_link_reply(&f->l, UT_SA(qaddr), sizeof(qaddr), &f->b[0]), 0);
	expect_datagram(q, 9, 60, &f->saddr);
	assert_false(ut_readable(f->pfd, 0));
	udp_link_close(&f->l);
	f->sfd = -1;
	assert_int_equal(f->l.fd, -1);
	assert_int_equal(udp_link_send(&f->l, &f->up, &f->b[0]), -1);
	assert_int_equal(udp_link_reply(&f->l, UT_SA(qaddr), sizeof(qaddr), &f->b[0]), -1);
	close(q);
}

/* A reload hands the server another socket: the old one is closed, the same one kept. */
static void
test_set_fd(void **state)
{
	struct fx *f = *state;
	struct sockaddr_in other;
	int fd2 = ut_udp_socket("127.0.0.1", &other);

	udp_link_server(&f->l, -1);
	assert_int_equal(f->l.fd, -1);
	assert_false(f->l.gso);
	udp_link_set_fd(&f->l, f->sfd);
	assert_int_equal(f->l.fd, f->sfd);
	udp_link_set_fd(&f->l, f->sfd);
	assert_true(fcntl(f->sfd, F_GETFD) != -1);
	udp_link_set_fd(&f->l, fd2);
	assert_int_equal(fcntl(f->sfd, F_GETFD), -1);
	assert_int_equal(errno, EBADF);
	f->sfd = -1;
	assert_int_equal(f->l.fd, fd2);
}

/* A client's socket is connected to its server: its peer's endpoint is the server and never
 * moves, it sends without an address and hears only the server. */
static void
test_client(void **state)
{
	struct fx *f = *state;
	struct sockaddr_in peer, caddr, strange = ut_addr("192.0.2.9", 9);
	socklen_t len = sizeof(peer);
	char err[256];
	uint8_t x[4] = { 1, 2, 3, 4 };

	assert_int_equal(udp_link_client(&f->l, -1, UT_SA(f->saddr), sizeof(f->saddr), err,
	    sizeof(err)), 0);
	assert_true(f->l.client);
	assert_true(f->l.connected);
	assert_int_equal(getpeername(f->l.fd, (struct sockaddr *)&peer, &len), 0);
	assert_true(addr_equal(UT_SA(peer), UT_SA(f->saddr)));
	udp_link_peer_init(&f->l, &f->up);
	assert_int_equal(f->up.ep_len, sizeof(f->saddr));
	assert_true(addr_equal((struct sockaddr *)&f->up.ep, UT_SA(f->saddr)));
	assert_false(udp_link_set_endpoint(&f->l, &f->up, "s", UT_SA(strange), sizeof(strange)));
	assert_true(addr_equal((struct sockaddr *)&f->up.ep, UT_SA(f->saddr)));

	put(&f->b[0], 3, 200);
	assert_int_equal(udp_link_send(&f->l, &f->up, &f->b[0]), 0);
	len = sizeof(caddr);
	assert_int_equal(getsockname(f->l.fd, (struct sockaddr *)&caddr, &len), 0);
	expect_datagram(f->sfd, 3, 200, &caddr);
	/* A client answers nobody directly. */
	assert_int_equal(udp_link_reply(&f->l, UT_SA(f->paddr), sizeof(f->paddr), &f->b[0]), -1);
	/* Datagrams from elsewhere do not reach the connected socket; the server's do. */
	assert_int_equal(sendto(f->pfd, x, sizeof(x), 0, UT_SA(caddr), sizeof(caddr)), 4);
	assert_false(ut_readable(f->l.fd, 20));
	assert_int_equal(sendto(f->sfd, x, sizeof(x), 0, UT_SA(caddr), sizeof(caddr)), 4);
	assert_true(ut_readable(f->l.fd, 1000));

	/* The session went down: connected again, still to the server. */
	udp_link_session_down(&f->l);
	assert_true(f->l.connected);
	len = sizeof(peer);
	assert_int_equal(getpeername(f->l.fd, (struct sockaddr *)&peer, &len), 0);
	assert_true(addr_equal(UT_SA(peer), UT_SA(f->saddr)));
	assert_int_equal(udp_link_send(&f->l, &f->up, &f->b[0]), 0);
	expect_datagram(f->sfd, 3, 200, NULL);
}

/* A batch leaves as separate datagrams in order: equal sizes (one segmented send where the
 * kernel offers it), a shorter last one, and mixed sizes. */
static void
test_batch(void **state)
{
	static const size_t sizes[NBUF] = { 500, 500, 500, 500, 500, 500, 500, 300,
		900, 900, 100, 1400, 1400, 1400, 20, 20 };
	struct fx *f = *state;
	bool gso;

	udp_link_server(&f->l, f->sfd);
	gso = f->l.gso;
	udp_link_peer_init(&f->l, &f->up);
	udp_link_set_endpoint(&f->l, &f->up, "p", UT_SA(f->paddr), sizeof(f->paddr));
	for (int i = 0; i < NBUF; i++)
		put(&f->b[i], (uint8_t)(i * 10), sizes[i]);
	assert_int_equal(udp_link_send_batch(&f->l, &f->up, f->b, NULL, NBUF), NBUF);
	for (int i = 0; i < NBUF; i++)
		expect_datagram(f->pfd, (uint8_t)(i * 10), sizes[i], &f->saddr);
	assert_false(ut_readable(f->pfd, 0));
	assert_int_equal(f->l.gso, gso); /* loopback takes segmented sends */
	/* The same without offload. */
	f->l.gso = false;
	assert_int_equal(udp_link_send_batch(&f->l, &f->up, f->b, NULL, NBUF), NBUF);
	for (int i = 0; i < NBUF; i++)
		expect_datagram(f->pfd, (uint8_t)(i * 10), sizes[i], &f->saddr);
	assert_int_equal(udp_link_send_batch(&f->l, &f->up, f->b, NULL, 0), 0);
}

/* When the kernel refuses segmentation on the socket (here: UDP checksums switched off,
 * which GSO needs), the batch still leaves whole, unsegmented, and offload stays off. */
static void
test_gso_fallback(void **state)
{
	struct fx *f = *state;
	int one = 1;

	udp_link_server(&f->l, f->sfd);
	if (!f->l.gso)
		skip();
	assert_int_equal(setsockopt(f->sfd, SOL_SOCKET, SO_NO_CHECK, &one, sizeof(one)), 0);
	udp_link_peer_init(&f->l, &f->up);
	udp_link_set_endpoint(&f->l, &f->up, "p", UT_SA(f->paddr), sizeof(f->paddr));
	for (int i = 0; i < 8; i++)
		put(&f->b[i], (uint8_t)i, 700);
	assert_int_equal(udp_link_send_batch(&f->l, &f->up, f->b, NULL, 8), 8);
	assert_false(f->l.gso);
	for (int i = 0; i < 8; i++)
		expect_datagram(f->pfd, (uint8_t)i, 700, &f->saddr);
	assert_false(ut_readable(f->pfd, 0));
	/* And the next batch goes the same way at once. */
	assert_int_equal(udp_link_send_batch(&f->l, &f->up, f->b, NULL, 8), 8);
	for (int i = 0; i < 8; i++)
		expect_datagram(f->pfd, (uint8_t)i, 700, &f->saddr);
}

int
main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_server_endpoint),
		T(test_server_send_and_reply),
		T(test_set_fd),
		T(test_client),
		T(test_batch),
		T(test_gso_fallback),
	};
#undef T

	log_init(true, LOG_LVL_ERR);
	return cmocka_run_group_tests_name("link_udp", tests, NULL, NULL);
}
