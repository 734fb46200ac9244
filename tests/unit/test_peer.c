/*
 * test_peer.c - the peer table: lookups by id, name, public key and receiver index, refusal of
 * duplicates, a thousand peers, the changed-list, and the index table following two real
 * sessions (a client table and a server table) through a handshake and a rekey. Also the name
 * rule and name tables of names.h that the table's users share.
 *
 * crypto_random is wrapped (-Wl,--wrap) so that peer_new_index can be handed 0 and indices in
 * use before a fresh one; everything else gets real randomness.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crypto.h"
#include "log.h"
#include "names.h"
#include "peer.h"
#include "ut.h"
#include "wire.h"

void __real_crypto_random(void *p, size_t len);
void __wrap_crypto_random(void *p, size_t len);

static uint32_t script[8];
static int nscript, iscript;

/* Scripted 4-byte draws (receiver indices) while a script is set, real randomness otherwise. */
void
__wrap_crypto_random(void *p, size_t len)
{
	if (len == sizeof(uint32_t) && iscript < nscript) {
		memcpy(p, &script[iscript++], sizeof(uint32_t));
		return;
	}
	__real_crypto_random(p, len);
}

/* One daemon's identity and table. */
struct side {
	uint8_t priv[32], pub[32];
	struct session_local local;
	struct peer_table t;
};

struct fx {
	struct side c, s;      /* client (initiator) and server */
	struct peer *pc, *ps;  /* the link "link" in each table */
	struct buf a, b, d;    /* messages in flight */
	struct sockaddr_in src;
};

static void
side_init(struct side *sd)
{
	assert_int_equal(crypto_x25519_keygen(sd->priv, sd->pub), 0);
	assert_int_equal(session_local_init(&sd->local, sd->priv), 0);
	peer_table_init(&sd->t);
}

static void
side_free(struct side *sd)
{
	peer_table_free(&sd->t);
	session_local_free(&sd->local);
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	side_init(&f->c);
	side_init(&f->s);
	f->src = ut_addr("127.0.0.2", 40000);
	nscript = iscript = 0;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	side_free(&f->c);
	side_free(&f->s);
	free(f);
	return 0;
}

/* A peer of t with a random key (the table does not care whose key it is). */
static struct peer *
add_random(struct peer_table *t, struct session_local *l, uint32_t id, const char *name)
{
	struct vt_peer cfg;
	uint8_t key[32];

	crypto_random(key, sizeof(key));
	ut_peer_cfg(&cfg, name, key, VT_UDP, NULL);
	return peer_add(t, id, &cfg, l, false);
}

/* The link between the two sides, plus two decoys on the server that it must tell apart. */
static void
add_link(struct fx *f)
{
	struct vt_peer cfg;

	ut_peer_cfg(&cfg, "link", f->s.pub, VT_UDP, NULL);
	f->pc = peer_add(&f->c.t, 7, &cfg, &f->c.local, true);
	assert_non_null(f->pc);
	assert_non_null(add_random(&f->s.t, &f->s.local, 1, "decoy1"));
	ut_peer_cfg(&cfg, "link", f->c.pub, VT_UDP, NULL);
	f->ps = peer_add(&f->s.t, 2, &cfg, &f->s.local, false);
	assert_non_null(f->ps);
	assert_non_null(add_random(&f->s.t, &f->s.local, 3, "decoy3"));
}

/* idx leads to p in slot `slot`, with p's key pair kp (NULL for none). */
static void
expect_index(const struct peer_table *t, uint32_t idx, const struct peer *p,
    enum session_slot slot, const struct session_keypair *kp)
{
	enum session_slot got;
	struct session_keypair *gkp;

	assert_ptr_equal(peer_by_index(t, idx, &got, &gkp), p);
	assert_int_equal(got, slot);
	assert_ptr_equal(gkp, kp);
}

static void
expect_no_index(const struct peer_table *t, uint32_t idx)
{
	enum session_slot got;
	struct session_keypair *gkp;

	assert_null(peer_by_index(t, idx, &got, &gkp));
	assert_int_equal(got, SLOT_NONE);
	assert_null(gkp);
}

/* The client starts a handshake under an index its table chose; returns the index. */
static uint32_t
client_initiate(struct fx *f, uint64_t now)
{
	uint32_t idx = peer_new_index(&f->c.t);

	assert_int_equal(session_initiate(&f->pc->s, idx, now, &f->a), SV_SEND);
	peer_reindex(&f->c.t, f->pc);
	return idx;
}

