/*
 * config.c - with config_value.c, the only user of <libconfig.h>: configuration text -> struct
 * vt_config, or a list of "file:line: message" errors. Every error is collected, not just the
 * first, so that one run of -t shows everything to fix. No logging, no sockets, no interfaces:
 * the only I/O is reading the configuration file and the key files it names.
 *
 * This file walks the global settings, defaults and peers through the key tables, applies
 * inheritance and the checks across keys and peers. One setting -> one value is
 * config_value.c; the pure string parsers under both are config_parse.c.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "config_parse.h"
#include "config_value.h"
#include "crypto.h"
#include "log.h"
#include "mtu.h"
#include "prefix.h"
#include "shaper.h"
#include "xmalloc.h"

#define FILE_MAX (1024 * 1024) /* a configuration file larger than this is a mistake */

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
	X(BRIDGE, "bridge", p_bridge, 0)                         \
	X(PROTO, "proto", p_proto, 0)                            \
	X(REMOTE, "remote", p_remote, 0)                         \
	X(FAILBACK, "failback", p_failback, 0)                   \
	X(MTU, "mtu", p_mtu, 0)                                  \
	X(MSS_CLAMP, "mss-clamp", p_mss_clamp, 0)                \
	X(ADDRESS, "address", p_address, ONE_PEER)               \
	X(PEER_ADDRESS, "peer-address", p_peer_address, ONE_PEER) \
	X(ROUTES, "routes", p_routes, ONE_PEER)                  \
	X(ALLOWED_IPS, "allowed-ips", p_allowed_ips, ONE_PEER)   \
	X(UP, "up", p_up, 0)                                     \
	X(DOWN, "down", p_down, 0)                               \
	X(SESSION_UP, "session-up", p_session_up, 0)             \
	X(SESSION_DOWN, "session-down", p_session_down, 0)       \
	X(KEEPALIVE, "keepalive", p_keepalive, 0)                \
	X(TIMEOUT, "timeout", p_timeout, 0)                      \
	X(REKEY, "rekey-interval", p_rekey, 0)                   \
	X(CIPHER, "cipher", p_cipher, 0)                         \
	X(COMPRESS, "compress", p_compress, 0)                   \
	X(COMPRESS_ACCEL, "compress-acceleration", p_accel, 0)   \
	X(OFFLOAD, "offload", p_offload, 0)                      \
	X(DUPLICATE, "duplicate", p_duplicate, 0)                \
	X(RATE_IN, "rate-in", p_rate_in, 0)                      \
	X(RATE_OUT, "rate-out", p_rate_out, 0)                   \
	X(RATE_BURST, "rate-burst", p_rate_burst, 0)             \
	X(PUBLIC_KEY, "public-key", p_public_key, ONE_PEER)      \
	X(PSK, "preshared-key", p_psk, ONE_PEER)                 \
	X(PSK_FILE, "preshared-key-file", p_psk_file, ONE_PEER)

/* Global keys; "defaults" and "peers" are groups handled after the scalar keys. */
#define GLOBAL_KEYS(X)                                       \
	X(LISTEN, "listen", g_listen)                        \
	X(PID_FILE, "pid-file", g_pid_file)                  \
	X(CONTROL_SOCKET, "control-socket", g_control_socket) \
	X(LOG_LEVEL, "log-level", g_log_level)               \
	X(THREADS, "threads", g_threads)                     \
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
static int g_threads(struct loader *, struct vt_config *, const config_setting_t *);
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

/* ---- peer keys -------------------------------------------------------------------------- */

static int
p_type(struct loader *ld, struct vt_peer *p, const config_setting_t *s)
{
	int v;

	if (config_get_choice(ld, s, names_devtype, &v) < 0)
		return -1;
	p->type = (enum vt_devtype)v;
	return 0;
}

static int
p_device(struct loader *ld, struct vt_peer *p, const config_setting_t *s)
{
	const char *v;

	if (config_get_string(ld, s, &v) < 0)
		return -1;
	if (!config_valid_ifname(v)) {
		config_err(ld, config_line(s), "device '%s' is not a valid interface name (1..%d "
		    "characters, no '/', ':', '%%' or white space)", v, CONFIG_IFNAME_MAX);
		return -1;
	}
	strcpy(p->device, v);
	return 0;
}

