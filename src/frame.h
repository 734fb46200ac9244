/*
 * frame.h - what the pure codecs that look into a frame share: where its IP header is (TUN:
 * first; TAP: behind an Ethernet header and up to two VLAN tags) and the incremental update of
 * an Internet checksum (RFC 1624). Pure functions over bytes.
 */
#ifndef VT_FRAME_H
#define VT_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The IP version of frame f (4 or 6), its header at *l3; 0 if it is no IP packet (or too short
 * for its IP header). */
unsigned frame_ip(const uint8_t *f, size_t len, bool tap, size_t *l3);
/* The checksum at sum (2 bytes, big-endian) after the 16-bit word of the summed data that held
 * old now holds new: HC' = ~(~HC + ~m + m'). */
void frame_csum_update(uint8_t *sum, uint16_t old, uint16_t new);

#endif
