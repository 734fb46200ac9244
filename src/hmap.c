/* hmap.c - open-addressing hash multimap (hmap.h). */
#include "hmap.h"

#include <stdlib.h>
#include <string.h>

static char gone_mark;
#define HMAP_GONE ((void *)&gone_mark)
#define HMAP_MIN_CAP 16

void
hmap_init(struct hmap *m)
{
	memset(m, 0, sizeof(*m));
}

void
hmap_free(struct hmap *m)
{
	free(m->slots);
	hmap_init(m);
}

/* Put (hash, value) into the first free slot of its probe chain; the table has room. */
static void
place(struct hmap_slot *slots, size_t cap, uint64_t hash, void *value)
{
	size_t i = (size_t)hash & (cap - 1);

	while (slots[i].value != NULL && slots[i].value != HMAP_GONE)
		i = (i + 1) & (cap - 1);
	slots[i].hash = hash;
	slots[i].value = value;
}

/* Rebuild into a table of cap slots, dropping the removed marks. */
static int
rehash(struct hmap *m, size_t cap)
{
	struct hmap_slot *slots = calloc(cap, sizeof(*slots));

	if (slots == NULL)
		return -1;
	for (size_t i = 0; i < m->cap; i++)
		if (m->slots[i].value != NULL && m->slots[i].value != HMAP_GONE)
			place(slots, cap, m->slots[i].hash, m->slots[i].value);
	free(m->slots);
	m->slots = slots;
	m->cap = cap;
	m->used = m->count;
	return 0;
}

int
hmap_insert(struct hmap *m, uint64_t hash, void *value)
{
	size_t i;

	/* Keep at least a quarter of the slots empty so that every probe chain ends. */
	if ((m->used + 1) * 4 > m->cap * 3) {
		size_t cap = m->cap == 0 ? HMAP_MIN_CAP : m->cap;

		while ((m->count + 1) * 2 > cap)
			cap *= 2;
		if (rehash(m, cap) == -1)
			return -1;
	}
	i = (size_t)hash & (m->cap - 1);
	while (m->slots[i].value != NULL && m->slots[i].value != HMAP_GONE)
		i = (i + 1) & (m->cap - 1);
	if (m->slots[i].value == NULL)
		m->used++;
	m->slots[i].hash = hash;
	m->slots[i].value = value;
	m->count++;
	return 0;
}

bool
hmap_remove(struct hmap *m, uint64_t hash, const void *value)
{
	if (m->cap == 0)
		return false;
	for (size_t i = (size_t)hash & (m->cap - 1); m->slots[i].value != NULL;
	    i = (i + 1) & (m->cap - 1)) {
		if (m->slots[i].hash == hash && m->slots[i].value == value) {
			m->slots[i].value = HMAP_GONE;
			m->count--;
			return true;
		}
	}
	return false;
}

void *
hmap_next(const struct hmap *m, uint64_t hash, size_t *cursor)
{
	size_t i;

	if (m->cap == 0)
		return NULL;
	/* cursor counts the slots already walked from the start of the chain. */
	for (i = ((size_t)hash + *cursor) & (m->cap - 1); *cursor < m->cap &&
	    m->slots[i].value != NULL; i = (i + 1) & (m->cap - 1)) {
		(*cursor)++;
		if (m->slots[i].value != HMAP_GONE && m->slots[i].hash == hash)
			return m->slots[i].value;
	}
	return NULL;
}

void *
hmap_each(const struct hmap *m, size_t *pos)
{
	while (*pos < m->cap) {
		void *v = m->slots[(*pos)++].value;

		if (v != NULL && v != HMAP_GONE)
			return v;
	}
	return NULL;
}

uint64_t
hmap_hash_u64(uint64_t x)
{
	/* splitmix64's finaliser */
	x ^= x >> 30;
	x *= UINT64_C(0xbf58476d1ce4e5b9);
	x ^= x >> 27;
	x *= UINT64_C(0x94d049bb133111eb);
	x ^= x >> 31;
	return x;
}

uint64_t
hmap_hash_bytes(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint64_t h = UINT64_C(0xcbf29ce484222325);

	for (size_t i = 0; i < len; i++) {
		h ^= b[i];
		h *= UINT64_C(0x100000001b3);
	}
	return hmap_hash_u64(h);
}
