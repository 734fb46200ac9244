/*
 * test_privchan.c - the channel between the root parent and the engine over a real
 * SOCK_SEQPACKET pair: every type sent and received (with its descriptor where it has one),
 * and refusals: wrong size, unknown type, wrong direction, a missing or extra descriptor
 * (closed, none leaks), fields out of range; chan_peer_from and chan_peer_to round trip.
 * Raw messages are sent with sendmsg so that the receiver sees what a broken or hostile other
 * end could send.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "privchan.h"
#include "shaper.h"
#include "ut.h"

#define HDR offsetof(struct chan_msg, u)
#define PEER_SIZE (HDR + sizeof(struct chan_peer))
#define TEXT_SIZE (HDR + sizeof(struct chan_text))
#define ADDR_SIZE (HDR + sizeof(struct chan_addr))

struct fx {
	int sv[2];     /* sv[0] the parent's end, sv[1] the engine's */
	int devnull;   /* a descriptor to pass around */
	int fds_before;
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, f->sv) == -1 ||
	    (f->devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1) {
		free(f);
		return -1;
	}
	f->fds_before = ut_open_fds();
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	int after = ut_open_fds(), before = f->fds_before;

	close(f->sv[0]);
	close(f->sv[1]);

	close(f->devnull);
	free(f);
	/* Whatever a test received, it closed; whatever was refused, chan_recv closed. */
	return after == before ? 0 : -1;
}

/* A configured peer with every setting away from its default. */
static void
sample_peer(struct vt_peer *p)
{
	uint8_t key[32];

	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)(i * 3 + 1);
	ut_peer_cfg(p, "site-b.example", key, VT_TCP, key);
	snprintf(p->device, sizeof(p->device), "vt-siteb");
	p->type = VT_TAP;
	p->cipher = VT_CHACHA20POLY1305;
	p->compress = VT_COMPRESS_LZ4;
	p->persist = true;
	p->mtu = 9000;
	p->keepalive = 25;
	p->timeout = 90;
	p->rekey_interval = 60;
	p->compress_accel = 8;
	p->psk[0] = 0x99;
	p->line = 12;
	p->nremotes = 2;
	snprintf(p->remotes[0].host, sizeof(p->remotes[0].host), "vpn.example");
	p->remotes[0].port = 5001;
	p->remotes[0].proto = VT_UDP;
	p->remotes[0].line = 7;
	snprintf(p->remotes[1].host, sizeof(p->remotes[1].host), "vpn.example");
	p->remotes[1].port = 443;
	p->remotes[1].proto = VT_TCP;
	p->protos = (1u << VT_UDP) | (1u << VT_TCP);
	p->failback = 45;
	p->naddrs = 1;
	p->addrs[0].family = AF_INET;
	p->addrs[0].prefix = 24;
}

/* A valid message of each type (the peer types with sample_peer and a remote). */
static void
valid_msg(struct chan_msg *m, enum chan_type type)
{
	struct sockaddr_in remote = ut_addr("192.0.2.7", 5001);
	struct vt_peer p;

	memset(m, 0, sizeof(*m));
	m->type = type;
	switch (type) {
	case CHAN_PEER_ADD:
	case CHAN_PEER_RESTART:
	case CHAN_PEER_UPDATE:
		sample_peer(&p);
		chan_peer_from(&m->u.peer, 42, &p, UT_SA(remote), sizeof(remote), 0);
		break;
	case CHAN_PEER_REMOVE:
	case CHAN_PEER_GONE:
		m->arg = 42;
		break;
	case CHAN_LOG_LEVEL:
		m->arg = LOG_LVL_DEBUG;
		break;
	case CHAN_SOCKET:
		m->arg = 1;
		break;
	case CHAN_RELOAD_DONE:
		m->u.text.status = 1;
		snprintf(m->u.text.text, sizeof(m->u.text.text), "line 3: no such peer");
		break;
	case CHAN_RESOLVE:
		m->arg = 42;
		m->u.addr.index = 1;
		break;
	case CHAN_RESOLVED:
		m->arg = 42;
		m->u.addr.index = 1;
		memcpy(&m->u.addr.addr, &remote, sizeof(remote));
		m->u.addr.len = sizeof(remote);
		break;
	default:
		break;
	}
}

