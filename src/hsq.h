/*
 * hsq.h - the queue of handshake initiations waiting for the responder's Diffie-Hellman, and
 * the load measure it gives (as WireGuard measures load by its handshake queue): the daemon is
 * under load while at least HSQ_LOAD initiations wait, and for HSQ_LOAD_LINGER after. Only
 * initiations with a valid mac1 are queued (checked before: garbage costs one MAC), so the
 * queue holds exactly the work an attacker can make us do. Pure; fixed size.
 */
#ifndef VT_HSQ_H
#define VT_HSQ_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "wire.h"

#define HSQ_CAP 1024
#define HSQ_LOAD (HSQ_CAP / 8)
#define HSQ_LOAD_LINGER 1000 /* ms */

struct hsq_item {
	uint8_t msg[WIRE_INIT_LEN];
	struct sockaddr_storage src;
	socklen_t srclen;
	uint64_t conn;     /* TCP connection id, or 0 for UDP */
};

struct hsq {
	struct hsq_item items[HSQ_CAP];
	unsigned head, len;
	uint64_t loaded_at; /* ms the queue last reached HSQ_LOAD; 0 = never */
};

void hsq_init(struct hsq *q);
/* Queue an initiation (WIRE_INIT_LEN bytes); false if the queue is full (drop it). */
bool hsq_push(struct hsq *q, const uint8_t *msg, const struct sockaddr *src, socklen_t srclen,
    uint64_t conn, uint64_t now);
/* The oldest waiting initiation (valid until the next push), or NULL. */
const struct hsq_item *hsq_pop(struct hsq *q);
/* Whether the responder is under load now. */
bool hsq_under_load(struct hsq *q, uint64_t now);
static inline unsigned hsq_len(const struct hsq *q) { return q->len; }

#endif
