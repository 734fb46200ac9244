/*
 * config.h - the only user of <libconfig.h>: reads a configuration file into plain data
 * (struct vt_config) or a list of "file:line: what is wrong" errors. Touches no interface or
 * socket; the only I/O is reading the configuration file and the key files it names.
 */
#ifndef VT_CONFIG_H
#define VT_CONFIG_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "names.h"

#define CONFIG_NAME_MAX NAMES_PEER_MAX /* peer names: names_valid_peer() */
#define CONFIG_IFNAME_MAX NAMES_DEVICE_MAX
#define CONFIG_MAX_ADDRS 8      /* addresses per interface */
#define CONFIG_MAX_ROUTES 64    /* prefixes in routes, and in allowed-ips */
#define CONFIG_MAX_HOOKS 8      /* commands per hook */
#define CONFIG_MAX_ARGS 32      /* arguments per command */
#define CONFIG_MAX_ERRORS 64
#define CONFIG_ERR_LEN 512
#define CONFIG_HOST_MAX 255
#define CONFIG_MAX_REMOTES 8    /* servers a client may try, in order (failover) */
#define CONFIG_FAILBACK_DEFAULT 30 /* seconds between tries of a preferred remote */
#define VT_THREADS_MAX 8        /* "threads"; POOL_LANES_MAX */


/* An interface address: family AF_INET or AF_INET6, address bytes and prefix length. */
struct vt_addr {
	int family;
	uint8_t addr[16];
	uint8_t prefix;
};

/*
 * One command of a hook: argv, NULL-terminated, with %-substitutions still unexpanded.
 * argv[0] is an absolute path. The loader accepts only these substitutions in any argument:
 *   %d device name          %p peer name           %r role ("server" or "client")
 *   %a first local address  %P first peer address  %m MTU
 *   %e the peer's endpoint ("203.0.113.5:5000", "[2001:db8::1]:5000"; "" in up and down)
 *   %% a literal percent sign
 * Any other %X, or a lone % at the end of an argument, is a configuration error.
 */
struct vt_cmd {
	char *argv[CONFIG_MAX_ARGS + 1];
	int argc;
};

struct vt_hook {
	struct vt_cmd *cmds;                /* ncmds of them, allocated; NULL when none */
	int ncmds;                          /* at most CONFIG_MAX_HOOKS */
};

/* One server a client may use, and how. */
struct vt_remote {
	char host[CONFIG_HOST_MAX + 1];     /* a host name or a numeric address, stored without
	                                       brackets */
	uint16_t port;                      /* default 5000 */
	enum vt_proto proto;
	int line;                           /* where it was set (for -t's messages) */
};

