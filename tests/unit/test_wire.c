/* test_wire.c - wire format: endian helpers, classify, data header, params, timestamps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "wire.h"

/* The largest message any test builds. */
#define MSG_MAX 1600

/* Fill a message of len bytes with a valid header of type/suite and a non-zero body. */
static void
make_msg(uint8_t *m, size_t len, enum wire_type type, uint8_t suite)
{
	size_t i;

	for (i = 0; i < len; i++)
		m[i] = (uint8_t)(0xa5 ^ i);
	if (len >= 4)
		wire_put_header(m, type, suite);
}

static void
test_endian(void **state)
{
	static const uint8_t be64[8] = { 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef };
	uint8_t b[8];

	wire_put16(b, 0x1234);
	assert_int_equal(b[0], 0x12);
	assert_int_equal(b[1], 0x34);
	assert_int_equal(wire_get16(b), 0x1234);
	wire_put16(b, 0xffff);
	assert_int_equal(wire_get16(b), 0xffff);

	wire_put32(b, 0x89abcdefu);
	assert_memory_equal(b, be64 + 4, 4);
	assert_int_equal(wire_get32(be64), 0x01234567u);
	assert_int_equal(wire_get32(be64 + 4), 0x89abcdefu);

	wire_put64(b, UINT64_C(0x0123456789abcdef));
	assert_memory_equal(b, be64, 8);
	assert_true(wire_get64(be64) == UINT64_C(0x0123456789abcdef));
	wire_put64(b, UINT64_MAX);
	assert_true(wire_get64(b) == UINT64_MAX);
	wire_put64(b, 0);
	assert_true(wire_get64(b) == 0);
}

static void
test_put_header(void **state)
{
	uint8_t h[4];

	wire_put_header(h, WIRE_HS_RESP, WIRE_SUITE_CHACHAPOLY);
	assert_int_equal(h[0], 2);
	assert_int_equal(h[1], WIRE_VERSION);
	assert_int_equal(h[2], 1);
	assert_int_equal(h[3], 0);
}

/* Layout sizes are part of the protocol: a silent change must fail to compile here. */
_Static_assert(WIRE_INIT_LEN == 4 + 4 + 32 + 48 + 12 + 48 + 16 + 16 + 16, "initiation layout");
_Static_assert(WIRE_INIT_LEN == 196, "initiation size");
_Static_assert(WIRE_RESP_LEN == 4 + 4 + 4 + 32 + 48 + 16 + 16 + 16, "response layout");
_Static_assert(WIRE_RESP_LEN == 140, "response size");
_Static_assert(WIRE_COOKIE_LEN == 52, "cookie reply size");
_Static_assert(WIRE_DATA_MIN_LEN == 33, "smallest data message");

static const struct {
	enum wire_type type;
	size_t len;
} hs_types[] = {
	{ WIRE_HS_INIT, WIRE_INIT_LEN },
	{ WIRE_HS_RESP, WIRE_RESP_LEN },
	{ WIRE_COOKIE, WIRE_COOKIE_LEN },
};
#define N_HS (sizeof(hs_types) / sizeof(hs_types[0]))

static void
test_classify_valid(void **state)
{
	uint8_t m[MSG_MAX];
	size_t i, len;

	for (i = 0; i < N_HS; i++) {
		make_msg(m, hs_types[i].len, hs_types[i].type, WIRE_SUITE_AESGCM);
		assert_int_equal(wire_classify(m, hs_types[i].len), hs_types[i].type);
		make_msg(m, hs_types[i].len, hs_types[i].type, WIRE_SUITE_CHACHAPOLY);
		assert_int_equal(wire_classify(m, hs_types[i].len), hs_types[i].type);
	}
	for (len = WIRE_DATA_MIN_LEN; len <= MSG_MAX; len++) {
		make_msg(m, len, WIRE_DATA, 0);
		assert_int_equal(wire_classify(m, len), WIRE_DATA);
	}
}

