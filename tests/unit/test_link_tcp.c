/*
 * test_link_tcp.c - the TCP link policy on a real loopback listener: accepted connections,
 * the per-source and global limits with their eviction rule (sources are 127.0.0.x addresses
 * the clients bind to), expiry, which data a connection may carry (tcp_link_accepts), binding
 * (buffers grow, the peer's previous connection goes), closing, the changed-list and deferred
 * release, dialling, backpressure and the back-off. The peers are table-less struct peer
 * objects: the link only compares their addresses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "link_tcp.h"
#include "log.h"
#include "peer.h"
#include "ut.h"
#include "wire.h"

#define MAX_CLIENTS 400

struct fx {
	struct tcp_link tl;
	int lfd;
	struct sockaddr_in laddr;
	int cfd[MAX_CLIENTS];         /* client ends, in the order they connected */
	struct tcp_lconn *conn[MAX_CLIENTS]; /* the server's connection of each */
	int n;
	int evicted;
	struct peer a, b;             /* two peers; only their addresses and tcp slots count */
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	tcp_link_init(&f->tl);
	f->lfd = ut_tcp_listener(&f->laddr);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	tcp_link_free(&f->tl);
	close(f->lfd);
	for (int i = 0; i < f->n; i++)
		close(f->cfd[i]);
	free(f);
	return 0;
}

/* A client connects from src_ip and the link accepts it at now; returns its index in f. */
static int
accept_from(struct fx *f, const char *src_ip, uint64_t now)
{
	struct tcp_lconn *c;
	int err = -1;

	assert_true(f->n < MAX_CLIENTS);
	f->cfd[f->n] = ut_tcp_connect_from(src_ip, &f->laddr);
	c = tcp_link_accept(&f->tl, f->lfd, now, &f->evicted, &err);
	assert_non_null(c);
	assert_int_equal(err, 0);
	f->conn[f->n] = c;
	return f->n++;
}

/* The client end of connection i sees the server close it (EOF). */
static void
expect_client_eof(struct fx *f, int i)
{
	char b[16];

	assert_true(ut_readable(f->cfd[i], 1000));
	assert_int_equal(read(f->cfd[i], b, sizeof(b)), 0);
}

/* Take the changed-list as the engine does: free the dead, count the living. */
static int
sync_changed(struct fx *f)
{
	struct tcp_lconn *c;
	int live = 0;

	while ((c = tcp_link_take_changed(&f->tl)) != NULL) {
		if (c->dead) {
			for (int i = 0; i < f->n; i++)
				if (f->conn[i] == c)
					f->conn[i] = NULL;
			tcp_link_release(&f->tl, c);
		} else {
			live++;
		}
	}
	return live;
}

/* An accepted connection is unidentified, with small buffers, known by its id. */
static void
test_accept(void **state)
{
	struct fx *f = *state;
	struct tcp_lconn *c;
	struct sockaddr_in *sin;
	int err = -1, i = accept_from(f, "127.0.0.2", UT_T0);

	c = f->conn[i];
	assert_true(c->tc.fd >= 0);
	assert_null(c->peer);
	assert_null(c->hs_peer);
	assert_false(c->outbound);
	assert_false(c->dead);
	assert_false(c->tc.connecting);
	assert_int_equal(c->tc.rx_cap, TCP_RX_SMALL);
	assert_int_equal(c->tc.tx_cap, TCP_TX_SMALL);
	assert_int_equal(c->opened, UT_T0);
	sin = (struct sockaddr_in *)&c->addr;
	assert_int_equal(sin->sin_family, AF_INET);
	assert_int_equal(ntohl(sin->sin_addr.s_addr), 0x7f000002);
	assert_int_equal(c->src.family, 4);
	assert_int_equal(f->tl.npending, 1);
	assert_ptr_equal(tcp_link_by_id(&f->tl, c->id), c);
	assert_null(tcp_link_by_id(&f->tl, c->id + 1));
	/* Nothing more waiting: NULL without an error. */
	assert_null(tcp_link_accept(&f->tl, f->lfd, UT_T0, &f->evicted, &err));
	assert_int_equal(err, 0);
	assert_int_equal(f->evicted, 0);
	/* The new connection needs events; the empty attempt allocated nothing. */
	assert_ptr_equal(tcp_link_take_changed(&f->tl), c);
	assert_null(tcp_link_take_changed(&f->tl));
	/* Ids are never reused. */
	i = accept_from(f, "127.0.0.2", UT_T0);
	assert_true(f->conn[i]->id > f->conn[0]->id);
}

