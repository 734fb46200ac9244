/* daemon.c - detaching, pid file, sd_notify by hand, and the privilege-separated process pair. */
#include "config-auto.h"

#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <stddef.h>
#include <unistd.h>

#include "log.h"
#include "priv.h"

#ifdef VT_COVERAGE
/* libgcov: write the counts now; gcov writes them at exit(), and _exit() skips that. */
void __gcov_dump(void);
#endif

/* End a forked child with _exit() (not the parent's atexit handlers and stdio buffers); a
 * coverage build writes the child's gcov counts first. */
static void
child_exit(int status)
{
#ifdef VT_COVERAGE
	__gcov_dump();
#endif
	_exit(status);
}

void
daemon_detach(void)
{
	pid_t pid;
	int fd;

	pid = fork();
	if (pid == -1)
		fatal("fork");
	if (pid > 0)
		_exit(0);
	if (setsid() == -1)
		fatal("setsid");
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd != -1) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
}

/* Create the directory that holds path if it is missing (one level, like /run/vtund-ng). */
static void
make_parent_dir(const char *path)
{
	char dir[4096];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir)
		return;
	*slash = '\0';
	if (mkdir(dir, 0755) == -1 && errno != EEXIST)
		log_warn("mkdir %s", dir);
}

int
daemon_pidfile_write(const char *path)
{
	FILE *f;

	make_parent_dir(path);
	f = fopen(path, "we");
	if (f == NULL) {
		log_warn("pid file %s", path);
		return -1;
	}
	fprintf(f, "%ld\n", (long)getpid());
	if (fclose(f) == EOF) {
		log_warn("pid file %s", path);
		return -1;
	}
	return 0;
}

void
daemon_notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun;
	socklen_t len;
	int fd;

	if (path == NULL || (path[0] != '/' && path[0] != '@') ||
	    strlen(path) >= sizeof(sun.sun_path))
		return;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path));
	if (path[0] == '@')
		sun.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return;
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sun, len) == -1)
		log_warn("notify %s", path);
	close(fd);
}

int
daemon_tell_parent(int chan, enum priv_msg_type type, uint32_t arg)
{
	struct priv_msg m = { .type = type, .arg = arg };

	return write(chan, &m, sizeof(m)) == (ssize_t)sizeof(m) ? 0 : -1;
}

int
daemon_privsep(const char *user, const char *group, int (*child_main)(void *arg, int chan),
    void *arg)
{
	struct pollfd pfd[2];
	struct signalfd_siginfo si;
	struct priv_msg m;
	sigset_t set, old;
	char err[256];
	int sv[2], sfd, status, rc = 1;
	bool child_done = false;
	pid_t pid;
	ssize_t n;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1)
		fatal("socketpair");
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, &old);

	pid = fork();
	if (pid == -1)
		fatal("fork");
	if (pid == 0) {
		close(sv[0]);
		sigprocmask(SIG_SETMASK, &old, NULL);
		if (priv_drop(user, group, false, err, sizeof(err)) == -1)
			fatalx("%s", err);
		log_info("engine running as user %s without capabilities", user);
		child_exit(child_main(arg, sv[1]));
	}
	close(sv[1]);
	sfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (sfd == -1)
		fatal("signalfd");
	pfd[0].fd = sfd;
	pfd[0].events = POLLIN;
	pfd[1].fd = sv[0];
	pfd[1].events = POLLIN;
	while (!child_done) {
		if (poll(pfd, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			fatal("poll");
		}
		if (pfd[1].revents & POLLIN) {
			/* MSG_TRUNC: the real length of a longer message, not just what fits. */
			n = recv(sv[0], &m, sizeof(m), MSG_TRUNC);
			if (n == (ssize_t)sizeof(m) && m.type == PRIV_MSG_READY && m.arg == 0) {
				daemon_notify("READY=1");
			} else if (n > 0) {
				/* The engine parses network input: never trust what it says. */
				log_warnx("privileged parent: malformed request from the engine "
				    "(%zd bytes): stopping it", n);
				kill(pid, SIGKILL);
			}
		}
		if (pfd[1].revents & (POLLHUP | POLLERR))
			pfd[1].fd = -1;
		if (pfd[0].revents & POLLIN) {
			if (read(sfd, &si, sizeof(si)) != (ssize_t)sizeof(si))
				continue;
			if (si.ssi_signo == SIGCHLD) {
				if (waitpid(pid, &status, WNOHANG) == pid)
					child_done = true;
			} else {
				if (si.ssi_signo != SIGHUP)
					daemon_notify("STOPPING=1");
				kill(pid, (int)si.ssi_signo);
			}
		}
	}
	if (WIFEXITED(status))
		rc = WEXITSTATUS(status);
	else if (WIFSIGNALED(status))
		log_warnx("engine killed by signal %d", WTERMSIG(status));
	close(sfd);
	close(sv[0]);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return rc;
}
