/*
 * replay.h - anti-replay sliding window (RFC 6479 bitmap). Pure. check() before decrypting only
 * bounds-checks; commit() after the tag verified records the counter, so a forged packet can
 * never move the window.
 */
#ifndef VT_REPLAY_H
#define VT_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

#define REPLAY_BLOCK_BITS 64
#define REPLAY_BLOCKS 128 /* power of two */
/* Packets accepted behind the highest counter seen: 8128 (one block is the guard). */
#define REPLAY_WINDOW ((REPLAY_BLOCKS - 1) * REPLAY_BLOCK_BITS)
/* Counters at or above this are never accepted (the sender rekeys long before). */
#define REPLAY_COUNTER_LIMIT (UINT64_C(1) << 60)

struct replay {
	uint64_t top;    /* highest counter committed + 1; 0 = nothing yet */
	uint64_t bitmap[REPLAY_BLOCKS];
};

void replay_init(struct replay *r);
/* True if counter might be fresh: not too old, not seen, below the limit. */
bool replay_check(const struct replay *r, uint64_t counter);
/* Record counter after authentication; false if it was a replay after all. */
bool replay_commit(struct replay *r, uint64_t counter);

#endif
