/* ecn.c - RFC 6040 ECN encapsulation and decapsulation (ecn.h). */
#include "ecn.h"

#include <string.h>

/* Where the IP header of f starts and its version (4 or 6); 0 if it is no IP packet. */
static unsigned
ip_at(const uint8_t *f, size_t len, bool tap, size_t *l3)
{
	unsigned et = 0, ver;

	*l3 = 0;
	if (tap) {
		if (len < 14)
			return 0;
		et = (unsigned)f[12] << 8 | f[13];
		*l3 = 14;
		/* up to two VLAN tags (802.1ad outside, 802.1Q inside) */
		for (int k = 0; k < 2 && (et == 0x8100 || et == 0x88a8); k++) {
			if (len < *l3 + 4)
				return 0;
			et = (unsigned)f[*l3 + 2] << 8 | f[*l3 + 3];
			*l3 += 4;
		}
		if (et != 0x0800 && et != 0x86dd)
			return 0;
	}
	if (len < *l3 + (size_t)20)
		return 0;
	ver = f[*l3] >> 4;
	if (ver == 4 && (!tap || et == 0x0800) && (f[*l3] & 15) >= 5 &&
	    *l3 + (size_t)(f[*l3] & 15) * 4 <= len)
		return 4;
	if (ver == 6 && (!tap || et == 0x86dd) && len >= *l3 + 40)
		return 6;
	return 0;
}

/* The ECN field of the IP header at ip. */
static uint8_t
get_ecn(const uint8_t *ip, unsigned ver)
{
	return ver == 4 ? ip[1] & 3 : (ip[1] >> 4) & 3;
}

static void
set_ecn(uint8_t *ip, unsigned ver, uint8_t ecn)
{
	if (ver == 6) {
		ip[1] = (uint8_t)((ip[1] & ~0x30) | ecn << 4);
		return;
	}
	/* RFC 1624: HC' = ~(~HC + ~m + m'), over the 16-bit word holding the TOS byte. */
	{
		uint32_t m = (uint32_t)ip[0] << 8 | ip[1], hc = (uint32_t)ip[10] << 8 | ip[11], sum;

		ip[1] = (uint8_t)((ip[1] & ~3) | ecn);
		sum = (~hc & 0xffff) + (~m & 0xffff) + ((uint32_t)ip[0] << 8 | ip[1]);
		sum = (sum & 0xffff) + (sum >> 16);
		sum = (sum & 0xffff) + (sum >> 16);
		hc = ~sum & 0xffff;
		ip[10] = (uint8_t)(hc >> 8);
		ip[11] = (uint8_t)hc;
	}
}

uint8_t
ecn_encap(const uint8_t *f, size_t len, bool tap)
{
	size_t l3;
	unsigned ver = ip_at(f, len, tap, &l3);
	if (ver == 0)
		return ECN_NOT_ECT;
	return get_ecn(f + l3, ver);
}

bool
ecn_decap(uint8_t *f, size_t len, bool tap, uint8_t outer)
{
	size_t l3;
	unsigned ver;
	uint8_t in;

	outer &= 3;
	if (outer == ECN_NOT_ECT || outer == ECN_ECT0)
		return true; /* the inner field stands */
	if ((ver = ip_at(f, len, tap, &l3)) == 0)
		return true; /* not IP: nothing to mark, nothing to drop */
	in = get_ecn(f + l3, ver);
	if (outer == ECN_CE) {
		if (in == ECN_NOT_ECT)
			return false;
		if (in != ECN_CE)
			set_ecn(f + l3, ver, ECN_CE);
	} else if (in == ECN_ECT0) { /* outer ECT(1) */
		set_ecn(f + l3, ver, ECN_ECT1);
	}
	return true;
}
