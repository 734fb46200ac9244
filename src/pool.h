/*
 * pool.h - a fork-join pool of crypto threads for the data path (threads = N). The engine
 * thread hands one batch of independent items (the seals or opens of one sendmmsg or
 * recvmmsg) to pool_run, works on it itself as lane 0, and gets control back when every item
 * is done: nothing in the batch changes order, so packet order holds, within a flow and
 * across flows. Each item runs exactly once, on one lane; the lane tells it which of a key's
 * per-thread contexts to use (crypto_aead lanes). No item may touch another item's data or
 * any state the engine thread reads before pool_run returns.
 *
 * The pool knows nothing of packets: it runs fn(arg, item, lane). With one lane, or a batch
 * too small to share, pool_run calls fn in the caller's thread and creates no thread at all.
 */
#ifndef VT_POOL_H
#define VT_POOL_H

#include <stdint.h>

#define POOL_LANES_MAX 8 /* threads of one data path, the caller's included */

struct pool;

typedef void pool_fn(void *arg, int item, int lane);

/* A pool of lanes threads (1..POOL_LANES_MAX; the caller is one of them): lanes - 1 are
 * started here, with every signal blocked. NULL (errno set) if a thread cannot start. */
struct pool *pool_new(int lanes);
/* Stop and join the threads; NULL is fine. */
void pool_free(struct pool *pl);
int pool_lanes(const struct pool *pl);
/* Run fn(arg, i, lane) for every i in 0..items-1 and return when all have returned. */
void pool_run(struct pool *pl, pool_fn *fn, void *arg, int items);

/* What the pool did, for status: batches shared with other lanes, and items each lane ran. */
struct pool_stats {
	uint64_t shared;                  /* batches that woke the other lanes */
	uint64_t items[POOL_LANES_MAX];
};
void pool_stats(const struct pool *pl, struct pool_stats *st);

#endif