/* One source at its limit loses its own oldest connection, not another source's. */
static void
test_per_source_limit(void **state)
{
	struct fx *f = *state;
	int other = accept_from(f, "127.0.0.3", UT_T0);
	int first = f->n;

	for (int k = 0; k < TCP_PENDING_PER_SOURCE; k++)
		accept_from(f, "127.0.0.2", UT_T0 + 1 + (uint64_t)k);
	assert_int_equal(f->evicted, 0);
	assert_int_equal(f->tl.npending, TCP_PENDING_PER_SOURCE + 1);
	accept_from(f, "127.0.0.2", UT_T0 + 100);
	assert_int_equal(f->evicted, 1);
	assert_true(f->conn[first]->dead);
	assert_null(tcp_link_by_id(&f->tl, f->conn[first]->id));
	expect_client_eof(f, first);
	for (int i = first + 1; i < f->n; i++)
		assert_false(f->conn[i]->dead);
	assert_false(f->conn[other]->dead);
	assert_int_equal(f->tl.npending, TCP_PENDING_PER_SOURCE + 1);
	/* And again: the next oldest of that source. */
	accept_from(f, "127.0.0.2", UT_T0 + 101);
	assert_int_equal(f->evicted, 2);
	assert_true(f->conn[first + 1]->dead);
	assert_false(f->conn[other]->dead);
	sync_changed(f);
}

/* IPv4 clients of a dual-stack listener (::ffff:a.b.c.d) are the same source as over IPv4. */
static void
test_mapped_same_source(void **state)
{
	struct fx *f = *state;
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT };
	struct sockaddr_in6 bound;
	struct sockaddr_in to6;
	socklen_t len = sizeof(bound);
	int l6, off = 0, err;

	l6 = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (l6 == -1)
		skip();
	setsockopt(l6, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
	assert_int_equal(bind(l6, (struct sockaddr *)&a6, sizeof(a6)), 0);
	assert_int_equal(listen(l6, 64), 0);
	assert_int_equal(getsockname(l6, (struct sockaddr *)&bound, &len), 0);
	to6 = ut_addr("127.0.0.1", ntohs(bound.sin6_port));
	/* Half the limit over IPv4, the rest and one more to the dual-stack listener. */
	for (int k = 0; k < TCP_PENDING_PER_SOURCE / 2; k++)
		accept_from(f, "127.0.0.2", UT_T0 + (uint64_t)k);
	for (int k = 0; k <= TCP_PENDING_PER_SOURCE / 2; k++) {
		struct tcp_lconn *c;

		f->cfd[f->n] = ut_tcp_connect_from("127.0.0.2", &to6);
		c = tcp_link_accept(&f->tl, l6, UT_T0 + 100 + (uint64_t)k, &f->evicted, &err);
		assert_non_null(c);
		assert_int_equal(c->addr.ss_family, AF_INET6);
		assert_int_equal(c->src.family, 4);
		f->conn[f->n++] = c;
	}
	assert_int_equal(f->evicted, 1);
	assert_true(f->conn[0]->dead);
	close(l6);
}

/* A full table loses the oldest connection of the source that holds the most: a lone
 * connection of another source survives, although it is the oldest of all. */