static void
test_classify_length(void **state)
{
	uint8_t m[MSG_MAX];
	size_t i, len;

	for (i = 0; i < N_HS; i++) {
		make_msg(m, MSG_MAX, hs_types[i].type, 0);
		assert_int_equal(wire_classify(m, hs_types[i].len - 1), 0);
		assert_int_equal(wire_classify(m, hs_types[i].len + 1), 0);
		/* Every length but the exact one. */
		for (len = 0; len < MSG_MAX; len++)
			if (len != hs_types[i].len)
				assert_int_equal(wire_classify(m, len), 0);
	}
	make_msg(m, MSG_MAX, WIRE_DATA, 0);
	for (len = 0; len < WIRE_DATA_MIN_LEN; len++)
		assert_int_equal(wire_classify(m, len), 0);
	assert_int_equal(wire_classify(m, WIRE_DATA_MIN_LEN - 1), 0);
	assert_int_equal(wire_classify(m, WIRE_DATA_MIN_LEN), WIRE_DATA);
	assert_int_equal(wire_classify(m, WIRE_DATA_MIN_LEN + 1), WIRE_DATA);
	/* Empty: the pointer must not even be read. */
	assert_int_equal(wire_classify(NULL, 0), 0);
}

static void
test_classify_header_fields(void **state)
{
	static const enum wire_type all[] = { WIRE_HS_INIT, WIRE_HS_RESP, WIRE_COOKIE, WIRE_DATA };
	uint8_t m[MSG_MAX];
	size_t i, len;
	unsigned v;

	for (i = 0; i < 4; i++) {
		len = all[i] == WIRE_DATA ? 100 : hs_types[i].len;
		make_msg(m, len, all[i], 0);
		assert_int_equal(wire_classify(m, len), all[i]);
		/* Any other version, including 0 and 2. */
		for (v = 0; v < 256; v++) {
			m[1] = (uint8_t)v;
			assert_int_equal(wire_classify(m, len), v == WIRE_VERSION ? all[i] : 0);
		}
		m[1] = WIRE_VERSION;
		/* Reserved byte: any non-zero value. */
		for (v = 1; v < 256; v++) {
			m[3] = (uint8_t)v;
			assert_int_equal(wire_classify(m, len), 0);
		}
		m[3] = 0;
		/* Suite byte: 0/1 for handshakes, only 0 for data. */
		for (v = 0; v < 256; v++) {
			m[2] = (uint8_t)v;
			if (all[i] == WIRE_DATA)
				assert_int_equal(wire_classify(m, len), v == 0 ? WIRE_DATA : 0);
			else
				assert_int_equal(wire_classify(m, len), v <= 1 ? all[i] : 0);
		}
	}
}

static void
test_classify_unknown_type(void **state)
{
	uint8_t m[MSG_MAX];
	unsigned t;
	size_t i;
	static const size_t lens[] = { 4, WIRE_COOKIE_LEN, WIRE_RESP_LEN, WIRE_INIT_LEN, 100 };

	for (t = 0; t < 256; t++) {
		if (t >= WIRE_HS_INIT && t <= WIRE_DATA)
			continue;
		for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
			make_msg(m, lens[i], 0, 0);
			m[0] = (uint8_t)t;
			assert_int_equal(wire_classify(m, lens[i]), 0);
		}
	}
}

