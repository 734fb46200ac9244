/* ut.c - helpers shared by the unit suites of the engine's modules (ut.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ut.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

void
ut_peer_cfg(struct vt_peer *p, const char *name, const uint8_t pub[32], enum vt_proto proto,
    const uint8_t psk[32])
{
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", name);
	snprintf(p->device, sizeof(p->device), "vt-%s", name);
	p->type = VT_TUN;
	p->proto = proto;
	p->mtu = 1400;
	p->keepalive = 0;
	p->timeout = 0;
	p->rekey_interval = 120;
	p->cipher = VT_AES256GCM;
	p->compress = VT_COMPRESS_NONE;
	p->compress_accel = 1;
	memcpy(p->public_key, pub, 32);
	if (psk != NULL) {
		memcpy(p->psk, psk, 32);
		p->has_psk = true;
	}
}

struct sockaddr_in
ut_addr(const char *ip, uint16_t port)
{
	struct sockaddr_in a;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(port);
	assert_int_equal(inet_pton(AF_INET, ip, &a.sin_addr), 1);
	return a;
}

/* Where fd is bound. */
static void
bound_addr(int fd, struct sockaddr_in *addr)
{
	socklen_t len = sizeof(*addr);

	assert_int_equal(getsockname(fd, (struct sockaddr *)addr, &len), 0);
	assert_int_equal(len, sizeof(*addr));
}

int
ut_tcp_listener(struct sockaddr_in *addr)
{
	struct sockaddr_in a = ut_addr("127.0.0.1", 0);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, UT_SA(a), sizeof(a)), 0);
	assert_int_equal(listen(fd, 128), 0);
	bound_addr(fd, addr);
	return fd;
}

int
ut_tcp_connect_from(const char *src_ip, const struct sockaddr_in *dst)
{
	struct sockaddr_in src = ut_addr(src_ip, 0);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), fl, on = 1;

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, UT_SA(src), sizeof(src)), 0);
	assert_int_equal(connect(fd, (const struct sockaddr *)dst, sizeof(*dst)), 0);
	/* Each message leaves at once, as the daemon's own connections send (no Nagle wait). */
	assert_int_equal(setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)), 0);
	fl = fcntl(fd, F_GETFL);
	assert_int_equal(fcntl(fd, F_SETFL, fl | O_NONBLOCK), 0);
	return fd;
}

int
ut_udp_socket(const char *ip, struct sockaddr_in *addr)
{
	struct sockaddr_in a = ut_addr(ip, 0);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, UT_SA(a), sizeof(a)), 0);
	bound_addr(fd, addr);
	return fd;
}

bool
ut_readable(int fd, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	return poll(&pfd, 1, ms) == 1 && (pfd.revents & (POLLIN | POLLHUP | POLLERR));
}

int
ut_pending_bytes(int fd)
{
	int n = 0;

	assert_int_equal(ioctl(fd, FIONREAD, &n), 0);
	return n;
}

void
ut_fake_tun(int fds[2])
{
	int size = 8 * 1024 * 1024;

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds), 0);
	assert_int_equal(fcntl(fds[0], F_SETFL, O_NONBLOCK), 0);
	assert_int_equal(fcntl(fds[1], F_SETFL, O_NONBLOCK), 0);
	for (int i = 0; i < 2; i++) {
		/* The FORCE variants need CAP_NET_ADMIN; without it the kernel caps the size. */
		if (setsockopt(fds[i], SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) == -1)
			setsockopt(fds[i], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
		if (setsockopt(fds[i], SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) == -1)
			setsockopt(fds[i], SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	}
}

int
ut_open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory's own descriptor */
}