static void
test_global_limit(void **state)
{
	struct fx *f = *state;
	int lone, busy, n = 0;
	char ip[32];

	lone = accept_from(f, "127.0.0.100", UT_T0);
	n++;
	busy = f->n;
	for (int k = 0; k < TCP_PENDING_PER_SOURCE; k++, n++)
		accept_from(f, "127.0.0.2", UT_T0 + 1);
	for (int s = 3; n < TCP_PENDING_MAX; s++) {
		snprintf(ip, sizeof(ip), "127.0.0.%d", s);
		for (int k = 0; k < TCP_PENDING_PER_SOURCE - 1 && n < TCP_PENDING_MAX; k++, n++)
			accept_from(f, ip, UT_T0 + 2);
	}
	assert_int_equal(f->tl.npending, TCP_PENDING_MAX);
	assert_int_equal(f->evicted, 0);
	/* A newcomer: the one source with 32 loses its oldest. */
	accept_from(f, "127.0.0.200", UT_T0 + 3);
	assert_int_equal(f->evicted, 1);
	assert_true(f->conn[busy]->dead);
	for (int i = busy + 1; i < busy + TCP_PENDING_PER_SOURCE; i++)
		assert_false(f->conn[i]->dead);
	assert_false(f->conn[lone]->dead);
	assert_int_equal(f->tl.npending, TCP_PENDING_MAX);
	/* More newcomers, each from its own address: always someone holding many goes. */
	for (int k = 0; k < 40; k++) {
		snprintf(ip, sizeof(ip), "127.0.1.%d", k + 1);
		accept_from(f, ip, UT_T0 + 4);
		assert_int_equal(f->tl.npending, TCP_PENDING_MAX);
	}
	assert_int_equal(f->evicted, 41);
	assert_false(f->conn[lone]->dead);
	for (int i = f->n - 40; i < f->n; i++)
		assert_false(f->conn[i]->dead);
	expect_client_eof(f, busy);
	sync_changed(f);
}

/* Unidentified connections close TCP_PENDING_TIMEOUT after they were accepted; bound and
 * dialled ones never do. */
static void
test_expiry(void **state)
{
	struct fx *f = *state;
	char err[128];
	int a = accept_from(f, "127.0.0.2", UT_T0);
	int b = accept_from(f, "127.0.0.3", UT_T0 + 1);
	int c = accept_from(f, "127.0.0.2", UT_T0 + 5000);
	int d = accept_from(f, "127.0.0.4", UT_T0 + 2);
	struct tcp_lconn *out;

	assert_int_equal(tcp_link_bind(&f->tl, f->conn[d], &f->a.tcp, &f->a), 0);
	out = tcp_link_dial(&f->tl, &f->b.tcp, &f->b, UT_SA(f->laddr), sizeof(f->laddr),
	    UT_T0, err, sizeof(err));
	assert_non_null(out);
	assert_int_equal(tcp_link_expire(&f->tl, UT_T0 + TCP_PENDING_TIMEOUT - 1), 0);
	assert_false(f->conn[a]->dead);
	assert_int_equal(tcp_link_expire(&f->tl, UT_T0 + 1 + TCP_PENDING_TIMEOUT), 2);
	assert_true(f->conn[a]->dead);
	assert_true(f->conn[b]->dead);
	assert_false(f->conn[c]->dead);
	expect_client_eof(f, a);
	assert_int_equal(tcp_link_expire(&f->tl, UT_T0 + 5000 + TCP_PENDING_TIMEOUT), 1);
	assert_true(f->conn[c]->dead);
	assert_int_equal(tcp_link_expire(&f->tl, UT_T0 + 100 * TCP_PENDING_TIMEOUT), 0);
	assert_false(f->conn[d]->dead);
	assert_false(out->dead);
	assert_int_equal(f->tl.npending, 0);
	sync_changed(f);
}

/* Bound to A: only A's data, under any index. Unbound: only the peer and index of the
 * handshake it carried, the latest one. Closed: nothing. */
