/*
 * cookie.c - mac1/mac2 on handshake messages, cookie replies and the per-source handshake rate
 * limiter (construction in cookie.h; the shape is WireGuard's, section 5.4.4 and 5.4.7 of its
 * paper). Pure: the clock is an argument, randomness comes from crypto_random.
 */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "cookie.h"
#include "crypto.h"
#include "wire.h"

#define MAC_LEN WIRE_MAC_LEN
#define MACS_LEN (2 * WIRE_MAC_LEN)
#define ADDR_BYTES_MAX (16 + 2) /* IPv6 address and port */

/* Offsets inside a cookie reply. */
#define REPLY_RECEIVER 4
#define REPLY_NONCE 8
#define REPLY_SEALED (REPLY_NONCE + WIRE_COOKIE_NONCE_LEN)

/* Derive a 32-byte key as SHA256(label || pub); labels are 8 bytes, as in WireGuard. */
static void
derive_key(uint8_t out[32], const char label[8], const uint8_t pub[32])
{
	crypto_sha256(out, (const uint8_t *)label, 8, pub, 32);
}

/* First 16 bytes of HMAC-SHA256(key, data). */
static void
mac16(uint8_t out[MAC_LEN], const uint8_t *key, size_t keylen, const uint8_t *data, size_t len)
{
	uint8_t full[32];

	crypto_hmac(full, key, keylen, data, len);
	memcpy(out, full, MAC_LEN);
	crypto_wipe(full, sizeof(full));
}

/*
 * The bytes a cookie is bound to: the address and the port in network order. Returns their
 * length, 0 for a family we cannot bind to (such a source never earns a valid mac2).
 */
static size_t
addr_bytes(const struct sockaddr *src, socklen_t srclen, uint8_t out[ADDR_BYTES_MAX])
{
	if (src == NULL)
		return 0;
	if (src->sa_family == AF_INET && srclen >= (socklen_t)sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *sin = (const void *)src;

		memcpy(out, &sin->sin_addr, 4);
		memcpy(out + 4, &sin->sin_port, 2);
		return 6;
	}
	if (src->sa_family == AF_INET6 && srclen >= (socklen_t)sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *sin6 = (const void *)src;

		memcpy(out, &sin6->sin6_addr, 16);
		memcpy(out + 16, &sin6->sin6_port, 2);
		return 18;
	}
	return 0;
}

/* Replace the secret when it is missing or older than its lifetime (or the clock went back). */
static void
refresh_secret(struct cookie_checker *c, uint64_t now)
{
	if (c->has_secret && now >= c->secret_birth &&
	    now - c->secret_birth < COOKIE_SECRET_LIFETIME)
		return;
	crypto_random(c->secret, sizeof(c->secret));
	c->secret_birth = now;
	c->has_secret = true;
}

/* The cookie for src under the current secret; false if src cannot carry one. */
static bool
make_cookie(struct cookie_checker *c, const struct sockaddr *src, socklen_t srclen,
    uint64_t now, uint8_t cookie[COOKIE_LEN])
{
	uint8_t a[ADDR_BYTES_MAX];
	size_t alen;

	refresh_secret(c, now);
	alen = addr_bytes(src, srclen, a);
	mac16(cookie, c->secret, sizeof(c->secret), a, alen);
	return alen > 0;
}

/* Prepare a checker for messages sent to the holder of our_pub. */
void
cookie_checker_init(struct cookie_checker *c, const uint8_t our_pub[32])
{
	memset(c, 0, sizeof(*c));
	derive_key(c->mac1_key, "mac1----", our_pub);
	derive_key(c->reply_key, "cookie--", our_pub);
	/* The secret is drawn on first use, so an idle daemon never holds one. */
}

/* Check mac1 (always) and mac2 (against the cookie src would hold now). */
bool
cookie_mac1_ok(const struct cookie_checker *c, const uint8_t *msg, size_t len)
{
	uint8_t mac[MAC_LEN];

	if (len < MACS_LEN)
		return false;
	mac16(mac, c->mac1_key, sizeof(c->mac1_key), msg, len - MACS_LEN);
	return crypto_equal(mac, msg + len - MACS_LEN, MAC_LEN);
}

enum cookie_result
cookie_validate(struct cookie_checker *c, const uint8_t *msg, size_t len,
    const struct sockaddr *src, socklen_t srclen, uint64_t now)
{
	uint8_t mac[MAC_LEN], cookie[COOKIE_LEN];
	enum cookie_result ret = COOKIE_BAD_MAC1;

	if (!cookie_mac1_ok(c, msg, len))
		goto out;
	ret = COOKIE_MAC1_OK;
	if (!make_cookie(c, src, srclen, now, cookie))
		goto out;
	mac16(mac, cookie, sizeof(cookie), msg, len - MAC_LEN);
	if (crypto_equal(mac, msg + len - MAC_LEN, MAC_LEN))
		ret = COOKIE_MAC2_OK;
out:
	crypto_wipe(cookie, sizeof(cookie));
	return ret;
}

