/*
 * fuzz_offload.c - libFuzzer target for offload.c: the TSO/USO split of frames read from a vnet
 * device and the GRO coalescing of frames written to one, through the real off_split_plan,
 * off_split_segment, off_parse, off_gro_add, off_gro_finish and off_gro_iov. Byte 0 chooses:
 *   bit 0 set    round trip: a valid super-packet is built from the bytes (IPv4/IPv6, TCP/UDP,
 *                TUN/TAP with or without a VLAN tag, IPv4 and TCP options, gso_size, payload
 *                of up to 4 KiB, or up to the 65535 bytes of IP packet), split, and the
 *                segments coalesced again in batches of OFF_GRO_MAX, as the data path does:
 *                each batch must give one frame, and with one batch that frame must be the
 *                super-packet itself, byte for byte (both hold the pseudo-header sum in the
 *                checksum field, as NEEDS_CSUM wants).
 *   bit 4 set    frames (bit 1: TAP; bits 2-3: what the device takes, OFF_GRO_*): a list of
 *                operations, each one frame for off_gro: [op] then
 *                  op&3 = 0  [len16][len bytes]: these bytes (op&4: checksums made right);
 *                  op&3 = 1  [plen16][at][xor]: the next segment of the flow of the previous
 *                            frame, plen payload bytes (0..4095), header byte at%hlen ^= xor;
 *                  op&3 = 2  [at][xor]: the same with the previous frame's payload length;
 *                  op&3 = 3  finish, check and empty the off_gro;
 *                for 1 and 2, op&4 leaves a wrong L4 checksum; op&8: the other device.
 *   otherwise    raw (bit 1: TAP; bits 2-3: what): bytes 1..10 are a virtio_net_hdr, the rest
 *                a frame. The plan is taken; if it accepts, every segment (at most MAX_SEGS) is
 *                cut into a buffer of exactly its length, checked and fed to an off_gro
 *                (finished, checked and emptied whenever full), and so is the frame itself.
 * Every frame off_gro gives is checked: a lone frame is the one added, unchanged, behind a zero
 * vnet header; a merged one has a consistent vnet header, a valid IPv4 header checksum, an L4
 * checksum that the kernel's NEEDS_CSUM completion makes valid, and cut again with its own vnet
 * header (the data path's fallback) gives back the very frames it was made of, each of which
 * had right checksums: the same bytes but for the IPv4 ID, the checksums and the TCP urgent
 * pointer (meaningless without URG, which is never merged). Checksums
 * are checked with an RFC 1071 sum of this file's own, not with off_csum_*. Segments and frames
 * sit in one arena whose unused bytes are poisoned for ASan, so a write or read one byte past a
 * segment halts the fuzzer; the raw frame is a malloc of its exact size.
 * Seeds in corpus/offload/.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "src/offload.h" /* fuzzers get -I$(srcdir), not -I src */

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#endif
#endif
#ifndef POISON
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

#define MAX_SEGS 2000
#define MAX_FRAME (OFF_FRAME_MAX + 64)
#define SLOT (((MAX_FRAME + 7) & ~(size_t)7) + 64) /* 8-aligned, a poisoned tail */
#define NSLOTS (2 * OFF_GRO_MAX + 2)
#define NADDS (2 * OFF_GRO_MAX + 2)
#define HDR_SAVE 160 /* covers any headers: 18 + 60 + 60 */

static uint8_t *arena;     /* NSLOTS slots */
static size_t slot_len[NSLOTS];
static int slots_used;
static uint8_t cat[MAX_FRAME + OFF_FRAME_MAX];
static uint8_t seg2[MAX_FRAME];
static struct off_gro gro;

/* What was added to gro: where, how long, a hash of the bytes (a lone frame must come out
 * unchanged) and its first bytes (a merge rewrites the headers of the frame leading it). */
static struct {
	const uint8_t *p;
	size_t len;
	uint64_t hash;
	uint8_t hdr[HDR_SAVE];
} adds[NADDS];
static int nadds;
static int owners[2];

static uint16_t
rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void
wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint32_t
rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void
wr32(uint8_t *p, uint32_t v)
{
	wr16(p, (uint16_t)(v >> 16));
	wr16(p + 2, (uint16_t)v);
}

static uint64_t
hash(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3u;
	return h;
}

