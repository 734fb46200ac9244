/*
 * mtu.h - sizes through the tunnel: the overhead of our encapsulation, the device MTU that
 * fits an underlay MTU ("mtu = auto"), and TCP MSS clamping ("mss-clamp"): the MSS option of a
 * TCP SYN or SYN-ACK through the tunnel is lowered to what the MTU takes, so that TCP between
 * LANs with larger MTUs never sends segments that must be fragmented or dropped (and never
 * relies on ICMP "fragmentation needed" coming back). Pure functions over bytes.
 */
#ifndef VT_MTU_H
#define VT_MTU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define MTU_MIN 576
#define MTU_MAX 9000
#define MTU_IPV6_MIN 1280

/* Bytes a frame grows by on the underlay: outer IP header (family AF_INET or AF_INET6), UDP, or
 * TCP with timestamps and our 2-byte length, our data header, inner type and tag; on tap also
 * the Ethernet header with a VLAN tag that the device MTU does not count. */
int mtu_overhead(int family, enum vt_proto proto, enum vt_devtype type);
/* The device MTU for an underlay MTU: underlay - overhead, within MTU_MIN..MTU_MAX, and at
 * least MTU_IPV6_MIN when ipv6 (the device carries IPv6). */
int mtu_for_underlay(int underlay, int family, enum vt_proto proto, enum vt_devtype type,
    bool ipv6);

/* The MSS that fits mtu for IP version ver (4: mtu - 40, 6: mtu - 60). */
unsigned mtu_mss(int mtu, unsigned ver);
/* If frame f is a TCP SYN (with or without ACK) whose MSS option exceeds mtu_mss(mtu), lower it
 * and fix the TCP checksum; true if it changed. Anything else (not IP, not TCP, a fragment, a
 * truncated header or option) is left as it is. */
bool mtu_clamp_mss(uint8_t *f, size_t len, bool tap, int mtu);

#endif
