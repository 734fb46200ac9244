/*
 * config.c - the only user of <libconfig.h>: configuration text -> struct vt_config, or a list of
 * "file:line: message" errors. Every error is collected, not just the first, so that one run of
 * -t shows everything to fix. No logging, no sockets, no interfaces: the only I/O is reading the
 * configuration file and the key files it names.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libconfig.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "crypto.h"
#include "keys.h"
#include "log.h"
#include "xmalloc.h"

#define DEFAULT_PORT 5000
#define FILE_MAX (1024 * 1024) /* a configuration file larger than this is a mistake */
#define FLAGGED_MAX 16         /* lines whose integers the pre-scan already rejected */
#define ACCOUNT_MAX 32         /* user and group names */

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

/* Everything one load needs: where errors go and what they are prefixed with. */
struct loader {
	const char *name;    /* file name for messages */
	struct config_errors *errs;
	char ctx[64];        /* "peer 'alice': ", "defaults: " or "" */
	int nerr;            /* errors found, including those beyond CONFIG_MAX_ERRORS */
	int flagged[FLAGGED_MAX];
	int nflagged;
};

/*
 * Per-peer keys. ONE_PEER marks keys that name a single peer (its device, its addresses, its
 * keys) and so cannot appear in the defaults group. X-macro so that the parser table, the key
 * indices used by cross-checks and config_keys[] cannot drift apart.
 */
#define ONE_PEER 1
#define PEER_KEYS(X)                                             \
	X(TYPE, "type", p_type, 0)                               \
	X(DEVICE, "device", p_device, ONE_PEER)                  \
	X(PERSIST, "persist", p_persist, 0)                      \
	X(PROTO, "proto", p_proto, 0)                            \
	X(REMOTE, "remote", p_remote, 0)                         \
	X(MTU, "mtu", p_mtu, 0)                                  \
	X(ADDRESS, "address", p_address, ONE_PEER)               \
	X(PEER_ADDRESS, "peer-address", p_peer_address, ONE_PEER) \
	X(UP, "up", p_up, 0)                                     \
	X(DOWN, "down", p_down, 0)                               \
	X(KEEPALIVE, "keepalive", p_keepalive, 0)                \
	X(TIMEOUT, "timeout", p_timeout, 0)                      \
	X(REKEY, "rekey-interval", p_rekey, 0)                   \
	X(CIPHER, "cipher", p_cipher, 0)                         \
	X(COMPRESS, "compress", p_compress, 0)                   \
	X(COMPRESS_ACCEL, "compress-acceleration", p_accel, 0)   \
	X(PUBLIC_KEY, "public-key", p_public_key, ONE_PEER)      \
	X(PSK, "preshared-key", p_psk, ONE_PEER)                 \
	X(PSK_FILE, "preshared-key-file", p_psk_file, ONE_PEER)

/* Global keys; "defaults" and "peers" are groups handled after the scalar keys. */
#define GLOBAL_KEYS(X)                                       \
	X(LISTEN, "listen", g_listen)                        \
	X(PID_FILE, "pid-file", g_pid_file)                  \
	X(CONTROL_SOCKET, "control-socket", g_control_socket) \
	X(LOG_LEVEL, "log-level", g_log_level)               \
	X(USER, "user", g_user)                              \
	X(GROUP, "group", g_group)                           \
	X(PRIVATE_KEY, "private-key", g_private_key)         \
	X(PRIVATE_KEY_FILE, "private-key-file", g_private_key_file) \
	X(DEFAULTS, "defaults", NULL)                        \
	X(PEERS, "peers", NULL)

#define PEER_ENUM(id, name, fn, flags) PK_##id,
enum { PEER_KEYS(PEER_ENUM) PK_COUNT };
#define GLOBAL_ENUM(id, name, fn) GK_##id,
enum { GLOBAL_KEYS(GLOBAL_ENUM) GK_COUNT };

#define KEY_NAME(id, name, ...) name,
const char *const config_keys[] = { GLOBAL_KEYS(KEY_NAME) PEER_KEYS(KEY_NAME) NULL };

typedef int (*peer_parse_fn)(struct loader *, struct vt_peer *, const config_setting_t *);
typedef int (*global_parse_fn)(struct loader *, struct vt_config *, const config_setting_t *);

#define PEER_PROTO(id, name, fn, flags) \
	static int fn(struct loader *, struct vt_peer *, const config_setting_t *);
PEER_KEYS(PEER_PROTO)
static int g_listen(struct loader *, struct vt_config *, const config_setting_t *);
static int g_pid_file(struct loader *, struct vt_config *, const config_setting_t *);
static int g_control_socket(struct loader *, struct vt_config *, const config_setting_t *);
static int g_log_level(struct loader *, struct vt_config *, const config_setting_t *);
static int g_user(struct loader *, struct vt_config *, const config_setting_t *);
static int g_group(struct loader *, struct vt_config *, const config_setting_t *);
static int g_private_key(struct loader *, struct vt_config *, const config_setting_t *);
static int g_private_key_file(struct loader *, struct vt_config *, const config_setting_t *);

static const struct {
	const char *name;
	peer_parse_fn parse;
	int flags;
} peer_keys[PK_COUNT] = {
#define PEER_ENTRY(id, name, fn, flags) { name, fn, flags },
	PEER_KEYS(PEER_ENTRY)
};

static const struct {
	const char *name;
	global_parse_fn parse;
} global_keys[GK_COUNT] = {
#define GLOBAL_ENTRY(id, name, fn) { name, fn },
	GLOBAL_KEYS(GLOBAL_ENTRY)
};