/* ---- the reference checksum: big-endian 16-bit words, an odd last byte padded ------------- */

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

static uint64_t
ref_pseudo(const uint8_t *f, const struct off_pkt *pk, size_t l4len)
{
	uint64_t s = pk->v6 ? ref_sum(f + pk->l3 + 8, 32, 0) : ref_sum(f + pk->l3 + 12, 8, 0);

	return s + pk->proto + (l4len >> 16) + (l4len & 0xffff);
}

static bool
ref_l4_ok(const uint8_t *f, size_t end, const struct off_pkt *pk)
{
	size_t l4len = end - pk->l4;

	return ref_fold(ref_sum(f + pk->l4, l4len, ref_pseudo(f, pk, l4len))) == 0xffff;
}

static bool
ref_ip_ok(const uint8_t *f, const struct off_pkt *pk)
{
	return pk->v6 || ref_fold(ref_sum(f + pk->l3, pk->l4 - pk->l3, 0)) == 0xffff;
}

/* ---- buffers ------------------------------------------------------------------------------- */

static void
slots_reset(void)
{
	if (arena == NULL) {
		arena = malloc(SLOT * NSLOTS); /* 16-aligned: every slot 8-aligned */
		CHECK(arena != NULL);
		POISON(arena, SLOT * NSLOTS);
	}
	for (int i = 0; i < slots_used; i++)
		POISON(arena + SLOT * (size_t)i, slot_len[i]);
	slots_used = 0;
}

/* A buffer of exactly n bytes: the bytes behind it are poisoned. */
static uint8_t *
slot_take(size_t n)
{
	uint8_t *p;

	CHECK(slots_used < NSLOTS && n <= SLOT - 64);
	slot_len[slots_used] = n;
	p = arena + SLOT * (size_t)slots_used++;
	UNPOISON(p, n);
	return p;
}

/* ---- coalescing ---------------------------------------------------------------------------- */

/* Segment s[0..n) cut again from a merged frame (laid out as pk) and the frame it was made of,
 * which starts at orig: that frame had right checksums, and the two are the same bytes but for
 * the IPv4 ID, the checksums (0 and 0xffff are the same TCP checksum) and the urgent pointer. */
static void
same_as_added(const uint8_t *orig, const uint8_t *s, size_t n, const struct off_pkt *pk)
{
	static uint8_t o[MAX_FRAME];
	size_t c = pk->l4 + (pk->proto == 17 ? 6 : 16);
	uint16_t x, y;
	int a;

	for (a = 0; a < nadds && adds[a].p != orig; a++)
		;
	CHECK(a < nadds && adds[a].len == n && pk->hlen <= HDR_SAVE);
	memcpy(o, adds[a].hdr, pk->hlen);
	memcpy(o + pk->hlen, orig + pk->hlen, n - pk->hlen);
	CHECK(ref_l4_ok(o, n, pk) && ref_ip_ok(o, pk));
	if (!pk->v6) {
		CHECK(memcmp(o, s, pk->l3 + 4) == 0);
		CHECK(memcmp(o + pk->l3 + 6, s + pk->l3 + 6, 4) == 0);
		CHECK(memcmp(o + pk->l3 + 12, s + pk->l3 + 12, c - pk->l3 - 12) == 0);
	} else {
		CHECK(memcmp(o, s, c) == 0);
	}
	if (pk->proto == 6) {
		/* the urgent pointer means nothing without URG (never merged): the kernel's GRO
		 * does not compare it either */
		CHECK(memcmp(o + c + 4, s + c + 4, n - c - 4) == 0);
	} else {
		CHECK(memcmp(o + c + 2, s + c + 2, n - c - 2) == 0);
	}
	x = rd16(o + c);
	y = rd16(s + c);
	if (pk->proto == 6 && rd16(o + c + 2) != rd16(s + c + 2))
		return; /* another urgent pointer, another sum: both checked valid */
	CHECK(x == y || (pk->proto == 6 && (x == 0 || x == 0xffff) && (y == 0 || y == 0xffff)));
}

/* Check frame i of gro (TAP frames if tap); *head: its first piece, *len: its length. The
 * number of frames merged in it. */
