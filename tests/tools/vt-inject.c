/*
 * vt-inject.c - hostile traffic for the namespace tests: replay UDP payloads out of a pcap file,
 * flood a server with forged handshake initiations that carry a valid mac1 (so each one gets
 * past the cheapest check), send garbage datagrams, hold idle TCP connections, send hostile TCP
 * framing, forge data messages for a live session, and send markers through a tunnel. Every
 * mode is bounded in count and time.
 *
 * Usage:
 *   vt-inject replay PCAPFILE HOST PORT [--type N] [--count K] [--dport P] [--repeat N]
 *   vt-inject flood HOST PORT --server-pub BASE64 --count N --rate R
 *       [--noise | --bad-mac1 | --bad-mac1-tail]   (mac1 wrong in its first or only its last
 *       byte: a check that compares fewer than its 16 bytes takes the latter for valid)
 *   vt-inject garbage HOST PORT --count N
 *   vt-inject hold HOST PORT --count N --max-time S   (idle TCP connections, held S seconds)
 *   vt-inject stream HOST PORT --len N [--len N]... [--count K] [--prefix-only] --max-time S
 *       (frames of N zero bytes behind length prefix N on one TCP connection, K times over;
 *       reports whether and when the server closed it; N "max" is WIRE_MSG_MAX, the largest
 *       message, and "max+1" one more)
 *   vt-inject forge PCAPFILE HOST PORT --count N [--flip tag|body] [--tcp] [--sport P]
 *       (the capture's last data message to PORT, from port P, with a fresh counter and a
 *       flipped bit)
 *   vt-inject mark HOST[,HOST]... PORT --text TEXT --rate R [--tcp]   (markers, until SIGTERM)
 * Common: --rate R (packets per second; default as fast as possible), --max-time SECONDS
 * (default 60) stops any mode early, --bind ADDR sends from ADDR; repeated, the packets take
 * turns over the addresses (several sources, as a per-source rate limiter sees them).
 * Prints one summary line on stdout; exits 0, 1 on error, 2 on bad usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "src/cookie.h" /* tools get -I$(srcdir), not -I src */
#include "src/crypto.h"
#include "src/noise.h"
#include "src/transport.h"
#include "src/wire.h"

#define MAX_COUNT 10000000L
#define MAX_PCAP (64L * 1024 * 1024)
#define GARBAGE_MAX 1400 /* below any receive buffer, so every datagram reaches the parser */
#define MAX_BIND 64
#define MAX_HOLD 1000
#define MAX_FRAMES 16
#define MAX_STREAM (16L * 1024 * 1024)
#define MAX_TARGETS 16
#define MARK_MAX 200

/* Pcap link types we can take apart. */
#define LINK_ETHERNET 1
#define LINK_RAW 101
#define LINK_LINUX_SLL 113
#define LINK_IPV4 228
#define LINK_IPV6 229
#define LINK_LINUX_SLL2 276

/* The prologue the daemon binds into every handshake (session.c); a copy, as a test fixture. */
static const uint8_t prologue[] = "vtund-ng wire 1";

struct opts {
	const char *bind[MAX_BIND];
	int nbind;
	long repeat;      /* replay: send the matching packets this many times */
	const char *server_pub;
	long count;
	double rate;      /* packets per second; 0 = as fast as the socket takes them */
	double max_time;  /* seconds */
	int type;         /* replay: only payloads whose first byte is this; 0 = all */
	int dport;        /* replay: only datagrams sent to this UDP port; 0 = all */
	int sport;        /* forge: only messages sent from this port; 0 = all */
	int noise;        /* flood: real Noise initiations from unknown static keys */
	int bad_mac1;     /* flood: a wrong mac1, to be dropped before any other work: 1 = its
	                     first byte flipped, 2 = only its last byte */
	long len[MAX_FRAMES]; /* stream: the length prefixes, in order */
	int nlen;
	int prefix_only;  /* stream: the last frame is its prefix alone */
	int tcp;          /* forge, mark: over TCP instead of UDP */
	const char *flip; /* forge: "tag" or "body" */
	const char *text; /* mark: the marker */
};

static void
usage(void)
{
	fprintf(stderr,
	    "usage: vt-inject replay PCAPFILE HOST PORT [--type N] [--count K] [--dport P]\n"
	    "                 [--repeat N] [--rate R] [--bind ADDR]... [--max-time S]\n"
	    "       vt-inject flood HOST PORT --server-pub BASE64 --count N --rate R\n"
	    "                 [--noise | --bad-mac1 | --bad-mac1-tail]\n"
	    "                 [--bind ADDR]... [--max-time S]\n"
	    "       vt-inject garbage HOST PORT --count N [--rate R] [--bind ADDR]...\n"
	    "                 [--max-time S]\n"
	    "       vt-inject hold HOST PORT --count N --max-time S [--bind ADDR]...\n"
	    "       vt-inject stream HOST PORT --len N [--len N]... [--count K] [--prefix-only]\n"
	    "                 [--max-time S] [--bind ADDR]\n"
	    "       vt-inject forge PCAPFILE HOST PORT --count N [--flip tag|body] [--tcp]\n"
	    "                 [--sport P] [--rate R] [--bind ADDR]... [--max-time S]\n"
	    "       vt-inject mark HOST[,HOST]... PORT --text TEXT --rate R [--tcp] [--count N]\n"
	    "                 [--max-time S]\n");
	exit(2);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t
now_ms(void)
{
	return (uint64_t)(now_s() * 1000.0);
}

/* Sleep until packet number i is due at `rate` per second from `start`; true while within the
 * time budget. */
static int
pace(double start, long i, const struct opts *o)
{
	double due, t = now_s();

	if (t - start > o->max_time)
		return 0;
	if (o->rate <= 0)
		return 1;
	due = start + (double)i / o->rate;
	if (due > t) {
		struct timespec ts;
		double d = due - t;

		ts.tv_sec = (time_t)d;
		ts.tv_nsec = (long)((d - (double)ts.tv_sec) * 1e9);
		nanosleep(&ts, NULL);
	}
	return 1;
}

static long
parse_long(const char *s, long lo, long hi, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *s == '\0' || *end != '\0' || v < lo || v > hi) {
		fprintf(stderr, "vt-inject: %s: want an integer in %ld..%ld, got '%s'\n", what,
		    lo, hi, s);
		exit(2);
	}
	return v;
}

