/* mtu.c - overhead, auto MTU and MSS clamping (mtu.h). */
#include "mtu.h"

#include <sys/socket.h>

#include "frame.h"
#include "wire.h"

#define TCP_TIMESTAMPS 12 /* the option every Linux TCP sends, with its padding */

int
mtu_overhead(int family, enum vt_proto proto, enum vt_devtype type)
{
	int n = family == AF_INET6 ? 40 : 20;

	n += proto == VT_TCP ? 20 + TCP_TIMESTAMPS + WIRE_TCP_PREFIX_LEN : 8;
	n += WIRE_DATA_HDR_LEN + WIRE_INNER_HDR_LEN + WIRE_TAG_LEN;
	return n + (type == VT_TAP ? 18 : 0);
}

int
mtu_for_underlay(int underlay, int family, enum vt_proto proto, enum vt_devtype type,
    bool ipv6)
{
	int mtu = underlay - mtu_overhead(family, proto, type);

	if (ipv6 && mtu < MTU_IPV6_MIN)
		mtu = MTU_IPV6_MIN;
	if (mtu < MTU_MIN)
		mtu = MTU_MIN;
	return mtu > MTU_MAX ? MTU_MAX : mtu;
}

unsigned
mtu_mss(int mtu, unsigned ver)
{
	return (unsigned)mtu - (ver == 6 ? 60 : 40);
}

/* Where the TCP header of the IP packet at ip (len bytes, version ver) is: its offset from
 * ip, or 0 if it is not the first (or only) fragment of a TCP segment. IPv6: behind
 * hop-by-hop, routing and destination options headers. */
static size_t
tcp_at(const uint8_t *ip, size_t len, unsigned ver)
{
	size_t off;
	unsigned next;

	if (ver == 4) {
		if (ip[9] != 6 || ((ip[6] << 8 | ip[7]) & 0x1fff) != 0)
			return 0;
		return (size_t)(ip[0] & 15) * 4;
	}
	next = ip[6];
	off = 40;
	for (int k = 0; k < 8 && (next == 0 || next == 43 || next == 60); k++) {
		if (off + 8 > len)
			return 0;
		next = ip[off];
		off += ((size_t)ip[off + 1] + 1) * 8;
	}
	return next == 6 ? off : 0; /* a fragment header (44) or anything else: leave it */
}

bool
mtu_clamp_mss(uint8_t *f, size_t len, bool tap, int mtu)
{
	size_t l3, t, doff, o;
	unsigned ver = frame_ip(f, len, tap, &l3), limit;
	uint8_t *ip = f + l3, *tcp;

	if (ver == 0 || (t = tcp_at(ip, len - l3, ver)) == 0 || l3 + t + 20 > len)
		return false;
	tcp = ip + t;
	doff = (size_t)(tcp[12] >> 4) * 4;
	if (!(tcp[13] & 0x02) || doff < 20 || l3 + t + doff > len)
		return false; /* not a SYN, or its options run past the frame */
	limit = mtu_mss(mtu, ver);
	for (o = 20; o < doff;) {
		unsigned kind = tcp[o], olen, mss;

		if (kind == 0)
			break;
		if (kind == 1) {
			o++;
			continue;
		}
		if (o + 2 > doff || (olen = tcp[o + 1]) < 2 || o + olen > doff)
			break;
		if (kind == 2 && olen == 4) {
			uint16_t old, new;

			mss = (unsigned)tcp[o + 2] << 8 | tcp[o + 3];
			if (mss <= limit)
				return false;
			old = (uint16_t)mss;
			new = (uint16_t)limit;
			tcp[o + 2] = (uint8_t)(limit >> 8);
			tcp[o + 3] = (uint8_t)limit;
			/* The checksum sums 16-bit words from the TCP header's start: a value at an
			 * odd offset lies across two words, byte-swapped. */
			if ((o + 2) & 1) {
				old = (uint16_t)(old >> 8 | old << 8);
				new = (uint16_t)(new >> 8 | new << 8);
			}
			frame_csum_update(tcp + 16, old, new);
			return true;
		}
		o += olen;
	}
	return false;
}
