/*
 * crypto.c - the only user of OpenSSL 3: AEAD, X25519, SHA-256, HMAC, HKDF, random, base64 keys.
 * EVP APIs only. Algorithm objects are fetched once and shared read-only; per-packet calls reuse
 * a context prepared with the key and only change the nonce, so they allocate nothing.
 */
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "crypto.h"

#define NONCE_LEN 12

/* Algorithm objects: written once under pthread_once, read-only afterwards. */
static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;
static EVP_CIPHER *cipher_aesgcm;
static EVP_CIPHER *cipher_chachapoly;
static EVP_MD *md_sha256;
/* An HMAC-SHA256 context with the digest already set, duplicated per call to skip a fetch. */
static EVP_MAC_CTX *hmac_template;

static void
fetch_algorithms(void)
{
	EVP_MAC *mac;
	OSSL_PARAM params[2];

	cipher_aesgcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
	cipher_chachapoly = EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305", NULL);
	md_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (mac == NULL)
		return;
	hmac_template = EVP_MAC_CTX_new(mac);
	EVP_MAC_free(mac); /* the context keeps its own reference */
	if (hmac_template == NULL)
		return;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if (!EVP_MAC_CTX_set_params(hmac_template, params)) {
		EVP_MAC_CTX_free(hmac_template);
		hmac_template = NULL;
	}
}

/* Fetch on first use so that callers that skipped crypto_init still work. */
static int
ensure_fetched(void)
{
	if (pthread_once(&fetch_once, fetch_algorithms) != 0)
		return -1;
	if (cipher_aesgcm == NULL || cipher_chachapoly == NULL || md_sha256 == NULL ||
	    hmac_template == NULL)
		return -1;
	return 0;
}

/* Initialise OpenSSL algorithm objects once at start-up; 0 or -1. */
int
crypto_init(void)
{
	return ensure_fetched();
}

static const EVP_CIPHER *
suite_cipher(enum crypto_suite suite)
{
	if (ensure_fetched() == -1)
		return NULL;
	switch (suite) {
	case CRYPTO_AESGCM:
		return cipher_aesgcm;
	case CRYPTO_CHACHAPOLY:
		return cipher_chachapoly;
	}
	return NULL;
}

/* Noise nonce layout: 32 zero bits, then the counter (big-endian for AESGCM, little for ChaCha). */
static void
make_nonce(uint8_t iv[NONCE_LEN], enum crypto_suite suite, uint64_t n)
{
	memset(iv, 0, 4);
	if (suite == CRYPTO_AESGCM) {
		for (int i = 0; i < 8; i++)
			iv[NONCE_LEN - 1 - i] = (uint8_t)(n >> (8 * i));
	} else {
		for (int i = 0; i < 8; i++)
			iv[4 + i] = (uint8_t)(n >> (8 * i));
	}
}

/*
 * The AEAD tag as a parameter, passed straight to the provider: EVP_CIPHER_CTX_ctrl would
 * translate a GET_TAG or SET_TAG into the same parameter on every packet.
 */
static OSSL_PARAM *
tag_param(OSSL_PARAM p[2], uint8_t tag[CRYPTO_TAG_LEN])
{
	p[0] = OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, CRYPTO_TAG_LEN);
	p[1] = OSSL_PARAM_construct_end();
	return p;
}

/* Encrypt with a context that already holds cipher and key; sets only the nonce. */
static int
ctx_seal(EVP_CIPHER_CTX *ctx, const uint8_t iv[NONCE_LEN], const uint8_t *ad, size_t adlen,
    const uint8_t *pt, size_t ptlen, uint8_t *out)
{
	OSSL_PARAM p[2];
	int len;

	if (adlen > INT_MAX || ptlen > INT_MAX - CRYPTO_TAG_LEN)
		return -1;
	if (!EVP_CipherInit_ex(ctx, NULL, NULL, NULL, iv, 1))
		return -1;
	if (adlen > 0 && !EVP_CipherUpdate(ctx, NULL, &len, ad, (int)adlen))
		return -1;
	/* GCM and ChaCha20-Poly1305 are stream modes: update writes exactly ptlen bytes. */
	if (ptlen > 0 && !EVP_CipherUpdate(ctx, out, &len, pt, (int)ptlen))
		return -1;
	if (!EVP_CipherFinal_ex(ctx, out + ptlen, &len))
		return -1;
	if (!EVP_CIPHER_CTX_get_params(ctx, tag_param(p, out + ptlen)))
		return -1;
	return 0;
}