static void
test_accepts(void **state)
{
	struct fx *f = *state;
	struct tcp_lconn *c = f->conn[accept_from(f, "127.0.0.2", UT_T0)];

	assert_false(tcp_link_accepts(c, &f->a, 0));
	assert_false(tcp_link_accepts(c, &f->a, 77));
	tcp_link_handshake(c, &f->a, 77);
	assert_true(tcp_link_accepts(c, &f->a, 77));
	assert_false(tcp_link_accepts(c, &f->a, 78));
	assert_false(tcp_link_accepts(c, &f->b, 77));
	/* A later handshake on the connection replaces the earlier one. */
	tcp_link_handshake(c, &f->b, 99);
	assert_false(tcp_link_accepts(c, &f->a, 77));
	assert_true(tcp_link_accepts(c, &f->b, 99));
	/* Bound: its peer's data under any index, nobody else's. */
	assert_int_equal(tcp_link_bind(&f->tl, c, &f->a.tcp, &f->a), 0);
	assert_true(tcp_link_accepts(c, &f->a, 77));
	assert_true(tcp_link_accepts(c, &f->a, 12345));
	assert_false(tcp_link_accepts(c, &f->b, 99));
	/* A handshake of another peer on a bound connection changes nothing. */
	tcp_link_handshake(c, &f->b, 5);
	assert_false(tcp_link_accepts(c, &f->b, 5));
	assert_null(c->hs_peer);
	assert_ptr_equal(c->peer, &f->a);
	tcp_link_close(&f->tl, c);
	assert_false(tcp_link_accepts(c, &f->a, 77));
	sync_changed(f);
}

/* Forgetting a peer clears the handshakes it left on unbound connections, and only those. */
static void
test_forget(void **state)
{
	struct fx *f = *state;
	struct tcp_lconn *c1 = f->conn[accept_from(f, "127.0.0.2", UT_T0)];
	struct tcp_lconn *c2 = f->conn[accept_from(f, "127.0.0.3", UT_T0)];

	tcp_link_handshake(c1, &f->a, 1);
	tcp_link_handshake(c2, &f->b, 2);
	tcp_link_forget(&f->tl, &f->a);
	assert_false(tcp_link_accepts(c1, &f->a, 1));
	assert_true(tcp_link_accepts(c2, &f->b, 2));
}

/* Binding gives full buffers (keeping bytes already read), takes the connection off the
 * unidentified count, and closes the peer's previous connection. */
static void
test_bind(void **state)
{
	struct fx *f = *state;
	uint8_t msg[2 + 100], got_wire[100];
	struct buf *b = malloc(sizeof(*b));
	int i1 = accept_from(f, "127.0.0.2", UT_T0), i2 = accept_from(f, "127.0.0.2", UT_T0);
	struct tcp_lconn *c1 = f->conn[i1], *c2 = f->conn[i2];

	assert_non_null(b);
	sync_changed(f);
	assert_int_equal(tcp_link_bind(&f->tl, c1, &f->a.tcp, &f->a), 0);
	assert_ptr_equal(c1->peer, &f->a);
	assert_ptr_equal(c1->slot, &f->a.tcp);
	assert_ptr_equal(f->a.tcp.conn, c1);
	assert_int_equal(c1->tc.rx_cap, TCP_RX_CAP);
	assert_int_equal(c1->tc.tx_cap, TCP_TX_CAP);
	assert_int_equal(f->tl.npending, 1);
	assert_ptr_equal(tcp_link_take_changed(&f->tl), c1);
	assert_null(tcp_link_take_changed(&f->tl));
	/* Binding again to the same peer changes nothing. */
	assert_int_equal(tcp_link_bind(&f->tl, c1, &f->a.tcp, &f->a), 0);
	assert_null(tcp_link_take_changed(&f->tl));

	/* Half a message waits in c2's small buffer when it is bound; the rest comes later. */
	for (size_t k = 0; k < sizeof(msg); k++)
		msg[k] = (uint8_t)k;
	wire_put16(msg, 100);
	assert_int_equal(write(f->cfd[i2], msg, 50), 50);
	assert_true(ut_readable(c2->tc.fd, 1000));
	assert_int_equal(tcp_fill(&c2->tc), 50);
	assert_int_equal(tcp_next_message(&c2->tc, b), 0);
	assert_int_equal(tcp_link_bind(&f->tl, c2, &f->a.tcp, &f->a), 0);
	assert_ptr_equal(f->a.tcp.conn, c2);
	assert_true(c1->dead);
	assert_null(c1->peer);
	assert_int_equal(f->tl.npending, 0);
	expect_client_eof(f, i1);
	assert_int_equal(write(f->cfd[i2], msg + 50, sizeof(msg) - 50), (ssize_t)sizeof(msg) - 50);
	assert_true(ut_readable(c2->tc.fd, 1000));
	assert_true(tcp_fill(&c2->tc) > 0);
	assert_int_equal(tcp_next_message(&c2->tc, b), 1);
	assert_int_equal(b->len, 100);
	memcpy(got_wire, buf_data(b), 100);
	assert_memory_equal(got_wire, msg + 2, 100);
	/* Both changed: the old one is dead and goes, the new one has new buffers. */
	assert_int_equal(sync_changed(f), 1);
	/* With the source's count back at 0, the source has its whole allowance again. */
	for (int k = 0; k < TCP_PENDING_PER_SOURCE; k++)
		accept_from(f, "127.0.0.2", UT_T0 + 10);
	assert_int_equal(f->evicted, 0);
	free(b);
}

