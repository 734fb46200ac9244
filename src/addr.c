/* addr.c - formatting and comparing socket addresses. */
#include "addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

void
addr_format(const struct sockaddr *sa, char *out, size_t cap)
{
	char a[INET6_ADDRSTRLEN] = "?";

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;

		inet_ntop(AF_INET, &in->sin_addr, a, sizeof(a));
		snprintf(out, cap, "%s:%u", a, ntohs(in->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;

		/* A dual-stack socket sees IPv4 peers as ::ffff:a.b.c.d: show them as IPv4. */
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
			inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], a, sizeof(a));
			snprintf(out, cap, "%s:%u", a, ntohs(in6->sin6_port));
			return;
		}
		inet_ntop(AF_INET6, &in6->sin6_addr, a, sizeof(a));
		snprintf(out, cap, "[%s]:%u", a, ntohs(in6->sin6_port));
	} else {
		snprintf(out, cap, "-");
	}
}

bool
addr_equal(const struct sockaddr *a, const struct sockaddr *b)
{
	if (a->sa_family != b->sa_family)
		return false;
	if (a->sa_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;

		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->sa_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;

		return x->sin6_port == y->sin6_port &&
		    memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
	}
	return false;
}

bool
addr_source_of(const struct sockaddr *src, socklen_t srclen, struct addr_source *out)
{
	memset(out, 0, sizeof(*out));
	if (src == NULL)
		return false;
	if (src->sa_family == AF_INET && srclen >= (socklen_t)sizeof(struct sockaddr_in)) {
		memcpy(out->addr, &((const struct sockaddr_in *)(const void *)src)->sin_addr, 4);
		out->family = 4;
		return true;
	}
	if (src->sa_family == AF_INET6 && srclen >= (socklen_t)sizeof(struct sockaddr_in6)) {
		const struct in6_addr *a6 = &((const struct sockaddr_in6 *)(const void *)src)->sin6_addr;

		/* An IPv4 peer on a dual-stack socket is one IPv4 source. */
		if (IN6_IS_ADDR_V4MAPPED(a6)) {
			memcpy(out->addr, &a6->s6_addr[12], 4);
			out->family = 4;
			return true;
		}
		memcpy(out->addr, a6, 8);
		out->family = 6;
		return true;
	}
	return false;
}

bool
addr_source_equal(const struct addr_source *a, const struct addr_source *b)
{
	return a->family == b->family && memcmp(a->addr, b->addr, sizeof(a->addr)) == 0;
}
