/*
 * vtun_import.c - a VTun vtund.conf turned into a vtund-ng configuration (vtun_import.h).
 *
 * Reading follows VTun 3.x's lexer and grammar (cfg_file.l, cfg_file.y): statements
 * "keyword params ;" and blocks "keyword { ... }" (nested: up, down, bindaddr, srcaddr; an
 * unknown block is skipped with a warning), '#' comments where a statement may start (inside
 * parameters '#' is part of a word, as in VTun), a string running from its first '"' to the
 * last '"' of its line (VTun's \".*\"), the keyword aliases VTun knows (password, ifcfg,
 * delay_udp) and the unique prefixes the 1.x/2.x dialect accepted (pass, comp), each with a
 * warning. The file is read into a tree of statements first; sessions start as a copy of
 * "default" (VTun's built-in defaults first: type tty, proto tcp, port 5000), as in VTun.
 */
#include "vtun_import.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "config.h"
#include "config_parse.h"
#include "names.h"

#define ARGS_MAX 64
#define CMDS_MAX 32
#define DEPTH_MAX 8

/* ---- the tree ------------------------------------------------------------------------------ */

struct stmt {
	char *key;
	int line;
	char *arg[ARGS_MAX];
	bool str[ARGS_MAX];           /* the argument was a quoted string */
	int narg;
	bool block;
	struct stmt *kids;
	int nkids, capkids;
};

struct lexer {
	const char *p, *end;
	int line;
	bool at_stmt;                 /* a statement may start here: '#' opens a comment */
	char *err;
	size_t errlen;
	const char *name;
};

enum tok { T_END, T_WORD, T_STRING, T_LBRACE, T_RBRACE, T_SEMI, T_ERR };

static char *
xstrndup(const char *s, size_t n)
{
	char *d = malloc(n + 1);

	if (d != NULL) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

/* The next token; *text (malloc'd) for words and strings, *line its line. */
static enum tok
lex(struct lexer *lx, char **text, int *line)
{
	const char *p = lx->p;

	*text = NULL;
	for (;;) {
		while (p < lx->end && (*p == ' ' || *p == '\t' || *p == '\r'))
			p++;
		if (p < lx->end && *p == '\n') {
			lx->line++;
			p++;
			continue;
		}
		if (p < lx->end && *p == '#' && lx->at_stmt) {
			while (p < lx->end && *p != '\n')
				p++;
			continue;
		}
		break;
	}
	*line = lx->line;
	if (p >= lx->end) {
		lx->p = p;
		return T_END;
	}
	if (*p == '{' || *p == '}' || *p == ';') {
		lx->p = p + 1;
		lx->at_stmt = true;
		return *p == '{' ? T_LBRACE : *p == '}' ? T_RBRACE : T_SEMI;
	}
	lx->at_stmt = false;
	if (*p == '"') {
		const char *q = NULL, *e = p + 1;

		for (; e < lx->end && *e != '\n'; e++)
			if (*e == '"')
				q = e;
		if (q == NULL) {
			snprintf(lx->err, lx->errlen, "%s:%d: a string without its closing '\"'",
			    lx->name, lx->line);
			return T_ERR;
		}
		*text = xstrndup(p + 1, (size_t)(q - p - 1));
		lx->p = q + 1;
		return *text != NULL ? T_STRING : T_ERR;
	}
	{
		const char *s = p;

		while (p < lx->end && !strchr(" \t\r\n{};\"", *p))
			p++;
		*text = xstrndup(s, (size_t)(p - s));
		lx->p = p;
		return *text != NULL ? T_WORD : T_ERR;
	}
}

static void
stmt_free(struct stmt *s)
{
	free(s->key);
	for (int i = 0; i < s->narg; i++)
		free(s->arg[i]);
	for (int i = 0; i < s->nkids; i++)
		stmt_free(&s->kids[i]);
	free(s->kids);
}

/* Statements until '}' (depth > 0) or the end (depth 0), into parent's children. */
static int
parse_block(struct lexer *lx, struct stmt *parent, int depth)
{
	for (;;) {
		struct stmt st;
		char *text;
		enum tok t;
		int line;

		t = lex(lx, &text, &line);
		if (t == T_ERR)
			return -1;
		if (t == T_SEMI)
			continue;
		if (t == T_END) {
			if (depth == 0)
				return 0;
			snprintf(lx->err, lx->errlen, "%s:%d: the file ends inside a block (a '}' is "
			    "missing)", lx->name, lx->line);
			return -1;
		}
		if (t == T_RBRACE) {
			if (depth > 0)
				return 0;
			snprintf(lx->err, lx->errlen, "%s:%d: '}' without its '{'", lx->name, line);
			return -1;
		}
		if (t != T_WORD) {
			snprintf(lx->err, lx->errlen, "%s:%d: a statement must start with a keyword, "
			    "not %s", lx->name, line, t == T_LBRACE ? "'{'" : "a string");
			free(text);
			return -1;
		}
		memset(&st, 0, sizeof(st));
		st.key = text;
		st.line = line;
		for (;;) {
			t = lex(lx, &text, &line);
			if (t == T_WORD || t == T_STRING) {
				if (st.narg == ARGS_MAX) {
					free(text);
					continue;
				}
				st.str[st.narg] = t == T_STRING;
				st.arg[st.narg++] = text;
				continue;
			}
			break;
		}
		if (t == T_ERR) {
			stmt_free(&st);
			return -1;
		}
		if (t == T_LBRACE) {
			st.block = true;
			if (depth + 1 >= DEPTH_MAX) {
				snprintf(lx->err, lx->errlen, "%s:%d: blocks nested too deep", lx->name,
				    st.line);
				stmt_free(&st);
				return -1;
			}
			if (parse_block(lx, &st, depth + 1) == -1) {
				stmt_free(&st);
				return -1;
			}
		} else if (t != T_SEMI) {
			snprintf(lx->err, lx->errlen, "%s:%d: '%s' is not ended by ';'", lx->name,
			    st.line, st.key);
			stmt_free(&st);
			return -1;
		}
		if (parent->nkids == parent->capkids) {
			int cap = parent->capkids ? parent->capkids * 2 : 16;
			struct stmt *k = realloc(parent->kids, (size_t)cap * sizeof(*k));

			if (k == NULL) {
				stmt_free(&st);
				snprintf(lx->err, lx->errlen, "%s: out of memory", lx->name);
				return -1;
			}
			parent->kids = k;
			parent->capkids = cap;
		}
		parent->kids[parent->nkids++] = st;
	}
}

/* ---- keywords -------------------------------------------------------------------------------- */

enum kw {
	K_NONE = 0, K_OPTIONS, K_DEFAULT, K_UP, K_DOWN, K_PORT, K_SRCADDR, K_ADDR, K_IFACE,
	K_BINDADDR, K_PERSIST, K_MULTI, K_TIMEOUT, K_PASSWD, K_PROG, K_SPEED, K_COMPRESS,
	K_ENCRYPT, K_TYPE, K_PROTO, K_NAT_HACK, K_DEVICE, K_PPP, K_IFCONFIG, K_FIREWALL,
	K_ROUTE, K_IP, K_KEEPALIVE, K_STAT, K_SYSLOG, K_IFNAME,
};

static const struct {
	const char *name;
	enum kw kw;
	bool alias;
} keywords[] = {
	{ "options", K_OPTIONS, false }, { "default", K_DEFAULT, false },
	{ "up", K_UP, false }, { "down", K_DOWN, false }, { "port", K_PORT, false },
	{ "srcaddr", K_SRCADDR, false }, { "addr", K_ADDR, false }, { "iface", K_IFACE, false },
	{ "bindaddr", K_BINDADDR, false }, { "persist", K_PERSIST, false },
	{ "multi", K_MULTI, false }, { "timeout", K_TIMEOUT, false },
	{ "passwd", K_PASSWD, false }, { "password", K_PASSWD, true },
	{ "program", K_PROG, false }, { "speed", K_SPEED, false },
	{ "compress", K_COMPRESS, false }, { "encrypt", K_ENCRYPT, false },
	{ "type", K_TYPE, false }, { "proto", K_PROTO, false },
	{ "nat_hack", K_NAT_HACK, false }, { "delay_udp", K_NAT_HACK, true },
	{ "device", K_DEVICE, false }, { "ppp", K_PPP, false },
	{ "ifconfig", K_IFCONFIG, false }, { "ifcfg", K_IFCONFIG, true },
	{ "firewall", K_FIREWALL, false }, { "route", K_ROUTE, false }, { "ip", K_IP, false },
	{ "keepalive", K_KEEPALIVE, false }, { "stat", K_STAT, false },
	{ "syslog", K_SYSLOG, false }, { "ifname", K_IFNAME, false },
};
#define NKEYWORDS (sizeof(keywords) / sizeof(keywords[0]))

/* The keyword word is: exactly one, or a unique prefix (the old dialect's "pass", "comp");
 * *how says which ("" exact, else the full name). K_NONE if neither. */
static enum kw
keyword(const char *w, const char **full, bool *abbrev)
{
	enum kw found = K_NONE;
	size_t n = strlen(w);
	int hits = 0;

	*abbrev = false;
	*full = w;
	for (size_t i = 0; i < NKEYWORDS; i++)
		if (strcmp(w, keywords[i].name) == 0) {
			*full = keywords[i].name;
			return keywords[i].kw;
		}
	if (n < 2)
		return K_NONE;
	for (size_t i = 0; i < NKEYWORDS; i++) {
		if (strncmp(w, keywords[i].name, n) != 0 || keywords[i].alias)
			continue;
		if (found != keywords[i].kw)
			hits++;
		found = keywords[i].kw;
		*full = keywords[i].name;
	}
	if (hits != 1)
		return K_NONE;
	*abbrev = true;
	return found;
}

/* VTun's parameter words: yes/no and friends as 1/0, or -1. */
static int
yesno(const char *w)
{
	static const char *const yes[] = { "yes", "allow", "enable", NULL };
	static const char *const no[] = { "no", "deny", "disable", NULL };

	for (int i = 0; yes[i] != NULL; i++)
		if (strcmp(w, yes[i]) == 0)
			return 1;
	for (int i = 0; no[i] != NULL; i++)
		if (strcmp(w, no[i]) == 0)
			return 0;
	if (strspn(w, "0123456789") == strlen(w) && w[0] != '\0')
		return atoi(w) != 0;
	return -1;
}

/* ---- the model --------------------------------------------------------------------------- */

enum vtype { VT_TTY_T, VT_PIPE_T, VT_ETHER_T, VT_TUN_T };

struct cmd {
	enum kw kind;                 /* K_IFCONFIG, K_IP, K_ROUTE, K_FIREWALL, K_PPP, K_PROG */
	char *prog;                   /* program path (K_PROG), else from options */
	char *args;
	int line;
};

struct setting {
	int line;                     /* 0: not set */
	const char *val;              /* the first argument */
	int narg;
	const struct stmt *st;
};

struct session {
	char name[64];
	int line;
	struct setting s[K_IFNAME + 1];
	const struct stmt *up, *down;  /* the blocks in force (own or inherited) */
	const struct stmt *loose[CMDS_MAX]; /* commands outside up (the old dialect): up */
	int nloose;
};

struct opts {
	const char *path[K_IFNAME + 1]; /* programs: K_PPP, K_IFCONFIG, K_ROUTE, K_FIREWALL, K_IP */
	int port, port_line;
	const char *bind, *bindiface;
	int bind_line;
};

/* ---- output -------------------------------------------------------------------------------- */

struct out {
	char *buf;
	size_t len, cap;
	bool oom;
};

static void __attribute__((format(printf, 2, 3)))
put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(o->buf != NULL ? o->buf + o->len : NULL,
		    o->buf != NULL ? o->cap - o->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			o->oom = true;
			return;
		}
		if (o->buf != NULL && o->len + (size_t)n < o->cap) {
			o->len += (size_t)n;
			return;
		}
		{
			size_t cap = o->cap ? o->cap * 2 : 65536;
			char *b;

			while (cap < o->len + (size_t)n + 1)
				cap *= 2;
			if ((b = realloc(o->buf, cap)) == NULL) {
				o->oom = true;
				return;
			}
			o->buf = b;
			o->cap = cap;
		}
	}
}

