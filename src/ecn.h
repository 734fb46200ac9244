/*
 * ecn.h - ECN through the tunnel (RFC 6040, normal mode), as kernel tunnels do it. Pure
 * functions over a frame's bytes (TUN: the IP header first; TAP: an Ethernet header, up to two
 * VLAN tags, in front of it).
 *
 * Encapsulation copies the inner packet's ECN field to the outer UDP datagram, CE included
 * (RFC 6040's normal mode; the older RFC 3168 full-functionality mode, which the kernel's
 * tunnels keep, sent CE as ECT(0): the decapsulator's result is the same). Decapsulation
 * combines the outer field with the inner one:
 *
 *   inner \ outer   Not-ECT   ECT(0)   ECT(1)   CE
 *   Not-ECT         Not-ECT   Not-ECT  Not-ECT  drop (the mark cannot be passed on)
 *   ECT(0)          ECT(0)    ECT(0)   ECT(1)   CE
 *   ECT(1)          ECT(1)    ECT(1)   ECT(1)   CE
 *   CE              CE        CE       CE       CE
 *
 * Frames that are not IPv4 or IPv6 (ARP on a TAP link) pass unchanged and carry Not-ECT.
 */
#ifndef VT_ECN_H
#define VT_ECN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ECN_NOT_ECT 0
#define ECN_ECT1 1
#define ECN_ECT0 2
#define ECN_CE 3

/* The ECN field for the outer header of frame f[0..len). */
uint8_t ecn_encap(const uint8_t *f, size_t len, bool tap);
/* Apply the outer ECN field (the low two bits of outer) to frame f[0..len), rewriting its ECN
 * field (and the IPv4 header checksum) where the table says so: true to deliver it, false to
 * drop it (CE outside, Not-ECT inside). */
bool ecn_decap(uint8_t *f, size_t len, bool tap, uint8_t outer);

#endif
