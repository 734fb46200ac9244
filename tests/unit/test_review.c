/*
 * test_review.c - regression tests for the findings of the independent review of the engine
 * rewrite (b3eff8e..c68aecf): each test failed on c68aecf and passes with its fix. The data path
 * tests reuse test_datapath.c's fixture and pump() (included below with its main renamed).
 * tests/netns/review.sh holds the findings that need the daemon as users run it.
 */
#define main datapath_main
int datapath_main(void);
#include "test_datapath.c"
#undef main

#include "engine.h"

/*
 * Finding: a client whose rekey is refused (MISMATCH or UNKNOWN_NAME, e.g. the server came back
 * with another type and its CLOSE was lost) keeps its current keys and backs off for 30 s, but
 * session_next_deadline still reports the rekey time, which is in the past, while session_tick
 * does nothing before the back-off ends. The engine re-arms the peer's timer at "now" after
 * every call: the loop spins at 100 % CPU until the back-off ends or the keys expire (up to
 * 170 s with rekey-interval 10), unless a frame from the device happens to set want_handshake.
 */
static void
test_review_refused_rekey_timer_in_the_past(void **state)
{
	struct fx *f = *state;
	uint64_t before;

	udp_link(f);
	pump(f);
	assert_true(established(f, &f->lc));
	/* The server now disagrees on the type; the client's keys reach the rekey time. */
	f->ls.p->cfg.type = VT_TAP;
	f->now += (uint64_t)f->lc.p->cfg.rekey_interval * 1000;
	dp_peer_timer(f->c, f->lc.p, f->now); /* sends the rekey initiation */
	sync_dp(f->c);
	assert_true(ut_readable(f->s->udp.fd, 1000));
	dp_udp_readable(f->s, f->now);
	sync_dp(f->s);
	dp_handshakes(f->s, f->now);
	sync_dp(f->s);
	assert_true(ut_readable(f->c->udp.fd, 1000));
	dp_udp_readable(f->c, f->now); /* the refusal */
	sync_dp(f->c);
	assert_int_equal(f->lc.p->s.stats.drops[DROP_MISMATCH], 1);
	assert_true(f->lc.p->s.kp_cur.valid);

	/* What the engine's timer does next: fire at the deadline, tick, re-arm. */
	for (int i = 0; i < 3; i++) {
		uint64_t at = dp_peer_deadline(f->c, f->lc.p, f->now);

		before = f->lc.p->s.stats.drops[DROP_MISMATCH];
		/* A deadline that is already due must make the tick do something... */
		assert_true(at > f->now);
		dp_peer_timer(f->c, f->lc.p, f->now);
		sync_dp(f->c);
		assert_int_equal(f->lc.p->s.stats.drops[DROP_MISMATCH], before);
	}
}

/* A server engine without sockets, control socket or channel (the parent's in-process
 * calls). */
static struct engine *
bare_engine(bool server, uint8_t priv[32])
{
	struct engine_setup st;
	uint8_t pub[32];

	crypto_x25519_keygen(priv, pub);
	memset(&st, 0, sizeof(st));
	st.private_key = priv;
	st.server = server;
	st.udp_fd = st.tcp_fd = st.ctl_fd = st.chan_fd = -1;
	st.client_udp[0] = st.client_udp[1] = -1;
	st.role = server ? "server" : "client";
	return engine_new(&st);
}

/*
 * Finding: reload() restarted kept peers one at a time (PEER_RESTART: remove, then add with the
 * new settings). When a reload swapped the public keys of two peers (or rotated them among
 * several), the first restart's add met the key still held by the other peer: peer_add refused
 * it, the peer was gone from the engine and the parent was not told. Now the parent takes out
 * every peer whose new key another running peer holds before it adds anything (remove, then
 * add: tests/netns/review.sh e runs it), and an engine that cannot take a peer back says so
 * (PEER_GONE). Here: the engine side of both.
 */
static void
test_review_restart_swapped_keys(void **state)
{
	uint8_t priv[32], x[32], ka[32], kb[32];
	struct vt_peer a, b;
	struct engine *e;
	int ta[2], tb[2], ta2[2], tb2[2];

	(void)state;
	e = bare_engine(true, priv);
	assert_non_null(e);
	crypto_x25519_keygen(x, ka);
	crypto_x25519_keygen(x, kb);
	ut_peer_cfg(&a, "alpha", ka, VT_UDP, NULL);
	ut_peer_cfg(&b, "beta", kb, VT_UDP, NULL);
	ut_fake_tun(ta);
	ut_fake_tun(tb);
	assert_int_equal(engine_add_peer(e, 1, &a, NULL, 0, 0, ta[0]), 0);
	assert_int_equal(engine_add_peer(e, 2, &b, NULL, 0, 0, tb[0]), 0);
	memcpy(a.public_key, kb, 32);
	memcpy(b.public_key, ka, 32);
	/* A restart onto a key another peer holds fails and the peer is gone, not half there;
	 * the other peer is untouched. */
	assert_int_equal(engine_restart_peer(e, 1, &a, NULL, 0, 0), -1);
	assert_int_equal(engine_update_peer(e, 1, &a), -1);
	assert_int_equal(engine_update_peer(e, 2, &b), 0);
	/* What the parent sends for a swap: remove both, then add both with their new keys. */
	assert_int_equal(engine_remove_peer(e, 2), 0);
	ut_fake_tun(ta2);
	ut_fake_tun(tb2);
	assert_int_equal(engine_add_peer(e, 1, &a, NULL, 0, 0, ta2[0]), 0);
	assert_int_equal(engine_add_peer(e, 2, &b, NULL, 0, 0, tb2[0]), 0);
	assert_int_equal(engine_update_peer(e, 1, &a), 0);
	assert_int_equal(engine_update_peer(e, 2, &b), 0);
	engine_free(e);
	close(ta[1]);
	close(tb[1]);
	close(ta2[1]);
	close(tb2[1]);
}

