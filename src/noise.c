/*
 * noise.c - Noise Protocol Framework (revision 34) HandshakeState, SymmetricState and
 * CipherState for DH 25519, hash SHA256 and cipher AESGCM or ChaChaPoly. The patterns are data
 * (token lists) and one generic loop runs them, so the core checked against the published
 * vectors for six patterns is the same code that runs IKpsk2.
 */
#include <string.h>

#include "noise.h"

#define DHLEN 32
#define HASHLEN 32
#define TAGLEN CRYPTO_TAG_LEN

enum token { T_END = 0, T_E, T_S, T_EE, T_ES, T_SE, T_SS, T_PSK };

#define MAX_MSGS 3
#define MAX_TOKENS 5

struct pattern {
	const char *name;
	bool psk;              /* a psk modifier: 'e' also runs MixKey (section 9.2) */
	bool pre_resp_s;       /* pre-message "<- s" */
	int nmsgs;
	enum token msgs[MAX_MSGS][MAX_TOKENS];
};

/* Section 7.4 and 7.5 patterns, plus the psk modifiers of section 9.3. */
static const struct pattern patterns[] = {
	[NOISE_NN] = { "NN", false, false, 2, {
		{ T_E },
		{ T_E, T_EE } } },
	[NOISE_NNPSK0] = { "NNpsk0", true, false, 2, {
		{ T_PSK, T_E },
		{ T_E, T_EE } } },
	[NOISE_IK] = { "IK", false, true, 2, {
		{ T_E, T_ES, T_S, T_SS },
		{ T_E, T_EE, T_SE } } },
	[NOISE_IKPSK2] = { "IKpsk2", true, true, 2, {
		{ T_E, T_ES, T_S, T_SS },
		{ T_E, T_EE, T_SE, T_PSK } } },
	[NOISE_XX] = { "XX", false, false, 3, {
		{ T_E },
		{ T_E, T_EE, T_S, T_ES },
		{ T_S, T_SE } } },
	[NOISE_XXPSK3] = { "XXpsk3", true, false, 3, {
		{ T_E },
		{ T_E, T_EE, T_S, T_ES },
		{ T_S, T_SE, T_PSK } } },
};

/* Full protocol names, indexed by pattern then suite. */
static const char *const names[][2] = {
	[NOISE_NN] = { "Noise_NN_25519_AESGCM_SHA256", "Noise_NN_25519_ChaChaPoly_SHA256" },
	[NOISE_NNPSK0] = { "Noise_NNpsk0_25519_AESGCM_SHA256",
	    "Noise_NNpsk0_25519_ChaChaPoly_SHA256" },
	[NOISE_IK] = { "Noise_IK_25519_AESGCM_SHA256", "Noise_IK_25519_ChaChaPoly_SHA256" },
	[NOISE_IKPSK2] = { "Noise_IKpsk2_25519_AESGCM_SHA256",
	    "Noise_IKpsk2_25519_ChaChaPoly_SHA256" },
	[NOISE_XX] = { "Noise_XX_25519_AESGCM_SHA256", "Noise_XX_25519_ChaChaPoly_SHA256" },
	[NOISE_XXPSK3] = { "Noise_XXpsk3_25519_AESGCM_SHA256",
	    "Noise_XXpsk3_25519_ChaChaPoly_SHA256" },
};

static bool
valid_pattern(enum noise_pattern p)
{
	return (unsigned int)p < sizeof(patterns) / sizeof(patterns[0]);
}

static bool
valid_suite(enum crypto_suite s)
{
	return s == CRYPTO_AESGCM || s == CRYPTO_CHACHAPOLY;
}

/* Protocol name for a pattern and suite, e.g. "Noise_IKpsk2_25519_AESGCM_SHA256". */
const char *
noise_protocol_name(enum noise_pattern p, enum crypto_suite suite)
{
	if (!valid_pattern(p) || !valid_suite(suite))
		return NULL;
	return names[p][suite];
}

/* CipherState.EncryptWithAd: with no key yet the "ciphertext" is the plaintext (section 5.1). */
int
noise_cipher_encrypt(enum crypto_suite suite, struct noise_cipher *c, const uint8_t *ad,
    size_t adlen, const uint8_t *pt, size_t len, uint8_t *out)
{
	if (!c->has_key) {
		memmove(out, pt, len);
		return 0;
	}
	/* 2^64-1 is reserved (section 5.1): refuse rather than wrap. */
	if (c->n == UINT64_MAX)
		return -1;
	if (crypto_seal_once(suite, c->k, c->n, ad, adlen, pt, len, out) == -1)
		return -1;
	c->n++;
	return 0;
}