static void
test_data_hdr(void **state)
{
	struct wire_data_hdr h = { 0xdeadbeefu, UINT64_C(0x0102030405060708) }, g;
	static const uint8_t want[WIRE_DATA_HDR_LEN] = { 4, WIRE_VERSION, 0, 0, 0xde, 0xad, 0xbe,
		0xef, 1, 2, 3, 4, 5, 6, 7, 8 };
	uint8_t m[MSG_MAX];

	memset(m, 0x77, sizeof(m));
	wire_data_hdr_encode(m, &h);
	assert_memory_equal(m, want, sizeof(want));
	assert_int_equal(m[WIRE_DATA_HDR_LEN], 0x77); /* wrote 16 bytes, not more */

	memset(&g, 0, sizeof(g));
	assert_true(wire_data_hdr_decode(m, WIRE_DATA_MIN_LEN, &g));
	assert_int_equal(g.receiver, h.receiver);
	assert_true(g.counter == h.counter);

	h.receiver = 0;
	h.counter = UINT64_MAX;
	wire_data_hdr_encode(m, &h);
	assert_true(wire_data_hdr_decode(m, 1500, &g));
	assert_int_equal(g.receiver, 0);
	assert_true(g.counter == UINT64_MAX);

	/* Too short, or not data. */
	assert_false(wire_data_hdr_decode(m, WIRE_DATA_MIN_LEN - 1, &g));
	assert_false(wire_data_hdr_decode(m, WIRE_DATA_HDR_LEN, &g));
	assert_false(wire_data_hdr_decode(m, 0, &g));
	m[0] = WIRE_COOKIE;
	assert_false(wire_data_hdr_decode(m, WIRE_COOKIE_LEN, &g));
	m[0] = WIRE_DATA;
	m[1] = WIRE_VERSION + 1;
	assert_false(wire_data_hdr_decode(m, 100, &g));
}

static void
params_example(struct wire_params *p, const char *name)
{
	memset(p, 0, sizeof(*p));
	p->version = WIRE_VERSION;
	p->cipher = WIRE_SUITE_CHACHAPOLY;
	p->compress = 1;
	p->type = 1;
	p->mtu = 1420;
	p->status = WIRE_STATUS_UNKNOWN_NAME;
	strcpy(p->name, name);
}

static void
assert_params_equal(const struct wire_params *a, const struct wire_params *b)
{
	assert_int_equal(a->version, b->version);
	assert_int_equal(a->cipher, b->cipher);
	assert_int_equal(a->compress, b->compress);
	assert_int_equal(a->type, b->type);
	assert_int_equal(a->mtu, b->mtu);
	assert_int_equal(a->status, b->status);
	assert_string_equal(a->name, b->name);
}

static void
test_params_layout(void **state)
{
	struct wire_params p;
	uint8_t b[WIRE_PARAMS_LEN + 1];
	uint8_t want[WIRE_PARAMS_LEN];

	memset(want, 0, sizeof(want));
	want[0] = WIRE_VERSION;
	want[1] = 1;
	want[2] = 1;
	want[3] = 1;
	want[4] = 1420 >> 8;
	want[5] = 1420 & 0xff;
	want[6] = 2;
	want[7] = 6;
	memcpy(want + 8, "site-a", 6);

	params_example(&p, "site-a");
	memset(b, 0xee, sizeof(b));
	wire_params_encode(b, &p);
	assert_memory_equal(b, want, WIRE_PARAMS_LEN);
	assert_int_equal(b[WIRE_PARAMS_LEN], 0xee);
}

static void
test_params_roundtrip(void **state)
{
	static const char *names[] = { "a", "site-a", "Peer_1.example-net",
		"abcdefghijklmnopqrstuvwxyz01234" /* 31 */ };
	static const uint16_t mtus[] = { 576, 1280, 1420, 1500, 9000 };
	struct wire_params p, q;
	uint8_t b[WIRE_PARAMS_LEN], c[WIRE_PARAMS_LEN];
	size_t i, j;
	unsigned cipher, comp, type, status;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		for (j = 0; j < sizeof(mtus) / sizeof(mtus[0]); j++)
			for (cipher = 0; cipher <= 1; cipher++)
				for (comp = 0; comp <= 1; comp++)
					for (type = 0; type <= 1; type++)
						for (status = 0; status <= 2; status++) {
							params_example(&p, names[i]);
							p.mtu = mtus[j];
							p.cipher = (uint8_t)cipher;
							p.compress = (uint8_t)comp;
							p.type = (uint8_t)type;
							p.status = (uint8_t)status;
							wire_params_encode(b, &p);
							assert_true(wire_params_decode(b, &q));
							assert_params_equal(&p, &q);
							wire_params_encode(c, &q);
							assert_memory_equal(b, c, sizeof(b));
						}
	/* The version byte is carried, not judged. */
	params_example(&p, "x");
	p.version = 200;
	wire_params_encode(b, &p);
	assert_true(wire_params_decode(b, &q));
	assert_int_equal(q.version, 200);
}