/* The server answers the initiation in f->a as the data path does: open, find the peer by
 * key, finish under an index from its table. Returns that index. */
static uint32_t
server_respond(struct fx *f, uint64_t now)
{
	struct session_init in;
	enum vt_drop why;
	uint32_t idx;

	assert_int_equal(session_respond_open(&f->s.local, UT_SA(f->src), sizeof(f->src),
	    buf_data(&f->a), f->a.len, false, now, &in, &f->b, &why), SV_NONE);
	assert_ptr_equal(peer_by_key(&f->s.t, in.remote_static), f->ps);
	idx = peer_new_index(&f->s.t);
	assert_int_equal(session_respond_finish(&f->ps->s, &in, idx, now, &f->b), SV_SEND);
	peer_reindex(&f->s.t, f->ps);
	return idx;
}

/* The client takes the response in f->b (found by the index it carries) and confirms. */
static void
client_consume(struct fx *f, uint64_t now)
{
	expect_index(&f->c.t, wire_get32(buf_data(&f->b) + 8), f->pc, SLOT_HANDSHAKE, NULL);
	assert_int_equal(session_consume_response(&f->pc->s, buf_data(&f->b), f->b.len, now,
	    &f->d), SV_SEND);
	peer_reindex(&f->c.t, f->pc);
}

/* The server receives the data message in f->d by its receiver index. */
static void
server_receive(struct fx *f, uint64_t now)
{
	enum session_slot slot;
	struct session_keypair *kp;
	struct peer *p = peer_by_index(&f->s.t, wire_get32(buf_data(&f->d) + 4), &slot, &kp);

	assert_ptr_equal(p, f->ps);
	assert_non_null(kp);
	assert_int_not_equal(session_decap(&p->s, kp, &f->d, now), SV_DROP);
	peer_reindex(&f->s.t, p);
}

/* Peers are found by each key, and iteration keeps the order they were added in. */
static void
test_add_lookup(void **state)
{
	struct fx *f = *state;
	struct peer *p[3], *q;
	const char *names[3] = { "alpha", "beta", "gamma" };
	uint8_t other[32];
	int k = 0;

	for (int i = 0; i < 3; i++) {
		p[i] = add_random(&f->s.t, &f->s.local, (uint32_t)(10 + i), names[i]);
		assert_non_null(p[i]);
	}
	assert_int_equal(f->s.t.count, 3);
	for (int i = 0; i < 3; i++) {
		assert_ptr_equal(peer_by_id(&f->s.t, (uint32_t)(10 + i)), p[i]);
		assert_ptr_equal(peer_by_name(&f->s.t, names[i]), p[i]);
		assert_ptr_equal(peer_by_key(&f->s.t, p[i]->cfg.public_key), p[i]);
		assert_int_equal(p[i]->id, 10 + i);
		assert_int_equal(p[i]->tun_fd, -1);
		assert_int_equal(p[i]->dial_at, UINT64_MAX);
	}
	assert_null(peer_by_id(&f->s.t, 13));
	assert_null(peer_by_name(&f->s.t, "delta"));
	assert_null(peer_by_name(&f->s.t, "alph"));
	memcpy(other, p[0]->cfg.public_key, 32);
	other[31] ^= 1;
	assert_null(peer_by_key(&f->s.t, other));
	for (q = peer_first(&f->s.t); q != NULL; q = peer_next(q))
		assert_ptr_equal(q, p[k++]);
	assert_int_equal(k, 3);
}

/* The table copies the configuration without the hooks (the parent runs those). */
static void
test_add_copies_without_hooks(void **state)
{
	struct fx *f = *state;
	struct vt_peer cfg;
	struct peer *p;
	struct vt_cmd one[1];
	char arg[] = "/bin/true";
	uint8_t key[32];

	crypto_random(key, sizeof(key));
	ut_peer_cfg(&cfg, "hooked", key, VT_TCP, NULL);
	memset(one, 0, sizeof(one));
	cfg.up.ncmds = 1;
	cfg.up.cmds = one;
	cfg.up.cmds[0].argv[0] = arg;
	cfg.up.cmds[0].argc = 1;
	cfg.down = cfg.up;
	p = peer_add(&f->s.t, 1, &cfg, &f->s.local, false);
	assert_non_null(p);
	assert_int_equal(p->cfg.up.ncmds, 0);
	assert_null(p->cfg.up.cmds);
	assert_int_equal(p->cfg.down.ncmds, 0);
	assert_int_equal(p->cfg.proto, VT_TCP);
	/* The session points at the table's copy, not at the caller's. */
	assert_ptr_equal(p->s.peer, &p->cfg);
	memset(&cfg, 0, sizeof(cfg));
	assert_string_equal(p->cfg.name, "hooked");
}