static int
p_bridge(struct loader *ld, struct vt_peer *p, const config_setting_t *s)
{
	const char *v;

	if (config_get_string(ld, s, &v) < 0)
		return -1;
	if (v[0] != '\0' && !config_valid_ifname(v)) {
		config_err(ld, config_line(s), "bridge '%s' is not a valid interface name (1..%d "
		    "characters, no '/', ':', '%%' or white space)", v, CONFIG_IFNAME_MAX);
		return -1;
	}
	strcpy(p->bridge, v);
	return 0;
}

static int
p_persist(struct loader *ld, struct vt_peer *p, const config_setting_t *s)
{
	return config_get_bool(ld, s, &p->persist);
}

/* "udp", "tcp", or a list of them: the first is proto, every one is in protos. */
static int
p_proto(struct loader *ld, struct vt_peer *p, const config_setting_t *s)
{
	int type = config_setting_type(s), n = 1, v;
	unsigned protos = 0;

	if (type == CONFIG_TYPE_ARRAY || type == CONFIG_TYPE_LIST) {
		n = config_setting_length(s);
		if (n == 0) {
			config_err(ld, config_line(s), "proto: an empty list (name \"udp\", \"tcp\" "
			    "or both)");
			return -1;
		}
	} else if (type != CONFIG_TYPE_STRING) {
		config_err(ld, config_line(s), "proto must be \"udp\", \"tcp\" or a list of them, "
		    "not %s", config_type_name(s));
		return -1;
	}
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = n == 1 && type == CONFIG_TYPE_STRING ? s :
		    config_setting_get_elem(s, (unsigned)i);

		if (e == NULL || config_get_choice(ld, e, names_proto, &v) < 0)
			return -1;
		if (protos & (1u << v)) {
			config_err(ld, config_line(e), "proto: '%s' is named twice", names_proto[v]);
			return -1;
		}
		if (protos == 0)
			p->proto = (enum vt_proto)v;
		protos |= 1u << v;
	}
	p->protos = protos;
	return 0;
}

/* "host:port", "host:port tcp", or a list of them (the client's servers, in order); a
 * transport left out is filled in from proto once the peer is complete (check_remotes). */
static int
p_remote(struct loader *ld, struct vt_peer *p, const config_setting_t *s)
{
	int type = config_setting_type(s), n = 1;
	const char *v, *why;

	if (type == CONFIG_TYPE_ARRAY || type == CONFIG_TYPE_LIST) {
		n = config_setting_length(s);
	} else if (type != CONFIG_TYPE_STRING) {
		config_err(ld, config_line(s), "remote must be a string or a list of strings, not "
		    "%s", config_type_name(s));
		return -1;
	}
	if (n == 0 || n > CONFIG_MAX_REMOTES) {
		config_err(ld, config_line(s), "remote: %s (1 to %d of them)", n == 0 ?
		    "an empty list" : "too many", CONFIG_MAX_REMOTES);
		return -1;
	}
	p->nremotes = 0;
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = type == CONFIG_TYPE_STRING ? s :
		    config_setting_get_elem(s, (unsigned)i);
		struct vt_remote *r = &p->remotes[i];

		if (config_get_string(ld, e, &v) < 0)
			return -1;
		if ((why = config_parse_remote(v, r->host, &r->port, CONFIG_DEFAULT_PORT,
		    &r->proto)) != NULL) {
			if (type == CONFIG_TYPE_STRING)
				config_err(ld, config_line(e), "remote '%s': %s", v, why);
			else
				config_err(ld, config_line(e), "remote '%s' (entry %d of the list): %s",
				    v, i + 1, why);
			return -1;
		}
		r->line = config_line(e);
		p->nremotes++;
	}
	return 0;
}

static int
p_failback(struct loader *ld, struct vt_peer *p, const config_setting_t *s)
{
	return config_get_int(ld, s, 0, 86400, &p->failback);
}

static int
p_mtu(struct loader *ld, struct vt_peer *p, const config_setting_t *s)
{
	if (config_setting_type(s) == CONFIG_TYPE_STRING) {
		const char *v = config_setting_get_string(s);

		if (v[0] != '\0' && strspn(v, "0123456789") == strlen(v)) {
			config_err(ld, config_line(s), "mtu must be an integer, not a string (mtu = "
			    "%s, without quotes), or \"auto\"", v);
			return -1;
		}
		if (strcmp(v, "auto") != 0) {
			config_err(ld, config_line(s), "mtu '%s' is not \"auto\" or a number "
			    "576..9000", v);
			return -1;
		}
		p->mtu = 0;
		p->mtu_auto = true;
		return 0;
	}
	if (config_get_int(ld, s, MTU_MIN, MTU_MAX, &p->mtu) < 0)
		return -1;
	p->mtu_auto = false;
	return 0;
}

