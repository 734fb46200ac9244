/*
 * test_mtu.c - sizes through the tunnel: the overhead per family, transport and type, the auto
 * MTU from an underlay MTU (bounds, the IPv6 floor), and MSS clamping: IPv4 and IPv6 SYNs and
 * SYN-ACKs, on tun and on tap with VLAN tags, the MSS option at even and odd offsets among
 * other options; after a clamp the TCP checksum is right (checked with a sum of this file's
 * own) and nothing else changed; frames that must stay untouched (not a SYN, MSS already small,
 * a fragment, no MSS option, truncated options, not TCP, not IP) do.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "mtu.h"

static uint32_t
sum16(const uint8_t *p, size_t len, uint32_t s)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		s += (uint32_t)p[len - 1] << 8;
	return s;
}

static uint16_t
fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* Whether the TCP checksum of the IP packet at ip (version ver, tcp at t, len bytes of TCP) is
 * right. */
static bool
tcp_sum_ok(const uint8_t *ip, unsigned ver, size_t t, size_t len)
{
	uint32_t s = 0;

	if (ver == 4)
		s = sum16(ip + 12, 8, 0);
	else
		s = sum16(ip + 8, 32, 0);
	s += 6 + (uint32_t)len;
	return fold(sum16(ip + t, len, s)) == 0xffff;
}

static void
set_tcp_sum(uint8_t *ip, unsigned ver, size_t t, size_t len)
{
	uint32_t s;

	ip[t + 16] = ip[t + 17] = 0;
	s = ver == 4 ? sum16(ip + 12, 8, 0) : sum16(ip + 8, 32, 0);
	s += 6 + (uint32_t)len;
	s = (uint16_t)~fold(sum16(ip + t, len, s));
	ip[t + 16] = (uint8_t)(s >> 8);
	ip[t + 17] = (uint8_t)s;
}

/* A TCP SYN (flags) of version ver at f + l2 with options opt (olen bytes, a multiple of 4)
 * and 10 payload bytes; the frame's length. */
static size_t
syn(uint8_t *f, size_t l2, unsigned ver, uint8_t flags, const uint8_t *opt, size_t olen)
{
	uint8_t *ip = f + l2;
	size_t ihl = ver == 4 ? 20 : 40, tl = 20 + olen + 10;

	memset(ip, 0, ihl + tl);
	if (ver == 4) {
		ip[0] = 0x45;
		ip[2] = (uint8_t)((ihl + tl) >> 8);
		ip[3] = (uint8_t)(ihl + tl);
		ip[8] = 64;
		ip[9] = 6;
		memcpy(ip + 12, "\x0a\x01\x00\x01\x0a\x02\x00\x01", 8);
	} else {
		ip[0] = 0x60;
		ip[4] = (uint8_t)(tl >> 8);
		ip[5] = (uint8_t)tl;
		ip[6] = 6;
		ip[7] = 64;
		ip[8] = 0xfd;
		ip[23] = 1;
		ip[24] = 0xfd;
		ip[39] = 2;
	}
	ip[ihl + 0] = 0x9c;
	ip[ihl + 2] = 0x1f;
	ip[ihl + 3] = 0x40;
	ip[ihl + 12] = (uint8_t)((20 + olen) / 4 << 4);
	ip[ihl + 13] = flags;
	memcpy(ip + ihl + 20, opt, olen);
	memset(ip + ihl + 20 + olen, 'x', 10);
	set_tcp_sum(ip, ver, ihl, tl);
	return l2 + ihl + tl;
}

static unsigned
mss_of(const uint8_t *f, size_t at)
{
	return (unsigned)f[at] << 8 | f[at + 1];
}