/* A libconfig string: quotes and backslashes escaped. */
static void
put_str(struct out *o, const char *s)
{
	put(o, "\"");
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			put(o, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			put(o, " ");
		else
			put(o, "%c", *s);
	}
	put(o, "\"");
}

struct ctx {
	const struct vtun_import_opts *o;
	struct vtun_import *r;
	struct opts op;
	char (*devs)[CONFIG_IFNAME_MAX + 1]; /* devices of the peers written so far */
	int ndevs;
	int *warned_lines;            /* lines with a warning already (one per line and text) */
	char **warned_text;
	int nwarned, capwarned;
};

static void __attribute__((format(printf, 3, 4)))
warn(struct ctx *c, int line, const char *fmt, ...)
{
	char msg[512], full[700];
	va_list ap;
	char **w;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	for (int i = 0; i < c->nwarned; i++)
		if (c->warned_lines[i] == line && strcmp(c->warned_text[i], msg) == 0)
			return;
	if (c->nwarned == c->capwarned) {
		int cap = c->capwarned ? c->capwarned * 2 : 64;
		int *l = realloc(c->warned_lines, (size_t)cap * sizeof(*l));
		char **t;

		if (l == NULL)
			return;
		c->warned_lines = l;
		if ((t = realloc(c->warned_text, (size_t)cap * sizeof(*t))) == NULL)
			return;
		c->warned_text = t;
		c->capwarned = cap;
	}
	if ((c->warned_text[c->nwarned] = strdup(msg)) == NULL)
		return;
	c->warned_lines[c->nwarned++] = line;
	if (c->r->nwarnings >= VTUN_IMPORT_WARN_MAX) {
		c->r->dropped++;
		return;
	}
	snprintf(full, sizeof(full), "%s:%d: warning: %s", c->o->name, line, msg);
	if ((w = realloc(c->r->warnings, (size_t)(c->r->nwarnings + 1) * sizeof(*w))) == NULL)
		return;
	c->r->warnings = w;
	if ((w[c->r->nwarnings] = strdup(full)) != NULL)
		c->r->nwarnings++;
}

