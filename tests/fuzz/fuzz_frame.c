/*
 * fuzz_frame.c - libFuzzer target for the codecs that look into a frame as it comes out of a
 * session or a device: mtu_clamp_mss (mtu.c) and ecn_decap/ecn_encap (ecn.c), through frame.c.
 * Byte 0: bit 0 TAP, bits 1-2 the outer ECN field; bytes 1-2: the MTU (576 + n % 8425); the
 * rest is the frame, copied into a buffer of its exact size (a read or write past it halts
 * the fuzzer). A clamp must keep the length, change at most the MSS and checksum bytes (four),
 * keep the frame's 16-bit one's complement sum (the TCP header starts at an even offset and
 * the checksum compensates the MSS exactly), and a second clamp must change nothing. Seeds in
 * corpus/frame/.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "src/ecn.h" /* fuzzers get -I$(srcdir), not -I src */
#include "src/mtu.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint16_t
sum(const uint8_t *p, size_t len)
{
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		s += (uint32_t)p[len - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return s == 0xffff ? 0 : (uint16_t)s; /* one's complement: 0 and 0xffff are one value */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bool tap;
	int mtu;
	size_t len, diff = 0;
	uint8_t *f, *orig;

	if (size < 3)
		return 0;
	tap = data[0] & 1;
	mtu = MTU_MIN + (int)(((unsigned)data[1] << 8 | data[2]) % (MTU_MAX - MTU_MIN + 1));
	len = size - 3;
	f = malloc(len + 1);
	orig = malloc(len + 1);
	if (f == NULL || orig == NULL)
		abort();
	memcpy(f, data + 3, len);
	memcpy(orig, f, len);
	if (mtu_clamp_mss(f, len, tap, mtu)) {
		for (size_t i = 0; i < len; i++)
			diff += f[i] != orig[i];
		if (diff > 4 || sum(f, len) != sum(orig, len) || mtu_clamp_mss(f, len, tap, mtu))
			abort();
	} else if (memcmp(f, orig, len) != 0) {
		abort();
	}
	(void)ecn_encap(f, len, tap);
	(void)ecn_decap(f, len, tap, (uint8_t)(data[0] >> 1 & 3));
	free(f);
	free(orig);
	return 0;
}
