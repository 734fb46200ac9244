/*
 * vt-attack.c - what a compromised engine or a replaying attacker would do, for the namespace
 * tests of the engine's defences:
 *
 *   vt-attack initiate HOST PORT --server-pub B64 --key B64:NAME [--key B64:NAME]...
 *             [--keys FILE] [--tcp] [--bind ADDR] [--delay MS] [--wait MS] [--rounds N]
 *       Valid handshake initiations, one per --key (a client's private key and its link name),
 *       all from one UDP socket or all on one TCP connection, in order, after --delay ms
 *       (the connection is open meanwhile: a slow client). Waits --wait ms (default 1000) for
 *       replies. Prints "initiate: sent N, R responses, C cookie replies, connection open|closed".
 *       --keys FILE: more B64:NAME lines. --rounds N (UDP): send every key's initiation N times,
 *       each round after the last one's replies (or --wait), and print the responses per second
 *       the server answered: its handshake rate.
 *       Initiations recorded before a server restart are exactly this: valid, with no key
 *       known to whoever replays them.
 *   vt-attack lz4 HOST PORT --server-pub B64 --key B64:NAME --from ADDR --to ADDR --size N
 *             [--size N]... [--mtu N] [--bind ADDR] [--wait MS]
 *       A real handshake over UDP as the client of --key on a link with compress = lz4 and
 *       mtu N (default 1400), then, per --size, one data message sealed here with the session's
 *       keys: an LZ4 block (inner type 1) that inflates to an IPv4/UDP packet of N bytes from
 *       --from to --to (port 9), whatever the MTU: what a peer holding the keys could send.
 *       Waits --wait ms (default 2000) for the response. Prints "lz4: sent K data messages
 *       inflating to N, N... bytes".
 *   vt-attack cycles HOST PORT --server-pub B64 --key B64:NAME --count N [--tcp] [--mtu N]
 *             [--wait MS]
 *       N connect/disconnect cycles as the client of --key: each on a new socket (UDP) or a
 *       new connection (TCP), a real handshake, the keepalive that confirms it and a CLOSE,
 *       then the socket closed; 25 ms apart (the server takes one initiation per 20 ms per
 *       key). Prints "cycles: N of N up and closed".
 *   vt-attack tun-persist PID [--owner UID]
 *       Take process PID's TUN/TAP descriptors (pidfd_getfd) and set the device persistent and
 *       owned by UID (default 65534), as a compromised engine could on its own fds without any
 *       capability. Prints "tun-persist: N devices".
 *
 * Exits 0, 1 on error, 2 on bad usage. Sends only to the address it is given.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
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

#include "src/compress.h"
#include "src/config.h" /* tools get -I$(srcdir), not -I src */
#include "src/config_parse.h"
#include "src/crypto.h"
#include "src/session.h"
#include "src/transport.h"
#include "src/wire.h"

#define MAX_KEYS 1024
#define MAX_SIZES 16