/* ---- reading the tree into options and sessions ------------------------------------------ */

/* An options block. VTun keeps the first port and bind address it reads (a later block does
 * not override them) but replaces program paths as it goes: commands after a block use its
 * paths. first: this is the pre-pass for port and bindaddr. */
static void
read_options(struct ctx *c, const struct stmt *b, bool first)
{
	for (int i = 0; i < b->nkids; i++) {
		const struct stmt *s = &b->kids[i];
		const char *full;
		bool abbrev;
		enum kw k = keyword(s->key, &full, &abbrev);

		if (abbrev && !first)
			warn(c, s->line, "'%s' read as '%s' (an abbreviation of VTun's old dialect)",
			    s->key, full);
		if (first != (k == K_PORT || k == K_BINDADDR))
			continue;
		switch (k) {
		case K_PORT:
			if (c->op.port_line != 0)
				break;
			if (s->narg == 1 && atoi(s->arg[0]) > 0 && atoi(s->arg[0]) < 65536) {
				c->op.port = atoi(s->arg[0]);
				c->op.port_line = s->line;
			} else {
				warn(c, s->line, "port: not a port number: ignored");
			}
			break;
		case K_PPP:
		case K_IFCONFIG:
		case K_ROUTE:
		case K_FIREWALL:
		case K_IP:
			if (s->narg == 1 && s->arg[0][0] == '/')
				c->op.path[k] = s->arg[0];
			else
				warn(c, s->line, "%s: not an absolute path: ignored", full);
			break;
		case K_BINDADDR:
			if (c->op.bind_line != 0)
				break;
			for (int j = 0; j < s->nkids; j++) {
				const struct stmt *t = &s->kids[j];

				if (strcmp(t->key, "addr") == 0 && t->narg == 1) {
					c->op.bind = t->arg[0];
					c->op.bind_line = t->line;
				} else if (strcmp(t->key, "iface") == 0 && t->narg == 1) {
					c->op.bindiface = t->arg[0];
					c->op.bind_line = t->line;
				}
			}
			if (c->op.bindiface != NULL)
				warn(c, c->op.bind_line, "bindaddr iface %s: vtund-ng listens on an "
				    "address: set listen by hand", c->op.bindiface);
			break;
		case K_SYSLOG:
			break; /* vtund-ng always logs to syslog (facility daemon) when detached */
		case K_TIMEOUT:
			break; /* a connect timeout: handshakes retry on their own */
		case K_TYPE:
			if (s->narg == 1 && strcmp(s->arg[0], "inetd") == 0)
				warn(c, s->line, "type inetd: vtund-ng runs stand-alone only");
			break;
		case K_PERSIST:
		case K_IFNAME:
			break;
		default:
			warn(c, s->line, "options: '%s' has no equivalent: ignored", s->key);
			break;
		}
	}
}

/* Apply the settings of block b to session se (the default block, then a session's own). */
static void
read_host(struct ctx *c, const struct stmt *b, struct session *se)
{
	for (int i = 0; i < b->nkids; i++) {
		const struct stmt *s = &b->kids[i];
		const char *full;
		bool abbrev;
		enum kw k = keyword(s->key, &full, &abbrev);

		if (abbrev)
			warn(c, s->line, "'%s' read as '%s' (an abbreviation of VTun's old dialect)",
			    s->key, full);
		switch (k) {
		case K_UP:
		case K_DOWN:
			if (!s->block) {
				warn(c, s->line, "%s without a block { ... }: ignored", full);
				break;
			}
			if (k == K_UP)
				se->up = s;
			else
				se->down = s;
			break;
		case K_PASSWD: case K_DEVICE: case K_MULTI: case K_TIMEOUT: case K_SPEED:
		case K_COMPRESS: case K_ENCRYPT: case K_KEEPALIVE: case K_STAT: case K_PERSIST:
		case K_TYPE: case K_PROTO: case K_NAT_HACK: case K_SRCADDR:
			se->s[k].line = s->line;
			se->s[k].val = s->narg > 0 ? s->arg[0] : "";
			se->s[k].narg = s->narg;
			se->s[k].st = s;
			break;
		case K_IFCONFIG: case K_ROUTE: case K_IP: case K_PROG: case K_FIREWALL: case K_PPP:
			warn(c, s->line, "'%s' outside an up or down block (the old dialect): read "
			    "as part of up", full);
			if (se->nloose < CMDS_MAX)
				se->loose[se->nloose++] = s;
			break;
		default:
			if (s->block)
				warn(c, s->line, "block '%s' is not VTun 3.x's: skipped", s->key);
			else
				warn(c, s->line, "'%s' has no equivalent: ignored", s->key);
			break;
		}
	}
}

/* ---- commands -------------------------------------------------------------------------------- */

/* Split args like VTun's split_args: white space separates, '...' and "..." group. Every
 * argument is terminated inside store; *cut is set when args did not fit (cap bytes, max
 * arguments). */
static int
split(const char *args, char **argv, int max, char *store, size_t cap, bool *cut)
{
	int n = 0;
	size_t o = 0;
	const char *p = args;

	*cut = false;
	while (*p != '\0') {
		char q = 0;

		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		if (n == max || o + 1 >= cap) {
			*cut = true;
			break;
		}
		argv[n++] = store + o;
		while (*p != '\0' && (q != 0 || (*p != ' ' && *p != '\t'))) {
			if (q == 0 && (*p == '\'' || *p == '"')) {
				q = *p++;
				continue;
			}
			if (q != 0 && *p == q) {
				q = 0;
				p++;
				continue;
			}
			if (o + 1 < cap)
				store[o++] = *p;
			else
				*cut = true;
			p++;
		}
		store[o++] = '\0'; /* o < cap: a character is copied only below cap - 1 */
	}
	return n;
}

static const char *
base(const char *path)
{
	const char *s = strrchr(path, '/');

	return s != NULL ? s + 1 : path;
}

/* Whether w is an abbreviation (at least its first letter) of word, as ip(8) takes them. */
static bool
ip_word(const char *w, const char *word)
{
	size_t n = strlen(w);

	return n > 0 && n <= strlen(word) && strncmp(w, word, n) == 0;
}

/* What one up/down command says, for a tun/tap device. */
struct dev_facts {
	struct vt_addr addr[CONFIG_MAX_ADDRS];
	int naddr;
	struct vt_addr peer[2];
	int npeer;
	struct vt_addr route[CONFIG_MAX_ROUTES];
	int nroute;
	int mtu, mtu_line;
	char bridge[CONFIG_IFNAME_MAX + 1];
	const char *gw[CONFIG_MAX_ROUTES]; /* each route's gateway, checked against the peer */
	char bad[80];                 /* an address of the command that is none */
};

static int
parse_ip(const char *s, struct vt_addr *a, bool prefix)
{
	const char *why = config_parse_addr(s, prefix, a);

	return why == NULL ? 0 : -1;
}

/* A dotted netmask's prefix length, or -1. */
static int
mask_len(const char *m)
{
	struct in_addr a;
	uint32_t v;
	int n = 0;

	if (inet_pton(AF_INET, m, &a) != 1)
		return -1;
	v = ntohl(a.s_addr);
	while (v & 0x80000000u) {
		n++;
		v <<= 1;
	}
	return v == 0 ? n : -1;
}

