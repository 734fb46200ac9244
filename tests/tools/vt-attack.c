/*
 * vt-attack.c - what a compromised engine or a replaying attacker would do, for the namespace
 * tests of the engine's defences:
 *
 *   vt-attack initiate HOST PORT --server-pub B64 --key B64:NAME [--key B64:NAME]...
 *             [--tcp] [--bind ADDR] [--delay MS] [--wait MS]
 *       Valid handshake initiations, one per --key (a client's private key and its link name),
 *       all from one UDP socket or all on one TCP connection, in order, after --delay ms
 *       (the connection is open meanwhile: a slow client). Waits --wait ms (default 1000) for
 *       replies. Prints "initiate: sent N, R responses, C cookie replies, connection open|closed".
 *       Initiations recorded before a server restart are exactly this: valid, with no key
 *       known to whoever replays them.
 *   vt-attack tun-persist PID [--owner UID]
 *       Take process PID's TUN/TAP descriptors (pidfd_getfd) and set the device persistent and
 *       owned by UID (default 65534), as a compromised engine could on its own fds without any
 *       capability. Prints "tun-persist: N devices".
 *
 * Exits 0, 1 on error, 2 on bad usage. Sends only to the address it is given.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "src/config.h" /* tools get -I$(srcdir), not -I src */
#include "src/config_parse.h"
#include "src/crypto.h"
#include "src/session.h"
#include "src/transport.h"
#include "src/wire.h"

#define MAX_KEYS 16

static void
usage(void)
{
	fprintf(stderr,
	    "usage: vt-attack initiate HOST PORT --server-pub B64 --key B64:NAME [--key ...]\n"
	    "                 [--tcp] [--bind ADDR] [--delay MS] [--wait MS]\n"
	    "       vt-attack tun-persist PID [--owner UID]\n");
	exit(2);
}

static long
number(const char *s, long lo, long hi)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < lo || v > hi)
		usage();
	return v;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* One client identity: its key, its link, its session. */
struct client {
	struct vt_peer peer;
	struct session_local local;
	struct session s;
};

static int
cmd_initiate(int argc, char **argv)
{
	static struct client cl[MAX_KEYS];
	struct sockaddr_storage dst, src;
	socklen_t dstlen, srclen;
	const char *bind_addr = NULL, *server_pub = NULL;
	long delay = 0, wait = 1000;
	int nkeys = 0, fd, responses = 0, cookies = 0, sent = 0;
	bool tcp = false, closed = false;
	uint8_t priv[32], rx[4096];
	size_t have = 0;
	char err[256];
	struct buf out;

	if (argc < 3)
		usage();
	for (int i = 3; i < argc; i++) {
		if (strcmp(argv[i], "--tcp") == 0) {
			tcp = true;
		} else if (i + 1 >= argc) {
			usage();
		} else if (strcmp(argv[i], "--server-pub") == 0) {
			server_pub = argv[++i];
		} else if (strcmp(argv[i], "--bind") == 0) {
			bind_addr = argv[++i];
		} else if (strcmp(argv[i], "--delay") == 0) {
			delay = number(argv[++i], 0, 600000);
		} else if (strcmp(argv[i], "--wait") == 0) {
			wait = number(argv[++i], 0, 600000);
		} else if (strcmp(argv[i], "--key") == 0) {
			char *k = argv[++i], *colon = strchr(k, ':');
			struct vt_peer *p;

			if (colon == NULL || nkeys == MAX_KEYS)
				usage();
			*colon = '\0';
			p = &cl[nkeys].peer;
			memset(p, 0, sizeof(*p));
			snprintf(p->name, sizeof(p->name), "%s", colon + 1);
			p->type = VT_TUN;
			p->mtu = 1400;
			p->rekey_interval = 120;
			p->compress_accel = 1;
			if (config_parse_key(priv, k) != 0 ||
			    session_local_init(&cl[nkeys].local, priv) == -1) {
				fprintf(stderr, "vt-attack: bad --key\n");
				return 2;
			}
			nkeys++;
		} else {
			usage();
		}
	}
	if (server_pub == NULL || nkeys == 0)
		usage();
	if (crypto_init() == -1)
		return 1;
	for (int k = 0; k < nkeys; k++) {
		if (config_parse_key(cl[k].peer.public_key, server_pub) != 0)
			usage();
		if (session_init(&cl[k].s, &cl[k].peer, &cl[k].local, true) == -1)
			return 1;
	}
	if (transport_resolve(argv[1], (uint16_t)number(argv[2], 1, 65535),
	    tcp ? SOCK_STREAM : SOCK_DGRAM, &dst, &dstlen, err, sizeof(err)) == -1) {
		fprintf(stderr, "vt-attack: %s\n", err);
		return 1;
	}
	fd = socket(dst.ss_family, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return 1;
	if (bind_addr != NULL) {
		if (transport_resolve(bind_addr, 0, SOCK_DGRAM, &src, &srclen, err,
		    sizeof(err)) == -1 || bind(fd, (struct sockaddr *)&src, srclen) == -1) {
			fprintf(stderr, "vt-attack: --bind %s: %s\n", bind_addr, strerror(errno));
			return 1;
		}
	}
	if (connect(fd, (struct sockaddr *)&dst, dstlen) == -1) {
		fprintf(stderr, "vt-attack: connect: %s\n", strerror(errno));
		return 1;
	}
	sleep_ms(delay);
	for (int k = 0; k < nkeys; k++) {
		uint8_t msg[2 + WIRE_INIT_LEN];
		size_t off = tcp ? 2 : 0;

		if (session_initiate(&cl[k].s, (uint32_t)(k + 1) * 0x01010101u, now_ms(),
		    &out) != SV_SEND)
			return 1;
		wire_put16(msg, (uint16_t)out.len);
		memcpy(msg + off, buf_data(&out), out.len);
		if (send(fd, msg, off + out.len, MSG_NOSIGNAL) == (ssize_t)(off + out.len))
			sent++;
	}
	/* Count the replies until the wait is over (or the server closed the connection). */
	for (uint64_t end = now_ms() + (uint64_t)wait; now_ms() < end && !closed;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, (int)(end - now_ms())) <= 0)
			continue;
		n = recv(fd, rx + have, sizeof(rx) - have, 0);
		if (n <= 0) {
			closed = tcp;
			if (!tcp)
				continue;
			break;
		}
		if (!tcp) {
			responses += rx[0] == WIRE_HS_RESP;
			cookies += rx[0] == WIRE_COOKIE;
			continue;
		}
		have += (size_t)n;
		while (have >= 2 && have >= 2 + (size_t)wire_get16(rx)) {
			size_t m = 2 + wire_get16(rx);

			responses += rx[2] == WIRE_HS_RESP;
			cookies += rx[2] == WIRE_COOKIE;
			memmove(rx, rx + m, have - m);
			have -= m;
		}
	}
	printf("initiate: sent %d, %d responses, %d cookie replies, connection %s\n", sent,
	    responses, cookies, closed ? "closed" : "open");
	close(fd);
	for (int k = 0; k < nkeys; k++) {
		session_free(&cl[k].s);
		session_local_free(&cl[k].local);
	}
	return 0;
}