static int
p_mss_clamp(struct loader *ld, struct vt_peer *p, const config_setting_t *s)
{
	return config_get_bool(ld, s, &p->mss_clamp);
}

/* rate-in, rate-out: "0" or SHAPER_RATE_MIN..MAX bit/s. */
static int
get_rate(struct loader *ld, const config_setting_t *s, uint64_t *out)
{
	const char *v, *why;
	uint64_t r;

	if (config_get_string(ld, s, &v) < 0)
		return -1;
	if ((why = config_parse_rate(v, &r)) != NULL) {
		config_err(ld, config_line(s), "%s '%s' %s (a rate is like \"512kbit\", "
		    "\"10mbit\", \"1gbit\"; \"0\" for none)", config_key_name(s), v, why);
		return -1;
	}
	if (r != 0 && (r < SHAPER_RATE_MIN || r > SHAPER_RATE_MAX)) {
		config_err(ld, config_line(s), "%s '%s' out of range 8kbit..100gbit",
		    config_key_name(s), v);
		return -1;
	}
	*out = r;
	return 0;
}

static int
p_rate_in(struct loader *ld, struct vt_peer *p, const config_setting_t *s)
{
	return get_rate(ld, s, &p->rate_in);
}

static int
p_rate_out(struct loader *ld, struct vt_peer *p, const config_setting_t *s)
{
	return get_rate(ld, s, &p->rate_out);
}

static int
p_rate_burst(struct loader *ld, struct vt_peer *p, const config_setting_t *s)
{
	const char *v, *why;
	uint64_t b;

	if (config_get_string(ld, s, &v) < 0)
		return -1;
	if ((why = config_parse_size(v, &b)) != NULL) {
		config_err(ld, config_line(s), "rate-burst '%s' %s (a size is like \"64kb\", "
		    "\"1mb\")", v, why);
		return -1;
	}
	if (b < SHAPER_BURST_MIN || b > SHAPER_BURST_MAX) {
		config_err(ld, config_line(s), "rate-burst '%s' out of range 2kb..64mb", v);
		return -1;
	}
	p->rate_burst = b;
	return 0;
}

static int
p_address(struct loader *ld, struct vt_peer *p, const config_setting_t *s)
{
	return config_get_addrs(ld, s, true, p->addrs, &p->naddrs);
}

static int
p_peer_address(struct loader *ld, struct vt_peer *p, const config_setting_t *s)
{
	return config_get_addrs(ld, s, false, p->peer_addrs, &p->npeer_addrs);
}

static int
p_routes(struct loader *ld, struct vt_peer *p, const config_setting_t *s)
{
	return config_get_prefixes(ld, s, p->routes, &p->nroutes);
}

static int
p_allowed_ips(struct loader *ld, struct vt_peer *p, const config_setting_t *s)
{
	return config_get_prefixes(ld, s, p->allowed_ips, &p->nallowed_ips);
}

/* A hook setting replaces what the defaults gave. */
static int
set_hook(struct loader *ld, const config_setting_t *s, struct vt_hook *dst)
{
	struct vt_hook h;

	if (config_get_hook(ld, s, &h) < 0)
		return -1;
	config_hook_free(dst);
	*dst = h;
	return 0;
}

static int
p_up(struct loader *ld, struct vt_peer *p, const config_setting_t *s)
{
	return set_hook(ld, s, &p->up);
}

static int
p_down(struct loader *ld, struct vt_peer *p, const config_setting_t *s)
{
	return set_hook(ld, s, &p->down);
}

static int
p_session_up(struct loader *ld, struct vt_peer *p, const config_setting_t *s)
{
	return set_hook(ld, s, &p->session_up);
}

static int
p_session_down(struct loader *ld, struct vt_peer *p, const config_setting_t *s)
{
	return set_hook(ld, s, &p->session_down);
}

static int
p_keepalive(struct loader *ld, struct vt_peer *p, const config_setting_t *s)
{
	return config_get_int(ld, s, 0, 3600, &p->keepalive);
}

static int
p_timeout(struct loader *ld, struct vt_peer *p, const config_setting_t *s)
{
	return config_get_int(ld, s, 0, 86400, &p->timeout);
}

static int
p_rekey(struct loader *ld, struct vt_peer *p, const config_setting_t *s)
{
	return config_get_int(ld, s, 10, 120, &p->rekey_interval);
}