/* Every type: its exact size, whether a descriptor travels with it, which way it goes. */
static const struct {
	enum chan_type type;
	size_t size;
	bool fd;
	bool down;
} types[] = {
	{ CHAN_PEER_ADD, PEER_SIZE, true, true },
	{ CHAN_PEER_RESTART, PEER_SIZE, false, true },
	{ CHAN_PEER_UPDATE, PEER_SIZE, false, true },
	{ CHAN_PEER_REMOVE, HDR, false, true },
	{ CHAN_LOG_LEVEL, HDR, false, true },
	{ CHAN_SOCKET, HDR, true, true },
	{ CHAN_GO, HDR, false, true },
	{ CHAN_RELOAD_DONE, TEXT_SIZE, false, true },
	{ CHAN_READY, HDR, false, false },
	{ CHAN_PEER_GONE, HDR, false, false },
	{ CHAN_RELOAD, HDR, false, false },
	{ CHAN_ALIVE, HDR, false, false },
	{ CHAN_RESOLVE, ADDR_SIZE, false, false },
	{ CHAN_RESOLVED, ADDR_SIZE, false, true },
};
#define NTYPES (sizeof(types) / sizeof(types[0]))

/* Send len bytes of msg with nfds descriptors, as any other end could. */
static void
raw_send(int sock, const void *msg, size_t len, const int *fds, int nfds)
{
	union {
		char buf[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = (void *)(uintptr_t)msg, .iov_len = len };
	struct msghdr mh;
	struct cmsghdr *cm;

	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (nfds > 0) {
		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int));
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, (size_t)nfds * sizeof(int));
	}
	assert_int_equal(sendmsg(sock, &mh, 0), (ssize_t)len);
}

/* The other end sends it; this end refuses it and nothing it carried stays open. */
static void
expect_refused(struct fx *f, const void *msg, size_t len, const int *fds, int nfds, bool down)
{
	struct chan_msg m;
	int before = ut_open_fds(), fd = 12345;

	raw_send(f->sv[down ? 0 : 1], msg, len, fds, nfds);
	assert_int_equal(chan_recv(f->sv[down ? 1 : 0], down, &m, &fd), -2);
	assert_int_equal(fd, -1);
	assert_int_equal(ut_open_fds(), before);
}

/* Two descriptors lead to the same open file. */
static void
expect_same_file(int a, int b)
{
	struct stat sa, sb;

	assert_int_equal(fstat(a, &sa), 0);
	assert_int_equal(fstat(b, &sb), 0);
	assert_int_equal(sa.st_dev, sb.st_dev);
	assert_int_equal(sa.st_ino, sb.st_ino);
}

/* Every type goes through with exactly its size, its descriptor arriving close-on-exec. */
static void
test_every_type(void **state)
{
	struct fx *f = *state;

	for (size_t k = 0; k < NTYPES; k++) {
		struct chan_msg m, got;
		int from = f->sv[types[k].down ? 0 : 1], to = f->sv[types[k].down ? 1 : 0];
		int fd = -2;

		valid_msg(&m, types[k].type);
		assert_true(chan_valid(&m, types[k].size, types[k].fd, types[k].down));
		assert_int_equal(chan_send(from, &m, types[k].fd ? f->devnull : -1), 0);
		assert_int_equal(ut_pending_bytes(to) > 0, 1);
		assert_int_equal(chan_recv(to, types[k].down, &got, &fd), 1);
		assert_memory_equal(&got, &m, types[k].size);
		if (types[k].fd) {
			assert_true(fd >= 0);
			assert_int_not_equal(fd, f->devnull);
			expect_same_file(fd, f->devnull);
			assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
			close(fd);
		} else {
			assert_int_equal(fd, -1);
		}
	}
}