/* Closing returns the peer carried and clears its slot; closing twice does nothing; an
 * unbound connection's close returns no one. */
static void
test_close(void **state)
{
	struct fx *f = *state;
	int i1 = accept_from(f, "127.0.0.2", UT_T0), i2 = accept_from(f, "127.0.0.3", UT_T0);
	struct tcp_lconn *c1 = f->conn[i1], *c2 = f->conn[i2];
	uint64_t id = c1->id;

	assert_int_equal(tcp_link_bind(&f->tl, c1, &f->a.tcp, &f->a), 0);
	assert_ptr_equal(tcp_link_close(&f->tl, c1), &f->a);
	assert_null(f->a.tcp.conn);
	assert_true(c1->dead);
	assert_int_equal(c1->tc.fd, -1);
	assert_null(c1->peer);
	assert_null(c1->slot);
	assert_null(tcp_link_by_id(&f->tl, id));
	assert_null(tcp_link_close(&f->tl, c1));
	expect_client_eof(f, i1);
	assert_int_equal(tcp_link_queue(c1, (const uint8_t *)"x", 1), -1);
	assert_int_equal(tcp_link_flush(&f->tl, c1), -1);
	assert_int_equal(f->tl.npending, 1);
	tcp_link_handshake(c2, &f->b, 3);
	assert_null(tcp_link_close(&f->tl, c2));
	assert_int_equal(f->tl.npending, 0);
	assert_null(c2->hs_peer);
	sync_changed(f);
}

/* The changed-list and deferred release: closed connections stay until released, whether or
 * not they were taken first, and tcp_link_free takes whatever is left (ASan: no leak). */
static void
test_changed_release(void **state)
{
	struct fx *f = *state;
	struct tcp_lconn *c[4], *x, *y;

	for (int k = 0; k < 4; k++)
		c[k] = f->conn[accept_from(f, "127.0.0.2", UT_T0)];
	for (int k = 0; k < 4; k++)
		assert_ptr_equal(tcp_link_take_changed(&f->tl), c[k]);
	assert_null(tcp_link_take_changed(&f->tl));
	/* Closed and taken, then released. */
	tcp_link_close(&f->tl, c[0]);
	x = tcp_link_take_changed(&f->tl);
	assert_ptr_equal(x, c[0]);
	assert_true(x->dead);
	tcp_link_release(&f->tl, x);
	/* Closed twice (one entry), released while still queued, behind and ahead of others. */
	tcp_link_close(&f->tl, c[1]);
	tcp_link_close(&f->tl, c[1]);
	tcp_link_close(&f->tl, c[2]);
	tcp_link_bind(&f->tl, c[3], &f->a.tcp, &f->a);
	tcp_link_release(&f->tl, c[2]);   /* the middle */
	tcp_link_release(&f->tl, c[1]);   /* the head */
	assert_ptr_equal(tcp_link_take_changed(&f->tl), c[3]);
	assert_null(tcp_link_take_changed(&f->tl));
	/* Released at the tail; the list then takes new entries behind the one left. */
	tcp_link_close(&f->tl, c[3]);
	x = f->conn[accept_from(f, "127.0.0.3", UT_T0)];
	tcp_link_close(&f->tl, x);
	tcp_link_release(&f->tl, x);
	y = f->conn[accept_from(f, "127.0.0.3", UT_T0)];
	assert_ptr_equal(tcp_link_take_changed(&f->tl), c[3]);
	assert_ptr_equal(tcp_link_take_changed(&f->tl), y);
	assert_null(tcp_link_take_changed(&f->tl));
	tcp_link_release(&f->tl, c[3]);
	assert_ptr_equal(f->tl.conns, y);
	assert_null(y->next);
	/* Left for tcp_link_free: one open, one closed but not released. */
	tcp_link_close(&f->tl, f->conn[accept_from(f, "127.0.0.2", UT_T0)]);
}