static int
cmd_tun_persist(int argc, char **argv)
{
	char path[64], link[256];
	long pid, owner = 65534;
	int pidfd, n = 0;
	struct dirent *de;
	DIR *d;

	if (argc < 2)
		usage();
	pid = number(argv[1], 1, 1 << 22);
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--owner") == 0 && i + 1 < argc)
			owner = number(argv[++i], 0, 1 << 30);
		else
			usage();
	}
	pidfd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
	if (pidfd == -1) {
		fprintf(stderr, "vt-attack: pidfd_open %ld: %s\n", pid, strerror(errno));
		return 1;
	}
	snprintf(path, sizeof(path), "/proc/%ld/fd", pid);
	if ((d = opendir(path)) == NULL)
		return 1;
	while ((de = readdir(d)) != NULL) {
		char p[600];
		ssize_t len;
		int target, fd;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(p, sizeof(p), "%s/%s", path, de->d_name);
		if ((len = readlink(p, link, sizeof(link) - 1)) <= 0)
			continue;
		link[len] = '\0';
		if (strcmp(link, "/dev/net/tun") != 0)
			continue;
		target = atoi(de->d_name);
		fd = (int)syscall(SYS_pidfd_getfd, pidfd, target, 0);
		if (fd == -1) {
			fprintf(stderr, "vt-attack: pidfd_getfd %d: %s\n", target, strerror(errno));
			continue;
		}
		if (ioctl(fd, TUNSETPERSIST, 1) == 0 && ioctl(fd, TUNSETOWNER, owner) == 0)
			n++;
		else
			fprintf(stderr, "vt-attack: TUNSETPERSIST on fd %d: %s\n", target,
			    strerror(errno));
		close(fd);
	}
	closedir(d);
	close(pidfd);
	printf("tun-persist: %d devices\n", n);
	return n > 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	if (strcmp(argv[1], "initiate") == 0)
		return cmd_initiate(argc - 1, argv + 1);
	if (strcmp(argv[1], "tun-persist") == 0)
		return cmd_tun_persist(argc - 1, argv + 1);
	usage();
	return 2;
}
