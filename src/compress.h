/* compress.h - the only user of <lz4.h>: bounded per-packet LZ4 block compression. Pure. */
#ifndef VT_COMPRESS_H
#define VT_COMPRESS_H

#include <stddef.h>
#include <stdint.h>

/* Largest input compress_encode takes. */
#define COMPRESS_MAX_IN 9018
/* Bytes compress_encode may need in its output for an input of n bytes (LZ4_COMPRESSBOUND). */
#define COMPRESS_BOUND(n) ((n) + (n) / 255 + 16)

/*
 * Compress in (len bytes) into out (outcap bytes) with LZ4 acceleration accel (1 = best ratio).
 * Returns the compressed size if it is strictly smaller than len, else 0 (send it raw). Uses a
 * caller-owned state of compress_state_size() bytes (aligned like malloc memory) so nothing is allocated per packet.
 */
size_t compress_encode(void *state, const uint8_t *in, size_t len, uint8_t *out,
    size_t outcap, int accel);
/* Size of the state compress_encode needs (LZ4_sizeofState()). */
size_t compress_state_size(void);
/*
 * Decompress in (len bytes) into out, producing at most maxout bytes. Returns the decompressed
 * size, or -1 if the input is malformed or would exceed maxout. Never reads past in+len or
 * writes past out+maxout.
 */
long compress_decode(const uint8_t *in, size_t len, uint8_t *out, size_t maxout);

#endif