/* A second peer with a taken id, name or key is refused and the first stays as it was. */
static void
test_duplicates_refused(void **state)
{
	struct fx *f = *state;
	struct vt_peer cfg;
	struct peer *p = add_random(&f->s.t, &f->s.local, 1, "one");
	uint8_t key[32];

	assert_non_null(p);
	crypto_random(key, sizeof(key));
	ut_peer_cfg(&cfg, "two", key, VT_UDP, NULL);
	assert_null(peer_add(&f->s.t, 1, &cfg, &f->s.local, false));   /* id */
	ut_peer_cfg(&cfg, "one", key, VT_UDP, NULL);
	assert_null(peer_add(&f->s.t, 2, &cfg, &f->s.local, false));   /* name */
	ut_peer_cfg(&cfg, "two", p->cfg.public_key, VT_UDP, NULL);
	assert_null(peer_add(&f->s.t, 2, &cfg, &f->s.local, false));   /* key */
	assert_int_equal(f->s.t.count, 1);
	assert_ptr_equal(peer_by_id(&f->s.t, 1), p);
	assert_ptr_equal(peer_by_name(&f->s.t, "one"), p);
	assert_ptr_equal(peer_by_key(&f->s.t, p->cfg.public_key), p);
	assert_null(peer_by_id(&f->s.t, 2));
	assert_null(peer_by_name(&f->s.t, "two"));
	assert_ptr_equal(peer_first(&f->s.t), p);
	assert_null(peer_next(p));
	/* With everything new it goes in. */
	ut_peer_cfg(&cfg, "two", key, VT_UDP, NULL);
	assert_non_null(peer_add(&f->s.t, 2, &cfg, &f->s.local, false));
	assert_int_equal(f->s.t.count, 2);
}

/* Removal unlinks the peer from every lookup and from the order; its id, name and key are
 * free again. */
static void
test_remove_and_readd(void **state)
{
	struct fx *f = *state;
	struct peer *p[3];
	struct vt_peer cfg;
	uint8_t key[32];
	char name[8];

	for (int i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "p%d", i);
		p[i] = add_random(&f->s.t, &f->s.local, (uint32_t)i + 1, name);
		assert_non_null(p[i]);
	}
	memcpy(key, p[1]->cfg.public_key, 32);
	peer_remove(&f->s.t, p[1]);
	assert_int_equal(f->s.t.count, 2);
	assert_null(peer_by_id(&f->s.t, 2));
	assert_null(peer_by_name(&f->s.t, "p1"));
	assert_null(peer_by_key(&f->s.t, key));
	assert_ptr_equal(peer_first(&f->s.t), p[0]);
	assert_ptr_equal(peer_next(p[0]), p[2]);
	assert_null(peer_next(p[2]));
	ut_peer_cfg(&cfg, "p1", key, VT_UDP, NULL);
	p[1] = peer_add(&f->s.t, 2, &cfg, &f->s.local, false);
	assert_non_null(p[1]);
	assert_ptr_equal(peer_next(p[2]), p[1]); /* the newest comes last */
	/* Head and tail. */
	peer_remove(&f->s.t, p[0]);
	peer_remove(&f->s.t, p[1]);
	assert_ptr_equal(peer_first(&f->s.t), p[2]);
	assert_null(peer_next(p[2]));
	peer_remove(&f->s.t, p[2]);
	assert_null(peer_first(&f->s.t));
	assert_int_equal(f->s.t.count, 0);
	assert_int_equal(f->s.t.by_id.count + f->s.t.by_name.count + f->s.t.by_key.count, 0);
}

