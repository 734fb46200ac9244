/*
 * test_crypto.c - known answers for AES-256-GCM (GCM spec cases 14 and 16), ChaCha20-Poly1305
 * (RFC 8439 A.5), X25519 (RFC 7748 6.1), SHA-256 and HMAC-SHA256 (RFC 4231); tampering, nonces,
 * in-place buffers, HKDF, base64 keys; and the key files and commands of keys.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "crypto.h"
#include "keys.h"

/* Decode a hex string into out (at most cap bytes); returns the length. */
static size_t
unhex(uint8_t *out, size_t cap, const char *hex)
{
	size_t n = 0;
	unsigned int v;

	while (hex[0] != '\0' && hex[1] != '\0') {
		assert_true(n < cap);
		assert_int_equal(sscanf(hex, "%2x", &v), 1);
		out[n++] = (uint8_t)v;
		hex += 2;
	}
	assert_true(hex[0] == '\0');
	return n;
}

/* ---- AEAD ---- */

/* GCM spec test case 14: zero key, zero IV (= our nonce 0), 16 zero bytes. */
static void
test_aesgcm_kat_counter_nonce(void **state)
{
	uint8_t key[32] = { 0 }, pt[16] = { 0 }, out[32], exp[32], back[16];
	struct crypto_aead s = { 0 }, o = { 0 };

	unhex(exp, sizeof(exp), "cea7403d4d606b6e074ec5d3baf39d18d0d1c8a799996bf0265b98b5d48ab919");
	assert_int_equal(crypto_aead_init(&s, CRYPTO_AESGCM, key, true), 0);
	assert_int_equal(crypto_aead_init(&o, CRYPTO_AESGCM, key, false), 0);
	assert_int_equal(crypto_aead_seal(&s, 0, NULL, 0, pt, sizeof(pt), out), 0);
	assert_memory_equal(out, exp, sizeof(exp));
	assert_int_equal(crypto_aead_open(&o, 0, NULL, 0, out, sizeof(out), back), 0);
	assert_memory_equal(back, pt, sizeof(pt));
	/* The context is reused: the same nonce again gives the same answer. */
	assert_int_equal(crypto_aead_seal(&s, 0, NULL, 0, pt, sizeof(pt), out), 0);
	assert_memory_equal(out, exp, sizeof(exp));
	assert_int_equal(crypto_seal_once(CRYPTO_AESGCM, key, 0, NULL, 0, pt, sizeof(pt), out), 0);
	assert_memory_equal(out, exp, sizeof(exp));
	crypto_aead_free(&s);
	crypto_aead_free(&o);
}

/* GCM spec test case 16: 256-bit key, 60-byte plaintext, 20-byte AAD, explicit IV. */
static void
test_aesgcm_kat_explicit_nonce(void **state)
{
	uint8_t key[32], iv[12], ad[20], pt[60], exp[76], out[76], back[60];

	unhex(key, sizeof(key),
	    "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308");
	unhex(iv, sizeof(iv), "cafebabefacedbaddecaf888");
	unhex(ad, sizeof(ad), "feedfacedeadbeeffeedfacedeadbeefabaddad2");
	unhex(pt, sizeof(pt),
	    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
	    "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39");
	unhex(exp, sizeof(exp),
	    "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
	    "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662"
	    "76fc6ece0f4e1768cddf8853bb2d551b");
	assert_int_equal(crypto_seal_nonce(key, iv, ad, sizeof(ad), pt, sizeof(pt), out), 0);
	assert_memory_equal(out, exp, sizeof(exp));
	assert_int_equal(crypto_open_nonce(key, iv, ad, sizeof(ad), out, sizeof(out), back), 0);
	assert_memory_equal(back, pt, sizeof(pt));
	out[0] ^= 1;
	assert_int_equal(crypto_open_nonce(key, iv, ad, sizeof(ad), out, sizeof(out), back), -1);
	out[0] ^= 1;
	iv[11] ^= 1;
	assert_int_equal(crypto_open_nonce(key, iv, ad, sizeof(ad), out, sizeof(out), back), -1);
}

/*
 * RFC 8439 appendix A.5: its nonce 00000000 0102030405060708 is exactly our layout with the
 * little-endian counter 0x0807060504030201, so it runs through the packet API unchanged.
 */
