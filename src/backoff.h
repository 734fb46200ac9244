/*
 * backoff.h - how long a client waits before it tries again: the one schedule for a TCP
 * client's dials and for an unanswered handshake initiation over either transport. Pure.
 *
 * The first try goes at once. After the n-th failed try the client waits
 * min(BACKOFF_FIRST * 2^(n-1), BACKOFF_MAX) plus up to a quarter of that at random, drawn
 * afresh for every try, so that clients that lost one server do not come back in step:
 * 1, 2, 4, 8, 16, 30, 30, ... seconds, each up to 25 % longer. Whoever counts the tries
 * starts again at zero once a session is up.
 */
#ifndef VT_BACKOFF_H
#define VT_BACKOFF_H

#include <stdint.h>

#define BACKOFF_FIRST 1000 /* ms: the wait after the first failed try */
#define BACKOFF_MAX 30000  /* ms: the cap (before jitter) */
#define BACKOFF_TRIES_MAX 1000000u /* a try counter stops here */

/* The wait, in ms, after `tries` failed tries (0: none yet, go at once); rand is any random
 * number (the jitter is rand % 1000 thousandths of a quarter). */
uint64_t backoff_wait(unsigned tries, uint32_t rand);

/* The counter after one more try, saturating. */
unsigned backoff_count(unsigned tries);

#endif