/* The classful prefix length of IPv4 address s (what ifconfig and route take without a
 * netmask), or -1. */
static int
classful(const char *s)
{
	struct in_addr a;
	unsigned first;

	if (inet_pton(AF_INET, s, &a) != 1)
		return -1;
	first = ntohl(a.s_addr) >> 24;
	return first < 128 ? 8 : first < 192 ? 16 : first < 224 ? 24 : -1;
}

static bool
add_addr(struct dev_facts *f, const char *s, int len)
{
	struct vt_addr a;
	char buf[80];

	snprintf(buf, sizeof(buf), "%s/%d", s, len);
	if (strchr(s, '/') != NULL)
		snprintf(buf, sizeof(buf), "%s", s);
	if (f->naddr == CONFIG_MAX_ADDRS)
		return false;
	if (parse_ip(buf, &a, true) == -1) {
		snprintf(f->bad, sizeof(f->bad), "%s", s);
		return false;
	}
	f->addr[f->naddr++] = a;
	return true;
}

static bool
add_peer(struct dev_facts *f, const char *s)
{
	struct vt_addr a;
	char buf[80], *slash;

	snprintf(buf, sizeof(buf), "%s", s);
	if ((slash = strchr(buf, '/')) != NULL)
		*slash = '\0';
	if (f->npeer == 2)
		return false;
	if (parse_ip(buf, &a, false) == -1) {
		snprintf(f->bad, sizeof(f->bad), "%s", s);
		return false;
	}
	for (int i = 0; i < f->npeer; i++)
		if (f->peer[i].family == a.family)
			return false;
	f->peer[f->npeer++] = a;
	return true;
}

/* A route to net (with len if it has no prefix length; "default": the family's default). */
static bool
add_route(struct dev_facts *f, const char *net, int len, const char *gw, bool v6)
{
	struct vt_addr a;
	char buf[80];

	if (strchr(net, '/') != NULL)
		snprintf(buf, sizeof(buf), "%s", net);
	else
		snprintf(buf, sizeof(buf), "%s/%d", net, len);
	if (strcmp(net, "default") == 0)
		snprintf(buf, sizeof(buf), "%s", v6 ? "::/0" : "0.0.0.0/0");
	if (f->nroute == CONFIG_MAX_ROUTES)
		return false;
	if (parse_ip(buf, &a, true) == -1) {
		snprintf(f->bad, sizeof(f->bad), "%s", net);
		return false;
	}
	f->gw[f->nroute] = gw;
	f->route[f->nroute++] = a;
	return true;
}

static bool
is_dev(const char *w)
{
	return strcmp(w, "%%") == 0;
}

static bool
set_mtu(struct dev_facts *f, const char *w, int line)
{
	int m = atoi(w);

	if (m < 576 || m > 9000)
		return false;
	f->mtu = m;
	f->mtu_line = line;
	return true;
}

/* ifconfig %% ADDR [netmask M] [pointopoint P] [mtu N] [up] | ifconfig %% up|down */
static bool
facts_ifconfig(struct dev_facts *f, char **v, int n, bool up, int line)
{
	const char *addr = NULL, *peer = NULL;
	int len = -1;

	if (n < 2 || !is_dev(v[0]))
		return false;
	for (int i = 1; i < n; i++) {
		if (strcmp(v[i], "up") == 0 || strcmp(v[i], "down") == 0)
			continue;
		if ((strcmp(v[i], "pointopoint") == 0 || strcmp(v[i], "dstaddr") == 0) &&
		    i + 1 < n)
			peer = v[++i];
		else if (strcmp(v[i], "netmask") == 0 && i + 1 < n)
			len = mask_len(v[++i]);
		else if (strcmp(v[i], "mtu") == 0 && i + 1 < n) {
			if (!set_mtu(f, v[++i], line))
				return false;
		} else if (addr == NULL && i == 1)
			addr = v[i];
		else
			return false;
	}
	if (!up)
		return addr == NULL; /* ifconfig %% down */
	if (addr == NULL)
		return true;
	if (len < 0)
		len = peer != NULL ? 32 : classful(addr);
	if (len < 0 && strchr(addr, '/') == NULL)
		return false;
	if (!add_addr(f, addr, len))
		return false;
	return peer == NULL || add_peer(f, peer);
}

/* The operands of ip addr add / ip route add from v[i]: "dev %%" sets *dev, a word of keys
 * takes the next as its value (vals[k]), any other word is the one positional operand
 * (*pos). False for a second positional operand or a device other than ours. */
static bool
ip_operands(char **v, int i, int n, const char *const *keys, const char **vals, int nkeys,
    const char **pos, bool *dev)
{
	for (; i < n; i++) {
		int k;

		if (strcmp(v[i], "dev") == 0 && i + 1 < n && is_dev(v[i + 1])) {
			*dev = true;
			i++;
			continue;
		}
		for (k = 0; k < nkeys && !(strcmp(v[i], keys[k]) == 0 && i + 1 < n); k++)
			;
		if (k < nkeys)
			vals[k] = v[++i];
		else if (*pos == NULL)
			*pos = v[i];
		else
			return false;
	}
	return true;
}

/* ip [-family inet|-f inet|-4|-6] link|addr|route ... */
static bool
facts_ip(struct dev_facts *f, char **v, int n, bool up, int line)
{
	bool v6 = false;
	int i = 0;

	while (i < n && v[i][0] == '-') {
		if ((strcmp(v[i], "-family") == 0 || strcmp(v[i], "-f") == 0) && i + 1 < n) {
			v6 = strcmp(v[i + 1], "inet6") == 0;
			i += 2;
		} else if (strcmp(v[i], "-4") == 0 || strcmp(v[i], "-6") == 0) {
			v6 = strcmp(v[i], "-6") == 0;
			i++;
		} else {
			return false;
		}
	}
	if (i + 1 >= n)
		return false;
	if (ip_word(v[i], "link") && ip_word(v[i + 1], "set")) {
		bool dev = false;

		for (i += 2; i < n; i++) {
			if (strcmp(v[i], "dev") == 0)
				continue;
			if (is_dev(v[i]))
				dev = true;
			else if (strcmp(v[i], "up") == 0 || strcmp(v[i], "down") == 0)
				continue;
			else if ((strcmp(v[i], "multicast") == 0 || strcmp(v[i], "arp") == 0) &&
			    i + 1 < n)
				i++; /* the device's own flags: nothing to carry */
			else if (strcmp(v[i], "mtu") == 0 && i + 1 < n && up) {
				if (!set_mtu(f, v[++i], line))
					return false;
			} else if (strcmp(v[i], "master") == 0 && i + 1 < n && up &&
			    config_valid_ifname(v[i + 1]))
				snprintf(f->bridge, sizeof(f->bridge), "%s", v[++i]);
			else if (strcmp(v[i], "nomaster") == 0 && !up)
				continue;
			else
				return false;
		}
		return dev;
	}
	if (ip_word(v[i], "address") && ip_word(v[i + 1], "add") && up) {
		static const char *const keys[] = { "peer", "local" };
		const char *vals[2] = { NULL, NULL }, *addr = NULL, *peer;
		bool dev = false;

		if (!ip_operands(v, i + 2, n, keys, vals, 2, &addr, &dev))
			return false;
		peer = vals[0];
		if (vals[1] != NULL)
			addr = vals[1];
		if (!dev || addr == NULL)
			return false;
		/* ip(8): an address without a prefix length is a host address */
		if (!add_addr(f, addr, strchr(addr, ':') ? 128 : 32))
			return false;
		return peer == NULL || add_peer(f, peer);
	}
	if (ip_word(v[i], "address") && (ip_word(v[i + 1], "delete") ||
	    ip_word(v[i + 1], "flush")) && !up)
		return true; /* the device goes with its addresses */
	if (ip_word(v[i], "route") && ip_word(v[i + 1], "add") && up) {
		static const char *const keys[] = { "via" };
		const char *gw = NULL, *net = NULL;
		bool dev = false;

		if (!ip_operands(v, i + 2, n, keys, &gw, 1, &net, &dev))
			return false;
		if (net == NULL || (!dev && gw == NULL))
			return false;
		return add_route(f, net, strchr(net, ':') ? 128 : 32, dev ? NULL : gw,
		    v6 || strchr(net, ':') != NULL);
	}
	if (ip_word(v[i], "route") && ip_word(v[i + 1], "delete") && !up)
		return true;
	return false;
}