/* A peer while it is being built: where each key came from, and which keys failed. */
struct peer_work {
	struct vt_peer p;
	int line[PK_COUNT]; /* line of the setting (defaults or peer); 0 = built-in default */
	bool bad[PK_COUNT]; /* the setting was present but rejected */
};

/* Record one error, "name:line: ctx message" (no line when line is 0). */
static void __attribute__((format(printf, 3, 4)))
err(struct loader *ld, int line, const char *fmt, ...)
{
	va_list ap;
	char *out;
	int k;

	ld->nerr++;
	if (ld->errs == NULL)
		return;
	if (ld->errs->n >= CONFIG_MAX_ERRORS) {
		ld->errs->dropped++;
		return;
	}
	out = ld->errs->msg[ld->errs->n];
	if (line > 0)
		k = snprintf(out, CONFIG_ERR_LEN, "%s:%d: %s", ld->name, line, ld->ctx);
	else
		k = snprintf(out, CONFIG_ERR_LEN, "%s: %s", ld->name, ld->ctx);
	if (k >= 0 && k < CONFIG_ERR_LEN) {
		va_start(ap, fmt);
		vsnprintf(out + k, CONFIG_ERR_LEN - (size_t)k, fmt, ap);
		va_end(ap);
	}
	ld->errs->n++;
}

static int
line_of(const config_setting_t *s)
{
	return (int)config_setting_source_line(s);
}

static const char *
type_name(const config_setting_t *s)
{
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_GROUP:
		return "a group";
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		return "an integer";
	case CONFIG_TYPE_FLOAT:
		return "a floating-point number";
	case CONFIG_TYPE_STRING:
		return "a string";
	case CONFIG_TYPE_BOOL:
		return "a boolean";
	case CONFIG_TYPE_ARRAY:
		return "an array";
	case CONFIG_TYPE_LIST:
		return "a list";
	}
	return "of unknown type";
}

/* Name of a setting for messages; array elements report their parent's name. */
static const char *
key_of(const config_setting_t *s)
{
	while (s != NULL && config_setting_name(s) == NULL)
		s = config_setting_parent(s);
	return s != NULL && config_setting_name(s) != NULL ? config_setting_name(s) : "value";
}

/* ---- text pre-scan ---------------------------------------------------------------------- */

static bool
is_flagged(const struct loader *ld, int line)
{
	for (int i = 0; i < ld->nflagged; i++)
		if (ld->flagged[i] == line)
			return true;
	return false;
}

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

/* Check one integer literal starting at p; returns the first character after it. */
static const char *
scan_number(struct loader *ld, const char *p, int line)
{
	const char *start = p;
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
		return p;
	}
	wide = *p == 'L';
	if (hex)
		big = digits > (wide ? 16u : 8u);
	else
		big = big || v > (wide ? 9223372036854775807ULL : 2147483647ULL);
	if (big) {
		err(ld, line, "integer %.*s is too large", (int)(p - start), start);
		if (ld->nflagged < FLAGGED_MAX)
			ld->flagged[ld->nflagged++] = line;
	}
	return p;
}

/*
 * libconfig 1.5 silently truncates integers wider than its type (99999999999 becomes
 * 1215752191) and follows "@include" to any file. Scan the text first, outside strings and
 * comments, to reject both with a line number. Returns -1 if the text must not be parsed.
 */
static int
prescan(struct loader *ld, const char *p)
{
	int line = 1, ret = 0;

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
			if (strncmp(p, "@include", 8) == 0) {
				err(ld, line, "@include is not supported");
				ret = -1;
			}
			p++;
		} else if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '*') {
			/* a setting name or true/false: digits inside are not numbers */
			while (name_char(*p))
				p++;
		} else if (is_digit(*p)) {
			p = scan_number(ld, p, line);
		} else {
			p++;
		}
	}
	return ret;
}

/* ---- scalar values ---------------------------------------------------------------------- */

static int
get_string(struct loader *ld, const config_setting_t *s, const char **out)
{
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		err(ld, line_of(s), "%s must be a string, not %s", key_of(s), type_name(s));
		return -1;
	}
	*out = config_setting_get_string(s);
	return 0;
}

static int
get_int(struct loader *ld, const config_setting_t *s, long long lo, long long hi, int *out)
{
	long long v;

	if (config_setting_type(s) != CONFIG_TYPE_INT &&
	    config_setting_type(s) != CONFIG_TYPE_INT64) {
		err(ld, line_of(s), "%s must be an integer, not %s", key_of(s), type_name(s));
		return -1;
	}
	if (is_flagged(ld, line_of(s)))
		return -1; /* already reported as too large by the pre-scan */
	v = config_setting_get_int64(s);
	if (v < lo || v > hi) {
		err(ld, line_of(s), "%s %lld out of range %lld..%lld", key_of(s), v, lo, hi);
		return -1;
	}
	*out = (int)v;
	return 0;
}

static int
get_bool(struct loader *ld, const config_setting_t *s, bool *out)
{
	if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
		err(ld, line_of(s), "%s must be true or false, not %s", key_of(s), type_name(s));
		return -1;
	}
	*out = config_setting_get_bool(s) != 0;
	return 0;
}

/* A string that must be one of names[]; *out is its index. */
static int
get_choice(struct loader *ld, const config_setting_t *s, const char *const *names, int *out)
{
	char list[128] = "";
	const char *v;

	if (get_string(ld, s, &v) < 0)
		return -1;
	for (int i = 0; names[i] != NULL; i++) {
		if (strcmp(v, names[i]) == 0) {
			*out = i;
			return 0;
		}
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "",
		    names[i]);
	}
	err(ld, line_of(s), "%s '%s' is not one of: %s", key_of(s), v, list);
	return -1;
}