static void
test_overhead(void **state)
{
	(void)state;
	assert_int_equal(mtu_overhead(AF_INET, VT_UDP, VT_TUN), 20 + 8 + 33);
	assert_int_equal(mtu_overhead(AF_INET6, VT_UDP, VT_TUN), 40 + 8 + 33);
	assert_int_equal(mtu_overhead(AF_INET, VT_TCP, VT_TUN), 20 + 32 + 2 + 33);
	assert_int_equal(mtu_overhead(AF_INET6, VT_UDP, VT_TAP), 40 + 8 + 33 + 18);
	assert_int_equal(mtu_for_underlay(1500, AF_INET, VT_UDP, VT_TUN, false), 1439);
	assert_int_equal(mtu_for_underlay(1500, AF_INET6, VT_UDP, VT_TUN, false), 1419);
	assert_int_equal(mtu_for_underlay(1300, AF_INET, VT_UDP, VT_TUN, false), 1239);
	assert_int_equal(mtu_for_underlay(1300, AF_INET, VT_UDP, VT_TUN, true), 1280);
	assert_int_equal(mtu_for_underlay(600, AF_INET, VT_UDP, VT_TUN, false), MTU_MIN);
	assert_int_equal(mtu_for_underlay(65536, AF_INET, VT_UDP, VT_TUN, false), MTU_MAX);
	assert_int_equal(mtu_for_underlay(9000, AF_INET, VT_UDP, VT_TAP, false), 9000 - 79);
	assert_int_equal(mtu_mss(1239, 4), 1199);
	assert_int_equal(mtu_mss(1280, 6), 1220);
}

/* Clamp f, then check the MSS at at, the checksum, and that only the MSS and checksum bytes
 * changed. */
static void
clamp_and_check(uint8_t *f, size_t len, size_t l2, unsigned ver, bool tap, int mtu,
    size_t at, unsigned want, bool changes)
{
	uint8_t before[200];
	size_t t = l2 + (ver == 4 ? 20 : 40);

	memcpy(before, f, len);
	assert_int_equal(mtu_clamp_mss(f, len, tap, mtu), changes);
	assert_int_equal(mss_of(f, at), want);
	assert_true(tcp_sum_ok(f + l2, ver, t - l2, len - t));
	for (size_t i = 0; i < len; i++)
		if (i != at && i != at + 1 && i != t + 16 && i != t + 17)
			assert_int_equal(f[i], before[i]);
}

static void
test_clamp(void **state)
{
	/* MSS 1460 first; behind a NOP (odd offset); among SACK-permitted, timestamps, wscale */
	static const uint8_t o1[] = { 2, 4, 0x05, 0xb4 };
	static const uint8_t o2[] = { 1, 2, 4, 0x05, 0xb4, 1, 1, 1 };
	static const uint8_t o3[] = { 4, 2, 8, 10, 1, 2, 3, 4, 0, 0, 0, 0, 1, 3, 3, 7, 2, 4,
		0x23, 0x28 };
	uint8_t f[200];
	size_t len;

	(void)state;
	for (unsigned ver = 4; ver <= 6; ver += 2) {
		size_t ihl = ver == 4 ? 20 : 40;
		unsigned want = mtu_mss(1239, ver);

		len = syn(f, 0, ver, 0x02, o1, sizeof(o1));
		clamp_and_check(f, len, 0, ver, false, 1239, ihl + 22, want, true);
		/* again: already small enough, nothing changes */
		clamp_and_check(f, len, 0, ver, false, 1239, ihl + 22, want, false);
		len = syn(f, 0, ver, 0x12, o2, sizeof(o2)); /* SYN-ACK, MSS at an odd offset */
		clamp_and_check(f, len, 0, ver, false, 1239, ihl + 23, want, true);
		len = syn(f, 0, ver, 0x02, o3, sizeof(o3)); /* MSS 9000 last */
		clamp_and_check(f, len, 0, ver, false, 1239, ihl + 38, want, true);
		/* a large MTU: 1460 fits, left alone */
		len = syn(f, 0, ver, 0x02, o1, sizeof(o1));
		clamp_and_check(f, len, 0, ver, false, 1500, ihl + 22, ver == 4 ? 1460 : 1440,
		    ver == 6);
	}
	/* tap, with and without VLAN tags */
	memset(f, 0, 18);
	f[12] = 0x08;
	len = syn(f, 14, 4, 0x02, o1, sizeof(o1));
	clamp_and_check(f, len, 14, 4, true, 1400, 14 + 42, 1360, true);
	f[12] = 0x81;
	f[13] = 0x00;
	f[16] = 0x86;
	f[17] = 0xdd;
	len = syn(f, 18, 6, 0x02, o1, sizeof(o1));
	clamp_and_check(f, len, 18, 6, true, 1400, 18 + 62, 1340, true);
	/* a tun frame on a tap link is no IP packet there */
	len = syn(f, 0, 4, 0x02, o1, sizeof(o1));
	assert_false(mtu_clamp_mss(f, len, true, 1239));
}