/* A thousand peers, no cap and no scan: every one found by every key, then half removed. */
static void
test_thousand_peers(void **state)
{
	struct fx *f = *state;
	static struct peer *p[1000];
	char name[16];

	for (int i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "peer%d", i);
		p[i] = add_random(&f->s.t, &f->s.local, (uint32_t)(i * 7919 + 1), name);
		assert_non_null(p[i]);
	}
	assert_int_equal(f->s.t.count, 1000);
	for (int i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "peer%d", i);
		assert_ptr_equal(peer_by_id(&f->s.t, (uint32_t)(i * 7919 + 1)), p[i]);
		assert_ptr_equal(peer_by_name(&f->s.t, name), p[i]);
		assert_ptr_equal(peer_by_key(&f->s.t, p[i]->cfg.public_key), p[i]);
	}
	for (int i = 0; i < 1000; i += 2)
		peer_remove(&f->s.t, p[i]);
	assert_int_equal(f->s.t.count, 500);
	for (int i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "peer%d", i);
		if (i % 2 == 0) {
			assert_null(peer_by_id(&f->s.t, (uint32_t)(i * 7919 + 1)));
			assert_null(peer_by_name(&f->s.t, name));
		} else {
			assert_ptr_equal(peer_by_id(&f->s.t, (uint32_t)(i * 7919 + 1)), p[i]);
			assert_ptr_equal(peer_by_name(&f->s.t, name), p[i]);
			assert_ptr_equal(peer_by_key(&f->s.t, p[i]->cfg.public_key), p[i]);
		}
	}
	/* The rest goes with the table (teardown); ASan checks that nothing leaks. */
}

/* Changed peers come back once each, oldest first; a removed peer leaves the list. */
static void
test_changed_list(void **state)
{
	struct fx *f = *state;
	struct peer *p[4];
	char name[8];

	assert_null(peer_take_changed(&f->s.t));
	for (int i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "c%d", i);
		p[i] = add_random(&f->s.t, &f->s.local, (uint32_t)i + 1, name);
		assert_non_null(p[i]);
	}
	assert_null(peer_take_changed(&f->s.t)); /* adding is not a change */
	peer_changed(&f->s.t, p[2]);
	peer_changed(&f->s.t, p[0]);
	peer_changed(&f->s.t, p[2]);
	peer_changed(&f->s.t, p[3]);
	assert_ptr_equal(peer_take_changed(&f->s.t), p[2]);
	assert_ptr_equal(peer_take_changed(&f->s.t), p[0]);
	assert_ptr_equal(peer_take_changed(&f->s.t), p[3]);
	assert_null(peer_take_changed(&f->s.t));
	/* Taken peers may change again. */
	peer_changed(&f->s.t, p[0]);
	peer_changed(&f->s.t, p[1]);
	peer_changed(&f->s.t, p[3]);
	/* Remove the middle and the tail of the list, then add to it again. */
	peer_remove(&f->s.t, p[1]);
	peer_remove(&f->s.t, p[3]);
	peer_changed(&f->s.t, p[2]);
	assert_ptr_equal(peer_take_changed(&f->s.t), p[0]);
	assert_ptr_equal(peer_take_changed(&f->s.t), p[2]);
	assert_null(peer_take_changed(&f->s.t));
	/* The head. */
	peer_changed(&f->s.t, p[0]);
	peer_changed(&f->s.t, p[2]);
	peer_remove(&f->s.t, p[0]);
	assert_ptr_equal(peer_take_changed(&f->s.t), p[2]);
	assert_null(peer_take_changed(&f->s.t));
}

/* The index table follows both sessions through a handshake and a rekey: every index leads to
 * its slot, the previous pair's index goes when the pair does, nothing else answers. */