static void
usage(void)
{
	fprintf(stderr,
	    "usage: vt-attack initiate HOST PORT --server-pub B64 --key B64:NAME [--key ...]\n"
	    "                 [--keys FILE] [--tcp] [--bind ADDR] [--delay MS] [--wait MS]\n"
	    "                 [--rounds N]\n"
	    "       vt-attack lz4 HOST PORT --server-pub B64 --key B64:NAME --from ADDR --to ADDR\n"
	    "                 --size N [--size N]... [--mtu N] [--bind ADDR] [--wait MS]\n"
	    "       vt-attack cycles HOST PORT --server-pub B64 --key B64:NAME --count N\n"
	    "                 [--tcp] [--mtu N] [--wait MS]\n"
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

/* Take "B64:NAME" into cl (a default link: tun, mtu 1400, no compression); -1 if bad. */
static int
add_key(struct client *cl, char *k)
{
	char *colon = strchr(k, ':');
	struct vt_peer *p = &cl->peer;
	uint8_t priv[32];

	if (colon == NULL)
		return -1;
	*colon = '\0';
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", colon + 1);
	p->type = VT_TUN;
	p->mtu = 1400;
	p->rekey_interval = 120;
	p->compress_accel = 1;
	if (config_parse_key(priv, k) != 0 || session_local_init(&cl->local, priv) == -1)
		return -1;
	return 0;
}

/* The server's handshake rate: rounds of one fresh initiation per key, each round sent when
 * the last one's responses are in (or wait ms passed). */
static int
rate(struct client *cl, int nkeys, int fd, long rounds, long wait)
{
	uint64_t start = now_ms(), end;
	long responses = 0, cookies = 0, sent = 0;
	uint8_t rx[512];
	struct buf out;

	for (long r = 0; r < rounds; r++) {
		int got = 0;

		for (int k = 0; k < nkeys; k++) {
			if (session_initiate(&cl[k].s, (uint32_t)(r * nkeys + k + 1), now_ms(),
			    &out) != SV_SEND)
				return 1;
			sent += send(fd, buf_data(&out), out.len, 0) == (ssize_t)out.len;
		}
		for (end = now_ms() + (uint64_t)wait; got < nkeys && now_ms() < end;) {
			struct pollfd pfd = { .fd = fd, .events = POLLIN };

			if (poll(&pfd, 1, (int)(end - now_ms())) <= 0)
				continue;
			if (recv(fd, rx, sizeof(rx), 0) <= 0)
				continue;
			got++;
			responses += rx[0] == WIRE_HS_RESP;
			cookies += rx[0] == WIRE_COOKIE;
		}
	}
	end = now_ms();
	printf("rate: sent %ld, %ld responses, %ld cookie replies in %.2f s: %.0f handshakes/s\n",
	    sent, responses, cookies, (double)(end - start) / 1000.0,
	    (double)responses * 1000.0 / (double)(end > start ? end - start : 1));
	return 0;
}

static int
cmd_initiate(int argc, char **argv)
{
	static struct client cl[MAX_KEYS];
	struct sockaddr_storage dst, src;
	socklen_t dstlen, srclen;
	const char *bind_addr = NULL, *server_pub = NULL;
	long delay = 0, wait = 1000, rounds = 0;
	int nkeys = 0, fd, responses = 0, cookies = 0, sent = 0;
	bool tcp = false, closed = false;
	uint8_t rx[4096];
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
		} else if (strcmp(argv[i], "--rounds") == 0) {
			rounds = number(argv[++i], 1, 100000);
		} else if (strcmp(argv[i], "--key") == 0) {
			if (nkeys == MAX_KEYS || add_key(&cl[nkeys++], argv[++i]) == -1) {
				fprintf(stderr, "vt-attack: bad --key\n");
				return 2;
			}
		} else if (strcmp(argv[i], "--keys") == 0) {
			char line[256];
			FILE *f = fopen(argv[++i], "re");

			if (f == NULL) {
				fprintf(stderr, "vt-attack: %s: %s\n", argv[i], strerror(errno));
				return 1;
			}
			while (fgets(line, sizeof(line), f) != NULL) {
				line[strcspn(line, "\n")] = '\0';
				if (line[0] == '\0')
					continue;
				if (nkeys == MAX_KEYS || add_key(&cl[nkeys++], line) == -1) {
					fprintf(stderr, "vt-attack: bad key line in %s\n", argv[i]);
					return 2;
				}
			}
			fclose(f);
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
	if (rounds > 0 && !tcp)
		return rate(cl, nkeys, fd, rounds, wait);
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

/* lz4 ------------------------------------------------------------------------------------- */

/* The Internet checksum of n bytes (n even). */
static uint16_t
ip_checksum(const uint8_t *p, size_t n)
{
	uint32_t sum = 0;

	for (size_t i = 0; i < n; i += 2)
		sum += wire_get16(p + i);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* An IPv4/UDP packet of n bytes (28..COMPRESS_MAX_IN) from src to dst, port 9, zero payload. */
static void
ip_udp_packet(uint8_t *p, size_t n, const struct in_addr *src, const struct in_addr *dst)
{
	memset(p, 0, n);
	p[0] = 0x45;
	wire_put16(p + 2, (uint16_t)n);
	p[8] = 64;
	p[9] = 17;
	memcpy(p + 12, src, 4);
	memcpy(p + 16, dst, 4);
	wire_put16(p + 10, ip_checksum(p, 20));
	wire_put16(p + 20, 9);
	wire_put16(p + 22, 9);
	wire_put16(p + 24, (uint16_t)(n - 20)); /* UDP checksum 0: none (IPv4) */
}

/* Seal payload p (inner type first) under key pair kp as the next data message, into b. */
static int
seal_payload(struct session_keypair *kp, const uint8_t *p, size_t n, struct buf *b)
{
	struct wire_data_hdr h;
	uint8_t *hdr;

	buf_reset(b);
	memcpy(buf_put(b, n), p, n);
	h.receiver = kp->remote_index;
	h.counter = kp->send_counter++;
	hdr = buf_push(b, WIRE_DATA_HDR_LEN);
	wire_data_hdr_encode(hdr, &h);
	buf_put(b, WIRE_TAG_LEN);
	return crypto_aead_seal(&kp->send, h.counter, hdr, WIRE_DATA_HDR_LEN,
	    hdr + WIRE_DATA_HDR_LEN, n, hdr + WIRE_DATA_HDR_LEN);
}

/* Initiate, take the response and send the keepalive that confirms the keys; 0 or -1. */
static int
handshake_udp(struct client *cl, int fd, long wait, struct buf *out)
{
	uint8_t rx[512];
	ssize_t n = -1;

	if (session_initiate(&cl->s, 0x4c5a3401u, now_ms(), out) != SV_SEND ||
	    send(fd, buf_data(out), out->len, 0) != (ssize_t)out->len)
		return -1;
	for (uint64_t end = now_ms() + (uint64_t)wait; now_ms() < end;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };

		if (poll(&pfd, 1, (int)(end - now_ms())) <= 0)
			continue;
		n = recv(fd, rx, sizeof(rx), 0);
		if (n > 0 && rx[0] == WIRE_HS_RESP)
			break;
		if (n > 0 && rx[0] == WIRE_COOKIE)
			fprintf(stderr, "vt-attack: lz4: a cookie reply: the server is under load\n");
		n = -1;
	}
	if (n <= 0) {
		fprintf(stderr, "vt-attack: lz4: no handshake response\n");
		return -1;
	}
	if (session_consume_response(&cl->s, rx, (size_t)n, now_ms(), out) != SV_SEND) {
		fprintf(stderr, "vt-attack: lz4: the response does not open\n");
		return -1;
	}
	return send(fd, buf_data(out), out->len, 0) == (ssize_t)out->len ? 0 : -1;
}

/* A peer with the keys sends LZ4 blocks of its choosing: the receiver must bound what they
 * inflate to by the link's largest frame. */
static int
cmd_lz4(int argc, char **argv)
{
	static struct client cl;
	static struct buf out;
	static uint8_t frame[COMPRESS_MAX_IN], payload[1 + COMPRESS_BOUND(COMPRESS_MAX_IN)];
	struct sockaddr_storage dst, src;
	socklen_t dstlen, srclen;
	const char *bind_addr = NULL, *server_pub = NULL;
	char *key = NULL;
	struct in_addr from = { 0 }, to = { 0 };
	long wait = 2000, mtu = 1400, size[MAX_SIZES];
	int nsize = 0, fd, sent = 0, ret = 1;
	char err[256];

	if (argc < 3)
		usage();
	for (int i = 3; i < argc; i++) {
		if (i + 1 >= argc)
			usage();
		if (strcmp(argv[i], "--server-pub") == 0)
			server_pub = argv[++i];
		else if (strcmp(argv[i], "--key") == 0)
			key = argv[++i];
		else if (strcmp(argv[i], "--bind") == 0)
			bind_addr = argv[++i];
		else if (strcmp(argv[i], "--wait") == 0)
			wait = number(argv[++i], 0, 600000);
		else if (strcmp(argv[i], "--mtu") == 0)
			mtu = number(argv[++i], 576, 9000);
		else if (strcmp(argv[i], "--from") == 0 && inet_pton(AF_INET, argv[i + 1], &from))
			i++;
		else if (strcmp(argv[i], "--to") == 0 && inet_pton(AF_INET, argv[i + 1], &to))
			i++;
		else if (strcmp(argv[i], "--size") == 0 && nsize < MAX_SIZES)
			size[nsize++] = number(argv[++i], 28, COMPRESS_MAX_IN);
		else
			usage();
	}
	if (server_pub == NULL || key == NULL || nsize == 0 || from.s_addr == 0 ||
	    to.s_addr == 0)
		usage();
	if (crypto_init() == -1 || add_key(&cl, key) == -1 ||
	    config_parse_key(cl.peer.public_key, server_pub) != 0) {
		fprintf(stderr, "vt-attack: bad --key or --server-pub\n");
		return 2;
	}
	cl.peer.mtu = (int)mtu;
	cl.peer.compress = VT_COMPRESS_LZ4;
	if (session_init(&cl.s, &cl.peer, &cl.local, true) == -1) /* LZ4 state included */
		goto out;
	if (transport_resolve(argv[1], (uint16_t)number(argv[2], 1, 65535), SOCK_DGRAM, &dst,
	    &dstlen, err, sizeof(err)) == -1) {
		fprintf(stderr, "vt-attack: %s\n", err);
		goto out;
	}
	fd = socket(dst.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		goto out;
	if ((bind_addr != NULL && (transport_resolve(bind_addr, 0, SOCK_DGRAM, &src, &srclen,
	    err, sizeof(err)) == -1 || bind(fd, (struct sockaddr *)&src, srclen) == -1)) ||
	    connect(fd, (struct sockaddr *)&dst, dstlen) == -1) {
		fprintf(stderr, "vt-attack: bind or connect: %s\n", strerror(errno));
		goto close;
	}
	if (handshake_udp(&cl, fd, wait, &out) == -1)
		goto close;
	for (int k = 0; k < nsize; k++) {
		size_t n = (size_t)size[k], blen;

		ip_udp_packet(frame, n, &from, &to);
		payload[0] = WIRE_INNER_FRAME_LZ4;
		blen = compress_encode(cl.s.lz4_state, frame, n, payload + 1, sizeof(payload) - 1,
		    1);
		if (blen == 0 || seal_payload(&cl.s.kp_cur, payload, 1 + blen, &out) == -1)
			goto close;
		sent += send(fd, buf_data(&out), out.len, 0) == (ssize_t)out.len;
	}
	printf("lz4: sent %d data messages inflating to", sent);
	for (int k = 0; k < nsize; k++)
		printf("%s %ld", k == 0 ? "" : ",", size[k]);
	printf(" bytes\n");
	ret = sent == nsize ? 0 : 1;
close:
	close(fd);
out:
	session_free(&cl.s);
	session_local_free(&cl.local);
	return ret;
}

/* cycles ---------------------------------------------------------------------------------- */

/* Send message b, with the TCP length prefix when tcp; 0 or -1. */
static int
send_msg(int fd, bool tcp, struct buf *b)
{
	uint8_t msg[2 + 2048];
	size_t off = tcp ? 2 : 0;

	if (b->len > sizeof(msg) - 2)
		return -1;
	wire_put16(msg, (uint16_t)b->len);
	memcpy(msg + off, buf_data(b), b->len);
	return send(fd, msg, off + b->len, MSG_NOSIGNAL) == (ssize_t)(off + b->len) ? 0 : -1;
}

/* Receive one message into rx (its length, or -1 when wait ms passed or TCP closed). */
static ssize_t
recv_msg(int fd, bool tcp, uint8_t *rx, size_t len, long wait)
{
	size_t have = 0;

	for (int64_t end = (int64_t)now_ms() + wait, left; (left = end - (int64_t)now_ms()) > 0;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		n = recv(fd, rx + have, len - have, 0);
		if (n <= 0 && tcp)
			return -1;
		if (n <= 0)
			continue;
		if (!tcp)
			return n;
		have += (size_t)n;
		if (have >= 2 && have >= 2 + (size_t)wire_get16(rx)) {
			size_t m = wire_get16(rx);

			memmove(rx, rx + 2, m); /* one message at a time: the server sends one */
			return (ssize_t)m;
		}
		if (have == len)
			return -1;
	}
	return -1;
}

/* One cycle on a new socket: handshake, confirm, close; 0 or -1. */
static int
one_cycle(struct client *cl, const struct sockaddr_storage *dst, socklen_t dstlen, bool tcp,
    long wait, uint32_t idx, struct buf *out)
{
	uint8_t rx[2048];
	ssize_t n = -1;
	int fd, ret = -1;

	fd = socket(dst->ss_family, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	if (connect(fd, (const struct sockaddr *)dst, dstlen) == -1)
		goto out;
	for (int tries = 0; tries < 3; tries++) {
		if (session_initiate(&cl->s, idx, now_ms(), out) != SV_SEND ||
		    send_msg(fd, tcp, out) == -1)
			goto out;
		n = recv_msg(fd, tcp, rx, sizeof(rx), wait);
		if (n > 0 && rx[0] == WIRE_COOKIE) { /* under load: again, with mac2 */
			session_consume_cookie(&cl->s, rx, (size_t)n, now_ms());
			n = -1;
			continue;
		}
		break;
	}
	if (n <= 0 || rx[0] != WIRE_HS_RESP ||
	    session_consume_response(&cl->s, rx, (size_t)n, now_ms(), out) != SV_SEND ||
	    send_msg(fd, tcp, out) == -1)
		goto out;
	session_take_events(&cl->s);
	if (session_close(&cl->s, now_ms(), out) != SV_SEND || send_msg(fd, tcp, out) == -1)
		goto out;
	ret = 0;
out:
	if (ret == -1)
		session_reset(&cl->s);
	session_take_events(&cl->s);
	close(fd);
	return ret;
}

/* Connect and disconnect, again and again: what the server keeps per session must go with it. */
static int
cmd_cycles(int argc, char **argv)
{
	static struct client cl;
	static struct buf out;
	struct sockaddr_storage dst;
	socklen_t dstlen;
	const char *server_pub = NULL;
	char *key = NULL, err[256];
	long count = -1, wait = 2000, mtu = 1400, ok = 0;
	bool tcp = false;

	if (argc < 3)
		usage();
	for (int i = 3; i < argc; i++) {
		if (strcmp(argv[i], "--tcp") == 0) {
			tcp = true;
			continue;
		}
		if (i + 1 >= argc)
			usage();
		if (strcmp(argv[i], "--server-pub") == 0)
			server_pub = argv[++i];
		else if (strcmp(argv[i], "--key") == 0)
			key = argv[++i];
		else if (strcmp(argv[i], "--count") == 0)
			count = number(argv[++i], 1, 1000000);
		else if (strcmp(argv[i], "--wait") == 0)
			wait = number(argv[++i], 1, 600000);
		else if (strcmp(argv[i], "--mtu") == 0)
			mtu = number(argv[++i], 576, 9000);
		else
			usage();
	}
	if (server_pub == NULL || key == NULL || count < 0)
		usage();
	if (crypto_init() == -1 || add_key(&cl, key) == -1 ||
	    config_parse_key(cl.peer.public_key, server_pub) != 0) {
		fprintf(stderr, "vt-attack: bad --key or --server-pub\n");
		return 2;
	}
	cl.peer.mtu = (int)mtu;
	if (session_init(&cl.s, &cl.peer, &cl.local, true) == -1)
		return 1;
	if (transport_resolve(argv[1], (uint16_t)number(argv[2], 1, 65535),
	    tcp ? SOCK_STREAM : SOCK_DGRAM, &dst, &dstlen, err, sizeof(err)) == -1) {
		fprintf(stderr, "vt-attack: %s\n", err);
		return 1;
	}
	for (long k = 0; k < count; k++) {
		if (one_cycle(&cl, &dst, dstlen, tcp, wait, (uint32_t)k * 2654435761u | 1, &out) == 0)
			ok++;
		else
			fprintf(stderr, "vt-attack: cycle %ld failed\n", k + 1);
		sleep_ms(25);
	}
	printf("cycles: %ld of %ld up and closed\n", ok, count);
	session_free(&cl.s);
	session_local_free(&cl.local);
	return ok == count ? 0 : 1;
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
	if (strcmp(argv[1], "lz4") == 0)
		return cmd_lz4(argc - 1, argv + 1);
	if (strcmp(argv[1], "cycles") == 0)
		return cmd_cycles(argc - 1, argv + 1);
	if (strcmp(argv[1], "tun-persist") == 0)
		return cmd_tun_persist(argc - 1, argv + 1);
	usage();
	return 2;
}
