/*
 * netlink.h - configure an interface, its bridge and its routes over rtnetlink (NETLINK_ROUTE,
 * written by hand: no libnl, no ip(8)). Start-up and reload only: each call opens its own
 * socket, sends one request and waits
 * for the kernel's ACK; a refusal is reported as "<what> on <ifname>: <kernel errno text>".
 */
#ifndef VT_NETLINK_H
#define VT_NETLINK_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/* The MTU toward dst (a struct sockaddr_in or _in6): of the route the kernel would take to it
 * (the route's mtu, or a path MTU it learned, if smaller than its device's), or, if dst is one
 * of our addresses, of the device that has it; dev (devlen >= IF_NAMESIZE) names the device.
 * A lookup only: nothing is sent. 0, or -1 with err. */
struct sockaddr;
int netlink_underlay_mtu(const struct sockaddr *dst, int *mtu, char *dev, size_t devlen,
    char *err, size_t errlen);
/* The MTU of device ifname now, or 0 if there is none (an ioctl, not netlink). */
int netlink_device_mtu(const char *ifname);
/* Set the MTU of ifname. 0, or -1 with err. */
int netlink_set_mtu(const char *ifname, int mtu, char *err, size_t errlen);
/* Set the transmit queue length (txqueuelen, in frames) of ifname. 0, or -1 with err. */
int netlink_set_txqlen(const char *ifname, int qlen, char *err, size_t errlen);
/*
 * Add address local (with its prefix) to ifname. peer: NULL, or an address of the same family
 * that becomes the point-to-point IFA_ADDRESS (TUN). IPv6 addresses get IFA_F_NODAD so they are
 * usable at once. 0, or -1 with err.
 */
int netlink_add_addr(const char *ifname, const struct vt_addr *local,
    const struct vt_addr *peer, char *err, size_t errlen);
/* Add (add) or delete a route to prefix dst through ifname in the main table, with the route
 * MTU mtu (0: none) when adding. Adding refuses a prefix the table has already (err names
 * it); deleting one that is gone is not an error. 0, or -1 with err. */
int netlink_route(const char *ifname, const struct vt_addr *dst, int mtu, bool add, char *err,
    size_t errlen);
/* Make ifname a port of the Linux bridge bridge (NULL: detach it from its bridge). A bridge
 * that does not exist, or a device that is no bridge, is named in err. 0, or -1 with err. */
int netlink_set_master(const char *ifname, const char *bridge, char *err, size_t errlen);
/* Set the link of ifname up or down. 0, or -1 with err. */
int netlink_set_up(const char *ifname, bool up, char *err, size_t errlen);
/* Delete the link with index idx if it still exists under the name ifname (0 if it does not),
 * whoever holds its fds: a device we created must not outlive us. 0, or -1 with err. */
int netlink_del_link(int idx, const char *ifname, char *err, size_t errlen);

#endif