/* Seal the cookie for src into a WIRE_COOKIE reply bound (AD) to the mac1 of msg. */
void
cookie_make_reply(struct cookie_checker *c, const uint8_t *msg, size_t len,
    uint32_t receiver, const struct sockaddr *src, socklen_t srclen, uint64_t now,
    uint8_t *out)
{
	uint8_t cookie[COOKIE_LEN];

	/* The reply is always sealed with AES-256-GCM, hence suite 0 in the header. */
	wire_put_header(out, WIRE_COOKIE, WIRE_SUITE_AESGCM);
	wire_put32(out + REPLY_RECEIVER, receiver);
	crypto_random(out + REPLY_NONCE, WIRE_COOKIE_NONCE_LEN);
	(void)make_cookie(c, src, srclen, now, cookie);
	if (len < MACS_LEN ||
	    crypto_seal_nonce(c->reply_key, out + REPLY_NONCE, msg + len - MACS_LEN, MAC_LEN,
	        cookie, COOKIE_LEN, out + REPLY_SEALED) == -1) {
		/* Unreachable in practice; a zeroed reply is dropped by the other side. */
		memset(out, 0, WIRE_COOKIE_LEN);
	}
	crypto_wipe(cookie, sizeof(cookie));
}

/* Prepare a maker for messages sent to the holder of peer_pub. */
void
cookie_maker_init(struct cookie_maker *m, const uint8_t peer_pub[32])
{
	memset(m, 0, sizeof(*m));
	derive_key(m->mac1_key, "mac1----", peer_pub);
	derive_key(m->reply_key, "cookie--", peer_pub);
}

/* Fill mac1 and mac2 at the end of msg; mac2 is zero unless we hold a fresh cookie. */
void
cookie_add_macs(struct cookie_maker *m, uint8_t *msg, size_t len, uint64_t now)
{
	uint8_t *mac1, *mac2;

	if (len < MACS_LEN)
		return;
	mac1 = msg + len - MACS_LEN;
	mac2 = msg + len - MAC_LEN;
	mac16(mac1, m->mac1_key, sizeof(m->mac1_key), msg, len - MACS_LEN);
	memcpy(m->last_mac1, mac1, MAC_LEN);
	m->has_last_mac1 = true;

	if (m->has_cookie && (now < m->cookie_birth || now - m->cookie_birth >= COOKIE_VALIDITY)) {
		/* Expired: the responder has rotated its secret by now. */
		crypto_wipe(m->cookie, sizeof(m->cookie));
		m->has_cookie = false;
	}
	if (m->has_cookie)
		mac16(mac2, m->cookie, sizeof(m->cookie), msg, len - MAC_LEN);
	else
		memset(mac2, 0, MAC_LEN);
}

/* Open a cookie reply to our last message; the cookie is used from the next message on. */
int
cookie_consume_reply(struct cookie_maker *m, const uint8_t *reply, size_t len, uint64_t now)
{
	uint8_t cookie[COOKIE_LEN];
	int ret = -1;

	/* Byte 2 is not authenticated: accept only the value we send, so no bit is malleable. */
	if (!m->has_last_mac1 || len != WIRE_COOKIE_LEN ||
	    wire_classify(reply, len) != WIRE_COOKIE || reply[2] != WIRE_SUITE_AESGCM)
		goto out;
	if (crypto_open_nonce(m->reply_key, reply + REPLY_NONCE, m->last_mac1, MAC_LEN,
	        reply + REPLY_SEALED, COOKIE_LEN + WIRE_TAG_LEN, cookie) == -1)
		goto out;
	memcpy(m->cookie, cookie, COOKIE_LEN);
	m->cookie_birth = now;
	m->has_cookie = true;
	/* One reply per message: a copy replayed later cannot refresh the cookie. */
	m->has_last_mac1 = false;
	ret = 0;
out:
	crypto_wipe(cookie, sizeof(cookie));
	return ret;
}

/* Wipe the keys and the secret of a checker. */
void
cookie_checker_wipe(struct cookie_checker *c)
{
	crypto_wipe(c, sizeof(*c));
}

/* Wipe the keys and the cookie of a maker. */
void
cookie_maker_wipe(struct cookie_maker *m)
{
	crypto_wipe(m, sizeof(*m));
}

/*
 * Rate limiter. Tokens are counted in thousandths so that the refill (RATE per second) is an
 * integer per millisecond; one handshake costs RL_COST.
 */
#define RL_COST 1000u
#define RL_MAX ((uint64_t)RATELIMIT_BURST * RL_COST)
#define RL_PROBE 8      /* slots looked at per source: bounds the work an attacker can cause */
#define RL_IDLE 1000    /* ms without a packet after which a slot may go to another source */