static int
p_cipher(struct loader *ld, struct vt_peer *p, const config_setting_t *s)
{
	int v;

	if (config_get_choice(ld, s, names_cipher, &v) < 0)
		return -1;
	p->cipher = (enum vt_cipher)v;
	return 0;
}

static int
p_compress(struct loader *ld, struct vt_peer *p, const config_setting_t *s)
{
	int v;

	if (config_get_choice(ld, s, names_compress, &v) < 0)
		return -1;
	p->compress = (enum vt_compress)v;
	return 0;
}

static int
p_accel(struct loader *ld, struct vt_peer *p, const config_setting_t *s)
{
	return config_get_int(ld, s, 1, 65537, &p->compress_accel);
}

static int
p_offload(struct loader *ld, struct vt_peer *p, const config_setting_t *s)
{
	int v;

	if (config_get_choice(ld, s, names_offload, &v) < 0)
		return -1;
	p->offload = (enum vt_offload)v;
	return 0;
}

static int
p_duplicate(struct loader *ld, struct vt_peer *p, const config_setting_t *s)
{
	int v;

	if (config_get_choice(ld, s, names_duplicate, &v) < 0)
		return -1;
	p->duplicate = (enum vt_duplicate)v;
	return 0;
}

static int
p_public_key(struct loader *ld, struct vt_peer *p, const config_setting_t *s)
{
	return config_get_key(ld, s, p->public_key);
}

static int
p_psk(struct loader *ld, struct vt_peer *p, const config_setting_t *s)
{
	ld->inline_secret = true;
	if (config_get_key(ld, s, p->psk) < 0)
		return -1;
	p->has_psk = true;
	return 0;
}

static int
p_psk_file(struct loader *ld, struct vt_peer *p, const config_setting_t *s)
{
	if (config_get_key_file(ld, s, p->psk) < 0)
		return -1;
	p->has_psk = true;
	return 0;
}

/* ---- global keys ------------------------------------------------------------------------ */

static int
g_listen(struct loader *ld, struct vt_config *cfg, const config_setting_t *s)
{
	const char *v, *why;

	if (config_get_string(ld, s, &v) < 0)
		return -1;
	if ((why = config_parse_hostport(v, true, cfg->listen_host, &cfg->listen_port,
	    CONFIG_DEFAULT_PORT)) != NULL) {
		config_err(ld, config_line(s), "listen '%s': %s", v, why);
		return -1;
	}
	return 0;
}

static int
g_pid_file(struct loader *ld, struct vt_config *cfg, const config_setting_t *s)
{
	const char *v;

	if (config_get_path(ld, s, 4095, &v) < 0)
		return -1;
	cfg->pid_file = xstrdup(v);
	return 0;
}

static int
g_control_socket(struct loader *ld, struct vt_config *cfg, const config_setting_t *s)
{
	struct sockaddr_un sa;
	const char *v;

	if (config_get_path(ld, s, sizeof(sa.sun_path) - 1, &v) < 0)
		return -1;
	cfg->control_socket = xstrdup(v);
	return 0;
}

static int
g_log_level(struct loader *ld, struct vt_config *cfg, const config_setting_t *s)
{
	int v;

	if (config_get_choice(ld, s, log_level_names, &v) < 0)
		return -1;
	cfg->log_level = v;
	return 0;
}

static int
g_threads(struct loader *ld, struct vt_config *cfg, const config_setting_t *s)
{
	return config_get_int(ld, s, 1, VT_THREADS_MAX, &cfg->threads);
}

static int
g_user(struct loader *ld, struct vt_config *cfg, const config_setting_t *s)
{
	cfg->user_line = config_line(s);
	return config_get_account(ld, s, true, &cfg->user);
}

static int
g_group(struct loader *ld, struct vt_config *cfg, const config_setting_t *s)
{
	cfg->group_line = config_line(s);
	return config_get_account(ld, s, false, &cfg->group);
}

static int
g_private_key(struct loader *ld, struct vt_config *cfg, const config_setting_t *s)
{
	ld->inline_secret = true;
	return config_get_key(ld, s, cfg->private_key);
}

