/*
 * prefix.h - IPv4 and IPv6 prefixes (struct vt_addr with its prefix length): host bits,
 * containment, text, and a peer's inner-source filter (the cryptokey filter): a packet
 * decrypted from a tun peer is delivered only if its source address lies in the peer's
 * peer-address, routes or allowed-ips. Pure: no system calls; a set allocates its prefixes.
 */
#ifndef VT_PREFIX_H
#define VT_PREFIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* Whether a has bits set beyond its prefix length (10.1.0.1/16). */
bool prefix_host_bits(const struct vt_addr *a);
/* a with its host bits cleared (10.1.0.0/16 for 10.1.0.1/16). */
struct vt_addr prefix_network(const struct vt_addr *a);
/* Whether address addr (4 or 16 bytes, of family) lies in prefix p. */
bool prefix_contains(const struct vt_addr *p, int family, const uint8_t *addr);
/* Whether prefixes a and b are the same (family, length and network bits). */
bool prefix_equal(const struct vt_addr *a, const struct vt_addr *b);
/* "10.1.0.0/16", "fd00:1::/48" into s (at least PREFIX_STRLEN bytes). */
#define PREFIX_STRLEN 50
const char *prefix_str(const struct vt_addr *a, char *s, size_t len);

/* The inner sources a peer may send from (p: n prefixes, allocated to fit). any: no filter (a
 * tap peer, or a tun peer with no peer-address, routes or allowed-ips: every source is
 * accepted, as before the filter). */
struct prefix_set {
	struct vt_addr *p;
	int n;
	bool any;
};

/* The set of peer p: its peer-address (each a single address), routes and allowed-ips,
 * replacing what set held. 0, or -1 without memory (set unchanged). */
int prefix_set_build(struct prefix_set *set, const struct vt_peer *p);
/* Free what the set holds; it is then empty (and lets everything through). */
void prefix_set_free(struct prefix_set *set);
/* Whether the IP packet frame (len bytes, a tun frame) may come from the peer: its source is
 * in the set, or an IPv6 link-local address (fe80::/10: it cannot leave the link). Anything
 * that is not a whole enough IPv4 or IPv6 header is refused (unless any). */
bool prefix_set_allows(const struct prefix_set *set, const uint8_t *frame, size_t len);

#endif