/* The simple form, and what chan_send refuses before anything is written. */
static void
test_send_refusals(void **state)
{
	struct fx *f = *state;
	struct chan_msg m;
	int fd;

	assert_int_equal(chan_send_simple(f->sv[0], CHAN_GO, 0), 0);
	assert_int_equal(chan_recv(f->sv[1], true, &m, &fd), 1);
	assert_int_equal(m.type, CHAN_GO);
	assert_int_equal(chan_send_simple(f->sv[1], CHAN_PEER_GONE, 9), 0);
	assert_int_equal(chan_recv(f->sv[0], false, &m, &fd), 1);
	assert_int_equal(m.arg, 9);
	/* A type that needs a descriptor, without one; one that has none, with one; unknown. */
	assert_int_equal(chan_send_simple(f->sv[0], CHAN_SOCKET, 0), -1);
	valid_msg(&m, CHAN_GO);
	assert_int_equal(chan_send(f->sv[0], &m, f->devnull), -1);
	assert_int_equal(chan_send_simple(f->sv[0], (enum chan_type)0, 0), -1);
	assert_int_equal(chan_send_simple(f->sv[0], CHAN_TYPE_MAX, 0), -1);
	/* Nothing was written. */
	assert_int_equal(chan_recv(f->sv[1], true, &m, &fd), -1);
	assert_int_equal(fd, -1);
}

/* Nothing waiting, then the other end closes. */
static void
test_empty_and_eof(void **state)
{
	struct fx *f = *state;
	struct chan_msg m;
	int fd;

	assert_int_equal(chan_recv(f->sv[1], true, &m, &fd), -1);
	close(f->sv[0]);
	f->sv[0] = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0); /* for teardown */
	assert_int_equal(chan_recv(f->sv[1], true, &m, &fd), 0);
}

/* Each type one byte short and one byte long; shorter than a header; longer than any
 * message (cut by the kernel: MSG_TRUNC). */
static void
test_wrong_size(void **state)
{
	static union {
		struct chan_msg m;
		uint8_t b[2048];
	} big;
	struct fx *f = *state;

	for (size_t k = 0; k < NTYPES; k++) {
		struct chan_msg m[2];
		int nfds = types[k].fd ? 1 : 0;

		memset(m, 0, sizeof(m));
		valid_msg(&m[0], types[k].type);
		expect_refused(f, m, types[k].size - 1, &f->devnull, nfds, types[k].down);
		expect_refused(f, m, types[k].size + 1, &f->devnull, nfds, types[k].down);
		assert_false(chan_valid(m, types[k].size - 1, types[k].fd, types[k].down));
		assert_false(chan_valid(m, types[k].size + 1, types[k].fd, types[k].down));
		assert_false(chan_valid(m, 3, types[k].fd, types[k].down));
	}
	valid_msg(&big.m, CHAN_GO);
	expect_refused(f, big.b, 4, NULL, 0, true);
	expect_refused(f, big.b, sizeof(big.b), NULL, 0, true);
	expect_refused(f, big.b, sizeof(struct chan_msg), NULL, 0, true);
	assert_false(chan_valid(big.b, sizeof(big.b), false, true));
	assert_false(chan_valid(big.b, 0, false, true));
}

/* Types 0, CHAN_TYPE_MAX and beyond are refused in either direction. */
static void
test_unknown_type(void **state)
{
	static const uint32_t bad[] = { 0, CHAN_TYPE_MAX, CHAN_TYPE_MAX + 1, 0x100,
		0xffffffffu };
	struct fx *f = *state;
	struct chan_msg m;

	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		memset(&m, 0, sizeof(m));
		m.type = bad[k];
		expect_refused(f, &m, HDR, NULL, 0, true);
		expect_refused(f, &m, HDR, NULL, 0, false);
		expect_refused(f, &m, PEER_SIZE, &f->devnull, 1, true);
		assert_false(chan_valid(&m, HDR, false, true));
		assert_false(chan_valid(&m, HDR, false, false));
	}
}

/* Requests flow down and only READY, PEER_GONE and RELOAD up: each type the wrong way. */
static void
test_wrong_direction(void **state)
{
	struct fx *f = *state;

	for (size_t k = 0; k < NTYPES; k++) {
		struct chan_msg m;

		valid_msg(&m, types[k].type);
		expect_refused(f, &m, types[k].size, &f->devnull, types[k].fd ? 1 : 0,
		    !types[k].down);
		assert_false(chan_valid(&m, types[k].size, types[k].fd, !types[k].down));
	}
}

