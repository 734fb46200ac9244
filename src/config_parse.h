/*
 * config_parse.h - the pure value parsers of the configuration loader: a string in, a value or
 * what is wrong with it out. No libconfig, no I/O, no logging, no state, so that the unit tests
 * call them directly. Internal to the config module: only config.c, config_value.c and the
 * tests include this header.
 */
#ifndef VT_CONFIG_PARSE_H
#define VT_CONFIG_PARSE_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"

#define CONFIG_DEFAULT_PORT 5000 /* "listen" and "remote" without a port */

/*
 * Parse "host", "host:port", "[v6]:port", "[v6]" or a bare IPv6 address into host (without
 * brackets) and port (CONFIG_DEFAULT_PORT when absent). With numeric, the host must be an IP
 * address; otherwise a DNS name is accepted too. Returns NULL or what is wrong.
 */
const char *config_parse_hostport(const char *s, bool numeric, char host[CONFIG_HOST_MAX + 1],
    uint16_t *port, uint16_t default_port);
/* One remote: "host[:port]", then optionally " udp" or " tcp" (*proto VT_PROTO_MAX if
 * absent). NULL, or what is wrong. */
const char *config_parse_remote(const char *s, char host[CONFIG_HOST_MAX + 1], uint16_t *port,
    uint16_t default_port, enum vt_proto *proto);
/* Parse "addr/prefix" (with_prefix) or a bare "addr" into a; returns NULL or what is wrong. */
const char *config_parse_addr(const char *s, bool with_prefix, struct vt_addr *a);
/* Device names as Linux dev_valid_name() takes them, and no '%'. */
bool config_valid_ifname(const char *s);
/* User and group names as useradd accepts them; "" is valid here (callers decide). */
bool config_valid_account(const char *s);
/* The first '%' of a hook argument that starts no known substitution (see config.h), or NULL. */
const char *config_bad_subst(const char *arg);
/*
 * A rate in bit/s for rate-in and rate-out: a number (decimals allowed) and a unit, "bit",
 * "kbit", "mbit" or "gbit" (powers of 1000, any case), e.g. "512kbit", "2.5mbit"; "0" is no
 * limit. A size in bytes for rate-burst: a number and "b", "kb", "mb" (powers of 1024, any
 * case; "kib", "mib" too), e.g. "64kb". Both: NULL, or what is wrong.
 */
const char *config_parse_rate(const char *s, uint64_t *bits);
const char *config_parse_size(const char *s, uint64_t *bytes);
/* A base64 key of 32 bytes (44 characters) into key; 0, or -1 with key wiped. */
int config_parse_key(uint8_t key[32], const char *s);
/* True if pub belongs to one of the example private keys shipped in etc/. */
bool config_is_example_key(const uint8_t pub[32]);

/*
 * The text pre-scan. libconfig 1.5 silently truncates integers wider than its type
 * (99999999999 becomes 1215752191) and follows "@include" to any file, so the loader scans the
 * text first, outside strings and comments, and reports both with a line number. Use:
 *	config_scan_init(&sc, text);
 *	while (config_scan_next(&sc, &f))
 *		... one finding f ...
 */
enum config_scan_what {
	CONFIG_SCAN_INCLUDE,   /* "@include": the text must not be parsed */
	CONFIG_SCAN_TOO_LARGE, /* an integer literal wider than libconfig keeps exactly */
};

struct config_scan {
	const char *p; /* next character to look at */
	int line;      /* line of p, from 1 */
};

struct config_scan_finding {
	enum config_scan_what what;
	int line;
	const char *text; /* CONFIG_SCAN_TOO_LARGE: the literal, len characters (not NUL-ended) */
	int len;
};

/* Start a pre-scan of the NUL-terminated text (which must outlive the scan). */
void config_scan_init(struct config_scan *sc, const char *text);
/* The next finding, in text order, into f; false once the text is exhausted. */
bool config_scan_next(struct config_scan *sc, struct config_scan_finding *f);

#endif
