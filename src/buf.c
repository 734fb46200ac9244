/* buf.c - packet buffer push/pull with bounds that abort on misuse. */
#include "buf.h"

#include <stdlib.h>

void
buf_reset(struct buf *b)
{
	b->off = BUF_HEADROOM;
	b->len = 0;
}

uint8_t *
buf_push(struct buf *b, size_t n)
{
	if (n > b->off)
		abort();
	b->off -= n;
	b->len += n;
	return b->mem + b->off;
}

uint8_t *
buf_pull(struct buf *b, size_t n)
{
	uint8_t *p = b->mem + b->off;

	if (n > b->len)
		abort();
	b->off += n;
	b->len -= n;
	return p;
}

uint8_t *
buf_put(struct buf *b, size_t n)
{
	uint8_t *p;

	if (n > buf_tailroom(b))
		abort();
	p = b->mem + b->off + b->len;
	b->len += n;
	return p;
}

void
buf_trim(struct buf *b, size_t n)
{
	if (n > b->len)
		abort();
	b->len = n;
}