/* A descriptor missing, or one too many, or several: refused, every one closed. */
static void
test_descriptors(void **state)
{
	struct fx *f = *state;
	int fds[4];

	for (int i = 0; i < 4; i++)
		fds[i] = f->devnull;
	for (size_t k = 0; k < NTYPES; k++) {
		struct chan_msg m;

		valid_msg(&m, types[k].type);
		if (types[k].fd) {
			expect_refused(f, &m, types[k].size, NULL, 0, types[k].down);
			expect_refused(f, &m, types[k].size, fds, 2, types[k].down);
		} else {
			expect_refused(f, &m, types[k].size, fds, 1, types[k].down);
		}
		assert_false(chan_valid(&m, types[k].size, !types[k].fd, types[k].down));
		/* More than the receiver has room for: the kernel cuts the rest (MSG_CTRUNC). */
		expect_refused(f, &m, types[k].size, fds, 3, types[k].down);
		expect_refused(f, &m, types[k].size, fds, 4, types[k].down);
	}
}

/* Change one field of a valid peer message; report whether chan_valid accepts it. */
typedef void (*peer_edit)(struct chan_peer *);

#define EDIT(name, stmt) static void name(struct chan_peer *cp) { stmt; }
EDIT(mtu_low, cp->mtu = 575)
EDIT(mtu_min, cp->mtu = 576)
EDIT(mtu_max, cp->mtu = 9000)
EDIT(mtu_high, cp->mtu = 9001)
EDIT(type_bad, cp->type = VT_DEVTYPE_MAX)
EDIT(proto_bad, cp->proto = VT_PROTO_MAX)
EDIT(cipher_bad, cp->cipher = VT_CIPHER_MAX)
EDIT(compress_bad, cp->compress = VT_COMPRESS_MAX)
EDIT(persist_bad, cp->persist = 2)
EDIT(psk_bad, cp->has_psk = 2)
EDIT(keepalive_low, cp->keepalive = -1)
EDIT(keepalive_zero, cp->keepalive = 0)
EDIT(keepalive_max, cp->keepalive = 3600)
EDIT(keepalive_high, cp->keepalive = 3601)
EDIT(timeout_low, cp->timeout = -1)
EDIT(timeout_max, cp->timeout = 86400)
EDIT(timeout_high, cp->timeout = 86401)
EDIT(rekey_low, cp->rekey_interval = 9)
EDIT(rekey_min, cp->rekey_interval = 10)
EDIT(rekey_max, cp->rekey_interval = 120)
EDIT(rekey_high, cp->rekey_interval = 121)
EDIT(accel_low, cp->compress_accel = 0)
EDIT(accel_max, cp->compress_accel = 65537)
EDIT(accel_high, cp->compress_accel = 65538)
EDIT(name_unterminated, memset(cp->name, 'a', sizeof(cp->name)))
EDIT(name_longest, memset(cp->name, 'a', sizeof(cp->name) - 1))
EDIT(name_empty, cp->name[0] = '\0')
EDIT(name_digit, cp->name[0] = '1')
EDIT(name_slash, cp->name[2] = '/')
EDIT(device_unterminated, memset(cp->device, 'v', sizeof(cp->device)))
EDIT(device_empty, cp->device[0] = '\0')
EDIT(protos_none, cp->protos = 0)
EDIT(protos_beyond, cp->protos = 4)
EDIT(protos_without_proto, { cp->protos = 1u << VT_UDP; cp->remotes[1].proto = VT_UDP; })
EDIT(remotes_max, { cp->nremotes = CONFIG_MAX_REMOTES; for (int i = 2; i < CONFIG_MAX_REMOTES;
    i++) cp->remotes[i] = cp->remotes[0]; })