/* Decrypt and verify with a prepared context; sets only the nonce. */
static int
ctx_open(EVP_CIPHER_CTX *ctx, const uint8_t iv[NONCE_LEN], const uint8_t *ad, size_t adlen,
    const uint8_t *ct, size_t ctlen, uint8_t *out)
{
	uint8_t tag[CRYPTO_TAG_LEN];
	OSSL_PARAM p[2];
	size_t ptlen;
	int len;

	if (ctlen < CRYPTO_TAG_LEN || adlen > INT_MAX || ctlen > INT_MAX)
		return -1;
	ptlen = ctlen - CRYPTO_TAG_LEN;
	/* Copy the tag first: an in-place decryption may not touch it, but the parameter wants
	 * it writable. */
	memcpy(tag, ct + ptlen, CRYPTO_TAG_LEN);
	if (!EVP_CipherInit_ex(ctx, NULL, NULL, NULL, iv, 0))
		return -1;
	if (adlen > 0 && !EVP_CipherUpdate(ctx, NULL, &len, ad, (int)adlen))
		return -1;
	if (ptlen > 0 && !EVP_CipherUpdate(ctx, out, &len, ct, (int)ptlen))
		return -1;
	if (!EVP_CIPHER_CTX_set_params(ctx, tag_param(p, tag)))
		return -1;
	if (EVP_CipherFinal_ex(ctx, out + ptlen, &len) <= 0)
		return -1;
	return 0;
}