static int
g_private_key_file(struct loader *ld, struct vt_config *cfg, const config_setting_t *s)
{
	return config_get_key_file(ld, s, cfg->private_key);
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
		config_err(ld, config_line(psk) > config_line(psk_file) ? config_line(psk) :
		    config_line(psk_file), "set preshared-key or preshared-key-file, not both");
	for (int i = 0; i < n; i++) {
		const config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
		const char *name = config_setting_name(s);
		int k = find_peer_key(name);

		if (both_psk && (k == PK_PSK || k == PK_PSK_FILE))
			continue;

		if (k < 0) {
			config_err(ld, config_line(s), "unknown key '%s'", name);
			continue;
		}
		if (defaults && (peer_keys[k].flags & ONE_PEER)) {
			config_err(ld, config_line(s), "'%s' belongs to one peer and cannot be set "
			    "in defaults", name);
			continue;
		}
		w->line[k] = config_line(s);
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
	w->p.protos = 1u << VT_UDP;
	w->p.failback = CONFIG_FAILBACK_DEFAULT;
	w->p.mtu = 0;
	w->p.mtu_auto = true;
	w->p.keepalive = 10;
	w->p.timeout = 60;
	w->p.rekey_interval = 120;
	w->p.cipher = VT_AES256GCM;
	w->p.compress = VT_COMPRESS_NONE;
	w->p.compress_accel = 1;
}

static bool
has_family(const struct vt_addr *a, int n, int family)
{
	for (int i = 0; i < n; i++)
		if (a[i].family == family)
			return true;
	return false;
}

/* routes and allowed-ips: tun only; routes also not on a persistent device, IPv6 ones only
 * where the device has IPv6, and none that the kernel routes to the device already (the
 * network of one of its addresses). */
static void
check_routes(struct loader *ld, struct peer_work *w)
{
	struct vt_peer *p = &w->p;
	char a[PREFIX_STRLEN], b[PREFIX_STRLEN];

	if (p->type == VT_TAP && !w->bad[PK_TYPE]) {
		if (p->nroutes > 0)
			config_err(ld, w->line[PK_ROUTES], "routes are for tun devices only (type "
			    "is tap: a tap link is bridged; its LAN needs no routes)");
		if (p->nallowed_ips > 0)
			config_err(ld, w->line[PK_ALLOWED_IPS], "allowed-ips is for tun devices "
			    "only (type is tap)");
		return;
	}
	for (int i = 0; i < p->nroutes; i++) {
		const struct vt_addr *r = &p->routes[i];

		if (r->family == AF_INET6 && !p->mtu_auto && p->mtu < MTU_IPV6_MIN &&
		    !w->bad[PK_MTU]) {
			config_err(ld, w->line[PK_ROUTES], "route %s needs mtu >= %d (IPv6), not "
			    "%d", prefix_str(r, a, sizeof(a)), MTU_IPV6_MIN, p->mtu);
			return;
		}
		for (int j = 0; j < p->naddrs; j++) {
			struct vt_addr net = prefix_network(&p->addrs[j]);

			if (prefix_equal(&net, r)) {
				config_err(ld, w->line[PK_ROUTES], "route %s is the network of "
				    "address %s: the device has it already",
				    prefix_str(r, a, sizeof(a)), prefix_str(&p->addrs[j], b,
				    sizeof(b)));
				return;
			}
		}
	}
}

/* The remotes, complete: one without a transport once for each of proto's, in its order;
 * none twice. protos takes in the remotes' transports. */
static void
check_remotes(struct loader *ld, struct peer_work *w)
{
	struct vt_peer *p = &w->p;
	struct vt_remote out[CONFIG_MAX_REMOTES];
	enum vt_proto order[VT_PROTO_MAX];
	int n = 0, norder = 0;

	order[norder++] = p->proto;
	for (int i = 0; i < VT_PROTO_MAX; i++)
		if ((p->protos & (1u << i)) && i != (int)p->proto)
			order[norder++] = (enum vt_proto)i;
	for (int i = 0; i < p->nremotes; i++) {
		const struct vt_remote *r = &p->remotes[i];

		for (int j = 0; j < (r->proto == VT_PROTO_MAX ? norder : 1); j++) {
			if (n == CONFIG_MAX_REMOTES) {
				config_err(ld, r->line, "remote: more than %d with every transport of "
				    "proto", CONFIG_MAX_REMOTES);
				return;
			}
			out[n] = *r;
			if (r->proto == VT_PROTO_MAX)
				out[n].proto = order[j];
			for (int k = 0; k < n; k++) {
				if (out[k].port == out[n].port && out[k].proto == out[n].proto &&
				    strcmp(out[k].host, out[n].host) == 0) {
					config_err(ld, r->line, "remote '%s' port %u over %s is listed "
					    "twice", r->host, r->port, names_proto[out[n].proto]);
					return;
				}
			}
			p->protos |= 1u << out[n].proto;
			n++;
		}
	}
	memcpy(p->remotes, out, sizeof(out[0]) * (size_t)n);
	p->nremotes = n;
}

/* Checks that involve several keys of one peer, after defaults and the peer are merged. */
static void
check_peer(struct loader *ld, struct peer_work *w, int peer_line)
{
	struct vt_peer *p = &w->p;
	int l;

	if (w->line[PK_PUBLIC_KEY] == 0)
		config_err(ld, peer_line, "missing public-key (the other side's public key)");
	if (p->type == VT_TAP && p->npeer_addrs > 0 && !w->bad[PK_TYPE])
		config_err(ld, w->line[PK_PEER_ADDRESS], "peer-address is for tun devices only "
		    "(type is tap)");
	else if (!w->bad[PK_ADDRESS]) {
		for (int i = 0; i < p->npeer_addrs; i++) {
			if (!has_family(p->addrs, p->naddrs, p->peer_addrs[i].family)) {
				config_err(ld, w->line[PK_PEER_ADDRESS], "peer-address needs a "
				    "local %s address",
				    p->peer_addrs[i].family == AF_INET ? "IPv4" : "IPv6");
				break;
			}
		}
	}
	check_routes(ld, w);
	if (!w->bad[PK_REMOTE] && !w->bad[PK_PROTO])
		check_remotes(ld, w);
	/* The kernel turns IPv6 off on a device below 1280: refuse here, not after other
	 * devices are made. */
	for (int i = 0; i < p->naddrs && !p->mtu_auto && !w->bad[PK_MTU] &&
	    !w->bad[PK_ADDRESS]; i++) {
		if (p->addrs[i].family == AF_INET6 && p->mtu < MTU_IPV6_MIN) {
			char a[PREFIX_STRLEN];

			config_err(ld, w->line[PK_MTU] > w->line[PK_ADDRESS] ? w->line[PK_MTU] :
			    w->line[PK_ADDRESS], "IPv6 address %s needs mtu >= %d, not %d",
			    prefix_str(&p->addrs[i], a, sizeof(a)), MTU_IPV6_MIN, p->mtu);
			break;
		}
	}
	if (p->bridge[0] != '\0' && p->type != VT_TAP && !w->bad[PK_TYPE])
		config_err(ld, w->line[PK_BRIDGE], "bridge is for tap devices only (type is tun: "
		    "a tun link is routed; use routes)");
	else if (p->bridge[0] != '\0' && strcmp(p->bridge, p->device) == 0)
		config_err(ld, w->line[PK_BRIDGE], "bridge '%s' is the peer's own device",
		    p->bridge);
	if (p->keepalive > 0 && p->timeout > 0 && p->timeout <= p->keepalive &&
	    !w->bad[PK_KEEPALIVE] && !w->bad[PK_TIMEOUT]) {
		l = w->line[PK_TIMEOUT] > w->line[PK_KEEPALIVE] ? w->line[PK_TIMEOUT] :
		    w->line[PK_KEEPALIVE];
		config_err(ld, l, "timeout %d must be greater than keepalive %d (or 0 to disable)",
		    p->timeout, p->keepalive);
	}
}

/* Checks across peers: devices and public keys must be unique, and not our own key. */
static void
check_unique(struct loader *ld, struct vt_config *cfg, const struct peer_work *w, bool own_ok)
{
	const struct vt_peer *p = &w->p;

	bool dev_dup = false, key_dup = false, route_dup = false;
	char r[PREFIX_STRLEN];

	snprintf(ld->ctx, sizeof(ld->ctx), "peer '%s': ", p->name);
	/* one message per kind: a file with the same key pasted ten times gets ten, not 45 */
	for (int j = 0; j < cfg->npeers; j++) {
		const struct vt_peer *q = &cfg->peers[j];

		if (!dev_dup && strcmp(p->device, q->device) == 0) {
			config_err(ld, w->line[PK_DEVICE] ? w->line[PK_DEVICE] : p->line,
			    "device '%s' is already used by peer '%s'", p->device, q->name);
			dev_dup = true;
		}
		if (!key_dup && w->line[PK_PUBLIC_KEY] != 0 && !w->bad[PK_PUBLIC_KEY] &&
		    crypto_equal(p->public_key, q->public_key, 32)) {
			config_err(ld, w->line[PK_PUBLIC_KEY], "public-key is already used by peer "
			    "'%s'", q->name);
			key_dup = true;
		}
		for (int a = 0; a < p->nroutes && !route_dup; a++) {
			for (int b = 0; b < q->nroutes && !route_dup; b++) {
				if (!prefix_equal(&p->routes[a], &q->routes[b]))
					continue;
				config_err(ld, w->line[PK_ROUTES], "route %s is also a route of peer "
				    "'%s': one prefix, one device", prefix_str(&p->routes[a], r,
				    sizeof(r)), q->name);
				route_dup = true;
			}
		}
	}
	if (own_ok && w->line[PK_PUBLIC_KEY] != 0 && !w->bad[PK_PUBLIC_KEY] &&
	    crypto_equal(p->public_key, cfg->public_key, 32))
		config_err(ld, w->line[PK_PUBLIC_KEY], "public-key is our own public key: it must "
		    "be the other side's");
	ld->ctx[0] = '\0';
}

static void
peer_free(struct vt_peer *p)
{
	config_hook_free(&p->up);
	config_hook_free(&p->down);
	config_hook_free(&p->session_up);
	config_hook_free(&p->session_down);
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
			config_err(ld, config_line(defaults), "defaults must be a group { ... }, "
			    "not %s", config_type_name(defaults));
		} else {
			snprintf(ld->ctx, sizeof(ld->ctx), "defaults: ");
			apply_group(ld, &tmpl, defaults, true);
			ld->ctx[0] = '\0';
		}
	}
	if (peers == NULL) {
		config_err(ld, 1, "no peers: add a group peers = { name = { public-key = \"...\"; "
		    "}; }");
		goto out;
	}
	if (config_setting_type(peers) != CONFIG_TYPE_GROUP) {
		config_err(ld, config_line(peers), "peers must be a group { ... }, not %s",
		    config_type_name(peers));
		goto out;
	}
	n = config_setting_length(peers);
	if (n == 0) {
		config_err(ld, config_line(peers), "no peers defined");
		goto out;
	}
	cfg->peers = xcalloc((size_t)n, sizeof(*cfg->peers));
	for (int i = 0; i < n; i++) {
		const config_setting_t *g = config_setting_get_elem(peers, (unsigned)i);
		const char *name = config_setting_name(g);

		if (!names_valid_peer(name, strlen(name))) {
			config_err(ld, config_line(g), "peer name '%s' is not valid (a letter, "
			    "then letters, digits, '_' or '-'; at most %d characters)", name,
			    CONFIG_NAME_MAX);
			continue;
		}
		if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
			config_err(ld, config_line(g), "peer '%s' must be a group { ... }, not %s",
			    name, config_type_name(g));
			continue;
		}
		w = tmpl;
		config_hook_copy(&w.p.up, &tmpl.p.up);
		config_hook_copy(&w.p.down, &tmpl.p.down);
		config_hook_copy(&w.p.session_up, &tmpl.p.session_up);
		config_hook_copy(&w.p.session_down, &tmpl.p.session_down);
		strcpy(w.p.name, name);
		w.p.line = config_line(g);
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
		int l1 = config_line(config_setting_get_member(root, "private-key"));
		int l2 = config_line(config_setting_get_member(root, "private-key-file"));

		config_err(ld, l1 > l2 ? l1 : l2, "set private-key or private-key-file, not both");
		both_keys = true;
	}
	for (int i = 0; i < n; i++) {
		s = config_setting_get_elem(root, (unsigned)i);
		k = find_global_key(config_setting_name(s));
		if (k < 0) {
			if (find_peer_key(config_setting_name(s)) >= 0)
				config_err(ld, config_line(s), "unknown key '%s' (per-peer keys go "
				    "in a peer or in defaults)", config_setting_name(s));
			else
				config_err(ld, config_line(s), "unknown key '%s'",
				    config_setting_name(s));
			continue;
		}
		line[k] = config_line(s);
		if (both_keys && (k == GK_PRIVATE_KEY || k == GK_PRIVATE_KEY_FILE))
			continue;
		if (global_keys[k].parse != NULL)
			bad[k] = global_keys[k].parse(ld, cfg, s) < 0;
	}
	if (both_keys) {
		/* reported above */
	} else if (line[GK_PRIVATE_KEY] == 0 && line[GK_PRIVATE_KEY_FILE] == 0) {
		config_err(ld, 1, "missing private-key or private-key-file (make one with "
		    "\"vtund-ng genkey\")");
	} else if (!bad[GK_PRIVATE_KEY] && !bad[GK_PRIVATE_KEY_FILE]) {
		k = line[GK_PRIVATE_KEY] != 0 ? GK_PRIVATE_KEY : GK_PRIVATE_KEY_FILE;
		if (crypto_x25519_public(cfg->private_key, cfg->public_key) < 0)
			config_err(ld, line[k], "%s: cannot derive a public key",
			    global_keys[k].name);
		else
			own_ok = true;
	}
	cfg->example_key = own_ok && config_is_example_key(cfg->public_key);
	load_peers(ld, cfg, config_lookup(lc, "defaults"), config_lookup(lc, "peers"), own_ok);
}