EDIT(remotes_over, cp->nremotes = CONFIG_MAX_REMOTES + 1)
EDIT(remote_index_last, cp->remote_index = 1)
EDIT(remote_index_over, cp->remote_index = 2)
EDIT(remote_index_none, { cp->nremotes = 0; cp->remote_index = 1; })
EDIT(remote_host_unterminated, memset(cp->remotes[1].host, 'h', sizeof(cp->remotes[1].host)))
EDIT(remote_host_empty, cp->remotes[1].host[0] = '\0')
EDIT(remote_port_zero, cp->remotes[1].port = 0)
EDIT(remote_proto_bad, cp->remotes[1].proto = VT_PROTO_MAX)
EDIT(remote_proto_not_allowed, cp->protos = 1u << VT_TCP)
EDIT(failback_low, cp->failback = -1)
EDIT(failback_max, cp->failback = 86400)
EDIT(failback_high, cp->failback = 86401)
EDIT(device_slash, cp->device[1] = '/')
EDIT(device_dotdot, snprintf(cp->device, sizeof(cp->device), ".."))
EDIT(id_zero, cp->id = 0)
EDIT(remote_none, cp->remote_len = 0)
EDIT(remote_too_long, cp->remote_len = sizeof(cp->remote) + 1)
EDIT(remote_short, cp->remote_len = sizeof(struct sockaddr_in) - 1)
EDIT(remote_v4_as_v6, cp->remote_len = sizeof(struct sockaddr_in6))
EDIT(remote_v6, { struct sockaddr_in6 *s6 = (void *)&cp->remote; memset(s6, 0, sizeof(*s6));
    s6->sin6_family = AF_INET6; cp->remote_len = sizeof(*s6); })
EDIT(remote_v6_as_v4, { cp->remote.ss_family = AF_INET6;
    cp->remote_len = sizeof(struct sockaddr_in); })
EDIT(remote_unix, { cp->remote.ss_family = AF_UNIX; })
EDIT(rate_in_low, cp->rate_in = SHAPER_RATE_MIN - 1)
EDIT(rate_in_min, cp->rate_in = SHAPER_RATE_MIN)
EDIT(rate_out_max, cp->rate_out = SHAPER_RATE_MAX)
EDIT(rate_out_high, cp->rate_out = SHAPER_RATE_MAX + 1)
EDIT(burst_low, { cp->rate_out = SHAPER_RATE_MIN; cp->rate_burst = SHAPER_BURST_MIN - 1; })
EDIT(burst_max, { cp->rate_out = SHAPER_RATE_MIN; cp->rate_burst = SHAPER_BURST_MAX; })
EDIT(burst_high, cp->rate_burst = SHAPER_BURST_MAX + 1)
#undef EDIT