static double
parse_double(const char *s, double lo, double hi, const char *what)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || *s == '\0' || *end != '\0' || !(v >= lo && v <= hi)) {
		fprintf(stderr, "vt-inject: %s: want a number in %g..%g, got '%s'\n", what, lo,
		    hi, s);
		exit(2);
	}
	return v;
}

/* Options after the positional arguments. */
static void
parse_opts(int argc, char **argv, struct opts *o)
{
	memset(o, 0, sizeof(*o));
	o->count = -1;
	o->repeat = 1;
	o->max_time = 60;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--noise") == 0) {
			o->noise = 1;
			continue;
		}
		if (strcmp(a, "--bad-mac1") == 0 || strcmp(a, "--bad-mac1-tail") == 0) {
			if (o->bad_mac1 != 0)
				usage(); /* one or the other */
			o->bad_mac1 = strcmp(a, "--bad-mac1") == 0 ? 1 : 2;
			continue;
		}
		if (strcmp(a, "--prefix-only") == 0) {
			o->prefix_only = 1;
			continue;
		}
		if (strcmp(a, "--tcp") == 0) {
			o->tcp = 1;
			continue;
		}
		if (i + 1 >= argc)
			usage();
		if (strcmp(a, "--bind") == 0) {
			if (o->nbind == MAX_BIND) {
				fprintf(stderr, "vt-inject: at most %d --bind\n", MAX_BIND);
				exit(2);
			}
			o->bind[o->nbind++] = argv[++i];
		} else if (strcmp(a, "--repeat") == 0)
			o->repeat = parse_long(argv[++i], 1, 1000, "--repeat");
		else if (strcmp(a, "--server-pub") == 0)
			o->server_pub = argv[++i];
		else if (strcmp(a, "--count") == 0)
			o->count = parse_long(argv[++i], 0, MAX_COUNT, "--count");
		else if (strcmp(a, "--rate") == 0)
			o->rate = parse_double(argv[++i], 0, 1e7, "--rate");
		else if (strcmp(a, "--max-time") == 0)
			o->max_time = parse_double(argv[++i], 0, 3600, "--max-time");
		else if (strcmp(a, "--type") == 0)
			o->type = (int)parse_long(argv[++i], 0, 255, "--type");
		else if (strcmp(a, "--dport") == 0)
			o->dport = (int)parse_long(argv[++i], 1, 65535, "--dport");
		else if (strcmp(a, "--sport") == 0)
			o->sport = (int)parse_long(argv[++i], 1, 65535, "--sport");
		else if (strcmp(a, "--len") == 0) {
			if (o->nlen == MAX_FRAMES) {
				fprintf(stderr, "vt-inject: at most %d --len\n", MAX_FRAMES);
				exit(2);
			}
			i++;
			if (strcmp(argv[i], "max") == 0)
				o->len[o->nlen++] = WIRE_MSG_MAX;
			else if (strcmp(argv[i], "max+1") == 0)
				o->len[o->nlen++] = WIRE_MSG_MAX + 1;
			else
				o->len[o->nlen++] = parse_long(argv[i], 0, 65535, "--len");
		} else if (strcmp(a, "--flip") == 0) {
			o->flip = argv[++i];
			if (strcmp(o->flip, "tag") != 0 && strcmp(o->flip, "body") != 0)
				usage();
		} else if (strcmp(a, "--text") == 0) {
			o->text = argv[++i];
			if (strlen(o->text) > MARK_MAX)
				usage();
		} else
			usage();
	}
}

/* Where the packets go and the sockets they leave from (one per --bind, at least one). */
struct out {
	struct sockaddr_storage dst;
	socklen_t dstlen;
	int fd[MAX_BIND];
	int nfd;
};

/* A socket of dst's family and the given type, bound to addr unless it is NULL; exits on
 * failure. */
static int
open_socket(const struct sockaddr_storage *dst, const char *addr, int type)
{
	struct sockaddr_storage src;
	socklen_t srclen;
	char err[256];
	int fd;

	fd = socket(dst->ss_family, type | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		perror("vt-inject: socket");
		exit(1);
	}
	if (addr == NULL)
		return fd;
	if (transport_resolve(addr, 0, type, &src, &srclen, err, sizeof(err)) == -1) {
		fprintf(stderr, "vt-inject: --bind %s\n", err);
		exit(1);
	}
	if (src.ss_family != dst->ss_family) {
		fprintf(stderr, "vt-inject: --bind %s: not the address family of the target\n",
		    addr);
		exit(1);
	}
	if (bind(fd, (struct sockaddr *)&src, srclen) == -1) {
		fprintf(stderr, "vt-inject: bind %s: %s\n", addr, strerror(errno));
		exit(1);
	}
	return fd;
}

/* Resolve HOST:PORT; exits on failure. */
static void
resolve_target(struct out *out, const char *host, const char *port, int type)
{
	char err[256];

	if (transport_resolve(host, (uint16_t)parse_long(port, 1, 65535, "PORT"), type,
	    &out->dst, &out->dstlen, err, sizeof(err)) == -1) {
		fprintf(stderr, "vt-inject: %s\n", err);
		exit(1);
	}
}

/* Resolve HOST:PORT and open the UDP sockets; exits on failure. */
static void
open_out(struct out *out, const char *host, const char *port, const struct opts *o)
{
	resolve_target(out, host, port, SOCK_DGRAM);
	out->nfd = o->nbind > 0 ? o->nbind : 1;
	for (int i = 0; i < out->nfd; i++)
		out->fd[i] = open_socket(&out->dst, o->nbind > 0 ? o->bind[i] : NULL, SOCK_DGRAM);
}

