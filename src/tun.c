/* tun.c - TUN/TAP device fd: open via /dev/net/tun, offloads, read and write frames. */
#include "tun.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#define TUN_PATH "/dev/net/tun"

/* Read the tun_flags of an existing device from sysfs; -1 if it is not a TUN/TAP device. */
static long
existing_tun_flags(const char *name)
{
	char path[64], line[32];
	FILE *f;
	long flags = -1;

	snprintf(path, sizeof(path), "/sys/class/net/%s/tun_flags", name);
	if ((f = fopen(path, "re")) == NULL)
		return -1;
	if (fgets(line, sizeof(line), f) != NULL)
		flags = strtol(line, NULL, 0);
	fclose(f);
	return flags;
}

/* Explain why TUNSETIFF refused an existing name (EINVAL): wrong type or not a tun at all. */
static void
explain_einval(const char *name, enum vt_devtype type, char *err, size_t errlen)
{
	long flags = existing_tun_flags(name);

	if (flags < 0)
		snprintf(err, errlen, "device %s: name is already in use by another device "
		    "(not a tun/tap device)", name);
	else if ((flags & IFF_TAP) && type == VT_TUN)
		snprintf(err, errlen, "device %s: name is already in use by another device "
		    "(a tap device, but a tun device is configured)", name);
	else if ((flags & IFF_TUN) && type == VT_TAP)
		snprintf(err, errlen, "device %s: name is already in use by another device "
		    "(a tun device, but a tap device is configured)", name);
	else if (flags & IFF_MULTI_QUEUE)
		snprintf(err, errlen, "device %s: was created as multi_queue, which is not "
		    "supported", name);
	else
		snprintf(err, errlen, "device %s: %s", name, strerror(EINVAL));
}

/* A persistent device keeps what its last user set: the vnet header size and byte order (a
 * virtual machine's vhost uses 12 bytes), and offloads (left on by a daemon that was killed).
 * Set what we read and write: the 10-byte header in native order, or no offloads at all. */
static void
vnet_defaults(int fd, bool vnet)
{
	int size = (int)sizeof(struct virtio_net_hdr), zero = 0;

	if (!vnet) {
		ioctl(fd, TUNSETOFFLOAD, 0UL);
		return;
	}
	ioctl(fd, TUNSETVNETHDRSZ, &size);
	ioctl(fd, TUNSETVNETLE, &zero); /* EINVAL on big-endian hosts and old kernels: fine */
	ioctl(fd, TUNSETVNETBE, &zero);
}

int
tun_open(const char *name, enum vt_devtype type, bool must_exist, bool vnet, char *err,
    size_t errlen)
{
	struct ifreq ifr;
	size_t len = strlen(name);
	int fd, saved;

	/* '%' would let the kernel pick the name ("vt%d"); we must know the name we got. */
	if (len == 0 || len >= IFNAMSIZ || strpbrk(name, "%/ \t\n") != NULL) {
		snprintf(err, errlen, "device \"%s\": invalid interface name", name);
		return -1;
	}
	if (must_exist && if_nametoindex(name) == 0) {
		snprintf(err, errlen, "device %s: does not exist (persist is set: create it "
		    "first with `vtund-ng device add -a`, or `ip tuntap add dev %s mode %s user "
		    "USER`)", name, name, names_devtype[type]);
		return -1;
	}
	if ((fd = open(TUN_PATH, O_RDWR | O_NONBLOCK | O_CLOEXEC)) == -1) {
		if (errno == ENOENT || errno == ENODEV || errno == ENXIO)
			snprintf(err, errlen, "%s: %s (is the tun module loaded?)", TUN_PATH,
			    strerror(errno));
		else if (errno == EACCES)
			snprintf(err, errlen, "%s: %s (the node must be readable and writable "
			    "by this user; mode 0666 is the usual)", TUN_PATH, strerror(errno));
		else
			snprintf(err, errlen, "%s: %s", TUN_PATH, strerror(errno));
		return -1;
	}

	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, name, len);
	ifr.ifr_flags = (type == VT_TAP ? IFF_TAP : IFF_TUN) | IFF_NO_PI;
	if (vnet)
		ifr.ifr_flags |= IFF_VNET_HDR;
	/* A new device must really be new: never configure (and later lose) someone else's. */
	if (!must_exist)
		ifr.ifr_flags |= IFF_TUN_EXCL;
	if (ioctl(fd, TUNSETIFF, &ifr) == -1) {
		saved = errno;
		close(fd);
		if (saved == EPERM || saved == EACCES)
			snprintf(err, errlen, "device %s: permission denied (need CAP_NET_ADMIN, "
			    "or a persistent device owned by this user)", name);
		else if (saved == EBUSY && must_exist)
			snprintf(err, errlen, "device %s: already attached by another process",
			    name);
		else if (saved == EBUSY)
			snprintf(err, errlen, "device %s: name is already in use by another "
			    "device", name);
		else if (saved == EINVAL)
			explain_einval(name, type, err, errlen);
		else
			snprintf(err, errlen, "device %s: %s", name, strerror(saved));
		return -1;
	}
	if (strncmp(ifr.ifr_name, name, IFNAMSIZ) != 0) {
		close(fd);
		snprintf(err, errlen, "device %s: kernel returned name %.*s", name, IFNAMSIZ,
		    ifr.ifr_name);
		return -1;
	}
	vnet_defaults(fd, vnet);
	return fd;
}