static void
test_chachapoly_kat(void **state)
{
	static const char ct_hex[] =
	    "64a0861575861af460f062c79be643bd5e805cfd345cf389f108670ac76c8cb2"
	    "4c6cfc18755d43eea09ee94e382d26b0bdb7b73c321b0100d4f03b7f355894cf"
	    "332f830e710b97ce98c8a84abd0b948114ad176e008d33bd60f982b1ff37c855"
	    "9797a06ef4f0ef61c186324e2b3506383606907b6a7c02b0f9f6157b53c867e4"
	    "b9166c767b804d46a59b5216cde7a4e99040c5a40433225ee282a1b0a06c523e"
	    "af4534d7f83fa1155b0047718cbc546a0d072b04b3564eea1b422273f548271a"
	    "0bb2316053fa76991955ebd63159434ecebb4e466dae5a1073a6727627097a10"
	    "49e617d91d361094fa68f0ff77987130305beaba2eda04df997b714d6c6f2c29"
	    "a6ad5cb4022b02709b"
	    "eead9d67890cbb22392336fea1851f38";
	static const char prefix[] = "Internet-Drafts are draft documents valid for a maximum of "
	    "six months";
	const uint64_t nonce = 0x0807060504030201ULL;
	uint8_t key[32], ad[12], ct[512], pt[512], again[512];
	struct crypto_aead o = { 0 }, s = { 0 };
	size_t len;

	unhex(key, sizeof(key),
	    "1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0");
	unhex(ad, sizeof(ad), "f33388860000000000004e91");
	len = unhex(ct, sizeof(ct), ct_hex);
	assert_int_equal(len, 265 + 16);
	assert_int_equal(crypto_aead_init(&o, CRYPTO_CHACHAPOLY, key, false), 0);
	assert_int_equal(crypto_aead_open(&o, nonce, ad, sizeof(ad), ct, len, pt), 0);
	assert_memory_equal(pt, prefix, strlen(prefix));
	assert_int_equal(crypto_aead_init(&s, CRYPTO_CHACHAPOLY, key, true), 0);
	assert_int_equal(crypto_aead_seal(&s, nonce, ad, sizeof(ad), pt, len - 16, again), 0);
	assert_memory_equal(again, ct, len);
	/* The byte order matters: the big-endian reading of the same counter does not open. */
	assert_int_equal(crypto_aead_open(&o, 0x0102030405060708ULL, ad, sizeof(ad), ct, len, pt),
	    -1);
	crypto_aead_free(&o);
	crypto_aead_free(&s);
}

