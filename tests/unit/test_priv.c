/*
 * test_priv.c - the privilege drop for real, each case in a forked child (needs root; skipped
 * without). A child that starts as root with supplementary groups 0 and 6 and inheritable and
 * ambient CAP_NET_ADMIN and CAP_NET_RAW must end, after priv_drop, as /proc/self/status shows
 * nobody and nothing more, unable to setgroups() or setuid(0). priv_verify_drop must refuse each
 * kind of half-done drop and name what is left.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "priv.h"

/* libgcov's: writes the counts of a coverage build (absent, so NULL, in any other build). */
void __gcov_dump(void) __attribute__((weak));

static uid_t nobody_uid;
static gid_t nobody_gid;

/* What a child found: one line per unexpected thing, and their count. */
struct report {
	char s[4096];
	int fails;
};

static void __attribute__((format(printf, 2, 3)))
note(struct report *r, const char *fmt, ...)
{
	size_t used = strlen(r->s);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->s + used, sizeof(r->s) - used, fmt, ap);
	va_end(ap);
	used = strlen(r->s);
	snprintf(r->s + used, sizeof(r->s) - used, "\n");
	r->fails++;
}

/* Every test forks and changes credentials: root only, and no_new_privs must start unset. */
static void
need_root(void)
{
	if (geteuid() != 0) {
		print_message("needs root: skipped\n");
		skip();
	}
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1) {
		print_message("no_new_privs is already set here: cannot show that it gets set\n");
		skip();
	}
}

/*
 * Run fn(r, arg) in a forked child. Returns its exit status (fn's return value; -1 if it did
 * not exit) with what it put in its report in out.
 */
static int
in_child(int (*fn)(struct report *r, const void *arg), const void *arg, char *out,
    size_t outlen)
{
	struct report r;
	int p[2], status, rc;
	size_t n = 0;
	ssize_t k;
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		close(p[0]);
		memset(&r, 0, sizeof(r));
		rc = fn(&r, arg);
		if (write(p[1], r.s, strlen(r.s)) == -1)
			rc = 3;
		/* Not exit(): LeakSanitizer cannot stop a half-dropped process to check it. So
		 * write the counts of a coverage build here, or they are lost. */
		if (__gcov_dump != NULL)
			__gcov_dump();
		_exit(rc);
	}
	close(p[1]);
	while (n + 1 < outlen && (k = read(p[0], out + n, outlen - 1 - n)) > 0)
		n += (size_t)k;
	out[n] = '\0';
	close(p[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (out[0] != '\0')
		print_message("%s", out);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The value of "name:" in /proc/self/status, trailing blanks cut; "" if there is none. */
static void
status_field(const char *name, char *val, size_t len)
{
	char line[512];
	size_t nlen = strlen(name), n;
	FILE *f;

	val[0] = '\0';
	if ((f = fopen("/proc/self/status", "r")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, name, nlen) != 0 || line[nlen] != ':')
			continue;
		snprintf(val, len, "%s", line + nlen + 1 + strspn(line + nlen + 1, " \t"));
		for (n = strlen(val); n > 0 && strchr(" \t\n", val[n - 1]) != NULL; n--)
			val[n - 1] = '\0';
		break;
	}
	fclose(f);
}

static void
expect_field(struct report *r, const char *name, const char *want)
{
	char val[256];

	status_field(name, val, sizeof(val));
	if (strcmp(val, want) != 0)
		note(r, "%s: \"%s\", want \"%s\"", name, val, want);
}

static const int extra_caps[] = { CAP_NET_ADMIN, CAP_NET_RAW };
#define EXTRA_CAPS_HEX "0000000000003000"
#define NO_CAPS_HEX "0000000000000000"

/*
 * Make this (root) child what a careless invoker hands over: supplementary groups 0 and 6, and
 * CAP_NET_ADMIN and CAP_NET_RAW inheritable and ambient (so they would survive an exec);
 * securebits that keep capabilities across setuid() if asked. Returns 0, or 2 with a note if
 * that did not work.
 */
static int
start_privileged(struct report *r, bool securebits)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	gid_t groups[2] = { 0, 6 };
	char val[256];

	if (setgroups(2, groups) == -1 || syscall(SYS_capget, &hdr, d) == -1) {
		note(r, "set-up: setgroups or capget: %s", strerror(errno));
		return 2;
	}
	for (size_t i = 0; i < sizeof(extra_caps) / sizeof(extra_caps[0]); i++)
		d[CAP_TO_INDEX(extra_caps[i])].inheritable |= CAP_TO_MASK(extra_caps[i]);
	if (syscall(SYS_capset, &hdr, d) == -1) {
		note(r, "set-up: capset: %s", strerror(errno));
		return 2;
	}
	for (size_t i = 0; i < sizeof(extra_caps) / sizeof(extra_caps[0]); i++) {
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, extra_caps[i], 0, 0) == -1) {
			note(r, "set-up: raise ambient %d: %s", extra_caps[i], strerror(errno));
			return 2;
		}
	}
	if (securebits && prctl(PR_SET_SECUREBITS, SECBIT_KEEP_CAPS | SECBIT_NO_SETUID_FIXUP,
	    0, 0, 0) == -1) {
		note(r, "set-up: securebits: %s", strerror(errno));
		return 2;
	}
	/* The premise, as the kernel reports it. */
	expect_field(r, "Groups", "0 6");
	expect_field(r, "CapInh", EXTRA_CAPS_HEX);
	expect_field(r, "CapAmb", EXTRA_CAPS_HEX);
	expect_field(r, "NoNewPrivs", "0");
	status_field("CapBnd", val, sizeof(val));
	if (strcmp(val, NO_CAPS_HEX) == 0)
		note(r, "set-up: CapBnd is already empty");
	return r->fails == 0 ? 0 : 2;
}