/* route add [-net|-host] NET [netmask M] [gw G | dev %%] | route add NET/LEN gw G */
static bool
facts_route(struct dev_facts *f, char **v, int n, bool up)
{
	const char *net = NULL, *gw = NULL;
	bool dev = false, host = false;
	int len = -1;

	if (n < 2)
		return false;
	if (strcmp(v[0], "del") == 0 || strcmp(v[0], "delete") == 0)
		return !up;
	if (strcmp(v[0], "add") != 0 || !up)
		return false;
	for (int i = 1; i < n; i++) {
		if (strcmp(v[i], "-net") == 0)
			continue;
		if (strcmp(v[i], "-host") == 0)
			host = true;
		else if (strcmp(v[i], "netmask") == 0 && i + 1 < n)
			len = mask_len(v[++i]);
		else if ((strcmp(v[i], "gw") == 0 || strcmp(v[i], "via") == 0) && i + 1 < n)
			gw = v[++i];
		else if (strcmp(v[i], "dev") == 0 && i + 1 < n && is_dev(v[i + 1])) {
			dev = true;
			i++;
		} else if (is_dev(v[i]))
			dev = true;
		else if (net == NULL)
			net = v[i];
		else
			return false;
	}
	if (net == NULL || (!dev && gw == NULL))
		return false;
	if (len < 0)
		len = host ? 32 : strchr(net, '/') != NULL || strcmp(net, "default") == 0 ? 0 :
		    classful(net);
	if (len < 0)
		return false;
	return add_route(f, net, len, dev ? NULL : gw, false);
}

/* ---- writing a peer ------------------------------------------------------------------------ */

/* A valid vtund-ng peer name for VTun host name h, unique among the n names so far. */
static void
peer_name(const char *h, char *out, size_t len, char (*names)[64], int n)
{
	char b[64];
	size_t o = 0;

	if (!isalpha((unsigned char)h[0]))
		b[o++] = 's';
	for (; *h != '\0' && o < CONFIG_NAME_MAX; h++)
		b[o++] = isalnum((unsigned char)*h) || *h == '_' || *h == '-' ? *h : '-';
	b[o] = '\0';
	snprintf(out, len, "%s", b);
	for (int k = 2;; k++) {
		bool taken = false;

		for (int i = 0; i < n && !taken; i++)
			taken = strcmp(names[i], out) == 0;
		if (!taken)
			return;
		snprintf(out, len, "%.*s-%d", (int)(CONFIG_NAME_MAX - 6), b, k);
	}
}

/* VTun's substitutions in a hook argument: %% is the device (%d); %A %P %a %p have no
 * equivalent; a lone % becomes %%. */
static void
put_hook_arg(struct ctx *c, struct out *o, const char *a, int line)
{
	char t[2 * 2048 + 4]; /* every character of a split argument may double */
	size_t k = 0;

	for (const char *p = a; *p != '\0' && k + 3 < sizeof(t); p++) {
		if (p[0] == '%' && p[1] == '%') {
			t[k++] = '%';
			t[k++] = 'd';
			p++;
		} else if (p[0] == '%') {
			if (strchr("APap", p[1]) != NULL && p[1] != '\0')
				warn(c, line, "VTun's %%%c (underlay address or port) has no "
				    "equivalent in hooks: kept as the text %%%c", p[1], p[1]);
			t[k++] = '%';
			t[k++] = '%';
		} else {
			t[k++] = *p;
		}
	}
	t[k] = '\0';
	put_str(o, t);
}

/* Whether gateway gw is the far end of the tunnel (a peer address of f). */
static bool
gw_is_peer(const struct dev_facts *f, const char *gw)
{
	struct vt_addr a;

	if (parse_ip(gw, &a, false) == -1)
		return false;
	for (int i = 0; i < f->npeer; i++)
		if (f->peer[i].family == a.family && memcmp(f->peer[i].addr, a.addr, 16) == 0)
			return true;
	return false;
}

/* One command: its declarative facts into f, or (not understood) a hook into h. */
static void
command(struct ctx *c, const struct stmt *s, bool up, bool tap, struct dev_facts *f,
    struct out *h, int *nh)
{
	const char *full, *prog = NULL, *args = "";
	char store[2048], *v[ARGS_MAX];
	bool abbrev, known = false, shell = false, cut;
	enum kw k = keyword(s->key, &full, &abbrev);
	int n, routes = f->nroute;