/* An absolute path, for pid-file, control-socket and key files. */
static int
get_path(struct loader *ld, const config_setting_t *s, size_t max, const char **out)
{
	if (get_string(ld, s, out) < 0)
		return -1;
	if ((*out)[0] != '/') {
		err(ld, line_of(s), "%s '%s' must be an absolute path", key_of(s), *out);
		return -1;
	}
	if (strlen(*out) > max) {
		err(ld, line_of(s), "%s is too long (at most %zu characters)", key_of(s), max);
		return -1;
	}
	return 0;
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
 * Parse "host", "host:port", "[v6]:port", "[v6]" or a bare IPv6 address. With numeric, the
 * host must be an IP address. Returns NULL or what is wrong.
 */
static const char *
parse_hostport(const char *s, bool numeric, char host[CONFIG_HOST_MAX + 1], uint16_t *port)
{
	struct in6_addr a6;
	struct in_addr a4;
	const char *colon, *portstr = NULL;
	size_t hlen;

	*port = DEFAULT_PORT;
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

/* Parse "addr/prefix" (with_prefix) or "addr"; returns NULL or what is wrong. */
static const char *
parse_addr(const char *s, bool with_prefix, struct vt_addr *a)
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

/* "address" or "peer-address": a string or an array/list of strings. */
static int
get_addrs(struct loader *ld, const config_setting_t *s, bool with_prefix, struct vt_addr *out,
    int *nout)
{
	int n, type = config_setting_type(s), ret = 0;
	const config_setting_t *e;
	const char *why, *v;

	*nout = 0;
	if (type == CONFIG_TYPE_STRING) {
		n = 1;
	} else if (type == CONFIG_TYPE_ARRAY || type == CONFIG_TYPE_LIST) {
		n = config_setting_length(s);
	} else {
		err(ld, line_of(s), "%s must be a string or a list of strings, not %s", key_of(s),
		    type_name(s));
		return -1;
	}
	if (n > CONFIG_MAX_ADDRS) {
		err(ld, line_of(s), "%s: too many addresses (at most %d)", key_of(s),
		    CONFIG_MAX_ADDRS);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		e = type == CONFIG_TYPE_STRING ? s : config_setting_get_elem(s, (unsigned)i);
		if (get_string(ld, e, &v) < 0) {
			ret = -1;
			continue;
		}
		if ((why = parse_addr(v, with_prefix, &out[*nout])) != NULL) {
			err(ld, line_of(e), "%s '%s' %s", key_of(s), v, why);
			ret = -1;
			continue;
		}
		for (int j = 0; j < *nout; j++) {
			if (out[j].family == out[*nout].family &&
			    memcmp(out[j].addr, out[*nout].addr, 16) == 0) {
				err(ld, line_of(e), "%s '%s' is listed twice", key_of(s), v);
				ret = -1;
				goto next;
			}
			if (!with_prefix && out[j].family == out[*nout].family) {
				err(ld, line_of(e), "%s: at most one %s address", key_of(s),
				    out[j].family == AF_INET ? "IPv4" : "IPv6");
				ret = -1;
				goto next;
			}
		}
		(*nout)++;
next:;
	}
	if (ret < 0)
		*nout = 0;
	return ret;
}

/* ---- hooks ------------------------------------------------------------------------------ */

static void
hook_free(struct vt_hook *h)
{
	for (int i = 0; i < h->ncmds; i++)
		for (int j = 0; j < h->cmds[i].argc; j++)
			free(h->cmds[i].argv[j]);
	memset(h, 0, sizeof(*h));
}

static void
hook_copy(struct vt_hook *dst, const struct vt_hook *src)
{
	memset(dst, 0, sizeof(*dst));
	for (int i = 0; i < src->ncmds; i++) {
		for (int j = 0; j < src->cmds[i].argc; j++)
			dst->cmds[i].argv[j] = xstrdup(src->cmds[i].argv[j]);
		dst->cmds[i].argc = src->cmds[i].argc;
	}
	dst->ncmds = src->ncmds;
}

/* The substitutions hooks.c expands; keep in step with the list in config.h. */
static const char hook_subst[] = "dprPam%";

static int
check_subst(struct loader *ld, const config_setting_t *e, const char *key, const char *arg)
{
	for (const char *p = strchr(arg, '%'); p != NULL; p = strchr(p + 2, '%')) {
		if (p[1] == '\0') {
			err(ld, line_of(e), "%s: lone '%%' at the end of '%s' (write %%%% for a "
			    "percent sign)", key, arg);
			return -1;
		}
		if (strchr(hook_subst, p[1]) == NULL) {
			err(ld, line_of(e), "%s: unknown substitution '%%%c' in '%s' (known: %%d "
			    "%%p %%r %%a %%P %%m %%%%)", key, p[1], arg);
			return -1;
		}
	}
	return 0;
}

/* One command: a non-empty array of strings whose first element is an absolute path. */
static int
get_cmd(struct loader *ld, const config_setting_t *s, const char *key, struct vt_cmd *cmd)
{
	int n = config_setting_length(s), ret = 0;
	const config_setting_t *e;
	const char *v;

	memset(cmd, 0, sizeof(*cmd));
	if (n == 0) {
		err(ld, line_of(s), "%s: empty command", key);
		return -1;
	}
	if (n > CONFIG_MAX_ARGS) {
		err(ld, line_of(s), "%s: too many arguments (at most %d)", key, CONFIG_MAX_ARGS);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		e = config_setting_get_elem(s, (unsigned)i);
		if (config_setting_type(e) != CONFIG_TYPE_STRING) {
			err(ld, line_of(e), "%s: arguments must be strings, not %s", key,
			    type_name(e));
			ret = -1;
			break;
		}
		v = config_setting_get_string(e);
		if (i == 0 && v[0] != '/') {
			err(ld, line_of(e), "%s: command '%s' must be an absolute path", key, v);
			ret = -1;
		}
		if (check_subst(ld, e, key, v) < 0)
			ret = -1;
		cmd->argv[cmd->argc++] = xstrdup(v);
	}
	return ret;
}

/* "up"/"down": ["/path", "arg", ...] for one command, or ( [...], [...] ) for several. */
static int
get_hook(struct loader *ld, const config_setting_t *s, struct vt_hook *h)
{
	const char *key = key_of(s);
	int n, ret = 0;

	memset(h, 0, sizeof(*h));
	if (config_setting_type(s) == CONFIG_TYPE_ARRAY) {
		ret = get_cmd(ld, s, key, &h->cmds[0]);
		h->ncmds = 1;
	} else if (config_setting_type(s) == CONFIG_TYPE_LIST) {
		n = config_setting_length(s);
		if (n > CONFIG_MAX_HOOKS) {
			err(ld, line_of(s), "%s: too many commands (at most %d)", key,
			    CONFIG_MAX_HOOKS);
			return -1;
		}
		for (int i = 0; i < n; i++) {
			const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);

			if (config_setting_type(e) != CONFIG_TYPE_ARRAY) {
				/* once is enough: ("/bin/a", "x") is one mistake, not two */
				err(ld, line_of(e), "%s: each command must be an array [\"/path\", "
				    "\"arg\", ...], not %s", key, type_name(e));
				ret = -1;
				break;
			}
			if (get_cmd(ld, e, key, &h->cmds[h->ncmds++]) < 0)
				ret = -1;
		}
	} else {
		err(ld, line_of(s), "%s must be an array [\"/path\", \"arg\", ...] or a list of "
		    "arrays, not %s", key, type_name(s));
		return -1;
	}
	if (ret < 0)
		hook_free(h);
	return ret;
}

/* ---- peer keys -------------------------------------------------------------------------- */

static int
p_type(struct loader *ld, struct vt_peer *p, const config_setting_t *s)
{
	static const char *const names[] = { "tun", "tap", NULL };
	int v;

	if (get_choice(ld, s, names, &v) < 0)
		return -1;
	p->type = (enum vt_devtype)v;
	return 0;
}

/* Linux dev_valid_name(), and no '%' since we never ask the kernel to pick a number. */
static bool
valid_ifname(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > CONFIG_IFNAME_MAX || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	for (; *s != '\0'; s++)
		if (*s == '/' || *s == ':' || *s == '%' || *s <= ' ' || *s == 0x7f)
			return false;
	return true;
}

static int
p_device(struct loader *ld, struct vt_peer *p, const config_setting_t *s)
{
	const char *v;

	if (get_string(ld, s, &v) < 0)
		return -1;
	if (!valid_ifname(v)) {
		err(ld, line_of(s), "device '%s' is not a valid interface name (1..%d characters, "
		    "no '/', ':', '%%' or white space)", v, CONFIG_IFNAME_MAX);
		return -1;
	}
	strcpy(p->device, v);
	return 0;
}

static int
p_persist(struct loader *ld, struct vt_peer *p, const config_setting_t *s)
{
	return get_bool(ld, s, &p->persist);
}

static int
p_proto(struct loader *ld, struct vt_peer *p, const config_setting_t *s)
{
	static const char *const names[] = { "udp", "tcp", NULL };
	int v;

	if (get_choice(ld, s, names, &v) < 0)
		return -1;
	p->proto = (enum vt_proto)v;
	return 0;
}

static int
p_remote(struct loader *ld, struct vt_peer *p, const config_setting_t *s)
{
	const char *v, *why;

	if (get_string(ld, s, &v) < 0)
		return -1;
	if ((why = parse_hostport(v, false, p->remote_host, &p->remote_port)) != NULL) {
		err(ld, line_of(s), "remote '%s': %s", v, why);
		return -1;
	}
	p->has_remote = true;
	return 0;
}

static int
p_mtu(struct loader *ld, struct vt_peer *p, const config_setting_t *s)
{
	return get_int(ld, s, 576, 9000, &p->mtu);
}

static int
p_address(struct loader *ld, struct vt_peer *p, const config_setting_t *s)
{
	return get_addrs(ld, s, true, p->addrs, &p->naddrs);
}

static int
p_peer_address(struct loader *ld, struct vt_peer *p, const config_setting_t *s)
{
	return get_addrs(ld, s, false, p->peer_addrs, &p->npeer_addrs);
}

static int
p_up(struct loader *ld, struct vt_peer *p, const config_setting_t *s)
{
	struct vt_hook h;

	if (get_hook(ld, s, &h) < 0)
		return -1;
	hook_free(&p->up);
	p->up = h;
	return 0;
}

static int
p_down(struct loader *ld, struct vt_peer *p, const config_setting_t *s)
{
	struct vt_hook h;

	if (get_hook(ld, s, &h) < 0)
		return -1;
	hook_free(&p->down);
	p->down = h;
	return 0;
}

static int
p_keepalive(struct loader *ld, struct vt_peer *p, const config_setting_t *s)
{
	return get_int(ld, s, 0, 3600, &p->keepalive);
}

static int
p_timeout(struct loader *ld, struct vt_peer *p, const config_setting_t *s)
{
	return get_int(ld, s, 0, 86400, &p->timeout);
}

static int
p_rekey(struct loader *ld, struct vt_peer *p, const config_setting_t *s)
{
	return get_int(ld, s, 10, 120, &p->rekey_interval);
}

static int
p_cipher(struct loader *ld, struct vt_peer *p, const config_setting_t *s)
{
	static const char *const names[] = { "aes-256-gcm", "chacha20-poly1305", NULL };
	int v;

	if (get_choice(ld, s, names, &v) < 0)
		return -1;
	p->cipher = (enum vt_cipher)v;
	return 0;
}

static int
p_compress(struct loader *ld, struct vt_peer *p, const config_setting_t *s)
{
	static const char *const names[] = { "none", "lz4", NULL };
	int v;

	if (get_choice(ld, s, names, &v) < 0)
		return -1;
	p->compress = (enum vt_compress)v;
	return 0;
}

static int
p_accel(struct loader *ld, struct vt_peer *p, const config_setting_t *s)
{
	return get_int(ld, s, 1, 65537, &p->compress_accel);
}

/* A base64 key: 32 bytes, 44 characters. */
static int
get_key(struct loader *ld, const config_setting_t *s, uint8_t key[32])
{
	const char *v;

	if (get_string(ld, s, &v) < 0)
		return -1;
	if (crypto_key_from_base64(key, v) < 0) {
		crypto_wipe(key, 32);
		err(ld, line_of(s), "%s is not a base64 key of 32 bytes (44 characters, made by "
		    "\"vtund-ng genkey\")", key_of(s));
		return -1;
	}
	return 0;
}

/* A key file: absolute path, private to its owner (keys_read_file checks the mode). */
static int
get_key_file(struct loader *ld, const config_setting_t *s, uint8_t key[32])
{
	char why[256] = "";
	const char *path;

	if (get_path(ld, s, 4095, &path) < 0)
		return -1;
	if (keys_read_file(path, true, key, why, sizeof(why)) < 0) {
		crypto_wipe(key, 32);
		err(ld, line_of(s), "%s: %s", key_of(s), why[0] != '\0' ? why : "cannot read key");
		return -1;
	}
	return 0;
}

static int
p_public_key(struct loader *ld, struct vt_peer *p, const config_setting_t *s)
{
	return get_key(ld, s, p->public_key);
}

static int
p_psk(struct loader *ld, struct vt_peer *p, const config_setting_t *s)
{
	if (get_key(ld, s, p->psk) < 0)
		return -1;
	p->has_psk = true;
	return 0;
}

static int
p_psk_file(struct loader *ld, struct vt_peer *p, const config_setting_t *s)
{
	if (get_key_file(ld, s, p->psk) < 0)
		return -1;
	p->has_psk = true;
	return 0;
}

/* ---- global keys ------------------------------------------------------------------------ */

static int
g_listen(struct loader *ld, struct vt_config *cfg, const config_setting_t *s)
{
	const char *v, *why;

	if (get_string(ld, s, &v) < 0)
		return -1;
	if ((why = parse_hostport(v, true, cfg->listen_host, &cfg->listen_port)) != NULL) {
		err(ld, line_of(s), "listen '%s': %s", v, why);
		return -1;
	}
	return 0;
}

static int
g_pid_file(struct loader *ld, struct vt_config *cfg, const config_setting_t *s)
{
	const char *v;

	if (get_path(ld, s, 4095, &v) < 0)
		return -1;
	cfg->pid_file = xstrdup(v);
	return 0;
}

static int
g_control_socket(struct loader *ld, struct vt_config *cfg, const config_setting_t *s)
{
	struct sockaddr_un sa;
	const char *v;

	if (get_path(ld, s, sizeof(sa.sun_path) - 1, &v) < 0)
		return -1;
	cfg->control_socket = xstrdup(v);
	return 0;
}

static int
g_log_level(struct loader *ld, struct vt_config *cfg, const config_setting_t *s)
{
	static const char *const names[] = { "error", "warning", "info", "debug", NULL };
	int v;

	if (get_choice(ld, s, names, &v) < 0)
		return -1;
	cfg->log_level = log_level_parse(names[v]);
	return 0;
}

/* A user or group name as useradd accepts it; empty only where allowed. */
static int
get_account(struct loader *ld, const config_setting_t *s, bool empty_ok, char **out)
{
	const char *v;
	size_t len;

	if (get_string(ld, s, &v) < 0)
		return -1;
	len = strlen(v);
	if (len == 0 && !empty_ok) {
		err(ld, line_of(s), "%s must not be empty", key_of(s));
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		char c = v[i];
		bool ok = (name_char(c) && c != '*') || c == '.' || (c == '$' && i == len - 1);

		if (!ok || (i == 0 && c == '-') || len > ACCOUNT_MAX) {
			err(ld, line_of(s), "%s '%s' is not a valid name", key_of(s), v);
			return -1;
		}
	}
	*out = xstrdup(v);
	return 0;
}

static int
g_user(struct loader *ld, struct vt_config *cfg, const config_setting_t *s)
{
	return get_account(ld, s, true, &cfg->user);
}

static int
g_group(struct loader *ld, struct vt_config *cfg, const config_setting_t *s)
{
	return get_account(ld, s, false, &cfg->group);
}

static int
g_private_key(struct loader *ld, struct vt_config *cfg, const config_setting_t *s)
{
	return get_key(ld, s, cfg->private_key);
}

static int
g_private_key_file(struct loader *ld, struct vt_config *cfg, const config_setting_t *s)
{
	return get_key_file(ld, s, cfg->private_key);
}

/* ---- peers ------------------------------------------------------------------------------ */

static int
find_peer_key(const char *name)
{
	for (int k = 0; k < PK_COUNT; k++)
		if (strcmp(peer_keys[k].name, name) == 0)
			return k;
	return -1;
}

/* Apply the settings of one group (defaults or a peer) on top of w. */
static void
apply_group(struct loader *ld, struct peer_work *w, const config_setting_t *g, bool defaults)
{
	const config_setting_t *psk = config_setting_get_member(g, "preshared-key");
	const config_setting_t *psk_file = config_setting_get_member(g, "preshared-key-file");
	int n = config_setting_length(g);
	bool both_psk = psk != NULL && psk_file != NULL && !defaults;

	/* with both forms of the pre-shared key, say so once rather than read a file for nothing */
	if (both_psk)
		err(ld, line_of(psk) > line_of(psk_file) ? line_of(psk) : line_of(psk_file),
		    "set preshared-key or preshared-key-file, not both");
	for (int i = 0; i < n; i++) {
		const config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
		const char *name = config_setting_name(s);
		int k = find_peer_key(name);

		if (both_psk && (k == PK_PSK || k == PK_PSK_FILE))
			continue;

		if (k < 0) {
			err(ld, line_of(s), "unknown key '%s'", name);
			continue;
		}
		if (defaults && (peer_keys[k].flags & ONE_PEER)) {
			err(ld, line_of(s), "'%s' belongs to one peer and cannot be set in "
			    "defaults", name);
			continue;
		}
		w->line[k] = line_of(s);
		w->bad[k] = peer_keys[k].parse(ld, &w->p, s) < 0;
	}
}

/* Built-in per-peer defaults, as documented in config.h. */
static void
builtin_defaults(struct peer_work *w)
{
	memset(w, 0, sizeof(*w));
	w->p.type = VT_TUN;
	w->p.proto = VT_UDP;
	w->p.remote_port = DEFAULT_PORT;
	w->p.mtu = 1400;
	w->p.keepalive = 10;
	w->p.timeout = 60;
	w->p.rekey_interval = 120;
	w->p.cipher = VT_AES256GCM;
	w->p.compress = VT_COMPRESS_NONE;
	w->p.compress_accel = 1;
}

/* Peer names: a letter, then letters, digits, '_', '-' or '.'; 1..CONFIG_NAME_MAX. */
static bool
valid_peer_name(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > CONFIG_NAME_MAX)
		return false;
	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
		return false;
	for (; *s != '\0'; s++)
		if (!(name_char(*s) || *s == '.') || *s == '*')
			return false;
	return true;
}

