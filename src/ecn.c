/* ecn.c - RFC 6040 ECN encapsulation and decapsulation (ecn.h). */
#include "ecn.h"

#include <string.h>

#include "frame.h"

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
	/* the checksum over the 16-bit word that holds the TOS byte */
	{
		uint16_t m = (uint16_t)(ip[0] << 8 | ip[1]);

		ip[1] = (uint8_t)((ip[1] & ~3) | ecn);
		frame_csum_update(ip + 10, m, (uint16_t)(ip[0] << 8 | ip[1]));
	}
}

uint8_t
ecn_encap(const uint8_t *f, size_t len, bool tap)
{
	size_t l3;
	unsigned ver = frame_ip(f, len, tap, &l3);
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
	if ((ver = frame_ip(f, len, tap, &l3)) == 0)
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
