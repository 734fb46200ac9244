/* frame.c - IP header location and checksum update (frame.h). */
#include "frame.h"

unsigned
frame_ip(const uint8_t *f, size_t len, bool tap, size_t *l3)
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

void
frame_csum_update(uint8_t *sum, uint16_t old, uint16_t new)
{
	uint32_t hc = (uint32_t)sum[0] << 8 | sum[1], s;

	s = (~hc & 0xffff) + (~(uint32_t)old & 0xffff) + new;
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	hc = ~s & 0xffff;
	sum[0] = (uint8_t)(hc >> 8);
	sum[1] = (uint8_t)hc;
}