static void
close_out(struct out *out)
{
	for (int i = 0; i < out->nfd; i++)
		close(out->fd[i]);
}

/* Send packet number i (from the next source in turn); 0, or -1, counted by the caller: a full
 * buffer loses one packet, it does not end the run. */
static int
send_one(const struct out *out, long i, const uint8_t *p, size_t len)
{
	return sendto(out->fd[i % out->nfd], p, len, 0, (const struct sockaddr *)&out->dst,
	    out->dstlen) == (ssize_t)len ? 0 : -1;
}

/* pcap ------------------------------------------------------------------------------------ */

struct pcap {
	uint8_t *data;
	size_t len, off;
	int swap;
	uint32_t linktype;
};

static uint32_t
pcap_u32(const struct pcap *pc, const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return pc->swap ? __builtin_bswap32(v) : v;
}

/* Read a whole classic pcap file and check its global header; 0 or -1 with a message. */
static int
pcap_open(struct pcap *pc, const char *path)
{
	struct stat st;
	uint32_t magic;
	ssize_t n;
	size_t got = 0;
	int fd, ret = -1;

	memset(pc, 0, sizeof(*pc));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1 || fstat(fd, &st) == -1) {
		fprintf(stderr, "vt-inject: %s: %s\n", path, strerror(errno));
		goto out;
	}
	if (st.st_size < 24 || st.st_size > MAX_PCAP) {
		fprintf(stderr, "vt-inject: %s: %lld bytes: not a pcap file we read\n", path,
		    (long long)st.st_size);
		goto out;
	}
	pc->len = (size_t)st.st_size;
	pc->data = malloc(pc->len);
	if (pc->data == NULL) {
		fprintf(stderr, "vt-inject: out of memory\n");
		goto out;
	}
	while (got < pc->len) {
		n = read(fd, pc->data + got, pc->len - got);
		if (n <= 0) {
			fprintf(stderr, "vt-inject: %s: short read\n", path);
			goto out;
		}
		got += (size_t)n;
	}
	memcpy(&magic, pc->data, 4);
	if (magic == 0xa1b2c3d4 || magic == 0xa1b23c4d) {
		pc->swap = 0;
	} else if (magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1) {
		pc->swap = 1;
	} else {
		fprintf(stderr, "vt-inject: %s: not a classic pcap file (pcapng is not read; "
		    "write it with tcpdump -w)\n", path);
		goto out;
	}
	pc->linktype = pcap_u32(pc, pc->data + 20) & 0x0fffffff;
	pc->off = 24;
	ret = 0;
out:
	if (fd != -1)
		close(fd);
	if (ret == -1) {
		free(pc->data);
		pc->data = NULL;
	}
	return ret;
}

/* Next record: its captured bytes and their count; 1, 0 at the end, -1 if the file is cut. */
static int
pcap_next(struct pcap *pc, const uint8_t **pkt, size_t *caplen)
{
	uint32_t incl;

	if (pc->off == pc->len)
		return 0;
	if (pc->len - pc->off < 16)
		return -1;
	incl = pcap_u32(pc, pc->data + pc->off + 8);
	if (incl > pc->len - pc->off - 16)
		return -1; /* tcpdump killed mid-write: ignore the partial last record */
	*pkt = pc->data + pc->off + 16;
	*caplen = incl;
	pc->off += 16 + (size_t)incl;
	return 1;
}

/* The payload of a whole, unfragmented UDP datagram or TCP segment (proto) in an IPv4 or IPv6
 * packet; NULL if it is not one. Sets *sport and *dport. */
static const uint8_t *
ip_payload(const uint8_t *p, size_t n, unsigned proto, size_t *len, int *sport, int *dport)
{
	size_t hl, total, ulen;
	unsigned nh;

	if (n < 1)
		return NULL;
	if (p[0] >> 4 == 4) {
		if (n < 20)
			return NULL;
		hl = (size_t)(p[0] & 0x0f) * 4;
		total = wire_get16(p + 2);
		/* Fragments (offset or more-fragments set) carry no whole datagram. */
		if (hl < 20 || total < hl || total > n || p[9] != proto ||
		    (wire_get16(p + 6) & 0x3fff) != 0)
			return NULL;
		p += hl;
		n = total - hl;
	} else if (p[0] >> 4 == 6) {
		if (n < 40)
			return NULL;
		total = 40 + (size_t)wire_get16(p + 4);
		if (total > n)
			return NULL;
		nh = p[6];
		p += 40;
		n = total - 40;
		/* Walk the extension headers that may sit in front of UDP or TCP. */
		while (nh != proto) {
			if (n < 8)
				return NULL;
			if (nh == 0 || nh == 43 || nh == 60) {
				hl = ((size_t)p[1] + 1) * 8;
			} else if (nh == 44) {
				if ((wire_get16(p + 2) & 0xfff9) != 0)
					return NULL; /* a fragment */
				hl = 8;
			} else {
				return NULL;
			}
			if (hl > n)
				return NULL;
			nh = p[0];
			p += hl;
			n -= hl;
		}
	} else {
		return NULL;
	}
	if (proto == IPPROTO_TCP) {
		if (n < 20)
			return NULL;
		hl = (size_t)(p[12] >> 4) * 4;
		if (hl < 20 || hl > n)
			return NULL;
		*sport = wire_get16(p);
		*dport = wire_get16(p + 2);
		*len = n - hl;
		return p + hl;
	}
	if (n < 8)
		return NULL;
	ulen = wire_get16(p + 4);
	if (ulen < 8 || ulen > n)
		return NULL;
	*sport = wire_get16(p);
	*dport = wire_get16(p + 2);
	*len = ulen - 8;
	return p + 8;
}

/* Strip the link-layer header of a captured frame and return its UDP or TCP (proto) payload,
 * or NULL. */
