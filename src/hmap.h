/*
 * hmap.h - a hash multimap from 64-bit hashes to pointers, open addressing with linear probing,
 * growing as it fills: the lookup tables of the peer table (by receiver index, public key,
 * name, id) and of the TCP link (connection ids). Several values may share a hash: a lookup
 * walks every value stored under it and the caller compares the real key. Pure; no limit on
 * the number of entries but memory.
 */
#ifndef VT_HMAP_H
#define VT_HMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hmap_slot {
	uint64_t hash;
	void *value; /* NULL = empty; HMAP_GONE = removed (keeps probe chains intact) */
};

struct hmap {
	struct hmap_slot *slots;
	size_t cap;   /* a power of two, or 0 before the first insert */
	size_t count; /* values stored */
	size_t used;  /* slots not empty (values and removed marks) */
};

/* An empty map (no allocation until the first insert). */
void hmap_init(struct hmap *m);
void hmap_free(struct hmap *m);
/* Store value (not NULL) under hash; 0, or -1 if out of memory. */
int hmap_insert(struct hmap *m, uint64_t hash, void *value);
/* Remove the one entry (hash, value); true if it was there. */
bool hmap_remove(struct hmap *m, uint64_t hash, const void *value);
/* Walk the values stored under hash: start with *cursor = 0, call until NULL. */
void *hmap_next(const struct hmap *m, uint64_t hash, size_t *cursor);

/* Walk every value, in no order: start with *pos = 0, call until NULL. */
void *hmap_each(const struct hmap *m, size_t *pos);

/* Hash helpers: a 64-bit mix of an integer, and FNV-1a of bytes then mixed. Not keyed: where
 * the network chooses the keys (TCP sources), the caller mixes in a secret of its own. */
uint64_t hmap_hash_u64(uint64_t x);
uint64_t hmap_hash_bytes(const void *p, size_t len);

#endif