/* A name filling all 32 bytes of the struct (no NUL) is cut to 31 on encode. */
static void
test_params_long_name(void **state)
{
	struct wire_params p, q;
	uint8_t b[WIRE_PARAMS_LEN];

	params_example(&p, "");
	memset(p.name, 'n', sizeof(p.name));
	wire_params_encode(b, &p);
	assert_int_equal(b[7], WIRE_NAME_MAX);
	assert_int_equal(b[8 + WIRE_NAME_MAX], 0);
	assert_true(wire_params_decode(b, &q));
	assert_int_equal(strlen(q.name), WIRE_NAME_MAX);
}

/* Decode base after setting byte off to v; returns the verdict. */
static bool
decode_with(size_t off, uint8_t v)
{
	struct wire_params p;
	uint8_t b[WIRE_PARAMS_LEN];

	params_example(&p, "site-a");
	wire_params_encode(b, &p);
	b[off] = v;
	return wire_params_decode(b, &p);
}

static void
test_params_reject(void **state)
{
	struct wire_params p, q;
	uint8_t b[WIRE_PARAMS_LEN];
	size_t i;
	unsigned v;

	/* cipher, compress, type, status: first bad value and the largest. */
	assert_true(decode_with(1, 1));
	assert_false(decode_with(1, 2));
	assert_false(decode_with(1, 255));
	assert_true(decode_with(2, 1));
	assert_false(decode_with(2, 2));
	assert_false(decode_with(2, 255));
	assert_true(decode_with(3, 1));
	assert_false(decode_with(3, 2));
	assert_false(decode_with(3, 255));
	assert_true(decode_with(6, 3)); /* WIRE_STATUS_DUPLICATE */
	assert_false(decode_with(6, 4));
	assert_false(decode_with(6, 255));

	/* mtu edges: 575 and 9001 out, 576 and 9000 in, 0 and 65535 out. */
	params_example(&p, "m");
	for (v = 0; v < 65536; v++) {
		p.mtu = (uint16_t)v;
		wire_params_encode(b, &p);
		assert_int_equal(wire_params_decode(b, &q), v >= 576 && v <= 9000);
	}

	/* name_len past WIRE_NAME_MAX: 32 and 255. */
	params_example(&p, "");
	wire_params_encode(b, &p);
	memset(b + 8, 'a', 32);
	b[7] = 31;
	assert_false(wire_params_decode(b, &q)); /* byte 39 must be padding */
	b[39] = 0;
	assert_true(wire_params_decode(b, &q));
	memset(b + 8, 'a', 32);
	b[7] = 32;
	assert_false(wire_params_decode(b, &q));
	b[7] = 255;
	assert_false(wire_params_decode(b, &q));

	/* Every byte of the name: a peer name (names_valid_peer) is a letter, then letters,
	 * digits, '_', '.' or '-'; anything else is refused. */
	for (i = 0; i < 6; i++)
		for (v = 0; v < 256; v++) {
			bool letter = (v >= 'A' && v <= 'Z') || (v >= 'a' && v <= 'z');
			bool ok = letter || (i > 0 && ((v >= '0' && v <= '9') || v == '_' ||
			    v == '.' || v == '-'));

			assert_int_equal(decode_with(8 + i, (uint8_t)v), ok);
		}

	/* Padding after the name and the reserved tail: any non-zero byte. */
	for (i = 8 + 6; i < WIRE_PARAMS_LEN; i++) {
		assert_true(decode_with(i, 0));
		assert_false(decode_with(i, 1));
		assert_false(decode_with(i, 'a'));
		assert_false(decode_with(i, 0x80));
	}
	/* A name_len shorter than the name leaves name bytes in the padding. */
	assert_false(decode_with(7, 5));
	/* Longer than the name: the NUL inside is not a valid name character. */
	assert_false(decode_with(7, 7));
	assert_true(decode_with(7, 6));
}