/* Round trip in place, then tamper with every byte of ciphertext, tag and AAD. */
static void
roundtrip_and_tamper(enum crypto_suite suite)
{
	uint8_t key[32], ad[13], msg[200], buf[216], copy[216];
	struct crypto_aead s = { 0 }, o = { 0 };
	size_t i;

	crypto_random(key, sizeof(key));
	crypto_random(ad, sizeof(ad));
	crypto_random(msg, sizeof(msg));
	assert_int_equal(crypto_aead_init(&s, suite, key, true), 0);
	assert_int_equal(crypto_aead_init(&o, suite, key, false), 0);
	memcpy(buf, msg, sizeof(msg));
	assert_int_equal(crypto_aead_seal(&s, 7, ad, sizeof(ad), buf, sizeof(msg), buf), 0);
	assert_memory_not_equal(buf, msg, sizeof(msg));
	memcpy(copy, buf, sizeof(buf));
	assert_int_equal(crypto_aead_open(&o, 7, ad, sizeof(ad), buf, sizeof(buf), buf), 0);
	assert_memory_equal(buf, msg, sizeof(msg));

	for (i = 0; i < sizeof(copy); i++) {
		memcpy(buf, copy, sizeof(buf));
		buf[i] ^= 0x80;
		assert_int_equal(crypto_aead_open(&o, 7, ad, sizeof(ad), buf, sizeof(buf), buf),
		    -1);
	}
	for (i = 0; i < sizeof(ad); i++) {
		memcpy(buf, copy, sizeof(buf));
		ad[i] ^= 0x04;
		assert_int_equal(crypto_aead_open(&o, 7, ad, sizeof(ad), buf, sizeof(buf), buf),
		    -1);
		ad[i] ^= 0x04;
	}
	memcpy(buf, copy, sizeof(buf));
	assert_int_equal(crypto_aead_open(&o, 8, ad, sizeof(ad), buf, sizeof(buf), buf), -1);
	memcpy(buf, copy, sizeof(buf));
	assert_int_equal(crypto_aead_open(&o, 7, NULL, 0, buf, sizeof(buf), buf), -1);
	memcpy(buf, copy, sizeof(buf));
	assert_int_equal(crypto_aead_open(&o, 7, ad, sizeof(ad), buf, sizeof(buf) - 1, buf), -1);
	/* After failures the context still opens good packets. */
	memcpy(buf, copy, sizeof(buf));
	assert_int_equal(crypto_aead_open(&o, 7, ad, sizeof(ad), buf, sizeof(buf), buf), 0);
	assert_memory_equal(buf, msg, sizeof(msg));
	/* The one-shot forms agree with the prepared contexts. */
	assert_int_equal(crypto_seal_once(suite, key, 7, ad, sizeof(ad), msg, sizeof(msg), buf), 0);
	assert_memory_equal(buf, copy, sizeof(copy));
	assert_int_equal(crypto_open_once(suite, key, 7, ad, sizeof(ad), copy, sizeof(copy), buf),
	    0);
	assert_memory_equal(buf, msg, sizeof(msg));
	assert_int_equal(crypto_open_once(suite, key, 6, ad, sizeof(ad), copy, sizeof(copy), buf),
	    -1);
	/* Empty plaintext: just a tag. */
	assert_int_equal(crypto_aead_seal(&s, 9, NULL, 0, NULL, 0, buf), 0);
	assert_int_equal(crypto_aead_open(&o, 9, NULL, 0, buf, 16, copy), 0);
	assert_int_equal(crypto_aead_open(&o, 9, NULL, 0, buf, 15, copy), -1);
	/* A context only works in its own direction. */
	assert_int_equal(crypto_aead_seal(&o, 1, NULL, 0, msg, 16, buf), -1);
	assert_int_equal(crypto_aead_open(&s, 1, NULL, 0, copy, 32, buf), -1);
	crypto_aead_free(&s);
	crypto_aead_free(&o);
	crypto_aead_free(&o);
	assert_null(o.ctx[0]);
	assert_int_equal(crypto_aead_seal(&s, 1, NULL, 0, msg, 16, buf), -1);
}

static void
test_aesgcm_tamper(void **state)
{
	roundtrip_and_tamper(CRYPTO_AESGCM);
}

static void
test_chachapoly_tamper(void **state)
{
	roundtrip_and_tamper(CRYPTO_CHACHAPOLY);
}

/* The two suites lay the counter out differently (Noise section 12.3 and 12.4). */
static void
test_nonce_layout(void **state)
{
	uint8_t key[32] = { 1 }, iv[12] = { 0 }, a[32], b[32], pt[16] = { 0 };

	/* AESGCM counter 0x0102 is big-endian in the last 8 bytes. */
	iv[10] = 0x01;
	iv[11] = 0x02;
	assert_int_equal(crypto_seal_once(CRYPTO_AESGCM, key, 0x0102, NULL, 0, pt, 16, a), 0);
	assert_int_equal(crypto_seal_nonce(key, iv, NULL, 0, pt, 16, b), 0);
	assert_memory_equal(a, b, sizeof(a));
	/* Nonces differ by one bit: different keystreams. */
	assert_int_equal(crypto_seal_once(CRYPTO_AESGCM, key, 0x0103, NULL, 0, pt, 16, b), 0);
	assert_memory_not_equal(a, b, sizeof(a));
	assert_int_equal(crypto_seal_once(CRYPTO_CHACHAPOLY, key, 1ULL << 63, NULL, 0, pt, 16, a),
	    0);
	assert_int_equal(crypto_seal_once(CRYPTO_CHACHAPOLY, key, 1ULL << 62, NULL, 0, pt, 16, b),
	    0);
	assert_memory_not_equal(a, b, sizeof(a));
	/* A context works without crypto_init having been called first (it is called later). */
	assert_int_equal(crypto_init(), 0);
	assert_int_equal(crypto_init(), 0);
	assert_int_equal(crypto_aead_init(&(struct crypto_aead){ 0 }, (enum crypto_suite)7, key,
	    true), -1);
}

/* ---- X25519 ---- */