/* A fresh context holding cipher and key, ready for ctx_seal/ctx_open. */
static EVP_CIPHER_CTX *
ctx_new(enum crypto_suite suite, const uint8_t key[32], bool encrypt)
{
	const EVP_CIPHER *cipher;
	EVP_CIPHER_CTX *ctx;

	if ((cipher = suite_cipher(suite)) == NULL)
		return NULL;
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		return NULL;
	if (!EVP_CipherInit_ex(ctx, cipher, NULL, key, NULL, encrypt ? 1 : 0)) {
		EVP_CIPHER_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/* Prepare a key for sealing or opening on lanes threads: the first context is set up from
 * the key, the others are copies of it; 0 or -1. */
int
crypto_aead_init_lanes(struct crypto_aead *a, enum crypto_suite suite, const uint8_t key[32],
    bool encrypt, int lanes)
{
	memset(a->ctx, 0, sizeof(a->ctx));
	a->suite = suite;
	a->encrypt = encrypt;
	a->lanes = 0;
	if (lanes < 1 || lanes > CRYPTO_LANES_MAX)
		return -1;
	if ((a->ctx[0] = ctx_new(suite, key, encrypt)) == NULL)
		return -1;
	for (a->lanes = 1; a->lanes < lanes; a->lanes++) {
		EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();

		if (c == NULL || !EVP_CIPHER_CTX_copy(c, a->ctx[0])) {
			EVP_CIPHER_CTX_free(c);
			crypto_aead_free(a);
			return -1;
		}
		a->ctx[a->lanes] = c;
	}
	return 0;
}

int
crypto_aead_init(struct crypto_aead *a, enum crypto_suite suite, const uint8_t key[32],
    bool encrypt)
{
	return crypto_aead_init_lanes(a, suite, key, encrypt, 1);
}

/* Release and wipe a key (the provider cleanses its key schedule when freed). */
void
crypto_aead_free(struct crypto_aead *a)
{
	for (int i = 0; i < CRYPTO_LANES_MAX; i++) {
		if (a->ctx[i] != NULL)
			EVP_CIPHER_CTX_free(a->ctx[i]);
		a->ctx[i] = NULL;
	}
	a->lanes = 0;
}

/* Seal one packet with a prepared key on one lane; 0 or -1. */
int
crypto_aead_seal_lane(struct crypto_aead *a, int lane, uint64_t nonce, const uint8_t *ad,
    size_t adlen, const uint8_t *pt, size_t ptlen, uint8_t *out)
{
	uint8_t iv[NONCE_LEN];

	if (lane < 0 || lane >= a->lanes || a->ctx[lane] == NULL || !a->encrypt)
		return -1;
	make_nonce(iv, a->suite, nonce);
	return ctx_seal(a->ctx[lane], iv, ad, adlen, pt, ptlen, out);
}

/* Open one packet with a prepared key on one lane; 0, or -1 if it does not authenticate. */
int
crypto_aead_open_lane(struct crypto_aead *a, int lane, uint64_t nonce, const uint8_t *ad,
    size_t adlen, const uint8_t *ct, size_t ctlen, uint8_t *out)
{
	uint8_t iv[NONCE_LEN];

	if (lane < 0 || lane >= a->lanes || a->ctx[lane] == NULL || a->encrypt)
		return -1;
	make_nonce(iv, a->suite, nonce);
	return ctx_open(a->ctx[lane], iv, ad, adlen, ct, ctlen, out);
}

int
crypto_aead_seal(struct crypto_aead *a, uint64_t nonce, const uint8_t *ad, size_t adlen,
    const uint8_t *pt, size_t ptlen, uint8_t *out)
{
	return crypto_aead_seal_lane(a, 0, nonce, ad, adlen, pt, ptlen, out);
}

int
crypto_aead_open(struct crypto_aead *a, uint64_t nonce, const uint8_t *ad, size_t adlen,
    const uint8_t *ct, size_t ctlen, uint8_t *out)
{
	return crypto_aead_open_lane(a, 0, nonce, ad, adlen, ct, ctlen, out);
}

/* One-shot seal for the handshake: a context per call. */
int
crypto_seal_once(enum crypto_suite suite, const uint8_t key[32], uint64_t nonce,
    const uint8_t *ad, size_t adlen, const uint8_t *pt, size_t ptlen, uint8_t *out)
{
	struct crypto_aead a;
	int ret;

	if (crypto_aead_init(&a, suite, key, true) == -1)
		return -1;
	ret = crypto_aead_seal(&a, nonce, ad, adlen, pt, ptlen, out);
	crypto_aead_free(&a);
	return ret;
}

/* One-shot open for the handshake: a context per call. */
int
crypto_open_once(enum crypto_suite suite, const uint8_t key[32], uint64_t nonce,
    const uint8_t *ad, size_t adlen, const uint8_t *ct, size_t ctlen, uint8_t *out)
{
	struct crypto_aead a;
	int ret;

	if (crypto_aead_init(&a, suite, key, false) == -1)
		return -1;
	ret = crypto_aead_open(&a, nonce, ad, adlen, ct, ctlen, out);
	crypto_aead_free(&a);
	return ret;
}

/* AES-256-GCM seal with a caller-chosen 12-byte nonce (cookie replies). */
int
crypto_seal_nonce(const uint8_t key[32], const uint8_t nonce[12], const uint8_t *ad,
    size_t adlen, const uint8_t *pt, size_t ptlen, uint8_t *out)
{
	EVP_CIPHER_CTX *ctx;
	int ret;

	if ((ctx = ctx_new(CRYPTO_AESGCM, key, true)) == NULL)
		return -1;
	ret = ctx_seal(ctx, nonce, ad, adlen, pt, ptlen, out);
	EVP_CIPHER_CTX_free(ctx);
	return ret;
}

/* AES-256-GCM open with a caller-chosen 12-byte nonce (cookie replies). */
int
crypto_open_nonce(const uint8_t key[32], const uint8_t nonce[12], const uint8_t *ad,
    size_t adlen, const uint8_t *ct, size_t ctlen, uint8_t *out)
{
	EVP_CIPHER_CTX *ctx;
	int ret;

	if ((ctx = ctx_new(CRYPTO_AESGCM, key, false)) == NULL)
		return -1;
	ret = ctx_open(ctx, nonce, ad, adlen, ct, ctlen, out);
	EVP_CIPHER_CTX_free(ctx);
	return ret;
}

/* New random private key (clamped as RFC 7748 section 5 does) and its public key; 0 or -1. */
int
crypto_x25519_keygen(uint8_t priv[32], uint8_t pub[32])
{
	crypto_random(priv, 32);
	priv[0] &= 248;
	priv[31] &= 127;
	priv[31] |= 64;
	return crypto_x25519_public(priv, pub);
}

/* Public key of a private key; 0 or -1. */
int
crypto_x25519_public(const uint8_t priv[32], uint8_t pub[32])
{
	EVP_PKEY *pkey;
	size_t len = 32;
	int ret = -1;

	pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv, 32);
	if (pkey == NULL)
		return -1;
	if (EVP_PKEY_get_raw_public_key(pkey, pub, &len) && len == 32)
		ret = 0;
	EVP_PKEY_free(pkey);
	return ret;
}

/* X25519 between a loaded private key and a raw peer public key; the all-zero result of a
 * low-order peer point is refused (OpenSSL refuses it too; checking here keeps the guarantee
 * independent of it). */
static int
derive(uint8_t out[32], EVP_PKEY *pkey, const uint8_t pub[32])
{
	static const uint8_t zero[32];
	EVP_PKEY *peer = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	size_t len = 32;
	int ret = -1;

	if (pkey == NULL)
		goto out;
	if ((peer = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, pub, 32)) == NULL)
		goto out;
	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) == NULL)
		goto out;
	if (EVP_PKEY_derive_init(ctx) <= 0 || EVP_PKEY_derive_set_peer(ctx, peer) <= 0)
		goto out;
	if (EVP_PKEY_derive(ctx, out, &len) <= 0 || len != 32)
		goto out;
	if (CRYPTO_memcmp(out, zero, 32) == 0)
		goto out;
	ret = 0;
