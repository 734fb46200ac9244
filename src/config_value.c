/*
 * config_value.c - one libconfig setting -> one typed value, for the loader in config.c: the
 * type and range checks shared by global and per-peer keys, and the error list every check
 * writes to ("file:line: context message"). The strings themselves are judged by the pure
 * parsers of config_parse.c; the only I/O is reading key files.
 */
#include "config_value.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_parse.h"
#include "crypto.h"
#include "keys.h"
#include "prefix.h"
#include "xmalloc.h"

/* Record one error, "name:line: ctx message" (no line when line is 0). */
void
config_err(struct loader *ld, int line, const char *fmt, ...)
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

/* Source line of a setting, for messages. */
int
config_line(const config_setting_t *s)
{
	return (int)config_setting_source_line(s);
}

/* What a setting is, for "must be X, not Y" messages: "a group", "an integer"... */
const char *
config_type_name(const config_setting_t *s)
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
const char *
config_key_name(const config_setting_t *s)
{
	while (s != NULL && config_setting_name(s) == NULL)
		s = config_setting_parent(s);
	return s != NULL && config_setting_name(s) != NULL ? config_setting_name(s) : "value";
}

/* True if the pre-scan already reported an integer on this line as too large. */
static bool
is_flagged(const struct loader *ld, int line)
{
	for (int i = 0; i < ld->nflagged; i++)
		if (ld->flagged[i] == line)
			return true;
	return false;
}

/* ---- scalar values ---------------------------------------------------------------------- */

/* A string; *out points into the libconfig tree. */
int
config_get_string(struct loader *ld, const config_setting_t *s, const char **out)
{
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		config_err(ld, config_line(s), "%s must be a string, not %s", config_key_name(s),
		    config_type_name(s));
		return -1;
	}
	*out = config_setting_get_string(s);
	return 0;
}

/* An integer in lo..hi. */
int
config_get_int(struct loader *ld, const config_setting_t *s, long long lo, long long hi, int *out)
{
	long long v;

	if (config_setting_type(s) != CONFIG_TYPE_INT &&
	    config_setting_type(s) != CONFIG_TYPE_INT64) {
		config_err(ld, config_line(s), "%s must be an integer, not %s", config_key_name(s),
		    config_type_name(s));
		return -1;
	}
	if (is_flagged(ld, config_line(s)))
		return -1; /* already reported as too large by the pre-scan */
	v = config_setting_get_int64(s);
	if (v < lo || v > hi) {
		config_err(ld, config_line(s), "%s %lld out of range %lld..%lld",
		    config_key_name(s), v, lo, hi);
		return -1;
	}
	*out = (int)v;
	return 0;
}

/* true or false. */
int
config_get_bool(struct loader *ld, const config_setting_t *s, bool *out)
{
	if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
		config_err(ld, config_line(s), "%s must be true or false, not %s",
		    config_key_name(s), config_type_name(s));
		return -1;
	}
	*out = config_setting_get_bool(s) != 0;
	return 0;
}

/* A string that must be one of names[]; *out is its index. */
int
config_get_choice(struct loader *ld, const config_setting_t *s, const char *const *names,
    int *out)
{
	char list[128] = "";
	const char *v;

	if (config_get_string(ld, s, &v) < 0)
		return -1;
	for (int i = 0; names[i] != NULL; i++) {
		if (strcmp(v, names[i]) == 0) {
			*out = i;
			return 0;
		}
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "",
		    names[i]);
	}
	config_err(ld, config_line(s), "%s '%s' is not one of: %s", config_key_name(s), v,
	    list);
	return -1;
}

/* An absolute path, for pid-file, control-socket and key files. */
int
config_get_path(struct loader *ld, const config_setting_t *s, size_t max, const char **out)
{
	if (config_get_string(ld, s, out) < 0)
		return -1;
	if ((*out)[0] != '/') {
		config_err(ld, config_line(s), "%s '%s' must be an absolute path",
		    config_key_name(s), *out);
		return -1;
	}
	if (strlen(*out) > max) {
		config_err(ld, config_line(s), "%s is too long (at most %zu characters)",
		    config_key_name(s), max);
		return -1;
	}
	return 0;
}

/* What a list of addresses holds: interface addresses with their prefix ("address"), single
 * addresses, one per family ("peer-address"), or network prefixes ("routes", "allowed-ips"). */
enum addr_list { AL_IFACE, AL_PEER, AL_PREFIX };