static const uint8_t *
frame_payload(uint32_t linktype, const uint8_t *p, size_t n, unsigned proto, size_t *len,
    int *sport, int *dport)
{
	uint16_t ethertype;
	size_t hl;

	switch (linktype) {
	case LINK_ETHERNET:
		if (n < 14)
			return NULL;
		ethertype = wire_get16(p + 12);
		hl = 14;
		while ((ethertype == 0x8100 || ethertype == 0x88a8) && n >= hl + 4) {
			ethertype = wire_get16(p + hl + 2);
			hl += 4;
		}
		break;
	case LINK_LINUX_SLL:
		if (n < 16)
			return NULL;
		ethertype = wire_get16(p + 14);
		hl = 16;
		break;
	case LINK_LINUX_SLL2:
		if (n < 20)
			return NULL;
		ethertype = wire_get16(p);
		hl = 20;
		break;
	case LINK_RAW:
	case LINK_IPV4:
	case LINK_IPV6:
		return ip_payload(p, n, proto, len, sport, dport);
	default:
		return NULL;
	}
	if (ethertype != 0x0800 && ethertype != 0x86dd)
		return NULL;
	return ip_payload(p + hl, n - hl, proto, len, sport, dport);
}

/* Read PCAPFILE and check that we can take its link type apart; 0 or -1 with a message. */
static int
pcap_load(struct pcap *pc, const char *path)
{
	if (pcap_open(pc, path) == -1)
		return -1;
	if (pc->linktype != LINK_ETHERNET && pc->linktype != LINK_LINUX_SLL &&
	    pc->linktype != LINK_LINUX_SLL2 && pc->linktype != LINK_RAW &&
	    pc->linktype != LINK_IPV4 && pc->linktype != LINK_IPV6) {
		fprintf(stderr, "vt-inject: %s: link type %u is not supported\n", path,
		    pc->linktype);
		free(pc->data);
		return -1;
	}
	return 0;
}

/* Resend the UDP payloads captured in a pcap file (filtered by first byte and port). */
static int
cmd_replay(int argc, char **argv)
{
	struct pcap pc;
	struct opts o;
	struct out out;
	const uint8_t *pkt, *pl;
	size_t caplen, plen;
	long seen = 0, sent = 0, failed = 0, n;
	double start;
	int sport, dport;

	if (argc < 3)
		usage();
	parse_opts(argc - 3, argv + 3, &o);
	if (pcap_load(&pc, argv[0]) == -1)
		return 1;
	open_out(&out, argv[1], argv[2], &o);
	start = now_s();
	for (long r = 0; r < o.repeat; r++) {
		pc.off = 24;
		while ((o.count < 0 || sent + failed < o.count) &&
		    pcap_next(&pc, &pkt, &caplen) == 1) {
			pl = frame_payload(pc.linktype, pkt, caplen, IPPROTO_UDP, &plen, &sport,
			    &dport);
			if (pl == NULL || plen == 0)
				continue;
			if ((o.type != 0 && pl[0] != o.type) ||
			    (o.dport != 0 && dport != o.dport))
				continue;
			seen++;
			n = sent + failed;
			if (!pace(start, n, &o))
				goto done;
			if (send_one(&out, n, pl, plen) == 0)
				sent++;
			else
				failed++;
		}
	}
done:
	printf("replayed %ld of %ld matching packets (%ld failed)\n", sent, seen, failed);
	close_out(&out);
	free(pc.data);
	return failed == 0 ? 0 : 1;
}

/* flood ----------------------------------------------------------------------------------- */

#define FLOOD_STATICS 8

/* One initiation with a valid mac1 towards the server key: either a random body (the server
 * spends one DH before the static key fails to open) or a real Noise message 1 from an
 * unknown static key (two DHs, then "unknown key"); bad_mac1 spoils mac1: 1 its first byte,
 * 2 its last byte only. */
static int
forge_init(uint8_t msg[WIRE_INIT_LEN], struct cookie_maker *cm, const uint8_t server_pub[32],
    const uint8_t (*statics)[32], long i, int noise, int bad_mac1)
{
	static const uint8_t zero_psk[32];
	uint8_t payload[WIRE_INIT_PAYLOAD_LEN], pub[32], priv[32];
	struct wire_params params;
	struct noise_hs hs;
	uint32_t idx;
	size_t n;
	int ret = -1;

	wire_put_header(msg, WIRE_HS_INIT, WIRE_SUITE_AESGCM);
	crypto_random(&idx, sizeof(idx));
	wire_put32(msg + 4, idx);
	if (!noise) {
		/* A real public key as ephemeral, so the server's DH cannot fail early. */
		if (crypto_x25519_keygen(priv, pub) == -1)
			goto out;
		memcpy(msg + 8, pub, 32);
		crypto_random(msg + 40, WIRE_INIT_LEN - 40 - 2 * WIRE_MAC_LEN);
	} else {
		if (noise_init(&hs, NOISE_IKPSK2, CRYPTO_AESGCM, true, prologue,
		    sizeof(prologue) - 1, statics[i % FLOOD_STATICS], server_pub,
		    zero_psk) == -1)
			goto out;
		memset(&params, 0, sizeof(params));
		params.version = WIRE_VERSION;
		params.mtu = 1400;
		snprintf(params.name, sizeof(params.name), "flood");
		wire_timestamp_encode(payload, (uint64_t)time(NULL), (uint32_t)i);
		wire_params_encode(payload + WIRE_TIMESTAMP_LEN, &params);
		if (noise_write_message(&hs, payload, sizeof(payload), msg + 8,
		    WIRE_INIT_LEN - 8 - 2 * WIRE_MAC_LEN, &n) == -1 ||
		    n != WIRE_INIT_LEN - 8 - 2 * WIRE_MAC_LEN) {
			noise_wipe(&hs);
			goto out;
		}
		noise_wipe(&hs);
	}
	cookie_add_macs(cm, msg, WIRE_INIT_LEN, now_ms());
	if (bad_mac1 == 1)
		msg[WIRE_INIT_LEN - 2 * WIRE_MAC_LEN] ^= 0x01;
	else if (bad_mac1 == 2)
		msg[WIRE_INIT_LEN - WIRE_MAC_LEN - 1] ^= 0x80;
	ret = 0;
out:
	crypto_wipe(priv, sizeof(priv));
	return ret;
}

