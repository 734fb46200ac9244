/* offload.c - TSO/USO segmentation and GRO coalescing in userspace (offload.h). */
#include "offload.h"

#include <string.h>

#define TCP_FIN 0x01
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_CWR 0x80

/* <linux/if_ether.h> comes with <linux/virtio_net.h>: ETH_HLEN, ETH_P_IP, ETH_P_IPV6,
 * ETH_P_8021Q, ETH_P_8021AD. */

#define IP4_FLAGS 0xc000 /* DF and the reserved bit: alike in segments merged */
#define IP4_DF 0x4000
#define IP4_FRAG 0x3fff /* MF and the fragment offset */

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* ---- checksums ---------------------------------------------------------------------------- */

/* The sum runs over native-order words: the folded result, stored back in native order, is the
 * checksum in network order (RFC 1071, byte-order independence). Words are 32 or 64 bits wide,
 * added with an end-around carry (2^64 = 1 modulo 65535) or without carries into a wider sum:
 * 2^16 = 1 modulo 65535, so either way this is the sum of the 16-bit words. */
static inline uint64_t
add64(uint64_t s, uint64_t v)
{
	s += v;
	return s + (s < v);
}

uint64_t
off_csum_add(const uint8_t *p, size_t len, uint64_t sum)
{
	uint64_t a = 0, b = 0, c = 0, d = 0, v;

	/* Four independent sums of 32-bit words need no carries (a frame of 64 KiB adds up to
	 * less than 2^45 in each); they are folded into sum at the end. */
	for (; len >= 32; p += 32, len -= 32) {
		uint32_t w[8];

		memcpy(w, p, sizeof(w));
		a += (uint64_t)w[0] + w[4];
		b += (uint64_t)w[1] + w[5];
		c += (uint64_t)w[2] + w[6];
		d += (uint64_t)w[3] + w[7];
	}
	sum = add64(sum, a);
	sum = add64(sum, b);
	sum = add64(sum, c);
	sum = add64(sum, d);
	for (; len >= 8; p += 8, len -= 8) {
		memcpy(&v, p, 8);
		sum = add64(sum, v);
	}
	if (len > 0) {
		v = 0;
		memcpy(&v, p, len); /* the bytes in memory order, zero behind: an odd end pads */
		sum = add64(sum, v);
	}
	return sum;
}

