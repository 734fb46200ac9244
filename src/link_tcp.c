/* link_tcp.c - the TCP link policy (link_tcp.h). */
#include "link_tcp.h"

#include "backoff.h"
#include "crypto.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Unidentified connections of one source. */
struct tcp_source {
	struct addr_source key;
	int count;
};

/* Sources come from the network: their hash is keyed with a secret of this link. */
static uint64_t
source_hash(const struct tcp_link *tl, const struct addr_source *s)
{
	return hmap_hash_u64(hmap_hash_bytes(s, sizeof(*s)) ^ tl->seed);
}

static struct tcp_source *
source_find(const struct tcp_link *tl, const struct addr_source *key)
{
	uint64_t h = source_hash(tl, key);
	struct tcp_source *s;
	size_t cur = 0;

	while ((s = hmap_next(&tl->sources, h, &cur)) != NULL)
		if (addr_source_equal(&s->key, key))
			return s;
	return NULL;
}

static void
mark_changed(struct tcp_link *tl, struct tcp_lconn *c)
{
	if (c->changed)
		return;
	c->changed = true;
	c->changed_next = NULL;
	if (tl->changed_tail != NULL)
		tl->changed_tail->changed_next = c;
	else
		tl->changed_head = c;
	tl->changed_tail = c;
}

void
tcp_link_init(struct tcp_link *tl)
{
	memset(tl, 0, sizeof(*tl));
	hmap_init(&tl->by_id);
	hmap_init(&tl->sources);
	tl->next_id = 1;
	crypto_random(&tl->seed, sizeof(tl->seed));
}

/* A new connection record, linked into the list of all. */
static struct tcp_lconn *
conn_new(struct tcp_link *tl, uint64_t now)
{
	struct tcp_lconn *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->tc.fd = -1;
	if (tcp_conn_buffers(&c->tc, TCP_RX_SMALL, TCP_TX_SMALL) == -1) {
		free(c);
		return NULL;
	}
	c->id = tl->next_id++;
	if (hmap_insert(&tl->by_id, hmap_hash_u64(c->id), c) == -1) {
		tcp_conn_free(&c->tc);
		free(c);
		return NULL;
	}
	c->opened = now;
	c->next = tl->conns;
	if (tl->conns != NULL)
		tl->conns->prev = c;
	tl->conns = c;
	mark_changed(tl, c);
	return c;
}

static void
pending_add(struct tcp_link *tl, struct tcp_lconn *c, struct tcp_source *s)
{
	c->pend_prev = tl->pend_tail;
	c->pend_next = NULL;
	if (tl->pend_tail != NULL)
		tl->pend_tail->pend_next = c;
	else
		tl->pend_head = c;
	tl->pend_tail = c;
	tl->npending++;
	s->count++;
}

/* c is no longer unidentified (bound or closed). */
static void
pending_remove(struct tcp_link *tl, struct tcp_lconn *c)
{
	struct tcp_source *s;

	if (c->outbound || c->peer != NULL)
		return;
	if (c->pend_prev != NULL)
		c->pend_prev->pend_next = c->pend_next;
	else if (tl->pend_head == c)
		tl->pend_head = c->pend_next;
	else
		return; /* not on the list */
	if (c->pend_next != NULL)
		c->pend_next->pend_prev = c->pend_prev;
	else
		tl->pend_tail = c->pend_prev;
	c->pend_prev = c->pend_next = NULL;
	tl->npending--;
	if ((s = source_find(tl, &c->src)) != NULL && --s->count == 0) {
		hmap_remove(&tl->sources, source_hash(tl, &s->key), s);
		free(s);
	}
}

struct peer *
tcp_link_close(struct tcp_link *tl, struct tcp_lconn *c)
{
	struct peer *p = c->peer;

	if (c->dead)
		return NULL;
	pending_remove(tl, c);
	c->dead = true;
	c->want_write = false;
	tcp_close(&c->tc);
	if (c->slot != NULL && c->slot->conn == c)
		c->slot->conn = NULL;
	c->slot = NULL;
	c->peer = NULL;
	c->hs_peer = NULL;
	hmap_remove(&tl->by_id, hmap_hash_u64(c->id), c);
	mark_changed(tl, c);
	return p;
}

/* The count of unidentified connections of c's source. */
static int
source_count(const struct tcp_link *tl, const struct tcp_lconn *c)
{
	const struct tcp_source *s = source_find(tl, &c->src);

	return s != NULL ? s->count : 0;
}