/* CipherState.DecryptWithAd: len includes the tag when a key is set. */
int
noise_cipher_decrypt(enum crypto_suite suite, struct noise_cipher *c, const uint8_t *ad,
    size_t adlen, const uint8_t *ct, size_t len, uint8_t *out)
{
	if (!c->has_key) {
		memmove(out, ct, len);
		return 0;
	}
	if (c->n == UINT64_MAX || len < TAGLEN)
		return -1;
	if (crypto_open_once(suite, c->k, c->n, ad, adlen, ct, len, out) == -1)
		return -1;
	c->n++;
	return 0;
}

static void
mix_hash(struct noise_hs *hs, const uint8_t *data, size_t len)
{
	crypto_sha256(hs->h, hs->h, HASHLEN, data, len);
}

static void
cipher_set_key(struct noise_cipher *c, const uint8_t k[32])
{
	memcpy(c->k, k, 32);
	c->n = 0;
	c->has_key = true;
}

static void
mix_key(struct noise_hs *hs, const uint8_t *ikm, size_t len)
{
	uint8_t k[32];

	crypto_hkdf(hs->ck, ikm, len, hs->ck, k, NULL);
	cipher_set_key(&hs->cs, k);
	crypto_wipe(k, sizeof(k));
}

static void
mix_key_and_hash(struct noise_hs *hs, const uint8_t *ikm, size_t len)
{
	uint8_t th[32], k[32];

	crypto_hkdf(hs->ck, ikm, len, hs->ck, th, k);
	mix_hash(hs, th, sizeof(th));
	cipher_set_key(&hs->cs, k);
	crypto_wipe(th, sizeof(th));
	crypto_wipe(k, sizeof(k));
}

/* Size of EncryptAndHash output for len bytes of plaintext. */
static size_t
sealed_len(const struct noise_hs *hs, size_t len)
{
	return len + (hs->cs.has_key ? TAGLEN : 0);
}

static int
encrypt_and_hash(struct noise_hs *hs, const uint8_t *pt, size_t len, uint8_t *out)
{
	if (noise_cipher_encrypt(hs->suite, &hs->cs, hs->h, HASHLEN, pt, len, out) == -1)
		return -1;
	mix_hash(hs, out, sealed_len(hs, len));
	return 0;
}

/* ct is len bytes including any tag; h is mixed with the ciphertext, so hash before it changes. */
static int
decrypt_and_hash(struct noise_hs *hs, const uint8_t *ct, size_t len, uint8_t *out)
{
	uint8_t h_next[HASHLEN];

	crypto_sha256(h_next, hs->h, HASHLEN, ct, len);
	if (noise_cipher_decrypt(hs->suite, &hs->cs, hs->h, HASHLEN, ct, len, out) == -1)
		return -1;
	memcpy(hs->h, h_next, HASHLEN);
	return 0;
}

/* Initialize the HandshakeState: name, prologue, pre-message keys. 0 or -1. */
int
noise_init(struct noise_hs *hs, enum noise_pattern p, enum crypto_suite suite,
    bool initiator, const uint8_t *prologue, size_t prologue_len, const uint8_t *s_priv,
    const uint8_t *rs, const uint8_t *psk)
{
	return noise_init_kp(hs, p, suite, initiator, prologue, prologue_len, s_priv, NULL, rs,
	    psk);
}

int
noise_init_kp(struct noise_hs *hs, enum noise_pattern p, enum crypto_suite suite,
    bool initiator, const uint8_t *prologue, size_t prologue_len, const uint8_t *s_priv,
    const uint8_t *s_pub, const uint8_t *rs, const uint8_t *psk)
{
	const struct pattern *pat;
	const char *name;
	size_t len;

	memset(hs, 0, sizeof(*hs));
	if ((name = noise_protocol_name(p, suite)) == NULL)
		return -1;
	pat = &patterns[p];
	hs->pattern = p;
	hs->suite = suite;
	hs->initiator = initiator;

	/* InitializeSymmetric: a name of at most HASHLEN bytes is zero padded, else hashed. */
	len = strlen(name);
	if (len <= HASHLEN)
		memcpy(hs->h, name, len);
	else
		crypto_sha256(hs->h, (const uint8_t *)name, len, NULL, 0);
	memcpy(hs->ck, hs->h, HASHLEN);
	mix_hash(hs, prologue, prologue_len);

	if (s_priv != NULL) {
		memcpy(hs->s_priv, s_priv, 32);
		if (s_pub != NULL)
			memcpy(hs->s_pub, s_pub, 32);
		else if (crypto_x25519_public(hs->s_priv, hs->s_pub) == -1)
			goto fail;
		hs->has_s = true;
	}
	if (rs != NULL) {
		memcpy(hs->rs, rs, 32);
		hs->has_rs = true;
	}
	if (psk != NULL)
		noise_set_psk(hs, psk);

	if (pat->pre_resp_s) {
		/* "<- s": both sides hash the responder's static key before the first message. */
		if (initiator && !hs->has_rs)
			goto fail;
		if (!initiator && !hs->has_s)
			goto fail;
		mix_hash(hs, initiator ? hs->rs : hs->s_pub, 32);
	}
	return 0;
fail:
	noise_wipe(hs);
	return -1;
}

