/* addr.h - socket address helpers shared by the session and transport modules. Pure. */
#ifndef VT_ADDR_H
#define VT_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* "192.0.2.1:5000" or "[2001:db8::1]:5000"; IPv4-mapped IPv6 addresses are shown as IPv4. */
void addr_format(const struct sockaddr *sa, char *out, size_t cap);
/* True if a and b are the same address and port. */
bool addr_equal(const struct sockaddr *a, const struct sockaddr *b);

#endif
