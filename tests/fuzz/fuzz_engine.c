/*
 * fuzz_engine.c - libFuzzer target for the real engine: its event loop, dispatch and policies
 * (engine.c, datapath.c, the link modules, the control socket, the channel from the parent),
 * driven over descriptors the fuzzer holds the other end of. Each input builds a server engine
 * with three peers (UDP with a filter, UDP with LZ4, TCP): a UDP socket and a TCP listener on 127.0.0.1, a
 * control listener, a channel socketpair, and for each peer a SOCK_SEQPACKET socketpair as its
 * "device". The input is a list of operations, each [op][arg][len][len bytes]:
 *   0 a datagram from source arg%4 (127.0.0.2..5)     4 a control request (connect, send, close)
 *   1 a TCP connection from source arg%4 (up to 6)     5 a frame on device arg%3
 *   2 bytes on TCP connection arg                      6 a valid handshake for peer arg%3 (its
 *   3 close TCP connection arg                           client keys are the fuzzer's)
 *   7 bytes as a data frame sealed by peer arg%3's     8 bytes as a message on the channel
 *     client (after op 6)                                from the parent
 * After each operation the loop runs (engine_step) until nothing is ready; the fuzzer drains
 * what the engine sent. Nothing here copies engine logic: replies the fuzzer consumes go
 * through the session layer of the fuzzer's own clients.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "src/crypto.h" /* fuzzers get -I$(srcdir), not -I src */
#include "src/engine.h"
#include "src/log.h"
#include "src/session.h"
#include "src/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NPEERS 3
#define NSRC 4
#define NCONN 6
#define MAX_OPS 64

static const uint8_t server_priv[32] = "vtund-ng fuzz engine server....";
static const uint8_t client_priv[NPEERS][32] = {
	"vtund-ng fuzz engine client 0..", "vtund-ng fuzz engine client 1..",
	"vtund-ng fuzz engine client 2..",
};
static uint8_t server_pub[32], client_pub[NPEERS][32];

/* One configured peer as the server has it, and the fuzzer's client for it. */
struct fpeer {
	struct vt_peer server_cfg, client_cfg;
	struct session_local local;
	struct session s;
	int dev[2];   /* dev[0] the engine's device fd (given away), dev[1] ours */
	int conn;     /* the TCP connection index its handshake went on, or -1 (UDP) */
	bool started;
};

static struct {
	struct engine *e;
	struct fpeer peers[NPEERS];
	int src[NSRC];             /* UDP sockets bound to 127.0.0.2.. */
	int conn[NCONN];
	int nconn;
	int chan[2];
	struct sockaddr_in udp, tcp;
	struct sockaddr_un ctl;
	socklen_t ctl_len;
	struct buf b, out;
	uint32_t next_index;
} F;

static uint64_t
clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
link_cfg(struct vt_peer *p, int k, const uint8_t pub[32])
{
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "peer%d", k);
	snprintf(p->device, sizeof(p->device), "fz%d", k);
	p->type = VT_TUN;
	p->proto = k == 2 ? VT_TCP : VT_UDP;
	p->mtu = 1400;
	p->keepalive = 10;
	p->timeout = 60;
	p->rekey_interval = 120;
	p->cipher = VT_AES256GCM;
	p->compress = k == 1 ? VT_COMPRESS_LZ4 : VT_COMPRESS_NONE;
	p->compress_accel = 1;
	memcpy(p->public_key, pub, 32);
	if (k == 0) {
		/* The first peer's decrypted frames go through the cryptokey filter. */
		p->peer_addrs[p->npeer_addrs++] = (struct vt_addr){ AF_INET, { 10, 9, 0, 2 }, 32 };
		p->routes[p->nroutes++] = (struct vt_addr){ AF_INET, { 10, 2, 0, 0 }, 24 };
		p->allowed_ips[p->nallowed_ips++] = (struct vt_addr){ AF_INET6, { 0xfd }, 8 };
	}
}

static int
udp_on(const char *addr, struct sockaddr_in *got)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	inet_pton(AF_INET, addr, &a.sin_addr);
	if (fd == -1 || bind(fd, (struct sockaddr *)&a, sizeof(a)) == -1)
		abort();
	if (got != NULL && getsockname(fd, (struct sockaddr *)got, &len) == -1)
		abort();
	return fd;
}

static void
once(void)
{
	static bool done;

	if (done)
		return;
	done = true;
	/* FUZZ_ENGINE_LOG=1 shows what the engine logs (to see what a seed reaches). */
	log_init(true, getenv("FUZZ_ENGINE_LOG") != NULL ? LOG_LVL_DEBUG : LOG_LVL_ERR);
	if (crypto_init() == -1 || crypto_x25519_public(server_priv, server_pub) == -1)
		abort();
	for (int k = 0; k < NPEERS; k++)
		if (crypto_x25519_public(client_priv[k], client_pub[k]) == -1)
			abort();
}