/* Use this ephemeral private key instead of a random one (test vectors only). */
void
noise_set_ephemeral(struct noise_hs *hs, const uint8_t e_priv[32])
{
	memcpy(hs->e_priv, e_priv, 32);
	hs->fixed_e = true;
}

/* Set or replace the pre-shared key. */
void
noise_set_psk(struct noise_hs *hs, const uint8_t psk[32])
{
	memcpy(hs->psk, psk, 32);
	hs->has_psk = true;
}

static bool
my_turn(const struct noise_hs *hs)
{
	return hs->msg_index < patterns[hs->pattern].nmsgs &&
	    hs->initiator == (hs->msg_index % 2 == 0);
}

/* MixKey(DH(a, b)) for a DH token; the keys picked depend on the token and our role. */
static int
mix_dh(struct noise_hs *hs, enum token t)
{
	const uint8_t *priv, *mypub, *pub;
	bool local_e, remote_e;
	uint8_t dh[32];
	int ret = -1;

	/* es = DH(initiator e, responder s); se = DH(initiator s, responder e). */
	switch (t) {
	case T_EE:
		local_e = true;
		remote_e = true;
		break;
	case T_ES:
		local_e = hs->initiator;
		remote_e = !hs->initiator;
		break;
	case T_SE:
		local_e = !hs->initiator;
		remote_e = hs->initiator;
		break;
	case T_SS:
		local_e = false;
		remote_e = false;
		break;
	default:
		return -1;
	}
	if ((local_e && !hs->has_e) || (!local_e && !hs->has_s) ||
	    (remote_e && !hs->has_re) || (!remote_e && !hs->has_rs))
		return -1;
	priv = local_e ? hs->e_priv : hs->s_priv;
	mypub = local_e ? hs->e_pub : hs->s_pub;
	pub = remote_e ? hs->re : hs->rs;
	if (crypto_x25519_kp(dh, priv, mypub, pub) == 0) {
		mix_key(hs, dh, sizeof(dh));
		ret = 0;
	}
	crypto_wipe(dh, sizeof(dh));
	return ret;
}

static int
write_message(struct noise_hs *hs, const uint8_t *payload, size_t plen, uint8_t *out,
    size_t outcap, size_t *outlen)
{
	const struct pattern *pat;
	const enum token *t;
	size_t off = 0, n;

	*outlen = 0;
	if (!valid_pattern(hs->pattern) || !my_turn(hs))
		return -1;
	pat = &patterns[hs->pattern];
	for (t = pat->msgs[hs->msg_index]; t < pat->msgs[hs->msg_index] + MAX_TOKENS &&
	    *t != T_END; t++) {
		switch (*t) {
		case T_E:
			if (outcap - off < DHLEN)
				return -1;
			if (hs->fixed_e) {
				if (crypto_x25519_public(hs->e_priv, hs->e_pub) == -1)
					return -1;
			} else if (crypto_x25519_keygen(hs->e_priv, hs->e_pub) == -1) {
				return -1;
			}
			hs->has_e = true;
			memcpy(out + off, hs->e_pub, DHLEN);
			off += DHLEN;
			mix_hash(hs, hs->e_pub, DHLEN);
			if (pat->psk)
				mix_key(hs, hs->e_pub, DHLEN);
			break;
		case T_S:
			n = sealed_len(hs, DHLEN);
			if (!hs->has_s || outcap - off < n)
				return -1;
			if (encrypt_and_hash(hs, hs->s_pub, DHLEN, out + off) == -1)
				return -1;
			off += n;
			break;
		case T_PSK:
			if (!hs->has_psk)
				return -1;
			mix_key_and_hash(hs, hs->psk, sizeof(hs->psk));
			break;
		default:
			if (mix_dh(hs, *t) == -1)
				return -1;
			break;
		}
	}
	n = sealed_len(hs, plen);
	if (n < plen || outcap - off < n || off + n > NOISE_MAX_MSG)
		return -1;
	if (encrypt_and_hash(hs, payload, plen, out + off) == -1)
		return -1;
	*outlen = off + n;
	hs->msg_index++;
	return 0;
}