static const struct {
	const char *what;
	peer_edit edit;
	bool valid;
} peer_edits[] = {
	{ "mtu 575", mtu_low, false }, { "mtu 576", mtu_min, true },
	{ "mtu 9000", mtu_max, true }, { "mtu 9001", mtu_high, false },
	{ "type", type_bad, false }, { "proto", proto_bad, false },
	{ "cipher", cipher_bad, false }, { "compress", compress_bad, false },
	{ "persist 2", persist_bad, false }, { "has_psk 2", psk_bad, false },
	{ "keepalive -1", keepalive_low, false }, { "keepalive 0", keepalive_zero, true },
	{ "keepalive 3600", keepalive_max, true }, { "keepalive 3601", keepalive_high, false },
	{ "timeout -1", timeout_low, false }, { "timeout 86400", timeout_max, true },
	{ "timeout 86401", timeout_high, false }, { "rekey 9", rekey_low, false },
	{ "rekey 10", rekey_min, true }, { "rekey 120", rekey_max, true },
	{ "rekey 121", rekey_high, false }, { "accel 0", accel_low, false },
	{ "accel 65537", accel_max, true }, { "accel 65538", accel_high, false },
	{ "name unterminated", name_unterminated, false },
	{ "name of 31", name_longest, true }, { "name empty", name_empty, false },
	{ "name digit first", name_digit, false }, { "name slash", name_slash, false },
	{ "device unterminated", device_unterminated, false },
	{ "device empty", device_empty, false }, { "device slash", device_slash, false },
	{ "device ..", device_dotdot, false }, { "id 0", id_zero, false },
	{ "no remote", remote_none, true }, { "remote_len too long", remote_too_long, false },
	{ "remote_len short", remote_short, false },
	{ "v4 remote, v6 length", remote_v4_as_v6, false }, { "v6 remote", remote_v6, true },
	{ "v6 remote, v4 length", remote_v6_as_v4, false },
	{ "unix remote", remote_unix, false },
	{ "rate-in under 8kbit", rate_in_low, false }, { "rate-in 8kbit", rate_in_min, true },
	{ "rate-out 100gbit", rate_out_max, true }, { "rate-out over", rate_out_high, false },
	{ "burst under 2kb", burst_low, false }, { "burst 64mb", burst_max, true },
	{ "burst over 64mb", burst_high, false },
	{ "protos none", protos_none, false }, { "protos beyond", protos_beyond, false },
	{ "protos without proto", protos_without_proto, false },
	{ "8 remotes", remotes_max, true }, { "9 remotes", remotes_over, false },
	{ "remote_index last", remote_index_last, true },
	{ "remote_index over", remote_index_over, false },
	{ "remote_index, no remotes", remote_index_none, false },
	{ "remote host unterminated", remote_host_unterminated, false },
	{ "remote host empty", remote_host_empty, false },
	{ "remote port 0", remote_port_zero, false }, { "remote proto", remote_proto_bad, false },
	{ "remote proto not in protos", remote_proto_not_allowed, false },
	{ "failback -1", failback_low, false }, { "failback 86400", failback_max, true },
	{ "failback 86401", failback_high, false },
};

/* Each field at and beyond its limits, for each peer type; the refusals also through the
 * socket, where the descriptor that came with a PEER_ADD is closed. */
static void
test_peer_fields(void **state)
{
	static const enum chan_type peer_types[] = { CHAN_PEER_ADD, CHAN_PEER_RESTART,
		CHAN_PEER_UPDATE };
	struct fx *f = *state;

	for (size_t t = 0; t < 3; t++) {
		bool fd = peer_types[t] == CHAN_PEER_ADD;

		for (size_t k = 0; k < sizeof(peer_edits) / sizeof(peer_edits[0]); k++) {
			struct chan_msg m;

			valid_msg(&m, peer_types[t]);
			peer_edits[k].edit(&m.u.peer);
			if (chan_valid(&m, PEER_SIZE, fd, true) != peer_edits[k].valid)
				fail_msg("type %d, %s: expected %s", (int)peer_types[t],
				    peer_edits[k].what, peer_edits[k].valid ? "valid" : "refused");
			if (!peer_edits[k].valid)
				expect_refused(f, &m, PEER_SIZE, &f->devnull, fd ? 1 : 0, true);
		}
		/* A peer message's arg must be 0. */
		{
			struct chan_msg m;

			valid_msg(&m, peer_types[t]);
			m.arg = 1;
			assert_false(chan_valid(&m, PEER_SIZE, fd, true));
		}
	}
}

