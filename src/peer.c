/* peer.c - the peer table (peer.h). */
#include "peer.h"

#include <stdlib.h>
#include <string.h>

#include "crypto.h"

static uint64_t
name_hash(const char *name)
{
	return hmap_hash_bytes(name, strlen(name));
}

static uint64_t
key_hash(const uint8_t pub[32])
{
	return hmap_hash_bytes(pub, 32);
}

static uint64_t
index_hash(uint32_t idx)
{
	return hmap_hash_u64(idx);
}

void
peer_table_init(struct peer_table *t)
{
	memset(t, 0, sizeof(*t));
	hmap_init(&t->by_id);
	hmap_init(&t->by_name);
	hmap_init(&t->by_key);
	hmap_init(&t->by_index);
}

void
peer_table_free(struct peer_table *t)
{
	while (t->head != NULL)
		peer_remove(t, t->head);
	hmap_free(&t->by_id);
	hmap_free(&t->by_name);
	hmap_free(&t->by_key);
	hmap_free(&t->by_index);
	memset(t, 0, sizeof(*t));
}

struct peer *
peer_by_id(const struct peer_table *t, uint32_t id)
{
	struct peer *p;
	size_t cur = 0;

	while ((p = hmap_next(&t->by_id, hmap_hash_u64(id), &cur)) != NULL)
		if (p->id == id)
			return p;
	return NULL;
}

struct peer *
peer_by_name(const struct peer_table *t, const char *name)
{
	struct peer *p;
	size_t cur = 0;

	while ((p = hmap_next(&t->by_name, name_hash(name), &cur)) != NULL)
		if (strcmp(p->cfg.name, name) == 0)
			return p;
	return NULL;
}

struct peer *
peer_by_key(const struct peer_table *t, const uint8_t pub[32])
{
	struct peer *p;
	size_t cur = 0;

	while ((p = hmap_next(&t->by_key, key_hash(pub), &cur)) != NULL)
		if (crypto_equal(p->cfg.public_key, pub, 32))
			return p;
	return NULL;
}

struct peer *
peer_by_index(const struct peer_table *t, uint32_t idx, enum session_slot *slot,
    struct session_keypair **kp)
{
	struct peer *p;
	size_t cur = 0;

	*slot = SLOT_NONE;
	*kp = NULL;
	while ((p = hmap_next(&t->by_index, index_hash(idx), &cur)) != NULL) {
		*slot = session_slot_of(&p->s, idx, kp);
		if (*slot != SLOT_NONE)
			return p;
	}
	return NULL;
}

uint32_t
peer_new_index(const struct peer_table *t)
{
	enum session_slot slot;
	struct session_keypair *kp;
	uint32_t idx;

	do
		crypto_random(&idx, sizeof(idx));
	while (idx == 0 || peer_by_index(t, idx, &slot, &kp) != NULL);
	return idx;
}

void
peer_reindex(struct peer_table *t, struct peer *p)
{
	uint32_t now[4];
	int n = session_indices(&p->s, now), i, j;

	/* Drop the indices the session no longer uses, add the new ones. */
	for (i = 0; i < p->nidx; i++) {
		for (j = 0; j < n && now[j] != p->idx[i]; j++)
			;
		if (j == n)
			hmap_remove(&t->by_index, index_hash(p->idx[i]), p);
	}
	for (j = 0; j < n; j++) {
		for (i = 0; i < p->nidx && p->idx[i] != now[j]; i++)
			;
		if (i == p->nidx && hmap_insert(&t->by_index, index_hash(now[j]), p) == -1)
			now[j] = 0; /* out of memory: the index stays unknown, its packets drop */
	}
	p->nidx = 0;
	for (j = 0; j < n; j++)
		if (now[j] != 0)
			p->idx[p->nidx++] = now[j];
}

struct peer *
peer_add(struct peer_table *t, uint32_t id, const struct vt_peer *cfg,
    struct session_local *local, bool initiator)
{
	struct peer *p;

	if (peer_by_id(t, id) != NULL || peer_by_name(t, cfg->name) != NULL ||
	    peer_by_key(t, cfg->public_key) != NULL)
		return NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->id = id;
	p->cfg = *cfg;
	memset(&p->cfg.up, 0, sizeof(p->cfg.up));
	memset(&p->cfg.down, 0, sizeof(p->cfg.down));
	memset(&p->cfg.session_up, 0, sizeof(p->cfg.session_up));
	memset(&p->cfg.session_down, 0, sizeof(p->cfg.session_down));
	if (p->cfg.protos == 0) /* a peer made by hand: its one transport */
		p->cfg.protos = 1u << p->cfg.proto;
	p->tun_fd = -1;
	p->dial_at = UINT64_MAX;
	if (prefix_set_build(&p->filter, cfg) == -1)
		goto fail;
	if (session_init(&p->s, &p->cfg, local, initiator) == -1)
		goto fail;
	if (hmap_insert(&t->by_id, hmap_hash_u64(id), p) == -1)
		goto fail_session;
	if (hmap_insert(&t->by_name, name_hash(p->cfg.name), p) == -1)
		goto fail_id;
	if (hmap_insert(&t->by_key, key_hash(p->cfg.public_key), p) == -1)
		goto fail_name;
	p->prev = t->tail;
	if (t->tail != NULL)
		t->tail->next = p;
	else
		t->head = p;
	t->tail = p;
	t->count++;
	return p;
fail_name:
	hmap_remove(&t->by_name, name_hash(p->cfg.name), p);
fail_id:
	hmap_remove(&t->by_id, hmap_hash_u64(id), p);
fail_session:
	session_free(&p->s);
fail:
	prefix_set_free(&p->filter);
	crypto_wipe(p, sizeof(*p));
	free(p);
	return NULL;
}

void
peer_remove(struct peer_table *t, struct peer *p)
{
	for (int i = 0; i < p->nidx; i++)
		hmap_remove(&t->by_index, index_hash(p->idx[i]), p);
	hmap_remove(&t->by_id, hmap_hash_u64(p->id), p);
	hmap_remove(&t->by_name, name_hash(p->cfg.name), p);
	hmap_remove(&t->by_key, key_hash(p->cfg.public_key), p);
	if (p->prev != NULL)
		p->prev->next = p->next;
	else
		t->head = p->next;
	if (p->next != NULL)
		p->next->prev = p->prev;
	else
		t->tail = p->prev;
	if (p->changed) {
		struct peer **pp = &t->changed_head, *last = NULL;

		while (*pp != NULL && *pp != p) {
			last = *pp;
			pp = &(*pp)->changed_next;
		}
		if (*pp == p) {
			*pp = p->changed_next;
			if (t->changed_tail == p)
				t->changed_tail = last;
		}
	}
	t->count--;
	session_free(&p->s);
	prefix_set_free(&p->filter);
	fq_free(&p->inq);
	free(p->stage);
	free(p->cl);
	crypto_wipe(p, sizeof(*p));
	free(p);
}

void
peer_changed(struct peer_table *t, struct peer *p)
{
	if (p->changed)
		return;
	p->changed = true;
	p->changed_next = NULL;
	if (t->changed_tail != NULL)
		t->changed_tail->changed_next = p;
	else
		t->changed_head = p;
	t->changed_tail = p;
}

struct peer *
peer_take_changed(struct peer_table *t)
{
	struct peer *p = t->changed_head;

	if (p == NULL)
		return NULL;
	t->changed_head = p->changed_next;
	if (t->changed_head == NULL)
		t->changed_tail = NULL;
	p->changed = false;
	p->changed_next = NULL;
	return p;
}