/* Count the cookie replies (type 3) waiting on the socket, without blocking. */
static long
drain_cookies(int fd)
{
	uint8_t b[2048];
	long cookies = 0;
	ssize_t n;

	while ((n = recv(fd, b, sizeof(b), MSG_DONTWAIT)) >= 0)
		if (wire_classify(b, (size_t)n) == WIRE_COOKIE)
			cookies++;
	return cookies;
}

/* Send forged initiations with a valid mac1 at a bounded rate. */
static int
cmd_flood(int argc, char **argv)
{
	uint8_t server_pub[32], msg[WIRE_INIT_LEN], statics[FLOOD_STATICS][32], pub[32];
	struct cookie_maker cm;
	struct opts o;
	struct out out;
	long sent = 0, failed = 0, cookies = 0, i;
	double start, end;

	if (argc < 2)
		usage();
	parse_opts(argc - 2, argv + 2, &o);
	if (o.server_pub == NULL || o.count < 0 || o.rate <= 0 || (o.noise && o.bad_mac1))
		usage();
	if (crypto_init() == -1 || crypto_key_from_base64(server_pub, o.server_pub) == -1) {
		fprintf(stderr, "vt-inject: --server-pub: not a base64 key\n");
		return 2;
	}
	for (i = 0; i < FLOOD_STATICS; i++)
		if (crypto_x25519_keygen(statics[i], pub) == -1)
			return 1;
	cookie_maker_init(&cm, server_pub);
	open_out(&out, argv[0], argv[1], &o);
	start = now_s();
	for (i = 0; i < o.count; i++) {
		if (!pace(start, i, &o))
			break;
		if (forge_init(msg, &cm, server_pub, (const uint8_t (*)[32])statics, i,
		    o.noise, o.bad_mac1) == -1) {
			fprintf(stderr, "vt-inject: cannot build an initiation\n");
			break;
		}
		if (send_one(&out, i, msg, sizeof(msg)) == 0)
			sent++;
		else
			failed++;
		if ((i & 63) == 0)
			for (int k = 0; k < out.nfd; k++)
				cookies += drain_cookies(out.fd[k]);
	}
	end = now_s();
	/* Replies to the last messages are still on their way. */
	usleep(300000);
	for (int k = 0; k < out.nfd; k++)
		cookies += drain_cookies(out.fd[k]);
	printf("flood: sent %ld initiations in %.1f s (%ld failed), %ld cookie replies\n", sent,
	    end - start, failed, cookies);
	crypto_wipe(statics, sizeof(statics));
	cookie_maker_wipe(&cm);
	close_out(&out);
	return sent > 0 ? 0 : 1;
}

/* garbage --------------------------------------------------------------------------------- */

static uint32_t
rnd(uint32_t below)
{
	uint32_t v;

	crypto_random(&v, sizeof(v));
	return below == 0 ? v : v % below;
}

static size_t
expected_len(int type)
{
	switch (type) {
	case WIRE_HS_INIT:
		return WIRE_INIT_LEN;
	case WIRE_HS_RESP:
		return WIRE_RESP_LEN;
	case WIRE_COOKIE:
		return WIRE_COOKIE_LEN;
	default:
		return WIRE_DATA_MIN_LEN;
	}
}

/* A length near, but never equal to, the right one for a handshake message (or below the
 * minimum for data). */
static size_t
wrong_len(int type)
{
	size_t want = expected_len(type), d = 1 + rnd(40);

	if (type == WIRE_DATA)
		return 4 + rnd((uint32_t)(WIRE_DATA_MIN_LEN - 4));
	return rnd(2) && want > d ? want - d : want + d;
}

/* Garbage number i into b; returns its length (never 0: an empty datagram is not a message). */
static size_t
make_garbage(uint8_t *b, long i)
{
	int type = 1 + (int)rnd(4);
	size_t len;

	switch (i % 8) {
	case 0: /* anything */
		len = 1 + rnd(GARBAGE_MAX);
		crypto_random(b, len);
		break;
	case 1: /* a header with an unknown type or version */
		len = 4 + rnd(GARBAGE_MAX - 4);
		crypto_random(b, len);
		b[0] = rnd(2) ? (uint8_t)(5 + rnd(251)) : (uint8_t)type;
		if (b[0] <= WIRE_DATA && b[1] == WIRE_VERSION)
			b[1] = WIRE_VERSION + 1;
		break;
	case 2: /* a known type with the wrong length */
	case 3:
		len = wrong_len(type);
		crypto_random(b, len);
		wire_put_header(b, (enum wire_type)type, 0);
		break;
	case 4: /* a handshake message of the right length and random content */
		type = 1 + (int)rnd(3);
		len = expected_len(type);
		crypto_random(b, len);
		wire_put_header(b, (enum wire_type)type, (uint8_t)rnd(2));
		break;
	default: /* data for a random receiver index (and so no session) */
		len = WIRE_DATA_MIN_LEN + rnd(GARBAGE_MAX - WIRE_DATA_MIN_LEN);
		crypto_random(b, len);
		wire_put_header(b, WIRE_DATA, 0);
		break;
	}
	return len;
}

/* Send bounded garbage: random datagrams and valid-looking headers with wrong contents. */
static int
cmd_garbage(int argc, char **argv)
{
	uint8_t b[GARBAGE_MAX + 64];
	struct opts o;
	struct out out;
	long sent = 0, failed = 0, i;
	double start;

	if (argc < 2)
		usage();
	parse_opts(argc - 2, argv + 2, &o);
	if (o.count < 0)
		usage();
	open_out(&out, argv[0], argv[1], &o);
	start = now_s();
	for (i = 0; i < o.count; i++) {
		size_t len;

		if (!pace(start, i, &o))
			break;
		len = make_garbage(b, i);
		if (send_one(&out, i, b, len) == 0)
			sent++;
		else
			failed++;
	}
	printf("garbage: sent %ld datagrams (%ld failed)\n", sent, failed);
	close_out(&out);
	return failed == 0 ? 0 : 1;
}