static bool
has_family(const struct vt_addr *a, int n, int family)
{
	for (int i = 0; i < n; i++)
		if (a[i].family == family)
			return true;
	return false;
}

/* Checks that involve several keys of one peer, after defaults and the peer are merged. */
static void
check_peer(struct loader *ld, struct peer_work *w, int peer_line)
{
	struct vt_peer *p = &w->p;
	int l;

	if (w->line[PK_PUBLIC_KEY] == 0)
		err(ld, peer_line, "missing public-key (the other side's public key)");
	if (p->persist && !w->bad[PK_PERSIST] && (p->naddrs > 0 || p->npeer_addrs > 0)) {
		l = p->naddrs > 0 ? w->line[PK_ADDRESS] : w->line[PK_PEER_ADDRESS];
		err(ld, l, "persist devices are configured by the administrator: remove %s",
		    p->naddrs > 0 ? "address" : "peer-address");
	}
	if (p->type == VT_TAP && p->npeer_addrs > 0 && !w->bad[PK_TYPE])
		err(ld, w->line[PK_PEER_ADDRESS], "peer-address is for tun devices only (type is "
		    "tap)");
	else if (!p->persist && !w->bad[PK_ADDRESS]) {
		for (int i = 0; i < p->npeer_addrs; i++) {
			if (!has_family(p->addrs, p->naddrs, p->peer_addrs[i].family)) {
				err(ld, w->line[PK_PEER_ADDRESS], "peer-address needs a local "
				    "%s address",
				    p->peer_addrs[i].family == AF_INET ? "IPv4" : "IPv6");
				break;
			}
		}
	}
	if (p->keepalive > 0 && p->timeout > 0 && p->timeout <= p->keepalive &&
	    !w->bad[PK_KEEPALIVE] && !w->bad[PK_TIMEOUT]) {
		l = w->line[PK_TIMEOUT] > w->line[PK_KEEPALIVE] ? w->line[PK_TIMEOUT] :
		    w->line[PK_KEEPALIVE];
		err(ld, l, "timeout %d must be greater than keepalive %d (or 0 to disable)",
		    p->timeout, p->keepalive);
	}
}

