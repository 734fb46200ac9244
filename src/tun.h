/*
 * tun.h - TUN/TAP device fd: open (create or attach), read one frame into a buf, write one
 * frame. Knows nothing of peers, addresses or sessions.
 */
#ifndef VT_TUN_H
#define VT_TUN_H

#include <linux/if_tun.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "buf.h"
#include "config.h"

/*
 * Open the TUN or TAP device name via /dev/net/tun (IFF_NO_PI). must_exist: attach to a
 * persistent device pre-created with `ip tuntap add ... user U` and fail if there is none;
 * otherwise create a new device, failing if the name is taken (the device then disappears when
 * its last fd closes). vnet: every frame read and written carries a virtio_net_hdr in front
 * (IFF_VNET_HDR), the way to the offloads of tun_offload. Returns a non-blocking,
 * close-on-exec fd, or -1 with a message in err.
 */
int tun_open(const char *name, enum vt_devtype type, bool must_exist, bool vnet, char *err,
    size_t errlen);

/* Whether fd's device was opened with IFF_VNET_HDR (asked of the kernel: TUNGETIFF). */
bool tun_has_vnet(int fd);

#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20 /* Linux 6.2: UDP segmentation, IPv4 */
#define TUN_F_USO6 0x40
#endif
/*
 * Turn on the offloads of a vnet fd: checksums and TCP segmentation (TUN_F_CSUM, TSO4, TSO6,
 * TSO_ECN), and UDP segmentation (USO4, USO6) where the kernel has it. Returns the TUN_F_* flags
 * the kernel took: all of them, the set without USO (older kernels refuse USO with EINVAL), or
 * 0 if it refused them all (the device then sends plain frames behind a zero vnet header).
 */
unsigned tun_offload(int fd);
/* Turn every offload off again (0 or -1). */
int tun_offload_off(int fd);

/* Read one frame with its vnet header into p[0..cap): its length, 0 if there is nothing to
 * read, -1 with errno. */
ssize_t tun_read_raw(int fd, uint8_t *p, size_t cap);
/* Write one frame given as pieces (vnet header first on a vnet fd); returns as tun_write. */
int tun_writev(int fd, const struct iovec *iov, int n);

/* Clear the persist flag of the device behind fd (an engine holding the same device could have
 * set it: TUNSETPERSIST needs no capability on an attached fd). 0 or -1. */
int tun_clear_persist(int fd);
/* `vtund-ng device add`: a new persistent device name of type, owned by uid and gid (-1:
 * nobody in particular), left down and unconfigured, and closed. 0, or -1 with err (a name
 * that exists is refused). */
int tun_make_persistent(const char *name, enum vt_devtype type, uid_t uid, gid_t gid, char *err,
    size_t errlen);
/* `vtund-ng device del`: remove persistent device name (its type read from the kernel). 0, or
 * -1 with err (no such device, not tun/tap, not persistent, attached by a process). */
int tun_remove_persistent(const char *name, char *err, size_t errlen);

/*
 * Read one frame into b (reset, payload at the standard headroom). Returns its length, 0 if
 * there is nothing to read, -1 with errno on error; errno EMSGSIZE means one frame larger than
 * BUF_MAX_FRAME (MTU raised behind our back) was dropped: count it and keep reading.
 */
ssize_t tun_read(int fd, struct buf *b);

/*
 * Write one frame. Returns 0 if written; 1 if it was dropped: device queue full (EAGAIN,
 * ENOBUFS) or this frame refused by the kernel (EINVAL, e.g. not IPv4/IPv6 on a TUN): the
 * caller counts a drop; -1 with errno if the device itself failed.
 */
int tun_write(int fd, const uint8_t *p, size_t len);

#endif
