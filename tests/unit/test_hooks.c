/* test_hooks.c - %-expansion of hook arguments, and hook_run for real: argv, env, fds, exit
 * status, exec failure, stop-on-error and the time limit. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "hooks.h"
#include "log.h"

static const struct hook_vars vars = {
	.device = "vt0", .peer = "alpha", .role = "server", .type = "tap",
	.local = "10.9.0.1", .remote_addr = "10.9.0.2", .mtu = 1400,
};

/* Expand arg with vars into a 256-byte buffer and compare with want (NULL = must fail). */
static void
expect(const char *arg, const char *want)
{
	char out[256];
	int n = hook_expand_arg(arg, &vars, out, sizeof(out));

	if (want == NULL) {
		assert_int_equal(n, -1);
		return;
	}
	assert_int_equal(n, (int)strlen(want));
	assert_string_equal(out, want);
}

static void
test_expand_each(void **state)
{
	(void)state;
	expect("plain", "plain");
	expect("", "");
	expect("%d", "vt0");
	expect("%p", "alpha");
	expect("%r", "server");
	expect("%a", "10.9.0.1");
	expect("%P", "10.9.0.2");
	expect("%m", "1400");
	expect("%%", "%");
	expect("dev=%d/%p:%r [%a-%P] mtu %m 100%%", "dev=vt0/alpha:server [10.9.0.1-10.9.0.2] "
	    "mtu 1400 100%");
	expect("%%d", "%d");
	expect("%%%d", "%vt0");
}

static void
test_expand_reject(void **state)
{
	(void)state;
	expect("%x", NULL);
	expect("%s", NULL);
	expect("%D", NULL);
	expect("a%", NULL);   /* trailing lone % */
	expect("%", NULL);
	expect("%%%", NULL);
}

static void
test_expand_null_vars(void **state)
{
	struct hook_vars v = { .mtu = 576 };
	char out[32];

	(void)state;
	assert_int_equal(hook_expand_arg("[%d%p%r%a%P]%m", &v, out, sizeof(out)), 5);
	assert_string_equal(out, "[]576");
}

static void
test_expand_overflow(void **state)
{
	char out[8];

	(void)state;
	/* "1234567" + NUL fits exactly in 8; one more byte does not. */
	assert_int_equal(hook_expand_arg("1234567", &vars, out, sizeof(out)), 7);
	assert_string_equal(out, "1234567");
	assert_int_equal(hook_expand_arg("12345678", &vars, out, sizeof(out)), -1);
	/* A substitution that would cross the end. */
	assert_int_equal(hook_expand_arg("12345%d", &vars, out, sizeof(out)), -1);
	assert_int_equal(hook_expand_arg("1234%d", &vars, out, sizeof(out)), 7);
	assert_int_equal(hook_expand_arg("123456%%", &vars, out, sizeof(out)), 7);
	assert_int_equal(hook_expand_arg("1234567%%", &vars, out, sizeof(out)), -1);
	assert_int_equal(hook_expand_arg("", &vars, out, 0), -1);
	assert_int_equal(hook_expand_arg("", &vars, out, 1), 0);
	assert_int_equal(hook_expand_arg("a", &vars, out, 1), -1);
}

/* A scratch directory per test run, removed at the end. */
static char dir[] = "/tmp/vt-test-hooks.XXXXXX";

