/*
 * replay.c - RFC 6479 anti-replay window: a ring of REPLAY_BLOCKS 64-bit blocks, one bit per
 * counter, indexed by counter mod (REPLAY_BLOCKS * 64). Moving the window forward only clears
 * whole blocks, so it costs at most REPLAY_BLOCKS stores however far it jumps.
 *
 * Edges, exactly. Let H = top - 1 be the highest committed counter. A counter c is accepted iff
 *   c < REPLAY_COUNTER_LIMIT, and
 *   nothing was committed yet (top == 0), or c > H, or H - REPLAY_WINDOW <= c < H with its bit
 *   clear.
 * So H - 8128 is the oldest counter still accepted and H - 8129 is rejected as too old: exactly
 * REPLAY_WINDOW counters behind H are tracked. They span at most 128 blocks (the block of H and
 * the 127 before it), so no bit of the window ever aliases one that was cleared or reused.
 */
#include "replay.h"

#include <string.h>

#define BLOCK_MASK (REPLAY_BLOCKS - 1)
#define BIT_MASK (REPLAY_BLOCK_BITS - 1)
#define BLOCK_SHIFT 6

_Static_assert((REPLAY_BLOCKS & BLOCK_MASK) == 0, "REPLAY_BLOCKS must be a power of two");
_Static_assert(REPLAY_BLOCK_BITS == 1 << BLOCK_SHIFT, "blocks are 64 bits");

/* Forget every counter. */
void
replay_init(struct replay *r)
{
	memset(r, 0, sizeof(*r));
}

/* Bounds shared by check and commit: below the limit and not behind the window. */
static bool
in_range(const struct replay *r, uint64_t counter)
{
	if (counter >= REPLAY_COUNTER_LIMIT)
		return false;
	/* counter < 2^60, so the sum cannot wrap; this is counter < H - WINDOW with H = top - 1. */
	if (r->top != 0 && counter + REPLAY_WINDOW + 1 < r->top)
		return false;
	return true;
}

/* Bit of counter in the ring and the block holding it. */
static uint64_t
bit_of(uint64_t counter)
{
	return UINT64_C(1) << (counter & BIT_MASK);
}

static size_t
block_of(uint64_t counter)
{
	return (size_t)((counter >> BLOCK_SHIFT) & BLOCK_MASK);
}

/* True if counter is below the limit, inside the window and not yet committed; no side effect. */
bool
replay_check(const struct replay *r, uint64_t counter)
{
	if (!in_range(r, counter))
		return false;
	/* Ahead of everything seen: its block may hold stale bits that commit will clear. */
	if (counter >= r->top)
		return true;
	return (r->bitmap[block_of(counter)] & bit_of(counter)) == 0;
}

/* Record an authenticated counter, moving the window forward if it is the newest. */
bool
replay_commit(struct replay *r, uint64_t counter)
{
	uint64_t cur, next, n, i;

	if (!in_range(r, counter))
		return false;
	if (counter >= r->top) {
		/* Before the first commit the ring is already all zero (replay_init). */
		if (r->top != 0) {
			cur = (r->top - 1) >> BLOCK_SHIFT;
			next = counter >> BLOCK_SHIFT;
			n = next - cur;
			if (n > REPLAY_BLOCKS)
				n = REPLAY_BLOCKS;
			for (i = 1; i <= n; i++)
				r->bitmap[(cur + i) & BLOCK_MASK] = 0;
		}
		r->top = counter + 1;
	}
	if (r->bitmap[block_of(counter)] & bit_of(counter))
		return false;
	r->bitmap[block_of(counter)] |= bit_of(counter);
	return true;
}
