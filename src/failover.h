/*
 * failover.h - which of a client's remotes to try next (config.h: "remote" with several
 * entries, each with its transport). Pure: the data path says what happened, this says where
 * to go.
 *
 *  - Tries go to the current remote, FAILOVER_TRIES of them, then to the next one in the
 *    configured order, round and round; the waits between tries are each transport's back-off
 *    (backoff.h), which keeps growing from one round to the next until a session comes up.
 *  - A session that comes up stays on its remote; a session that goes down starts again
 *    from the first remote, the preferred one.
 *  - On any remote but the first, every failback milliseconds the client probes the ones
 *    before it, most preferred first, one per turn (failover_probe): a handshake over the
 *    probed remote while the session goes on where it is. An answer moves the session
 *    there; no answer within FAILOVER_PROBE_MS and the handshake finishes on the current
 *    remote as a rekey (failover_probe_over).
 */
#ifndef VT_FAILOVER_H
#define VT_FAILOVER_H

#include <stdbool.h>
#include <stdint.h>

#define FAILOVER_TRIES 3          /* tries of one remote before the next */
#define FAILOVER_PROBE_MS 5000    /* how long a probed remote has to answer */

struct failover {
	int n;                  /* remotes (at least 1) */
	int cur;                /* the one in use, or being tried */
	unsigned tries;         /* tries of cur since the client came to it */
	int probe;              /* the one being probed, -1 none */
	int next_probe;         /* the one the next probe goes to */
	uint64_t probe_at;      /* when to probe next; UINT64_MAX: not */
	uint64_t probe_until;   /* while probing: when it gives up */
};

/* n remotes, starting on first (the first that resolved). */
void failover_init(struct failover *f, int n, int first);
/* Where the next try goes: cur, or the next remote once cur had its tries (not counted). */
int failover_where(struct failover *f);
/* Whether cur had its tries and the next try goes elsewhere (more than one remote). */
bool failover_exhausted(const struct failover *f);
/* A try of cur is being made. */
void failover_tried(struct failover *f);
/* A session came up on remote at (cur, or the remote just probed) at now: stay there; with
 * failback > 0 (ms), probe the ones before it from now + failback. */
void failover_up(struct failover *f, int at, uint64_t failback, uint64_t now);
/* The session went down: back to the first remote; no probe. */
void failover_down(struct failover *f);
/* A remote to probe now (the probe starts: probe, probe_until set), or -1 if none is due. */
int failover_probe(struct failover *f, uint64_t now);
/* The probe got no answer in time, or could not start: the next one failback from now. */
void failover_probe_over(struct failover *f, uint64_t failback, uint64_t now);
/* The earliest time failover_probe or the probe's end needs a call; UINT64_MAX: none. */
uint64_t failover_deadline(const struct failover *f);

#endif