uint16_t
off_csum_fold(uint64_t sum)
{
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* Store a checksum computed over native-order words. */
static void
store_csum(uint8_t *p, uint16_t c)
{
	memcpy(p, &c, sizeof(c));
}

/* The TCP/UDP pseudo-header of f's packet for an L4 length of l4len. */
static uint64_t
pseudo(const uint8_t *f, const struct off_pkt *pk, size_t l4len)
{
	uint8_t tail[4] = { 0, pk->proto, (uint8_t)(l4len >> 8), (uint8_t)l4len };
	uint64_t s;

	if (pk->v6)
		s = off_csum_add(f + pk->l3 + 8, 32, 0);
	else
		s = off_csum_add(f + pk->l3 + 12, 8, 0);
	return off_csum_add(tail, sizeof(tail), s);
}

/* Offset of the checksum field in the L4 header. */
static size_t
l4_csum_off(const struct off_pkt *pk)
{
	return pk->proto == 6 ? 16 : 6;
}

/* Whether the checksums of f's packet (it ends at f + len) are right: the L4 checksum, and the
 * IPv4 header checksum (a merged frame gets a fresh one, which would cover a corrupt header). */
static bool
csum_ok(const uint8_t *f, size_t len, const struct off_pkt *pk)
{
	size_t l4len = len - pk->l4;

	if (!pk->v6 && off_csum_fold(off_csum_add(f + pk->l3, pk->l4 - pk->l3, 0)) != 0xffff)
		return false;
	return off_csum_fold(off_csum_add(f + pk->l4, l4len, pseudo(f, pk, l4len))) == 0xffff;
}

static void
ip4_csum(uint8_t *ip, size_t ihl)
{
	ip[10] = ip[11] = 0;
	store_csum(ip + 10, (uint16_t)~off_csum_fold(off_csum_add(ip, ihl, 0)));
}

/* ---- parsing ------------------------------------------------------------------------------ */

int
off_parse(const uint8_t *f, size_t len, bool tap, struct off_pkt *pk)
{
	size_t l3 = 0, l4, end;
	uint16_t et = 0;
	uint8_t proto;
	unsigned ver;

	memset(pk, 0, sizeof(*pk));
	if (tap) {
		if (len < ETH_HLEN)
			return -1;
		et = get16(f + 12);
		l3 = ETH_HLEN;
		/* up to two VLAN tags (802.1ad outside, 802.1Q inside) */
		for (int k = 0; k < 2 && (et == ETH_P_8021Q || et == ETH_P_8021AD); k++) {
			if (len < l3 + 4)
				return -1;
			et = get16(f + l3 + 2);
			l3 += 4;
		}
		if (et != ETH_P_IP && et != ETH_P_IPV6)
			return -1;
	}
	if (len <= l3)
		return -1;
	ver = f[l3] >> 4;
	if (tap && ver != (et == ETH_P_IP ? 4u : 6u))
		return -1;
	pk->l3 = l3;
	if (ver == 4) {
		size_t ihl = (size_t)(f[l3] & 15) * 4;

		if (len - l3 < 20 || ihl < 20)
			return -1;
		pk->iplen = get16(f + l3 + 2);
		if (pk->iplen < ihl || pk->iplen > len - l3)
			return -1;
		proto = f[l3 + 9];
		pk->fragment = (get16(f + l3 + 6) & IP4_FRAG) != 0;
		l4 = l3 + ihl;
	} else if (ver == 6) {
		if (len - l3 < 40)
			return -1;
		pk->iplen = 40 + (size_t)get16(f + l3 + 4);
		if (pk->iplen > len - l3)
			return -1;
		pk->v6 = true;
		proto = f[l3 + 6];
		l4 = l3 + 40;
		end = l3 + pk->iplen;
		/* Hop-by-hop, routing and destination options may stand in front of L4. */
		for (int k = 0; k < 8 && (proto == 0 || proto == 43 || proto == 60); k++) {
			if (l4 + 8 > end)
				return -1;
			proto = f[l4];
			l4 += ((size_t)f[l4 + 1] + 1) * 8;
			if (l4 > end)
				return -1;
			pk->exthdr = true;
		}
		if (proto == 0 || proto == 43 || proto == 60)
			return -1; /* more than 8 of them */
		if (proto == 44)
			pk->fragment = true;
	} else {
		return -1;
	}
	pk->proto = proto;
	end = l3 + pk->iplen;
	if (pk->fragment)
		return 0;
	if (proto == 6 && l4 + 20 <= end) {
		size_t doff = (size_t)(f[l4 + 12] >> 4) * 4;

		if (doff >= 20 && l4 + doff <= end) {
			pk->l4 = l4;
			pk->hlen = l4 + doff;
		}
	} else if (proto == 17 && l4 + 8 <= end) {
		pk->l4 = l4;
		pk->hlen = l4 + 8;
	}
	return 0;
}

/* ---- out: cutting super-packets ----------------------------------------------------------- */

int
off_split_plan(const uint8_t *f, size_t len, const struct virtio_net_hdr *h, bool tap,
    struct off_split *sp)
{
	unsigned gso = h->gso_type & (unsigned)~VIRTIO_NET_HDR_GSO_ECN;
	bool parsed;
	size_t payload;

	memset(sp, 0, sizeof(*sp));
	sp->len = len;
	sp->nseg = 1;
	parsed = off_parse(f, len, tap, &sp->pk) == 0;
	if (gso == VIRTIO_NET_HDR_GSO_NONE) {
		if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
			/* The kernel left the sum to us, as skb_checksum_help would do it: from
			 * csum_start to the end, over the pseudo-header sum already in place. The
			 * offset must be even for the native-order sum. */
			size_t from = h->csum_start, at = from + h->csum_offset;

			if (from >= len || at + 2 > len || (h->csum_offset & 1))
				return -1;
			sp->csum = true;
			sp->csum_from = from;
			sp->csum_at = at;
		}
		return 1;
	}
	if (!parsed || sp->pk.fragment || sp->pk.l4 == 0 || sp->pk.l3 + sp->pk.iplen != len)
		return -1;
	if (!(gso == VIRTIO_NET_HDR_GSO_TCPV4 && !sp->pk.v6 && sp->pk.proto == 6) &&
	    !(gso == VIRTIO_NET_HDR_GSO_TCPV6 && sp->pk.v6 && sp->pk.proto == 6) &&
	    !(gso == VIRTIO_NET_HDR_GSO_UDP_L4 && sp->pk.proto == 17))
		return -1;
	if ((h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) && h->csum_start != sp->pk.l4)
		return -1;
	if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		sp->seeded = true;
		memcpy(&sp->seed, f + sp->pk.l4 + l4_csum_off(&sp->pk), sizeof(sp->seed));
	}
	payload = len - sp->pk.hlen;
	if (h->gso_size == 0 || payload == 0)
		return -1;
	sp->gso = true;
	sp->seg = h->gso_size;
	sp->nseg = (int)((payload + sp->seg - 1) / sp->seg);
	return sp->nseg;
}