out:
	if (ret == -1)
		OPENSSL_cleanse(out, 32);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(peer);
	return ret;
}

/* Shared secret; -1 on failure or an all-zero result (a low-order peer point). */
int
crypto_x25519(uint8_t out[32], const uint8_t priv[32], const uint8_t pub[32])
{
	EVP_PKEY *pkey;
	int ret;

	/* Loading a raw private key computes its public key: one scalar multiplication. */
	pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv, 32);
	ret = derive(out, pkey, pub);
	EVP_PKEY_free(pkey);
	return ret;
}

/* Shared secret from a key pair the caller already holds; -1 as crypto_x25519. */
int
crypto_x25519_kp(uint8_t out[32], const uint8_t priv[32], const uint8_t mypub[32],
    const uint8_t pub[32])
{
	EVP_PKEY_CTX *kctx;
	EVP_PKEY *pkey = NULL;
	OSSL_PARAM params[3];
	int ret;

	/* Importing both halves skips the scalar multiplication a raw private key import does. */
	params[0] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PRIV_KEY, (void *)priv, 32);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)mypub, 32);
	params[2] = OSSL_PARAM_construct_end();
	if ((kctx = EVP_PKEY_CTX_new_from_name(NULL, "X25519", NULL)) == NULL)
		return -1;
	if (EVP_PKEY_fromdata_init(kctx) <= 0 ||
	    EVP_PKEY_fromdata(kctx, &pkey, EVP_PKEY_KEYPAIR, params) <= 0)
		pkey = NULL;
	EVP_PKEY_CTX_free(kctx);
	ret = derive(out, pkey, pub);
	EVP_PKEY_free(pkey);
	return ret;
}

