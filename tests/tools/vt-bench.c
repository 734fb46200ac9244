/*
 * vt-bench.c - cost of the crypto vtund-ng does on one core: AEAD seal/open per packet,
 * X25519 operations and Noise IKpsk2 handshakes (whole, and the responder's share); and the
 * seals of whole batches shared by the data path's pool of threads (threads = N), on as many
 * threads as the machine has CPUs (up to 4): the scaling of the crypto alone, on idle cores.
 * Usage: vt-bench [--quick]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <unistd.h>

#include "src/crypto.h" /* tools get -I$(srcdir), not -I src */
#include "src/noise.h"
#include "src/pool.h"

#define MAX_PKT 1420

static double run_seconds = 1.0;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Anything a benchmark computes goes here so the compiler cannot drop the work. */
static volatile uint8_t sink;

/* Run op in batches until run_seconds have passed; return seconds per operation. */
static double
measure(void (*op)(void *), void *arg)
{
	double start, elapsed;
	unsigned long n = 0, batch = 16;

	op(arg); /* warm up caches and lazy initialisation */
	start = now();
	do {
		unsigned long i;

		for (i = 0; i < batch; i++)
			op(arg);
		n += batch;
		if (batch < 4096)
			batch *= 2;
		elapsed = now() - start;
	} while (elapsed < run_seconds);
	return elapsed / (double)n;
}

struct aead_job {
	struct crypto_aead seal, open;
	uint64_t nonce;
	size_t len;
	uint8_t pt[MAX_PKT], ct[MAX_PKT + CRYPTO_TAG_LEN], out[MAX_PKT];
	uint8_t ad[16];
};

static void
op_seal(void *arg)
{
	struct aead_job *j = arg;

	if (crypto_aead_seal(&j->seal, j->nonce++, j->ad, sizeof(j->ad), j->pt, j->len,
	    j->ct) == -1)
		abort();
	sink ^= j->ct[0];
}

static void
op_open(void *arg)
{
	struct aead_job *j = arg;

	/* Same nonce every time: opening the one packet repeatedly measures the full check. */
	if (crypto_aead_open(&j->open, j->nonce, j->ad, sizeof(j->ad), j->ct,
	    j->len + CRYPTO_TAG_LEN, j->out) == -1)
		abort();
	sink ^= j->out[0];
}

static void
bench_aead(enum crypto_suite suite, const char *name)
{
	static const size_t sizes[] = { 64, MAX_PKT };
	static struct aead_job j;
	uint8_t key[32];
	size_t i;

	crypto_random(key, sizeof(key));
	crypto_random(j.pt, sizeof(j.pt));
	crypto_random(j.ad, sizeof(j.ad));
	if (crypto_aead_init(&j.seal, suite, key, true) == -1 ||
	    crypto_aead_init(&j.open, suite, key, false) == -1) {
		fprintf(stderr, "%s: cannot prepare the key\n", name);
		exit(1);
	}
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		double ts, to;

		j.len = sizes[i];
		j.nonce = 0;
		ts = measure(op_seal, &j);
		/* Open one freshly sealed packet over and over. */
		j.nonce = 12345;
		if (crypto_aead_seal(&j.seal, j.nonce, j.ad, sizeof(j.ad), j.pt, j.len, j.ct) == -1)
			abort();
		to = measure(op_open, &j);
		printf("%-18s %5zu B  seal %7.0f ns  open %7.0f ns  (%6.0f / %6.0f MB/s)\n", name,
		    j.len, ts * 1e9, to * 1e9, (double)j.len / ts / 1e6, (double)j.len / to / 1e6);
	}
	crypto_aead_free(&j.seal);
	crypto_aead_free(&j.open);
	crypto_wipe(key, sizeof(key));
}

struct dh_job {
	uint8_t priv[32], mypub[32], pub[32], out[32];
};

static void
op_x25519(void *arg)
{
	struct dh_job *j = arg;

	if (crypto_x25519(j->out, j->priv, j->pub) == -1)
		abort();
	sink ^= j->out[0];
}

static void
op_x25519_kp(void *arg)
{
	struct dh_job *j = arg;

	if (crypto_x25519_kp(j->out, j->priv, j->mypub, j->pub) == -1)
		abort();
	sink ^= j->out[0];
}

static void
op_keygen(void *arg)
{
	struct dh_job *j = arg;
	uint8_t priv[32];

	if (crypto_x25519_keygen(priv, j->out) == -1)
		abort();
	sink ^= j->out[0];
}

struct hs_job {
	uint8_t is[32], ip[32], rs[32], rp[32], psk[32];
	uint8_t m1[256], m2[256];
	size_t l1, l2;
	struct noise_hs init_after_m1;
};

static const uint8_t payload1[12] = "tai64n stamp"; /* the size of a timestamp payload */

static void
fail(const char *what)
{
	fprintf(stderr, "handshake failed: %s\n", what);
	exit(1);
}

/* Responder side: read message 1, learn the peer, write message 2, split. */
static void
responder(struct hs_job *j)
{
	struct noise_hs r;
	uint8_t pl[64], k1[32], k2[32];
	size_t plen;

	if (noise_init(&r, NOISE_IKPSK2, CRYPTO_AESGCM, false, NULL, 0, j->rs, NULL, NULL) == -1)
		fail("responder init");
	if (noise_read_message(&r, j->m1, j->l1, pl, sizeof(pl), &plen) == -1)
		fail("read 1");
	noise_set_psk(&r, j->psk);
	if (noise_write_message(&r, NULL, 0, j->m2, sizeof(j->m2), &j->l2) == -1)
		fail("write 2");
	noise_split(&r, k1, k2);
	sink ^= k1[0];
	noise_wipe(&r);
}