/*
 * Finding: a client reload whose device settings changed sends PEER_REMOVE, then PEER_ADD.
 * engine_remove_peer leaves the client's UDP socket open (and its event armed), and
 * engine_add_peer -> dp_udp_client -> udp_link_client memsets the link and opens a new socket
 * over it: the old descriptor leaks, one per such reload.
 */
static void
test_review_client_readd_leaks_udp_socket(void **state)
{
	struct sockaddr_in srv = ut_addr("127.0.0.1", 9); /* any address: UDP connect only */
	uint8_t priv[32], x[32], spub[32];
	struct vt_peer c;
	struct engine *e;
	int n1 = -1;

	(void)state;
	e = bare_engine(false, priv);
	assert_non_null(e);
	crypto_x25519_keygen(x, spub);
	ut_peer_cfg(&c, "link", spub, VT_UDP, NULL);
	for (uint32_t id = 1; id <= 4; id++) {
		int t[2];

		ut_fake_tun(t);
		assert_int_equal(engine_add_peer(e, id, &c, UT_SA(srv), sizeof(srv), 0, t[0]), 0);
		assert_int_equal(engine_remove_peer(e, id), 0);
		close(t[1]);
		if (n1 == -1)
			n1 = ut_open_fds();
		else
			assert_int_equal(ut_open_fds(), n1);
	}
	engine_free(e);
}

/*
 * Finding (DoS, IPv6 mostly): with the table of unidentified connections full and every source
 * holding one, busiest_source() breaks the tie by hash-table order, not by age, and nothing
 * protects a connection that already carried an answered initiation of a configured peer
 * (hs_peer set). A host with many sources (an IPv6 /56 is 256 /64 sources) that opens
 * connections in a loop evicts a real client's connection between the server's response and
 * the client's confirming keepalive, so TCP clients cannot (re)connect. 127.1.x.y addresses
 * stand in for the attacker's sources here.
 */
static void
test_review_answered_connection_evicted_by_many_sources(void **state)
{
	struct sockaddr_in laddr;
	struct tcp_link tl;
	struct tcp_lconn *legit = NULL, *c;
	struct peer owner;
	int lfd = ut_tcp_listener(&laddr), fds[TCP_PENDING_MAX + 600], n = 0, evicted = 0, err;
	uint64_t legit_id = 0;
	bool gone = false;

	(void)state;
	memset(&owner, 0, sizeof(owner));
	tcp_link_init(&tl);
	for (int i = 0; i < TCP_PENDING_MAX + 600 && !gone; i++) {
		char ip[32];

		if (i == TCP_PENDING_MAX / 2)
			snprintf(ip, sizeof(ip), "127.0.0.2"); /* the real client */
		else
			snprintf(ip, sizeof(ip), "127.1.%d.%d", i / 250, i % 250 + 1);
		fds[n++] = ut_tcp_connect_from(ip, &laddr);
		do
			c = tcp_link_accept(&tl, lfd, UT_T0 + (uint64_t)i, &evicted, &err);
		while (c == NULL && err == 0 && ut_readable(lfd, 100));
		assert_non_null(c);
		if (i == TCP_PENDING_MAX / 2) {
			legit = c;
			legit_id = c->id;
			/* Its initiation was answered: it holds a pending key of a configured peer. */
			tcp_link_handshake(c, &owner, 0x1234);
		}
		while ((c = tcp_link_take_changed(&tl)) != NULL)
			if (c->dead)
				tcp_link_release(&tl, c);
		gone = legit != NULL && tcp_link_by_id(&tl, legit_id) == NULL;
		if (gone)
			printf("# the answered connection went at the %d-th connection after it\n",
			    i - TCP_PENDING_MAX / 2);
	}
	tcp_link_free(&tl);
	for (int i = 0; i < n; i++)
		close(fds[i]);
	close(lfd);
	/* 600 connections from others, one each: the answered one should still be there. */
	assert_false(gone);
}

int
main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_review_refused_rekey_timer_in_the_past),
		T(test_review_restart_swapped_keys),
		T(test_review_client_readd_leaks_udp_socket),
		T(test_review_answered_connection_evicted_by_many_sources),
	};
#undef T

	(void)datapath_main;
	log_init(true, LOG_LVL_ERR);
	return cmocka_run_group_tests_name("review", tests, NULL, NULL);
}
