/*
 * config_parse.c - the pure value parsers of the configuration loader: addresses, host:port
 * forms, names, hook substitutions, base64 keys and the text pre-scan. Strings in, values or
 * what is wrong out; no libconfig, no I/O, no state. config.c and config_value.c put the file
 * name, line and key in front of the messages.
 */
#include "config_parse.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <strings.h>
#include <string.h>

#include "crypto.h"

#define ACCOUNT_MAX 32 /* user and group names */

/*
 * Public keys of the example private keys shipped in etc/ (*.conf). Anyone can read those private
 * keys, so a daemon running with one of them must say so loudly (cfg->example_key). Keep this
 * table in step with the etc/ files.
 */
static const char *const example_public_keys[] = {
	"PFazca8sc6ownTAq8Tq7a2BGQN327vcaFS/eiNdTnzw=", /* etc/server.conf */
	"QcVu1k+0GhGJkjZFtu5pnCZoPEasD6qzYvejsI3/D2A=", /* etc/client.conf (peer alice) */
	"VgykIk2Ofg/bEF8VGBUhAuazzhbKvAUJbwYrcCEDHU0=", /* client "bob", in a server.conf comment */
	"+0Nl9a+nu/nPE0f8NRqKmMUabzt0dLM/xwMpXQ8L9jg=", /* etc/site-a.conf */
	"TZoHRj68h/lTuD9U8sUT9GyNPWbwfCYxdp94XvDhhBk=", /* etc/site-b.conf */
};

/* The substitutions hooks.c expands; keep in step with the list in config.h. */
static const char hook_subst[] = "dprPame%";

/* ---- text pre-scan ---------------------------------------------------------------------- */

static bool
name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    c == '_' || c == '-' || c == '*';
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool
is_xdigit(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/*
 * Check one integer literal starting at p; returns the first character after it, with
 * *too_large set if libconfig would not keep the value exactly.
 */
static const char *
scan_number(const char *p, bool *too_large)
{
	bool hex = p[0] == '0' && (p[1] == 'x' || p[1] == 'X');
	size_t digits = 0;
	unsigned long long v = 0;
	bool big = false, wide;

	if (hex) {
		p += 2;
		while (*p == '0')
			p++;
		for (; is_xdigit(*p); p++)
			digits++;
	} else {
		for (; is_digit(*p); p++) {
			if (v > 1000000000000000000ULL)
				big = true;
			else
				v = v * 10 + (unsigned long long)(*p - '0');
		}
	}
	if (!hex && (*p == '.' || *p == 'e' || *p == 'E')) {
		/* a floating-point number: libconfig keeps it as a double, nothing wraps */
		while (is_digit(*p) || *p == '.' || *p == 'e' || *p == 'E' || *p == '+' ||
		    *p == '-')
			p++;
		*too_large = false;
		return p;
	}
	wide = *p == 'L';
	if (hex)
		big = digits > (wide ? 16u : 8u);
	else
		big = big || v > (wide ? 9223372036854775807ULL : 2147483647ULL);
	*too_large = big;
	return p;
}

/* Start at the first character of text, on line 1. */
void
config_scan_init(struct config_scan *sc, const char *text)
{
	sc->p = text;
	sc->line = 1;
}

/*
 * Walk the text outside strings and comments up to the next "@include" or integer literal that
 * libconfig 1.5 would truncate; the cursor resumes after it on the next call.
 */
bool
config_scan_next(struct config_scan *sc, struct config_scan_finding *f)
{
	const char *p = sc->p, *start;
	int line = sc->line;
	bool big;

	while (*p != '\0') {
		if (*p == '\n') {
			line++;
			p++;
		} else if (*p == '"') {
			for (p++; *p != '\0' && *p != '"'; p++) {
				if (*p == '\\' && p[1] != '\0')
					p++;
				if (*p == '\n')
					line++;
			}
			if (*p != '\0')
				p++;
		} else if (*p == '#' || (p[0] == '/' && p[1] == '/')) {
			while (*p != '\0' && *p != '\n')
				p++;
		} else if (p[0] == '/' && p[1] == '*') {
			for (p += 2; *p != '\0' && !(p[0] == '*' && p[1] == '/'); p++)
				if (*p == '\n')
					line++;
			if (*p != '\0')
				p += 2;
		} else if (*p == '@') {
			start = p++;
			if (strncmp(start, "@include", 8) == 0) {
				f->what = CONFIG_SCAN_INCLUDE;
				f->text = start;
				f->len = 8;
				goto found;
			}
		} else if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '*') {
			/* a setting name or true/false: digits inside are not numbers */
			while (name_char(*p))
				p++;
		} else if (is_digit(*p)) {
			start = p;
			p = scan_number(p, &big);
			if (big) {
				f->what = CONFIG_SCAN_TOO_LARGE;
				f->text = start;
				f->len = (int)(p - start);
				goto found;
			}
		} else {
			p++;
		}
	}
	sc->p = p;
	sc->line = line;
	return false;
found:
	f->line = line;
	sc->p = p;
	sc->line = line;
	return true;
}

