/*
 * fuzz_noise.c - libFuzzer target for the Noise IKpsk2 core: the input is read as message 1 by a
 * responder and, separately, as message 2 by an initiator that has written message 1. Keys and
 * ephemerals are fixed, so the seeds in corpus/noise/ are valid messages and mutations of them
 * reach every token. A refused message must leave the state untouched.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "src/noise.h" /* fuzzers get -I$(srcdir), not -I src */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Fixed test keys: any 32 bytes are X25519 private keys. */
static const uint8_t init_static[32] = "vtund-ng fuzz initiator static.";
static const uint8_t resp_static[32] = "vtund-ng fuzz responder static.";
static const uint8_t init_eph[32] = "vtund-ng fuzz initiator ephemer";
static const uint8_t resp_eph[32] = "vtund-ng fuzz responder ephemer";
static const uint8_t psk[32] = "vtund-ng fuzz pre-shared key...";
static const uint8_t prologue[] = "vtund-ng fuzz";
static const uint8_t payload1[12] = "timestamp..";

/* States built once: a fresh responder, and an initiator that has written message 1. */
static struct noise_hs responder0, initiator1;
static uint8_t msg1[128];
static size_t msg1_len;

static void
setup(void)
{
	static int done;
	uint8_t rpub[32];

	if (done)
		return;
	done = 1;
	if (crypto_x25519_public(resp_static, rpub) == -1)
		abort();
	if (noise_init(&responder0, NOISE_IKPSK2, CRYPTO_AESGCM, false, prologue,
	    sizeof(prologue), resp_static, NULL, NULL) == -1)
		abort();
	noise_set_ephemeral(&responder0, resp_eph);
	if (noise_init(&initiator1, NOISE_IKPSK2, CRYPTO_AESGCM, true, prologue, sizeof(prologue),
	    init_static, rpub, psk) == -1)
		abort();
	noise_set_ephemeral(&initiator1, init_eph);
	if (noise_write_message(&initiator1, payload1, sizeof(payload1), msg1, sizeof(msg1),
	    &msg1_len) == -1)
		abort();
}

/* Read data as message 1; on success finish the responder's side. */
static void
as_message1(const uint8_t *data, size_t size)
{
	struct noise_hs r;
	uint8_t payload[NOISE_MAX_MSG], out[256], k1[32], k2[32];
	size_t plen, olen;

	memcpy(&r, &responder0, sizeof(r)); /* memcpy: the memcmp below sees padding too */
	if (noise_read_message(&r, data, size, payload, sizeof(payload), &plen) == -1) {
		if (memcmp(&r, &responder0, sizeof(r)) != 0)
			abort(); /* a refused message changed the state */
		return;
	}
	if (plen > size || noise_remote_static(&r) == NULL)
		abort();
	noise_set_psk(&r, psk);
	if (noise_write_message(&r, NULL, 0, out, sizeof(out), &olen) == -1)
		abort();
	noise_split(&r, k1, k2);
	noise_wipe(&r);
}

/* Read data as message 2 by the initiator that wrote msg1. */
static void
as_message2(const uint8_t *data, size_t size)
{
	struct noise_hs i;
	uint8_t payload[NOISE_MAX_MSG], k1[32], k2[32];
	size_t plen;

	memcpy(&i, &initiator1, sizeof(i));
	if (noise_read_message(&i, data, size, payload, sizeof(payload), &plen) == -1) {
		if (memcmp(&i, &initiator1, sizeof(i)) != 0)
			abort();
		return;
	}
	if (!noise_complete(&i) || plen > size)
		abort();
	noise_split(&i, k1, k2);
	noise_wipe(&i);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	setup();
	as_message1(data, size);
	as_message2(data, size);
	return 0;
}