/* Checks across peers: devices and public keys must be unique, and not our own key. */
static void
check_unique(struct loader *ld, struct vt_config *cfg, const struct peer_work *w, bool own_ok)
{
	const struct vt_peer *p = &w->p;

	bool dev_dup = false, key_dup = false;

	snprintf(ld->ctx, sizeof(ld->ctx), "peer '%s': ", p->name);
	/* one message per kind: a file with the same key pasted ten times gets ten, not 45 */
	for (int j = 0; j < cfg->npeers; j++) {
		const struct vt_peer *q = &cfg->peers[j];

		if (!dev_dup && strcmp(p->device, q->device) == 0) {
			err(ld, w->line[PK_DEVICE] ? w->line[PK_DEVICE] : p->line,
			    "device '%s' is already used by peer '%s'", p->device, q->name);
			dev_dup = true;
		}
		if (!key_dup && w->line[PK_PUBLIC_KEY] != 0 && !w->bad[PK_PUBLIC_KEY] &&
		    crypto_equal(p->public_key, q->public_key, 32)) {
			err(ld, w->line[PK_PUBLIC_KEY], "public-key is already used by peer '%s'",
			    q->name);
			key_dup = true;
		}
	}
	if (own_ok && w->line[PK_PUBLIC_KEY] != 0 && !w->bad[PK_PUBLIC_KEY] &&
	    crypto_equal(p->public_key, cfg->public_key, 32))
		err(ld, w->line[PK_PUBLIC_KEY], "public-key is our own public key: it must be the "
		    "other side's");
	ld->ctx[0] = '\0';
}