_Static_assert((RATELIMIT_TABLE & (RATELIMIT_TABLE - 1)) == 0, "table size is a power of 2");

struct rl_entry {
	uint64_t last;   /* ms of the last packet from this source */
	uint64_t tokens; /* thousandths of a token */
	uint8_t family;  /* 0 = free slot */
	uint8_t addr[16];
};

struct ratelimit {
	uint64_t key[2]; /* SipHash key, random per limiter: sources cannot aim at one chain */
	struct rl_entry table[RATELIMIT_TABLE];
};

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

static void
sip_round(uint64_t v[4])
{
	v[0] += v[1];
	v[1] = ROTL(v[1], 13);
	v[1] ^= v[0];
	v[0] = ROTL(v[0], 32);
	v[2] += v[3];
	v[3] = ROTL(v[3], 16);
	v[3] ^= v[2];
	v[0] += v[3];
	v[3] = ROTL(v[3], 21);
	v[3] ^= v[0];
	v[2] += v[1];
	v[1] = ROTL(v[1], 17);
	v[1] ^= v[2];
	v[2] = ROTL(v[2], 32);
}

/* SipHash-2-4 (Aumasson and Bernstein, 2012): a keyed hash cheap enough for every handshake,
 * without allocation (the HMAC of crypto.c allocates a context per call). */
static uint64_t
siphash(const uint64_t key[2], const uint8_t *p, size_t len)
{
	uint64_t v[4] = {
		key[0] ^ UINT64_C(0x736f6d6570736575), key[1] ^ UINT64_C(0x646f72616e646f6d),
		key[0] ^ UINT64_C(0x6c7967656e657261), key[1] ^ UINT64_C(0x7465646279746573),
	};
	uint64_t m;
	size_t i, left = len & 7;
	int r;

	for (i = 0; i + 8 <= len; i += 8) {
		m = 0;
		for (r = 7; r >= 0; r--)
			m = m << 8 | p[i + (size_t)r];
		v[3] ^= m;
		sip_round(v);
		sip_round(v);
		v[0] ^= m;
	}
	m = (uint64_t)(len & 0xff) << 56;
	for (r = (int)left - 1; r >= 0; r--)
		m |= (uint64_t)p[i + (size_t)r] << (8 * r);
	v[3] ^= m;
	sip_round(v);
	sip_round(v);
	v[0] ^= m;
	v[2] ^= 0xff;
	for (r = 0; r < 4; r++)
		sip_round(v);
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}

/* Allocate a limiter with a fresh hash key (start-up only); NULL without memory. */
struct ratelimit *
ratelimit_new(void)
{
	struct ratelimit *rl;

	if ((rl = calloc(1, sizeof(*rl))) == NULL)
		return NULL;
	crypto_random(rl->key, sizeof(rl->key));
	return rl;
}

/* Free a limiter; NULL is fine. */
void
ratelimit_free(struct ratelimit *rl)
{
	if (rl == NULL)
		return;
	crypto_wipe(rl->key, sizeof(rl->key));
	free(rl);
}

/* Take a token from the bucket of src's address; false if it is empty or has no slot. */
bool
ratelimit_allow(struct ratelimit *rl, const struct sockaddr *src, socklen_t srclen,
    uint64_t now)
{
	uint8_t buf[17], family;
	struct rl_entry *e, *match = NULL, *spare = NULL;
	struct addr_source as;
	uint64_t h, elapsed;
	size_t i;

	if (!addr_source_of(src, srclen, &as))
		return false; /* fail closed: we cannot tell such sources apart */
	family = as.family;
	buf[0] = family;
	memcpy(buf + 1, as.addr, 16);
	h = siphash(rl->key, buf, sizeof(buf));
	for (i = 0; i < RL_PROBE; i++) {
		e = &rl->table[(h + i) & (RATELIMIT_TABLE - 1)];
		if (e->family == family && memcmp(e->addr, buf + 1, 16) == 0) {
			match = e;
			break;
		}
		if (spare == NULL &&
		    (e->family == 0 || (now >= e->last && now - e->last > RL_IDLE)))
			spare = e;
	}
	if (match == NULL) {
		if (spare == NULL)
			return false; /* every slot on the chain is busy: fail closed */
		/* A new source starts with a full bucket, minus this packet. */
		spare->family = family;
		memcpy(spare->addr, buf + 1, 16);
		spare->tokens = RL_MAX - RL_COST;
		spare->last = now;
		return true;
	}
	e = match;
	elapsed = now > e->last ? now - e->last : 0;
	if (elapsed >= RL_MAX / RATELIMIT_RATE)
		e->tokens = RL_MAX;
	else if ((e->tokens += elapsed * RATELIMIT_RATE) > RL_MAX)
		e->tokens = RL_MAX;
	if (now > e->last)
		e->last = now;
	if (e->tokens < RL_COST)
		return false;
	e->tokens -= RL_COST;
	return true;
}
