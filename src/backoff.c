/* backoff.c - the retry schedule (backoff.h). */
#include "backoff.h"

uint64_t
backoff_wait(unsigned tries, uint32_t rand)
{
	uint64_t base = BACKOFF_FIRST;

	if (tries == 0)
		return 0;
	while (--tries > 0 && base < BACKOFF_MAX)
		base *= 2;
	if (base > BACKOFF_MAX)
		base = BACKOFF_MAX;
	return base + base * (rand % 1000) / 4000;
}

unsigned
backoff_count(unsigned tries)
{
	return tries < BACKOFF_TRIES_MAX ? tries + 1 : tries;
}