static int
check_frame(int i, bool tap, const uint8_t **head, size_t *len)
{
	struct iovec iov[OFF_GRO_SEGS + 2];
	struct virtio_net_hdr vh;
	int n = off_gro_iov(&gro, i, iov, OFF_GRO_SEGS + 2);
	size_t total = 0;

	CHECK(n >= 2 && n - 1 == gro.f[i].nseg && n - 1 <= OFF_GRO_SEGS);
	CHECK(off_gro_iov(&gro, i, iov, n - 1) == 0);
	CHECK(iov[0].iov_len == OFF_VNET_LEN);
	memcpy(&vh, iov[0].iov_base, sizeof(vh));
	for (int k = 1; k < n; k++) {
		CHECK(total + iov[k].iov_len <= sizeof(cat));
		memcpy(cat + total, iov[k].iov_base, iov[k].iov_len);
		total += iov[k].iov_len;
	}
	*head = iov[1].iov_base;
	*len = total;
	if (n == 2) {
		static const struct virtio_net_hdr zero;
		int a;

		CHECK(memcmp(&vh, &zero, sizeof(vh)) == 0);
		for (a = 0; a < nadds && adds[a].p != iov[1].iov_base; a++)
			;
		CHECK(a < nadds && adds[a].len == total && adds[a].hash == hash(cat, total));
		return 1;
	}
	{
		struct off_pkt pk;
		struct off_split sp;
		size_t at, off;
		uint16_t c;

		CHECK(off_parse(cat, total, tap, &pk) == 0 && pk.l4 != 0 && !pk.fragment &&
		    !pk.exthdr && pk.l3 + pk.iplen == total && pk.iplen <= 65535);
		CHECK(vh.flags == VIRTIO_NET_HDR_F_NEEDS_CSUM);
		CHECK(vh.gso_type == (pk.proto == 17 ? VIRTIO_NET_HDR_GSO_UDP_L4 :
		    pk.v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4));
		CHECK(vh.csum_start == pk.l4 && vh.hdr_len == pk.hlen);
		CHECK(vh.csum_offset == (pk.proto == 17 ? 6 : 16));
		CHECK(vh.gso_size == iov[1].iov_len - pk.hlen && vh.gso_size > 0);
		CHECK(ref_ip_ok(cat, &pk));
		if (pk.proto == 17)
			CHECK(rd16(cat + pk.l4 + 4) == total - pk.l4);
		else
			CHECK((cat[pk.l4 + 13] & (uint8_t)~0x08) == 0x10); /* ACK, maybe PSH */
		/* the kernel's completion: sum from csum_start over the seed, invert */
		memcpy(seg2, cat, total);
		at = vh.csum_start + vh.csum_offset;
		c = (uint16_t)~ref_fold(ref_sum(seg2 + vh.csum_start, total - vh.csum_start, 0));
		wr16(seg2 + at, c);
		CHECK(ref_l4_ok(seg2, total, &pk));
		/* cut again: the very payloads it was made of */
		CHECK(off_split_plan(cat, total, &vh, tap, &sp) == n - 1);
		off = 0;
		for (int k = 0; k < n - 1; k++) {
			const uint8_t *pl = k == 0 ? (const uint8_t *)iov[1].iov_base + pk.hlen :
			    iov[k + 1].iov_base;
			size_t pn = k == 0 ? iov[1].iov_len - pk.hlen : iov[k + 1].iov_len;
			size_t m = off_split_segment(&sp, cat, k, seg2, sizeof(seg2));

			CHECK(m == pk.hlen + pn && memcmp(seg2 + pk.hlen, pl, pn) == 0);
			CHECK(ref_l4_ok(seg2, m, &pk) && ref_ip_ok(seg2, &pk));
			if (pk.proto == 6)
				CHECK(rd32(seg2 + pk.l4 + 4) ==
				    rd32(cat + pk.l4 + 4) + (uint32_t)off);
			same_as_added(pl - pk.hlen, seg2, m, &pk);
			off += pn;
		}
	}
	return n - 1;
}

static void
gro_flush(bool tap)
{
	const uint8_t *head;
	size_t len;
	int segs = 0;

	off_gro_finish(&gro);
	for (int i = 0; i < gro.n; i++)
		segs += check_frame(i, tap, &head, &len);
	CHECK(segs == nadds);
	off_gro_reset(&gro);
	nadds = 0;
	slots_reset();
}