static void
test_left_alone(void **state)
{
	static const uint8_t o1[] = { 2, 4, 0x05, 0xb4 };
	static const uint8_t nomss[] = { 1, 1, 4, 2 };
	static const uint8_t bad[] = { 3, 9, 1, 1 };   /* a length past the options */
	static const uint8_t zero[] = { 1, 0, 2, 4 };  /* a zero length: stop */
	static const uint8_t endopt[] = { 0, 2, 4, 5 }; /* end of options before the MSS */
	uint8_t f[200], copy[200];
	size_t len;

	(void)state;
	len = syn(f, 0, 4, 0x10, o1, sizeof(o1)); /* an ACK, no SYN */
	assert_false(mtu_clamp_mss(f, len, false, 1239));
	len = syn(f, 0, 4, 0x02, nomss, sizeof(nomss));
	assert_false(mtu_clamp_mss(f, len, false, 1239));
	len = syn(f, 0, 4, 0x02, bad, sizeof(bad));
	assert_false(mtu_clamp_mss(f, len, false, 1239));
	len = syn(f, 0, 4, 0x02, zero, sizeof(zero));
	assert_false(mtu_clamp_mss(f, len, false, 1239));
	len = syn(f, 0, 4, 0x02, endopt, sizeof(endopt));
	assert_false(mtu_clamp_mss(f, len, false, 1239));
	/* a later fragment of a TCP segment */
	len = syn(f, 0, 4, 0x02, o1, sizeof(o1));
	f[7] = 8;
	assert_false(mtu_clamp_mss(f, len, false, 1239));
	/* UDP */
	len = syn(f, 0, 4, 0x02, o1, sizeof(o1));
	f[9] = 17;
	assert_false(mtu_clamp_mss(f, len, false, 1239));
	/* truncated anywhere: never a change, never a read past the end (ASan) */
	len = syn(f, 0, 6, 0x02, o1, sizeof(o1));
	for (size_t n = 0; n < len - 10; n++) {
		memcpy(copy, f, len);
		assert_false(mtu_clamp_mss(copy, n, false, 1239));
	}
	/* IPv6 behind a hop-by-hop header: clamped; behind a fragment header: not */
	len = syn(f, 0, 6, 0x02, o1, sizeof(o1));
	memmove(f + 48, f + 40, len - 40);
	memset(f + 40, 0, 8);
	f[40] = 6;
	f[6] = 0;
	len += 8;
	f[5] += 8;
	set_tcp_sum(f, 6, 48, len - 48);
	assert_true(mtu_clamp_mss(f, len, false, 1239));
	assert_int_equal(mss_of(f, 48 + 22), 1179);
	assert_true(tcp_sum_ok(f, 6, 48, len - 48));
	f[6] = 44;
	f[48 + 22] = 0x05;
	assert_false(mtu_clamp_mss(f, len, false, 1239));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_overhead),
		cmocka_unit_test(test_clamp),
		cmocka_unit_test(test_left_alone),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
