/*
 * hooks.c - up/down hook commands: expand %-escapes, fork, exec without a shell in a clean
 * environment, wait with a time limit. Runs in the privileged parent at start-up and shutdown.
 */
#define _GNU_SOURCE
#include "hooks.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define HOOK_PATH "PATH=/usr/sbin:/usr/bin:/sbin:/bin"
#define HOOK_NENV 9
#define HOOK_ENV_MAX 128

int
hook_expand_arg(const char *arg, const struct hook_vars *v, char *out, size_t cap)
{
	char num[16];
	const char *s;
	size_t n = 0, len;

	if (cap == 0)
		return -1;
	for (; *arg != '\0'; arg++) {
		if (*arg != '%') {
			if (n + 1 >= cap)
				return -1;
			out[n++] = *arg;
			continue;
		}
		switch (*++arg) {
		case 'd': s = v->device; break;
		case 'p': s = v->peer; break;
		case 'r': s = v->role; break;
		case 'a': s = v->local; break;
		case 'P': s = v->remote_addr; break;
		case 'e': s = v->endpoint; break;
		case 'm':
			snprintf(num, sizeof(num), "%d", v->mtu);
			s = num;
			break;
		case '%': s = "%"; break;
		default: /* unknown escape, or a lone '%' at the end (*arg == '\0') */
			return -1;
		}
		if (s == NULL)
			s = "";
		len = strlen(s);
		if (n + len >= cap)
			return -1;
		memcpy(out + n, s, len);
		n += len;
	}
	out[n] = '\0';
	return (int)n;
}

/* Fill env with the hook environment (NULL-terminated); -1 if a value is absurdly long. */
static int
build_env(const struct hook_vars *v, char buf[HOOK_NENV][HOOK_ENV_MAX], char **env)
{
	const struct {
		const char *name, *value;
	} vars[] = {
		{ "VTUND_DEVICE", v->device }, { "VTUND_PEER", v->peer },
		{ "VTUND_ROLE", v->role }, { "VTUND_TYPE", v->type },
		{ "VTUND_LOCAL", v->local }, { "VTUND_PEER_ADDRESS", v->remote_addr },
		{ "VTUND_ENDPOINT", v->endpoint },
	};
	size_t i, n = 0;
	int len;

	env[n++] = (char *)HOOK_PATH;
	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++, n++) {
		len = snprintf(buf[i], HOOK_ENV_MAX, "%s=%s", vars[i].name,
		    vars[i].value != NULL ? vars[i].value : "");
		if (len < 0 || len >= HOOK_ENV_MAX)
			return -1;
		env[n] = buf[i];
	}
	snprintf(buf[i], HOOK_ENV_MAX, "VTUND_MTU=%d", v->mtu);
	env[n++] = buf[i];
	env[n] = NULL;
	return 0;
}

/* In the child: mark every fd >= 3 close-on-exec, so only stdio survives the exec. */
static void
cloexec_from_3(void)
{
	long max, fd;

#if defined(SYS_close_range) && defined(CLOSE_RANGE_CLOEXEC)
	if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
		return;
#endif
	if ((max = sysconf(_SC_OPEN_MAX)) < 0 || max > 65536)
		max = 65536;
	for (fd = 3; fd < max; fd++)
		(void)fcntl((int)fd, F_SETFD, FD_CLOEXEC);
}

/* In the child: default dispositions and an empty mask, whatever the daemon had set. */
static void
reset_signals(void)
{
	sigset_t all;
	int sig;

	for (sig = 1; sig < NSIG; sig++)
		(void)signal(sig, SIG_DFL);
	sigemptyset(&all);
	(void)sigprocmask(SIG_SETMASK, &all, NULL);
}

/* Milliseconds on the monotonic clock. */
static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait up to timeout_ms for pid to exit; 1 if it did (status filled), 0 if not, -1 on error. */
static int
wait_deadline(pid_t pid, int timeout_ms, int *status)
{
	/* One more: now_ms() truncates, and a hook must get at least its whole timeout. */
	long long deadline = now_ms() + timeout_ms + 1, left;
	struct pollfd pfd = { .fd = -1, .events = POLLIN };
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	pid_t r;

#ifdef SYS_pidfd_open
	pfd.fd = (int)syscall(SYS_pidfd_open, pid, 0);
#endif
	for (;;) {
		r = waitpid(pid, status, WNOHANG);
		if (r == pid || (r == -1 && errno != EINTR))
			break;
		if ((left = deadline - now_ms()) <= 0) {
			r = 0;
			break;
		}
		/* pidfd: sleep until the exit; without one (old kernel), poll every 10 ms. */
		if (pfd.fd != -1)
			(void)poll(&pfd, 1, (int)left);
		else
			(void)nanosleep(&tick, NULL);
	}
	if (pfd.fd != -1)
		close(pfd.fd);
	return r == pid ? 1 : r == -1 ? -1 : 0;
}