/* Any single-byte change of a valid block decodes to something that re-encodes to it. */
static void
test_params_canonical(void **state)
{
	struct wire_params p, q;
	uint8_t b[WIRE_PARAMS_LEN], c[WIRE_PARAMS_LEN];
	size_t i;
	unsigned v, accepted = 0;

	for (i = 0; i < WIRE_PARAMS_LEN; i++)
		for (v = 0; v < 256; v++) {
			params_example(&p, "peer");
			wire_params_encode(b, &p);
			b[i] = (uint8_t)v;
			if (!wire_params_decode(b, &q))
				continue;
			accepted++;
			wire_params_encode(c, &q);
			assert_memory_equal(b, c, sizeof(b));
		}
	/* Sanity: a good share decodes (version any, mtu low byte, name chars ...). */
	assert_true(accepted > 256 + 200);
}

static void
test_timestamp(void **state)
{
	uint8_t a[WIRE_TIMESTAMP_LEN], b[WIRE_TIMESTAMP_LEN];
	static const uint8_t want[WIRE_TIMESTAMP_LEN] = { 0, 0, 0, 0, 0x65, 0x4a, 0x3b, 0x2c,
		0x3b, 0x9a, 0xc9, 0xff };

	wire_timestamp_encode(a, 0x654a3b2c, 999999999);
	assert_memory_equal(a, want, sizeof(want));

	wire_timestamp_encode(b, 0x654a3b2c, 999999999);
	assert_int_equal(wire_timestamp_cmp(a, b), 0);

	/* Nanoseconds order within one second. */
	wire_timestamp_encode(b, 0x654a3b2c, 999999998);
	assert_true(wire_timestamp_cmp(a, b) > 0);
	assert_true(wire_timestamp_cmp(b, a) < 0);

	/* Seconds dominate nanoseconds. */
	wire_timestamp_encode(a, 100, 999999999);
	wire_timestamp_encode(b, 101, 0);
	assert_true(wire_timestamp_cmp(a, b) < 0);
	assert_true(wire_timestamp_cmp(b, a) > 0);

	/* Unsigned: the top bit of seconds is a large value, not a negative one. */
	wire_timestamp_encode(a, UINT64_C(1) << 63, 0);
	wire_timestamp_encode(b, 1, 0);
	assert_true(wire_timestamp_cmp(a, b) > 0);

	/* nsec >= 1e9 is not rejected, only ordered bytewise. */
	wire_timestamp_encode(a, 5, UINT32_MAX);
	wire_timestamp_encode(b, 6, 0);
	assert_true(wire_timestamp_cmp(a, b) < 0);
	wire_timestamp_encode(b, 5, 1000000000);
	assert_true(wire_timestamp_cmp(a, b) > 0);

	/* Zero is the smallest. */
	wire_timestamp_encode(a, 0, 0);
	wire_timestamp_encode(b, 0, 1);
	assert_true(wire_timestamp_cmp(a, b) < 0);
	assert_int_equal(wire_timestamp_cmp(a, a), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_endian),
		cmocka_unit_test(test_put_header),
		cmocka_unit_test(test_classify_valid),
		cmocka_unit_test(test_classify_length),
		cmocka_unit_test(test_classify_header_fields),
		cmocka_unit_test(test_classify_unknown_type),
		cmocka_unit_test(test_data_hdr),
		cmocka_unit_test(test_params_layout),
		cmocka_unit_test(test_params_roundtrip),
		cmocka_unit_test(test_params_long_name),
		cmocka_unit_test(test_params_reject),
		cmocka_unit_test(test_params_canonical),
		cmocka_unit_test(test_timestamp),
	};

	return cmocka_run_group_tests_name("wire", tests, NULL, NULL);
}