/* ---- addresses -------------------------------------------------------------------------- */

static bool
all_digits(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (!is_digit(*s))
			return false;
	return true;
}

/* A DNS name: dot-separated labels of [A-Za-z0-9-], 1..63 characters, no '-' at either end. */
static bool
valid_hostname(const char *s)
{
	size_t len = strlen(s), label = 0;
	bool digits_only = true;

	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i <= len; i++) {
		char c = s[i];

		if (c == '.' || c == '\0') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!(is_digit(c) || c == '-' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
			return false;
		if (label == 0 && c == '-')
			return false;
		if (!is_digit(c))
			digits_only = false;
		if (++label > 63)
			return false;
	}
	/* "10.0.0.300" is a broken address, not a host name */
	return !digits_only;
}

/*
 * Parse "host", "host:port", "[v6]:port", "[v6]" or a bare IPv6 address; without a port, *port
 * is default_port. With numeric, the host must be an IP address. Returns NULL or what is wrong.
 * The one parser of host:port: the configuration and the command line's HOST[:PORT] use it.
 */
const char *
config_parse_hostport(const char *s, bool numeric, char host[CONFIG_HOST_MAX + 1],
    uint16_t *port, uint16_t default_port)
{
	struct in6_addr a6;
	struct in_addr a4;
	const char *colon, *portstr = NULL;
	size_t hlen;

	*port = default_port;
	if (s[0] == '[') {
		const char *end = strchr(s, ']');

		if (end == NULL)
			return "missing ']'";
		hlen = (size_t)(end - s - 1);
		if (hlen == 0 || hlen > CONFIG_HOST_MAX)
			return "bad IPv6 address in brackets";
		memcpy(host, s + 1, hlen);
		host[hlen] = '\0';
		if (inet_pton(AF_INET6, host, &a6) != 1)
			return "bad IPv6 address in brackets";
		if (end[1] == ':')
			portstr = end + 2;
		else if (end[1] != '\0')
			return "unexpected text after ']'";
	} else {
		colon = strchr(s, ':');
		if (colon != NULL && strchr(colon + 1, ':') != NULL) {
			/* two colons or more: a bare IPv6 address, no port */
			if (strlen(s) > CONFIG_HOST_MAX || inet_pton(AF_INET6, s, &a6) != 1)
				return "not an address (write IPv6 with a port as \"[addr]:port\")";
			strcpy(host, s);
			return NULL;
		}
		hlen = colon != NULL ? (size_t)(colon - s) : strlen(s);
		if (hlen == 0)
			return "missing host";
		if (hlen > CONFIG_HOST_MAX)
			return "host name too long";
		memcpy(host, s, hlen);
		host[hlen] = '\0';
		if (colon != NULL)
			portstr = colon + 1;
		if (inet_pton(AF_INET, host, &a4) != 1) {
			if (numeric && all_digits(host) && colon == NULL)
				return "a port alone is not enough: write \"0.0.0.0:PORT\" or "
				    "\"[::]:PORT\"";
			if (numeric)
				return "not a numeric IPv4 or IPv6 address";
			if (!valid_hostname(host))
				return "not a valid host name or address";
		}
	}
	if (portstr != NULL) {
		unsigned long v;

		if (!all_digits(portstr) || strlen(portstr) > 5)
			return "bad port";
		v = strtoul(portstr, NULL, 10);
		if (v < 1 || v > 65535)
			return "port out of range 1..65535";
		*port = (uint16_t)v;
	}
	return NULL;
}

/*
 * One remote: "host[:port]" as config_parse_hostport reads it, then optionally a space and a
 * transport ("udp" or "tcp"); *proto is VT_PROTO_MAX when none is named.
 */
const char *
config_parse_remote(const char *s, char host[CONFIG_HOST_MAX + 1], uint16_t *port,
    uint16_t default_port, enum vt_proto *proto)
{
	char hp[CONFIG_HOST_MAX + 16];
	const char *sp = strchr(s, ' ');
	size_t len = sp != NULL ? (size_t)(sp - s) : strlen(s);

	*proto = VT_PROTO_MAX;
	if (len >= sizeof(hp))
		return "host name too long";
	memcpy(hp, s, len);
	hp[len] = '\0';
	if (sp != NULL) {
		int i;

		while (*sp == ' ')
			sp++;
		for (i = 0; names_proto[i] != NULL; i++)
			if (strcmp(sp, names_proto[i]) == 0)
				break;
		if (names_proto[i] == NULL)
			return "after the address comes a transport, \"udp\" or \"tcp\", and "
			    "nothing else";
		*proto = (enum vt_proto)i;
	}
	return config_parse_hostport(hp, false, host, port, default_port);
}