/* The arguments of the messages without payload, and the reload result. */
static void
test_other_fields(void **state)
{
	static const struct {
		enum chan_type type;
		uint32_t arg;
		bool valid;
	} args[] = {
		{ CHAN_LOG_LEVEL, LOG_LVL_ERR, true }, { CHAN_LOG_LEVEL, LOG_LVL_DEBUG, true },
		{ CHAN_LOG_LEVEL, LOG_LVL_DEBUG + 1, false }, { CHAN_SOCKET, 0, true },
		{ CHAN_SOCKET, 1, true }, { CHAN_SOCKET, 2, false },
		{ CHAN_PEER_REMOVE, 0, false }, { CHAN_PEER_REMOVE, 0xffffffffu, true },
		{ CHAN_PEER_GONE, 0, false }, { CHAN_GO, 1, false }, { CHAN_READY, 1, false },
		{ CHAN_RELOAD, 7, false }, { CHAN_RELOAD_DONE, 1, false },
		{ CHAN_ALIVE, 0, true }, { CHAN_ALIVE, 0xffffffffu, true },
	};
	struct fx *f = *state;
	struct chan_msg m;

	for (size_t k = 0; k < sizeof(args) / sizeof(args[0]); k++) {
		size_t i;

		for (i = 0; types[i].type != args[k].type; i++)
			;
		valid_msg(&m, args[k].type);
		m.arg = args[k].arg;
		assert_int_equal(chan_valid(&m, types[i].size, types[i].fd, types[i].down),
		    args[k].valid);
		if (!args[k].valid)
			expect_refused(f, &m, types[i].size, &f->devnull, types[i].fd ? 1 : 0,
			    types[i].down);
	}
	valid_msg(&m, CHAN_RELOAD_DONE);
	m.u.text.status = 0;
	assert_true(chan_valid(&m, TEXT_SIZE, false, true));
	m.u.text.status = 2;
	assert_false(chan_valid(&m, TEXT_SIZE, false, true));
	m.u.text.status = -1;
	assert_false(chan_valid(&m, TEXT_SIZE, false, true));
	valid_msg(&m, CHAN_RELOAD_DONE);
	memset(m.u.text.text, 'x', sizeof(m.u.text.text));
	assert_false(chan_valid(&m, TEXT_SIZE, false, true));
	expect_refused(f, &m, TEXT_SIZE, NULL, 0, true);
	m.u.text.text[CHAN_TEXT_MAX - 1] = '\0';
	assert_true(chan_valid(&m, TEXT_SIZE, false, true));
	/* A lookup: for a peer, of a remote in range; its answer an address of its family's
	 * size, or a failure with a terminated reason. */
	valid_msg(&m, CHAN_RESOLVE);
	assert_true(chan_valid(&m, ADDR_SIZE, false, false));
	m.u.addr.index = CONFIG_MAX_REMOTES;
	assert_false(chan_valid(&m, ADDR_SIZE, false, false));
	valid_msg(&m, CHAN_RESOLVE);
	m.arg = 0;
	assert_false(chan_valid(&m, ADDR_SIZE, false, false));
	valid_msg(&m, CHAN_RESOLVED);
	assert_true(chan_valid(&m, ADDR_SIZE, false, true));
	assert_false(chan_valid(&m, ADDR_SIZE, false, false)); /* it goes down only */
	m.u.addr.len = sizeof(struct sockaddr_in6);
	assert_false(chan_valid(&m, ADDR_SIZE, false, true));
	m.u.addr.status = 1; /* a failure carries no address to check */
	snprintf(m.u.addr.err, sizeof(m.u.addr.err), "Name or service not known");
	assert_true(chan_valid(&m, ADDR_SIZE, false, true));
	memset(m.u.addr.err, 'e', sizeof(m.u.addr.err));
	assert_false(chan_valid(&m, ADDR_SIZE, false, true));
	expect_refused(f, &m, ADDR_SIZE, NULL, 0, true);
	valid_msg(&m, CHAN_RESOLVED);
	m.u.addr.status = 2;
	assert_false(chan_valid(&m, ADDR_SIZE, false, true));
	valid_msg(&m, CHAN_RESOLVED);
	m.u.addr.index = CONFIG_MAX_REMOTES;
	assert_false(chan_valid(&m, ADDR_SIZE, false, true));
}

/* chan_valid takes any bytes of any length without reading past them (ASan watches). */
static void
test_valid_any_bytes(void **state)
{
	struct chan_msg m;

	(void)state;
	for (int k = 0; k < 20000; k++) {
		size_t len = (size_t)(k * 7919) % (sizeof(m) + 16);
		uint8_t *p;

		if (len == 0) {
			assert_false(chan_valid(&m, 0, false, true));
			continue;
		}
		p = malloc(len); /* exactly len: ASan sees any read beyond */
		assert_non_null(p);
		for (size_t i = 0; i < len; i++)
			p[i] = (uint8_t)(k * 31 + i * 17);
		/* Mostly known types, so that the field checks run too. */
		p[0] = (uint8_t)(k % (CHAN_TYPE_MAX + 2));
		for (size_t i = 1; i < len && i < 4; i++)
			p[i] = 0;
		chan_valid(p, len, k % 2 == 0, k % 3 == 0);
		free(p);
	}
}