static void
test_indices_follow_sessions(void **state)
{
	struct fx *f = *state;
	uint64_t now = UT_T0;
	uint32_t ci1, si1, ci2, si2;

	add_link(f);
	ci1 = client_initiate(f, now);
	expect_index(&f->c.t, ci1, f->pc, SLOT_HANDSHAKE, NULL);
	si1 = server_respond(f, now);
	assert_int_not_equal(si1, 0);
	expect_index(&f->s.t, si1, f->ps, SLOT_NEXT, &f->ps->s.kp_next);
	client_consume(f, now);
	expect_index(&f->c.t, ci1, f->pc, SLOT_CURRENT, &f->pc->s.kp_cur);
	server_receive(f, now);
	expect_index(&f->s.t, si1, f->ps, SLOT_CURRENT, &f->ps->s.kp_cur);
	assert_int_equal(f->ps->nidx, 1);
	assert_int_equal(f->pc->nidx, 1);

	/* Rekey: new indices beside the old ones, then the old ones become previous. */
	now += 120000;
	ci2 = client_initiate(f, now);
	assert_int_not_equal(ci2, ci1);
	expect_index(&f->c.t, ci2, f->pc, SLOT_HANDSHAKE, NULL);
	expect_index(&f->c.t, ci1, f->pc, SLOT_CURRENT, &f->pc->s.kp_cur);
	si2 = server_respond(f, now);
	assert_int_not_equal(si2, si1);
	expect_index(&f->s.t, si2, f->ps, SLOT_NEXT, &f->ps->s.kp_next);
	expect_index(&f->s.t, si1, f->ps, SLOT_CURRENT, &f->ps->s.kp_cur);
	client_consume(f, now + 1);
	expect_index(&f->c.t, ci2, f->pc, SLOT_CURRENT, &f->pc->s.kp_cur);
	expect_index(&f->c.t, ci1, f->pc, SLOT_PREVIOUS, &f->pc->s.kp_prev);
	server_receive(f, now + 2);
	expect_index(&f->s.t, si2, f->ps, SLOT_CURRENT, &f->ps->s.kp_cur);
	expect_index(&f->s.t, si1, f->ps, SLOT_PREVIOUS, &f->ps->s.kp_prev);
	assert_int_equal(f->ps->nidx, 2);

	/* The previous pair lingers, then goes, and its index with it. */
	now += 2 + SESSION_PREV_KEY_LINGER;
	session_tick(&f->ps->s, peer_new_index(&f->s.t), now, &f->a);
	peer_reindex(&f->s.t, f->ps);
	expect_no_index(&f->s.t, si1);
	expect_index(&f->s.t, si2, f->ps, SLOT_CURRENT, &f->ps->s.kp_cur);
	assert_int_equal(f->ps->nidx, 1);
	assert_int_equal(f->s.t.by_index.count, 1);
	/* A data message sealed now carries the index the other table knows. */
	buf_reset(&f->d);
	memset(buf_put(&f->d, 20), 0x45, 20);
	assert_int_equal(session_encap(&f->pc->s, &f->d, now), SV_SEND);
	assert_int_equal(wire_get32(buf_data(&f->d) + 4), si2);

	/* The session goes down: every index goes. */
	assert_int_equal(session_close(&f->ps->s, now, &f->a), SV_SEND);
	peer_reindex(&f->s.t, f->ps);
	expect_no_index(&f->s.t, si2);
	assert_int_equal(f->s.t.by_index.count, 0);
}

/* Removing a peer drops every index it had: handshake, current and previous. */
static void
test_remove_drops_indices(void **state)
{
	struct fx *f = *state;
	uint32_t ci1, ci2, ci3, si1;

	add_link(f);
	ci1 = client_initiate(f, UT_T0);
	si1 = server_respond(f, UT_T0);
	client_consume(f, UT_T0);
	server_receive(f, UT_T0);
	ci2 = client_initiate(f, UT_T0 + 1000);
	server_respond(f, UT_T0 + 1000);
	client_consume(f, UT_T0 + 1000);
	ci3 = client_initiate(f, UT_T0 + 2000); /* a third, unanswered */
	expect_index(&f->c.t, ci1, f->pc, SLOT_PREVIOUS, &f->pc->s.kp_prev);
	expect_index(&f->c.t, ci2, f->pc, SLOT_CURRENT, &f->pc->s.kp_cur);
	expect_index(&f->c.t, ci3, f->pc, SLOT_HANDSHAKE, NULL);
	assert_int_equal(f->pc->nidx, 3);
	assert_int_equal(f->c.t.by_index.count, 3);
	peer_remove(&f->c.t, f->pc);
	f->pc = NULL;
	expect_no_index(&f->c.t, ci1);
	expect_no_index(&f->c.t, ci2);
	expect_no_index(&f->c.t, ci3);
	assert_int_equal(f->c.t.by_index.count, 0);
	/* On the server, among decoys: current and next. */
	assert_int_equal(f->ps->nidx, 2);
	peer_remove(&f->s.t, f->ps);
	expect_no_index(&f->s.t, si1);
	assert_int_equal(f->s.t.by_index.count, 0);
	assert_int_equal(f->s.t.count, 2);
}