/* Add f for device 0 or 1. Callers flush before g is full (a flush frees the slots). */
static void
gro_put(uint8_t *f, size_t len, bool tap, unsigned what, int dev)
{
	CHECK(gro.n < OFF_GRO_MAX && nadds < NADDS);
	CHECK(off_gro_add(&gro, &owners[dev], f, len, tap, what));
	adds[nadds].p = f;
	adds[nadds].len = len;
	adds[nadds].hash = hash(f, len);
	memcpy(adds[nadds].hdr, f, len < HDR_SAVE ? len : HDR_SAVE);
	nadds++;
}

/* ---- raw ----------------------------------------------------------------------------------- */

static void
check_segment(const struct off_split *sp, const uint8_t *f, size_t flen,
    const struct virtio_net_hdr *h, const uint8_t *s, size_t n, bool tap)
{
	struct off_pkt pk;

	if (!sp->gso) {
		CHECK(n == flen);
		if (!sp->csum) {
			CHECK(memcmp(s, f, n) == 0);
			return;
		}
		/* the seed stands for the pseudo-header: with it the sum completes */
		CHECK(memcmp(s, f, sp->csum_at) == 0);
		CHECK(memcmp(s + sp->csum_at + 2, f + sp->csum_at + 2, n - sp->csum_at - 2) == 0);
		CHECK(ref_fold(ref_sum(s + h->csum_start, n - h->csum_start,
		    rd16(f + sp->csum_at))) == 0xffff);
		return;
	}
	CHECK(off_parse(s, n, tap, &pk) == 0);
	CHECK(pk.l3 == sp->pk.l3 && pk.l4 == sp->pk.l4 && pk.hlen == sp->pk.hlen);
	CHECK(pk.proto == sp->pk.proto && pk.l3 + pk.iplen == n && !pk.fragment);
	CHECK(n > pk.hlen && n - pk.hlen <= sp->seg);
	CHECK(ref_ip_ok(s, &pk));
	if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		/* the kernel's seed, for the whole length, stands for the pseudo-header (it may
		 * hold another destination than the header: a routed packet): with the length
		 * swapped for the segment's, the sum completes */
		size_t c = pk.l4 + (pk.proto == 17 ? 6 : 16);
		uint64_t seed = rd16(f + c) + (uint16_t)~(flen - pk.l4) + (n - pk.l4);

		CHECK(ref_fold(ref_sum(s + pk.l4, n - pk.l4, seed)) == 0xffff);
	} else {
		CHECK(ref_l4_ok(s, n, &pk));
	}
	if (pk.proto == 17)
		CHECK(rd16(s + pk.l4 + 4) == n - pk.l4 && rd16(s + pk.l4 + 6) != 0);
}

static void
raw(const uint8_t *data, size_t size)
{
	bool tap = data[0] & 2;
	unsigned what = (data[0] >> 2) & 3;
	struct virtio_net_hdr h;
	struct off_split sp;
	size_t flen = size - 1 - sizeof(h);
	uint8_t *f;
	int nseg;

	memcpy(&h, data + 1, sizeof(h));
	if (flen > MAX_FRAME)
		flen = MAX_FRAME;
	f = malloc(flen > 0 ? flen : 1);
	CHECK(f != NULL);
	memcpy(f, data + 1 + sizeof(h), flen);
	off_gro_reset(&gro);
	nadds = 0;
	slots_reset();
	nseg = off_split_plan(f, flen, &h, tap, &sp);
	CHECK(nseg == -1 || (nseg >= 1 && nseg == sp.nseg));
	if (nseg >= 1) {
		size_t payload = sp.gso ? flen - sp.pk.hlen : 0, got = 0;

		CHECK(!sp.gso || (nseg == (int)((payload + sp.seg - 1) / sp.seg)));
		for (int i = 0; i < nseg && i < MAX_SEGS; i++) {
			size_t want = flen, n;
			uint8_t *s;

			if (sp.gso) {
				size_t off = (size_t)i * sp.seg;

				want = payload - off < sp.seg ? payload - off : sp.seg;
				want += sp.pk.hlen;
			}
			if (gro.n == OFF_GRO_MAX || nadds == NADDS - 1 || slots_used == NSLOTS)
				gro_flush(tap);
			s = slot_take(want);
			CHECK(want == 0 || off_split_segment(&sp, f, i, s, want - 1) == 0);
			n = off_split_segment(&sp, f, i, s, want);
			CHECK(n == want);
			check_segment(&sp, f, flen, &h, s, n, tap);
			if (sp.gso) {
				CHECK(memcmp(s + sp.pk.hlen, f + sp.pk.hlen + got,
				    n - sp.pk.hlen) == 0);
				got += n - sp.pk.hlen;
			}
			gro_put(s, n, tap, what, 0);
		}
	}
	/* the frame itself, as if it came from the peer */
	if (gro.n == OFF_GRO_MAX || nadds == NADDS - 1)
		gro_flush(tap);
	gro_put(f, flen, tap, what, 0);
	gro_flush(tap);
	free(f);
}