static void
peer_free(struct vt_peer *p)
{
	hook_free(&p->up);
	hook_free(&p->down);
	crypto_wipe(p, sizeof(*p));
}

static void
load_peers(struct loader *ld, struct vt_config *cfg, const config_setting_t *defaults,
    const config_setting_t *peers, bool own_ok)
{
	struct peer_work tmpl, w;
	int n;

	builtin_defaults(&tmpl);
	if (defaults != NULL) {
		if (config_setting_type(defaults) != CONFIG_TYPE_GROUP) {
			err(ld, line_of(defaults), "defaults must be a group { ... }, not %s",
			    type_name(defaults));
		} else {
			snprintf(ld->ctx, sizeof(ld->ctx), "defaults: ");
			apply_group(ld, &tmpl, defaults, true);
			ld->ctx[0] = '\0';
		}
	}
	if (peers == NULL) {
		err(ld, 1, "no peers: add a group peers = { name = { public-key = \"...\"; }; }");
		goto out;
	}
	if (config_setting_type(peers) != CONFIG_TYPE_GROUP) {
		err(ld, line_of(peers), "peers must be a group { ... }, not %s", type_name(peers));
		goto out;
	}
	n = config_setting_length(peers);
	if (n == 0) {
		err(ld, line_of(peers), "no peers defined");
		goto out;
	}
	if (n > CONFIG_MAX_PEERS) {
		err(ld, line_of(peers), "too many peers (at most %d)", CONFIG_MAX_PEERS);
		goto out;
	}
	cfg->peers = xcalloc((size_t)n, sizeof(*cfg->peers));
	for (int i = 0; i < n; i++) {
		const config_setting_t *g = config_setting_get_elem(peers, (unsigned)i);
		const char *name = config_setting_name(g);

		if (!valid_peer_name(name)) {
			err(ld, line_of(g), "peer name '%s' is not valid (a letter, then letters, "
			    "digits, '_' or '-'; at most %d characters)", name, CONFIG_NAME_MAX);
			continue;
		}
		if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
			err(ld, line_of(g), "peer '%s' must be a group { ... }, not %s", name,
			    type_name(g));
			continue;
		}
		w = tmpl;
		hook_copy(&w.p.up, &tmpl.p.up);
		hook_copy(&w.p.down, &tmpl.p.down);
		strcpy(w.p.name, name);
		w.p.line = line_of(g);
		snprintf(w.p.device, sizeof(w.p.device), "vt-%s", name);
		snprintf(ld->ctx, sizeof(ld->ctx), "peer '%s': ", name);
		apply_group(ld, &w, g, false);
		check_peer(ld, &w, w.p.line);
		ld->ctx[0] = '\0';
		check_unique(ld, cfg, &w, own_ok);
		cfg->peers[cfg->npeers++] = w.p;
		crypto_wipe(&w, sizeof(w));
	}
