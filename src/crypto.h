/*
 * crypto.h - the only user of OpenSSL: AEAD (AES-256-GCM, ChaCha20-Poly1305), X25519, SHA-256,
 * HMAC-SHA256, random bytes, base64 keys and key wiping. EVP APIs only.
 */
#ifndef VT_CRYPTO_H
#define VT_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CRYPTO_KEY_LEN 32
#define CRYPTO_TAG_LEN 16
#define CRYPTO_HASH_LEN 32
#define CRYPTO_B64_KEY_LEN 44 /* base64 of 32 bytes, without the NUL */

enum crypto_suite {
	CRYPTO_AESGCM = 0,     /* AES-256-GCM, nonce = 4 zero bytes || 64-bit big-endian counter */
	CRYPTO_CHACHAPOLY = 1, /* ChaCha20-Poly1305, nonce = 4 zero bytes || 64-bit little-endian */
};

#define CRYPTO_LANES_MAX 8 /* threads that may use one key at once (POOL_LANES_MAX) */

/*
 * One key in one direction. Holds a prepared EVP_CIPHER_CTX so that each packet only sets the
 * nonce: created once per key (per handshake), never per packet; one per lane, so that that
 * many threads can seal or open with the key at the same time, each with its own lane.
 */
struct crypto_aead {
	void *ctx[CRYPTO_LANES_MAX]; /* EVP_CIPHER_CTX *, opaque here; lanes of them */
	int lanes;
	enum crypto_suite suite;
	bool encrypt;
};

/* Initialise OpenSSL algorithm objects once at start-up; 0 or -1. */
int crypto_init(void);
/* Prepare a key for sealing (encrypt=true) or opening; 0 or -1. The key is copied into the
 * OpenSSL context; the caller wipes its copy. */
int crypto_aead_init(struct crypto_aead *a, enum crypto_suite suite, const uint8_t key[32],
    bool encrypt);
/* The same with a context for each of lanes (1..CRYPTO_LANES_MAX) threads. */
int crypto_aead_init_lanes(struct crypto_aead *a, enum crypto_suite suite,
    const uint8_t key[32], bool encrypt, int lanes);
/* Release and wipe a key; safe on a zeroed or already freed struct. */
void crypto_aead_free(struct crypto_aead *a);
/* Seal pt (ptlen bytes) into out (ptlen + 16 bytes: ciphertext then tag); out may equal pt.
 * 0 or -1. */
int crypto_aead_seal(struct crypto_aead *a, uint64_t nonce, const uint8_t *ad, size_t adlen,
    const uint8_t *pt, size_t ptlen, uint8_t *out);
/* Open ct (ctlen bytes including the 16-byte tag) into out (ctlen - 16 bytes); out may equal
 * ct. 0, or -1 if the tag does not verify (out is then undefined). */
int crypto_aead_open(struct crypto_aead *a, uint64_t nonce, const uint8_t *ad, size_t adlen,
    const uint8_t *ct, size_t ctlen, uint8_t *out);
/* The same on one lane (0..a->lanes-1): calls on different lanes may run at the same time;
 * -1 for a lane the key does not have. The forms above use lane 0. */
int crypto_aead_seal_lane(struct crypto_aead *a, int lane, uint64_t nonce, const uint8_t *ad,
    size_t adlen, const uint8_t *pt, size_t ptlen, uint8_t *out);
int crypto_aead_open_lane(struct crypto_aead *a, int lane, uint64_t nonce, const uint8_t *ad,
    size_t adlen, const uint8_t *ct, size_t ctlen, uint8_t *out);
/* One-shot forms for the handshake (a context per call). */
int crypto_seal_once(enum crypto_suite suite, const uint8_t key[32], uint64_t nonce,
    const uint8_t *ad, size_t adlen, const uint8_t *pt, size_t ptlen, uint8_t *out);
int crypto_open_once(enum crypto_suite suite, const uint8_t key[32], uint64_t nonce,
    const uint8_t *ad, size_t adlen, const uint8_t *ct, size_t ctlen, uint8_t *out);
/* AES-256-GCM with an explicit 12-byte nonce (cookie replies). */
int crypto_seal_nonce(const uint8_t key[32], const uint8_t nonce[12], const uint8_t *ad,
    size_t adlen, const uint8_t *pt, size_t ptlen, uint8_t *out);
int crypto_open_nonce(const uint8_t key[32], const uint8_t nonce[12], const uint8_t *ad,
    size_t adlen, const uint8_t *ct, size_t ctlen, uint8_t *out);

/* New random private key (clamped) and its public key; 0 or -1. */
int crypto_x25519_keygen(uint8_t priv[32], uint8_t pub[32]);
/* Public key of a private key; 0 or -1. */
int crypto_x25519_public(const uint8_t priv[32], uint8_t pub[32]);
/* Shared secret; -1 on failure or an all-zero result (low-order point). */
int crypto_x25519(uint8_t out[32], const uint8_t priv[32], const uint8_t pub[32]);
/* The same when the caller also holds mypub, the public key of priv: skips recomputing it, which
 * halves the cost. mypub must belong to priv. */
int crypto_x25519_kp(uint8_t out[32], const uint8_t priv[32], const uint8_t mypub[32],
    const uint8_t pub[32]);

/* SHA-256 over the concatenation of up to two inputs (b may be NULL). */
void crypto_sha256(uint8_t out[32], const uint8_t *a, size_t alen, const uint8_t *b,
    size_t blen);
/* HMAC-SHA256(key, data). */
void crypto_hmac(uint8_t out[32], const uint8_t *key, size_t keylen, const uint8_t *data,
    size_t len);
/* Noise HKDF with SHA-256: derive n (1..3) outputs of 32 bytes from chaining key and input. */
void crypto_hkdf(const uint8_t ck[32], const uint8_t *ikm, size_t ikmlen, uint8_t *out1,
    uint8_t *out2, uint8_t *out3);

/* Cryptographically secure random bytes; aborts if the generator fails. */
void crypto_random(void *p, size_t len);
/* Wipe memory that held a secret (OPENSSL_cleanse). */
void crypto_wipe(void *p, size_t len);
/* Constant-time comparison: true if equal. */
bool crypto_equal(const void *a, const void *b, size_t len);

/* Encode a 32-byte key as 44 characters of base64 plus NUL. */
void crypto_key_to_base64(char out[CRYPTO_B64_KEY_LEN + 1], const uint8_t key[32]);
/* Decode a base64 key; -1 unless it is exactly 32 bytes of valid base64. */
int crypto_key_from_base64(uint8_t key[32], const char *s);

#endif