/* A dialled connection is the peer's from the start, has full buffers, takes messages only
 * once connected, and a refused dial closes it and clears the slot. */
static void
test_dial(void **state)
{
	struct fx *f = *state;
	struct pollfd pfd;
	struct tcp_lconn *c, *s;
	char err[128] = "";
	int e = 0;
	uint8_t rx[16];
	struct sockaddr_in closed;
	int tmp;

	c = tcp_link_dial(&f->tl, &f->a.tcp, &f->a, UT_SA(f->laddr), sizeof(f->laddr), UT_T0,
	    err, sizeof(err));
	assert_non_null(c);
	assert_true(c->outbound);
	assert_ptr_equal(c->peer, &f->a);
	assert_ptr_equal(f->a.tcp.conn, c);
	assert_true(c->tc.connecting);
	assert_true(c->want_write);
	assert_int_equal(c->tc.rx_cap, TCP_RX_CAP);
	assert_int_equal(tcp_link_queue(c, (const uint8_t *)"hello", 5), -1);
	assert_int_equal(tcp_link_flush(&f->tl, c), 1);
	pfd.fd = c->tc.fd;
	pfd.events = POLLOUT;
	assert_int_equal(poll(&pfd, 1, 1000), 1);
	assert_int_equal(tcp_link_connected(&f->tl, c, err, sizeof(err)), 0);
	assert_false(c->tc.connecting);
	assert_false(c->want_write);
	assert_int_equal(f->tl.npending, 0);
	s = tcp_link_accept(&f->tl, f->lfd, UT_T0, &f->evicted, &e);
	assert_non_null(s);
	assert_int_equal(tcp_link_queue(c, (const uint8_t *)"hello", 5), 0);
	assert_int_equal(tcp_link_flush(&f->tl, c), 0);
	assert_true(ut_readable(s->tc.fd, 1000));
	assert_int_equal(read(s->tc.fd, rx, sizeof(rx)), 7);
	assert_int_equal(wire_get16(rx), 5);
	assert_memory_equal(rx + 2, "hello", 5);

	/* A port nobody listens on: refused at once or after writability. */
	tmp = ut_tcp_listener(&closed);
	close(tmp);
	c = tcp_link_dial(&f->tl, &f->b.tcp, &f->b, UT_SA(closed), sizeof(closed), UT_T0, err,
	    sizeof(err));
	if (c != NULL) {
		pfd.fd = c->tc.fd;
		pfd.events = POLLOUT;
		assert_int_equal(poll(&pfd, 1, 1000), 1);
		assert_int_equal(tcp_link_connected(&f->tl, c, err, sizeof(err)), -1);
		assert_true(c->dead);
	}
	assert_true(strlen(err) > 0);
	assert_null(f->b.tcp.conn);
	sync_changed(f);
}

/* Unidentified connections may queue only a few hundred bytes; a bound one queues up to its
 * large buffer, reports backlog above TCP_TX_HIGH, and asks for writability while the socket
 * does not take it all. */