out:
	peer_free(&tmpl.p);
}

/* ---- loading ---------------------------------------------------------------------------- */

static int
find_global_key(const char *name)
{
	for (int k = 0; k < GK_COUNT; k++)
		if (strcmp(global_keys[k].name, name) == 0)
			return k;
	return -1;
}

static bool
is_example_key(const uint8_t pub[32])
{
	uint8_t k[32];
	bool found = false;

	for (size_t i = 0; i < sizeof(example_public_keys) / sizeof(example_public_keys[0]); i++)
		if (crypto_key_from_base64(k, example_public_keys[i]) == 0 &&
		    crypto_equal(k, pub, 32))
			found = true;
	return found;
}

/* Turn a parsed libconfig tree into cfg. */
static void
load_tree(struct loader *ld, config_t *lc, struct vt_config *cfg)
{
	const config_setting_t *root = config_root_setting(lc), *s;
	int line[GK_COUNT] = { 0 };
	bool bad[GK_COUNT] = { false };
	bool own_ok = false, both_keys = false;
	int n = config_setting_length(root), k;

	/* with both forms of the private key, say so once rather than read a file for nothing */
	if (config_setting_get_member(root, "private-key") != NULL &&
	    config_setting_get_member(root, "private-key-file") != NULL) {
		int l1 = line_of(config_setting_get_member(root, "private-key"));
		int l2 = line_of(config_setting_get_member(root, "private-key-file"));

		err(ld, l1 > l2 ? l1 : l2, "set private-key or private-key-file, not both");
		both_keys = true;
	}
	for (int i = 0; i < n; i++) {
		s = config_setting_get_elem(root, (unsigned)i);
		k = find_global_key(config_setting_name(s));
		if (k < 0) {
			if (find_peer_key(config_setting_name(s)) >= 0)
				err(ld, line_of(s), "unknown key '%s' (per-peer keys go in a peer "
				    "or in defaults)", config_setting_name(s));
			else
				err(ld, line_of(s), "unknown key '%s'", config_setting_name(s));
			continue;
		}
		line[k] = line_of(s);
		if (both_keys && (k == GK_PRIVATE_KEY || k == GK_PRIVATE_KEY_FILE))
			continue;
		if (global_keys[k].parse != NULL)
			bad[k] = global_keys[k].parse(ld, cfg, s) < 0;
	}
	if (both_keys) {
		/* reported above */
	} else if (line[GK_PRIVATE_KEY] == 0 && line[GK_PRIVATE_KEY_FILE] == 0) {
		err(ld, 1, "missing private-key or private-key-file (make one with \"vtund-ng "
		    "genkey\")");
	} else if (!bad[GK_PRIVATE_KEY] && !bad[GK_PRIVATE_KEY_FILE]) {
		k = line[GK_PRIVATE_KEY] != 0 ? GK_PRIVATE_KEY : GK_PRIVATE_KEY_FILE;
		if (crypto_x25519_public(cfg->private_key, cfg->public_key) < 0)
			err(ld, line[k], "%s: cannot derive a public key", global_keys[k].name);
		else
			own_ok = true;
	}
	cfg->example_key = own_ok && is_example_key(cfg->public_key);
	load_peers(ld, cfg, config_lookup(lc, "defaults"), config_lookup(lc, "peers"), own_ok);
}

