/*
 * fuzz_canary.c - the fuzz step's self-test, not a fuzzer. scripts/test.sh runs it on the inputs
 * in tests/fuzz/canary/ (as libFuzzer reproduces a crash: the files on the command line) and
 * needs it to halt with a sanitizer report on each planted bug:
 *   signed-overflow  an int addition past INT_MAX (UndefinedBehaviorSanitizer)
 *   heap-overflow    a read one byte past a heap block (AddressSanitizer)
 *   harmless         nothing wrong: must run clean
 * If the fuzz build ever stops halting on a report (a lost -fno-sanitize-recover, an option that
 * lets UBSan go on), the real targets' findings would scroll by unnoticed; this says so.
 * Never fuzz it: it is meant to crash.
 */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile int sink; /* keeps the planted reads and sums from being optimised away */

static int
starts_with(const uint8_t *data, size_t size, const char *word)
{
	size_t n = strlen(word);

	return size >= n && memcmp(data, word, n) == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *p;
	int x = INT_MAX;

	if (starts_with(data, size, "signed-overflow")) {
		x += (int)size; /* size >= 15: overflows */
		sink = x;
	} else if (starts_with(data, size, "heap-overflow")) {
		p = malloc(size);
		if (p == NULL)
			return 0;
		memcpy(p, data, size);
		sink = p[size]; /* one past the end */
		free(p);
	}
	return 0;
}