/* Parse "addr/prefix" (with_prefix) or "addr"; returns NULL or what is wrong. */
const char *
config_parse_addr(const char *s, bool with_prefix, struct vt_addr *a)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(s, '/');
	size_t len = slash != NULL ? (size_t)(slash - s) : strlen(s);
	unsigned long prefix;
	int max;

	memset(a, 0, sizeof(*a));
	if (len >= INET6_ADDRSTRLEN)
		return "is not an IPv4 or IPv6 address";
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET, buf, a->addr) == 1) {
		a->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, a->addr) == 1) {
		a->family = AF_INET6;
		max = 128;
	} else {
		return "is not an IPv4 or IPv6 address";
	}
	if (!with_prefix) {
		if (slash != NULL)
			return "must not have a prefix length";
		a->prefix = (uint8_t)max;
		return NULL;
	}
	if (slash == NULL)
		return max == 32 ? "needs a prefix length (e.g. /24)" :
				   "needs a prefix length (e.g. /64)";
	if (!all_digits(slash + 1) || strlen(slash + 1) > 3)
		return "has a bad prefix length";
	prefix = strtoul(slash + 1, NULL, 10);
	if (prefix > (unsigned long)max)
		return max == 32 ? "prefix length out of range 0..32" :
				   "prefix length out of range 0..128";
	a->prefix = (uint8_t)prefix;
	return NULL;
}

/* ---- names ------------------------------------------------------------------------------ */

/* Linux dev_valid_name(), and no '%' since we never ask the kernel to pick a number. */
bool
config_valid_ifname(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > CONFIG_IFNAME_MAX || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	for (; *s != '\0'; s++)
		if (*s == '/' || *s == ':' || *s == '%' || *s <= ' ' || *s == 0x7f)
			return false;
	return true;
}

/* A user or group name as useradd accepts it; the caller decides whether "" is allowed. */
bool
config_valid_account(const char *s)
{
	size_t len = strlen(s);

	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		bool ok = (name_char(c) && c != '*') || c == '.' || (c == '$' && i == len - 1);

		if (!ok || (i == 0 && c == '-') || len > ACCOUNT_MAX)
			return false;
	}
	return true;
}

/* ---- quantities -------------------------------------------------------------------------- */

struct unit {
	const char *name;
	uint64_t mult;
};

/* "<number>[.<digits>]<unit>" with a unit of units[] (case ignored) into *out, rounded down. */
static const char *
quantity(const char *s, const struct unit *units, uint64_t *out)
{
	uint64_t whole = 0, frac = 0, div = 1;
	const char *p = s;
	int digits = 0;

	while (*p >= '0' && *p <= '9') {
		if (whole > UINT64_MAX / 100000)
			return "is too large";
		whole = whole * 10 + (uint64_t)(*p++ - '0');
		digits++;
	}
	if (*p == '.') {
		p++;
		while (*p >= '0' && *p <= '9') {
			if (div < 1000000000) {
				frac = frac * 10 + (uint64_t)(*p - '0');
				div *= 10;
			}
			p++;
			digits++;
		}
	}
	if (digits == 0)
		return "must start with a number";
	if (*p == '\0' && whole == 0 && frac == 0) {
		*out = 0;
		return NULL;
	}
	for (int i = 0; units[i].name != NULL; i++) {
		if (strcasecmp(p, units[i].name) != 0)
			continue;
		if (whole > UINT64_MAX / units[i].mult / 2)
			return "is too large";
		*out = whole * units[i].mult + frac * units[i].mult / div;
		if (*out == 0 && (whole != 0 || frac != 0))
			return "is less than one of its smallest unit";
		return NULL;
	}
	return *p == '\0' ? "needs a unit" : "has an unknown unit";
}

const char *
config_parse_rate(const char *s, uint64_t *bits)
{
	static const struct unit u[] = {
		{ "bit", 1 }, { "kbit", 1000 }, { "mbit", 1000000 }, { "gbit", 1000000000 },
		{ NULL, 0 },
	};

	return quantity(s, u, bits);
}

const char *
config_parse_size(const char *s, uint64_t *bytes)
{
	static const struct unit u[] = {
		{ "b", 1 }, { "kb", 1024 }, { "kib", 1024 }, { "mb", 1 << 20 }, { "mib", 1 << 20 },
		{ NULL, 0 },
	};

	return quantity(s, u, bytes);
}

/* ---- hooks and keys --------------------------------------------------------------------- */

/* The first '%' that starts no substitution of hook_subst ("%" at the end included), or NULL. */
const char *
config_bad_subst(const char *arg)
{
	for (const char *p = strchr(arg, '%'); p != NULL; p = strchr(p + 2, '%'))
		if (p[1] == '\0' || strchr(hook_subst, p[1]) == NULL)
			return p;
	return NULL;
}

/* A base64 key: 32 bytes, 44 characters; the buffer is wiped when the text is not one. */
int
config_parse_key(uint8_t key[32], const char *s)
{
	if (crypto_key_from_base64(key, s) < 0) {
		crypto_wipe(key, 32);
		return -1;
	}
	return 0;
}

/* True if pub is the public key of one of the example_public_keys. */
bool
config_is_example_key(const uint8_t pub[32])
{
	uint8_t k[32];
	bool found = false;

	for (size_t i = 0; i < sizeof(example_public_keys) / sizeof(example_public_keys[0]); i++)
		if (crypto_key_from_base64(k, example_public_keys[i]) == 0 &&
		    crypto_equal(k, pub, 32))
			found = true;
	return found;
}