/* hold ------------------------------------------------------------------------------------ */

/* Open idle TCP connections that never send a byte, hold them, and count those the server
 * closes: a daemon must not let such connections lock out real clients. */
static int
cmd_hold(int argc, char **argv)
{
	struct pollfd *pfd;
	struct out out;
	struct opts o;
	long opened = 0, closed = 0, i;
	double start, left;
	uint8_t b[256];

	if (argc < 2)
		usage();
	parse_opts(argc - 2, argv + 2, &o);
	if (o.count < 1 || o.count > MAX_HOLD)
		usage();
	resolve_target(&out, argv[0], argv[1], SOCK_STREAM);
	pfd = calloc((size_t)o.count, sizeof(*pfd));
	if (pfd == NULL)
		return 1;
	start = now_s();
	for (i = 0; i < o.count; i++) {
		int fd = open_socket(&out.dst, o.nbind > 0 ? o.bind[i % o.nbind] : NULL,
		    SOCK_STREAM);

		if (connect(fd, (struct sockaddr *)&out.dst, out.dstlen) == -1) {
			fprintf(stderr, "vt-inject: connect: %s\n", strerror(errno));
			close(fd);
			break;
		}
		pfd[opened].fd = fd;
		pfd[opened].events = POLLIN;
		opened++;
	}
	while ((left = o.max_time - (now_s() - start)) > 0) {
		int n = poll(pfd, (nfds_t)opened, (int)(left * 1000) + 1);

		if (n <= 0)
			continue;
		for (i = 0; i < opened; i++) {
			ssize_t got;

			if (pfd[i].fd == -1 || pfd[i].revents == 0)
				continue;
			/* Data would be a protocol reply (there is none to idle peers); EOF or a
			 * reset means the server let go of us. */
			got = recv(pfd[i].fd, b, sizeof(b), MSG_DONTWAIT);
			if (got == 0 || (got == -1 && errno != EAGAIN && errno != EINTR)) {
				close(pfd[i].fd);
				pfd[i].fd = -1;
				closed++;
			}
		}
	}
	printf("hold: opened %ld connections, %ld closed by the server\n", opened, closed);
	for (i = 0; i < opened; i++)
		if (pfd[i].fd != -1)
			close(pfd[i].fd);
	free(pfd);
	return opened == o.count ? 0 : 1;
}

/* TCP ------------------------------------------------------------------------------------- */

/* A connection from --bind (if given) to the target; blocking connect, then non-blocking.
 * Exits on failure. */
static int
tcp_dial(const struct out *out, const struct opts *o)
{
	int fd = open_socket(&out->dst, o->nbind > 0 ? o->bind[0] : NULL, SOCK_STREAM);

	if (connect(fd, (const struct sockaddr *)&out->dst, out->dstlen) == -1) {
		fprintf(stderr, "vt-inject: connect: %s\n", strerror(errno));
		exit(1);
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == -1) {
		perror("vt-inject: fcntl");
		exit(1);
	}
	return fd;
}

/* What became of a connection we wrote to. */
struct talk {
	size_t sent;        /* bytes the socket took */
	long got;           /* bytes the server sent us */
	double mark_at;     /* when the socket had taken the first `mark` bytes; 0 if not yet */
	const char *closed; /* NULL while open, else how the server ended it */
	double closed_at;
};

/* Write p[0..len) to fd while reading what comes back, until the server closes the connection
 * or `deadline` (a now_s() time) passes; once all is written, stop early at `linger` seconds
 * after the last byte if linger >= 0. */
static void
talk(int fd, const uint8_t *p, size_t len, size_t mark, double linger, double deadline,
    struct talk *t)
{
	struct pollfd pfd;
	double now, until, done_at = 0;
	uint8_t b[4096];
	ssize_t n;

	memset(t, 0, sizeof(*t));
	while (t->closed == NULL) {
		now = now_s();
		until = deadline;
		if (t->sent == len && linger >= 0 && done_at + linger < until)
			until = done_at + linger;
		if (now >= until)
			break;
		pfd.fd = fd;
		pfd.events = POLLIN | (t->sent < len ? POLLOUT : 0);
		pfd.revents = 0;
		if (poll(&pfd, 1, (int)((until - now) * 1000) + 1) <= 0)
			continue;
		if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
			n = recv(fd, b, sizeof(b), 0);
			if (n > 0)
				t->got += n;
			else if (n == 0)
				t->closed = "eof";
			else if (errno != EAGAIN && errno != EINTR)
				t->closed = errno == ECONNRESET ? "reset" : strerror(errno);
		}
		if (t->closed == NULL && (pfd.revents & POLLOUT) && t->sent < len) {
			n = send(fd, p + t->sent, len - t->sent, MSG_NOSIGNAL);
			if (n > 0) {
				t->sent += (size_t)n;
				if (t->mark_at == 0 && t->sent >= mark)
					t->mark_at = now_s();
				if (t->sent == len)
					done_at = now_s();
			} else if (n == -1 && errno != EAGAIN && errno != EINTR) {
				t->closed = errno == ECONNRESET || errno == EPIPE ? "reset" :
				    strerror(errno);
			}
		}
		if (t->closed != NULL)
			t->closed_at = now_s();
	}
}

/* stream ---------------------------------------------------------------------------------- */

/*
 * Hostile TCP framing from an unauthenticated client: one connection carrying, --count times
 * over, a frame per --len N: the 2-byte prefix N and N zero bytes (type 0, so a parser that
 * takes the frame out drops it as malformed); with --prefix-only the very last frame is its
 * prefix alone. Reports whether and when the server closed the connection, counted from the
 * moment the socket took the last prefix.
 */