/* ---- round trip ---------------------------------------------------------------------------- */

/* Build a valid super-packet from p[0..n) into out; its vnet header into *h. The length. */
static size_t
build(const uint8_t *in, size_t insize, uint8_t *out, struct virtio_net_hdr *h, bool *tapp,
    unsigned *whatp)
{
	uint8_t p[40];
	size_t o = 0, l3, l4, hlen, end, room, plen, ip4opt, tcpopt, gso;
	bool v6, udp, tap, vlan;
	const uint8_t *rest;
	size_t nrest;

	memset(p, 0, sizeof(p));
	memcpy(p, in, insize < sizeof(p) ? insize : sizeof(p));
	rest = insize > sizeof(p) ? in + sizeof(p) : NULL;
	nrest = insize > sizeof(p) ? insize - sizeof(p) : 0;
	v6 = p[0] & 1;
	udp = p[0] & 2;
	tap = p[0] & 4;
	vlan = tap && (p[0] & 8);
	*tapp = tap;
	*whatp = (udp ? OFF_GRO_UDP : OFF_GRO_TCP) | (p[0] & 0x80 ? OFF_GRO_TCP | OFF_GRO_UDP : 0);
	ip4opt = v6 ? 0 : (size_t)(p[1] % 11) * 4;
	tcpopt = udp ? 0 : (size_t)((p[2] & 0x7f) % 11) * 4;
	if (tap) {
		memcpy(out, p + 20, 12);
		o = 12;
		if (vlan) {
			wr16(out + o, 0x8100);
			wr16(out + o + 2, rd16(p + 32));
			o += 4;
		}
		wr16(out + o, v6 ? 0x86dd : 0x0800);
		o += 2;
	}
	l3 = o;
	if (!v6) {
		out[o] = (uint8_t)(0x40 | (20 + ip4opt) / 4);
		out[o + 1] = p[7];
		wr16(out + o + 4, rd16(p + 8));
		wr16(out + o + 6, p[0] & 0x20 ? 0x4000 : 0);
		out[o + 8] = p[10];
		out[o + 9] = udp ? 17 : 6;
		out[o + 10] = out[o + 11] = 0;
		memcpy(out + o + 12, p + 11, 8);
		for (size_t i = 0; i < ip4opt; i++)
			out[o + 20 + i] = i < nrest ? rest[i] : 1;
		l4 = o + 20 + ip4opt;
	} else {
		out[o] = (uint8_t)(0x60 | p[7] >> 4);
		out[o + 1] = (uint8_t)(p[7] << 4 | (p[8] & 15));
		wr16(out + o + 2, rd16(p + 9));
		out[o + 6] = udp ? 17 : 6;
		out[o + 7] = p[10];
		for (int i = 0; i < 32; i++)
			out[o + 8 + i] = (uint8_t)(p[11 + i % 9] + i);
		l4 = o + 40;
	}
	/* L4: ports, then TCP sequence, ack, offset, flags, window, urgent, options */
	memcpy(out + l4, p + 34, 4);
	if (udp) {
		hlen = l4 + 8;
	} else {
		wr32(out + l4 + 4, rd32(p + 3));
		wr32(out + l4 + 8, rd32(p + 11) ^ rd32(p + 15));
		out[l4 + 12] = (uint8_t)((20 + tcpopt) / 4 << 4);
		out[l4 + 13] = p[0] & 0x10 ? 0x18 : 0x10; /* ACK, maybe PSH */
		wr16(out + l4 + 14, rd16(p + 38));
		wr16(out + l4 + 18, 0);
		for (size_t i = 0; i < tcpopt; i++)
			out[l4 + 20 + i] = ip4opt + i < nrest ? rest[ip4opt + i] : 1;
		hlen = l4 + 20 + tcpopt;
	}
	room = 65535 - (hlen - l3);
	plen = 1 + rd16(p + 5) % (p[2] & 0x80 ? room : 4096); /* mostly small: fast */
	gso = rd16(p + 18) % (p[0] & 0x40 ? 2000 : 65535) + 1;
	for (size_t i = 0; i < plen; i++)
		out[hlen + i] = nrest > 0 ? rest[i % nrest] : (uint8_t)(i * 7);
	end = hlen + plen;
	if (v6) {
		wr16(out + l3 + 4, (uint16_t)(end - l3 - 40));
	} else {
		wr16(out + l3 + 2, (uint16_t)(end - l3));
		wr16(out + l3 + 10, (uint16_t)~ref_fold(ref_sum(out + l3, l4 - l3, 0)));
	}
	if (udp)
		wr16(out + l4 + 4, (uint16_t)(end - l4));
	{
		struct off_pkt pk = { .l3 = l3, .l4 = l4, .proto = udp ? 17 : 6, .v6 = v6 };
		size_t c = l4 + (udp ? 6 : 16);

		out[c] = out[c + 1] = 0;
		wr16(out + c, ref_fold(ref_pseudo(out, &pk, end - l4))); /* as the kernel */
	}
	memset(h, 0, sizeof(*h));
	h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h->gso_type = udp ? VIRTIO_NET_HDR_GSO_UDP_L4 :
	    v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4;
	h->gso_size = (uint16_t)gso;
	h->hdr_len = p[1]; /* never used */
	h->csum_start = (uint16_t)l4;
	h->csum_offset = udp ? 6 : 16;
	return end;
}

