/* wire.c - encode and decode the byte layout declared in wire.h; no keys, no state. */
#include "wire.h"

#include <string.h>

#include "mtu.h"   /* MTU_MIN..MTU_MAX: what either end may announce; outside, broken or hostile */
#include "names.h"

/* Offsets inside the 48-byte params block. */
#define P_VERSION 0
#define P_CIPHER 1
#define P_COMPRESS 2
#define P_TYPE 3
#define P_MTU 4
#define P_STATUS 6
#define P_NAME_LEN 7
#define P_NAME 8
#define P_NAME_SIZE (WIRE_NAME_MAX + 1)

/* The wire carries any name the configuration accepts. */
_Static_assert(WIRE_NAME_MAX == NAMES_PEER_MAX, "peer names: wire and configuration differ");
#define P_RESERVED (P_NAME + P_NAME_SIZE)
#define P_RESERVED_LEN (WIRE_PARAMS_LEN - P_RESERVED)

_Static_assert(P_RESERVED_LEN == 8, "params layout must stay 48 bytes with 8 reserved");

/* Store a 32-bit value big-endian. */
void
wire_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Load a big-endian 32-bit value. */
uint32_t
wire_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Store a 64-bit value big-endian. */
void
wire_put64(uint8_t *p, uint64_t v)
{
	wire_put32(p, (uint32_t)(v >> 32));
	wire_put32(p + 4, (uint32_t)v);
}

/* Load a big-endian 64-bit value. */
uint64_t
wire_get64(const uint8_t *p)
{
	return (uint64_t)wire_get32(p) << 32 | wire_get32(p + 4);
}

/* Return the message type if the header and the length agree with it, else 0. */
enum wire_type
wire_classify(const uint8_t *msg, size_t len)
{
	size_t want;

	if (len < 4 || msg[1] != WIRE_VERSION || msg[3] != 0)
		return 0;
	switch (msg[0]) {
	case WIRE_DATA:
		/* Data messages carry no suite: the session already fixed it. */
		if (msg[2] != 0 || len < WIRE_DATA_MIN_LEN)
			return 0;
		return WIRE_DATA;
	case WIRE_HS_INIT:
		want = WIRE_INIT_LEN;
		break;
	case WIRE_HS_RESP:
		want = WIRE_RESP_LEN;
		break;
	case WIRE_COOKIE:
		want = WIRE_COOKIE_LEN;
		break;
	default:
		return 0;
	}
	/* Handshake messages name the suite of the exchange; a cookie reply always carries 0. */
	if (len != want || (msg[2] != WIRE_SUITE_AESGCM && msg[2] != WIRE_SUITE_CHACHAPOLY))
		return 0;
	return (enum wire_type)msg[0];
}

/* Write type, version, suite and the zero reserved byte. */
void
wire_put_header(uint8_t *p, enum wire_type type, uint8_t suite)
{
	p[0] = (uint8_t)type;
	p[1] = WIRE_VERSION;
	p[2] = suite;
	p[3] = 0;
}

/* Parse receiver index and counter of a data message that passes wire_classify. */
bool
wire_data_hdr_decode(const uint8_t *msg, size_t len, struct wire_data_hdr *h)
{
	if (wire_classify(msg, len) != WIRE_DATA)
		return false;
	h->receiver = wire_get32(msg + 4);
	h->counter = wire_get64(msg + 8);
	return true;
}

/* Write the 16-byte data header: header, receiver, counter. */
void
wire_data_hdr_encode(uint8_t *p, const struct wire_data_hdr *h)
{
	wire_put_header(p, WIRE_DATA, 0);
	wire_put32(p + 4, h->receiver);
	wire_put64(p + 8, h->counter);
}

/* Write params as 48 bytes; a name longer than WIRE_NAME_MAX is cut (decode would reject it). */
void
wire_params_encode(uint8_t *p, const struct wire_params *params)
{
	size_t n = strnlen(params->name, WIRE_NAME_MAX);

	memset(p, 0, WIRE_PARAMS_LEN);
	p[P_VERSION] = params->version;
	p[P_CIPHER] = params->cipher;
	p[P_COMPRESS] = params->compress;
	p[P_TYPE] = params->type;
	wire_put16(p + P_MTU, params->mtu);
	p[P_STATUS] = params->status;
	p[P_NAME_LEN] = (uint8_t)n;
	memcpy(p + P_NAME, params->name, n);
}

/*
 * Parse 48 bytes of params. Every byte is checked, so one set of parameters has exactly one
 * encoding and the handshake hash cannot be steered by padding. The version byte is passed
 * through unchecked: comparing it is the session's job (WIRE_STATUS_MISMATCH).
 */
bool
wire_params_decode(const uint8_t *p, struct wire_params *params)
{
	size_t n = p[P_NAME_LEN], i;

	if (p[P_CIPHER] > WIRE_SUITE_CHACHAPOLY || p[P_COMPRESS] > 1 || p[P_TYPE] > 1 ||
	    p[P_STATUS] > WIRE_STATUS_DUPLICATE)
		return false;
	if (wire_get16(p + P_MTU) < MTU_MIN || wire_get16(p + P_MTU) > MTU_MAX)
		return false;
	if (n > WIRE_NAME_MAX || !names_valid_peer((const char *)p + P_NAME, n))
		return false;
	for (i = n; i < P_NAME_SIZE; i++)
		if (p[P_NAME + i] != 0)
			return false;
	for (i = 0; i < P_RESERVED_LEN; i++)
		if (p[P_RESERVED + i] != 0)
			return false;

	memset(params, 0, sizeof(*params));
	params->version = p[P_VERSION];
	params->cipher = p[P_CIPHER];
	params->compress = p[P_COMPRESS];
	params->type = p[P_TYPE];
	params->mtu = wire_get16(p + P_MTU);
	params->status = p[P_STATUS];
	memcpy(params->name, p + P_NAME, n);
	params->name[n] = '\0';
	return true;
}

/* Write seconds then nanoseconds, both big-endian, so memcmp orders timestamps. */
void
wire_timestamp_encode(uint8_t *p, uint64_t sec, uint32_t nsec)
{
	wire_put64(p, sec);
	wire_put32(p + 8, nsec);
}

/* Order two encoded timestamps bytewise; nanoseconds >= 1e9 are not rejected, only ordered. */
int
wire_timestamp_cmp(const uint8_t *a, const uint8_t *b)
{
	int c = memcmp(a, b, WIRE_TIMESTAMP_LEN);

	return (c > 0) - (c < 0);
}
