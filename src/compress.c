/* compress.c - per-packet LZ4 block (de)compression, bounded both ways; the only user of lz4. */
#include "compress.h"

#include <limits.h>

#include <lz4.h>

_Static_assert(COMPRESS_MAX_IN <= LZ4_MAX_INPUT_SIZE, "packets fit one LZ4 block");

/*
 * Compress one packet. The output capacity given to LZ4 is at most len - 1, so LZ4 itself
 * stops as soon as the result would not be smaller, and incompressible data costs no copy.
 * state must be compress_state_size() bytes aligned like malloc() memory (LZ4 needs 8).
 */
size_t
compress_encode(void *state, const uint8_t *in, size_t len, uint8_t *out, size_t outcap,
    int accel)
{
	size_t cap;
	int n;

	if (len == 0 || len > COMPRESS_MAX_IN)
		return 0;
	cap = len - 1;
	if (outcap < cap)
		cap = outcap;
	if (cap == 0)
		return 0;
	n = LZ4_compress_fast_extState(state, (const char *)in, (char *)out, (int)len, (int)cap,
	    accel);
	if (n <= 0 || (size_t)n >= len)
		return 0;
	return (size_t)n;
}

/* Bytes of state compress_encode needs. */
size_t
compress_state_size(void)
{
	return (size_t)LZ4_sizeofState();
}

/* Decompress one block into at most maxout bytes; -1 on anything malformed or too large. */
long
compress_decode(const uint8_t *in, size_t len, uint8_t *out, size_t maxout)
{
	int n;

	if (len == 0 || len > INT_MAX)
		return -1;
	if (maxout > INT_MAX)
		maxout = INT_MAX;
	n = LZ4_decompress_safe((const char *)in, (char *)out, (int)len, (int)maxout);
	if (n < 0)
		return -1;
	return n;
}