/* A peer: one end of one link. The same name appears in the configs of both sides. */
struct vt_peer {
	char name[CONFIG_NAME_MAX + 1];
	int line;                           /* line of the peer's group, for messages */
	enum vt_devtype type;               /* "type": "tun" | "tap" (default tun) */
	char device[CONFIG_IFNAME_MAX + 1]; /* "device" (default: "vt-" + name, truncated) */
	bool persist;                       /* "persist": use a pre-created device, don't
	                                       configure or delete it (default false); its
	                                       address, mtu, routes, bridge are for
	                                       `vtund-ng device add -a` */
	char bridge[CONFIG_IFNAME_MAX + 1]; /* "bridge": tap only, an existing Linux bridge
	                                       the device becomes a port of ("" = none) */
	enum vt_proto proto;                /* "proto": "udp" | "tcp", or a list of both
	                                       (default udp): the first one named */
	unsigned protos;                    /* the transports the peer may use, bits
	                                       1 << enum vt_proto: proto's list and the
	                                       remotes' (a server takes handshakes over each) */
	struct vt_remote remotes[CONFIG_MAX_REMOTES]; /* "remote": "host:port", "host:port
	                                       tcp" or a list of such (client), tried in
	                                       order; one without a transport is there once
	                                       for each of proto's */
	int nremotes;                       /* 0: none (a server, or a client given HOST) */
	int failback;                       /* "failback": seconds 0..86400 (30): how often
	                                       a client on a later remote tries the ones
	                                       before it again (0 = only when its session
	                                       goes down) */
	int mtu;                            /* "mtu": 576..9000, or "auto" (the default):
	                                       0 until the parent sets it from the underlay
	                                       (priv_auto_mtu) */
	bool mtu_auto;                      /* mtu is "auto" */
	bool mss_clamp;                     /* "mss-clamp": clamp the MSS of TCP SYNs through
	                                       the tunnel to what the MTU takes (false) */
	struct vt_addr addrs[CONFIG_MAX_ADDRS]; /* "address": "10.0.0.1/24" or a list */
	int naddrs;
	struct vt_addr peer_addrs[CONFIG_MAX_ADDRS]; /* "peer-address": tun only, no prefix */
	int npeer_addrs;
	struct vt_addr routes[CONFIG_MAX_ROUTES]; /* "routes": prefixes behind the peer (its
	                                       site's LANs), routed to the device while it
	                                       exists; tun only, not with persist */
	int nroutes;
	struct vt_addr allowed_ips[CONFIG_MAX_ROUTES]; /* "allowed-ips": inner source prefixes
	                                       accepted from the peer besides peer-address and
	                                       routes; tun only */
	int nallowed_ips;
	struct vt_hook up;                  /* "up": ["/path", "arg", ...] or a list of such */
	struct vt_hook down;                /* "down": same */
	struct vt_hook session_up;          /* "session-up": same, when a session is
	                                       established (not on a rekey) */
	struct vt_hook session_down;        /* "session-down": same, when it is declared dead
	                                       (timeout, close, connection lost) */
	int keepalive;                      /* "keepalive": seconds, 0 = off, 0..3600 (10) */
	int timeout;                        /* "timeout": seconds, 0 = off, 0..86400 (60);
	                                       must exceed keepalive when both are set */
	int rekey_interval;                 /* "rekey-interval": seconds 10..120 (120) */
	enum vt_cipher cipher;              /* "cipher": "aes-256-gcm" | "chacha20-poly1305" */
	enum vt_compress compress;          /* "compress": "none" | "lz4" (default none) */
	int compress_accel;                 /* "compress-acceleration": 1..65537 (1) */
	enum vt_duplicate duplicate;        /* "duplicate": "replace" | "refuse" (replace): a
	                                       server's answer to this key's handshake from
	                                       another endpoint while the session is up
	                                       (dupkey.h) */
	enum vt_offload offload;            /* "offload": "auto" | "off" (auto): segmentation
	                                       and coalescing offloads of the device, where the
	                                       kernel has them */
	uint64_t rate_in, rate_out;         /* "rate-in", "rate-out": bit/s, 0 = no limit
	                                       (default): what the peer's frames may take
	                                       coming in (written to the device) and going
	                                       out (read from it); "10mbit" */
	uint64_t rate_burst;                /* "rate-burst": bytes, 0 = 10 ms of the rate, at
	                                       least 16 KiB (shaper.h) */
	uint8_t public_key[32];             /* "public-key": base64, the other side's key
	                                       (required) */
	uint8_t psk[32];                    /* "preshared-key" or "preshared-key-file" */
	bool has_psk;
};

struct vt_config {
	char *path;                         /* file this was read from */
	/* global */
	char listen_host[CONFIG_HOST_MAX + 1]; /* "listen": "addr:port", "[v6]:port" or "addr";
	                                       default "[::]:5000". A numeric address, stored
	                                       without brackets ("::", "0.0.0.0") */
	uint16_t listen_port;
	char *pid_file;                     /* "pid-file"; NULL = role default, chosen by main */
	char *control_socket;               /* "control-socket"; NULL = role default */
	int log_level;                      /* "log-level": enum log_level (default info) */
	int threads;                        /* "threads": 1..VT_THREADS_MAX (1): threads that
	                                       seal and open UDP batches */
	char *user;                         /* "user" (default: the VT_DEFAULT_USER if it exists,
	                                       else stay root); "" = stay root */
	char *group;                        /* "group" (default: the user's primary group) */
	int user_line, group_line;          /* where they were set, 0: not set */
	uint8_t private_key[32];            /* "private-key" or "private-key-file" (required) */
	uint8_t public_key[32];             /* derived from private_key */
	bool example_key;                   /* private key is one of the documented example keys:
	                                       main warns loudly */
	bool secrets_exposed;               /* a key is written inline in a file that its group or
	                                       others may read: main warns */
	/* peers, in file order */
	struct vt_peer *peers;
	int npeers;
};

/* Errors collected while loading: every one is printed by -t. */
struct config_errors {
	char msg[CONFIG_MAX_ERRORS][CONFIG_ERR_LEN];
	int n;
	int dropped; /* errors beyond CONFIG_MAX_ERRORS */
};

/*
 * Load path into cfg. 0 on success; -1 with every error in errs as "file:line: message" (or
 * "file: message" when the file cannot be read), and cfg left empty (config_free is then a
 * no-op). errs is reset first and may be NULL. Key file paths (private-key-file,
 * preshared-key-file) must be absolute; "@include" is refused so that only the named files
 * are read.
 */
int config_load(const char *path, struct vt_config *cfg, struct config_errors *errs);
/* Same, from a string (for tests and the fuzzer); name is used in messages. */
int config_load_string(const char *text, const char *name, struct vt_config *cfg,
    struct config_errors *errs);
/* Find a peer by name; NULL if none. */
const struct vt_peer *config_find_peer(const struct vt_config *cfg, const char *name);
/* Free everything config_load allocated and wipe keys. */
void config_free(struct vt_config *cfg);
/* Every setting name the parser accepts, NULL-terminated (the man page test checks these). */
extern const char *const config_keys[];

#endif
