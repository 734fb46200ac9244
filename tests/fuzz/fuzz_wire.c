/*
 * fuzz_wire.c - libFuzzer target for the key-less wire codec: classify and parse any bytes, and
 * check that every params block the decoder accepts re-encodes to the very same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "src/wire.h" /* fuzzers get -I$(srcdir), not -I src */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Offset of the params inside the sealed payload of a handshake message, 0 for other types.
 * On the wire those bytes are ciphertext; decoding them here just gives the fuzzer a second,
 * type-dependent place to grow params blocks from handshake-shaped seeds.
 */
static size_t
params_offset(enum wire_type type)
{
	switch (type) {
	case WIRE_HS_INIT:
		return 4 + 4 + 32 + 48 + WIRE_TIMESTAMP_LEN;
	case WIRE_HS_RESP:
		return 4 + 4 + 4 + 32;
	default:
		return 0;
	}
}

static void
check_params(const uint8_t *p)
{
	struct wire_params params;
	uint8_t again[WIRE_PARAMS_LEN];

	if (!wire_params_decode(p, &params))
		return;
	/* Accepted means canonical: name terminated, printable, and one encoding per value. */
	if (params.name[WIRE_NAME_MAX] != '\0' || strlen(params.name) != p[7])
		abort();
	if (params.mtu < 576 || params.mtu > 9000)
		abort();
	wire_params_encode(again, &params);
	if (memcmp(again, p, WIRE_PARAMS_LEN) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wire_data_hdr h;
	uint8_t hdr[WIRE_DATA_HDR_LEN], ts[WIRE_TIMESTAMP_LEN];
	enum wire_type type;
	size_t off;

	type = wire_classify(data, size);
	if (type != 0 && (size < 4 || data[0] != type))
		abort();

	if (wire_data_hdr_decode(data, size, &h)) {
		if (type != WIRE_DATA)
			abort();
		/* The first 16 bytes of an accepted data message are exactly its encoding. */
		wire_data_hdr_encode(hdr, &h);
		if (memcmp(hdr, data, WIRE_DATA_HDR_LEN) != 0)
			abort();
	} else if (type == WIRE_DATA) {
		abort();
	}

	/* The raw input as a params block, and again where a handshake would carry it. */
	if (size >= WIRE_PARAMS_LEN)
		check_params(data);
	off = params_offset(type);
	if (off != 0)
		check_params(data + off);

	/* Timestamps: encode(decode(x)) == x and the order agrees with the numbers. */
	if (size >= 2 * WIRE_TIMESTAMP_LEN) {
		uint64_t sa = wire_get64(data), sb = wire_get64(data + WIRE_TIMESTAMP_LEN);
		uint32_t na = wire_get32(data + 8), nb = wire_get32(data + WIRE_TIMESTAMP_LEN + 8);
		int c = wire_timestamp_cmp(data, data + WIRE_TIMESTAMP_LEN);
		int want = sa != sb ? (sa > sb ? 1 : -1) : (na != nb ? (na > nb ? 1 : -1) : 0);

		wire_timestamp_encode(ts, sa, na);
		if (memcmp(ts, data, WIRE_TIMESTAMP_LEN) != 0 || c != want)
			abort();
	}
	return 0;
}