/* Parse text (already read) under the name used in messages. */
static int
load_text(const char *text, const char *name, struct vt_config *cfg, struct config_errors *errs)
{
	struct loader ld;
	config_t lc;
	int ret = -1;

	memset(cfg, 0, sizeof(*cfg));
	memset(&ld, 0, sizeof(ld));
	ld.name = name;
	ld.errs = errs;
	cfg->path = xstrdup(name);
	strcpy(cfg->listen_host, "::");
	cfg->listen_port = DEFAULT_PORT;
	cfg->log_level = LOG_LVL_INFO;

	if (prescan(&ld, text) < 0)
		goto out;
	config_init(&lc);
	if (config_read_string(&lc, text) != CONFIG_TRUE) {
		const char *why = config_error_text(&lc);

		/* libconfig's text is often just "syntax error": do not say it twice */
		if (why == NULL || strcmp(why, "syntax error") == 0)
			err(&ld, config_error_line(&lc), "syntax error");
		else
			err(&ld, config_error_line(&lc), "syntax error: %s", why);
	} else {
		load_tree(&ld, &lc, cfg);
	}
	config_destroy(&lc);
	if (ld.nerr == 0)
		ret = 0;
out:
	if (ret < 0)
		config_free(cfg);
	return ret;
}

/* Read a whole file, refusing what cannot be a configuration; NULL after an error. */
static char *
read_file(struct loader *ld, const char *path)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	ssize_t r;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		err(ld, 0, "cannot open: %s", strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0) {
		err(ld, 0, "cannot open: %s", strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		err(ld, 0, "cannot open: %s", S_ISDIR(st.st_mode) ? strerror(EISDIR) :
		    "not a regular file");
		goto fail;
	}
	if (st.st_size > FILE_MAX) {
		err(ld, 0, "file too large (more than %d bytes)", FILE_MAX);
		goto fail;
	}
	buf = xcalloc(1, (size_t)st.st_size + 1);
	while (len < (size_t)st.st_size) {
		r = read(fd, buf + len, (size_t)st.st_size - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err(ld, 0, "cannot read: %s", strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	buf[len] = '\0';
	if (strlen(buf) != len) {
		int line = 1;

		for (const char *p = buf; *p != '\0'; p++)
			line += *p == '\n';
		err(ld, line, "NUL byte in file");
		goto fail;
	}
	close(fd);
	return buf;
fail:
	free(buf);
	close(fd);
	return NULL;
}

int
config_load(const char *path, struct vt_config *cfg, struct config_errors *errs)
{
	struct loader ld;
	char *text;
	int ret;

	if (errs != NULL)
		memset(errs, 0, sizeof(*errs));
	memset(cfg, 0, sizeof(*cfg));
	memset(&ld, 0, sizeof(ld));
	ld.name = path;
	ld.errs = errs;
	if ((text = read_file(&ld, path)) == NULL)
		return -1;
	ret = load_text(text, path, cfg, errs);
	free(text);
	return ret;
}

int
config_load_string(const char *text, const char *name, struct vt_config *cfg,
    struct config_errors *errs)
{
	if (errs != NULL)
		memset(errs, 0, sizeof(*errs));
	return load_text(text, name, cfg, errs);
}

const struct vt_peer *
config_find_peer(const struct vt_config *cfg, const char *name)
{
	for (int i = 0; i < cfg->npeers; i++)
		if (strcmp(cfg->peers[i].name, name) == 0)
			return &cfg->peers[i];
	return NULL;
}

void
config_free(struct vt_config *cfg)
{
	for (int i = 0; i < cfg->npeers; i++)
		peer_free(&cfg->peers[i]);
	free(cfg->peers);
	free(cfg->path);
	free(cfg->pid_file);
	free(cfg->control_socket);
	free(cfg->user);
	free(cfg->group);
	crypto_wipe(cfg, sizeof(*cfg));
}