/* The pseudo-header sum of a segment of l4len bytes: the kernel's seed with the length taken
 * out and the segment's put in (as its own GSO does), or, without a seed, from the addresses. */
static uint64_t
seg_pseudo(const struct off_split *sp, const uint8_t *out, size_t l4len)
{
	size_t whole = sp->len - sp->pk.l4;
	uint8_t o[2] = { (uint8_t)(whole >> 8), (uint8_t)whole };
	uint8_t n[2] = { (uint8_t)(l4len >> 8), (uint8_t)l4len };
	uint16_t ow, nw;

	if (!sp->seeded)
		return pseudo(out, &sp->pk, l4len);
	memcpy(&ow, o, sizeof(ow));
	memcpy(&nw, n, sizeof(nw));
	return (uint64_t)sp->seed + (uint16_t)~ow + nw;
}

size_t
off_split_segment(const struct off_split *sp, const uint8_t *f, int i, uint8_t *out,
    size_t cap)
{
	const struct off_pkt *pk = &sp->pk;
	size_t off, plen, total, l4len;
	uint16_t c;

	if (!sp->gso) {
		if (sp->len > cap)
			return 0;
		memcpy(out, f, sp->len);
		if (sp->csum) {
			c = (uint16_t)~off_csum_fold(off_csum_add(out + sp->csum_from,
			    sp->len - sp->csum_from, 0));
			store_csum(out + sp->csum_at, c != 0 ? c : 0xffff);
		}
		return sp->len;
	}
	off = pk->hlen + (size_t)i * sp->seg;
	plen = sp->len - off < sp->seg ? sp->len - off : sp->seg;
	total = pk->hlen + plen;
	if (total > cap)
		return 0;
	memcpy(out, f, pk->hlen);
	memcpy(out + pk->hlen, f + off, plen);
	if (pk->v6) {
		put16(out + pk->l3 + 4, (uint16_t)(total - pk->l3 - 40));
	} else {
		put16(out + pk->l3 + 2, (uint16_t)(total - pk->l3));
		put16(out + pk->l3 + 4, (uint16_t)(get16(f + pk->l3 + 4) + i));
		ip4_csum(out + pk->l3, pk->l4 - pk->l3);
	}
	l4len = total - pk->l4;
	if (pk->proto == 6) {
		uint8_t *th = out + pk->l4;

		put32(th + 4, get32(f + pk->l4 + 4) + (uint32_t)((size_t)i * sp->seg));
		if (i != sp->nseg - 1)
			th[13] &= (uint8_t)~(TCP_FIN | TCP_PSH);
		if (i != 0)
			th[13] &= (uint8_t)~TCP_CWR;
	} else {
		put16(out + pk->l4 + 4, (uint16_t)l4len);
	}
	out[pk->l4 + l4_csum_off(pk)] = out[pk->l4 + l4_csum_off(pk) + 1] = 0;
	c = (uint16_t)~off_csum_fold(off_csum_add(out + pk->l4, l4len, seg_pseudo(sp, out, l4len)));
	if (c == 0 && pk->proto == 17)
		c = 0xffff; /* 0 would mean "no checksum" */
	store_csum(out + pk->l4 + l4_csum_off(pk), c);
	return total;
}

/* ---- in: coalescing ----------------------------------------------------------------------- */

void
off_gro_reset(struct off_gro *g)
{
	g->n = 0;
	g->npieces = 0;
}

/* Whether frame a (of F) and b carry the same flow: addresses, protocol and ports. */
static bool
same_flow(const struct off_gro_frame *F, const uint8_t *b, const struct off_pkt *pk)
{
	const uint8_t *a = F->f;

	if (F->pk.l4 == 0 || F->pk.v6 != pk->v6 || F->pk.proto != pk->proto ||
	    F->pk.l3 != pk->l3)
		return false;
	if (pk->v6 ? memcmp(a + pk->l3 + 8, b + pk->l3 + 8, 32) != 0 :
	    memcmp(a + pk->l3 + 12, b + pk->l3 + 12, 8) != 0)
		return false;
	return memcmp(a + F->pk.l4, b + pk->l4, 4) == 0;
}

/* Whether b may follow the last segment of F: everything but the lengths, IDs, checksums and
 * the sequence number alike. */