static void
test_queue_and_backlog(void **state)
{
	struct fx *f = *state;
	static uint8_t msg[WIRE_MSG_MAX], sink[65536];
	int i = accept_from(f, "127.0.0.2", UT_T0), small = 4096, rc, queued = 0;
	struct tcp_lconn *c = f->conn[i];

	memset(msg, 0xab, sizeof(msg));
	sync_changed(f);
	/* Three handshake-sized messages fit the small buffer, a fourth does not. */
	for (int k = 0; k < 3; k++)
		assert_int_equal(tcp_link_queue(c, msg, WIRE_RESP_LEN), 0);
	assert_int_equal(tcp_link_queue(c, msg, WIRE_RESP_LEN), -1);
	assert_int_equal(tcp_link_queue(c, msg, 0), -1);
	assert_int_equal(tcp_link_queue(c, msg, WIRE_MSG_MAX + 1), -1);
	assert_int_equal(tcp_link_flush(&f->tl, c), 0);
	assert_null(tcp_link_take_changed(&f->tl));
	assert_int_equal(tcp_link_bind(&f->tl, c, &f->a.tcp, &f->a), 0);
	sync_changed(f);
	/* The other end does not read; small socket buffers make the queue stay. */
	setsockopt(c->tc.fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	setsockopt(f->cfd[i], SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	while (!tcp_link_backlogged(c)) {
		assert_int_equal(tcp_link_queue(c, msg, 1400), 0);
		queued++;
	}
	assert_int_equal(queued, (TCP_TX_HIGH + 1401) / 1402);
	assert_int_equal(tcp_link_flush(&f->tl, c), 1);
	assert_true(c->want_write);
	assert_ptr_equal(tcp_link_take_changed(&f->tl), c);
	assert_true(c->tc.tx_len > 0);
	/* The other end reads everything: the queue drains, writability is no longer wanted. */
	small = 4 * 1024 * 1024;
	setsockopt(f->cfd[i], SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	setsockopt(c->tc.fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	do {
		ssize_t n;

		while ((n = read(f->cfd[i], sink, sizeof(sink))) > 0)
			;
		rc = tcp_link_flush(&f->tl, c);
		ut_readable(f->cfd[i], 10);
	} while (rc == 1);
	assert_int_equal(rc, 0);
	assert_false(c->want_write);
	assert_false(tcp_link_backlogged(c));
	assert_ptr_equal(tcp_link_take_changed(&f->tl), c);
}

/* The back-off: at once, then 1 s doubling to 30 s, each with up to a quarter more at random
 * (rand 0..999; any rand is taken modulo 1000); a session that came up starts it again. */
static void
test_backoff(void **state)
{
	static const uint64_t base[] = { 0, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000 };
	struct tcp_peer slot = { 0 };
	unsigned rands[] = { 0, 1, 500, 998, 999, 1000, 123456789u, 0xffffffffu };
	struct fx *f = *state;

	(void)f;
	for (size_t k = 0; k < sizeof(base) / sizeof(base[0]); k++)
		assert_int_equal(tcp_link_backoff(&slot, 0), base[k]);
	tcp_link_backoff_reset(&slot);
	assert_int_equal(slot.tries, 0);
	for (size_t r = 0; r < sizeof(rands) / sizeof(rands[0]); r++) {
		tcp_link_backoff_reset(&slot);
		for (size_t k = 0; k < sizeof(base) / sizeof(base[0]); k++) {
			uint64_t d = tcp_link_backoff(&slot, rands[r]);

			assert_true(d >= base[k]);
			assert_true(d * 4 <= base[k] * 5);
			assert_int_equal(d, base[k] + base[k] * (rands[r] % 1000) / 4000);
		}
	}
	/* The largest jitter is just under a quarter. */
	tcp_link_backoff_reset(&slot);
	for (int k = 0; k < 6; k++)
		tcp_link_backoff(&slot, 0);
	assert_int_equal(tcp_link_backoff(&slot, 999), 30000 + 7492);
}

int
main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_accept),
		T(test_per_source_limit),
		T(test_mapped_same_source),
		T(test_global_limit),
		T(test_expiry),
		T(test_accepts),
		T(test_forget),
		T(test_bind),
		T(test_close),
		T(test_changed_release),
		T(test_dial),
		T(test_queue_and_backlog),
		T(test_backoff),
	};
#undef T

	log_init(true, LOG_LVL_ERR);
	return cmocka_run_group_tests_name("link_tcp", tests, NULL, NULL);
}