/* Note everything /proc/self/status shows beyond uid and gid alone, and a way back. */
static void
expect_dropped(struct report *r, uid_t uid, gid_t gid)
{
	static const char *const sets[] = { "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb" };
	char want[128];

	snprintf(want, sizeof(want), "%u\t%u\t%u\t%u", (unsigned)uid, (unsigned)uid,
	    (unsigned)uid, (unsigned)uid);
	expect_field(r, "Uid", want);
	snprintf(want, sizeof(want), "%u\t%u\t%u\t%u", (unsigned)gid, (unsigned)gid,
	    (unsigned)gid, (unsigned)gid);
	expect_field(r, "Gid", want);
	snprintf(want, sizeof(want), "%u", (unsigned)gid);
	expect_field(r, "Groups", want);
	for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++)
		expect_field(r, sets[i], NO_CAPS_HEX);
	expect_field(r, "NoNewPrivs", "1");
	if (setgroups(1, &gid) != -1 || errno != EPERM)
		note(r, "setgroups() did not fail with EPERM");
	if (setuid(0) != -1 || errno != EPERM)
		note(r, "setuid(0) did not fail with EPERM");
}

struct drop_case {
	const char *group; /* priv_drop's group argument */
	bool securebits;   /* start with SECBIT_KEEP_CAPS | SECBIT_NO_SETUID_FIXUP */
};

static int
drop_child(struct report *r, const void *arg)
{
	const struct drop_case *c = arg;
	struct group *gr;
	gid_t gid = nobody_gid;
	char err[512];
	int rc;

	if ((rc = start_privileged(r, c->securebits)) != 0)
		return rc;
	if (c->group != NULL) {
		if ((gr = getgrnam(c->group)) == NULL) {
			note(r, "set-up: no group %s", c->group);
			return 2;
		}
		gid = gr->gr_gid;
	}
	if (priv_drop("nobody", c->group, err, sizeof(err)) == -1)
		note(r, "priv_drop refused: %s", err);
	expect_dropped(r, nobody_uid, gid);
	return r->fails == 0 ? 0 : 1;
}

/* priv_drop from root with groups, inheritable and ambient capabilities leaves nothing. */
static void
test_drop(void **state)
{
	char out[4096];

	need_root();
	assert_int_equal(in_child(drop_child, *state, out, sizeof(out)), 0);
}

