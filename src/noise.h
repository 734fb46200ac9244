/*
 * noise.h - Noise Protocol Framework handshake state machine (revision 34), pure: buffers in,
 * buffers out, no I/O. Patterns NN, NNpsk0, IK, IKpsk2, XX, XXpsk3 over DH 25519, cipher AESGCM or
 * ChaChaPoly, hash SHA256. vtund-ng uses IKpsk2; the others exist so the core can be checked
 * against the published test vectors byte for byte.
 */
#ifndef VT_NOISE_H
#define VT_NOISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto.h"

enum noise_pattern {
	NOISE_NN,
	NOISE_NNPSK0,
	NOISE_IK,
	NOISE_IKPSK2,
	NOISE_XX,
	NOISE_XXPSK3,
};

#define NOISE_MAX_MSG 65535

/* A CipherState: key plus 64-bit nonce. */
struct noise_cipher {
	uint8_t k[32];
	uint64_t n;
	bool has_key;
};

/* A HandshakeState with its SymmetricState. Plain data: may be copied and wiped. */
struct noise_hs {
	enum noise_pattern pattern;
	enum crypto_suite suite;
	bool initiator;
	int msg_index;     /* next message pattern to process */
	uint8_t ck[32];    /* chaining key */
	uint8_t h[32];     /* handshake hash */
	struct noise_cipher cs;
	uint8_t s_priv[32], s_pub[32];
	bool has_s;
	uint8_t e_priv[32], e_pub[32];
	bool has_e, fixed_e;
	uint8_t rs[32], re[32];
	bool has_rs, has_re;
	uint8_t psk[32];
	bool has_psk;
};

/* Protocol name for a pattern and suite, e.g. "Noise_IKpsk2_25519_AESGCM_SHA256". */
const char *noise_protocol_name(enum noise_pattern p, enum crypto_suite suite);
/* Initialize: s_priv, rs, psk may be NULL where the pattern does not need them (rs is required
 * for an IK initiator). Mixes the prologue and pre-message keys. 0 or -1. */
int noise_init(struct noise_hs *hs, enum noise_pattern p, enum crypto_suite suite,
    bool initiator, const uint8_t *prologue, size_t prologue_len, const uint8_t *s_priv,
    const uint8_t *rs, const uint8_t *psk);
/* The same, with our static public key already known (saves one scalar multiplication per
 * handshake); s_pub must belong to s_priv. */
int noise_init_kp(struct noise_hs *hs, enum noise_pattern p, enum crypto_suite suite,
    bool initiator, const uint8_t *prologue, size_t prologue_len, const uint8_t *s_priv,
    const uint8_t *s_pub, const uint8_t *rs, const uint8_t *psk);
/* Use this ephemeral private key instead of a random one (test vectors only). */
void noise_set_ephemeral(struct noise_hs *hs, const uint8_t e_priv[32]);
/* Set or replace the pre-shared key (a responder learns which peer after reading message 1). */
void noise_set_psk(struct noise_hs *hs, const uint8_t psk[32]);
/* Write the next handshake message carrying payload into out; sets *outlen. 0 or -1 (wrong
 * turn, out too small, DH failure). */
int noise_write_message(struct noise_hs *hs, const uint8_t *payload, size_t plen, uint8_t *out,
    size_t outcap, size_t *outlen);
/* Read the next handshake message into payload; sets *plen. 0 or -1 (wrong turn, too short,
 * authentication failure). On failure the state must be discarded. */
int noise_read_message(struct noise_hs *hs, const uint8_t *msg, size_t mlen, uint8_t *payload,
    size_t pcap, size_t *plen);
/* True once every message of the pattern has been written or read. */
bool noise_complete(const struct noise_hs *hs);
/* The remote static key, once known (NULL before). */
const uint8_t *noise_remote_static(const struct noise_hs *hs);
/* Split(): first key encrypts initiator->responder, second responder->initiator. Call only when
 * complete; wipes the chaining key. */
void noise_split(struct noise_hs *hs, uint8_t k_i2r[32], uint8_t k_r2i[32]);
/* The handshake hash (channel binding). */
const uint8_t *noise_handshake_hash(const struct noise_hs *hs);
/* Wipe every secret in the state. */
void noise_wipe(struct noise_hs *hs);
/* CipherState use after Split (test vectors): encrypt/decrypt with key k and nonce n, ad empty. */
int noise_cipher_encrypt(enum crypto_suite suite, struct noise_cipher *c, const uint8_t *ad,
    size_t adlen, const uint8_t *pt, size_t len, uint8_t *out);
int noise_cipher_decrypt(enum crypto_suite suite, struct noise_cipher *c, const uint8_t *ad,
    size_t adlen, const uint8_t *ct, size_t len, uint8_t *out);

#endif