/*
 * Which unidentified connection goes to make room: of those from src (a source at its limit),
 * or else of those whose source holds the most, the oldest that carried no answered
 * initiation; only if all of those did, the oldest of them. A connection whose initiation of a
 * configured peer was answered is about to be confirmed: many sources of one attacker (an
 * IPv6 prefix holds many /64s) must not push it out between the response and the keepalive.
 */
static struct tcp_lconn *
victim(const struct tcp_link *tl, const struct addr_source *src)
{
	struct tcp_lconn *c, *answered = NULL;
	int most = 0;

	if (src == NULL)
		for (c = tl->pend_head; c != NULL; c = c->pend_next)
			if (source_count(tl, c) > most)
				most = source_count(tl, c);
	for (c = tl->pend_head; c != NULL; c = c->pend_next) {
		if (src != NULL ? !addr_source_equal(&c->src, src) : source_count(tl, c) != most)
			continue;
		if (c->hs_peer == NULL)
			return c;
		if (answered == NULL)
			answered = c;
	}
	return answered;
}

struct tcp_lconn *
tcp_link_accept(struct tcp_link *tl, int lfd, uint64_t now, int *evicted, int *err)
{
	struct tcp_lconn *c, *old;
	struct tcp_source *s;
	int rc;

	struct tcp_conn tc = { .fd = -1 };
	struct sockaddr_storage addr;
	socklen_t addrlen;

	*err = 0;
	/* The connection first: nothing is allocated for a wake-up with nothing waiting. */
	if ((rc = tcp_accept(lfd, &tc, &addr, &addrlen)) != 0) {
		*err = rc == -1 ? errno : 0;
		return NULL;
	}
	if ((c = conn_new(tl, now)) == NULL) {
		close(tc.fd);
		*err = ENOMEM;
		return NULL;
	}
	c->tc.fd = tc.fd;
	memcpy(&c->addr, &addr, addrlen);
	c->addrlen = addrlen;
	addr_source_of((struct sockaddr *)&c->addr, c->addrlen, &c->src);
	/* Room first: a source at its limit loses its own oldest; a full table loses the oldest
	 * of the source that holds the most, so one host cannot lock the others out. */
	s = source_find(tl, &c->src);
	if (s != NULL && s->count >= TCP_PENDING_PER_SOURCE)
		old = victim(tl, &c->src);
	else if (tl->npending >= TCP_PENDING_MAX)
		old = victim(tl, NULL);
	else
		old = NULL;
	if (old != NULL) {
		tcp_link_close(tl, old);
		(*evicted)++;
	}
	if ((s = source_find(tl, &c->src)) == NULL) {
		if ((s = calloc(1, sizeof(*s))) == NULL ||
		    hmap_insert(&tl->sources, source_hash(tl, &c->src), s) == -1) {
			free(s);
			tcp_link_close(tl, c);
			return NULL;
		}
		s->key = c->src;
	}
	pending_add(tl, c, s);
	return c;
}