/* peer_new_index draws again on 0 and on every index some session uses. */
static void
test_new_index_skips_used(void **state)
{
	struct fx *f = *state;
	uint32_t ci1, si1, fresh = 0x5eed1234;

	add_link(f);
	ci1 = client_initiate(f, UT_T0);
	si1 = server_respond(f, UT_T0);
	client_consume(f, UT_T0);
	server_receive(f, UT_T0);
	if (fresh == si1)
		fresh++;
	/* On the server: 0, its peer's index twice, 0, then a free one. */
	script[0] = 0;
	script[1] = si1;
	script[2] = si1;
	script[3] = 0;
	script[4] = fresh;
	nscript = 5;
	iscript = 0;
	assert_int_equal(peer_new_index(&f->s.t), fresh);
	assert_int_equal(iscript, 5);
	/* An index used on the other table is free here: tables are per daemon. */
	script[0] = ci1 == si1 ? ci1 + 1 : ci1;
	nscript = 1;
	iscript = 0;
	assert_int_equal(peer_new_index(&f->s.t), script[0]);
	nscript = iscript = 0;
	/* Real draws: never 0, never in use. */
	for (int i = 0; i < 10000; i++) {
		uint32_t idx = peer_new_index(&f->s.t);

		assert_int_not_equal(idx, 0);
		assert_int_not_equal(idx, si1);
	}
}

/* The peer-name rule: a letter, then letters, digits, '_', '-', '.'; 1..31 bytes; only len
 * bytes are read. */
static void
test_names_valid_peer(void **state)
{
	static const char *const good[] = { "a", "Z", "link", "site-a", "A1_b-c.d",
		"abcdefghijklmnopqrstuvwxyz01234" };
	static const char *const bad[] = { "", "1abc", "_a", "-a", ".a", "a b", "a/b", "a:b",
		"a%d", "a\tb", "a\xc3\xa9", "abcdefghijklmnopqrstuvwxyz012345", "a*", "a@b" };
	const char unterminated[4] = { 'a', 'b', 'c', '!' };
	const char nul_inside[3] = { 'a', '\0', 'b' };

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(names_valid_peer(good[i], strlen(good[i])));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(names_valid_peer(bad[i], strlen(bad[i])));
	assert_int_equal(strlen(good[5]), NAMES_PEER_MAX);
	assert_true(names_valid_peer(unterminated, 3));
	assert_false(names_valid_peer(unterminated, 4));
	assert_false(names_valid_peer(nul_inside, 3));
	assert_true(names_valid_peer(nul_inside, 1));
}

/* Each table has its names at its enum's values and ends with NULL; names_get answers "?"
 * for values from the network that are out of range. */
static void
test_names_tables(void **state)
{
	(void)state;
	assert_string_equal(names_devtype[VT_TUN], "tun");
	assert_string_equal(names_devtype[VT_TAP], "tap");
	assert_null(names_devtype[VT_DEVTYPE_MAX]);
	assert_string_equal(names_proto[VT_UDP], "udp");
	assert_string_equal(names_proto[VT_TCP], "tcp");
	assert_null(names_proto[VT_PROTO_MAX]);
	assert_string_equal(names_cipher[VT_AES256GCM], "aes-256-gcm");
	assert_string_equal(names_cipher[VT_CHACHA20POLY1305], "chacha20-poly1305");
	assert_null(names_cipher[VT_CIPHER_MAX]);
	assert_string_equal(names_compress[VT_COMPRESS_NONE], "none");
	assert_string_equal(names_compress[VT_COMPRESS_LZ4], "lz4");
	assert_null(names_compress[VT_COMPRESS_MAX]);
	for (int i = 0; i < DROP_MAX; i++) {
		assert_non_null(names_drop[i]);
		for (int j = 0; j < i; j++)
			assert_string_not_equal(names_drop[i], names_drop[j]);
	}
	assert_null(names_drop[DROP_MAX]);
	assert_string_equal(names_drop[DROP_NO_SESSION], "no_session");
	assert_string_equal(NAMES_GET(names_cipher, 1), "chacha20-poly1305");
	assert_string_equal(NAMES_GET(names_cipher, 2), "?");
	assert_string_equal(NAMES_GET(names_cipher, -1), "?");
	assert_string_equal(NAMES_GET(names_drop, DROP_DEVICE), "device");
	assert_string_equal(NAMES_GET(names_drop, DROP_MAX), "?");
	assert_string_equal(names_get(names_proto, VT_PROTO_MAX, 255), "?");
}

int
main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_add_lookup),
		T(test_add_copies_without_hooks),
		T(test_duplicates_refused),
		T(test_remove_and_readd),
		T(test_thousand_peers),
		T(test_changed_list),
		T(test_indices_follow_sessions),
		T(test_remove_drops_indices),
		T(test_new_index_skips_used),
		cmocka_unit_test(test_names_valid_peer),
		cmocka_unit_test(test_names_tables),
	};
#undef T

	log_init(true, LOG_LVL_ERR);
	return cmocka_run_group_tests_name("peer", tests, NULL, NULL);
}
