/* failover.c - which remote a client tries next (failover.h). */
#include "failover.h"

void
failover_init(struct failover *f, int n, int first)
{
	f->n = n > 0 ? n : 1;
	f->cur = first >= 0 && first < f->n ? first : 0;
	f->tries = 0;
	f->probe = -1;
	f->next_probe = 0;
	f->probe_at = UINT64_MAX;
	f->probe_until = 0;
}

int
failover_where(struct failover *f)
{
	if (f->tries >= FAILOVER_TRIES && f->n > 1) {
		f->cur = (f->cur + 1) % f->n;
		f->tries = 0;
	}
	return f->cur;
}

bool
failover_exhausted(const struct failover *f)
{
	return f->n > 1 && f->tries >= FAILOVER_TRIES;
}

void
failover_tried(struct failover *f)
{
	if (f->tries < FAILOVER_TRIES)
		f->tries++;
}

void
failover_up(struct failover *f, int at, uint64_t failback, uint64_t now)
{
	if (at >= 0 && at < f->n)
		f->cur = at;
	f->tries = 0;
	f->probe = -1;
	f->next_probe = 0;
	f->probe_at = f->cur > 0 && failback > 0 ? now + failback : UINT64_MAX;
}

void
failover_down(struct failover *f)
{
	f->cur = 0;
	f->tries = 0;
	f->probe = -1;
	f->next_probe = 0;
	f->probe_at = UINT64_MAX;
}

int
failover_probe(struct failover *f, uint64_t now)
{
	if (f->probe != -1 || f->cur == 0 || now < f->probe_at)
		return -1;
	if (f->next_probe >= f->cur)
		f->next_probe = 0;
	f->probe = f->next_probe++;
	f->probe_until = now + FAILOVER_PROBE_MS;
	f->probe_at = UINT64_MAX;
	return f->probe;
}

void
failover_probe_over(struct failover *f, uint64_t failback, uint64_t now)
{
	f->probe = -1;
	f->probe_at = f->cur > 0 && failback > 0 ? now + failback : UINT64_MAX;
}

uint64_t
failover_deadline(const struct failover *f)
{
	return f->probe != -1 ? f->probe_until : f->probe_at;
}
