/* test_ecn.c - RFC 6040 ECN encapsulation and decapsulation: the whole table, IPv4 header
 * checksums after a rewrite, IPv6 traffic class, TAP frames with none, one or two VLAN tags, and
 * frames that are not IP. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ecn.h"

#define DROP 0xff

/* RFC 6040 section 4.2, the decapsulation table: [inner][outer]. */
static const uint8_t table[4][4] = {
	/* outer:      Not-ECT      ECT(1)      ECT(0)      CE */
	[ECN_NOT_ECT] = { ECN_NOT_ECT, ECN_NOT_ECT, ECN_NOT_ECT, DROP },
	[ECN_ECT1] = { ECN_ECT1, ECN_ECT1, ECN_ECT1, ECN_CE },
	[ECN_ECT0] = { ECN_ECT0, ECN_ECT1, ECN_ECT0, ECN_CE },
	[ECN_CE] = { ECN_CE, ECN_CE, ECN_CE, ECN_CE },
};

/* A reference RFC 1071 checksum of 16-bit big-endian words. */
static uint16_t
ref_csum(const uint8_t *p, size_t len)
{
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		s += (uint32_t)p[len - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* An IPv4 header (20 bytes, valid checksum) with TOS tos, at f + l3, and 8 bytes behind. */
static size_t
ip4(uint8_t *f, size_t l3, uint8_t tos)
{
	uint8_t *ip = f + l3;
	uint16_t c;

	memset(ip, 0, 28);
	ip[0] = 0x45;
	ip[1] = tos;
	ip[3] = 28;
	ip[4] = 0x12;
	ip[5] = 0x34;
	ip[6] = 0x40;
	ip[8] = 64;
	ip[9] = 17;
	memcpy(ip + 12, "\x0a\x63\x01\x02\x0a\x63\x01\x01", 8);
	c = ref_csum(ip, 20);
	ip[10] = (uint8_t)(c >> 8);
	ip[11] = (uint8_t)c;
	return l3 + 28;
}

static size_t
ip6(uint8_t *f, size_t l3, uint8_t tclass)
{
	uint8_t *ip = f + l3;

	memset(ip, 0, 48);
	ip[0] = (uint8_t)(0x60 | tclass >> 4);
	ip[1] = (uint8_t)((tclass & 15) << 4 | 0x0a); /* and a flow label that must stay */
	ip[2] = 0xbc;
	ip[3] = 0xde;
	ip[5] = 8;
	ip[6] = 17;
	ip[7] = 64;
	ip[8] = 0xfd;
	ip[24] = 0xfd;
	return l3 + 48;
}

/* An Ethernet header with tags VLAN tags (0, 1, or 2: 802.1ad then 802.1Q) in front of an IPv4
 * or IPv6 packet: its length. */
static size_t
eth(uint8_t *f, int tags, bool v6)
{
	size_t o = 12;

	memset(f, 0xaa, 12);
	for (int i = 0; i < tags; i++) {
		f[o] = tags == 2 && i == 0 ? 0x88 : 0x81;
		f[o + 1] = tags == 2 && i == 0 ? 0xa8 : 0x00;
		f[o + 2] = 0;
		f[o + 3] = (uint8_t)(7 + i);
		o += 4;
	}
	f[o] = v6 ? 0x86 : 0x08;
	f[o + 1] = v6 ? 0xdd : 0x00;
	return o + 2;
}

/* Every cell of the table for one kind of frame. */
static void
run_table(bool tap, int vlan, bool v6)
{
	for (int in = 0; in < 4; in++) {
		for (int out = 0; out < 4; out++) {
			uint8_t f[128], before[128], dscp = 0xb8; /* EF, which must stay */
			size_t l3 = tap ? eth(f, vlan, v6) : 0, len;
			bool ok;

			len = v6 ? ip6(f, l3, (uint8_t)(dscp | in)) : ip4(f, l3, (uint8_t)(dscp | in));
			memcpy(before, f, len);
			/* encapsulation copies the field, CE included (RFC 6040 normal mode) */
			assert_int_equal(ecn_encap(f, len, tap), in);
			/* the outer DSCP bits do not matter, only the ECN field */
			ok = ecn_decap(f, len, tap, (uint8_t)(0xfc | out) & (uint8_t)(0x3c | 3));
			if (table[in][out] == DROP) {
				if (ok)
					fail_msg("inner %d outer %d: delivered, want a drop", in, out);
				continue;
			}
			if (!ok)
				fail_msg("inner %d outer %d: dropped", in, out);
			if (v6) {
				uint8_t tc = (uint8_t)((f[l3] & 15) << 4 | f[l3 + 1] >> 4);

				assert_int_equal(tc, dscp | table[in][out]);
				assert_int_equal(f[l3 + 1] & 15, 0x0a);
				assert_int_equal(f[l3 + 2], 0xbc);
			} else {
				assert_int_equal(f[l3 + 1], dscp | table[in][out]);
				assert_int_equal(ref_csum(f + l3, 20), 0); /* still a valid header */
			}
			/* nothing else changed */
			for (size_t i = 0; i < len; i++)
				if (i != l3 + 1 && i != l3 + 10 && i != l3 + 11 && !(v6 && i == l3))
					assert_int_equal(f[i], before[i]);
			if (table[in][out] == in)
				assert_memory_equal(f, before, len);
		}
	}
}

static void
test_tun_ipv4(void **state)
{
	(void)state;
	run_table(false, 0, false);
}

static void
test_tun_ipv6(void **state)
{
	(void)state;
	run_table(false, 0, true);
}

static void
test_tap(void **state)
{
	(void)state;
	for (int tags = 0; tags <= 2; tags++) {
		run_table(true, tags, false);
		run_table(true, tags, true);
	}
}

/* The IPv4 checksum update across every TOS and many checksum values, against a full sum. */
static void
test_ipv4_checksum_sweep(void **state)
{
	(void)state;
	for (int id = 0; id < 65536; id += 97) {
		for (int tos = 0; tos < 256; tos += 5) {
			uint8_t f[64];

			ip4(f, 0, (uint8_t)tos);
			f[4] = (uint8_t)(id >> 8);
			f[5] = (uint8_t)id;
			f[10] = f[11] = 0;
			{
				uint16_t c = ref_csum(f, 20);

				f[10] = (uint8_t)(c >> 8);
				f[11] = (uint8_t)c;
			}
			if (ecn_decap(f, 28, false, ECN_CE))
				assert_int_equal(ref_csum(f, 20), 0);
		}
	}
}

/* Not IP: ARP on a TAP link, a truncated header, a version that lies: unchanged, delivered,
 * Not-ECT outside. */
static void
test_not_ip(void **state)
{
	uint8_t f[64], before[64];
	size_t l3;

	(void)state;
	memset(f, 0x03, sizeof(f));
	l3 = eth(f, 0, false);
	f[12] = 0x08;
	f[13] = 0x06; /* ARP */
	memcpy(before, f, sizeof(f));
	assert_int_equal(ecn_encap(f, sizeof(f), true), ECN_NOT_ECT);
	assert_true(ecn_decap(f, sizeof(f), true, ECN_CE));
	assert_memory_equal(f, before, sizeof(f));
	/* an IPv4 ethertype with an IPv6 header behind it */
	ip6(f, l3, ECN_ECT0);
	f[12] = 0x08;
	f[13] = 0x00;
	memcpy(before, f, sizeof(f));
	assert_int_equal(ecn_encap(f, sizeof(f), true), ECN_NOT_ECT);
	assert_true(ecn_decap(f, sizeof(f), true, ECN_CE));
	assert_memory_equal(f, before, sizeof(f));
	/* too short for an IPv4 header */
	ip4(f, 0, ECN_ECT0);
	assert_int_equal(ecn_encap(f, 19, false), ECN_NOT_ECT);
	assert_true(ecn_decap(f, 19, false, ECN_CE));
	assert_int_equal(f[1], ECN_ECT0);
	/* a header length beyond the frame */
	f[0] = 0x4f;
	assert_int_equal(ecn_encap(f, 28, false), ECN_NOT_ECT);
	assert_true(ecn_decap(f, 28, false, ECN_CE));
	assert_int_equal(f[1], ECN_ECT0);
	assert_int_equal(ecn_encap(f, 0, false), ECN_NOT_ECT);
	assert_true(ecn_decap(f, 0, true, ECN_CE));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tun_ipv4),
		cmocka_unit_test(test_tun_ipv6),
		cmocka_unit_test(test_tap),
		cmocka_unit_test(test_ipv4_checksum_sweep),
		cmocka_unit_test(test_not_ip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