static int
cmd_stream(int argc, char **argv)
{
	struct opts o;
	struct out out;
	struct talk t;
	uint8_t *p;
	size_t len = 0, total = 0, last_prefix = 0;
	long count;
	int fd;

	if (argc < 2)
		usage();
	parse_opts(argc - 2, argv + 2, &o);
	if (o.nlen == 0)
		usage();
	count = o.count < 0 ? 1 : o.count;
	for (int i = 0; i < o.nlen; i++)
		total += WIRE_TCP_PREFIX_LEN + (size_t)o.len[i];
	if (count < 1 || total * (size_t)count > (size_t)MAX_STREAM) {
		fprintf(stderr, "vt-inject: stream: at most %ld bytes\n", MAX_STREAM);
		return 2;
	}
	p = calloc((size_t)count, total);
	if (p == NULL)
		return 1;
	for (long k = 0; k < count; k++) {
		for (int i = 0; i < o.nlen; i++) {
			last_prefix = len;
			wire_put16(p + len, (uint16_t)o.len[i]);
			len += WIRE_TCP_PREFIX_LEN + (size_t)o.len[i];
		}
	}
	if (o.prefix_only)
		len = last_prefix + WIRE_TCP_PREFIX_LEN;
	resolve_target(&out, argv[0], argv[1], SOCK_STREAM);
	fd = tcp_dial(&out, &o);
	talk(fd, p, len, last_prefix + WIRE_TCP_PREFIX_LEN, -1, now_s() + o.max_time, &t);
	printf("stream: sent %zu of %zu bytes", t.sent, len);
	if (t.got > 0)
		printf(", got %ld back", t.got);
	if (t.closed != NULL && t.mark_at > 0)
		printf("; closed by the server (%s) %.2f ms after the last prefix\n", t.closed,
		    (t.closed_at - t.mark_at) * 1000);
	else if (t.closed != NULL)
		printf("; closed by the server (%s) before it took the last prefix\n", t.closed);
	else if (t.mark_at > 0)
		printf("; still open %.1f s after the last prefix\n", now_s() - t.mark_at);
	else
		printf("; still open, but the socket did not take the last prefix\n");
	close(fd);
	free(p);
	return 0;
}

/* forge ----------------------------------------------------------------------------------- */

/* The last data message sent to `port` (from source port `from`, unless 0) in a capture: a UDP
 * payload or, with tcp, a message at the start of a TCP segment (behind its length prefix).
 * Returns its length, 0 if none. */
static size_t
last_data_message(struct pcap *pc, int port, int from, int tcp, uint8_t msg[WIRE_MSG_MAX])
{
	const uint8_t *pkt, *pl, *m;
	size_t caplen, plen, mlen, found = 0;
	int sport, dport;

	while (pcap_next(pc, &pkt, &caplen) == 1) {
		pl = frame_payload(pc->linktype, pkt, caplen, tcp ? IPPROTO_TCP : IPPROTO_UDP,
		    &plen, &sport, &dport);
		if (pl == NULL || dport != port || (from != 0 && sport != from))
			continue;
		m = pl;
		mlen = plen;
		if (tcp) {
			if (plen < WIRE_TCP_PREFIX_LEN)
				continue;
			m = pl + WIRE_TCP_PREFIX_LEN;
			mlen = wire_get16(pl);
			if (mlen > plen - WIRE_TCP_PREFIX_LEN)
				continue;
		}
		if (mlen > WIRE_MSG_MAX || wire_classify(m, mlen) != WIRE_DATA)
			continue;
		memcpy(msg, m, mlen);
		found = mlen;
	}
	return found;
}

/*
 * Forged data for a live session: the last data message of a capture, with its receiver index
 * kept, a counter the sender has not used (the captured one plus 2^32 plus i, so the replay
 * window lets it through to the tag check) and one bit flipped in the tag or the body. Sent
 * --count times from --bind over UDP, or with --tcp on one new connection; reports what came
 * back (a server that took the forger for the peer would send it the peer's traffic).
 */
static int
cmd_forge(int argc, char **argv)
{
	static uint8_t orig[WIRE_MSG_MAX], msg[WIRE_MSG_MAX];
	struct wire_data_hdr h;
	struct pcap pc;
	struct opts o;
	struct out out;
	struct talk t;
	uint8_t *stream = NULL, b[2048];
	size_t len, body, slen = 0;
	long sent = 0, back = 0, i;
	double start;
	int body_flip, fd;

	if (argc < 3)
		usage();
	parse_opts(argc - 3, argv + 3, &o);
	if (o.count < 1 || o.count > 10000)
		usage();
	body_flip = o.flip != NULL && strcmp(o.flip, "body") == 0;
	memset(&t, 0, sizeof(t));
	if (pcap_load(&pc, argv[0]) == -1)
		return 1;
	len = last_data_message(&pc, (int)parse_long(argv[2], 1, 65535, "PORT"), o.sport, o.tcp,
	    orig);
	free(pc.data);
	if (len == 0 || !wire_data_hdr_decode(orig, len, &h)) {
		fprintf(stderr, "vt-inject: %s: no data message to port %s\n", argv[0], argv[2]);
		return 1;
	}
	body = len - WIRE_DATA_HDR_LEN - WIRE_TAG_LEN;
	if (o.tcp) {
		resolve_target(&out, argv[1], argv[2], SOCK_STREAM);
		stream = malloc((size_t)o.count * (WIRE_TCP_PREFIX_LEN + len));
		if (stream == NULL)
			return 1;
	} else {
		open_out(&out, argv[1], argv[2], &o);
	}
	start = now_s();
	for (i = 0; i < o.count; i++) {
		struct wire_data_hdr f = h;

		memcpy(msg, orig, len);
		f.counter = h.counter + (UINT64_C(1) << 32) + (uint64_t)i;
		wire_data_hdr_encode(msg, &f);
		if (body_flip)
			msg[WIRE_DATA_HDR_LEN + (size_t)i % body] ^= (uint8_t)(1 << (i % 8));
		else
			msg[len - WIRE_TAG_LEN + (size_t)i % WIRE_TAG_LEN] ^= (uint8_t)(1 << (i % 8));
		if (o.tcp) {
			wire_put16(stream + slen, (uint16_t)len);
			memcpy(stream + slen + WIRE_TCP_PREFIX_LEN, msg, len);
			slen += WIRE_TCP_PREFIX_LEN + len;
		} else if (pace(start, i, &o) && send_one(&out, i, msg, len) == 0) {
			sent++;
		}
	}
	if (o.tcp) {
		fd = tcp_dial(&out, &o);
		talk(fd, stream, slen, slen, 0.5, now_s() + o.max_time, &t);
		sent = (long)(t.sent / (WIRE_TCP_PREFIX_LEN + len));
		back = t.got;
		close(fd);
		free(stream);
	} else {
		usleep(500000);
		for (int k = 0; k < out.nfd; k++)
			while (recv(out.fd[k], b, sizeof(b), MSG_DONTWAIT) >= 0)
				back++;
		close_out(&out);
	}
	printf("forge: sent %ld of %ld data messages for receiver %08x over %s, %s flipped; "
	    "%ld %s came back%s\n", sent, o.count, h.receiver, o.tcp ? "tcp" : "udp",
	    body_flip ? "body" : "tag", back, o.tcp ? "bytes" : "datagrams",
	    o.tcp ? (t.closed != NULL ? "; the server closed the connection" :
	    "; the connection stayed open") : "");
	return sent == o.count ? 0 : 1;
}

