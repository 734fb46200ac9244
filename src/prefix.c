/* prefix.c - IPv4 and IPv6 prefixes and a peer's inner-source filter (prefix.h). */
#include "prefix.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static int
addr_bytes(int family)
{
	return family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
}

/* Whether the first bits bits of a and b agree. */
static bool
bits_equal(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned whole = bits / 8, rest = bits % 8;

	if (memcmp(a, b, whole) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a[whole] ^ b[whole]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

struct vt_addr
prefix_network(const struct vt_addr *a)
{
	struct vt_addr n = *a;
	int len = addr_bytes(a->family);
	unsigned bits = a->prefix;

	for (int i = 0; i < 16; i++) {
		unsigned first = (unsigned)i * 8;

		if (i >= len || bits <= first)
			n.addr[i] = 0;
		else if (bits < first + 8)
			n.addr[i] &= (uint8_t)(0xff << (first + 8 - bits));
	}
	return n;
}

bool
prefix_host_bits(const struct vt_addr *a)
{
	struct vt_addr n = prefix_network(a);

	return memcmp(n.addr, a->addr, 16) != 0;
}

bool
prefix_contains(const struct vt_addr *p, int family, const uint8_t *addr)
{
	int len = addr_bytes(family);

	if (len == 0 || p->family != family || p->prefix > len * 8)
		return false;
	return bits_equal(p->addr, addr, p->prefix);
}

bool
prefix_equal(const struct vt_addr *a, const struct vt_addr *b)
{
	return a->family == b->family && a->prefix == b->prefix &&
	    addr_bytes(a->family) != 0 && bits_equal(a->addr, b->addr, a->prefix);
}

const char *
prefix_str(const struct vt_addr *a, char *s, size_t len)
{
	char t[INET6_ADDRSTRLEN] = "?";

	if (addr_bytes(a->family) != 0)
		inet_ntop(a->family, a->addr, t, sizeof(t));
	snprintf(s, len, "%s/%u", t, a->prefix);
	return s;
}

int
prefix_set_build(struct prefix_set *set, const struct vt_peer *p)
{
	int total = p->npeer_addrs + p->nroutes + p->nallowed_ips, n = 0;
	struct vt_addr *a = NULL;

	if (total > 0 && (a = calloc((size_t)total, sizeof(*a))) == NULL)
		return -1;
	for (int i = 0; i < p->npeer_addrs; i++) {
		a[n] = p->peer_addrs[i];
		a[n++].prefix = (uint8_t)(addr_bytes(p->peer_addrs[i].family) * 8);
	}
	for (int i = 0; i < p->nroutes; i++)
		a[n++] = p->routes[i];
	for (int i = 0; i < p->nallowed_ips; i++)
		a[n++] = p->allowed_ips[i];
	prefix_set_free(set);
	set->p = a;
	set->n = n;
	set->any = p->type != VT_TUN || n == 0;
	return 0;
}

void
prefix_set_free(struct prefix_set *set)
{
	free(set->p);
	set->p = NULL;
	set->n = 0;
	set->any = true;
}

bool
prefix_set_allows(const struct prefix_set *set, const uint8_t *frame, size_t len)
{
	const uint8_t *src;
	int family;

	if (set->any)
		return true;
	if (len >= 20 && frame[0] >> 4 == 4) {
		family = AF_INET;
		src = frame + 12;
	} else if (len >= 40 && frame[0] >> 4 == 6) {
		family = AF_INET6;
		src = frame + 8;
		/* Link-local sources (fe80::/10: neighbour discovery, MLD, which the kernel sends
		 * on every IPv6 device) never leave the link: accepted. */
		if (src[0] == 0xfe && (src[1] & 0xc0) == 0x80)
			return true;
	} else {
		return false;
	}
	for (int i = 0; i < set->n; i++)
		if (prefix_contains(&set->p[i], family, src))
			return true;
	return false;
}
