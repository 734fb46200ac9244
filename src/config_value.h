/*
 * config_value.h - one libconfig setting -> one typed value, with every problem recorded as a
 * "file:line: context message" error of the load in progress. Internal to the config module:
 * only config.c includes this header (the tests go through config_load_string).
 */
#ifndef VT_CONFIG_VALUE_H
#define VT_CONFIG_VALUE_H

#include <libconfig.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define FLAGGED_MAX 16 /* lines whose integers the pre-scan already rejected */

/* Everything one load needs: where errors go and what they are prefixed with. */
struct loader {
	const char *name;    /* file name for messages */
	struct config_errors *errs;
	char ctx[64];        /* "peer 'alice': ", "defaults: " or "" */
	int nerr;            /* errors found, including those beyond CONFIG_MAX_ERRORS */
	int flagged[FLAGGED_MAX];
	int nflagged;
	bool inline_secret;  /* a private or preshared key is written in the file itself */
};

/* Record one error, "name:line: ctx message" (no line when line is 0). */
void config_err(struct loader *ld, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Source line of a setting, for messages. */
int config_line(const config_setting_t *s);
/* What a setting is, for "must be X, not Y" messages: "a group", "an integer"... */
const char *config_type_name(const config_setting_t *s);
/* Name of a setting for messages; array elements report their parent's name. */
const char *config_key_name(const config_setting_t *s);

/* The getters below return 0, or -1 after recording why; strings point into the libconfig tree
 * unless said otherwise. */

/* A string. */
int config_get_string(struct loader *ld, const config_setting_t *s, const char **out);
/* An integer in lo..hi (and not one the pre-scan rejected as too large). */
int config_get_int(struct loader *ld, const config_setting_t *s, long long lo, long long hi,
    int *out);
/* true or false. */
int config_get_bool(struct loader *ld, const config_setting_t *s, bool *out);
/* A string that must be one of names[] (NULL-terminated); *out is its index. */
int config_get_choice(struct loader *ld, const config_setting_t *s, const char *const *names,
    int *out);
/* An absolute path of at most max characters. */
int config_get_path(struct loader *ld, const config_setting_t *s, size_t max, const char **out);
/* "address" (with_prefix) or "peer-address": a string or a list; *nout is 0 on error. */
int config_get_addrs(struct loader *ld, const config_setting_t *s, bool with_prefix,
    struct vt_addr *out, int *nout);
/* "routes" or "allowed-ips": a string or a list of network prefixes ("10.1.0.0/16"), each
 * without host bits and listed once, at most CONFIG_MAX_ROUTES; *nout is 0 on error. */
int config_get_prefixes(struct loader *ld, const config_setting_t *s, struct vt_addr *out,
    int *nout);
/* "up"/"down": one command array or a list of them; h is filled (and freed on error). */
int config_get_hook(struct loader *ld, const config_setting_t *s, struct vt_hook *h);
/* A base64 key of 32 bytes; key is wiped on error. */
int config_get_key(struct loader *ld, const config_setting_t *s, uint8_t key[32]);
/* A key file (absolute path, private to its owner); key is wiped on error. */
int config_get_key_file(struct loader *ld, const config_setting_t *s, uint8_t key[32]);
/* A user or group name, "" only if empty_ok; *out is a copy to free. */
int config_get_account(struct loader *ld, const config_setting_t *s, bool empty_ok, char **out);

/* Free the argv strings of a hook and empty it. */
void config_hook_free(struct vt_hook *h);
/* Deep copy of src into dst (a peer inherits the hooks of defaults). */
void config_hook_copy(struct vt_hook *dst, const struct vt_hook *src);

#endif
