/*
 * fuzz_privchan.c - libFuzzer target for what the root parent and the engine take off their
 * channel (privchan.c): chan_valid on any bytes, both directions, with and without a
 * descriptor. A message it takes must hold what the receivers rely on: a peer's settings, made
 * a struct vt_peer by chan_peer_to, within the configuration's ranges (terminated names, a
 * transport among the peer's, remotes in range and terminated, the remote it starts on among
 * them); a looked-up address of its family's size; a remote number the parent can index.
 * Anything else aborts (the fuzzer reports it). Seeds in corpus/privchan/.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include "src/privchan.h" /* fuzzers get -I$(srcdir), not -I src */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_peer(const struct chan_peer *cp)
{
	struct vt_peer p;

	chan_peer_to(cp, &p);
	if (memchr(p.name, '\0', sizeof(p.name)) == NULL || p.name[0] == '\0' ||
	    memchr(p.device, '\0', sizeof(p.device)) == NULL || p.proto >= VT_PROTO_MAX ||
	    !(p.protos & (1u << p.proto)) || p.nremotes < 0 || p.nremotes > CONFIG_MAX_REMOTES ||
	    (p.nremotes > 0 && cp->remote_index >= p.nremotes) || p.failback < 0 ||
	    p.failback > 86400)
		abort();
	for (int i = 0; i < p.nremotes; i++)
		if (memchr(p.remotes[i].host, '\0', sizeof(p.remotes[i].host)) == NULL ||
		    p.remotes[i].host[0] == '\0' || p.remotes[i].port == 0 ||
		    p.remotes[i].proto >= VT_PROTO_MAX ||
		    !(p.protos & (1u << p.remotes[i].proto)))
			abort();
	if (cp->remote_len > 0 && !(cp->remote.ss_family == AF_INET ?
	    cp->remote_len == sizeof(struct sockaddr_in) : cp->remote.ss_family == AF_INET6 &&
	    cp->remote_len == sizeof(struct sockaddr_in6)))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct chan_msg m;

	for (int k = 0; k < 4; k++) {
		bool down = k & 1, fd = k & 2;

		if (!chan_valid(data, size, fd, down))
			continue;
		memset(&m, 0, sizeof(m));
		memcpy(&m, data, size);
		switch ((enum chan_type)m.type) {
		case CHAN_PEER_ADD:
		case CHAN_PEER_RESTART:
		case CHAN_PEER_UPDATE:
			check_peer(&m.u.peer);
			break;
		case CHAN_RESOLVE:
			if (m.arg == 0 || m.u.addr.index >= CONFIG_MAX_REMOTES)
				abort();
			break;
		case CHAN_RESOLVED:
			if (m.u.addr.index >= CONFIG_MAX_REMOTES ||
			    memchr(m.u.addr.err, '\0', sizeof(m.u.addr.err)) == NULL ||
			    (m.u.addr.status == 0 && !(m.u.addr.addr.ss_family == AF_INET ?
			    m.u.addr.len == sizeof(struct sockaddr_in) :
			    m.u.addr.addr.ss_family == AF_INET6 &&
			    m.u.addr.len == sizeof(struct sockaddr_in6))))
				abort();
			break;
		default:
			break;
		}
	}
	return 0;
}