/* A peer's settings survive chan_peer_from then chan_peer_to; hooks, addresses and the
 * remote host stay with the parent. */
static void
test_peer_round_trip(void **state)
{
	struct sockaddr_in6 r6;
	struct chan_peer cp;
	struct vt_peer in, out;
	struct vt_cmd one[1];
	char arg[] = "/bin/true";

	(void)state;
	sample_peer(&in);
	memset(one, 0, sizeof(one));
	in.up.ncmds = 1;
	in.up.cmds = one;
	in.up.cmds[0].argv[0] = arg;
	memset(&r6, 0, sizeof(r6));
	r6.sin6_family = AF_INET6;
	r6.sin6_port = htons(5001);
	r6.sin6_addr.s6_addr[15] = 1;
	chan_peer_from(&cp, 77, &in, UT_SA(r6), sizeof(r6), 0);
	assert_int_equal(cp.id, 77);
	assert_int_equal(cp.remote_len, sizeof(r6));
	assert_memory_equal(&cp.remote, &r6, sizeof(r6));
	chan_peer_to(&cp, &out);
	assert_string_equal(out.name, in.name);
	assert_string_equal(out.device, in.device);
	assert_int_equal(out.type, in.type);
	assert_int_equal(out.proto, in.proto);
	assert_int_equal(out.cipher, in.cipher);
	assert_int_equal(out.compress, in.compress);
	assert_int_equal(out.persist, in.persist);
	assert_int_equal(out.has_psk, in.has_psk);
	assert_int_equal(out.mtu, in.mtu);
	assert_int_equal(out.keepalive, in.keepalive);
	assert_int_equal(out.timeout, in.timeout);
	assert_int_equal(out.rekey_interval, in.rekey_interval);
	assert_int_equal(out.compress_accel, in.compress_accel);
	assert_memory_equal(out.public_key, in.public_key, 32);
	assert_memory_equal(out.psk, in.psk, 32);
	assert_int_equal(out.up.ncmds, 0);
	assert_null(out.up.cmds);
	assert_int_equal(out.naddrs, 0);
	/* The remotes travel (the engine tries them and shows which), not their lines. */
	assert_int_equal(out.nremotes, 2);
	assert_string_equal(out.remotes[1].host, "vpn.example");
	assert_int_equal(out.remotes[1].port, 443);
	assert_int_equal(out.remotes[1].proto, VT_TCP);
	assert_int_equal(out.remotes[0].line, 0);
	assert_int_equal(out.protos, in.protos);
	assert_int_equal(out.failback, 45);
	assert_int_equal(out.line, 0);
	chan_peer_from(&cp, 77, &in, UT_SA(r6), sizeof(r6), 1);
	assert_int_equal(cp.remote_index, 1);
	/* No remote, or one too long for the message: none is sent. */
	chan_peer_from(&cp, 77, &in, NULL, 0, 0);
	assert_int_equal(cp.remote_len, 0);
	chan_peer_from(&cp, 77, &in, UT_SA(r6), sizeof(struct sockaddr_storage) + 1, 0);
	assert_int_equal(cp.remote_len, 0);
	/* A message built from a configured peer is valid as it is. */
	{
		struct chan_msg m;

		memset(&m, 0, sizeof(m));
		m.type = CHAN_PEER_RESTART;
		chan_peer_from(&m.u.peer, 77, &in, UT_SA(r6), sizeof(r6), 0);
		assert_true(chan_valid(&m, PEER_SIZE, false, true));
	}
}

int
main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_every_type),
		T(test_send_refusals),
		T(test_empty_and_eof),
		T(test_wrong_size),
		T(test_unknown_type),
		T(test_wrong_direction),
		T(test_descriptors),
		T(test_peer_fields),
		T(test_other_fields),
		cmocka_unit_test(test_valid_any_bytes),
		cmocka_unit_test(test_peer_round_trip),
	};
#undef T

	log_init(true, LOG_LVL_ERR);
	return cmocka_run_group_tests_name("privchan", tests, NULL, NULL);
}
