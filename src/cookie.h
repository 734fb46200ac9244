/*
 * cookie.h - denial-of-service defences for the handshake, like WireGuard's: mac1 keyed from the
 * receiver's public key (checked before any Diffie-Hellman), mac2 keyed by a cookie bound to the
 * sender's address (required only under load), cookie replies, and a per-source rate limiter.
 * Pure: time is an argument, randomness comes from crypto_random.
 *
 * Every handshake message ends with mac1 (16 bytes) then mac2 (16 bytes):
 *   mac1 = first 16 bytes of HMAC-SHA256(SHA256("mac1----" || receiver_pub), msg[0 : len-32])
 *   mac2 = first 16 bytes of HMAC-SHA256(cookie, msg[0 : len-16]), or zeros without a cookie
 *   cookie = first 16 bytes of HMAC-SHA256(secret, source address bytes || port), the secret
 *            being 32 random bytes replaced every COOKIE_SECRET_LIFETIME
 * A cookie reply (wire.h: WIRE_COOKIE) carries the cookie sealed with AES-256-GCM under
 * SHA256("cookie--" || sender_of_reply_pub), a random 12-byte nonce, and the mac1 of the message
 * it answers as associated data.
 */
#ifndef VT_COOKIE_H
#define VT_COOKIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define COOKIE_LEN 16
#define COOKIE_SECRET_LIFETIME 120000 /* ms */
#define COOKIE_VALIDITY 110000        /* an initiator uses a received cookie this long (ms) */

/* Responder side: checks macs on messages sent to us and makes cookie replies. */
struct cookie_checker {
	uint8_t mac1_key[32];
	uint8_t reply_key[32];
	uint8_t secret[32];
	uint64_t secret_birth; /* ms; 0 = no secret yet */
	bool has_secret;
};

enum cookie_result {
	COOKIE_BAD_MAC1 = 0, /* drop silently */
	COOKIE_MAC1_OK,      /* mac1 valid, mac2 absent or wrong */
	COOKIE_MAC2_OK,      /* both valid: the sender proved it can receive at its address */
};

/* Sender side: puts macs on messages we send to one peer, remembers its cookie. */
struct cookie_maker {
	uint8_t mac1_key[32];  /* from the peer's public key */
	uint8_t reply_key[32]; /* to open cookie replies from the peer (from the peer's key) */
	uint8_t cookie[COOKIE_LEN];
	uint64_t cookie_birth; /* ms */
	bool has_cookie;
	uint8_t last_mac1[16]; /* mac1 of the last message sent, to match a cookie reply */
	bool has_last_mac1;
};

/* Prepare a checker for messages sent to the holder of our_pub. */
void cookie_checker_init(struct cookie_checker *c, const uint8_t our_pub[32]);
/* Check only mac1 of a handshake message of len bytes: one MAC, no secret touched. */
bool cookie_mac1_ok(const struct cookie_checker *c, const uint8_t *msg, size_t len);
/* Check mac1 and mac2 of a handshake message of len bytes (len >= 32) from src. Non-const: it
 * rotates the secret when due. */
enum cookie_result cookie_validate(struct cookie_checker *c, const uint8_t *msg, size_t len,
    const struct sockaddr *src, socklen_t srclen, uint64_t now);
/* Build a cookie reply (WIRE_COOKIE_LEN bytes into out) to message msg (its mac1 is the AD),
 * for receiver index `receiver` (the sender index of msg), for address src. */
void cookie_make_reply(struct cookie_checker *c, const uint8_t *msg, size_t len,
    uint32_t receiver, const struct sockaddr *src, socklen_t srclen, uint64_t now,
    uint8_t *out);

/* Prepare a maker for messages sent to the holder of peer_pub. */
void cookie_maker_init(struct cookie_maker *m, const uint8_t peer_pub[32]);
/* Fill the last 32 bytes of msg (len bytes) with mac1 and mac2 (zeros if no fresh cookie). */
void cookie_add_macs(struct cookie_maker *m, uint8_t *msg, size_t len, uint64_t now);
/* Open a cookie reply (WIRE_COOKIE_LEN bytes) and store its cookie; 0, or -1 if it does not
 * answer our last message or fails to authenticate. */
int cookie_consume_reply(struct cookie_maker *m, const uint8_t *reply, size_t len,
    uint64_t now);
/* Wipe secrets. */
void cookie_checker_wipe(struct cookie_checker *c);
void cookie_maker_wipe(struct cookie_maker *m);

/*
 * Per-source handshake rate limiter: token bucket per source (an IPv4 address, IPv4-mapped
 * included, or an IPv6 /64; never the port), RATE per
 * second with a burst of BURST, in a fixed-size table (no allocation after creation); entries
 * idle for a second are reused. A full table refuses (fails closed).
 */
#define RATELIMIT_RATE 20
#define RATELIMIT_BURST 5
#define RATELIMIT_TABLE 4096
struct ratelimit;
/* Allocate a limiter (start-up only). */
struct ratelimit *ratelimit_new(void);
void ratelimit_free(struct ratelimit *rl);
/* True if a handshake from src may be processed now (and takes a token). */
bool ratelimit_allow(struct ratelimit *rl, const struct sockaddr *src, socklen_t srclen,
    uint64_t now);

#endif