/* Run one command; 0 if it exited with status 0. */
static int
run_cmd(const struct vt_cmd *c, const struct hook_vars *v, int timeout_ms)
{
	char args[CONFIG_MAX_ARGS][HOOK_ARG_MAX];
	char envbuf[HOOK_NENV][HOOK_ENV_MAX];
	char *argv[CONFIG_MAX_ARGS + 1], *env[HOOK_NENV + 1];
	int i, pipefd[2], child_errno, status, r;
	ssize_t n;
	pid_t pid;

	if (c->argc < 1 || c->argc > CONFIG_MAX_ARGS || c->argv[0] == NULL) {
		log_warnx("hook: empty command");
		return -1;
	}
	for (i = 0; i < c->argc; i++) {
		if (hook_expand_arg(c->argv[i], v, args[i], sizeof(args[i])) == -1) {
			log_warnx("hook %s: argument %d \"%s\": unknown %%-escape or too long",
			    c->argv[0], i, c->argv[i]);
			return -1;
		}
		argv[i] = args[i];
	}
	argv[i] = NULL;
	if (build_env(v, envbuf, env) == -1) {
		log_warnx("hook %s: environment value too long", argv[0]);
		return -1;
	}
	/* The child reports a failed exec through this pipe; EOF means the exec worked. */
	if (pipe2(pipefd, O_CLOEXEC) == -1) {
		log_warn("hook %s: pipe", argv[0]);
		return -1;
	}
	if ((pid = fork()) == -1) {
		log_warn("hook %s: fork", argv[0]);
		close(pipefd[0]);
		close(pipefd[1]);
		return -1;
	}
	if (pid == 0) {
		close(pipefd[0]);
		/* Own process group: the time limit kills whatever the hook started, too. */
		(void)setpgid(0, 0);
		reset_signals();
		cloexec_from_3();
		execve(argv[0], argv, env);
		child_errno = errno;
		(void)!write(pipefd[1], &child_errno, sizeof(child_errno));
		_exit(127);
	}
	close(pipefd[1]);
	(void)setpgid(pid, pid);
	do
		n = read(pipefd[0], &child_errno, sizeof(child_errno));
	while (n == -1 && errno == EINTR);
	close(pipefd[0]);
	if (n == (ssize_t)sizeof(child_errno)) {
		log_warnx("hook %s: %s", argv[0], strerror(child_errno));
		(void)waitpid(pid, &status, 0);
		return -1;
	}

	if ((r = wait_deadline(pid, timeout_ms, &status)) == 0) {
		log_warnx("hook %s: still running after %d ms, killed", argv[0], timeout_ms);
		(void)kill(-pid, SIGKILL);
		(void)kill(pid, SIGKILL);
		(void)waitpid(pid, &status, 0);
		return -1;
	}
	if (r == -1) {
		log_warn("hook %s: waitpid", argv[0]);
		return -1;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status))
		log_warnx("hook %s: exited with status %d", argv[0], WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		log_warnx("hook %s: killed by signal %d (%s)", argv[0], WTERMSIG(status),
		    strsignal(WTERMSIG(status)));
	else
		log_warnx("hook %s: ended with wait status %#x", argv[0], (unsigned)status);
	return -1;
}

int
hook_run_timeout(const struct vt_hook *h, const struct hook_vars *v, bool stop_on_error,
    int timeout_ms)
{
	int i, ret = 0;

	for (i = 0; i < h->ncmds && i < CONFIG_MAX_HOOKS; i++) {
		if (run_cmd(&h->cmds[i], v, timeout_ms) == -1) {
			ret = -1;
			if (stop_on_error)
				break;
		}
	}
	return ret;
}

int
hook_run(const struct vt_hook *h, const struct hook_vars *v, bool stop_on_error)
{
	return hook_run_timeout(h, v, stop_on_error, HOOK_TIMEOUT_MS);
}