/*
 * Report what the pre-scan finds (config_parse.h says why it is needed), and remember the lines
 * of integers too large so that config_get_int does not report them twice. Returns -1 if the
 * text must not be parsed.
 */
static int
prescan(struct loader *ld, const char *text)
{
	struct config_scan_finding f;
	struct config_scan sc;
	int ret = 0;

	config_scan_init(&sc, text);
	while (config_scan_next(&sc, &f)) {
		if (f.what == CONFIG_SCAN_INCLUDE) {
			config_err(ld, f.line, "@include is not supported");
			ret = -1;
			continue;
		}
		config_err(ld, f.line, "integer %.*s is too large", f.len, f.text);
		if (ld->nflagged < FLAGGED_MAX)
			ld->flagged[ld->nflagged++] = f.line;
	}
	return ret;
}

/* Parse text (already read) under the name used in messages. */
/* mode: the file's permission bits, or -1 for a string. */
static int
load_text(const char *text, const char *name, int mode, struct vt_config *cfg,
    struct config_errors *errs)
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
	cfg->listen_port = CONFIG_DEFAULT_PORT;
	cfg->log_level = LOG_LVL_INFO;
	cfg->threads = 1;

	if (prescan(&ld, text) < 0)
		goto out;
	config_init(&lc);
	if (config_read_string(&lc, text) != CONFIG_TRUE) {
		const char *why = config_error_text(&lc);

		/* libconfig's text is often just "syntax error": do not say it twice */
		if (why == NULL || strcmp(why, "syntax error") == 0)
			config_err(&ld, config_error_line(&lc), "syntax error");
		else
			config_err(&ld, config_error_line(&lc), "syntax error: %s", why);
	} else {
		load_tree(&ld, &lc, cfg);
	}
	config_destroy(&lc);
	/* Key files must be private (keys.c); inline keys are as private as this file. */
	cfg->secrets_exposed = ld.inline_secret && mode != -1 && (mode & (S_IRWXG | S_IRWXO));
	if (ld.nerr == 0)
		ret = 0;