bool
tun_has_vnet(int fd)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	return ioctl(fd, TUNGETIFF, &ifr) == 0 && (ifr.ifr_flags & IFF_VNET_HDR);
}

unsigned
tun_offload(int fd)
{
	const unsigned base = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN;
	const unsigned tries[] = { base | TUN_F_USO4 | TUN_F_USO6, base, TUN_F_CSUM };

	for (size_t i = 0; i < sizeof(tries) / sizeof(tries[0]); i++)
		if (ioctl(fd, TUNSETOFFLOAD, (unsigned long)tries[i]) == 0)
			return tries[i];
	return 0;
}

int
tun_offload_off(int fd)
{
	return ioctl(fd, TUNSETOFFLOAD, 0UL) == -1 ? -1 : 0;
}

int
tun_clear_persist(int fd)
{
	return ioctl(fd, TUNSETPERSIST, 0) == -1 ? -1 : 0;
}

int
tun_make_persistent(const char *name, enum vt_devtype type, uid_t uid, gid_t gid, char *err,
    size_t errlen)
{
	int fd;

	if (if_nametoindex(name) != 0) {
		snprintf(err, errlen, "device %s: exists already (vtund-ng device del %s removes "
		    "a persistent one)", name, name);
		return -1;
	}
	if ((fd = tun_open(name, type, false, false, err, errlen)) == -1)
		return -1;
	if ((uid != (uid_t)-1 && ioctl(fd, TUNSETOWNER, (unsigned long)uid) == -1) ||
	    (gid != (gid_t)-1 && ioctl(fd, TUNSETGROUP, (unsigned long)gid) == -1) ||
	    ioctl(fd, TUNSETPERSIST, 1) == -1) {
		snprintf(err, errlen, "device %s: make persistent: %s", name, strerror(errno));
		close(fd); /* not persistent: the device goes with the fd */
		return -1;
	}
	close(fd);
	return 0;
}

int
tun_remove_persistent(const char *name, char *err, size_t errlen)
{
	long flags = existing_tun_flags(name);
	int fd;

	if (if_nametoindex(name) == 0) {
		snprintf(err, errlen, "device %s: does not exist", name);
		return -1;
	}
	if (flags < 0) {
		snprintf(err, errlen, "device %s: not a tun/tap device", name);
		return -1;
	}
	if (!(flags & IFF_PERSIST)) {
		snprintf(err, errlen, "device %s: not persistent (its process owns it)", name);
		return -1;
	}
	if ((fd = tun_open(name, (flags & IFF_TAP) ? VT_TAP : VT_TUN, true, false, err,
	    errlen)) == -1)
		return -1;
	if (ioctl(fd, TUNSETPERSIST, 0) == -1) {
		snprintf(err, errlen, "device %s: clear persist: %s", name, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd); /* the last fd of a device that is not persistent: it is gone */
	return 0;
}

ssize_t
tun_read(int fd, struct buf *b)
{
	ssize_t n;

	buf_reset(b);
	/* Offer all the tailroom so a too-large frame shows up as longer than BUF_MAX_FRAME. */
	do
		n = read(fd, buf_data(b), buf_tailroom(b));
	while (n == -1 && errno == EINTR);
	if (n == -1)
		return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
	if ((size_t)n > BUF_MAX_FRAME) {
		errno = EMSGSIZE;
		return -1;
	}
	b->len = (size_t)n;
	return n;
}

ssize_t
tun_read_raw(int fd, uint8_t *p, size_t cap)
{
	ssize_t n;

	do
		n = read(fd, p, cap);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
	return n;
}

/* What a failed write means: 1 this frame was dropped, -1 the device failed. */
static int
write_failed(void)
{
	switch (errno) {
	case EAGAIN:
#if EWOULDBLOCK != EAGAIN
	case EWOULDBLOCK:
#endif
	case ENOBUFS:
	case EINVAL:
	case EMSGSIZE:
		return 1;
	default:
		return -1;
	}
}

int
tun_write(int fd, const uint8_t *p, size_t len)
{
	ssize_t n;

	do
		n = write(fd, p, len);
	while (n == -1 && errno == EINTR);
	return n >= 0 ? 0 : write_failed();
}

int
tun_writev(int fd, const struct iovec *iov, int cnt)
{
	ssize_t n;

	do
		n = writev(fd, iov, cnt);
	while (n == -1 && errno == EINTR);
	return n >= 0 ? 0 : write_failed();
}
