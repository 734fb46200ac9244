/*
 * shaper.c - token bucket and frame queue (shaper.h).
 */
#include "shaper.h"

#include <stdlib.h>
#include <string.h>

uint64_t
shaper_default_burst(uint64_t rate_bits)
{
	uint64_t b = rate_bits / 8 / 100;

	return b < 16384 ? 16384 : b;
}

void
tb_init(struct tbucket *tb, uint64_t rate_bits, uint64_t burst, uint64_t now)
{
	memset(tb, 0, sizeof(*tb));
	if (rate_bits == 0)
		return;
	if (burst == 0)
		burst = shaper_default_burst(rate_bits);
	tb->rate = rate_bits / 8 > 0 ? rate_bits / 8 : 1;
	tb->burst = (int64_t)burst * 1000;
	tb->tokens = tb->burst;
	tb->last = now;
}

static void
refill(struct tbucket *tb, uint64_t now)
{
	uint64_t dt;

	if (now <= tb->last)
		return;
	dt = now - tb->last;
	tb->last = now;
	/* a long pause fills the bucket: no overflow however long */
	if (dt >= (uint64_t)(tb->burst - tb->tokens) / tb->rate + 1) {
		tb->tokens = tb->burst;
		return;
	}
	tb->tokens += (int64_t)(dt * tb->rate);
	if (tb->tokens > tb->burst)
		tb->tokens = tb->burst;
}

bool
tb_ready(struct tbucket *tb, uint64_t now)
{
	if (tb->rate == 0)
		return true;
	refill(tb, now);
	return tb->tokens > 0;
}

void
tb_take(struct tbucket *tb, size_t len)
{
	if (tb->rate != 0)
		tb->tokens -= (int64_t)len * 1000;
}

uint64_t
tb_when(const struct tbucket *tb, uint64_t now)
{
	int64_t tokens = tb->tokens;
	uint64_t need;

	if (tb->rate == 0)
		return now;
	if (now > tb->last) {
		struct tbucket t = *tb;

		refill(&t, now);
		tokens = t.tokens;
	}
	if (tokens > 0)
		return now;
	need = (uint64_t)(-tokens) + 1; /* tokens > 0 after this many */
	return now + (need + tb->rate - 1) / tb->rate;
}

/* ---- the queue ----------------------------------------------------------------------------- */

size_t
shaper_queue_size(uint64_t rate_bits)
{
	uint64_t b = rate_bits / 8 / 20;

	if (b < SHAPER_QUEUE_MIN)
		return SHAPER_QUEUE_MIN; /* a few of the largest frames */
	return b > SHAPER_QUEUE_MAX ? SHAPER_QUEUE_MAX : (size_t)b;
}

int
fq_init(struct fqueue *q, size_t cap)
{
	memset(q, 0, sizeof(*q));
	if ((q->mem = malloc(cap)) == NULL)
		return -1;
	q->cap = cap;
	return 0;
}

void
fq_free(struct fqueue *q)
{
	free(q->mem);
	memset(q, 0, sizeof(*q));
}

/* Copy len bytes in at offset at of the ring, wrapping. */
static void
ring_put(struct fqueue *q, size_t at, const uint8_t *src, size_t len)
{
	size_t first;

	at %= q->cap;
	first = q->cap - at < len ? q->cap - at : len;
	memcpy(q->mem + at, src, first);
	memcpy(q->mem, src + first, len - first);
}

static void
ring_get(const struct fqueue *q, size_t at, uint8_t *dst, size_t len)
{
	size_t first;

	at %= q->cap;
	first = q->cap - at < len ? q->cap - at : len;
	memcpy(dst, q->mem + at, first);
	memcpy(dst + first, q->mem, len - first);
}

bool
fq_push(struct fqueue *q, const uint8_t *frame, size_t len)
{
	uint8_t h[4];

	if (q->mem == NULL || len == 0 || len > UINT32_MAX || q->cap - q->used < len + 4)
		return false;
	h[0] = (uint8_t)(len >> 24);
	h[1] = (uint8_t)(len >> 16);
	h[2] = (uint8_t)(len >> 8);
	h[3] = (uint8_t)len;
	ring_put(q, q->head + q->used, h, 4);
	ring_put(q, q->head + q->used + 4, frame, len);
	q->used += len + 4;
	q->n++;
	return true;
}

size_t
fq_peek(const struct fqueue *q)
{
	uint8_t h[4];

	if (q->n == 0)
		return 0;
	ring_get(q, q->head, h, 4);
	return (size_t)h[0] << 24 | (size_t)h[1] << 16 | (size_t)h[2] << 8 | h[3];
}

size_t
fq_pop(struct fqueue *q, uint8_t *out, size_t cap)
{
	size_t len = fq_peek(q);

	if (len == 0)
		return 0;
	if (len <= cap)
		ring_get(q, q->head + 4, out, len);
	q->head = (q->head + len + 4) % q->cap;
	q->used -= len + 4;
	q->n--;
	if (q->n == 0)
		q->head = 0;
	return len <= cap ? len : 0;
}
