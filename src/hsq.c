/* hsq.c - the handshake queue and its load measure (hsq.h). */
#include "hsq.h"

#include <string.h>

void
hsq_init(struct hsq *q)
{
	q->head = 0;
	q->len = 0;
	q->loaded_at = 0;
}

static void
note_load(struct hsq *q, uint64_t now)
{
	if (q->len >= HSQ_LOAD)
		q->loaded_at = now == 0 ? 1 : now;
}

bool
hsq_push(struct hsq *q, const uint8_t *msg, const struct sockaddr *src, socklen_t srclen,
    uint64_t conn, uint64_t now)
{
	struct hsq_item *it;

	if (q->len == HSQ_CAP || srclen > sizeof(it->src)) {
		note_load(q, now);
		return false;
	}
	it = &q->items[(q->head + q->len) % HSQ_CAP];
	memcpy(it->msg, msg, WIRE_INIT_LEN);
	memcpy(&it->src, src, srclen);
	it->srclen = srclen;
	it->conn = conn;
	q->len++;
	note_load(q, now);
	return true;
}

const struct hsq_item *
hsq_pop(struct hsq *q)
{
	const struct hsq_item *it;

	if (q->len == 0)
		return NULL;
	it = &q->items[q->head];
	q->head = (q->head + 1) % HSQ_CAP;
	q->len--;
	return it;
}

bool
hsq_under_load(struct hsq *q, uint64_t now)
{
	note_load(q, now);
	/* The queue itself first: at now 0 the mark reads 1 (0 means never). */
	return q->len >= HSQ_LOAD || (q->loaded_at != 0 && now - q->loaded_at < HSQ_LOAD_LINGER);
}