/* Run the loop until nothing is ready, then read away what the engine sent to us. */
static void
settle(void)
{
	uint8_t junk[16384];

	for (int i = 0; i < 8; i++)
		engine_step(F.e);
	for (int k = 0; k < NPEERS; k++)
		while (recv(F.peers[k].dev[1], junk, sizeof(junk), MSG_DONTWAIT) > 0)
			;
	while (recv(F.chan[1], junk, sizeof(junk), MSG_DONTWAIT) > 0)
		;
}

static void
setup(void)
{
	struct engine_setup st;
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(F.tcp);
	int udp, tcp, ctl, one = 1;
	char name[64];

	memset(&F, 0, sizeof(F));
	F.next_index = 1;
	udp = udp_on("127.0.0.1", &F.udp);
	tcp = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	setsockopt(tcp, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (tcp == -1 || bind(tcp, (struct sockaddr *)&a, sizeof(a)) == -1 || listen(tcp, 16) ||
	    getsockname(tcp, (struct sockaddr *)&F.tcp, &len) == -1)
		abort();
	/* The control socket in the abstract namespace: nothing on disk to clean up. */
	ctl = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	memset(&F.ctl, 0, sizeof(F.ctl));
	F.ctl.sun_family = AF_UNIX;
	snprintf(name, sizeof(name), "vtund-ng-fuzz-%d", (int)getpid());
	memcpy(F.ctl.sun_path + 1, name, strlen(name));
	F.ctl_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name));
	if (ctl == -1 || bind(ctl, (struct sockaddr *)&F.ctl, F.ctl_len) == -1 || listen(ctl, 16))
		abort();
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, F.chan) == -1)
		abort();
	fcntl(F.chan[1], F_SETFL, O_NONBLOCK);
	memset(&st, 0, sizeof(st));
	st.private_key = server_priv;
	st.server = true;
	st.udp_fd = udp;
	st.tcp_fd = tcp;
	st.client_udp[0] = st.client_udp[1] = -1;
	st.ctl_fd = ctl;
	st.chan_fd = F.chan[0];
	st.role = "server";
	if ((F.e = engine_new(&st)) == NULL)
		abort();
	for (int k = 0; k < NPEERS; k++) {
		struct fpeer *p = &F.peers[k];

		link_cfg(&p->server_cfg, k, client_pub[k]);
		link_cfg(&p->client_cfg, k, server_pub);
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, p->dev) == -1)
			abort();
		fcntl(p->dev[0], F_SETFL, O_NONBLOCK);
		fcntl(p->dev[1], F_SETFL, O_NONBLOCK);
		if (engine_add_peer(F.e, (uint32_t)k + 1, &p->server_cfg, NULL, 0, 0, p->dev[0]) == -1)
			abort();
		p->conn = -1;
	}
	for (int i = 0; i < NSRC; i++) {
		char addr[16];

		snprintf(addr, sizeof(addr), "127.0.0.%d", i + 2);
		F.src[i] = udp_on(addr, NULL);
	}
	settle();
}

static void
teardown(void)
{
	engine_free(F.e); /* closes the engine's ends: sockets, devices, channel */
	for (int k = 0; k < NPEERS; k++) {
		close(F.peers[k].dev[1]);
		if (F.peers[k].started) {
			session_free(&F.peers[k].s);
			session_local_free(&F.peers[k].local);
		}
	}
	for (int i = 0; i < NSRC; i++)
		close(F.src[i]);
	for (int i = 0; i < F.nconn; i++)
		if (F.conn[i] != -1)
			close(F.conn[i]);
	close(F.chan[1]);
}

static void
udp_send(int src, const uint8_t *p, size_t n)
{
	sendto(F.src[src], p, n, 0, (struct sockaddr *)&F.udp, sizeof(F.udp));
}

static void
tcp_open(int src)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	char addr[16];
	int fd;

	if (F.nconn == NCONN)
		return;
	snprintf(addr, sizeof(addr), "127.0.0.%d", src + 2);
	inet_pton(AF_INET, addr, &a.sin_addr);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1 || bind(fd, (struct sockaddr *)&a, sizeof(a)) == -1 ||
	    connect(fd, (struct sockaddr *)&F.tcp, sizeof(F.tcp)) == -1) {
		if (fd != -1)
			close(fd);
		return;
	}
	/* Closed with a reset: no TIME_WAIT piling up over millions of inputs. */
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &(struct linger){ 1, 0 }, sizeof(struct linger));
	fcntl(fd, F_SETFL, O_NONBLOCK);
	F.conn[F.nconn++] = fd;
}