/* SHA-256 over the concatenation of up to two inputs (b may be NULL). */
void
crypto_sha256(uint8_t out[32], const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	EVP_MD_CTX *ctx;
	unsigned int len;

	if (ensure_fetched() == -1 || (ctx = EVP_MD_CTX_new()) == NULL)
		abort(); /* OpenSSL without SHA-256 or memory: nothing sane to return */
	if (!EVP_DigestInit_ex(ctx, md_sha256, NULL) || !EVP_DigestUpdate(ctx, a, alen) ||
	    (b != NULL && !EVP_DigestUpdate(ctx, b, blen)) || !EVP_DigestFinal_ex(ctx, out, &len))
		abort();
	EVP_MD_CTX_free(ctx);
}

/* HMAC-SHA256 on a context from mac_new; the context may be reused with a new key. */
static void
mac_run(EVP_MAC_CTX *ctx, uint8_t out[32], const uint8_t *key, size_t keylen,
    const uint8_t *d1, size_t l1, const uint8_t *d2, size_t l2)
{
	size_t len;

	if (!EVP_MAC_init(ctx, key, keylen, NULL) || !EVP_MAC_update(ctx, d1, l1) ||
	    (l2 > 0 && !EVP_MAC_update(ctx, d2, l2)) || !EVP_MAC_final(ctx, out, &len, 32))
		abort();
}

static EVP_MAC_CTX *
mac_new(void)
{
	EVP_MAC_CTX *ctx;

	if (ensure_fetched() == -1 || (ctx = EVP_MAC_CTX_dup(hmac_template)) == NULL)
		abort();
	return ctx;
}

/* HMAC-SHA256(key, data). */
void
crypto_hmac(uint8_t out[32], const uint8_t *key, size_t keylen, const uint8_t *data, size_t len)
{
	EVP_MAC_CTX *ctx = mac_new();

	mac_run(ctx, out, key, keylen, data, len, NULL, 0);
	EVP_MAC_CTX_free(ctx);
}

/* Noise HKDF (section 4.3): temp = HMAC(ck, ikm); out_i = HMAC(temp, out_{i-1} || i). */
void
crypto_hkdf(const uint8_t ck[32], const uint8_t *ikm, size_t ikmlen, uint8_t *out1,
    uint8_t *out2, uint8_t *out3)
{
	EVP_MAC_CTX *ctx = mac_new();
	uint8_t temp[32], prev[32], cur[32];
	uint8_t *outs[3] = { out1, out2, out3 };
	uint8_t i, last = 0;

	for (i = 0; i < 3; i++)
		if (outs[i] != NULL)
			last = i + 1;
	mac_run(ctx, temp, ck, 32, ikm, ikmlen, NULL, 0);
	for (i = 1; i <= last; i++) {
		mac_run(ctx, cur, temp, 32, prev, i == 1 ? 0 : 32, &i, 1);
		memcpy(prev, cur, 32);
		if (outs[i - 1] != NULL)
			memcpy(outs[i - 1], cur, 32);
	}
	EVP_MAC_CTX_free(ctx);
	OPENSSL_cleanse(temp, sizeof(temp));
	OPENSSL_cleanse(prev, sizeof(prev));
	OPENSSL_cleanse(cur, sizeof(cur));
}

/* Cryptographically secure random bytes; aborts if the generator fails. */
void
crypto_random(void *p, size_t len)
{
	uint8_t *q = p;

	/* RAND_bytes takes an int length: feed it in chunks. */
	while (len > 0) {
		int n = len > INT_MAX ? INT_MAX : (int)len;

		if (RAND_bytes(q, n) != 1)
			abort(); /* no randomness: every key would be weak */
		q += n;
		len -= (size_t)n;
	}
}

/* Wipe memory that held a secret. */
void
crypto_wipe(void *p, size_t len)
{
	OPENSSL_cleanse(p, len);
}

/* Constant-time comparison: true if equal. */
bool
crypto_equal(const void *a, const void *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len) == 0;
}