static void
test_x25519_rfc7748(void **state)
{
	uint8_t a[32], ap[32], b[32], bp[32], exp_ap[32], exp_bp[32], exp_k[32], k1[32], k2[32];

	unhex(a, 32, "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
	unhex(exp_ap, 32, "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
	unhex(b, 32, "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
	unhex(exp_bp, 32, "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
	unhex(exp_k, 32, "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
	assert_int_equal(crypto_x25519_public(a, ap), 0);
	assert_memory_equal(ap, exp_ap, 32);
	assert_int_equal(crypto_x25519_public(b, bp), 0);
	assert_memory_equal(bp, exp_bp, 32);
	assert_int_equal(crypto_x25519(k1, a, bp), 0);
	assert_int_equal(crypto_x25519(k2, b, ap), 0);
	assert_memory_equal(k1, exp_k, 32);
	assert_memory_equal(k2, exp_k, 32);
	/* The form that is given the local public key too. */
	memset(k1, 0, 32);
	assert_int_equal(crypto_x25519_kp(k1, a, ap, bp), 0);
	assert_memory_equal(k1, exp_k, 32);
	assert_int_equal(crypto_x25519_kp(k2, b, bp, ap), 0);
	assert_memory_equal(k2, exp_k, 32);
}

/* Points of small order give an all-zero secret: refused. */
static void
test_x25519_low_order(void **state)
{
	uint8_t priv[32], pub[32], out[32], bad[32];

	assert_int_equal(crypto_x25519_keygen(priv, pub), 0);
	memset(bad, 0, sizeof(bad));
	assert_int_equal(crypto_x25519(out, priv, bad), -1);
	assert_int_equal(crypto_x25519_kp(out, priv, pub, bad), -1);
	bad[0] = 1; /* u = 1, order 4 */
	assert_int_equal(crypto_x25519(out, priv, bad), -1);
	assert_int_equal(crypto_x25519_kp(out, priv, pub, bad), -1);
	/* A point of order 8. */
	unhex(bad, 32, "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800");
	assert_int_equal(crypto_x25519(out, priv, bad), -1);
	assert_int_equal(crypto_x25519_kp(out, priv, pub, bad), -1);
}

static void
test_x25519_keygen(void **state)
{
	uint8_t p1[32], q1[32], p2[32], q2[32], k1[32], k2[32], check[32];

	assert_int_equal(crypto_x25519_keygen(p1, q1), 0);
	assert_int_equal(crypto_x25519_keygen(p2, q2), 0);
	assert_memory_not_equal(p1, p2, 32);
	/* Clamped as RFC 7748 section 5 describes. */
	assert_int_equal(p1[0] & 7, 0);
	assert_int_equal(p1[31] & 0xc0, 0x40);
	assert_int_equal(crypto_x25519_public(p1, check), 0);
	assert_memory_equal(check, q1, 32);
	assert_int_equal(crypto_x25519(k1, p1, q2), 0);
	assert_int_equal(crypto_x25519(k2, p2, q1), 0);
	assert_memory_equal(k1, k2, 32);
}

/* ---- hashes ---- */

static void
test_sha256(void **state)
{
	uint8_t out[32], exp[32];

	unhex(exp, 32, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	crypto_sha256(out, (const uint8_t *)"abc", 3, NULL, 0);
	assert_memory_equal(out, exp, 32);
	/* Two inputs hash as their concatenation. */
	crypto_sha256(out, (const uint8_t *)"a", 1, (const uint8_t *)"bc", 2);
	assert_memory_equal(out, exp, 32);
	unhex(exp, 32, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	crypto_sha256(out, (const uint8_t *)"", 0, NULL, 0);
	assert_memory_equal(out, exp, 32);
}

static void
test_hmac_rfc4231(void **state)
{
	static const char data2[] = "what do ya want for nothing?";
	uint8_t key1[20], out[32], exp[32];

	/* Test case 2. */
	unhex(exp, 32, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	crypto_hmac(out, (const uint8_t *)"Jefe", 4, (const uint8_t *)data2, strlen(data2));
	assert_memory_equal(out, exp, 32);
	/* Test case 1. */
	memset(key1, 0x0b, sizeof(key1));
	unhex(exp, 32, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
	crypto_hmac(out, key1, sizeof(key1), (const uint8_t *)"Hi There", 8);
	assert_memory_equal(out, exp, 32);
}

/* crypto_hkdf against its definition built from crypto_hmac. */
static void
test_hkdf(void **state)
{
	uint8_t ck[32], ikm[40], temp[32], e1[32], e2[32], e3[32], in[33], o1[32], o2[32], o3[32];
	uint8_t one = 1;

	crypto_random(ck, sizeof(ck));
	crypto_random(ikm, sizeof(ikm));
	crypto_hmac(temp, ck, 32, ikm, sizeof(ikm));
	crypto_hmac(e1, temp, 32, &one, 1);
	memcpy(in, e1, 32);
	in[32] = 2;
	crypto_hmac(e2, temp, 32, in, 33);
	memcpy(in, e2, 32);
	in[32] = 3;
	crypto_hmac(e3, temp, 32, in, 33);

	crypto_hkdf(ck, ikm, sizeof(ikm), o1, o2, o3);
	assert_memory_equal(o1, e1, 32);
	assert_memory_equal(o2, e2, 32);
	assert_memory_equal(o3, e3, 32);
	memset(o2, 0, 32);
	crypto_hkdf(ck, ikm, sizeof(ikm), NULL, o2, NULL);
	assert_memory_equal(o2, e2, 32);
	memset(o3, 0, 32);
	crypto_hkdf(ck, ikm, sizeof(ikm), NULL, NULL, o3);
	assert_memory_equal(o3, e3, 32);
	/* The output may overwrite the chaining key, as MixKey does. */
	memcpy(o1, ck, 32);
	crypto_hkdf(o1, ikm, sizeof(ikm), o1, o2, NULL);
	assert_memory_equal(o1, e1, 32);
	assert_memory_equal(o2, e2, 32);
	/* Empty input (Split). */
	crypto_hmac(temp, ck, 32, NULL, 0);
	crypto_hmac(e1, temp, 32, &one, 1);
	crypto_hkdf(ck, NULL, 0, o1, NULL, NULL);
	assert_memory_equal(o1, e1, 32);
}

static void
test_misc(void **state)
{
	uint8_t a[64], b[64], z[64] = { 0 };

	crypto_random(a, sizeof(a));
	crypto_random(b, sizeof(b));
	assert_memory_not_equal(a, b, sizeof(a));
	assert_true(crypto_equal(a, a, sizeof(a)));
	memcpy(b, a, sizeof(a));
	b[63] ^= 1;
	assert_false(crypto_equal(a, b, sizeof(a)));
	assert_true(crypto_equal(a, b, 63));
	crypto_wipe(a, sizeof(a));
	assert_memory_equal(a, z, sizeof(z));
}

/* ---- base64 ---- */

static void
test_base64_known(void **state)
{
	uint8_t key[32], back[32];
	char s[CRYPTO_B64_KEY_LEN + 1];

	unhex(key, 32, "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
	crypto_key_to_base64(s, key);
	assert_string_equal(s, "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=");
	assert_int_equal(crypto_key_from_base64(back, s), 0);
	assert_memory_equal(back, key, 32);
	memset(key, 0, sizeof(key));
	crypto_key_to_base64(s, key);
	assert_string_equal(s, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
	memset(key, 0xff, sizeof(key));
	crypto_key_to_base64(s, key);
	assert_string_equal(s, "//////////////////////////////////////////8=");
	assert_int_equal(crypto_key_from_base64(back, s), 0);
	assert_memory_equal(back, key, 32);
}

/* Random keys survive the round trip; every one of the 64 characters decodes. */
static void
test_base64_roundtrip(void **state)
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint8_t key[32], back[32];
	char s[CRYPTO_B64_KEY_LEN + 1];
	int i, j;

	for (i = 0; i < 1000; i++) {
		crypto_random(key, sizeof(key));
		crypto_key_to_base64(s, key);
		assert_int_equal(strlen(s), CRYPTO_B64_KEY_LEN);
		assert_int_equal(crypto_key_from_base64(back, s), 0);
		assert_memory_equal(back, key, 32);
	}
	/* Character c at position 0 carries value c in the top six bits of byte 0. */
	for (j = 0; j < 64; j++) {
		strcpy(s, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
		s[0] = alphabet[j];
		assert_int_equal(crypto_key_from_base64(back, s), 0);
		assert_int_equal(back[0], j << 2);
		crypto_key_to_base64(s, back);
		assert_int_equal(s[0], alphabet[j]);
	}
}

static void
test_base64_reject(void **state)
{
	static const char *const bad[] = {
		"",
		"hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo",     /* no padding */
		"hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTm=",     /* 43 characters */
		"hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo==",   /* 45 */
		"hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=\n",  /* newline: callers strip */
		" hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=",   /* leading space */
		"hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmoA",    /* no '=' at the end */
		"hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbT=o=",    /* '=' inside */
		"hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066Spjqqb mo=",    /* space inside */
		"hSDwCYkwp1R0i33ctD73Wg2*Og0mOBr066SpjqqbTmo=",    /* not base64 */
		"hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo=",    /* base64url */
		"hSDwCYkwp1R0i33ctD73Wg2-Og0mOBr066SpjqqbTmo=",    /* base64url */
		"hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmp=",    /* non-zero trailing bits */
		"hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=junk",
		"hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTm\xc3\xa9",
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==",    /* 31 bytes */
	};
	uint8_t key[32], orig[32];
	size_t i;

	memset(orig, 0x5a, sizeof(orig));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memcpy(key, orig, sizeof(key));
		if (crypto_key_from_base64(key, bad[i]) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
		/* A refused key leaves the output untouched. */
		assert_memory_equal(key, orig, sizeof(key));
	}
	/* Every byte value other than the 64 characters is refused at every position. */
	for (i = 0; i < 256; i++) {
		char s[] = "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=";

		if (i == 0 || strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789+/", (int)i) != NULL)
			continue;
		s[17] = (char)i;
		assert_int_equal(crypto_key_from_base64(key, s), -1);
	}
}

/* ---- keys.c ---- */

static void
write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static void
test_keys_read_file(void **state)
{
	char path[] = "/tmp/vt-test-key-XXXXXX", err[256];
	uint8_t key[32], exp[32];
	int fd;

	unhex(exp, 32, "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);

	write_file(path, "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=\n", 0600);
	assert_int_equal(keys_read_file(path, true, key, err, sizeof(err)), 0);
	assert_memory_equal(key, exp, 32);
	write_file(path, "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=", 0600);
	memset(key, 0, sizeof(key));
	assert_int_equal(keys_read_file(path, true, key, err, sizeof(err)), 0);
	assert_memory_equal(key, exp, 32);

	/* Readable by others: refused for a private key, fine for a public one. */
	write_file(path, "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=\n", 0644);
	err[0] = '\0';
	assert_int_equal(keys_read_file(path, true, key, err, sizeof(err)), -1);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "key file is accessible by group or others (chmod 600)"));
	assert_int_equal(keys_read_file(path, false, key, err, sizeof(err)), 0);
	assert_int_equal(chmod(path, 0620), 0);
	assert_int_equal(keys_read_file(path, true, key, err, sizeof(err)), -1);
	assert_int_equal(chmod(path, 0400), 0);
	assert_int_equal(keys_read_file(path, true, key, err, sizeof(err)), 0);

	/* Bad contents, each with a message naming the file. */
	write_file(path, "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=\n\n", 0600);
	assert_int_equal(keys_read_file(path, true, key, err, sizeof(err)), -1);
	assert_non_null(strstr(err, path));
	write_file(path, "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=\r\n", 0600);
	assert_int_equal(keys_read_file(path, true, key, err, sizeof(err)), -1);
	write_file(path, "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo= \n", 0600);
	assert_int_equal(keys_read_file(path, true, key, err, sizeof(err)), -1);
	write_file(path, "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=\nsecond line\n", 0600);
	assert_int_equal(keys_read_file(path, true, key, err, sizeof(err)), -1);
	write_file(path, "", 0600);
	assert_int_equal(keys_read_file(path, true, key, err, sizeof(err)), -1);
	write_file(path, "not a key\n", 0600);
	assert_int_equal(keys_read_file(path, true, key, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "base64"));

	assert_int_equal(unlink(path), 0);
	assert_int_equal(keys_read_file(path, true, key, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "No such file"));
	assert_int_equal(keys_read_file("/tmp", false, key, err, sizeof(err)), -1);
	/* A tiny err buffer is truncated, not overrun. */
	assert_int_equal(keys_read_file(path, true, key, err, 4), -1);
	assert_int_equal(strlen(err), 3);
}

/* Read the single line a command wrote to f; returns its length including the newline. */
static size_t
read_back(FILE *f, char *line, size_t cap)
{
	size_t n;

	rewind(f);
	n = fread(line, 1, cap - 1, f);
	line[n] = '\0';
	return n;
}

static void
test_keys_genkey_pubkey(void **state)
{
	FILE *out = tmpfile(), *in = tmpfile(), *err = tmpfile();
	char line[128], b64[CRYPTO_B64_KEY_LEN + 1];
	uint8_t priv[32], pub[32], got[32];

	assert_non_null(out);
	assert_non_null(in);
	assert_non_null(err);
	assert_int_equal(keys_cmd_genkey(out), 0);
	assert_int_equal(read_back(out, line, sizeof(line)), CRYPTO_B64_KEY_LEN + 1);
	assert_int_equal(line[CRYPTO_B64_KEY_LEN], '\n');
	line[CRYPTO_B64_KEY_LEN] = '\0';
	assert_int_equal(crypto_key_from_base64(priv, line), 0);
	assert_int_equal(priv[0] & 7, 0);
	assert_int_equal(priv[31] & 0xc0, 0x40);

	/* pubkey on that private key, fed with its newline as a shell pipe would. */
	line[CRYPTO_B64_KEY_LEN] = '\n';
	fputs(line, in);
	rewind(in);
	fclose(out);
	out = tmpfile();
	assert_int_equal(keys_cmd_pubkey(in, out, err), 0);
	assert_int_equal(read_back(out, line, sizeof(line)), CRYPTO_B64_KEY_LEN + 1);
	line[CRYPTO_B64_KEY_LEN] = '\0';
	assert_int_equal(crypto_key_from_base64(got, line), 0);
	assert_int_equal(crypto_x25519_public(priv, pub), 0);
	assert_memory_equal(got, pub, 32);

	/* RFC 7748 Alice: known private key in, known public key out (no newline on input). */
	fclose(in);
	fclose(out);
	in = tmpfile();
	out = tmpfile();
	fputs("dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=", in);
	rewind(in);
	assert_int_equal(keys_cmd_pubkey(in, out, err), 0);
	read_back(out, line, sizeof(line));
	assert_string_equal(line, "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=\n");

	/* Garbage in: -1 and a message on err, nothing on out. */
	fclose(in);
	fclose(out);
	in = tmpfile();
	out = tmpfile();
	fputs("dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=\nextra\n", in);
	rewind(in);
	assert_int_equal(keys_cmd_pubkey(in, out, err), -1);
	assert_int_equal(read_back(out, line, sizeof(line)), 0);
	assert_true(read_back(err, line, sizeof(line)) > 0);
	assert_non_null(strstr(line, "pubkey"));

	fclose(out);
	out = tmpfile();
	assert_int_equal(keys_cmd_genpsk(out), 0);
	assert_int_equal(read_back(out, line, sizeof(line)), CRYPTO_B64_KEY_LEN + 1);
	line[CRYPTO_B64_KEY_LEN] = '\0';
	assert_int_equal(crypto_key_from_base64(got, line), 0);
	/* Two keys are never the same. */
	strcpy(b64, line);
	fclose(out);
	out = tmpfile();
	assert_int_equal(keys_cmd_genpsk(out), 0);
	read_back(out, line, sizeof(line));
	assert_memory_not_equal(line, b64, CRYPTO_B64_KEY_LEN);
	fclose(in);
	fclose(out);
	fclose(err);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_aesgcm_kat_counter_nonce),
		cmocka_unit_test(test_aesgcm_kat_explicit_nonce),
		cmocka_unit_test(test_chachapoly_kat),
		cmocka_unit_test(test_aesgcm_tamper),
		cmocka_unit_test(test_chachapoly_tamper),
		cmocka_unit_test(test_nonce_layout),
		cmocka_unit_test(test_x25519_rfc7748),
		cmocka_unit_test(test_x25519_low_order),
		cmocka_unit_test(test_x25519_keygen),
		cmocka_unit_test(test_sha256),
		cmocka_unit_test(test_hmac_rfc4231),
		cmocka_unit_test(test_hkdf),
		cmocka_unit_test(test_misc),
		cmocka_unit_test(test_base64_known),
		cmocka_unit_test(test_base64_roundtrip),
		cmocka_unit_test(test_base64_reject),
		cmocka_unit_test(test_keys_read_file),
		cmocka_unit_test(test_keys_genkey_pubkey),
	};

	return cmocka_run_group_tests_name("crypto", tests, NULL, NULL);
}
