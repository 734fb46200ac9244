/*
 * wire.h - the vtund-ng wire format, in one place. Documented byte by byte in doc/PROTOCOL.md.
 * Bump WIRE_VERSION whenever anything in this file changes the bytes on the wire.
 * All multi-byte integers are big-endian (network order).
 */
#ifndef VT_WIRE_H
#define VT_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WIRE_VERSION 1

/* Byte 0 of every message. */
enum wire_type {
	WIRE_HS_INIT = 1,  /* handshake initiation (Noise IKpsk2 message 1) */
	WIRE_HS_RESP = 2,  /* handshake response (Noise IKpsk2 message 2) */
	WIRE_COOKIE = 3,   /* cookie reply, sent instead of a response under load */
	WIRE_DATA = 4,     /* transport data */
};

/* Byte 2 of handshake messages: the cipher suite, bound into the Noise protocol name. */
enum wire_suite {
	WIRE_SUITE_AESGCM = 0,     /* Noise_IKpsk2_25519_AESGCM_SHA256 */
	WIRE_SUITE_CHACHAPOLY = 1, /* Noise_IKpsk2_25519_ChaChaPoly_SHA256 */
};

#define WIRE_KEY_LEN 32
#define WIRE_TAG_LEN 16
#define WIRE_MAC_LEN 16
#define WIRE_TIMESTAMP_LEN 12
#define WIRE_NAME_MAX 31
#define WIRE_COOKIE_NONCE_LEN 12

/*
 * Parameters both ends must agree on; carried encrypted inside the handshake and so bound into
 * its hash. 48 bytes on the wire: version, cipher, compress, type, mtu(2), status, name_len,
 * name[32] (zero padded), 8 reserved zero bytes.
 */
#define WIRE_PARAMS_LEN 48
enum wire_status {
	WIRE_STATUS_OK = 0,
	WIRE_STATUS_MISMATCH = 1,     /* some parameter differs; both sides log which */
	WIRE_STATUS_UNKNOWN_NAME = 2, /* the key is known but the peer name is not */
	WIRE_STATUS_DUPLICATE = 3,    /* the session is up with another endpoint (dupkey.h) */
};
struct wire_params {
	uint8_t version;
	uint8_t cipher;   /* enum wire_suite */
	uint8_t compress; /* 0 none, 1 lz4 */
	uint8_t type;     /* 0 tun, 1 tap */
	uint16_t mtu;
	uint8_t status;   /* enum wire_status; always OK in an initiation */
	char name[WIRE_NAME_MAX + 1];
};

/* Handshake initiation: header(4) sender(4) ephemeral(32) static(32+16)
 * payload = timestamp(12) + params(48), sealed (+16), mac1(16), mac2(16). */
#define WIRE_INIT_PAYLOAD_LEN (WIRE_TIMESTAMP_LEN + WIRE_PARAMS_LEN)
#define WIRE_INIT_LEN (4 + 4 + 32 + 48 + WIRE_INIT_PAYLOAD_LEN + 16 + 16 + 16)
/* Handshake response: header(4) sender(4) receiver(4) ephemeral(32)
 * payload = params(48), sealed (+16), mac1(16), mac2(16). */
#define WIRE_RESP_PAYLOAD_LEN WIRE_PARAMS_LEN
#define WIRE_RESP_LEN (4 + 4 + 4 + 32 + WIRE_RESP_PAYLOAD_LEN + 16 + 16 + 16)
/* Cookie reply: header(4) receiver(4) nonce(12) cookie(16)+tag(16). */
#define WIRE_COOKIE_LEN (4 + 4 + WIRE_COOKIE_NONCE_LEN + 16 + 16)
/* Data: header(4) receiver(4) counter(8), then ciphertext of inner header + frame, then tag. */
#define WIRE_DATA_HDR_LEN 16
#define WIRE_DATA_MIN_LEN (WIRE_DATA_HDR_LEN + 1 + WIRE_TAG_LEN)

/* First byte of the decrypted payload of a data message. */
enum wire_inner {
	WIRE_INNER_FRAME = 0,     /* an IP packet (tun) or Ethernet frame (tap) follows */
	WIRE_INNER_FRAME_LZ4 = 1, /* an LZ4 block follows; it inflates to at most the largest
	                             frame: MTU (tun) or MTU + 18 (tap) */
	WIRE_INNER_KEEPALIVE = 2, /* nothing follows */
	WIRE_INNER_CLOSE = 3,     /* the sender is shutting the session down */
	WIRE_INNER_REKEY = 4,     /* responder asks the initiator for a new handshake */
};
#define WIRE_INNER_HDR_LEN 1

/* Header of a data message, as parsed. */
struct wire_data_hdr {
	uint32_t receiver;
	uint64_t counter;
};

/* Length prefix in front of every message on a TCP stream. */
#define WIRE_TCP_PREFIX_LEN 2

/* The largest frame a link carries: a 9000-byte MTU plus an Ethernet header with a VLAN tag. */
#define WIRE_FRAME_MAX 9018
/* The largest message any peer sends: a data message with the largest frame, uncompressed (an
 * LZ4 block is sent only when it is smaller than the frame). A TCP length above this, or 0,
 * marks the stream as corrupt. */
#define WIRE_MSG_MAX (WIRE_DATA_HDR_LEN + WIRE_INNER_HDR_LEN + WIRE_FRAME_MAX + WIRE_TAG_LEN)

/* Big-endian helpers. */
static inline void wire_put16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = v; }
static inline uint16_t wire_get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
void wire_put32(uint8_t *p, uint32_t v);
uint32_t wire_get32(const uint8_t *p);
void wire_put64(uint8_t *p, uint64_t v);
uint64_t wire_get64(const uint8_t *p);

/* Type of a message (byte 0), or 0 if it is too short, has an unknown type or wrong length for
 * its type, or carries another protocol version. Checks only what is visible without keys. */
enum wire_type wire_classify(const uint8_t *msg, size_t len);
/* Write a 4-byte message header. */
void wire_put_header(uint8_t *p, enum wire_type type, uint8_t suite);
/* Parse a data header; false if msg is shorter than WIRE_DATA_MIN_LEN or not a data message. */
bool wire_data_hdr_decode(const uint8_t *msg, size_t len, struct wire_data_hdr *h);
/* Encode the data header (16 bytes). */
void wire_data_hdr_encode(uint8_t *p, const struct wire_data_hdr *h);
/* Encode params into exactly WIRE_PARAMS_LEN bytes. */
void wire_params_encode(uint8_t *p, const struct wire_params *params);
/* Decode params; false if malformed (name not terminated/too long, reserved bytes set). */
bool wire_params_decode(const uint8_t *p, struct wire_params *params);
/* Timestamp: Unix time, 8 bytes seconds + 4 bytes nanoseconds, big-endian. */
void wire_timestamp_encode(uint8_t *p, uint64_t sec, uint32_t nsec);
/* Compare two encoded timestamps: <0, 0, >0. */
int wire_timestamp_cmp(const uint8_t *a, const uint8_t *b);

#endif