	if (abbrev)
		warn(c, s->line, "'%s' read as '%s' (an abbreviation of VTun's old dialect)",
		    s->key, full);
	switch (k) {
	case K_PROG:
		for (int j = 0; j < s->narg; j++) {
			if (!s->str[j] && s->arg[j][0] == '/')
				prog = s->arg[j];
			else if (s->str[j])
				args = s->arg[j];
		}
		if (prog == NULL)
			shell = true; /* VTun runs a program without a path through the shell */
		break;
	case K_PPP:
		warn(c, s->line, "ppp: a ppp link runs over a tty tunnel: not carried over");
		return;
	case K_IFCONFIG: case K_ROUTE: case K_FIREWALL: case K_IP:
		prog = c->op.path[k];
		args = s->narg > 0 ? s->arg[0] : "";
		break;
	default:
		warn(c, s->line, "'%s' is not a command: ignored", s->key);
		return;
	}
	if (strchr(args, '"') != NULL)
		warn(c, s->line, "a string with '\"' inside: VTun reads from the first to the "
		    "last '\"' of a line as one string (one command per line)");
	n = split(args, v, ARGS_MAX, store, sizeof(store), &cut);
	if (cut) {
		warn(c, s->line, "'%s': a command longer than %zu bytes or with more than %d "
		    "arguments: left out (add it by hand)", full, sizeof(store) - 1, ARGS_MAX);
		return;
	}
	if (shell && n > 0)
		prog = v[0];
	if (prog == NULL) {
		warn(c, s->line, "a program without a path or arguments: ignored");
		return;
	}
	if (shell && n > 0) {
		memmove(v, v + 1, (size_t)(n - 1) * sizeof(v[0]));
		n--;
	}
	if (strcmp(base(prog), "ip") == 0)
		known = facts_ip(f, v, n, up, s->line);
	else if (strcmp(base(prog), "ifconfig") == 0)
		known = facts_ifconfig(f, v, n, up, s->line);
	else if (strcmp(base(prog), "route") == 0)
		known = facts_route(f, v, n, up);
	else if (strcmp(base(prog), "brctl") == 0 && n == 3 && is_dev(v[2]) &&
	    (strcmp(v[0], "addif") == 0 || strcmp(v[0], "delif") == 0) &&
	    config_valid_ifname(v[1])) {
		known = true;
		if (up && strcmp(v[0], "addif") == 0)
			snprintf(f->bridge, sizeof(f->bridge), "%s", v[1]);
	}
	/* A route is ours only on a tun device, and only through the tunnel. */
	for (int j = routes; known && j < f->nroute; j++)
		if (tap || (f->gw[j] != NULL && !gw_is_peer(f, f->gw[j])))
			known = false;
	for (int j = routes; j < f->nroute; j++)
		f->gw[j] = NULL;
	if (!known)
		f->nroute = routes;
	if (known)
		return;
	if (f->bad[0] != '\0')
		warn(c, s->line, "'%s' is not an address: the command stays a hook, and fails",
		    f->bad);
	f->bad[0] = '\0';
	/* A hook: argv, no shell; a program without a path goes through /bin/sh -c. The
	 * comment comes first: the list's comma must not end up inside it. */
	put(h, "%s\n\t\t\t# line %d: %s%s", *nh > 0 ? "," : "", s->line, full,
	    s->narg > 0 ? " ..." : "");
	put(h, "\n\t\t\t[ ");
	if (shell) {
		put(h, "\"/bin/sh\", \"-c\", ");
		put_hook_arg(c, h, args, s->line);
	} else {
		put_str(h, prog);
		for (int j = 0; j < n; j++) {
			put(h, ", ");
			put_hook_arg(c, h, v[j], s->line);
		}
	}
	put(h, " ]");
	if (++*nh > CONFIG_MAX_HOOKS)
		warn(c, s->line, "more than %d commands in one hook: vtund-ng takes %d; put the "
		    "rest in a script", CONFIG_MAX_HOOKS, CONFIG_MAX_HOOKS);
}

/* The commands of an up or down block, then (up) those outside it. */
static void
commands(struct ctx *c, const struct session *se, bool up, bool tap, struct dev_facts *f,
    struct out *h, int *nh)
{
	const struct stmt *b = up ? se->up : se->down;

	for (int i = 0; b != NULL && i < b->nkids; i++)
		command(c, &b->kids[i], up, tap, f, h, nh);
	for (int i = 0; up && i < se->nloose; i++)
		command(c, se->loose[i], up, tap, f, h, nh);
}

static void
put_addrs(struct out *o, const char *key, const struct vt_addr *a, int n, bool prefix)
{
	char s[INET6_ADDRSTRLEN];

	put(o, "\t\t%s = [ ", key);
	for (int i = 0; i < n; i++) {
		inet_ntop(a[i].family, a[i].addr, s, sizeof(s));
		if (prefix)
			put(o, "%s\"%s/%u\"", i > 0 ? ", " : "", s, a[i].prefix);
		else
			put(o, "%s\"%s\"", i > 0 ? ", " : "", s);
	}
	put(o, " ];\n");
}

static bool
dev_taken(const struct ctx *c, const char *d)
{
	for (int i = 0; i < c->ndevs; i++)
		if (strcmp(c->devs[i], d) == 0)
			return true;
	return false;
}

/* The device of peer name: the session's own (want, if valid and free), else vtund-ng's
 * default "vt-" + name, else (long names cut to the same 15 characters) one made unique. Set
 * *own when it is the session's; "" when the default serves. */
static void
pick_device(struct ctx *c, const char *want, const char *name, char dev[CONFIG_IFNAME_MAX + 1],
    bool *explicit)
{
	*explicit = true;
	if (want != NULL && !dev_taken(c, want)) {
		snprintf(dev, CONFIG_IFNAME_MAX + 1, "%s", want);
		return;
	}
	*explicit = false;
	for (int k = 1;; k++) {
		char suffix[16] = "";
		size_t sl = 0, n = strlen(name), room;

		if (k > 1)
			sl = (size_t)snprintf(suffix, sizeof(suffix), "-%d", k);
		room = CONFIG_IFNAME_MAX - 3 - sl;
		if (n > room)
			n = room;
		memcpy(dev, "vt-", 3);
		memcpy(dev + 3, name, n);
		memcpy(dev + 3 + n, suffix, sl + 1);
		if (!dev_taken(c, dev))
			return;
		*explicit = true;
	}
}

/* One direction of VTun's speed (K of 1024 bit/s, digits only) into *kbit; false if it is not
 * one. */
static bool
speed_kbit(const char *s, size_t len, unsigned long *kbit)
{
	char num[16];

	if (len == 0 || len >= sizeof(num) || strspn(s, "0123456789") < len)
		return false;
	memcpy(num, s, len);
	num[len] = '\0';
	*kbit = strtoul(num, NULL, 10);
	return *kbit <= 97656250; /* our limit: 100 gbit */
}

/* speed N or IN:OUT (kbit/s; IN is to the client, OUT from it; 0 is no shaping; a VTun client
 * ignores it): a server's rate-out and rate-in. */
static void
put_speed(struct ctx *c, struct out *o, const char *v, int line)
{
	const char *colon = strchr(v, ':');
	unsigned long in, out;

	if (!speed_kbit(v, colon != NULL ? (size_t)(colon - v) : strlen(v), &in) ||
	    !speed_kbit(colon != NULL ? colon + 1 : v, colon != NULL ? strlen(colon + 1) :
	    strlen(v), &out)) {
		warn(c, line, "speed %s: not a speed in kbit/s (N or IN:OUT): left out", v);
		return;
	}
	if (in == 0 && out == 0)
		return;
	if ((in != 0 && in < 8) || (out != 0 && out < 8)) {
		warn(c, line, "speed %s: below 8 kbit/s, the least rate-in and rate-out take: "
		    "left out", v);
		return;
	}
	if (c->o->remote != NULL) {
		put(o, "\t\t# speed %s (line %d): a VTun client ignores it; the server shapes "
		    "(rate-out, rate-in)\n", v, line);
		return;
	}
	/* VTun's shaper counts a K as 1024 bit/s (lfd_shaper.c: spd / 8 * 1024 bytes/s) */
	put(o, "\t\t# speed %s (line %d): to the client, from the client, in VTun's K of 1024 "
	    "bit/s\n", v, line);
	if (in != 0)
		put(o, "\t\trate-out = \"%lubit\";\n", in * 1024);
	if (out != 0)
		put(o, "\t\trate-in = \"%lubit\";\n", out * 1024);
}

