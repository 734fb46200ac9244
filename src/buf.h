/* buf.h - fixed-size packet buffer with headroom; no allocation per packet. */
#ifndef VT_BUF_H
#define VT_BUF_H

#include <stddef.h>
#include <stdint.h>

/* Largest frame the data path carries: a 9000-byte MTU plus an Ethernet header with a VLAN tag. */
#define BUF_MAX_FRAME 9018
/* Room in front of a frame for every header the data path pushes (wire + inner header). */
#define BUF_HEADROOM 64
/* Room behind a frame for the AEAD tag and LZ4 worst-case growth. */
#define BUF_TAILROOM 128
#define BUF_CAP (BUF_HEADROOM + BUF_MAX_FRAME + BUF_MAX_FRAME / 255 + BUF_TAILROOM)

/*
 * A packet buffer. data() = mem + off; the owner is whoever holds the pointer: functions say
 * whether they consume the buffer or fill it. push/pull out of bounds abort: that is a bug.
 */
struct buf {
	size_t off;
	size_t len;
	uint8_t mem[BUF_CAP];
};

/* Empty the buffer and leave the standard headroom in front. */
void buf_reset(struct buf *b);
/* Point to the first byte of the payload. */
static inline uint8_t *buf_data(struct buf *b) { return b->mem + b->off; }
/* Bytes that may still be appended behind the payload. */
static inline size_t buf_tailroom(const struct buf *b) { return BUF_CAP - b->off - b->len; }
/* Grow the payload at the front by n bytes and return the new front. */
uint8_t *buf_push(struct buf *b, size_t n);
/* Remove n bytes from the front and return the old front. */
uint8_t *buf_pull(struct buf *b, size_t n);
/* Grow the payload at the back by n bytes and return a pointer to the new bytes. */
uint8_t *buf_put(struct buf *b, size_t n);
/* Shorten the payload to n bytes. */
void buf_trim(struct buf *b, size_t n);

#endif