/* mark ------------------------------------------------------------------------------------ */

static volatile sig_atomic_t stopping;

static void
on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

/* Send "TEXT:tcp:N\n" on a new connection to dst; 0 if the socket took it, -1 otherwise (no
 * route, refused, or no answer within 500 ms). */
static int
mark_tcp(const struct sockaddr_storage *dst, socklen_t dstlen, const char *line, size_t len)
{
	struct pollfd pfd;
	socklen_t elen = sizeof(int);
	int fd, e = 0, ret = -1;

	fd = socket(dst->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	if (connect(fd, (const struct sockaddr *)dst, dstlen) == -1 && errno != EINPROGRESS)
		goto out;
	pfd.fd = fd;
	pfd.events = POLLOUT;
	if (poll(&pfd, 1, 500) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen) == -1 ||
	    e != 0)
		goto out;
	if (send(fd, line, len, MSG_NOSIGNAL) == (ssize_t)len)
		ret = 0;
out:
	close(fd);
	return ret;
}

/*
 * Markers through a tunnel, for the plaintext test: at --rate per second, "TEXT:udp:N\n" in a
 * UDP datagram (or with --tcp, "TEXT:tcp:N\n" on a new TCP connection) to each HOST in turn,
 * until --max-time or SIGTERM. A missing route or device only costs that marker: the run goes
 * on, so it can span a daemon's restarts.
 */
static int
cmd_mark(int argc, char **argv)
{
	struct sockaddr_storage dst[MAX_TARGETS];
	socklen_t dstlen[MAX_TARGETS];
	int fd[MAX_TARGETS];
	struct sigaction sa;
	struct opts o;
	char hosts[1024], *h, *save, err[256], line[MARK_MAX + 32];
	long sent = 0, i;
	uint16_t port;
	double start;
	int n = 0, len;

	if (argc < 2)
		usage();
	parse_opts(argc - 2, argv + 2, &o);
	if (o.text == NULL || o.rate <= 0)
		usage();
	port = (uint16_t)parse_long(argv[1], 1, 65535, "PORT");
	snprintf(hosts, sizeof(hosts), "%s", argv[0]);
	for (h = strtok_r(hosts, ",", &save); h != NULL; h = strtok_r(NULL, ",", &save)) {
		if (n == MAX_TARGETS)
			usage();
		if (transport_resolve(h, port, o.tcp ? SOCK_STREAM : SOCK_DGRAM, &dst[n],
		    &dstlen[n], err, sizeof(err)) == -1) {
			fprintf(stderr, "vt-inject: %s\n", err);
			return 1;
		}
		fd[n] = o.tcp ? -1 : open_socket(&dst[n], NULL, SOCK_DGRAM);
		n++;
	}
	if (n == 0)
		usage();
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	start = now_s();
	for (i = 0; (o.count < 0 || i < o.count) && !stopping && pace(start, i, &o); i++) {
		if (stopping)
			break;
		len = snprintf(line, sizeof(line), "%s:%s:%ld\n", o.text, o.tcp ? "tcp" : "udp",
		    i);
		if (o.tcp ? mark_tcp(&dst[i % n], dstlen[i % n], line, (size_t)len) == 0 :
		    sendto(fd[i % n], line, (size_t)len, 0, (struct sockaddr *)&dst[i % n],
		    dstlen[i % n]) == len)
			sent++;
	}
	printf("mark: %ld of %ld %s markers sent\n", sent, i, o.tcp ? "tcp" : "udp");
	for (int k = 0; k < n; k++)
		if (fd[k] != -1)
			close(fd[k]);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	if (strcmp(argv[1], "replay") == 0)
		return cmd_replay(argc - 2, argv + 2);
	if (strcmp(argv[1], "flood") == 0)
		return cmd_flood(argc - 2, argv + 2);
	if (strcmp(argv[1], "garbage") == 0)
		return cmd_garbage(argc - 2, argv + 2);
	if (strcmp(argv[1], "hold") == 0)
		return cmd_hold(argc - 2, argv + 2);
	if (strcmp(argv[1], "stream") == 0)
		return cmd_stream(argc - 2, argv + 2);
	if (strcmp(argv[1], "forge") == 0)
		return cmd_forge(argc - 2, argv + 2);
	if (strcmp(argv[1], "mark") == 0)
		return cmd_mark(argc - 2, argv + 2);
	usage();
	return 2;
}
