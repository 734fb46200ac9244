/*
 * dupkey.h - one key, two clients: the server's policy when a handshake for a peer arrives from
 * another endpoint (UDP address and port, or TCP connection) while the peer's session is up
 * elsewhere. Pure: the caller says whether the handshake is contested, and when.
 *
 * With duplicate = "refuse" a contested handshake is refused: the session that is up keeps the
 * key until it goes down (its timeout, or a CLOSE). With "replace" (the default) the newcomer
 * takes the session over, as a client that restarted or moved would; but when takeovers come
 * back and forth - a contested handshake after DUPKEY_FLAPS - 1 takeovers within the window
 * (four times the peer's timeout, at least a minute) - two clients hold one key: the one that
 * holds the session keeps it, and contested handshakes are refused until its session goes
 * down. Only confirmed takeovers count (dupkey_taken, when the newcomer's first data packet
 * proved it holds the keys): lost responses and re-sent initiations never make a flap.
 */
#ifndef VT_DUPKEY_H
#define VT_DUPKEY_H

#include <stdbool.h>
#include <stdint.h>

#include "names.h"

#define DUPKEY_FLAPS 3          /* contested handshakes in the window that mean flapping */
#define DUPKEY_WINDOW_MIN 60000 /* ms */

enum dupkey_verdict {
	DK_ACCEPT = 0, /* not contested */
	DK_TAKEOVER,   /* contested, and the newcomer may take the session (once it confirms:
	                  dupkey_taken) */
	DK_FLAPPING,   /* contested, flapping found now: refused (the caller logs both ends) */
	DK_REFUSE,     /* contested and refused */
};

struct dupkey {
	uint64_t at[DUPKEY_FLAPS - 1]; /* times of the last takeovers (0: none) */
	unsigned next;
	bool flapping;                 /* until the session goes down */
};

/* The window for a peer whose timeout is timeout_s seconds (0: none). */
uint64_t dupkey_window(int timeout_s);
/* What to do with a handshake (contested: the session is up with another endpoint). */
enum dupkey_verdict dupkey_decide(struct dupkey *d, enum vt_duplicate policy, bool contested,
    uint64_t window, uint64_t now);
/* A takeover was confirmed at now. */
void dupkey_taken(struct dupkey *d, uint64_t now);
/* The session went down: whoever comes next is welcome, the takeovers are history. */
void dupkey_session_down(struct dupkey *d);

#endif