/*
 * Base64 without table lookups indexed by secret data: keys pass through here, so the mapping
 * is computed with masks rather than branches or memory reads that depend on the value.
 */
static char
b64_char(unsigned int v)
{
	/* v in 0..63 -> 'A'-'Z', 'a'-'z', '0'-'9', '+', '/' */
	int x = (int)v, c = x + 'A';

	c += ((25 - x) >> 8) & ('a' - 'A' - 26);
	c += ((51 - x) >> 8) & ('0' - 'a' - 26);
	c += ((61 - x) >> 8) & ('+' - '0' - 10);
	c += ((62 - x) >> 8) & ('/' - '+' - 1);
	return (char)c;
}

/* Value of one base64 character, or -1 (as all bits set) if it is not one. */
static int
b64_value(unsigned char ch)
{
	int c = ch, v = -1;

	/* Each term is (value + 1) when c is in range, 0 otherwise; exactly one range can match. */
	v += (((('A' - 1) - c) & (c - ('Z' + 1))) >> 8) & (c - 'A' + 1);
	v += (((('a' - 1) - c) & (c - ('z' + 1))) >> 8) & (c - 'a' + 26 + 1);
	v += (((('0' - 1) - c) & (c - ('9' + 1))) >> 8) & (c - '0' + 52 + 1);
	v += (((('+' - 1) - c) & (c - ('+' + 1))) >> 8) & (62 + 1);
	v += (((('/' - 1) - c) & (c - ('/' + 1))) >> 8) & (63 + 1);
	return v;
}

/* Encode a 32-byte key as 44 characters of base64 plus NUL (as wg(8) prints keys). */
void
crypto_key_to_base64(char out[CRYPTO_B64_KEY_LEN + 1], const uint8_t key[32])
{
	unsigned int i, v;

	for (i = 0; i < 10; i++) {
		v = (unsigned int)key[3 * i] << 16 | (unsigned int)key[3 * i + 1] << 8 |
		    key[3 * i + 2];
		out[4 * i + 0] = b64_char((v >> 18) & 63);
		out[4 * i + 1] = b64_char((v >> 12) & 63);
		out[4 * i + 2] = b64_char((v >> 6) & 63);
		out[4 * i + 3] = b64_char(v & 63);
	}
	v = (unsigned int)key[30] << 16 | (unsigned int)key[31] << 8;
	out[40] = b64_char((v >> 18) & 63);
	out[41] = b64_char((v >> 12) & 63);
	out[42] = b64_char((v >> 6) & 63);
	out[43] = '=';
	out[44] = '\0';
}

/* Decode a base64 key; -1 unless it is exactly 44 canonical characters encoding 32 bytes. */
int
crypto_key_from_base64(uint8_t key[32], const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	uint8_t tmp[32];
	int bad = 0, v;
	unsigned int i, acc = 0;

	if (strnlen(s, CRYPTO_B64_KEY_LEN + 1) != CRYPTO_B64_KEY_LEN || s[43] != '=')
		return -1;
	for (i = 0; i < 43; i++) {
		v = b64_value(u[i]);
		bad |= v;
		acc = acc << 6 | ((unsigned int)v & 63);
		if (i % 4 == 3) {
			tmp[3 * (i / 4)] = (uint8_t)(acc >> 16);
			tmp[3 * (i / 4) + 1] = (uint8_t)(acc >> 8);
			tmp[3 * (i / 4) + 2] = (uint8_t)acc;
			acc = 0;
		}
	}
	/* 43 characters carry 258 bits: the last 2 must be zero in canonical base64. */
	tmp[30] = (uint8_t)(acc >> 10);
	tmp[31] = (uint8_t)(acc >> 2);
	bad |= -(int)(acc & 3);
	if (bad < 0) {
		OPENSSL_cleanse(tmp, sizeof(tmp));
		return -1;
	}
	memcpy(key, tmp, 32);
	OPENSSL_cleanse(tmp, sizeof(tmp));
	return 0;
}