static bool
headers_match(const struct off_gro_frame *F, const uint8_t *b, const struct off_pkt *pk)
{
	const uint8_t *a = F->f;
	size_t l3 = pk->l3, l4 = pk->l4;

	if (F->pk.l4 != l4 || F->pk.hlen != pk->hlen || memcmp(a, b, l3) != 0)
		return false;
	if (pk->v6) {
		if (memcmp(a + l3, b + l3, 4) != 0 || a[l3 + 7] != b[l3 + 7])
			return false;
	} else {
		if (a[l3 + 1] != b[l3 + 1] || a[l3 + 8] != b[l3 + 8] ||
		    (get16(a + l3 + 6) & IP4_FLAGS) != (get16(b + l3 + 6) & IP4_FLAGS) ||
		    memcmp(a + l3 + 20, b + l3 + 20, l4 - l3 - 20) != 0)
			return false;
	}
	if (pk->proto == 6)
		/* ack; data offset; window; options (the flags are checked by the caller) */
		return memcmp(a + l4 + 8, b + l4 + 8, 5) == 0 &&
		    memcmp(a + l4 + 14, b + l4 + 14, 2) == 0 &&
		    memcmp(a + l4 + 20, b + l4 + 20, pk->hlen - l4 - 20) == 0;
	return true;
}

/* Append b to F if it continues it; false if it does not (*bad: because b's checksum is wrong). */
static bool
try_merge(struct off_gro *g, struct off_gro_frame *F, const uint8_t *b, size_t len,
    const struct off_pkt *pk, bool *bad)
{
	size_t plen = len - pk->hlen;
	struct off_gro_piece *pc;
	bool psh = false;

	if (!F->open || F->nseg >= OFF_GRO_SEGS || g->npieces == OFF_GRO_MAX ||
	    plen > F->seg || F->total - pk->l3 + plen > 65535 || !headers_match(F, b, pk))
		return false;
	if (pk->proto == 6) {
		if (get32(b + pk->l4 + 4) != F->next_seq)
			return false;
		psh = (b[pk->l4 + 13] & TCP_PSH) != 0;
	}
	/* Without DF the IDs must count up, as the kernel gives them when it cuts the frame
	 * again: datagrams that may still be fragmented keep their own. */
	if (!pk->v6 && !(get16(b + pk->l3 + 6) & IP4_DF) &&
	    get16(b + pk->l3 + 4) != (uint16_t)(get16(F->f + pk->l3 + 4) + F->nseg))
		return false;
	/* Checksums before merging: the merged frame goes to the kernel as NEEDS_CSUM, which
	 * would otherwise cover a corrupt segment with a fresh sum. */
	if (!F->verified) {
		if (!csum_ok(F->f, F->len, &F->pk)) {
			g->bad_csum++;
			F->open = false;
			return false;
		}
		F->verified = true;
	}
	if (!csum_ok(b, len, pk)) {
		g->bad_csum++;
		*bad = true;
		return false;
	}
	pc = &g->pieces[g->npieces];
	pc->p = b + pk->hlen;
	pc->len = plen;
	pc->next = -1;
	if (F->tail == -1)
		F->head = g->npieces;
	else
		g->pieces[F->tail].next = g->npieces;
	F->tail = g->npieces++;
	F->nseg++;
	F->bytes += len;
	F->total += plen;
	F->next_seq += (uint32_t)plen;
	if (psh) {
		F->psh = true;
		F->open = false;
	}
	if (plen < F->seg)
		F->open = false; /* a short segment ends a run */
	return true;
}

/* Close the open frames of owner between the hosts of f's packet. */
static void
close_hosts(struct off_gro *g, const void *owner, const uint8_t *f, const struct off_pkt *pk)
{
	for (int j = 0; j < g->n; j++) {
		struct off_gro_frame *F = &g->f[j];
		const uint8_t *a = F->f;

		if (!F->open || F->owner != owner || F->pk.v6 != pk->v6 || F->pk.l3 != pk->l3)
			continue;
		if (pk->v6 ? memcmp(a + pk->l3 + 8, f + pk->l3 + 8, 32) == 0 :
		    memcmp(a + pk->l3 + 12, f + pk->l3 + 12, 8) == 0)
			F->open = false;
	}
}

