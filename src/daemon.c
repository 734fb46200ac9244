/* daemon.c - detaching, pid file, sd_notify by hand, closing inherited descriptors. */
#include "daemon.h"

#include <dirent.h>
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
#include <time.h>
#include <stddef.h>
#include <unistd.h>

#include "log.h"

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

void
daemon_notify_reloading(void)
{
	struct timespec ts;
	char s[64];

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(s, sizeof(s), "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000 + (unsigned long long)ts.tv_nsec / 1000);
	daemon_notify(s);
}

void
daemon_close_fds_except(const int *keep, int n)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int fd, dfd;

	if (d == NULL)
		fatal("opendir /proc/self/fd");
	dfd = dirfd(d);
	while ((de = readdir(d)) != NULL) {
		bool kept = false;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		fd = atoi(de->d_name);
		if (fd <= STDERR_FILENO || fd == dfd)
			continue;
		for (int i = 0; i < n; i++)
			kept |= keep[i] == fd;
		if (!kept)
			close(fd);
	}
	closedir(d);
}