struct tcp_lconn *
tcp_link_dial(struct tcp_link *tl, struct tcp_peer *slot, struct peer *owner,
    const struct sockaddr *dst, socklen_t dstlen, uint64_t now, char *err, size_t errlen)
{
	struct tcp_lconn *c;

	if (dstlen > sizeof(c->addr) || (c = conn_new(tl, now)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->outbound = true;
	memcpy(&c->addr, dst, dstlen);
	c->addrlen = dstlen;
	if (tcp_conn_buffers(&c->tc, TCP_RX_CAP, TCP_TX_CAP) == -1) {
		snprintf(err, errlen, "out of memory");
		tcp_link_close(tl, c);
		return NULL;
	}
	if (tcp_connect(&c->tc, dst, dstlen, err, errlen) == -1) {
		tcp_link_close(tl, c);
		return NULL;
	}
	c->peer = owner;
	c->slot = slot;
	slot->conn = c;
	/* Connected at once (loopback) or not: writability tells, the same way. */
	c->tc.connecting = true;
	c->want_write = true;
	return c;
}

int
tcp_link_connected(struct tcp_link *tl, struct tcp_lconn *c, char *err, size_t errlen)
{
	if (tcp_connect_done(&c->tc, err, errlen) == -1) {
		tcp_link_close(tl, c);
		return -1;
	}
	c->want_write = false;
	mark_changed(tl, c);
	return 0;
}

int
tcp_link_bind(struct tcp_link *tl, struct tcp_lconn *c, struct tcp_peer *slot,
    struct peer *owner)
{
	struct tcp_lconn *old = slot->conn;

	if (c->peer == owner)
		return 0;
	if (c->peer != NULL)
		return -1; /* it carries another peer, for life */
	if (tcp_conn_buffers(&c->tc, TCP_RX_CAP, TCP_TX_CAP) == -1) {
		tcp_link_close(tl, c);
		return -1;
	}
	pending_remove(tl, c);
	c->peer = owner;
	c->slot = slot;
	c->hs_peer = NULL;
	slot->conn = c;
	if (old != NULL && old != c) {
		/* Detach first: the session already holds the new connection's keys. */
		old->slot = NULL;
		old->peer = NULL;
		tcp_link_close(tl, old);
	}
	mark_changed(tl, c);
	return 0;
}

void
tcp_link_handshake(struct tcp_lconn *c, struct peer *owner, uint32_t idx)
{
	if (c->peer != NULL || c->dead)
		return; /* bound (its data is its peer's anyway), or gone */
	c->hs_peer = owner;
	c->hs_index = idx;
}

bool
tcp_link_accepts(const struct tcp_lconn *c, const struct peer *owner, uint32_t idx)
{
	if (c->dead)
		return false;
	if (c->peer != NULL)
		return c->peer == owner;
	return c->hs_peer == owner && c->hs_index == idx;
}

int
tcp_link_queue(struct tcp_lconn *c, const uint8_t *p, size_t len)
{
	if (c->dead || c->tc.connecting)
		return -1;
	return tcp_queue(&c->tc, p, len);
}

int
tcp_link_flush(struct tcp_link *tl, struct tcp_lconn *c)
{
	int rc;
	bool want;

	if (c->dead || c->tc.connecting)
		return c->dead ? -1 : 1;
	rc = tcp_flush(&c->tc);
	if (rc == -1)
		return -1;
	want = rc == 1;
	if (want != c->want_write) {
		c->want_write = want;
		mark_changed(tl, c);
	}
	return rc;
}

bool
tcp_link_backlogged(const struct tcp_lconn *c)
{
	return c->tc.tx_len >= TCP_TX_HIGH;
}

void
tcp_link_forget(struct tcp_link *tl, const struct peer *owner)
{
	for (struct tcp_lconn *c = tl->pend_head; c != NULL; c = c->pend_next)
		if (c->hs_peer == owner)
			c->hs_peer = NULL;
}

int
tcp_link_expire(struct tcp_link *tl, uint64_t now)
{
	struct tcp_lconn *c, *next;
	int n = 0;

	for (c = tl->pend_head; c != NULL; c = next) {
		next = c->pend_next;
		if (now - c->opened < TCP_PENDING_TIMEOUT)
			break; /* oldest first: the rest are younger */
		tcp_link_close(tl, c);
		n++;
	}
	return n;
}

struct tcp_lconn *
tcp_link_by_id(const struct tcp_link *tl, uint64_t id)
{
	struct tcp_lconn *c;
	size_t cur = 0;

	while ((c = hmap_next(&tl->by_id, hmap_hash_u64(id), &cur)) != NULL)
		if (c->id == id && !c->dead)
			return c;
	return NULL;
}

struct tcp_lconn *
tcp_link_take_changed(struct tcp_link *tl)
{
	struct tcp_lconn *c = tl->changed_head;

	if (c == NULL)
		return NULL;
	tl->changed_head = c->changed_next;
	if (tl->changed_head == NULL)
		tl->changed_tail = NULL;
	c->changed = false;
	c->changed_next = NULL;
	return c;
}

void
tcp_link_release(struct tcp_link *tl, struct tcp_lconn *c)
{
	if (c->changed) {
		/* Still queued: unlink it from the changed list. */
		struct tcp_lconn **pp = &tl->changed_head, *last = NULL;

		while (*pp != NULL && *pp != c) {
			last = *pp;
			pp = &(*pp)->changed_next;
		}
		if (*pp == c) {
			*pp = c->changed_next;
			if (tl->changed_tail == c)
				tl->changed_tail = last;
		}
	}
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		tl->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	tcp_conn_free(&c->tc);
	free(c);
}

void
tcp_link_free(struct tcp_link *tl)
{
	struct tcp_source *s;
	size_t pos = 0;

	while (tl->conns != NULL) {
		tcp_link_close(tl, tl->conns);
		tcp_link_release(tl, tl->conns);
	}
	while ((s = hmap_each(&tl->sources, &pos)) != NULL)
		free(s);
	hmap_free(&tl->sources);
	hmap_free(&tl->by_id);
	memset(tl, 0, sizeof(*tl));
}

uint64_t
tcp_link_backoff(struct tcp_peer *slot, unsigned rand)
{
	uint64_t d = backoff_wait(slot->tries, rand);

	slot->tries = backoff_count(slot->tries);
	return d;
}

void
tcp_link_backoff_reset(struct tcp_peer *slot)
{
	slot->tries = 0;
}