static int
setup_dir(void **state)
{
	(void)state;
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
teardown_dir(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Put argv (NULL-terminated) into command i of h (a hook without commands gets the test's
 * own array of CONFIG_MAX_HOOKS: one hook at a time). */
static void
set_cmd(struct vt_hook *h, int i, ...)
{
	static struct vt_cmd store[CONFIG_MAX_HOOKS];
	va_list ap;
	char *a;
	int n = 0;

	if (h->cmds == NULL) {
		memset(store, 0, sizeof(store));
		h->cmds = store;
	}
	va_start(ap, i);
	while ((a = va_arg(ap, char *)) != NULL)
		h->cmds[i].argv[n++] = a;
	va_end(ap);
	h->cmds[i].argv[n] = NULL;
	h->cmds[i].argc = n;
	if (i >= h->ncmds)
		h->ncmds = i + 1;
}

/* Read a whole small file into buf; returns its length or -1. */
static int
slurp(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (f == NULL)
		return -1;
	n = fread(buf, 1, cap - 1, f);
	buf[n] = '\0';
	fclose(f);
	return (int)n;
}

static void
test_run_argv(void **state)
{
	struct vt_hook h = { .ncmds = 0 };
	char out[256], buf[512];

	(void)state;
	snprintf(out, sizeof(out), "%s/argv", dir);
	/* The shell is only the test's probe; argv arrives unsplit and expanded. */
	set_cmd(&h, 0, "/bin/sh", "-c", "echo \"$# [$1] [$2] [$3]\" > \"$0\"", out,
	    "%d %p", "a b  c", "%m%%", (char *)NULL);
	assert_int_equal(hook_run(&h, &vars, true), 0);
	assert_true(slurp(out, buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "3 [vt0 alpha] [a b  c] [1400%]\n");
}

static void
test_run_env(void **state)
{
	struct vt_hook h = { .ncmds = 0 };
	char out[256], buf[4096];

	(void)state;
	setenv("VT_TEST_LEAK", "1", 1);
	snprintf(out, sizeof(out), "%s/env", dir);
	set_cmd(&h, 0, "/bin/sh", "-c", "env > \"$0\"", out, (char *)NULL);
	assert_int_equal(hook_run(&h, &vars, true), 0);
	assert_true(slurp(out, buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "PATH=/usr/sbin:/usr/bin:/sbin:/bin\n"));
	assert_non_null(strstr(buf, "VTUND_DEVICE=vt0\n"));
	assert_non_null(strstr(buf, "VTUND_PEER=alpha\n"));
	assert_non_null(strstr(buf, "VTUND_ROLE=server\n"));
	assert_non_null(strstr(buf, "VTUND_TYPE=tap\n"));
	assert_non_null(strstr(buf, "VTUND_MTU=1400\n"));
	assert_non_null(strstr(buf, "VTUND_LOCAL=10.9.0.1\n"));
	assert_non_null(strstr(buf, "VTUND_PEER_ADDRESS=10.9.0.2\n"));
	assert_null(strstr(buf, "VT_TEST_LEAK"));
	assert_null(strstr(buf, "HOME="));
	unsetenv("VT_TEST_LEAK");
}

static void
test_run_closes_fds(void **state)
{
	struct vt_hook h = { .ncmds = 0 };
	char script[128];
	int fd;

	(void)state;
	/* An fd without O_CLOEXEC, as a careless caller might hold: the hook must not see it. */
	fd = open("/dev/null", O_RDONLY);
	assert_true(fd >= 3);
	snprintf(script, sizeof(script), "test ! -e /proc/$$/fd/%d && test -e /proc/$$/fd/2", fd);
	set_cmd(&h, 0, "/bin/sh", "-c", script, (char *)NULL);
	assert_int_equal(hook_run(&h, &vars, true), 0);
	close(fd);
}

static void
test_run_failures(void **state)
{
	struct vt_hook h = { .ncmds = 0 };

	(void)state;
	set_cmd(&h, 0, "/bin/true", (char *)NULL);
	assert_int_equal(hook_run(&h, &vars, true), 0);
	set_cmd(&h, 0, "/bin/false", (char *)NULL);
	assert_int_equal(hook_run(&h, &vars, true), -1);
	set_cmd(&h, 0, "/nonexistent/vt-hook", (char *)NULL);
	assert_int_equal(hook_run(&h, &vars, true), -1);
	set_cmd(&h, 0, "/bin/sh", "-c", "exit 3", (char *)NULL);
	assert_int_equal(hook_run(&h, &vars, true), -1);
	set_cmd(&h, 0, "/bin/sh", "-c", "kill -TERM $$", (char *)NULL);
	assert_int_equal(hook_run(&h, &vars, true), -1);
	/* No PATH search: a bare name is not found. */
	set_cmd(&h, 0, "true", (char *)NULL);
	assert_int_equal(hook_run(&h, &vars, true), -1);
	/* An argument with an unknown escape is refused before anything runs. */
	set_cmd(&h, 0, "/bin/true", "%x", (char *)NULL);
	assert_int_equal(hook_run(&h, &vars, true), -1);
	/* No commands at all is success. */
	h.ncmds = 0;
	assert_int_equal(hook_run(&h, &vars, true), 0);
}

static void
test_run_stop_on_error(void **state)
{
	struct vt_hook h = { .ncmds = 0 };
	char first[256], last[256];
	struct stat st;

	(void)state;
	snprintf(first, sizeof(first), "%s/first", dir);
	snprintf(last, sizeof(last), "%s/last", dir);
	set_cmd(&h, 0, "/usr/bin/touch", first, (char *)NULL);
	set_cmd(&h, 1, "/bin/false", (char *)NULL);
	set_cmd(&h, 2, "/usr/bin/touch", last, (char *)NULL);

	/* up: stop at the failure, the third command never runs. */
	assert_int_equal(hook_run(&h, &vars, true), -1);
	assert_int_equal(stat(first, &st), 0);
	assert_int_equal(stat(last, &st), -1);
	/* down: run everything, still report the failure. */
	assert_int_equal(hook_run(&h, &vars, false), -1);
	assert_int_equal(stat(last, &st), 0);
}

/* True if pid is gone or a zombie (a container's init may be slow to reap). */
static int
dead(pid_t pid)
{
	char path[64], buf[256], *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (slurp(path, buf, sizeof(buf)) < 0)
		return 1;
	p = strrchr(buf, ')');
	return p != NULL && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
}

static void
test_run_timeout(void **state)
{
	struct vt_hook h = { .ncmds = 0 };
	char pidfile[256], buf[32], touched[256];
	struct timespec t0, t1, tick = { 0, 20 * 1000 * 1000 };
	struct stat st;
	long ms;
	pid_t bg;
	int i;

	(void)state;
	snprintf(pidfile, sizeof(pidfile), "%s/bgpid", dir);
	snprintf(touched, sizeof(touched), "%s/after-timeout", dir);
	set_cmd(&h, 0, "/bin/sleep", "100", (char *)NULL);
	set_cmd(&h, 1, "/usr/bin/touch", touched, (char *)NULL);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(hook_run_timeout(&h, &vars, true, 300), -1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	assert_true(ms >= 300);
	assert_true(ms < 5000);
	assert_int_equal(stat(touched, &st), -1);

	/* A hook that leaves a background child: the whole process group is killed. */
	h.ncmds = 0;
	set_cmd(&h, 0, "/bin/sh", "-c", "/bin/sleep 100 & echo $! > \"$0\"; wait", pidfile,
	    (char *)NULL);
	assert_int_equal(hook_run_timeout(&h, &vars, true, 300), -1);
	assert_true(slurp(pidfile, buf, sizeof(buf)) > 0);
	bg = (pid_t)strtol(buf, NULL, 10);
	assert_true(bg > 0);
	for (i = 0; i < 100 && !dead(bg); i++)
		nanosleep(&tick, NULL);
	assert_true(dead(bg));

	/* A quick command well inside the limit is unaffected. */
	h.ncmds = 0;
	set_cmd(&h, 0, "/bin/true", (char *)NULL);
	assert_int_equal(hook_run_timeout(&h, &vars, true, 300), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_expand_each),
		cmocka_unit_test(test_expand_reject),
		cmocka_unit_test(test_expand_null_vars),
		cmocka_unit_test(test_expand_overflow),
		cmocka_unit_test(test_run_argv),
		cmocka_unit_test(test_run_env),
		cmocka_unit_test(test_run_closes_fds),
		cmocka_unit_test(test_run_failures),
		cmocka_unit_test(test_run_stop_on_error),
		cmocka_unit_test(test_run_timeout),
	};

	log_init(true, LOG_LVL_WARN);
	return cmocka_run_group_tests_name("hooks", tests, setup_dir, teardown_dir);
}
