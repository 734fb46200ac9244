/*
 * vtun_import.h - `vtund-ng import-vtun`: a VTun 3.x vtund.conf (and the older dialect's
 * abbreviations) read with VTun's own grammar, and turned into a vtund-ng configuration. Pure:
 * text in, text out, no file, no key is made here (main.c writes files and makes keys).
 *
 * Each session becomes a peer. type, proto, device, keepalive, timeout, persist, multi,
 * speed, compress and port carry over as settings or as what vtund-ng does anyway (said in a
 * comment); the commands of up and down blocks that set addresses, the MTU, routes through
 * the tunnel, the link state or a bridge become declarative settings, every other command a
 * hook with a comment naming its line. What cannot carry over (passwords, LZO and zlib, tty
 * and pipe tunnels, nat_hack, srcaddr, interface bindings) is a warning naming its line.
 */
#ifndef VT_VTUN_IMPORT_H
#define VT_VTUN_IMPORT_H

#include <stddef.h>

#define VTUN_IMPORT_WARN_MAX 4096

struct vtun_import_opts {
	const char *name;          /* the source file's name, in warnings and the header */
	const char *remote;        /* a client's server ("host" or "host:port"), or NULL for a
	                              server configuration */
	const char *private_key_file; /* the private-key-file to name ("" : a placeholder) */
	/* keys[i]: the public key (base64) to give the i-th peer written, or NULL
	 * for a placeholder that vtund-ng -t refuses until it is filled in */
	const char *const *keys;
	int nkeys;
};

struct vtun_import {
	char *out;                 /* the vtund-ng configuration, NUL-terminated (malloc'd) */
	int sessions;              /* sessions converted (peers written) */
	char **peers;              /* their peer names, in order: the i-th got keys[i] */
	int skipped;               /* sessions that cannot carry over (tty, pipe, no password) */
	char **warnings;           /* "file:line: warning: ..." (malloc'd) */
	int nwarnings;
	int dropped;               /* warnings beyond VTUN_IMPORT_WARN_MAX */
	char error[512];           /* set when the file cannot be read as VTun's grammar */
};

/* Convert text (len bytes). 0, or -1 with r->error ("file:line: ...") when the file does not
 * follow VTun's grammar (nothing else is written then). Free r with vtun_import_free. */
int vtun_import(const char *text, size_t len, const struct vtun_import_opts *o,
    struct vtun_import *r);
/* How many sessions text has (the keys a caller makes before converting); -1 on an error. */
int vtun_import_count(const char *text, size_t len);
void vtun_import_free(struct vtun_import *r);

#endif
