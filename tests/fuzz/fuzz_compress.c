/*
 * fuzz_compress.c - libFuzzer target for the LZ4 decoder as a peer would drive it: any bytes
 * into a full-frame buffer; whatever decodes must compress and decode back to itself.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "src/compress.h" /* fuzzers get -I$(srcdir), not -I src */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXOUT COMPRESS_MAX_IN

static uint8_t out[MAXOUT];
static uint8_t again[MAXOUT];
static uint8_t packed[COMPRESS_BOUND(MAXOUT)];
static void *state;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	long n, m;
	size_t z;

	if (state == NULL && (state = malloc(compress_state_size())) == NULL)
		abort();

	n = compress_decode(data, size, out, MAXOUT);
	if (n == -1)
		return 0;
	if (n < 0 || n > MAXOUT)
		abort();
	/* Re-compress at two speeds; 0 means "send raw", which is allowed for any input. */
	for (int accel = 1; accel <= 8; accel += 7) {
		z = compress_encode(state, out, (size_t)n, packed, sizeof(packed), accel);
		if (z == 0)
			continue;
		if (z >= (size_t)n)
			abort();
		m = compress_decode(packed, z, again, MAXOUT);
		if (m != n || memcmp(again, out, (size_t)n) != 0)
			abort();
		/* One byte less room than needed must be refused. */
		if (n > 0 && compress_decode(packed, z, again, (size_t)n - 1) != -1)
			abort();
	}
	return 0;
}