/* One session as a peer; false if it cannot carry over (skipped, with a warning). */
static bool
write_peer(struct ctx *c, struct out *o, const struct session *se, const char *name, int idx)
{
	const struct setting *s = se->s;
	struct dev_facts f;
	struct out hu = { 0 }, hd = { 0 };
	int type = VT_TTY_T, nup = 0, ndown = 0;
	const char *proto = "tcp";
	bool tap;

	if (s[K_TYPE].line != 0) {
		const char *t = s[K_TYPE].val;

		type = strcmp(t, "tun") == 0 ? VT_TUN_T : strcmp(t, "ether") == 0 ? VT_ETHER_T :
		    strcmp(t, "pipe") == 0 ? VT_PIPE_T : VT_TTY_T;
		if (type == VT_TTY_T && strcmp(t, "tty") != 0) {
			warn(c, s[K_TYPE].line, "session %s: type %s is not VTun's: skipped",
			    se->name, t);
			return false;
		}
	}
	if (type == VT_TTY_T || type == VT_PIPE_T) {
		warn(c, s[K_TYPE].line ? s[K_TYPE].line : se->line, "session %s: a %s tunnel "
		    "(%s) has no equivalent in vtund-ng (tun and tap only): skipped", se->name,
		    type == VT_PIPE_T ? "pipe" : "tty",
		    s[K_TYPE].line ? "its type" : "VTun's default without a type");
		return false;
	}
	tap = type == VT_ETHER_T;
	if (s[K_PROTO].line != 0) {
		if (strcmp(s[K_PROTO].val, "udp") == 0 || strcmp(s[K_PROTO].val, "tcp") == 0) {
			proto = s[K_PROTO].val;
		} else {
			warn(c, s[K_PROTO].line, "session %s: proto %s is not VTun's (udp, tcp): "
			    "skipped", se->name, s[K_PROTO].val);
			return false;
		}
	}
	memset(&f, 0, sizeof(f));
	commands(c, se, true, tap, &f, &hu, &nup);
	{
		struct dev_facts fd = f;

		commands(c, se, false, tap, &fd, &hd, &ndown);
	}
	put(o, "\n\t# session %s (line %d)\n\t%s = {\n", se->name, se->line, name);
	if (c->o->keys != NULL && idx < c->o->nkeys && c->o->keys[idx] != NULL)
		put(o, "\t\tpublic-key = \"%s\";\n", c->o->keys[idx]);
	else
		put(o, "\t\tpublic-key = \"FILL-IN: the other side's public key (vtund-ng pubkey)"
		    "\";\n");
	if (s[K_PASSWD].line != 0)
		warn(c, s[K_PASSWD].line, "the password does not carry over: vtund-ng "
		    "authenticates with keys (public-key)");
	if (c->o->remote != NULL) {
		if (strchr(c->o->remote, ':') != NULL)
			put(o, "\t\tremote = \"%s\";\n", c->o->remote);
		else
			put(o, "\t\tremote = \"%s:%d\";\n", c->o->remote, c->op.port);
	}
	put(o, "\t\ttype = \"%s\";    # VTun type %s\n", tap ? "tap" : "tun", tap ? "ether" :
	    "tun");
	put(o, "\t\tproto = \"%s\";%s\n", proto, s[K_PROTO].line ? "" :
	    "    # VTun's default");
	{
		const char *want = NULL;
		char dev[CONFIG_IFNAME_MAX + 1];
		bool own;

		if (s[K_DEVICE].line != 0) {
			if (config_valid_ifname(s[K_DEVICE].val) &&
			    strchr(s[K_DEVICE].val, '%') == NULL)
				want = s[K_DEVICE].val;
			else
				warn(c, s[K_DEVICE].line, "device %s is not an interface name "
				    "vtund-ng takes: the default vt-NAME is used", s[K_DEVICE].val);
			if (want != NULL && dev_taken(c, want))
				warn(c, s[K_DEVICE].line, "device %s is another session's too: "
				    "this one gets its own", want);
		}
		pick_device(c, want, name, dev, &own);
		if (own)
			put(o, "\t\tdevice = \"%s\";\n", dev);
		snprintf(c->devs[c->ndevs++], sizeof(c->devs[0]), "%s", dev);
	}
	if (f.mtu != 0)
		put(o, "\t\tmtu = %d;    # from line %d\n", f.mtu, f.mtu_line);
	if (f.naddr > 0)
		put_addrs(o, "address", f.addr, f.naddr, true);
	if (f.npeer > 0 && !tap)
		put_addrs(o, "peer-address", f.peer, f.npeer, false);
	if (f.nroute > 0)
		put_addrs(o, "routes", f.route, f.nroute, true);
	if (f.bridge[0] != '\0' && tap)
		put(o, "\t\tbridge = \"%s\";\n", f.bridge);
	if (s[K_KEEPALIVE].line != 0) {
		const char *v = s[K_KEEPALIVE].val, *colon = strchr(v, ':');

		if (colon != NULL && atoi(v) > 0) {
			int iv = atoi(v) > 3600 ? 3600 : atoi(v), mf = atoi(colon + 1);
			long t = (long)iv * (mf > 0 ? mf : 4);

			put(o, "\t\tkeepalive = %d;\n\t\ttimeout = %ld;    # keepalive %s (line %d)\n",
			    iv, t > 86400 ? 86400 : t, v, s[K_KEEPALIVE].line);
		} else if (yesno(v) == 1) {
			put(o, "\t\tkeepalive = 30;\n\t\ttimeout = 120;    # keepalive yes (line %d): "
			    "VTun's 30 s, 4 tries\n", s[K_KEEPALIVE].line);
		} else {
			put(o, "\t\tkeepalive = 0;\n\t\ttimeout = 0;    # keepalive no (line %d)\n",
			    s[K_KEEPALIVE].line);
		}
	}
	if (s[K_PERSIST].line != 0)
		put(o, "\t\t# persist %s (line %d): vtund-ng keeps the device while the session "
		    "reconnects\n", s[K_PERSIST].val, s[K_PERSIST].line);
	if (s[K_MULTI].line != 0)
		put(o, "\t\t# multi %s (line %d): a client that comes back replaces its old "
		    "session\n", s[K_MULTI].val, s[K_MULTI].line);
	if (s[K_TIMEOUT].line != 0)
		put(o, "\t\t# timeout %s (line %d): a connect timeout; handshakes retry on their "
		    "own\n", s[K_TIMEOUT].val, s[K_TIMEOUT].line);
	if (s[K_ENCRYPT].line != 0)
		put(o, "\t\t# encrypt %s (line %d): vtund-ng always encrypts (AES-256-GCM)\n",
		    s[K_ENCRYPT].val, s[K_ENCRYPT].line);
	if (s[K_SPEED].line != 0)
		put_speed(c, o, s[K_SPEED].val, s[K_SPEED].line);
	if (s[K_COMPRESS].line != 0 && yesno(s[K_COMPRESS].val) != 0)
		warn(c, s[K_COMPRESS].line, "compress %s: LZO and zlib do not carry over "
		    "(compress = \"lz4\" on both ends is what vtund-ng has)", s[K_COMPRESS].val);
	if (s[K_NAT_HACK].line != 0)
		warn(c, s[K_NAT_HACK].line, "nat_hack %s: not carried over (a vtund-ng server "
		    "follows a client's address on its own)", s[K_NAT_HACK].val);
	if (s[K_SRCADDR].line != 0)
		warn(c, s[K_SRCADDR].line, "srcaddr: a client's source address does not carry "
		    "over");
	if (s[K_STAT].line != 0)
		put(o, "\t\t# stat %s (line %d): see vtund-ng status\n", s[K_STAT].val,
		    s[K_STAT].line);
	if (nup > 0)
		put(o, "\t\tup = (%s\n\t\t);\n", hu.buf != NULL ? hu.buf : "");
	if (ndown > 0)
		put(o, "\t\tdown = (%s\n\t\t);\n", hd.buf != NULL ? hd.buf : "");
	if (hu.oom || hd.oom)
		o->oom = true;
	free(hu.buf);
	free(hd.buf);
	put(o, "\t};\n");
	return true;
}

