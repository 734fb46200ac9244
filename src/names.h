/*
 * names.h - every name the daemon spells in more than one place, defined once: the setting
 * values of a link (device type, transport, cipher, compression) with their enums, the drop
 * reasons of the counters, and the rule for peer names. The configuration parser, the
 * handshake's log messages, the status reply and the hooks all read these tables. Pure.
 */
#ifndef VT_NAMES_H
#define VT_NAMES_H

#include <stdbool.h>
#include <stddef.h>

enum vt_devtype { VT_TUN = 0, VT_TAP = 1, VT_DEVTYPE_MAX };
enum vt_proto { VT_UDP = 0, VT_TCP = 1, VT_PROTO_MAX };
enum vt_cipher { VT_AES256GCM = 0, VT_CHACHA20POLY1305 = 1, VT_CIPHER_MAX };
enum vt_compress { VT_COMPRESS_NONE = 0, VT_COMPRESS_LZ4 = 1, VT_COMPRESS_MAX };
enum vt_offload { VT_OFFLOAD_AUTO = 0, VT_OFFLOAD_OFF = 1, VT_OFFLOAD_MAX };
enum vt_duplicate { VT_DUP_REPLACE = 0, VT_DUP_REFUSE = 1, VT_DUP_MAX };

/* Why a packet was dropped; the status reply names each counter by names_drop[]. */
enum vt_drop {
	DROP_AUTH = 0,     /* tag, mac1 or handshake authentication failed */
	DROP_REPLAY,       /* counter seen before or too old; replayed handshake timestamp */
	DROP_MALFORMED,    /* wrong length, unknown type, bad inner header or LZ4 block, corrupt
	                      TCP stream */
	DROP_NO_SESSION,   /* no key for the receiver index, the key expired, or data on a
	                      connection that does not carry that peer */
	DROP_NO_KEY,       /* a frame from the device while no key is ready (tx side) */
	DROP_RATELIMIT,    /* handshake over the rate, or a connection evicted before it said who
	                      it is */
	DROP_MISMATCH,     /* handshake with settings that differ from ours, or over the wrong
	                      transport */
	DROP_DEVICE,       /* the device or socket could not take the packet */
	DROP_ECN,          /* marked CE outside, but its inner packet is not ECN-capable
	                      (RFC 6040: the mark cannot be passed on) */
	DROP_FILTER,       /* authentic, but from an inner source outside the peer's
	                      peer-address, routes and allowed-ips (the cryptokey filter) */
	DROP_RATE,         /* over the peer's rate-in while its queue is full */
	DROP_DUPLICATE,    /* a handshake refused: the session is up with another endpoint */
	DROP_MAX
};

/* Each table is indexed by its enum and ends with NULL (the parser walks it). */
extern const char *const names_devtype[VT_DEVTYPE_MAX + 1]; /* "tun", "tap" */
extern const char *const names_proto[VT_PROTO_MAX + 1];     /* "udp", "tcp" */
extern const char *const names_cipher[VT_CIPHER_MAX + 1];   /* "aes-256-gcm", ... */
extern const char *const names_compress[VT_COMPRESS_MAX + 1]; /* "none", "lz4" */
extern const char *const names_offload[VT_OFFLOAD_MAX + 1];   /* "auto", "off" */
extern const char *const names_duplicate[VT_DUP_MAX + 1];     /* "replace", "refuse" */
extern const char *const names_drop[DROP_MAX + 1];          /* "auth", "replay", ... */

/* The name of value v in table (n entries), or "?" if v is out of range: for values that
 * came from the network. */
const char *names_get(const char *const *table, size_t n, int v);
#define NAMES_GET(table, v) names_get((table), sizeof(table) / sizeof((table)[0]) - 1, (v))

/* Longest peer name; the same name on both ends names a link. */
#define NAMES_PEER_MAX 31
#define NAMES_DEVICE_MAX 15 /* a device name: IFNAMSIZ - 1 bytes */
/* A peer name: a letter, then letters, digits, '_', '-' or '.'; 1..NAMES_PEER_MAX bytes. s need
 * not be terminated. */
bool names_valid_peer(const char *s, size_t len);

#endif