static void
tcp_send(int c, const uint8_t *p, size_t n)
{
	if (F.nconn > 0 && F.conn[c % F.nconn] != -1)
		send(F.conn[c % F.nconn], p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
}

/* A control request: connect, send the bytes, let the engine answer, read it, close. */
static void
control(const uint8_t *p, size_t n)
{
	uint8_t reply[4096];
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd == -1)
		return;
	if (connect(fd, (struct sockaddr *)&F.ctl, F.ctl_len) == 0) {
		send(fd, p, n, MSG_NOSIGNAL);
		settle();
		while (recv(fd, reply, sizeof(reply), 0) > 0)
			;
	}
	close(fd);
}

/* The next message the engine sent the client of peer k (UDP: from its source socket; TCP:
 * framed on its connection), into F.b; false if none came. */
static bool
receive(struct fpeer *p, int src)
{
	uint8_t pre[2];
	ssize_t n;

	buf_reset(&F.b);
	if (p->conn < 0) {
		n = recv(F.src[src], buf_data(&F.b), buf_tailroom(&F.b), MSG_DONTWAIT);
		if (n <= 0)
			return false;
		buf_put(&F.b, (size_t)n);
		return true;
	}
	if (F.conn[p->conn] == -1 || recv(F.conn[p->conn], pre, 2, MSG_DONTWAIT) != 2)
		return false;
	n = recv(F.conn[p->conn], buf_data(&F.b), wire_get16(pre), MSG_DONTWAIT);
	if (n != (ssize_t)wire_get16(pre))
		return false;
	buf_put(&F.b, (size_t)n);
	return true;
}

/* Send a message as the client of peer p: by UDP from src, or framed on its connection. */
static void
client_send(struct fpeer *p, int src, const struct buf *m)
{
	uint8_t framed[2 + WIRE_MSG_MAX];

	if (p->conn < 0) {
		udp_send(src, m->mem + m->off, m->len);
		return;
	}
	wire_put16(framed, (uint16_t)m->len);
	memcpy(framed + 2, m->mem + m->off, m->len);
	tcp_send(p->conn, framed, 2 + m->len);
}

/* A real handshake for peer k: initiation, the engine's response, our keepalive. */
static void
handshake(int k, int src)
{
	struct fpeer *p = &F.peers[k];

	if (!p->started) {
		if (session_local_init(&p->local, client_priv[k]) == -1 ||
		    session_init(&p->s, &p->client_cfg, &p->local, true) == -1)
			abort();
		p->started = true;
	}
	if (p->client_cfg.proto == VT_TCP) {
		tcp_open(src);
		if (F.nconn == 0)
			return;
		p->conn = F.nconn - 1;
	}
	if (session_initiate(&p->s, F.next_index++, clock_ms(), &F.out) != SV_SEND)
		return;
	client_send(p, src, &F.out);
	settle();
	if (!receive(p, src) || wire_classify(buf_data(&F.b), F.b.len) != WIRE_HS_RESP)
		return;
	if (session_consume_response(&p->s, buf_data(&F.b), F.b.len, clock_ms(), &F.out) ==
	    SV_SEND)
		client_send(p, src, &F.out);
}

/* Bytes as a frame sealed by peer k's client. */
static void
sealed(int k, int src, const uint8_t *d, size_t n)
{
	struct fpeer *p = &F.peers[k];

	if (!p->started || n == 0 || n > BUF_MAX_FRAME)
		return;
	buf_reset(&F.out);
	memcpy(buf_put(&F.out, n), d, n);
	if (session_encap(&p->s, &F.out, clock_ms()) == SV_SEND)
		client_send(p, src, &F.out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0;
	int ops = 0;

	once();
	setup();
	while (off + 4 <= size && ops++ < MAX_OPS) {
		uint8_t op = data[off] % 9, arg = data[off + 1];
		size_t n = wire_get16(data + off + 2);
		const uint8_t *p = data + off + 4;

		off += 4;
		if (n > size - off)
			n = size - off;
		off += n;
		switch (op) {
		case 0:
			udp_send(arg % NSRC, p, n);
			break;
		case 1:
			tcp_open(arg % NSRC);
			break;
		case 2:
			tcp_send(arg, p, n);
			break;
		case 3:
			if (F.nconn > 0 && F.conn[arg % F.nconn] != -1) {
				close(F.conn[arg % F.nconn]);
				F.conn[arg % F.nconn] = -1;
			}
			break;
		case 4:
			control(p, n);
			break;
		case 5:
			send(F.peers[arg % NPEERS].dev[1], p, n, MSG_DONTWAIT);
			break;
		case 6:
			handshake(arg % NPEERS, (arg / NPEERS) % NSRC);
			break;
		case 7:
			sealed(arg % NPEERS, (arg / NPEERS) % NSRC, p, n);
			break;
		case 8:
			send(F.chan[1], p, n, MSG_DONTWAIT);
			break;
		}
		settle();
	}
	teardown();
	return 0;
}