bool
off_gro_add(struct off_gro *g, void *owner, uint8_t *f, size_t len, bool tap, unsigned what)
{
	struct off_gro_frame *F;
	struct off_pkt pk;
	bool l4, flow, cand = false, bad = false;
	uint8_t flags = 0;

	if (g->n == OFF_GRO_MAX)
		return false;
	l4 = what != 0 && off_parse(f, len, tap, &pk) == 0 && !pk.fragment && pk.l4 != 0;
	flow = l4 && !pk.exthdr && pk.l3 + pk.iplen == len;
	if (flow && pk.proto == 6 && (what & OFF_GRO_TCP)) {
		flags = f[pk.l4 + 13];
		cand = (flags == TCP_ACK || flags == (TCP_ACK | TCP_PSH)) && len > pk.hlen;
	} else if (flow && pk.proto == 17 && (what & OFF_GRO_UDP)) {
		/* A zero checksum (IPv4: none) cannot be verified: such datagrams pass. */
		cand = len > pk.hlen && get16(f + pk.l4 + 6) != 0 &&
		    get16(f + pk.l4 + 4) == len - pk.l4;
	} else {
		flow = false;
	}
	if (what != 0 && !l4 && off_parse(f, len, tap, &pk) == 0 &&
	    (pk.fragment || pk.proto == 6 || pk.proto == 17))
		/* A fragment (or a TCP/UDP packet whose header we cannot read) may belong to any
		 * flow between its hosts: nothing of theirs merges across it. */
		close_hosts(g, owner, f, &pk);
	if (cand) {
		/* The newest frame of the flow takes it, or nothing does: order within a flow. */
		for (int j = g->n - 1; j >= 0; j--) {
			F = &g->f[j];
			if (F->owner != owner || !same_flow(F, f, &pk))
				continue;
			if (try_merge(g, F, f, len, &pk, &bad))
				return true;
			break;
		}
	}
	F = &g->f[g->n++];
	memset(F, 0, sizeof(*F));
	F->owner = owner;
	F->f = f;
	F->len = len;
	F->head = F->tail = -1;
	F->nseg = 1;
	F->bytes = len;
	F->total = len;
	if (l4)
		F->pk = pk; /* so that later frames of the flow find it, and do not pass it */
	F->open = cand && !(flags & TCP_PSH) && !bad; /* bad: counted once, never a head */
	if (cand) {
		F->seg = len - pk.hlen;
		if (pk.proto == 6)
			F->next_seq = get32(f + pk.l4 + 4) + (uint32_t)F->seg;
	}
	return true;
}

void
off_gro_finish(struct off_gro *g)
{
	for (int i = 0; i < g->n; i++) {
		struct off_gro_frame *F = &g->f[i];
		const struct off_pkt *pk = &F->pk;
		uint8_t *a = F->f;
		size_t l4len;

		memset(&F->vh, 0, sizeof(F->vh));
		if (F->nseg == 1)
			continue;
		l4len = F->total - pk->l4;
		if (pk->v6) {
			put16(a + pk->l3 + 4, (uint16_t)(F->total - pk->l3 - 40));
		} else {
			put16(a + pk->l3 + 2, (uint16_t)(F->total - pk->l3));
			ip4_csum(a + pk->l3, pk->l4 - pk->l3);
		}
		if (pk->proto == 6) {
			if (F->psh)
				a[pk->l4 + 13] |= TCP_PSH;
			F->vh.gso_type = pk->v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4;
		} else {
			put16(a + pk->l4 + 4, (uint16_t)l4len);
			F->vh.gso_type = VIRTIO_NET_HDR_GSO_UDP_L4;
		}
		/* NEEDS_CSUM: the field holds the pseudo-header sum, the kernel adds the rest. */
		store_csum(a + pk->l4 + l4_csum_off(pk), off_csum_fold(pseudo(a, pk, l4len)));
		F->vh.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		F->vh.hdr_len = (uint16_t)pk->hlen;
		F->vh.gso_size = (uint16_t)F->seg;
		F->vh.csum_start = (uint16_t)pk->l4;
		F->vh.csum_offset = (uint16_t)l4_csum_off(pk);
	}
}

int
off_gro_iov(struct off_gro *g, int i, struct iovec *iov, int max)
{
	struct off_gro_frame *F = &g->f[i];
	int n = 2;

	if (max < 2 + F->nseg - 1)
		return 0;
	iov[0].iov_base = &F->vh;
	iov[0].iov_len = OFF_VNET_LEN;
	iov[1].iov_base = F->f;
	iov[1].iov_len = F->len;
	for (int k = F->head; k != -1; k = g->pieces[k].next) {
		iov[n].iov_base = (void *)(uintptr_t)g->pieces[k].p;
		iov[n++].iov_len = g->pieces[k].len;
	}
	return n;
}
