/*
 * shaper.h - traffic shaping for a peer's "rate-in" and "rate-out": a token bucket (rate and
 * burst) and a bounded queue of frames that wait for its tokens. Pure: no system calls, time
 * comes from the caller in milliseconds; the queue allocates its ring once.
 *
 * The bucket may go into debt by one frame: a frame leaves while the bucket holds any tokens
 * and takes its length, so that frames of any size pass and the average over any interval
 * longer than burst / rate is the rate. (The data path pays for a super-packet read from a
 * vnet device segment by segment: the debt can be one super-packet, up to 64 KiB.) Tokens are
 * kept in thousandths of a byte: a rate of R bytes per second adds R of them per millisecond,
 * exactly.
 */
#ifndef VT_SHAPER_H
#define VT_SHAPER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SHAPER_RATE_MIN 8000ULL              /* bit/s: 8 kbit */
#define SHAPER_RATE_MAX 100000000000ULL      /* bit/s: 100 gbit */
#define SHAPER_BURST_MIN 2048ULL             /* bytes */
#define SHAPER_BURST_MAX (64ULL << 20)       /* bytes */
#define SHAPER_QUEUE_MIN (4U * (9018 + 4))  /* bytes a queue holds at least: four of the
                                                largest frames (BUF_MAX_FRAME) */
#define SHAPER_QUEUE_MAX (4U << 20)          /* and at most */

struct tbucket {
	uint64_t rate;   /* bytes per second; 0: no limit */
	int64_t tokens;  /* thousandths of a byte; below 0: in debt */
	int64_t burst;   /* thousandths of a byte: the most it holds */
	uint64_t last;   /* ms of the last refill */
};

/* rate_bits: bit/s (0: unlimited); burst: bytes, 0 for the default (shaper_default_burst).
 * The bucket starts full. */
void tb_init(struct tbucket *tb, uint64_t rate_bits, uint64_t burst, uint64_t now);
/* The burst chosen when none is set: 10 ms at the rate, at least 16 KiB (an event loop
 * waking every millisecond or two then keeps up at any rate). */
uint64_t shaper_default_burst(uint64_t rate_bits);
/* Whether a frame may leave now (the bucket holds tokens). Always true without a limit. */
bool tb_ready(struct tbucket *tb, uint64_t now);
/* A frame of len bytes left. */
void tb_take(struct tbucket *tb, size_t len);
/* When tb_ready will be true: now if it is, else the first millisecond it will be. */
uint64_t tb_when(const struct tbucket *tb, uint64_t now);

/* A FIFO of frames in a byte ring (a 4-byte length before each frame). */
struct fqueue {
	uint8_t *mem;    /* cap bytes; NULL: no queue */
	size_t cap, head, used;
	unsigned n;      /* frames in it */
};

/* The queue for a rate (bit/s): 50 ms of it, within SHAPER_QUEUE_MIN..MAX (below about 6 Mbit/s
 * four large frames are more than 50 ms). */
size_t shaper_queue_size(uint64_t rate_bits);
/* Allocate a ring of cap bytes: 0, or -1 without memory. */
int fq_init(struct fqueue *q, size_t cap);
void fq_free(struct fqueue *q);
static inline bool fq_empty(const struct fqueue *q) { return q->n == 0; }
/* Append a frame: false if it does not fit (the caller drops and counts it). */
bool fq_push(struct fqueue *q, const uint8_t *frame, size_t len);
/* Length of the oldest frame, 0 if none. */
size_t fq_peek(const struct fqueue *q);
/* Take the oldest frame into out (cap bytes): its length, 0 if none or it does not fit (it is
 * then discarded). */
size_t fq_pop(struct fqueue *q, uint8_t *out, size_t cap);

#endif
