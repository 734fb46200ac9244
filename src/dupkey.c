/* dupkey.c - one key, two clients (dupkey.h). */
#include "dupkey.h"

#include <string.h>

uint64_t
dupkey_window(int timeout_s)
{
	uint64_t w = timeout_s > 0 ? (uint64_t)timeout_s * 4000 : 0;

	return w > DUPKEY_WINDOW_MIN ? w : DUPKEY_WINDOW_MIN;
}

enum dupkey_verdict
dupkey_decide(struct dupkey *d, enum vt_duplicate policy, bool contested, uint64_t window,
    uint64_t now)
{
	unsigned recent = 0;

	if (!contested)
		return DK_ACCEPT;
	if (policy == VT_DUP_REFUSE || d->flapping)
		return DK_REFUSE;
	for (unsigned i = 0; i < DUPKEY_FLAPS - 1; i++)
		if (d->at[i] != 0 && now - d->at[i] < window)
			recent++;
	if (recent + 1 >= DUPKEY_FLAPS) {
		d->flapping = true;
		return DK_FLAPPING;
	}
	return DK_TAKEOVER;
}

void
dupkey_taken(struct dupkey *d, uint64_t now)
{
	d->at[d->next] = now != 0 ? now : 1;
	d->next = (d->next + 1) % (DUPKEY_FLAPS - 1);
}

void
dupkey_session_down(struct dupkey *d)
{
	memset(d, 0, sizeof(*d));
}
