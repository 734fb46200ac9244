/* test_offload.c - TSO/USO split and GRO coalescing on packets built and checksummed here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "offload.h"

#define FIN 0x01
#define SYN 0x02
#define RST 0x04
#define PSH 0x08
#define ACK 0x10
#define URG 0x20
#define CWR 0x80

#define GSO_TCPV4 VIRTIO_NET_HDR_GSO_TCPV4
#define GSO_TCPV6 VIRTIO_NET_HDR_GSO_TCPV6
#define GSO_UDP_L4 VIRTIO_NET_HDR_GSO_UDP_L4

/* ---- bytes ------------------------------------------------------------------------------- */

static uint16_t
rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t
rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void
wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* A small deterministic generator, so that a failure is reproducible. */
static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint32_t
rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 16);
}

static uint32_t
rnd_below(uint32_t n)
{
	return n == 0 ? 0 : rnd() % n;
}

/* ---- the reference checksum: RFC 1071, big-endian 16-bit words, an odd last byte padded --- */

static uint64_t
ref_sum(const uint8_t *p, size_t len, uint64_t s)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		s += (uint64_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		s += (uint64_t)p[len - 1] << 8;
	return s;
}

static uint16_t
ref_fold(uint64_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* ---- packets ----------------------------------------------------------------------------- */

enum { CS_FULL, CS_PSEUDO, CS_BAD, CS_ZERO };

/* A packet to build. */
struct spec {
	bool v6, udp, tap, vlan;
	uint8_t ip4opt[40];
	size_t ip4optlen;  /* a multiple of 4 */
	size_t ext;        /* IPv6 extension headers: 0, 8 (hop-by-hop) or 24 (+ destination) */
	bool v6frag;       /* an IPv6 fragment header in front of L4 */
	uint8_t tcpopt[40];
	size_t tcpoptlen;  /* a multiple of 4 */
	uint8_t flags;
	uint32_t seq, ack;
	uint16_t win, id, sport, dport, frag;
	uint8_t tos, ttl;
	uint32_t flowlabel;
	bool df;
	const uint8_t *payload;
	size_t plen;
	int csum;          /* CS_*: the L4 checksum field */
	bool badip;        /* a wrong IPv4 header checksum */
	uint8_t mac_xor;   /* into the last byte of the source MAC */
	uint8_t src_xor, dst_xor; /* into the last byte of the source, destination address */
	size_t pad;        /* zero bytes behind the IP packet */
};

/* A built packet and its layout. */
struct pkt {
	size_t len, l3, l4, hlen;
	bool v6, udp, tap;
	uint8_t b[OFF_FRAME_MAX + 64];
};

static uint8_t payload[70000];

static struct pkt *
pkt_new(void)
{
	struct pkt *k = calloc(1, sizeof(*k));

	assert_non_null(k);
	return k;
}

static struct pkt **
pkts_new(int n)
{
	struct pkt **v = calloc((size_t)n, sizeof(*v));

	assert_non_null(v);
	for (int i = 0; i < n; i++)
		v[i] = pkt_new();
	return v;
}

static void
pkts_free(struct pkt **v, int n)
{
	for (int i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static uint64_t
ref_pseudo(const uint8_t *f, const struct pkt *k, size_t l4len)
{
	uint64_t s = k->v6 ? ref_sum(f + k->l3 + 8, 32, 0) : ref_sum(f + k->l3 + 12, 8, 0);

	return s + (k->udp ? 17u : 6u) + (l4len >> 16) + (l4len & 0xffff);
}

/* Whether f (laid out as k, its L4 packet ending at end) has a valid L4 checksum. */
static bool
ref_l4_ok(const uint8_t *f, size_t end, const struct pkt *k)
{
	size_t l4len = end - k->l4;

	return ref_fold(ref_sum(f + k->l4, l4len, ref_pseudo(f, k, l4len))) == 0xffff;
}

static bool
ref_ip4_ok(const uint8_t *ip, size_t ihl)
{
	return ref_fold(ref_sum(ip, ihl, 0)) == 0xffff;
}

static void
ref_ip4_set(uint8_t *ip, size_t ihl)
{
	ip[10] = ip[11] = 0;
	wr16(ip + 10, (uint16_t)~ref_fold(ref_sum(ip, ihl, 0)));
}

static size_t
csum_off(const struct pkt *k)
{
	return k->udp ? 6 : 16;
}

/* Fill f's L4 checksum field (f laid out as k, the IP packet ending at end). */
static void
ref_l4_set(uint8_t *f, size_t end, const struct pkt *k, int mode)
{
	size_t l4len = end - k->l4;
	uint8_t *c = f + k->l4 + csum_off(k);
	uint16_t v;

	c[0] = c[1] = 0;
	switch (mode) {
	case CS_PSEUDO:
		v = ref_fold(ref_pseudo(f, k, l4len));
		break;
	case CS_ZERO:
		v = 0;
		break;
	default:
		v = (uint16_t)~ref_fold(ref_sum(f + k->l4, l4len, ref_pseudo(f, k, l4len)));
		if (v == 0 && k->udp)
			v = 0xffff;
		if (mode == CS_BAD)
			v ^= 0x00ff; /* never the same value in ones' complement */
		break;
	}
	wr16(c, v);
}

static void
spec_init(struct spec *s, bool v6, bool udp)
{
	memset(s, 0, sizeof(*s));
	s->v6 = v6;
	s->udp = udp;
	s->flags = ACK;
	s->seq = 0xfffff000u; /* wraps within a few segments */
	s->ack = 0x01020304;
	s->win = 0x2000;
	s->id = 0xfffe;       /* wraps too */
	s->sport = 40000;
	s->dport = 5001;
	s->tos = 0x10;
	s->ttl = 64;
	s->flowlabel = 0x12345;
	s->df = true;
	s->payload = payload;
	s->plen = 1000;
	s->csum = CS_FULL;
}

/* TCP timestamps: NOP NOP TS(tsval, tsecr). */
static void
spec_ts(struct spec *s, uint32_t tsval)
{
	uint8_t o[12] = { 1, 1, 8, 10 };

	wr32(o + 4, tsval);
	wr32(o + 8, 0xa1b2c3d4);
	memcpy(s->tcpopt, o, sizeof(o));
	s->tcpoptlen = sizeof(o);
}

static void
build(const struct spec *s, struct pkt *k)
{
	static const uint8_t mac[12] = { 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2 };
	uint8_t *b = k->b;
	size_t o = 0, end;
	uint8_t *next;

	memset(b, 0, sizeof(k->b));
	k->v6 = s->v6;
	k->udp = s->udp;
	k->tap = s->tap;
	if (s->tap) {
		memcpy(b, mac, 12);
		b[11] ^= s->mac_xor;
		o = 12;
		if (s->vlan) {
			wr16(b + o, 0x8100);
			wr16(b + o + 2, 0x2005);
			o += 4;
		}
		wr16(b + o, s->v6 ? 0x86dd : 0x0800);
		o += 2;
	}
	k->l3 = o;
	if (!s->v6) {
		size_t ihl = 20 + s->ip4optlen;

		b[o] = (uint8_t)(0x40 | ihl / 4);
		b[o + 1] = s->tos;
		wr16(b + o + 4, s->id);
		wr16(b + o + 6, (uint16_t)((s->df ? 0x4000 : 0) | s->frag));
		b[o + 8] = s->ttl;
		b[o + 9] = s->udp ? 17 : 6;
		memcpy(b + o + 12, "\x0a\x00\x00\x01\xc0\xa8\x07\xfe", 8);
		b[o + 15] ^= s->src_xor;
		b[o + 19] ^= s->dst_xor;
		memcpy(b + o + 20, s->ip4opt, s->ip4optlen);
		k->l4 = o + ihl;
	} else {
		size_t p = o + 40;

		b[o] = (uint8_t)(0x60 | s->tos >> 4);
		b[o + 1] = (uint8_t)(s->tos << 4 | (s->flowlabel >> 16 & 15));
		wr16(b + o + 2, (uint16_t)s->flowlabel);
		b[o + 7] = s->ttl;
		memset(b + o + 8, 0, 32); /* fd00::1 -> fd00:0:0:7::beef */
		b[o + 8] = b[o + 24] = 0xfd;
		b[o + 23] = 1;
		b[o + 31] = 7;
		b[o + 38] = 0xbe;
		b[o + 39] = 0xef;
		b[o + 23] ^= s->src_xor;
		b[o + 39] ^= s->dst_xor;
		next = b + o + 6;
		if (s->ext >= 8) { /* hop-by-hop: PadN of 4 */
			*next = 0;
			next = b + p;
			b[p + 1] = 0;
			b[p + 2] = 1;
			b[p + 3] = 4;
			p += 8;
		}
		if (s->ext >= 24) { /* destination options, 16 bytes: PadN of 12 */
			*next = 60;
			next = b + p;
			b[p + 1] = 1;
			b[p + 2] = 1;
			b[p + 3] = 12;
			p += 16;
		}
		if (s->v6frag) { /* first fragment, more to come */
			*next = 44;
			next = b + p;
			wr16(b + p + 2, 1);
			wr32(b + p + 4, 0x55667788);
			p += 8;
		}
		*next = s->udp ? 17 : 6;
		k->l4 = p;
	}
	o = k->l4;
	if (s->udp) {
		wr16(b + o, s->sport);
		wr16(b + o + 2, s->dport);
		k->hlen = o + 8;
	} else {
		wr16(b + o, s->sport);
		wr16(b + o + 2, s->dport);
		wr32(b + o + 4, s->seq);
		wr32(b + o + 8, s->ack);
		b[o + 12] = (uint8_t)((20 + s->tcpoptlen) / 4 << 4);
		b[o + 13] = s->flags;
		wr16(b + o + 14, s->win);
		memcpy(b + o + 20, s->tcpopt, s->tcpoptlen);
		k->hlen = o + 20 + s->tcpoptlen;
	}
	memcpy(b + k->hlen, s->payload, s->plen);
	end = k->hlen + s->plen;
	if (s->udp)
		wr16(b + k->l4 + 4, (uint16_t)(end - k->l4));
	if (s->v6) {
		wr16(b + k->l3 + 4, (uint16_t)(end - k->l3 - 40));
	} else {
		wr16(b + k->l3 + 2, (uint16_t)(end - k->l3));
		ref_ip4_set(b + k->l3, k->l4 - k->l3);
		if (s->badip)
			b[k->l3 + 11] ^= 0x40;
	}
	ref_l4_set(b, end, k, s->csum);
	k->len = end + s->pad;
	assert_true(k->len <= OFF_FRAME_MAX);
}

static void
copy_pkt(struct pkt *d, const struct pkt *k)
{
	d->len = k->len;
	d->l3 = k->l3;
	d->l4 = k->l4;
	d->hlen = k->hlen;
	d->v6 = k->v6;
	d->udp = k->udp;
	d->tap = k->tap;
	memcpy(d->b, k->b, k->len);
}

/* The vnet header the kernel gives a super-packet k cut in gso-byte pieces; like the kernel,
 * it leaves the pseudo-header sum of the whole length in k's checksum field (NEEDS_CSUM). */
static struct virtio_net_hdr
vnet_for(struct pkt *k, size_t gso)
{
	struct virtio_net_hdr h;

	ref_l4_set(k->b, k->len, k, CS_PSEUDO);
	memset(&h, 0, sizeof(h));
	h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h.gso_type = k->udp ? GSO_UDP_L4 : k->v6 ? GSO_TCPV6 : GSO_TCPV4;
	h.gso_size = (uint16_t)gso;
	h.hdr_len = (uint16_t)k->hlen;
	h.csum_start = (uint16_t)k->l4;
	h.csum_offset = (uint16_t)csum_off(k);
	return h;
}

/* ---- checksum ---------------------------------------------------------------------------- */

/* off_csum's folded sum stored as it is (native order) must be the reference's big-endian sum. */
static uint16_t
off_sum_be(const uint8_t *p, size_t len)
{
	uint16_t c = off_csum_fold(off_csum_add(p, len, 0));
	uint8_t b[2];

	memcpy(b, &c, 2);
	return rd16(b);
}

static void
test_csum_random(void **state)
{
	static uint8_t buf[2100 + 16];

	for (int round = 0; round < 3000; round++) {
		size_t len = rnd_below(2001), at = rnd_below(16);

		for (size_t i = 0; i < len; i++)
			buf[at + i] = (uint8_t)rnd();
		if (off_sum_be(buf + at, len) != ref_fold(ref_sum(buf + at, len, 0)))
			fail_msg("len %zu at +%zu: %04x, want %04x", len, at,
			    off_sum_be(buf + at, len), ref_fold(ref_sum(buf + at, len, 0)));
	}
}

/* Every length 0..300 at every start 0..7, and chained sums (even pieces, the last odd). */
static void
test_csum_lengths_and_chains(void **state)
{
	static uint8_t buf[4096];

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)rnd();
	for (size_t at = 0; at < 8; at++)
		for (size_t len = 0; len <= 300; len++)
			assert_int_equal(off_sum_be(buf + at, len),
			    ref_fold(ref_sum(buf + at, len, 0)));
	for (int round = 0; round < 2000; round++) {
		size_t at = rnd_below(8), len = rnd_below(2001), pos = 0;
		uint64_t s = 0;
		uint16_t c;
		uint8_t b[2];

		while (pos < len) {
			size_t n = 2 * (1 + rnd_below(40));

			if (n > len - pos)
				n = len - pos; /* the last piece may be odd */
			s = off_csum_add(buf + at + pos, n, s);
			pos += n;
		}
		c = off_csum_fold(s);
		memcpy(b, &c, 2);
		assert_int_equal(rd16(b), ref_fold(ref_sum(buf + at, len, 0)));
	}
}

/* Carries: all-ones and near-ones buffers, long ones, and the fold of extreme sums. */
static void
test_csum_carries(void **state)
{
	static uint8_t buf[65536 + 8];

	memset(buf, 0xff, sizeof(buf));
	for (size_t len = 0; len < 70; len++)
		assert_int_equal(off_sum_be(buf + 1, len), ref_fold(ref_sum(buf + 1, len, 0)));
	assert_int_equal(off_sum_be(buf, 65536), 0xffff);
	assert_int_equal(off_sum_be(buf + 3, 65535), ref_fold(ref_sum(buf + 3, 65535, 0)));
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i & 1 ? 0x01 : 0xfe); /* sums to multiples of 0xffff */
	for (size_t len = 0; len < 200; len++)
		assert_int_equal(off_sum_be(buf, len), ref_fold(ref_sum(buf, len, 0)));
	memset(buf, 0, 64);
	assert_int_equal(off_sum_be(buf, 64), 0);
	assert_int_equal(off_csum_fold(0), 0);
	assert_int_equal(off_csum_fold(UINT64_MAX), 0xffff);
	assert_int_equal(off_csum_fold(0xffff), 0xffff);
	assert_int_equal(off_csum_fold(0x10000), 1);
	assert_int_equal(off_csum_fold(UINT64_C(0x0001000000000000)), 1);
	assert_int_equal(off_csum_fold(UINT64_C(0x123456789abcdef0)),
	    ref_fold(UINT64_C(0x1234) + 0x5678 + 0x9abc + 0xdef0));
}

/* ---- split ------------------------------------------------------------------------------- */

/* Segment i of k (of nseg, gso bytes each) in seg[0..n): everything the NIC would write. */
static void
check_segment(const struct pkt *k, const uint8_t *seg, size_t n, int i, int nseg, size_t gso)
{
	size_t plen = k->len - k->hlen, off = (size_t)i * gso;
	size_t want = plen - off < gso ? plen - off : gso;
	const uint8_t *ip = seg + k->l3, *oip = k->b + k->l3;
	const uint8_t *th = seg + k->l4, *oth = k->b + k->l4;

	assert_int_equal(n, k->hlen + want);
	assert_memory_equal(seg, k->b, k->l3);
	if (!k->v6) {
		size_t ihl = k->l4 - k->l3;

		assert_int_equal(rd16(ip + 2), n - k->l3);
		assert_int_equal(rd16(ip + 4), (uint16_t)(rd16(oip + 4) + i));
		assert_true(ref_ip4_ok(ip, ihl));
		assert_memory_equal(ip, oip, 2);
		assert_memory_equal(ip + 6, oip + 6, 4);
		assert_memory_equal(ip + 12, oip + 12, ihl - 12);
	} else {
		assert_int_equal(rd16(ip + 4), n - k->l3 - 40);
		assert_memory_equal(ip, oip, 4);
		assert_memory_equal(ip + 6, oip + 6, k->l4 - k->l3 - 6);
	}
	assert_memory_equal(th, oth, 4);
	if (!k->udp) {
		uint8_t flags = oth[13];

		assert_int_equal(rd32(th + 4), (uint32_t)(rd32(oth + 4) + (uint32_t)off));
		assert_memory_equal(th + 8, oth + 8, 5);
		if (i != nseg - 1)
			flags &= (uint8_t)~(FIN | PSH);
		if (i != 0)
			flags &= (uint8_t)~CWR;
		assert_int_equal(th[13], flags);
		assert_memory_equal(th + 14, oth + 14, 2);
		assert_memory_equal(th + 18, oth + 18, k->hlen - k->l4 - 18);
	} else {
		assert_int_equal(rd16(th + 4), n - k->l4);
		assert_int_not_equal(rd16(th + 6), 0);
	}
	if (!ref_l4_ok(seg, n, k))
		fail_msg("segment %d of %d: bad L4 checksum", i, nseg);
	assert_memory_equal(seg + k->hlen, k->b + k->hlen + off, want);
}

static uint8_t segbuf[OFF_FRAME_MAX + 64];
static uint8_t catbuf[70000];

/* Plan and cut k read with h; check every segment and their payloads put back together. The
 * segments, if segs: segs[i] (tun: without k's L2 header). Returns the number of segments. */
static int
check_split(const struct pkt *k, const struct virtio_net_hdr *h, struct pkt **segs)
{
	size_t gso = h->gso_size, plen = k->len - k->hlen;
	int nseg = (int)((plen + gso - 1) / gso);
	struct off_split sp;
	int rc = off_split_plan(k->b, k->len, h, k->tap, &sp);

	assert_int_equal(rc, nseg);
	assert_int_equal(sp.nseg, nseg);
	for (int i = 0; i < nseg; i++) {
		size_t off = (size_t)i * gso, n;
		size_t want = k->hlen + (plen - off < gso ? plen - off : gso);

		/* One byte too few: nothing written at or past the cap. */
		memset(segbuf, 0xa5, sizeof(segbuf));
		assert_int_equal(off_split_segment(&sp, k->b, i, segbuf, want - 1), 0);
		for (size_t j = want - 1; j < want + 64; j++)
			assert_int_equal(segbuf[j], 0xa5);
		n = off_split_segment(&sp, k->b, i, segbuf, want);
		assert_int_equal(n, want);
		check_segment(k, segbuf, n, i, nseg, gso);
		memcpy(catbuf + off, segbuf + k->hlen, n - k->hlen);
		if (segs != NULL) {
			segs[i]->l3 = k->l3;
			segs[i]->l4 = k->l4;
			segs[i]->hlen = k->hlen;
			segs[i]->v6 = k->v6;
			segs[i]->udp = k->udp;
			segs[i]->tap = k->tap;
			segs[i]->len = n;
			memcpy(segs[i]->b, segbuf, n);
		}
	}
	assert_memory_equal(catbuf, k->b + k->hlen, plen);
	return nseg;
}

static void
split_case(struct spec *s, size_t gso, int want_nseg)
{
	struct pkt *k = pkt_new();
	struct virtio_net_hdr h;

	build(s, k);
	h = vnet_for(k, gso);
	assert_int_equal(check_split(k, &h, NULL), want_nseg);
	free(k);
}

static void
test_split_tcp4(void **state)
{
	struct spec s;

	spec_init(&s, false, false);
	s.flags = ACK | PSH | FIN | CWR;
	s.plen = 4001; /* 1448 * 2 + 1105: an odd tail */
	split_case(&s, 1448, 3);
	s.plen = 1448 * 4; /* an exact multiple */
	split_case(&s, 1448, 4);
	s.plen = 1; /* one byte: one segment */
	split_case(&s, 1448, 1);
	s.plen = 1448; /* exactly one segment */
	split_case(&s, 1448, 1);
	s.plen = 65535 - 40; /* the largest, in segments of 1 byte ... */
	split_case(&s, 1000, 66);
	s.plen = 301;
	split_case(&s, 1, 301); /* ... and of one byte each */
	/* timestamps; the ECN bit in the GSO type; no DF, nonzero TOS */
	spec_ts(&s, 0x11223344);
	s.df = false;
	s.plen = 5000;
	s.flags = ACK | CWR;
	{
		struct pkt *k = pkt_new();
		struct virtio_net_hdr h;

		build(&s, k);
		h = vnet_for(k, 1436);
		h.gso_type |= VIRTIO_NET_HDR_GSO_ECN;
		assert_int_equal(check_split(k, &h, NULL), 4);
		free(k);
	}
	/* IPv4 options */
	memcpy(s.ip4opt, "\x01\x01\x01\x00\x94\x04\x00\x00", 8); /* NOPs, EOL; router alert */
	s.ip4optlen = 8;
	s.plen = 3333;
	split_case(&s, 1000, 4);
}

static void
test_split_tcp6(void **state)
{
	struct spec s;

	spec_init(&s, true, false);
	s.flags = ACK | PSH;
	s.plen = 9000;
	split_case(&s, 1428, 7);
	spec_ts(&s, 7);
	s.plen = 1416 * 5;
	split_case(&s, 1416, 5);
	s.plen = 65535 - 40 - 20 - 12; /* 65535 bytes of IP packet, the most the kernel sends */
	split_case(&s, 8948, 8);
	/* hop-by-hop, then destination options */
	s.ext = 8;
	s.plen = 4000;
	split_case(&s, 1400, 3);
	s.ext = 24;
	split_case(&s, 1400, 3);
	s.tcpoptlen = 0;
	s.plen = 2801;
	split_case(&s, 1400, 3);
}

static void
test_split_udp(void **state)
{
	struct spec s;

	spec_init(&s, false, true);
	s.plen = 1200 * 3 + 7;
	split_case(&s, 1200, 4);
	s.plen = 1200 * 3;
	split_case(&s, 1200, 3);
	s.plen = 65535 - 28;
	split_case(&s, 1472, 45);
	spec_init(&s, true, true);
	s.plen = 5000;
	split_case(&s, 1232, 5);
	s.ext = 24;
	split_case(&s, 1232, 5);
	/* a first datagram whose checksum comes out 0: it must be sent as 0xffff */
	for (int v6 = 0; v6 < 2; v6++) {
		static uint8_t pl[3000];
		struct pkt *k = pkt_new();
		struct virtio_net_hdr h;
		uint64_t sum;
		uint16_t x;

		spec_init(&s, v6, true);
		for (size_t i = 0; i < sizeof(pl); i++)
			pl[i] = (uint8_t)rnd();
		s.payload = pl;
		s.plen = 1000; /* segment 0 alone */
		pl[998] = pl[999] = 0;
		s.csum = CS_ZERO;
		build(&s, k);
		sum = ref_sum(k->b + k->l4, k->len - k->l4, ref_pseudo(k->b, k, k->len - k->l4));
		x = (uint16_t)(0xffff - ref_fold(sum));
		wr16(pl + 998, x);
		s.csum = CS_FULL;
		s.plen = 2500;
		build(&s, k);
		h = vnet_for(k, 1000);
		assert_int_equal(check_split(k, &h, NULL), 3);
		{
			struct off_split sp;

			assert_int_equal(off_split_plan(k->b, k->len, &h, false, &sp), 3);
			assert_int_equal(off_split_segment(&sp, k->b, 0, segbuf, sizeof(segbuf)),
			    k->hlen + 1000);
			assert_int_equal(rd16(segbuf + k->l4 + 6), 0xffff);
		}
		free(k);
	}
}

/* The same packet as a TUN frame and as TAP frames (Ethernet, and with a VLAN tag): the same
 * segments behind the same L2 header. */
static void
tap_same(struct spec *s, size_t gso)
{
	struct pkt *tun = pkt_new(), *tap = pkt_new();
	int nseg = (int)((s->plen + gso - 1) / gso);
	struct pkt **a = pkts_new(nseg), **b = pkts_new(nseg);
	struct virtio_net_hdr ha, hb;

	s->tap = false;
	build(s, tun);
	s->tap = true;
	build(s, tap);
	ha = vnet_for(tun, gso);
	hb = vnet_for(tap, gso);
	assert_int_equal(tap->l3, s->vlan ? 18 : 14);
	assert_int_equal(hb.csum_start, ha.csum_start + tap->l3);
	assert_int_equal(check_split(tun, &ha, a), nseg);
	assert_int_equal(check_split(tap, &hb, b), nseg);
	for (int i = 0; i < nseg; i++) {
		assert_int_equal(b[i]->len, a[i]->len + tap->l3);
		assert_memory_equal(b[i]->b, tap->b, tap->l3);
		assert_memory_equal(b[i]->b + tap->l3, a[i]->b, a[i]->len);
	}
	pkts_free(a, nseg);
	pkts_free(b, nseg);
	free(tun);
	free(tap);
}

static void
test_split_tap(void **state)
{
	struct spec s;

	for (int vlan = 0; vlan < 2; vlan++) {
		spec_init(&s, false, false);
		s.vlan = vlan;
		spec_ts(&s, 99);
		s.flags = ACK | PSH;
		s.plen = 7777;
		tap_same(&s, 1448);
		spec_init(&s, true, false);
		s.vlan = vlan;
		s.plen = 3000;
		tap_same(&s, 1000);
		s.ext = 24;
		tap_same(&s, 999);
		spec_init(&s, false, true);
		s.vlan = vlan;
		s.plen = 4000;
		tap_same(&s, 1472);
		spec_init(&s, true, true);
		s.vlan = vlan;
		s.plen = 2001;
		tap_same(&s, 1000);
	}
}

/* hdr_len is never used: any value gives the same plan and the same bytes. */
static void
test_split_hdr_len_ignored(void **state)
{
	static const uint16_t junk[] = { 0, 1, 7, 13, 53, 54, 55, 200, 0x7fff, 0xffff };
	static uint8_t ref[OFF_FRAME_MAX];
	struct pkt *k = pkt_new();
	struct spec s;

	for (int c = 0; c < 4; c++) {
		spec_init(&s, c & 1, c & 2);
		spec_ts(&s, 1);
		s.udp = c & 2;
		s.tcpoptlen = s.udp ? 0 : s.tcpoptlen;
		s.plen = 3001;
		s.tap = c == 1;
		build(&s, k);
		for (size_t j = 0; j < sizeof(junk) / sizeof(junk[0]); j++) {
			struct virtio_net_hdr h = vnet_for(k, 1000);
			struct off_split sp;

			h.hdr_len = junk[j];
			assert_int_equal(off_split_plan(k->b, k->len, &h, k->tap, &sp), 4);
			for (int i = 0; i < 4; i++) {
				size_t n = off_split_segment(&sp, k->b, i, segbuf, sizeof(segbuf));
				struct virtio_net_hdr h0 = vnet_for(k, 1000);
				struct off_split sp0;

				assert_int_equal(off_split_plan(k->b, k->len, &h0, k->tap, &sp0),
				    4);
				assert_int_equal(off_split_segment(&sp0, k->b, i, ref, sizeof(ref)),
				    n);
				assert_memory_equal(segbuf, ref, n);
				check_segment(k, segbuf, n, i, 4, 1000);
			}
		}
	}
	free(k);
}

static int
plan(const struct pkt *k, size_t len, const struct virtio_net_hdr *h)
{
	struct off_split sp;

	return off_split_plan(k->b, len, h, k->tap, &sp);
}

static void
test_split_refusals(void **state)
{
	struct pkt *k = pkt_new();
	struct virtio_net_hdr h;
	struct spec s;

	for (int c = 0; c < 8; c++) {
		bool v6 = c & 1, udp = c & 2, tap = c & 4;

		spec_init(&s, v6, udp);
		s.tap = tap;
		s.plen = 3000;
		if (!udp)
			spec_ts(&s, 5);
		build(&s, k);
		h = vnet_for(k, 1000);
		assert_int_equal(plan(k, k->len, &h), 3);
		if (v6) {
			/* A routing header in front of L4 (the destination options made one): the
			 * kernel's seed holds the final destination, not the one in the header, and
			 * every segment's checksum must be right for that final one. */
			static uint8_t seg[4096];
			struct pkt *r = pkt_new();
			struct spec rs = s;
			struct off_split sp;

			rs.ext = 24;
			build(&rs, r);
			assert_int_equal(r->b[r->l3 + 40], 60);
			r->b[r->l3 + 40] = 43;
			h = vnet_for(r, 1000);
			r->b[r->l3 + 39] ^= 0x5a; /* the final destination */
			ref_l4_set(r->b, r->len, r, CS_PSEUDO);
			r->b[r->l3 + 39] ^= 0x5a;
			assert_int_equal(off_split_plan(r->b, r->len, &h, r->tap, &sp), 3);
			for (int i = 0; i < 3; i++) {
				size_t n = off_split_segment(&sp, r->b, i, seg, sizeof(seg));

				assert_true(n > 0);
				assert_false(ref_l4_ok(seg, n, r));
				seg[r->l3 + 39] ^= 0x5a;
				assert_true(ref_l4_ok(seg, n, r));
			}
			free(r);
			h = vnet_for(k, 1000);
		}
		/* csum_start anywhere but the L4 header */
		for (int d = -3; d <= 3; d++) {
			if (d == 0)
				continue;
			h = vnet_for(k, 1000);
			h.csum_start = (uint16_t)((int)k->l4 + d);
			assert_int_equal(plan(k, k->len, &h), -1);
		}
		h.csum_start = 0;
		assert_int_equal(plan(k, k->len, &h), -1);
		h.csum_start = (uint16_t)k->hlen;
		assert_int_equal(plan(k, k->len, &h), -1);
		/* gso_size 0 */
		h = vnet_for(k, 0);
		assert_int_equal(plan(k, k->len, &h), -1);
		/* types: UFO, undefined, and the wrong one for the packet */
		for (unsigned t = 1; t < 256; t++) {
			bool ok = (t & 0x7f) == (udp ? 5u : v6 ? 4u : 1u);

			if (t == 0x80 || (udp && t == 0x85))
				continue; /* ECN alone or with USO: the kernel sends neither */
			h = vnet_for(k, 1000);
			h.gso_type = (uint8_t)t;
			if (ok)
				assert_int_equal(plan(k, k->len, &h), 3);
			else if (plan(k, k->len, &h) != -1)
				fail_msg("case %d: gso_type %u accepted", c, t);
		}
		/* truncated: every length up to the end of the headers */
		h = vnet_for(k, 1000);
		for (size_t len = 0; len <= k->hlen; len++)
			assert_int_equal(plan(k, len, &h), -1);
		/* one byte short of the IP length, and one byte of padding behind it */
		assert_int_equal(plan(k, k->len - 1, &h), -1);
		assert_int_equal(plan(k, k->len + 1, &h), -1);
		/* the IP length larger than the frame */
		{
			size_t at = k->l3 + (v6 ? 4 : 2);

			wr16(k->b + at, (uint16_t)(rd16(k->b + at) + 1));
			if (!v6)
				ref_ip4_set(k->b + k->l3, k->l4 - k->l3);
			assert_int_equal(plan(k, k->len, &h), -1);
		}
		/* headers cut by the IP length itself: the IP packet ends inside the L4 header */
		for (size_t end = k->l4; end <= k->hlen; end++) {
			s.plen = 0;
			build(&s, k);
			wr16(k->b + k->l3 + (v6 ? 4 : 2),
			    (uint16_t)(end - k->l3 - (v6 ? 40 : 0)));
			if (!v6)
				ref_ip4_set(k->b + k->l3, k->l4 - k->l3);
			assert_int_equal(plan(k, end, &h), -1);
		}
		/* fragments */
		s.plen = 3000;
		if (!v6) {
			s.frag = 0x2000; /* MF */
			build(&s, k);
			assert_int_equal(plan(k, k->len, &h), -1);
			s.frag = 0x00b9; /* an offset */
			build(&s, k);
			assert_int_equal(plan(k, k->len, &h), -1);
			s.frag = 0;
		} else {
			s.v6frag = true;
			build(&s, k);
			h = vnet_for(k, 1000);
			assert_int_equal(plan(k, k->len, &h), -1);
			s.v6frag = false;
		}
		build(&s, k);
		h = vnet_for(k, 1000);
		assert_int_equal(plan(k, k->len, &h), 3);
		/* a header length field below its minimum, an unknown IP version */
		if (!v6) {
			k->b[k->l3] = 0x44;
			assert_int_equal(plan(k, k->len, &h), -1);
		} else {
			k->b[k->l3] = 0x70;
			assert_int_equal(plan(k, k->len, &h), -1);
		}
		build(&s, k);
		if (!udp) {
			k->b[k->l4 + 12] = 0x40; /* TCP data offset 16 */
			assert_int_equal(plan(k, k->len, &h), -1);
		}
		/* another L4 protocol */
		build(&s, k);
		k->b[k->l3 + (v6 ? 6 : 9)] = 1;
		assert_int_equal(plan(k, k->len, &h), -1);
		/* TAP: not IP, or IP of the other version */
		if (tap) {
			build(&s, k);
			wr16(k->b + 12, 0x0806);
			assert_int_equal(plan(k, k->len, &h), -1);
			wr16(k->b + 12, v6 ? 0x0800 : 0x86dd);
			assert_int_equal(plan(k, k->len, &h), -1);
		}
	}
	/* IPv6 extension headers that run past the packet */
	spec_init(&s, true, false);
	s.ext = 8;
	s.plen = 1000;
	build(&s, k);
	h = vnet_for(k, 400);
	assert_int_equal(plan(k, k->len, &h), 3);
	k->b[k->l3 + 41] = 255;
	assert_int_equal(plan(k, k->len, &h), -1);
	free(k);
}

/* NEEDS_CSUM without GSO: the kernel seeds the field with the pseudo-header sum. */
static void
test_split_csum_only(void **state)
{
	struct pkt *k = pkt_new();
	struct virtio_net_hdr h;
	struct off_split sp;
	struct spec s;

	for (int c = 0; c < 8; c++) {
		spec_init(&s, c & 1, c & 2);
		s.tap = c & 4;
		s.plen = 1 + rnd_below(1500);
		s.csum = CS_PSEUDO;
		build(&s, k);
		memset(&h, 0, sizeof(h));
		h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		h.csum_start = (uint16_t)k->l4;
		h.csum_offset = (uint16_t)csum_off(k);
		h.hdr_len = 0xffff; /* unused */
		assert_int_equal(off_split_plan(k->b, k->len, &h, k->tap, &sp), 1);
		assert_int_equal(off_split_segment(&sp, k->b, 0, segbuf, k->len - 1), 0);
		memset(segbuf, 0xa5, sizeof(segbuf));
		assert_int_equal(off_split_segment(&sp, k->b, 0, segbuf, k->len), k->len);
		assert_true(ref_l4_ok(segbuf, k->len, k));
		assert_memory_equal(segbuf, k->b, k->l4 + csum_off(k));
		assert_memory_equal(segbuf + k->l4 + csum_off(k) + 2,
		    k->b + k->l4 + csum_off(k) + 2, k->len - k->l4 - csum_off(k) - 2);
		if (s.udp)
			assert_int_not_equal(rd16(segbuf + k->l4 + 6), 0);
		/* positions outside the frame */
		h.csum_start = (uint16_t)k->len;
		h.csum_offset = 0;
		assert_int_equal(off_split_plan(k->b, k->len, &h, k->tap, &sp), -1);
		h.csum_start = (uint16_t)(k->len - 1);
		assert_int_equal(off_split_plan(k->b, k->len, &h, k->tap, &sp), -1);
		h.csum_start = (uint16_t)k->l4;
		h.csum_offset = (uint16_t)(k->len - k->l4 - 1);
		if (h.csum_offset & 1)
			h.csum_offset++;
		assert_int_equal(off_split_plan(k->b, k->len, &h, k->tap, &sp), -1);
		h.csum_offset = 0xfffe;
		assert_int_equal(off_split_plan(k->b, k->len, &h, k->tap, &sp), -1);
		h.csum_start = 0xffff;
		h.csum_offset = 0;
		assert_int_equal(off_split_plan(k->b, k->len, &h, k->tap, &sp), -1);
		/* the last two bytes: still inside */
		h.csum_start = (uint16_t)(k->len - 2);
		assert_int_equal(off_split_plan(k->b, k->len, &h, k->tap, &sp), 1);
	}
	/* UDP whose checksum comes out 0: sent as 0xffff (0 would say "none") */
	for (int v6 = 0; v6 < 2; v6++) {
		static uint8_t pl[200];
		uint64_t sum;

		spec_init(&s, v6, true);
		for (size_t i = 0; i < sizeof(pl); i++)
			pl[i] = (uint8_t)rnd();
		pl[198] = pl[199] = 0;
		s.payload = pl;
		s.plen = sizeof(pl);
		s.csum = CS_ZERO;
		build(&s, k);
		sum = ref_sum(k->b + k->l4, k->len - k->l4, ref_pseudo(k->b, k, k->len - k->l4));
		wr16(pl + 198, (uint16_t)(0xffff - ref_fold(sum)));
		s.csum = CS_PSEUDO;
		build(&s, k);
		memset(&h, 0, sizeof(h));
		h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		h.csum_start = (uint16_t)k->l4;
		h.csum_offset = 6;
		assert_int_equal(off_split_plan(k->b, k->len, &h, false, &sp), 1);
		assert_int_equal(off_split_segment(&sp, k->b, 0, segbuf, k->len), k->len);
		assert_int_equal(rd16(segbuf + k->l4 + 6), 0xffff);
		assert_true(ref_l4_ok(segbuf, k->len, k));
	}
	/* any bytes, not IP at all: the sum from csum_start to the end */
	for (int r = 0; r < 200; r++) {
		size_t len = 2 + rnd_below(3000), from = rnd_below((uint32_t)(len - 1)), at;

		for (size_t i = 0; i < len; i++)
			k->b[i] = (uint8_t)rnd();
		memset(&h, 0, sizeof(h));
		h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		h.csum_start = (uint16_t)from;
		h.csum_offset = (uint16_t)(2 * rnd_below((uint32_t)(len - from - 2) / 2 + 1));
		at = from + h.csum_offset;
		assert_int_equal(off_split_plan(k->b, len, &h, r & 1, &sp), 1);
		assert_int_equal(off_split_segment(&sp, k->b, 0, segbuf, len), len);
		/* the seed stands for the pseudo-header: with it, the sum completes */
		assert_int_equal(ref_fold(ref_sum(segbuf + from, len - from, rd16(k->b + at))),
		    0xffff);
		assert_memory_equal(segbuf, k->b, at);
		assert_memory_equal(segbuf + at + 2, k->b + at + 2, len - at - 2);
	}
	/* no flags, no GSO: the frame as it is, whatever it holds */
	for (size_t i = 0; i < 100; i++)
		k->b[i] = (uint8_t)(i * 37);
	memset(&h, 0, sizeof(h));
	h.csum_start = 0xffff;
	h.csum_offset = 0xffff;
	assert_int_equal(off_split_plan(k->b, 100, &h, false, &sp), 1);
	assert_int_equal(off_split_segment(&sp, k->b, 0, segbuf, 99), 0);
	assert_int_equal(off_split_segment(&sp, k->b, 0, segbuf, 100), 100);
	assert_memory_equal(segbuf, k->b, 100);
	free(k);
}

/* ---- parse ------------------------------------------------------------------------------- */

static void
parse_is(const struct pkt *k, size_t len, uint8_t proto, bool exthdr)
{
	struct off_pkt pk;

	assert_int_equal(off_parse(k->b, len, k->tap, &pk), 0);
	assert_int_equal(pk.l3, k->l3);
	assert_int_equal(pk.l4, k->l4);
	assert_int_equal(pk.hlen, k->hlen);
	assert_int_equal(pk.iplen, k->len - k->l3);
	assert_int_equal(pk.proto, proto);
	assert_int_equal(pk.v6, k->v6);
	assert_false(pk.fragment);
	assert_int_equal(pk.exthdr, exthdr);
}

static int
parse_rc(const struct pkt *k, size_t len)
{
	struct off_pkt pk;

	return off_parse(k->b, len, k->tap, &pk);
}

static void
test_parse(void **state)
{
	struct pkt *k = pkt_new();
	struct off_pkt pk;
	struct spec s;

	for (int c = 0; c < 16; c++) {
		spec_init(&s, c & 1, c & 2);
		s.tap = c & 4;
		s.vlan = c & 8;
		if (!s.udp)
			spec_ts(&s, 1);
		if (!s.v6) {
			memcpy(s.ip4opt, "\x01\x01\x01\x00", 4);
			s.ip4optlen = c & 8 ? 4 : 0;
		} else {
			s.ext = c & 8 ? 24 : 0;
		}
		s.plen = 100;
		build(&s, k);
		parse_is(k, k->len, s.udp ? 17 : 6, s.ext != 0);
		/* padding behind the IP packet: the IP length counts */
		parse_is(k, k->len + 7, s.udp ? 17 : 6, s.ext != 0);
		/* the IP packet longer than the frame */
		assert_int_equal(parse_rc(k, k->len - 1), -1);
		for (size_t len = 0; len < k->l3 + (s.v6 ? 40 : 20); len++)
			assert_int_equal(parse_rc(k, len), -1);
		/* IP length ending inside the L4 header: parses, no L4 */
		s.plen = 0;
		build(&s, k);
		wr16(k->b + k->l3 + (s.v6 ? 4 : 2),
		    (uint16_t)(k->hlen - 1 - k->l3 - (s.v6 ? 40 : 0)));
		assert_int_equal(off_parse(k->b, k->hlen - 1, k->tap, &pk), 0);
		assert_int_equal(pk.l4, 0);
		/* another protocol: parses, no L4 */
		build(&s, k);
		k->b[k->l3 + (s.v6 ? (s.ext ? 64 : 6) : 9)] = 1;
		if (s.v6 && s.ext)
			k->b[k->l3 + 40 + 8] = 1; /* the destination options' next header */
		assert_int_equal(off_parse(k->b, k->len, k->tap, &pk), 0);
		assert_int_equal(pk.proto, 1);
		assert_int_equal(pk.l4, 0);
		/* the other IP version's number, or none */
		build(&s, k);
		k->b[k->l3] = (uint8_t)((s.v6 ? 0x40 : 0x60) | (k->b[k->l3] & 15));
		if (s.tap)
			assert_int_equal(parse_rc(k, k->len), -1);
		k->b[k->l3] = (uint8_t)(0x50 | (k->b[k->l3] & 15));
		assert_int_equal(parse_rc(k, k->len), -1);
		if (s.tap) {
			build(&s, k);
			wr16(k->b + k->l3 - 2, 0x0806);
			assert_int_equal(parse_rc(k, k->len), -1);
		}
	}
	/* IPv4 header length below 20, IP length below the header */
	spec_init(&s, false, false);
	build(&s, k);
	for (uint8_t ihl = 0; ihl < 5; ihl++) {
		k->b[0] = (uint8_t)(0x40 | ihl);
		assert_int_equal(parse_rc(k, k->len), -1);
	}
	memcpy(s.ip4opt, "\x01\x01\x01\x00\x01\x01\x01\x00", 8);
	s.ip4optlen = 8;
	s.plen = 0;
	build(&s, k);
	wr16(k->b + 2, 27);
	assert_int_equal(parse_rc(k, k->len), -1);
	wr16(k->b + 2, 28); /* exactly the header, no L4 */
	assert_int_equal(off_parse(k->b, k->len, false, &pk), 0);
	assert_int_equal(pk.l4, 0);
	/* TCP data offset below 5, or past the packet */
	spec_init(&s, false, false);
	build(&s, k);
	for (unsigned d = 0; d < 16; d++) {
		k->b[20 + 12] = (uint8_t)(d << 4);
		assert_int_equal(off_parse(k->b, k->len, false, &pk), 0);
		if (d < 5 || 20 + 4 * d > k->len - 20)
			assert_int_equal(pk.l4, 0);
		else
			assert_int_equal(pk.hlen, 20 + 4 * d);
	}
	/* fragments: IPv4 MF or offset, an IPv6 fragment header */
	spec_init(&s, false, false);
	s.frag = 0x2000;
	build(&s, k);
	assert_int_equal(off_parse(k->b, k->len, false, &pk), 0);
	assert_true(pk.fragment);
	s.frag = 1;
	build(&s, k);
	assert_int_equal(off_parse(k->b, k->len, false, &pk), 0);
	assert_true(pk.fragment);
	spec_init(&s, true, true);
	s.v6frag = true;
	build(&s, k);
	assert_int_equal(off_parse(k->b, k->len, false, &pk), 0);
	assert_true(pk.fragment);
	assert_int_equal(pk.l4, 0);
	/* IPv6 extension headers: up to 8 are followed, one more is refused; routing (43) too */
	for (int n = 1; n <= 9; n++) {
		size_t o = 40;

		spec_init(&s, true, true);
		s.plen = 0;
		build(&s, k);
		memset(k->b + 40, 0, 8 * 9 + 8);
		k->b[6] = 60;
		for (int i = 0; i < n; i++, o += 8)
			k->b[o] = i == n - 1 ? 17 : i == 3 ? 43 : 60;
		wr16(k->b + o, 1);
		wr16(k->b + o + 2, 2);
		wr16(k->b + o + 4, 8);
		wr16(k->b + 4, (uint16_t)(o + 8 - 40));
		k->len = o + 8;
		if (n <= 8) {
			assert_int_equal(off_parse(k->b, k->len, false, &pk), 0);
			assert_int_equal(pk.l4, o);
			assert_int_equal(pk.proto, 17);
			assert_true(pk.exthdr);
		} else {
			assert_int_equal(off_parse(k->b, k->len, false, &pk), -1);
		}
		/* the chain cut by the payload length */
		wr16(k->b + 4, (uint16_t)(8 * n - 1));
		assert_int_equal(parse_rc(k, k->len), -1);
	}
	/* TAP: shorter than the Ethernet (and VLAN) header */
	spec_init(&s, false, false);
	s.tap = true;
	s.vlan = true;
	build(&s, k);
	for (size_t len = 0; len < 18 + 20; len++)
		assert_int_equal(parse_rc(k, len), -1);
	wr16(k->b + 12, 0x88a8); /* an 802.1ad tag */
	parse_is(k, k->len, 6, false);
	free(k);
}

/* ---- coalesce ---------------------------------------------------------------------------- */

static struct off_gro gro;
static uint8_t outbuf[OFF_FRAME_MAX + 70000];
static uint8_t expbuf[OFF_FRAME_MAX + 70000];

/* Frame i of g: its vnet header into *vh, the rest into out; its length. Also checks that the
 * iovec needs exactly nseg + 1 entries. */
static size_t
gather(struct off_gro *g, int i, struct virtio_net_hdr *vh, uint8_t *out, int *nseg)
{
	struct iovec iov[OFF_GRO_SEGS + 8];
	int n = off_gro_iov(g, i, iov, OFF_GRO_SEGS + 8);
	size_t len = 0;

	assert_true(n >= 2);
	assert_int_equal(off_gro_iov(g, i, iov, n - 1), 0);
	assert_int_equal(off_gro_iov(g, i, iov, n), n);
	assert_int_equal(iov[0].iov_len, OFF_VNET_LEN);
	memcpy(vh, iov[0].iov_base, OFF_VNET_LEN);
	for (int k = 1; k < n; k++) {
		memcpy(out + len, iov[k].iov_base, iov[k].iov_len);
		len += iov[k].iov_len;
	}
	*nseg = n - 1;
	return len;
}

/* What merging in[idx[0..n)] (copies from before they were added) must give. */
static size_t
expect_merged(struct pkt *const *in, const int *idx, int n, uint8_t *out)
{
	const struct pkt *h = in[idx[0]];
	size_t len = h->hlen;

	memcpy(out, h->b, h->hlen);
	for (int j = 0; j < n; j++) {
		const struct pkt *k = in[idx[j]];

		memcpy(out + len, k->b + k->hlen, k->len - k->hlen);
		len += k->len - k->hlen;
	}
	if (!h->udp && (in[idx[n - 1]]->b[h->l4 + 13] & PSH))
		out[h->l4 + 13] |= PSH;
	if (h->v6) {
		wr16(out + h->l3 + 4, (uint16_t)(len - h->l3 - 40));
	} else {
		wr16(out + h->l3 + 2, (uint16_t)(len - h->l3));
		ref_ip4_set(out + h->l3, h->l4 - h->l3);
	}
	if (h->udp)
		wr16(out + h->l4 + 4, (uint16_t)(len - h->l4));
	ref_l4_set(out, len, h, CS_PSEUDO);
	return len;
}

/* A merged frame's vnet header for head h, and the kernel's NEEDS_CSUM completion of it. */
static void
check_merged_vnet(const struct virtio_net_hdr *vh, const struct pkt *h, const uint8_t *f,
    size_t len)
{
	uint8_t *c = catbuf;
	uint16_t v;

	assert_int_equal(vh->flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	assert_int_equal(vh->gso_type, h->udp ? GSO_UDP_L4 : h->v6 ? GSO_TCPV6 : GSO_TCPV4);
	assert_int_equal(vh->gso_size, h->len - h->hlen);
	assert_int_equal(vh->csum_start, h->l4);
	assert_int_equal(vh->csum_offset, csum_off(h));
	assert_int_equal(vh->hdr_len, h->hlen);
	/* skb_checksum_help: sum from csum_start to the end over the seed, invert, store */
	memcpy(c, f, len);
	v = (uint16_t)~ref_fold(ref_sum(c + vh->csum_start, len - vh->csum_start, 0));
	wr16(c + vh->csum_start + vh->csum_offset, v);
	assert_true(ref_l4_ok(c, len, h));
	if (!h->v6)
		assert_true(ref_ip4_ok(c + h->l3, h->l4 - h->l3));
}

/*
 * Add in[0..nin) (owners[i], or all the same if owners is NULL) with what, finish, and check
 * the frames against groups: a list of (count, input indices...) ended by 0, one per frame in
 * order. A lone input must come out unchanged with a zero vnet header; a group merged as the
 * kernel's GRO would. bad: the expected bad_csum.
 */
static void
verify_frames(struct pkt *const *saved, const int *groups)
{
	static const uint8_t zero[sizeof(struct virtio_net_hdr)];
	int nframes = 0, f = 0;

	for (const int *p = groups; *p != 0; p += *p + 1)
		nframes++;
	assert_int_equal(gro.n, nframes);
	for (const int *p = groups; *p != 0; p += *p + 1, f++) {
		struct virtio_net_hdr vh;
		int nseg;
		size_t len = gather(&gro, f, &vh, outbuf, &nseg);

		if (nseg != *p)
			fail_msg("frame %d: %d pieces, want %d", f, nseg, *p);
		if (*p == 1) {
			const struct pkt *k = saved[p[1]];

			assert_memory_equal(&vh, zero, sizeof(zero));
			assert_int_equal(len, k->len);
			if (memcmp(outbuf, k->b, len) != 0)
				fail_msg("frame %d (input %d) changed", f, p[1]);
		} else {
			size_t elen = expect_merged(saved, p + 1, *p, expbuf);

			assert_int_equal(len, elen);
			if (memcmp(outbuf, expbuf, len) != 0)
				fail_msg("frame %d: merged bytes differ", f);
			check_merged_vnet(&vh, saved[p[1]], outbuf, len);
		}
	}
}

static void
run_gro(struct pkt **in, int nin, void *const *owners, unsigned what, const int *groups,
    uint64_t bad)
{
	struct pkt **saved = pkts_new(nin);

	for (int i = 0; i < nin; i++)
		copy_pkt(saved[i], in[i]);
	off_gro_reset(&gro);
	gro.bad_csum = 0;
	for (int i = 0; i < nin; i++)
		assert_true(off_gro_add(&gro, owners ? owners[i] : (void *)&gro, in[i]->b,
		    in[i]->len, in[i]->tap, what));
	off_gro_finish(&gro);
	assert_int_equal(gro.bad_csum, bad);
	verify_frames(saved, groups);
	pkts_free(saved, nin);
}

/* Segments of one flow, added as the data path does (when g is full: finish, write, reset,
 * add again), in any number: every frame is a run of consecutive segments, merged right.
 * The sizes of the frames, in order, into sizes[] (at most max). */
static int
stream_one_flow(struct pkt **in, int nin, unsigned what, int *sizes, int max)
{
	struct pkt **saved = pkts_new(nin);
	int *groups = calloc((size_t)(2 * nin + 2), sizeof(int));
	int i = 0, done = 0, nf = 0;

	assert_non_null(groups);
	for (int j = 0; j < nin; j++)
		copy_pkt(saved[j], in[j]);
	off_gro_reset(&gro);
	while (done < nin) {
		int *g = groups;

		if (i < nin && off_gro_add(&gro, &gro, in[i]->b, in[i]->len, in[i]->tap, what)) {
			i++;
			continue;
		}
		assert_true(gro.n > 0);
		off_gro_finish(&gro);
		for (int f = 0; f < gro.n; f++) {
			struct iovec iov[OFF_GRO_SEGS + 2];
			int k = off_gro_iov(&gro, f, iov, OFF_GRO_SEGS + 2) - 1;

			assert_true(k >= 1);
			*g++ = k;
			for (int j = 0; j < k; j++)
				*g++ = done++;
			if (nf < max)
				sizes[nf] = k;
			nf++;
		}
		*g = 0;
		assert_int_equal(done, i);
		verify_frames(saved, groups);
		off_gro_reset(&gro);
	}
	free(groups);
	pkts_free(saved, nin);
	return nf;
}

/* n segments of a flow: seglen[i] bytes each (or all len0 if seglen is NULL), seq and ID
 * advancing from s, in[0..n). */
static void
make_run(const struct spec *s0, int n, const size_t *seglen, size_t len0, struct pkt **in)
{
	struct spec s = *s0;
	size_t off = 0;

	for (int i = 0; i < n; i++) {
		s.plen = seglen ? seglen[i] : len0;
		s.payload = payload + off;
		build(&s, in[i]);
		s.seq += (uint32_t)s.plen;
		s.id++;
		off += s.plen;
	}
}

/* A merge of N in-order segments equals the super-packet they were cut from (checksum field:
 * the pseudo-header sum, as the kernel's own super-packets). */
static void
merge_equals_super(struct spec *s, int n, size_t seg, size_t last, unsigned what)
{
	struct pkt **in = pkts_new(n), *sup = pkt_new();
	size_t lens[OFF_GRO_SEGS];
	struct virtio_net_hdr vh;
	int groups[OFF_GRO_SEGS + 2] = { n }, nseg;
	uint8_t flags = s->flags;
	size_t len;

	for (int i = 0; i < n; i++) {
		lens[i] = i == n - 1 ? last : seg;
		groups[i + 1] = i;
	}
	s->flags = ACK;
	make_run(s, n - 1, lens, 0, in);
	s->flags = flags;
	{
		struct spec t = *s;

		t.seq += (uint32_t)(seg * (size_t)(n - 1));
		t.id = (uint16_t)(t.id + n - 1);
		t.payload = payload + seg * (size_t)(n - 1);
		t.plen = last;
		build(&t, in[n - 1]);
	}
	run_gro(in, n, NULL, what, groups, 0);
	/* run_gro compared with its own model; now against the super-packet built directly */
	s->plen = seg * (size_t)(n - 1) + last;
	s->csum = CS_PSEUDO;
	build(s, sup);
	s->csum = CS_FULL;
	len = gather(&gro, 0, &vh, outbuf, &nseg);
	assert_int_equal(nseg, n);
	assert_int_equal(len, sup->len);
	assert_memory_equal(outbuf, sup->b, len);
	assert_int_equal(vh.gso_size, seg);
	pkts_free(in, n);
	free(sup);
}

static void
test_gro_merge(void **state)
{
	struct spec s;

	for (int tap = 0; tap < 3; tap++) {
		spec_init(&s, false, false);
		s.tap = tap > 0;
		s.vlan = tap > 1;
		spec_ts(&s, 0x0badcafe);
		s.flags = ACK | PSH; /* the last one pushes */
		merge_equals_super(&s, 5, 1448, 1448, OFF_GRO_TCP);
		merge_equals_super(&s, 5, 1448, 1001, OFF_GRO_TCP | OFF_GRO_UDP);
		s.flags = ACK;
		s.tcpoptlen = 0;
		merge_equals_super(&s, 2, 1460, 1, OFF_GRO_TCP);
		merge_equals_super(&s, OFF_GRO_SEGS, 1000, 999, OFF_GRO_TCP);
		spec_init(&s, true, false);
		s.tap = tap > 0;
		s.vlan = tap > 1;
		spec_ts(&s, 1);
		merge_equals_super(&s, 7, 1428, 1427, OFF_GRO_TCP);
		s.flags = ACK | PSH;
		merge_equals_super(&s, 3, 1440, 1440, OFF_GRO_TCP);
		spec_init(&s, false, true);
		s.tap = tap > 0;
		s.vlan = tap > 1;
		merge_equals_super(&s, 4, 1472, 1472, OFF_GRO_UDP);
		merge_equals_super(&s, 4, 1472, 3, OFF_GRO_UDP | OFF_GRO_TCP);
		spec_init(&s, true, true);
		s.tap = tap > 0;
		s.vlan = tap > 1;
		merge_equals_super(&s, 9, 1232, 1000, OFF_GRO_UDP);
	}
	/* IPv4 options, the same in every segment */
	spec_init(&s, false, false);
	memcpy(s.ip4opt, "\x94\x04\x00\x00", 4);
	s.ip4optlen = 4;
	merge_equals_super(&s, 3, 1000, 1000, OFF_GRO_TCP);
}

/* Segments that cannot continue a run. */
static void
test_gro_sequence(void **state)
{
	struct pkt **in = pkts_new(8);
	struct spec s;

	spec_init(&s, false, false);
	spec_ts(&s, 42);
	/* out of order: 0 2 1 */
	make_run(&s, 3, NULL, 1000, in);
	{
		struct pkt *t = in[1];

		in[1] = in[2];
		in[2] = t;
	}
	run_gro(in, 3, NULL, OFF_GRO_TCP, (const int[]){ 1, 0, 1, 1, 1, 2, 0 }, 0);
	/* a gap, then what follows the gap merges with it */
	make_run(&s, 4, NULL, 1000, in);
	{
		struct pkt *v[3] = { in[0], in[2], in[3] };

		run_gro(v, 3, NULL, OFF_GRO_TCP, (const int[]){ 1, 0, 2, 1, 2, 0 }, 0);
	}
	/* the same segment twice */
	make_run(&s, 1, NULL, 1000, in);
	make_run(&s, 1, NULL, 1000, in + 1);
	run_gro(in, 2, NULL, OFF_GRO_TCP, (const int[]){ 1, 0, 1, 1, 0 }, 0);
	/* a segment longer than the first */
	make_run(&s, 3, (const size_t[]){ 500, 1000, 500 }, 0, in);
	run_gro(in, 3, NULL, OFF_GRO_TCP, (const int[]){ 1, 0, 2, 1, 2, 0 }, 0);
	/* a segment after a shorter one: the shorter one ends the run */
	make_run(&s, 4, (const size_t[]){ 1000, 1000, 999, 1000 }, 0, in);
	run_gro(in, 4, NULL, OFF_GRO_TCP, (const int[]){ 3, 0, 1, 2, 1, 3, 0 }, 0);
	make_run(&s, 4, (const size_t[]){ 1000, 1000, 999, 999 }, 0, in);
	run_gro(in, 4, NULL, OFF_GRO_TCP, (const int[]){ 3, 0, 1, 2, 1, 3, 0 }, 0);
	/* the same for UDP */
	spec_init(&s, false, true);
	make_run(&s, 4, (const size_t[]){ 1000, 1000, 999, 1000 }, 0, in);
	run_gro(in, 4, NULL, OFF_GRO_UDP, (const int[]){ 3, 0, 1, 2, 1, 3, 0 }, 0);
	make_run(&s, 3, (const size_t[]){ 500, 1000, 500 }, 0, in);
	run_gro(in, 3, NULL, OFF_GRO_UDP, (const int[]){ 1, 0, 2, 1, 2, 0 }, 0);
	pkts_free(in, 8);
}

/* Two segments that differ in one header field: never merged. mut changes the second. */
static void
pair_differs(const struct spec *s0, void (*mut)(struct spec *), unsigned what)
{
	struct pkt **in = pkts_new(2);
	struct spec s = *s0;

	make_run(&s, 1, NULL, 1000, in);
	s.seq += 1000;
	s.id++;
	s.payload = payload + 1000;
	s.plen = 1000;
	mut(&s);
	build(&s, in[1]);
	run_gro(in, 2, NULL, what, (const int[]){ 1, 0, 1, 1, 0 }, 0);
	pkts_free(in, 2);
}

static void mut_ack(struct spec *s) { s->ack++; }
static void mut_win(struct spec *s) { s->win--; }
static void mut_ts(struct spec *s) { s->tcpopt[7] ^= 1; }
static void mut_noopt(struct spec *s) { s->tcpoptlen = 0; }
static void mut_tos(struct spec *s) { s->tos ^= 0x04; }
static void mut_ecn(struct spec *s) { s->tos ^= 0x01; }
static void mut_ttl(struct spec *s) { s->ttl--; }
static void mut_df(struct spec *s) { s->df = !s->df; }
static void mut_rf(struct spec *s) { s->frag ^= 0x8000; } /* the reserved flag */
static void mut_flow(struct spec *s) { s->flowlabel ^= 0x100; }
static void mut_sport(struct spec *s) { s->sport++; }
static void mut_dport(struct spec *s) { s->dport++; }
static void mut_ipopt(struct spec *s) { s->ip4opt[2] ^= 0x10; }
static void mut_vlan(struct spec *s) { s->vlan = !s->vlan; }
static void mut_fin(struct spec *s) { s->flags |= FIN; }
static void mut_syn(struct spec *s) { s->flags |= SYN; }
static void mut_rst(struct spec *s) { s->flags |= RST; }
static void mut_urg(struct spec *s) { s->flags |= URG; }
static void mut_cwr(struct spec *s) { s->flags |= CWR; }
static void mut_noack(struct spec *s) { s->flags = PSH; }
static void mut_v6frag(struct spec *s) { s->v6frag = true; }
static void mut_v4frag(struct spec *s) { s->frag = 0x2000; }
static void mut_pad(struct spec *s) { s->pad = 6; }
static void mut_mac(struct spec *s) { s->mac_xor = 0x80; }
static void mut_src(struct spec *s) { s->src_xor = 0x01; }
static void mut_dst(struct spec *s) { s->dst_xor = 0x01; }

static void
test_gro_fields(void **state)
{
	static void (*const tcp[])(struct spec *) = { mut_ack, mut_win, mut_ts, mut_noopt, mut_tos,
		mut_ecn, mut_ttl, mut_df, mut_sport, mut_dport, mut_fin, mut_syn, mut_rst, mut_urg,
		mut_cwr, mut_noack, mut_v4frag, mut_pad, mut_src, mut_dst, mut_rf };
	static void (*const tcp6[])(struct spec *) = { mut_ack, mut_win, mut_ts, mut_tos, mut_ecn,
		mut_ttl, mut_flow, mut_fin, mut_syn, mut_rst, mut_urg, mut_cwr, mut_v6frag, mut_pad,
		mut_src, mut_dst };
	static void (*const udp[])(struct spec *) = { mut_tos, mut_ttl, mut_df, mut_sport,
		mut_dport, mut_v4frag, mut_pad, mut_src, mut_dst, mut_rf };
	struct spec s;

	spec_init(&s, false, false);
	spec_ts(&s, 3);
	for (size_t i = 0; i < sizeof(tcp) / sizeof(tcp[0]); i++)
		pair_differs(&s, tcp[i], OFF_GRO_TCP);
	spec_init(&s, true, false);
	spec_ts(&s, 3);
	for (size_t i = 0; i < sizeof(tcp6) / sizeof(tcp6[0]); i++)
		pair_differs(&s, tcp6[i], OFF_GRO_TCP);
	spec_init(&s, false, true);
	for (size_t i = 0; i < sizeof(udp) / sizeof(udp[0]); i++)
		pair_differs(&s, udp[i], OFF_GRO_UDP);
	spec_init(&s, true, true);
	pair_differs(&s, mut_flow, OFF_GRO_UDP);
	pair_differs(&s, mut_ttl, OFF_GRO_UDP);
	pair_differs(&s, mut_src, OFF_GRO_UDP);
	pair_differs(&s, mut_dst, OFF_GRO_UDP);
	/* IPv4 options: merged only when equal */
	spec_init(&s, false, false);
	memcpy(s.ip4opt, "\x01\x01\x01\x00", 4);
	s.ip4optlen = 4;
	pair_differs(&s, mut_ipopt, OFF_GRO_TCP);
	/* TAP: another VLAN tag (or none), another MAC address */
	s.tap = true;
	pair_differs(&s, mut_vlan, OFF_GRO_TCP);
	pair_differs(&s, mut_mac, OFF_GRO_TCP);
	s.vlan = true;
	pair_differs(&s, mut_mac, OFF_GRO_TCP);
	spec_init(&s, true, true);
	s.tap = true;
	pair_differs(&s, mut_mac, OFF_GRO_UDP);
}

/* PSH, FIN and the like in a run. */
static void
test_gro_flags(void **state)
{
	struct pkt **in = pkts_new(4);
	struct spec s;

	spec_init(&s, false, false);
	make_run(&s, 4, NULL, 1000, in);
	/* PSH in the middle ends the merge with it */
	in[1]->b[in[1]->l4 + 13] = ACK | PSH;
	ref_l4_set(in[1]->b, in[1]->len, in[1], CS_FULL);
	run_gro(in, 4, NULL, OFF_GRO_TCP, (const int[]){ 2, 0, 1, 2, 2, 3, 0 }, 0);
	/* a pushing head takes nothing */
	make_run(&s, 3, NULL, 1000, in);
	in[0]->b[in[0]->l4 + 13] = ACK | PSH;
	ref_l4_set(in[0]->b, in[0]->len, in[0], CS_FULL);
	run_gro(in, 3, NULL, OFF_GRO_TCP, (const int[]){ 1, 0, 2, 1, 2, 0 }, 0);
	/* FIN, SYN, RST, URG, CWR: neither merged nor taking any */
	for (int fl = 0; fl < 5; fl++) {
		static const uint8_t f[] = { FIN, SYN, RST, URG, CWR };

		make_run(&s, 4, NULL, 1000, in);
		in[1]->b[in[1]->l4 + 13] |= f[fl];
		ref_l4_set(in[1]->b, in[1]->len, in[1], CS_FULL);
		run_gro(in, 4, NULL, OFF_GRO_TCP, (const int[]){ 1, 0, 1, 1, 2, 2, 3, 0 }, 0);
		make_run(&s, 3, NULL, 1000, in);
		in[0]->b[in[0]->l4 + 13] |= f[fl];
		ref_l4_set(in[0]->b, in[0]->len, in[0], CS_FULL);
		run_gro(in, 3, NULL, OFF_GRO_TCP, (const int[]){ 1, 0, 2, 1, 2, 0 }, 0);
	}
	pkts_free(in, 4);
}

/* Wrong checksums: nothing merged with them, frames unchanged, each one counted once. */
static void
test_gro_bad_csum(void **state)
{
	struct pkt **in = pkts_new(4);
	struct spec s;

	for (int c = 0; c < 4; c++) {
		spec_init(&s, c & 1, c & 2);
		unsigned what = s.udp ? OFF_GRO_UDP : OFF_GRO_TCP;

		/* the new segment */
		make_run(&s, 4, NULL, 1000, in);
		ref_l4_set(in[2]->b, in[2]->len, in[2], CS_BAD);
		run_gro(in, 4, NULL, what, (const int[]){ 2, 0, 1, 1, 2, 1, 3, 0 }, 1);
		/* the head */
		make_run(&s, 4, NULL, 1000, in);
		ref_l4_set(in[0]->b, in[0]->len, in[0], CS_BAD);
		run_gro(in, 4, NULL, what, (const int[]){ 1, 0, 3, 1, 2, 3, 0 }, 1);
		/* the IPv4 header of the head or of the new one: the merged frame would get a fresh
		 * one, so no merge either */
		if (!s.v6) {
			struct spec t = s;

			make_run(&s, 3, NULL, 1000, in);
			t.badip = true;
			build(&t, in[0]);
			run_gro(in, 3, NULL, what, (const int[]){ 1, 0, 2, 1, 2, 0 }, 1);
			make_run(&s, 3, NULL, 1000, in);
			in[1]->b[in[1]->l3 + 10] ^= 0x01;
			run_gro(in, 3, NULL, what, (const int[]){ 1, 0, 1, 1, 1, 2, 0 }, 1);
		}
	}
	pkts_free(in, 4);
}

/* Flows: owners, interleaving, pure ACKs, what. */
static void
test_gro_flows(void **state)
{
	struct pkt **in = pkts_new(12);
	struct spec a, b;
	int x, y;
	void *owners[6] = { &x, &y, &x, &y, &x, &y };

	spec_init(&a, false, false);
	b = a;
	b.sport++;
	/* A0 B0 A1 B1 A2 B2: two frames, each flow in order */
	for (int i = 0; i < 3; i++) {
		struct spec t = a;

		t.seq += (uint32_t)(1000 * i);
		t.payload = payload + 1000 * i;
		build(&t, in[2 * i]);
		t = b;
		t.seq += (uint32_t)(1000 * i);
		t.payload = payload + 3000 + 1000 * i;
		build(&t, in[2 * i + 1]);
	}
	run_gro(in, 6, NULL, OFF_GRO_TCP, (const int[]){ 3, 0, 2, 4, 3, 1, 3, 5, 0 }, 0);
	/* the same flow on two devices: never together */
	for (int i = 0; i < 3; i++) {
		struct spec t = a;

		t.seq += (uint32_t)(1000 * i);
		t.payload = payload + 1000 * i;
		build(&t, in[2 * i]);
		build(&t, in[2 * i + 1]);
	}
	run_gro(in, 6, owners, OFF_GRO_TCP, (const int[]){ 3, 0, 2, 4, 3, 1, 3, 5, 0 }, 0);
	/* what: nothing, or not this protocol */
	make_run(&a, 3, NULL, 1000, in);
	run_gro(in, 3, NULL, 0, (const int[]){ 1, 0, 1, 1, 1, 2, 0 }, 0);
	run_gro(in, 3, NULL, OFF_GRO_UDP, (const int[]){ 1, 0, 1, 1, 1, 2, 0 }, 0);
	spec_init(&b, true, true);
	make_run(&b, 3, NULL, 1000, in);
	run_gro(in, 3, NULL, 0, (const int[]){ 1, 0, 1, 1, 1, 2, 0 }, 0);
	run_gro(in, 3, NULL, OFF_GRO_TCP, (const int[]){ 1, 0, 1, 1, 1, 2, 0 }, 0);
	run_gro(in, 3, NULL, OFF_GRO_UDP, (const int[]){ 3, 0, 1, 2, 0 }, 0);
	/* UDP without a checksum (IPv4): cannot be verified, passes */
	spec_init(&b, false, true);
	b.csum = CS_ZERO;
	make_run(&b, 3, NULL, 1000, in);
	run_gro(in, 3, NULL, OFF_GRO_UDP, (const int[]){ 1, 0, 1, 1, 1, 2, 0 }, 0);
	/* a UDP length that disagrees with the IP length */
	b.csum = CS_FULL;
	make_run(&b, 3, NULL, 1000, in);
	wr16(in[1]->b + in[1]->l4 + 4, 1000);
	ref_l4_set(in[1]->b, in[1]->len, in[1], CS_FULL);
	run_gro(in, 3, NULL, OFF_GRO_UDP, (const int[]){ 1, 0, 1, 1, 1, 2, 0 }, 0);
	/* a pure ACK of the flow ends the run; one of the other direction does not */
	make_run(&a, 4, (const size_t[]){ 1000, 0, 1000, 1000 }, 0, in);
	run_gro(in, 4, NULL, OFF_GRO_TCP, (const int[]){ 1, 0, 1, 1, 2, 2, 3, 0 }, 0);
	make_run(&a, 3, NULL, 1000, in);
	b = a;
	b.sport = a.dport;
	b.dport = a.sport;
	b.plen = 0;
	build(&b, in[3]);
	{
		struct pkt *v[4] = { in[0], in[3], in[1], in[2] };

		run_gro(v, 4, NULL, OFF_GRO_TCP, (const int[]){ 3, 0, 2, 3, 1, 1, 0 }, 0);
	}
	/* IPv6 with extension headers: passes, and keeps its place in the flow */
	spec_init(&b, true, false);
	b.ext = 24;
	make_run(&b, 3, NULL, 1000, in);
	run_gro(in, 3, NULL, OFF_GRO_TCP, (const int[]){ 1, 0, 1, 1, 1, 2, 0 }, 0);
	spec_init(&b, true, false);
	make_run(&b, 1, NULL, 1000, in);
	{
		struct spec t = b;

		t.ext = 8; /* a pure ACK with a hop-by-hop header, between 0 and 1 */
		t.plen = 0;
		t.seq += 1000;
		build(&t, in[1]);
		t = b;
		t.seq += 1000;
		t.id++;
		t.payload = payload + 1000;
		make_run(&t, 2, NULL, 1000, in + 2);
	}
	run_gro(in, 4, NULL, OFF_GRO_TCP, (const int[]){ 1, 0, 1, 1, 2, 2, 3, 0 }, 0);
	/* TAP: a padded pure ACK (a short frame), between two segments */
	spec_init(&b, false, false);
	b.tap = true;
	make_run(&b, 1, NULL, 1000, in);
	b.seq += 1000;
	b.plen = 0;
	b.pad = 6;
	build(&b, in[1]);
	b.pad = 0;
	b.payload = payload + 1000;
	make_run(&b, 2, NULL, 1000, in + 2);
	run_gro(in, 4, NULL, OFF_GRO_TCP, (const int[]){ 1, 0, 1, 1, 2, 2, 3, 0 }, 0);
	/* A fragment between the hosts of a flow (it may belong to it): nothing merges across
	 * it, UDP and TCP, IPv4 (MF) and IPv6 (a fragment header). */
	for (int c = 0; c < 4; c++) {
		bool v6 = c & 1, udp = c & 2;
		struct spec t;

		spec_init(&b, v6, udp);
		make_run(&b, 3, NULL, 1000, in);
		t = b;
		t.plen = 1000;
		if (v6)
			t.v6frag = true;
		else
			t.frag = 0x2000;
		build(&t, in[3]);
		{
			struct pkt *v[4] = { in[0], in[3], in[1], in[2] };

			run_gro(v, 4, NULL, OFF_GRO_TCP | OFF_GRO_UDP,
			    (const int[]){ 1, 0, 1, 1, 2, 2, 3, 0 }, 0);
		}
	}
	/* IPv4 without DF: the IDs must count up to merge (with DF they may be anything) */
	spec_init(&b, false, false);
	b.df = false;
	make_run(&b, 3, NULL, 1000, in);
	run_gro(in, 3, NULL, OFF_GRO_TCP, (const int[]){ 3, 0, 1, 2, 0 }, 0);
	make_run(&b, 3, NULL, 1000, in); /* the merge rewrote the head */
	wr16(in[2]->b + in[2]->l3 + 4, 31337);
	ref_ip4_set(in[2]->b + in[2]->l3, in[2]->l4 - in[2]->l3);
	run_gro(in, 3, NULL, OFF_GRO_TCP, (const int[]){ 2, 0, 1, 1, 2, 0 }, 0);
	b.df = true;
	make_run(&b, 3, NULL, 1000, in);
	wr16(in[2]->b + in[2]->l3 + 4, 31337);
	ref_ip4_set(in[2]->b + in[2]->l3, in[2]->l4 - in[2]->l3);
	run_gro(in, 3, NULL, OFF_GRO_TCP, (const int[]){ 3, 0, 1, 2, 0 }, 0);
	pkts_free(in, 12);
}

/* Limits: OFF_GRO_SEGS segments, 65535 bytes of IP packet, OFF_GRO_MAX frames. */
static void
test_gro_limits(void **state)
{
	struct pkt **in = pkts_new(OFF_GRO_MAX + 8);
	int groups[OFF_GRO_MAX + 16], *g;
	struct spec s;

	spec_init(&s, false, false);
	/* 65 segments: the first OFF_GRO_SEGS in one frame, the last in the next */
	make_run(&s, OFF_GRO_SEGS + 1, NULL, 100, in);
	g = groups;
	*g++ = OFF_GRO_SEGS;
	for (int i = 0; i < OFF_GRO_SEGS; i++)
		*g++ = i;
	*g++ = 1;
	*g++ = OFF_GRO_SEGS;
	*g = 0;
	run_gro(in, OFF_GRO_SEGS + 1, NULL, OFF_GRO_TCP, groups, 0);
	/* many more than a batch, in one flow: whatever runs out, every frame is right */
	{
		struct pkt **many = pkts_new(300);
		int sizes[300], nf;

		make_run(&s, 300, NULL, 100, many);
		nf = stream_one_flow(many, 300, OFF_GRO_TCP, sizes, 300);
		assert_true(nf >= 5);
		assert_int_equal(sizes[0], OFF_GRO_SEGS);
		pkts_free(many, 300);
	}
	/* 1400-byte segments: 46 fit 65535 (40 + 46 * 1400 = 64440), the 47th does not */
	make_run(&s, 50, NULL, 1400, in);
	g = groups;
	*g++ = 46;
	for (int i = 0; i < 46; i++)
		*g++ = i;
	*g++ = 4;
	for (int i = 46; i < 50; i++)
		*g++ = i;
	*g = 0;
	run_gro(in, 50, NULL, OFF_GRO_TCP, groups, 0);
	/* IPv6 with timestamps, exactly 65535 bytes of IP packet in one frame */
	spec_init(&s, true, false);
	spec_ts(&s, 9);
	{
		size_t per = (65535 - 40 - 32) / 45; /* 1455, 45 segments: 65515 */
		size_t lens[46];

		for (int i = 0; i < 45; i++)
			lens[i] = per;
		lens[45] = 65535 - 40 - 32 - 45 * per; /* 20 */
		make_run(&s, 46, lens, 0, in);
		g = groups;
		*g++ = 46;
		for (int i = 0; i < 46; i++)
			*g++ = i;
		*g = 0;
		run_gro(in, 46, NULL, OFF_GRO_TCP, groups, 0);
		lens[45]++;
		make_run(&s, 46, lens, 0, in);
		groups[0] = 45;
		groups[46] = 1;
		groups[47] = 45;
		groups[48] = 0;
		run_gro(in, 46, NULL, OFF_GRO_TCP, groups, 0);
	}
	/* OFF_GRO_MAX frames that do not merge (one flow each): the next add is refused and
	 * changes nothing, even one that would merge; after a reset it is taken */
	spec_init(&s, false, false);
	off_gro_reset(&gro);
	for (int i = 0; i < OFF_GRO_MAX + 1; i++) {
		s.sport = (uint16_t)(1000 + i);
		build(&s, in[i]);
	}
	for (int i = 0; i < OFF_GRO_MAX; i++)
		assert_true(off_gro_add(&gro, NULL, in[i]->b, in[i]->len, false, OFF_GRO_TCP));
	assert_int_equal(gro.n, OFF_GRO_MAX);
	assert_false(off_gro_add(&gro, NULL, in[OFF_GRO_MAX]->b, in[OFF_GRO_MAX]->len, false,
	    OFF_GRO_TCP));
	s.sport = (uint16_t)(1000 + OFF_GRO_MAX - 1);
	s.seq += 1000;
	s.payload = payload + 1000;
	build(&s, in[OFF_GRO_MAX + 1]);
	assert_false(off_gro_add(&gro, NULL, in[OFF_GRO_MAX + 1]->b, in[OFF_GRO_MAX + 1]->len,
	    false, OFF_GRO_TCP));
	assert_int_equal(gro.n, OFF_GRO_MAX);
	assert_int_equal(gro.npieces, 0);
	off_gro_finish(&gro);
	for (int i = 0; i < OFF_GRO_MAX; i++) {
		struct virtio_net_hdr vh;
		int nseg;

		assert_int_equal(gather(&gro, i, &vh, outbuf, &nseg), in[i]->len);
		assert_int_equal(nseg, 1);
	}
	off_gro_reset(&gro);
	assert_int_equal(gro.n, 0);
	assert_true(off_gro_add(&gro, NULL, in[OFF_GRO_MAX]->b, in[OFF_GRO_MAX]->len, false,
	    OFF_GRO_TCP));
	assert_int_equal(gro.n, 1);
	/* not IP at all: passes */
	memset(in[0]->b, 0xee, 100);
	run_gro(in, 1, NULL, OFF_GRO_TCP | OFF_GRO_UDP, (const int[]){ 1, 0, 0 }, 0);
	in[0]->tap = true;
	run_gro(in, 1, NULL, OFF_GRO_TCP | OFF_GRO_UDP, (const int[]){ 1, 0, 0 }, 0);
	pkts_free(in, OFF_GRO_MAX + 8);
}

/* ---- round trip -------------------------------------------------------------------------- */

/* Cut super-packet sup (checksum field: the pseudo-header sum) into gso-byte segments and merge
 * them again in batches of OFF_GRO_MAX, as the data path does: one frame per batch, equal to
 * sup when it is the only one (its checksum field too). Every merged frame cut again with its
 * own vnet header (the data path's fallback when the kernel refuses it) gives back the very
 * segments it was made of. */
static void
round_trip(struct pkt *sup, size_t gso, unsigned what)
{
	int nseg = (int)((sup->len - sup->hlen + gso - 1) / gso);
	struct pkt **segs = pkts_new(nseg), **orig = pkts_new(nseg);
	struct virtio_net_hdr h = vnet_for(sup, gso);
	size_t off = 0;

	assert_int_equal(check_split(sup, &h, segs), nseg);
	for (int i = 0; i < nseg; i++)
		copy_pkt(orig[i], segs[i]); /* the heads are rewritten when merged */
	for (int b = 0; b < nseg; b += OFF_GRO_MAX) {
		int n = nseg - b < OFF_GRO_MAX ? nseg - b : OFF_GRO_MAX, got;
		struct virtio_net_hdr vh;
		struct off_split sp;
		size_t len;

		off_gro_reset(&gro);
		gro.bad_csum = 0;
		for (int i = b; i < b + n; i++)
			if (!off_gro_add(&gro, &gro, segs[i]->b, segs[i]->len, sup->tap, what))
				fail_msg("segment %d refused", i);
		off_gro_finish(&gro);
		assert_int_equal(gro.bad_csum, 0);
		assert_int_equal(gro.n, 1);
		len = gather(&gro, 0, &vh, outbuf, &got);
		assert_int_equal(got, n);
		assert_memory_equal(outbuf + sup->hlen, sup->b + sup->hlen + off, len - sup->hlen);
		off += len - sup->hlen;
		if (n > 1) {
			check_merged_vnet(&vh, orig[b], outbuf, len);
			assert_int_equal(off_split_plan(outbuf, len, &vh, sup->tap, &sp), n);
			for (int i = 0; i < n; i++) {
				const struct pkt *o = orig[b + i];
				size_t m;

				m = off_split_segment(&sp, outbuf, i, segbuf, sizeof(segbuf));
				assert_int_equal(m, o->len);
				for (size_t j = 0; j < m; j++)
					if (segbuf[j] != o->b[j])
						fail_msg("segment %d cut again: byte %zu %02x, "
						    "want %02x", b + i, j, segbuf[j], o->b[j]);
			}
		} else {
			assert_true(ref_l4_ok(outbuf, len, sup));
			assert_int_equal(len, orig[b]->len);
			assert_memory_equal(outbuf, orig[b]->b, len);
		}
		if (nseg == 1) {
			size_t c = sup->l4 + csum_off(sup);

			assert_int_equal(len, sup->len);
			assert_memory_equal(outbuf, sup->b, c);
			assert_memory_equal(outbuf + c + 2, sup->b + c + 2, len - c - 2);
		} else if (nseg <= OFF_GRO_MAX) {
			/* every byte, the checksum field too */
			assert_int_equal(len, sup->len);
			if (memcmp(outbuf, sup->b, len) != 0)
				fail_msg("merged frame differs from the super-packet");
		}
	}
	assert_int_equal(off, sup->len - sup->hlen);
	pkts_free(segs, nseg);
	pkts_free(orig, nseg);
}

static void
test_round_trip(void **state)
{
	struct pkt *k = pkt_new();
	struct spec s;

	for (int c = 0; c < 12; c++) {
		spec_init(&s, c & 1, c & 2);
		s.tap = c & 4;
		s.vlan = c >= 8;
		s.csum = CS_PSEUDO;
		if (!s.udp)
			spec_ts(&s, 0xfeedf00d);
		s.plen = 14000 + 7;
		build(&s, k);
		round_trip(k, 1448, OFF_GRO_TCP | OFF_GRO_UDP);
		s.plen = 1448 * 8;
		build(&s, k);
		round_trip(k, 1448, OFF_GRO_TCP | OFF_GRO_UDP);
		s.flags = ACK | PSH;
		s.tcpoptlen = 0;
		s.plen = 1000 * 64;
		build(&s, k);
		round_trip(k, 1000, OFF_GRO_TCP | OFF_GRO_UDP);
		s.plen = 10;
		build(&s, k);
		round_trip(k, 1448, OFF_GRO_TCP | OFF_GRO_UDP);
		s.plen = 30000;
		build(&s, k);
		round_trip(k, 100, OFF_GRO_TCP | OFF_GRO_UDP); /* 300 segments, 5 frames */
	}
	spec_init(&s, false, false);
	memcpy(s.ip4opt, "\x01\x01\x94\x04\x00\x00\x01\x00", 8);
	s.ip4optlen = 8;
	spec_ts(&s, 77);
	s.csum = CS_PSEUDO;
	s.plen = 9999;
	build(&s, k);
	round_trip(k, 1400, OFF_GRO_TCP);
	free(k);
}

/* Random super-packets, round trip each. */
static void
test_round_trip_random(void **state)
{
	struct pkt *k = pkt_new();

	for (int r = 0; r < 400; r++) {
		struct spec s;
		size_t room, gso;

		spec_init(&s, rnd() & 1, rnd() & 1);
		s.tap = rnd() & 1;
		s.vlan = s.tap && (rnd() & 1);
		s.csum = CS_PSEUDO;
		s.seq = rnd();
		s.ack = rnd();
		s.id = (uint16_t)rnd();
		s.win = (uint16_t)rnd();
		s.tos = (uint8_t)rnd();
		s.ttl = (uint8_t)(1 + rnd_below(255));
		s.df = rnd() & 1;
		s.flags = rnd() & 1 ? ACK : ACK | PSH;
		if (!s.v6) {
			s.ip4optlen = 4 * rnd_below(11);
			for (size_t i = 0; i < s.ip4optlen; i++)
				s.ip4opt[i] = 1; /* NOPs */
		}
		if (!s.udp) {
			s.tcpoptlen = 4 * rnd_below(11);
			for (size_t i = 0; i < s.tcpoptlen; i++)
				s.tcpopt[i] = (uint8_t)(i % 4 == 3 ? rnd() : 1);
		}
		room = 65535 - (s.v6 ? 40 : 20 + s.ip4optlen) - (s.udp ? 8 : 20 + s.tcpoptlen);
		s.plen = 1 + (rnd() & 1 ? rnd_below(3000) : rnd_below((uint32_t)room));
		gso = rnd() & 1 ? 1 + rnd_below(1500) : 1 + rnd_below((uint32_t)s.plen + 10);
		s.payload = payload + rnd_below(1000);
		build(&s, k);
		round_trip(k, gso, OFF_GRO_TCP | OFF_GRO_UDP);
	}
	free(k);
}

static int
setup(void **state)
{
	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 7 + (i >> 8) * 13 + 1);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csum_random),
		cmocka_unit_test(test_csum_lengths_and_chains),
		cmocka_unit_test(test_csum_carries),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_split_tcp4),
		cmocka_unit_test(test_split_tcp6),
		cmocka_unit_test(test_split_udp),
		cmocka_unit_test(test_split_tap),
		cmocka_unit_test(test_split_hdr_len_ignored),
		cmocka_unit_test(test_split_refusals),
		cmocka_unit_test(test_split_csum_only),
		cmocka_unit_test(test_gro_merge),
		cmocka_unit_test(test_gro_sequence),
		cmocka_unit_test(test_gro_fields),
		cmocka_unit_test(test_gro_flags),
		cmocka_unit_test(test_gro_bad_csum),
		cmocka_unit_test(test_gro_flows),
		cmocka_unit_test(test_gro_limits),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_round_trip_random),
	};

	return cmocka_run_group_tests_name("offload", tests, setup, NULL);
}