static void
op_handshake(void *arg)
{
	struct hs_job *j = arg;
	struct noise_hs i;
	uint8_t pl[64], k1[32], k2[32];
	size_t plen;

	if (noise_init(&i, NOISE_IKPSK2, CRYPTO_AESGCM, true, NULL, 0, j->is, j->rp,
	    j->psk) == -1)
		fail("initiator init");
	if (noise_write_message(&i, payload1, sizeof(payload1), j->m1, sizeof(j->m1),
	    &j->l1) == -1)
		fail("write 1");
	responder(j);
	if (noise_read_message(&i, j->m2, j->l2, pl, sizeof(pl), &plen) == -1)
		fail("read 2");
	noise_split(&i, k1, k2);
	sink ^= k1[0];
	noise_wipe(&i);
}

static void
op_responder(void *arg)
{
	responder(arg);
}

static void
bench_handshake(void)
{
	static struct hs_job j;
	double t_full, t_resp;

	if (crypto_x25519_keygen(j.is, j.ip) == -1 || crypto_x25519_keygen(j.rs, j.rp) == -1)
		fail("keygen");
	crypto_random(j.psk, sizeof(j.psk));
	t_full = measure(op_handshake, &j);
	/* Message 1 from the last full handshake is replayed to a fresh responder each time. */
	t_resp = measure(op_responder, &j);
	printf("Noise IKpsk2       full handshake %7.1f us  %7.0f /s (both sides, one core)\n",
	    t_full * 1e6, 1 / t_full);
	printf("Noise IKpsk2       responder only %7.1f us  %7.0f /s (what a server spends)\n",
	    t_resp * 1e6, 1 / t_resp);
}

#define POOL_BATCH 64 /* a recvmmsg / sendmmsg batch of the data path */

struct pool_job {
	struct pool *pl;
	struct crypto_aead seal;
	uint64_t nonce;
	uint8_t pkt[POOL_BATCH][MAX_PKT + CRYPTO_TAG_LEN];
	uint8_t ad[16];
};

static void
pool_item(void *arg, int i, int lane)
{
	struct pool_job *j = arg;

	if (crypto_aead_seal_lane(&j->seal, lane, j->nonce + (uint64_t)i, j->ad, sizeof(j->ad),
	    j->pkt[i], MAX_PKT, j->pkt[i]) == -1)
		abort();
}

static void
op_pool_batch(void *arg)
{
	struct pool_job *j = arg;

	pool_run(j->pl, pool_item, j, POOL_BATCH);
	j->nonce += POOL_BATCH;
	sink ^= j->pkt[POOL_BATCH - 1][0];
}

/* Batches of 64 packets of MAX_PKT bytes sealed by a pool of 1, 2, ... threads. */
static void
bench_pool(void)
{
	static struct pool_job j;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	double one = 0;
	uint8_t key[32];

	crypto_random(key, sizeof(key));
	crypto_random(j.pkt, sizeof(j.pkt));
	for (int lanes = 1; lanes <= 4 && lanes <= cpus; lanes++) {
		double t, gbit;

		if ((j.pl = pool_new(lanes)) == NULL ||
		    crypto_aead_init_lanes(&j.seal, CRYPTO_AESGCM, key, true, lanes) == -1)
			fail("pool");
		t = measure(op_pool_batch, &j);
		gbit = POOL_BATCH * MAX_PKT * 8 / t / 1e9;
		if (lanes == 1)
			one = gbit;
		printf("AES-256-GCM pool   %d thread%s    %5.2f Gbit/s sealed in batches of %d x "
		    "%d B (%.2fx one)\n", lanes, lanes == 1 ? " " : "s", gbit, POOL_BATCH, MAX_PKT,
		    gbit / one);
		crypto_aead_free(&j.seal);
		pool_free(j.pl);
	}
	crypto_wipe(key, sizeof(key));
}

int
main(int argc, char **argv)
{
	struct dh_job dh;
	double t;

	if (argc == 2 && strcmp(argv[1], "--quick") == 0) {
		run_seconds = 0.1;
	} else if (argc != 1) {
		fprintf(stderr, "usage: vt-bench [--quick]\n");
		return 2;
	}
	if (crypto_init() == -1) {
		fprintf(stderr, "vt-bench: crypto_init failed\n");
		return 1;
	}
	bench_aead(CRYPTO_AESGCM, "AES-256-GCM");
	bench_aead(CRYPTO_CHACHAPOLY, "ChaCha20-Poly1305");

	if (crypto_x25519_keygen(dh.priv, dh.mypub) == -1 ||
	    crypto_x25519_keygen(dh.out, dh.pub) == -1)
		fail("keygen");
	t = measure(op_x25519, &dh);
	printf("X25519             shared secret  %7.1f us  %7.0f /s\n", t * 1e6, 1 / t);
	t = measure(op_x25519_kp, &dh);
	printf("X25519             with key pair  %7.1f us  %7.0f /s (as the handshake does)\n",
	    t * 1e6, 1 / t);
	t = measure(op_keygen, &dh);
	printf("X25519             keygen         %7.1f us  %7.0f /s\n", t * 1e6, 1 / t);
	bench_handshake();
	bench_pool();
	return 0;
}