/* Users that cannot be dropped to are refused before anything changes. */
static void
test_drop_refuses_user(void **state)
{
	char err[256];

	(void)state;
	assert_int_equal(priv_drop("root", NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "uid 0"));
	assert_int_equal(priv_drop("vt-no-such-user", NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no such user"));
	assert_int_equal(priv_drop("nobody", "vt-no-such-group", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no such group"));
}

/* A half-done drop: every step of priv_drop by hand, but one. */
enum skip {
	SKIP_NOTHING,
	SKIP_GROUPS,      /* setgroups() */
	SKIP_GID,         /* setresgid() */
	SKIP_SAVED_UID,   /* the saved uid stays 0 */
	SKIP_INHERITABLE, /* capset() */
	SKIP_BOUNDING,    /* PR_CAPBSET_DROP */
	SKIP_AMBIENT,     /* the ambient clear; see half_child */
	SKIP_NNP,         /* PR_SET_NO_NEW_PRIVS */
};

struct half {
	enum skip skip;
	const char *named[2]; /* priv_verify_drop's message names these */
	int items;            /* and this many things in all */
};

static const struct half halves[] = {
	{ SKIP_NOTHING, { NULL, NULL }, 0 },
	{ SKIP_GROUPS, { "2 supplementary groups (0 6), want", NULL }, 1 },
	{ SKIP_GID, { "gids (real, effective, saved) 0 0 0, want", NULL }, 1 },
	{ SKIP_SAVED_UID, { "uids (real, effective, saved)", "setuid(0) succeeds" }, 2 },
	{ SKIP_INHERITABLE, { "inheritable set 0x3000 (2 capabilities)", NULL }, 1 },
	{ SKIP_BOUNDING, { "bounding set 0x", NULL }, 1 },
	/* and inheritable, permitted, effective, setgroups() succeeds, setuid(0) succeeds */
	{ SKIP_AMBIENT, { "ambient set 0x3000 (2 capabilities)", NULL }, 6 },
	{ SKIP_NNP, { "no_new_privs not set", NULL }, 1 },
};

static int
cap_last(void)
{
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "r");
	int last = -1;

	if (f != NULL) {
		if (fscanf(f, "%d", &last) != 1)
			last = -1;
		fclose(f);
	}
	return last;
}

/* Do priv_drop's steps by hand, but skip; then priv_verify_drop writes its message to r. */
static int
half_child(struct report *r, const void *arg)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	const struct half *h = arg;
	uid_t uid = nobody_uid;
	gid_t gid = nobody_gid;
	char err[1024];
	int rc, last = cap_last();

	/*
	 * The kernel keeps ambient capabilities within permitted and inheritable, and setuid()
	 * away from root empties permitted: ambient ones can only be left where securebits kept
	 * permitted and the capset was skipped as well.
	 */
	if ((rc = start_privileged(r, h->skip == SKIP_AMBIENT)) != 0)
		return rc;
	memset(d, 0, sizeof(d));
	for (int c = 0; h->skip != SKIP_BOUNDING && c <= last; c++)
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) == -1)
			note(r, "set-up: PR_CAPBSET_DROP %d: %s", c, strerror(errno));
	if ((h->skip != SKIP_GROUPS && setgroups(1, &gid) == -1) ||
	    (h->skip != SKIP_GID && setresgid(gid, gid, gid) == -1) ||
	    setresuid(uid, uid, h->skip == SKIP_SAVED_UID ? 0 : uid) == -1 ||
	    (h->skip != SKIP_INHERITABLE && h->skip != SKIP_AMBIENT &&
	    syscall(SYS_capset, &hdr, d) == -1) ||
	    (h->skip != SKIP_AMBIENT &&
	    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) == -1) ||
	    (h->skip != SKIP_NNP && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1))
		note(r, "set-up: a drop step failed: %s", strerror(errno));
	if (r->fails > 0)
		return 2;
	rc = priv_verify_drop(uid, gid, err, sizeof(err));
	if (rc == -1)
		snprintf(r->s, sizeof(r->s), "%s\n", err);
	return rc == 0 ? 0 : 1;
}

/* priv_verify_drop accepts a complete drop and refuses each half-done one by name. */
static void
test_verify_half(void **state)
{
	const struct half *h = *state;
	char out[4096];
	int items = 0;

	need_root();
	if (h->skip == SKIP_NOTHING) {
		assert_int_equal(in_child(half_child, h, out, sizeof(out)), 0);
		assert_string_equal(out, "");
		return;
	}
	assert_int_equal(in_child(half_child, h, out, sizeof(out)), 1);
	assert_non_null(strstr(out, "drop privileges incomplete: "));
	for (int i = 0; i < 2 && h->named[i] != NULL; i++)
		assert_non_null(strstr(out, h->named[i]));
	for (const char *p = out; (p = strchr(p, ';')) != NULL; p++)
		items++;
	assert_int_equal(items + 1, h->items);
}

#define HALF(name, i) { "verify refuses: " name, test_verify_half, NULL, NULL, \
	(void *)&halves[i] }

int
main(void)
{
	static const struct drop_case plain = { NULL, false }, keepcaps = { NULL, true },
	    group = { "daemon", false };
	const struct CMUnitTest tests[] = {
		{ "drop from root with groups, inheritable and ambient caps", test_drop, NULL, NULL,
		    (void *)&plain },
		{ "drop with securebits that keep caps across setuid", test_drop, NULL, NULL,
		    (void *)&keepcaps },
		{ "drop to a named group", test_drop, NULL, NULL, (void *)&group },
		{ "drop refuses root, unknown users and groups", test_drop_refuses_user, NULL, NULL,
		    NULL },
		HALF("a complete drop passes", 0),
		HALF("supplementary groups left", 1),
		HALF("gid left", 2),
		HALF("saved uid 0 left", 3),
		HALF("inheritable capabilities left", 4),
		HALF("bounding set left", 5),
		HALF("ambient capabilities left", 6),
		HALF("no_new_privs unset", 7),
	};
	struct passwd *pw = getpwnam("nobody");

	log_init(true, LOG_LVL_WARN);
	if (pw == NULL) {
		fprintf(stderr, "test_priv: no user nobody\n");
		return 1;
	}
	nobody_uid = pw->pw_uid;
	nobody_gid = pw->pw_gid;
	return cmocka_run_group_tests_name("priv", tests, NULL, NULL);
}