static void
round_trip(const uint8_t *data, size_t size)
{
	static uint8_t *sup;
	struct virtio_net_hdr h;
	struct off_split sp;
	unsigned what;
	bool tap;
	size_t len, payload, got = 0;
	int nseg;

	if (sup == NULL) {
		sup = malloc(MAX_FRAME);
		CHECK(sup != NULL);
	}
	len = build(data + 1, size - 1, sup, &h, &tap, &what);
	nseg = off_split_plan(sup, len, &h, tap, &sp);
	CHECK(nseg >= 1);
	payload = len - sp.pk.hlen;
	CHECK(nseg == (int)((payload + h.gso_size - 1) / h.gso_size));
	if (nseg > MAX_SEGS)
		nseg = MAX_SEGS;
	for (int b = 0; b < nseg; b += OFF_GRO_MAX) {
		int n = nseg - b < OFF_GRO_MAX ? nseg - b : OFF_GRO_MAX;
		const uint8_t *head;
		size_t flen, c = sp.pk.l4 + (sp.pk.proto == 17 ? 6 : 16);

		off_gro_reset(&gro);
		nadds = 0;
		slots_reset();
		for (int i = b; i < b + n; i++) {
			size_t off = (size_t)i * sp.seg;
			size_t want = sp.pk.hlen + (payload - off < sp.seg ?
			    payload - off : sp.seg);
			uint8_t *s = slot_take(want);

			CHECK(off_split_segment(&sp, sup, i, s, want) == want);
			gro_put(s, want, tap, what, 0);
		}
		off_gro_finish(&gro);
		/* one batch of at most OFF_GRO_SEGS segments and 65535 bytes: one frame */
		CHECK(gro.n == 1);
		CHECK(check_frame(0, tap, &head, &flen) == n);
		CHECK(memcmp(cat + sp.pk.hlen, sup + sp.pk.hlen + got, flen - sp.pk.hlen) == 0);
		got += flen - sp.pk.hlen;
		if (nseg == 1) {
			/* one segment: the super-packet with a full checksum */
			struct off_pkt pk;

			CHECK(flen == len && memcmp(cat, sup, c) == 0);
			CHECK(memcmp(cat + c + 2, sup + c + 2, len - c - 2) == 0);
			CHECK(off_parse(cat, flen, tap, &pk) == 0 && ref_l4_ok(cat, flen, &pk));
		} else if (nseg <= OFF_GRO_MAX) {
			CHECK(flen == len && memcmp(cat, sup, len) == 0);
		}
		off_gro_reset(&gro);
		nadds = 0;
	}
	CHECK(nseg == MAX_SEGS || got == payload);
}