static int
read_message(struct noise_hs *hs, const uint8_t *msg, size_t mlen, uint8_t *payload,
    size_t pcap, size_t *plen)
{
	const struct pattern *pat;
	const enum token *t;
	size_t off = 0, n;

	*plen = 0;
	if (!valid_pattern(hs->pattern) || hs->msg_index >= patterns[hs->pattern].nmsgs ||
	    my_turn(hs) || mlen > NOISE_MAX_MSG)
		return -1;
	pat = &patterns[hs->pattern];
	for (t = pat->msgs[hs->msg_index]; t < pat->msgs[hs->msg_index] + MAX_TOKENS &&
	    *t != T_END; t++) {
		switch (*t) {
		case T_E:
			if (mlen - off < DHLEN)
				return -1;
			memcpy(hs->re, msg + off, DHLEN);
			hs->has_re = true;
			off += DHLEN;
			mix_hash(hs, hs->re, DHLEN);
			if (pat->psk)
				mix_key(hs, hs->re, DHLEN);
			break;
		case T_S:
			n = sealed_len(hs, DHLEN);
			if (mlen - off < n)
				return -1;
			if (decrypt_and_hash(hs, msg + off, n, hs->rs) == -1)
				return -1;
			hs->has_rs = true;
			off += n;
			break;
		case T_PSK:
			if (!hs->has_psk)
				return -1;
			mix_key_and_hash(hs, hs->psk, sizeof(hs->psk));
			break;
		default:
			if (mix_dh(hs, *t) == -1)
				return -1;
			break;
		}
	}
	n = mlen - off;
	if (n < sealed_len(hs, 0) || n - sealed_len(hs, 0) > pcap)
		return -1;
	if (decrypt_and_hash(hs, msg + off, n, payload) == -1)
		return -1;
	*plen = n - sealed_len(hs, 0);
	hs->msg_index++;
	return 0;
}

/*
 * Write the next handshake message carrying payload into out. The work is done on a copy so
 * that a refused write (no psk yet, small buffer) leaves the state as it was.
 */
int
noise_write_message(struct noise_hs *hs, const uint8_t *payload, size_t plen, uint8_t *out,
    size_t outcap, size_t *outlen)
{
	struct noise_hs tmp = *hs;
	int ret;

	ret = write_message(&tmp, payload, plen, out, outcap, outlen);
	if (ret == 0)
		*hs = tmp;
	noise_wipe(&tmp);
	return ret;
}

/* Read the next handshake message into payload; on failure the state is left unchanged. */
int
noise_read_message(struct noise_hs *hs, const uint8_t *msg, size_t mlen, uint8_t *payload,
    size_t pcap, size_t *plen)
{
	struct noise_hs tmp = *hs;
	int ret;

	ret = read_message(&tmp, msg, mlen, payload, pcap, plen);
	if (ret == 0)
		*hs = tmp;
	noise_wipe(&tmp);
	return ret;
}

/* True once every message of the pattern has been written or read. */
bool
noise_complete(const struct noise_hs *hs)
{
	return valid_pattern(hs->pattern) && hs->msg_index >= patterns[hs->pattern].nmsgs;
}

/* The remote static key, once known (NULL before). */
const uint8_t *
noise_remote_static(const struct noise_hs *hs)
{
	return hs->has_rs ? hs->rs : NULL;
}

/* Split(): (k1, k2) = HKDF(ck, empty, 2); then forget what could rebuild them. */
void
noise_split(struct noise_hs *hs, uint8_t k_i2r[32], uint8_t k_r2i[32])
{
	crypto_hkdf(hs->ck, NULL, 0, k_i2r, k_r2i, NULL);
	crypto_wipe(hs->ck, sizeof(hs->ck));
	crypto_wipe(&hs->cs, sizeof(hs->cs));
	crypto_wipe(hs->e_priv, sizeof(hs->e_priv));
	hs->has_e = false;
}

/* The handshake hash (channel binding). */
const uint8_t *
noise_handshake_hash(const struct noise_hs *hs)
{
	return hs->h;
}

/* Wipe every secret in the state. */
void
noise_wipe(struct noise_hs *hs)
{
	crypto_wipe(hs, sizeof(*hs));
}