static int
get_addr_list(struct loader *ld, const config_setting_t *s, enum addr_list kind, int max,
    struct vt_addr *out, int *nout)
{
	int n, type = config_setting_type(s), ret = 0;
	const config_setting_t *e;
	const char *why, *v;
	char net[PREFIX_STRLEN];

	*nout = 0;
	if (type == CONFIG_TYPE_STRING) {
		n = 1;
	} else if (type == CONFIG_TYPE_ARRAY || type == CONFIG_TYPE_LIST) {
		n = config_setting_length(s);
	} else {
		config_err(ld, config_line(s), "%s must be a string or a list of strings, not %s",
		    config_key_name(s), config_type_name(s));
		return -1;
	}
	if (n > max) {
		config_err(ld, config_line(s), "%s: too many %s (at most %d)", config_key_name(s),
		    kind == AL_PREFIX ? "prefixes" : "addresses", max);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		struct vt_addr *a = &out[*nout];

		e = type == CONFIG_TYPE_STRING ? s : config_setting_get_elem(s, (unsigned)i);
		if (config_get_string(ld, e, &v) < 0) {
			ret = -1;
			continue;
		}
		if ((why = config_parse_addr(v, kind != AL_PEER, a)) != NULL) {
			config_err(ld, config_line(e), "%s '%s' %s", config_key_name(s), v, why);
			ret = -1;
			continue;
		}
		if (kind == AL_PREFIX && prefix_host_bits(a)) {
			struct vt_addr nw = prefix_network(a);

			config_err(ld, config_line(e), "%s '%s' has host bits set (the network is "
			    "%s)", config_key_name(s), v, prefix_str(&nw, net, sizeof(net)));
			ret = -1;
			continue;
		}
		for (int j = 0; j < *nout; j++) {
			if (kind == AL_PREFIX ? prefix_equal(&out[j], a) :
			    out[j].family == a->family && memcmp(out[j].addr, a->addr, 16) == 0) {
				config_err(ld, config_line(e), "%s '%s' is listed twice",
				    config_key_name(s), v);
				ret = -1;
				goto next;
			}
			if (kind == AL_PEER && out[j].family == a->family) {
				config_err(ld, config_line(e), "%s: at most one %s address",
				    config_key_name(s), out[j].family == AF_INET ? "IPv4" : "IPv6");
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

/* "address" or "peer-address": a string or an array/list of strings. */
int
config_get_addrs(struct loader *ld, const config_setting_t *s, bool with_prefix,
    struct vt_addr *out, int *nout)
{
	return get_addr_list(ld, s, with_prefix ? AL_IFACE : AL_PEER, CONFIG_MAX_ADDRS, out,
	    nout);
}

int
config_get_prefixes(struct loader *ld, const config_setting_t *s, struct vt_addr *out,
    int *nout)
{
	return get_addr_list(ld, s, AL_PREFIX, CONFIG_MAX_ROUTES, out, nout);
}

/* ---- hooks ------------------------------------------------------------------------------ */

/* Free the argv strings of a hook and empty it. */
void
config_hook_free(struct vt_hook *h)
{
	for (int i = 0; i < h->ncmds; i++)
		for (int j = 0; j < h->cmds[i].argc; j++)
			free(h->cmds[i].argv[j]);
	free(h->cmds);
	memset(h, 0, sizeof(*h));
}

/* Deep copy of src into dst (a peer inherits the hooks of defaults). */
void
config_hook_copy(struct vt_hook *dst, const struct vt_hook *src)
{
	memset(dst, 0, sizeof(*dst));
	if (src->ncmds > 0)
		dst->cmds = xcalloc((size_t)src->ncmds, sizeof(*dst->cmds));
	for (int i = 0; i < src->ncmds; i++) {
		for (int j = 0; j < src->cmds[i].argc; j++)
			dst->cmds[i].argv[j] = xstrdup(src->cmds[i].argv[j]);
		dst->cmds[i].argc = src->cmds[i].argc;
	}
	dst->ncmds = src->ncmds;
}

/* Every '%' of a hook argument starts a substitution that hooks.c knows. */
static int
check_subst(struct loader *ld, const config_setting_t *e, const char *key, const char *arg)
{
	const char *p = config_bad_subst(arg);

	if (p == NULL)
		return 0;
	if (p[1] == '\0')
		config_err(ld, config_line(e), "%s: lone '%%' at the end of '%s' (write %%%% for "
		    "a percent sign)", key, arg);
	else
		config_err(ld, config_line(e), "%s: unknown substitution '%%%c' in '%s' (known: "
		    "%%d %%p %%r %%a %%P %%m %%%%)", key, p[1], arg);
	return -1;
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
		config_err(ld, config_line(s), "%s: empty command", key);
		return -1;
	}
	if (n > CONFIG_MAX_ARGS) {
		config_err(ld, config_line(s), "%s: too many arguments (at most %d)", key,
		    CONFIG_MAX_ARGS);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		e = config_setting_get_elem(s, (unsigned)i);
		if (config_setting_type(e) != CONFIG_TYPE_STRING) {
			config_err(ld, config_line(e), "%s: arguments must be strings, not %s", key,
			    config_type_name(e));
			ret = -1;
			break;
		}
		v = config_setting_get_string(e);
		if (i == 0 && v[0] != '/') {
			config_err(ld, config_line(e), "%s: command '%s' must be an absolute path",
			    key, v);
			ret = -1;
		}
		if (check_subst(ld, e, key, v) < 0)
			ret = -1;
		cmd->argv[cmd->argc++] = xstrdup(v);
	}
	return ret;
}

/* "up"/"down": ["/path", "arg", ...] for one command, or ( [...], [...] ) for several. */
int
config_get_hook(struct loader *ld, const config_setting_t *s, struct vt_hook *h)
{
	const char *key = config_key_name(s);
	int n, ret = 0;

	memset(h, 0, sizeof(*h));
	if (config_setting_type(s) == CONFIG_TYPE_ARRAY) {
		h->cmds = xcalloc(1, sizeof(*h->cmds));
		ret = get_cmd(ld, s, key, &h->cmds[0]);
		h->ncmds = 1;
	} else if (config_setting_type(s) == CONFIG_TYPE_LIST) {
		n = config_setting_length(s);
		if (n > CONFIG_MAX_HOOKS) {
			config_err(ld, config_line(s), "%s: too many commands (at most %d)", key,
			    CONFIG_MAX_HOOKS);
			return -1;
		}
		if (n > 0)
			h->cmds = xcalloc((size_t)n, sizeof(*h->cmds));
		for (int i = 0; i < n; i++) {
			const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);

			if (config_setting_type(e) != CONFIG_TYPE_ARRAY) {
				/* once is enough: ("/bin/a", "x") is one mistake, not two */
				config_err(ld, config_line(e), "%s: each command must be an array "
				    "[\"/path\", \"arg\", ...], not %s", key, config_type_name(e));
				ret = -1;
				break;
			}
			if (get_cmd(ld, e, key, &h->cmds[h->ncmds++]) < 0)
				ret = -1;
		}
	} else {
		config_err(ld, config_line(s), "%s must be an array [\"/path\", \"arg\", ...] or a "
		    "list of arrays, not %s", key, config_type_name(s));
		return -1;
	}
	if (ret < 0)
		config_hook_free(h);
	return ret;
}

/* A base64 key: 32 bytes, 44 characters. */
int
config_get_key(struct loader *ld, const config_setting_t *s, uint8_t key[32])
{
	const char *v;

	if (config_get_string(ld, s, &v) < 0)
		return -1;
	if (config_parse_key(key, v) < 0) {
		config_err(ld, config_line(s), "%s is not a base64 key of 32 bytes (44 characters, "
		    "made by \"vtund-ng genkey\")", config_key_name(s));
		return -1;
	}
	return 0;
}

/* A key file: absolute path, private to its owner (keys_read_file checks the mode). */
int
config_get_key_file(struct loader *ld, const config_setting_t *s, uint8_t key[32])
{
	char why[256] = "";
	const char *path;

	if (config_get_path(ld, s, 4095, &path) < 0)
		return -1;
	if (keys_read_file(path, true, key, why, sizeof(why)) < 0) {
		crypto_wipe(key, 32);
		config_err(ld, config_line(s), "%s: %s", config_key_name(s),
		    why[0] != '\0' ? why : "cannot read key");
		return -1;
	}
	return 0;
}

/* A user or group name as useradd accepts it; empty only where allowed. */
int
config_get_account(struct loader *ld, const config_setting_t *s, bool empty_ok, char **out)
{
	const char *v;
	size_t len;

	if (config_get_string(ld, s, &v) < 0)
		return -1;
	len = strlen(v);
	if (len == 0 && !empty_ok) {
		config_err(ld, config_line(s), "%s must not be empty", config_key_name(s));
		return -1;
	}
	if (!config_valid_account(v)) {
		config_err(ld, config_line(s), "%s '%s' is not a valid name", config_key_name(s),
		    v);
		return -1;
	}
	*out = xstrdup(v);
	return 0;
}