/* ---- frames ------------------------------------------------------------------------------- */

/* Make f's checksums right, if it parses to TCP or UDP: the IPv4 header's, the L4 one. */
static void
fix_csums(uint8_t *f, size_t len, bool tap)
{
	struct off_pkt pk;
	size_t c, end;
	uint16_t v;

	if (off_parse(f, len, tap, &pk) != 0 || pk.l4 == 0 || pk.fragment)
		return;
	if (!pk.v6) {
		f[pk.l3 + 10] = f[pk.l3 + 11] = 0;
		wr16(f + pk.l3 + 10, (uint16_t)~ref_fold(ref_sum(f + pk.l3, pk.l4 - pk.l3, 0)));
	}
	end = pk.l3 + pk.iplen;
	c = pk.l4 + (pk.proto == 17 ? 6 : 16);
	f[c] = f[c + 1] = 0;
	v = (uint16_t)~ref_fold(ref_sum(f + pk.l4, end - pk.l4, ref_pseudo(f, &pk, end - pk.l4)));
	wr16(f + c, pk.proto == 17 && v == 0 ? 0xffff : v);
}

static void
frames(const uint8_t *data, size_t size)
{
	static uint8_t last[MAX_FRAME];
	bool tap = data[0] & 2;
	unsigned what = (data[0] >> 2) & 3;
	size_t pos = 1, lastlen = 0;

	off_gro_reset(&gro);
	nadds = 0;
	slots_reset();
	while (pos < size) {
		uint8_t op = data[pos++];
		struct off_pkt pk;
		size_t len, plen, prev;
		unsigned at, x;
		uint8_t *f;

		if ((op & 3) == 3 || gro.n == OFF_GRO_MAX || nadds == NADDS ||
		    slots_used == NSLOTS) {
			gro_flush(tap);
			if ((op & 3) == 3)
				continue;
		}
		if ((op & 3) == 0) {
			if (size - pos < 2)
				break;
			len = rd16(data + pos);
			pos += 2;
			if (len > size - pos)
				len = size - pos;
			f = slot_take(len);
			memcpy(f, data + pos, len);
			pos += len;
			if (op & 4)
				fix_csums(f, len, tap);
		} else {
			/* the next segment of the previous frame's flow */
			if (off_parse(last, lastlen, tap, &pk) != 0 || pk.l4 == 0 || pk.fragment)
				continue;
			prev = pk.l3 + pk.iplen - pk.hlen;
			if ((op & 3) == 1) {
				if (size - pos < 2)
					break;
				plen = rd16(data + pos) % 4096;
				pos += 2;
			} else {
				plen = prev;
			}
			if (size - pos < 2)
				break;
			at = data[pos];
			x = data[pos + 1];
			pos += 2;
			if (pk.hlen - pk.l3 + plen > 65535)
				continue;
			len = pk.hlen + plen;
			f = slot_take(len);
			memcpy(f, last, pk.hlen);
			for (size_t i = 0; i < plen; i++)
				f[pk.hlen + i] = data[(pos + i * 13) % size] ^ (uint8_t)i;
			if (pk.v6) {
				wr16(f + pk.l3 + 4, (uint16_t)(len - pk.l3 - 40));
			} else {
				wr16(f + pk.l3 + 2, (uint16_t)(len - pk.l3));
				wr16(f + pk.l3 + 4, (uint16_t)(rd16(f + pk.l3 + 4) + 1));
			}
			if (pk.proto == 6)
				wr32(f + pk.l4 + 4, rd32(f + pk.l4 + 4) + (uint32_t)prev);
			else if (pk.proto == 17)
				wr16(f + pk.l4 + 4, (uint16_t)(len - pk.l4));
			f[at % pk.hlen] ^= (uint8_t)x;
			fix_csums(f, len, tap);
			if (op & 4)
				f[pk.l4 + (pk.proto == 17 ? 6 : 16)] ^= 0x10;
		}
		gro_put(f, len, tap, what, (op >> 3) & 1);
		memcpy(last, f, len);
		lastlen = len;
	}
	gro_flush(tap);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1)
		round_trip(data, size);
	else if (data[0] & 0x10)
		frames(data, size);
	else if (size >= 1 + OFF_VNET_LEN)
		raw(data, size);
	return 0;
}