out:
	if (ret < 0)
		config_free(cfg);
	return ret;
}

/* Read a whole file, refusing what cannot be a configuration; NULL after an error. *mode gets
 * its permission bits. */
static char *
read_file(struct loader *ld, const char *path, int *mode)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	ssize_t r;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		config_err(ld, 0, "cannot open: %s", strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0) {
		config_err(ld, 0, "cannot open: %s", strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		config_err(ld, 0, "cannot open: %s", S_ISDIR(st.st_mode) ? strerror(EISDIR) :
		    "not a regular file");
		goto fail;
	}
	*mode = (int)(st.st_mode & 07777);
	if (st.st_size > FILE_MAX) {
		config_err(ld, 0, "file too large (more than %d bytes)", FILE_MAX);
		goto fail;
	}
	buf = xcalloc(1, (size_t)st.st_size + 1);
	while (len < (size_t)st.st_size) {
		r = read(fd, buf + len, (size_t)st.st_size - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			config_err(ld, 0, "cannot read: %s", strerror(errno));
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
		config_err(ld, line, "NUL byte in file");
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
	int ret, mode = -1;

	if (errs != NULL)
		memset(errs, 0, sizeof(*errs));
	memset(cfg, 0, sizeof(*cfg));
	memset(&ld, 0, sizeof(ld));
	ld.name = path;
	ld.errs = errs;
	if ((text = read_file(&ld, path, &mode)) == NULL)
		return -1;
	ret = load_text(text, path, mode, cfg, errs);
	free(text);
	return ret;
}

int
config_load_string(const char *text, const char *name, struct vt_config *cfg,
    struct config_errors *errs)
{
	if (errs != NULL)
		memset(errs, 0, sizeof(*errs));
	return load_text(text, name, -1, cfg, errs);
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