/* ---- the whole file -------------------------------------------------------------------------- */

static int
parse(const char *text, size_t len, const char *name, struct stmt *root, char *err,
    size_t errlen)
{
	struct lexer lx = { text, text + len, 1, true, err, errlen, name };

	memset(root, 0, sizeof(*root));
	if (memchr(text, '\0', len) != NULL) {
		snprintf(err, errlen, "%s: a NUL byte: not a text file", name);
		return -1;
	}
	if (parse_block(&lx, root, 0) == -1) {
		stmt_free(root);
		memset(root, 0, sizeof(*root));
		return -1;
	}
	return 0;
}

/* Whether top-level statement s is a session (a block that is neither options nor default). */
static bool
is_session(const struct stmt *s)
{
	return s->block && strcmp(s->key, "options") != 0 && strcmp(s->key, "default") != 0;
}

int
vtun_import_count(const char *text, size_t len)
{
	struct stmt root;
	char err[256];
	int n = 0;

	if (parse(text, len, "-", &root, err, sizeof(err)) == -1)
		return -1;
	for (int i = 0; i < root.nkids; i++)
		n += is_session(&root.kids[i]);
	stmt_free(&root);
	return n;
}

int
vtun_import(const char *text, size_t len, const struct vtun_import_opts *o,
    struct vtun_import *r)
{
	struct ctx c = { .o = o, .r = r };
	struct session def, se;
	struct stmt root;
	struct out out = { 0 };
	char (*names)[64] = NULL;
	int nnames = 0;

	memset(r, 0, sizeof(*r));
	if (parse(text, len, o->name, &root, r->error, sizeof(r->error)) == -1)
		return -1;
	memset(&def, 0, sizeof(def));
	c.op.port = 5000;
	c.op.path[K_PPP] = "/usr/sbin/pppd";
	c.op.path[K_IFCONFIG] = "/sbin/ifconfig";
	c.op.path[K_ROUTE] = "/sbin/route";
	c.op.path[K_FIREWALL] = "/sbin/ipchains";
	c.op.path[K_IP] = "/sbin/ip";
	/* The port and bind address: the first that VTun reads, wherever it is. */
	for (int i = 0; i < root.nkids; i++) {
		const struct stmt *s = &root.kids[i];

		if (strcmp(s->key, "options") == 0 && s->block)
			read_options(&c, s, true);
	}
	names = calloc((size_t)root.nkids + 1, sizeof(*names));
	c.devs = calloc((size_t)root.nkids + 1, sizeof(*c.devs));
	if (names == NULL || c.devs == NULL) {
		free(c.devs);
		snprintf(r->error, sizeof(r->error), "%s: out of memory", o->name);
		stmt_free(&root);
		return -1;
	}
	put(&out, "# vtund-ng configuration converted from %s by vtund-ng import-vtun.\n",
	    o->name);
	put(&out, "# Every session is a peer of the same name (the other side uses it too);\n"
	    "# what did not carry over is listed by import-vtun as warnings with the line.\n");
	if (o->remote == NULL) {
		if (c.op.bind != NULL)
			put(&out, "listen = \"%s%s%s:%d\";    # options port and bindaddr\n",
			    strchr(c.op.bind, ':') ? "[" : "", c.op.bind,
			    strchr(c.op.bind, ':') ? "]" : "", c.op.port);
		else
			put(&out, "listen = \"[::]:%d\";    # options port (VTun's default 5000)\n",
			    c.op.port);
	}
	put(&out, "private-key-file = ");
	put_str(&out, o->private_key_file != NULL && o->private_key_file[0] != '\0' ?
	    o->private_key_file : "/etc/vtund-ng/private.key");
	put(&out, ";\n\npeers = {");
	for (int i = 0; i < root.nkids; i++) {
		const struct stmt *s = &root.kids[i];
		bool dup = false;

		if (strcmp(s->key, "options") == 0 && s->block) {
			read_options(&c, s, false);
			continue;
		}
		if (!s->block) {
			warn(&c, s->line, "'%s' outside any block: ignored", s->key);
			continue;
		}
		if (strcmp(s->key, "default") == 0) {
			read_host(&c, s, &def);
			continue;
		}
		se = def;
		snprintf(se.name, sizeof(se.name), "%s", s->key);
		se.line = s->line;
		read_host(&c, s, &se);
		for (int j = 0; j < i; j++)
			if (is_session(&root.kids[j]) && strcmp(root.kids[j].key, s->key) == 0) {
				warn(&c, s->line, "session %s is defined again (first at line %d): "
				    "skipped, as vtund uses the first", s->key, root.kids[j].line);
				dup = true;
				break;
			}
		if (dup) {
			r->skipped++;
			continue;
		}
		if (se.s[K_PASSWD].line == 0) {
			warn(&c, s->line, "session %s has no password: vtund ignores it, and so "
			    "does the import", s->key);
			r->skipped++;
			continue;
		}
		peer_name(s->key, names[nnames], sizeof(names[0]), names, nnames);
		if (strcmp(names[nnames], s->key) != 0)
			warn(&c, s->line, "session %s is peer %s (vtund-ng names start with a letter "
			    "and have at most %d letters, digits, '_' or '-'): the other side must "
			    "use %s too", s->key, names[nnames], CONFIG_NAME_MAX, names[nnames]);
		if (write_peer(&c, &out, &se, names[nnames], r->sessions)) {
			char **pp = realloc(r->peers, (size_t)(r->sessions + 1) * sizeof(*pp));

			if (pp == NULL || (pp[r->sessions] = strdup(names[nnames])) == NULL) {
				out.oom = true;
				if (pp != NULL)
					r->peers = pp;
				break;
			}
			r->peers = pp;
			nnames++;
			r->sessions++;
		} else {
			r->skipped++;
		}
	}
	put(&out, "%s};\n", r->sessions > 0 ? "\n" : "");
	free(names);
	free(c.devs);
	stmt_free(&root);
	for (int i = 0; i < c.nwarned; i++)
		free(c.warned_text[i]);
	free(c.warned_text);
	free(c.warned_lines);
	if (out.oom) {
		free(out.buf);
		snprintf(r->error, sizeof(r->error), "%s: out of memory", o->name);
		return -1;
	}
	r->out = out.buf;
	return 0;
}

void
vtun_import_free(struct vtun_import *r)
{
	free(r->out);
	for (int i = 0; i < r->sessions; i++)
		free(r->peers[i]);
	free(r->peers);
	for (int i = 0; i < r->nwarnings; i++)
		free(r->warnings[i]);
	free(r->warnings);
	memset(r, 0, sizeof(*r));
}
