/* addr.h - socket address helpers shared by the session and transport modules. Pure. */
#ifndef VT_ADDR_H
#define VT_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* "192.0.2.1:5000" or "[2001:db8::1]:5000"; IPv4-mapped IPv6 addresses are shown as IPv4. */
void addr_format(const struct sockaddr *sa, char *out, size_t cap);
/* True if a and b are the same address and port. */
bool addr_equal(const struct sockaddr *a, const struct sockaddr *b);

/* What limits count as one source: an IPv4 address (IPv4-mapped included) or an IPv6 /64 (a
 * host owns a whole prefix, as in WireGuard); never the port. */
struct addr_source {
	uint8_t family; /* 4 or 6; 0 = not an IP address */
	uint8_t addr[16];
};
/* The source of src; false (and family 0) if it is not an IPv4 or IPv6 address. */
bool addr_source_of(const struct sockaddr *src, socklen_t srclen, struct addr_source *out);
bool addr_source_equal(const struct addr_source *a, const struct addr_source *b);

#endif
