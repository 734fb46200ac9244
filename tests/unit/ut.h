/*
 * ut.h - helpers shared by the unit suites of the engine's modules: a peer configuration,
 * loopback sockets bound to chosen 127.0.0.x sources, a fake TUN device (a SOCK_SEQPACKET
 * pair: one read is one frame), and counting open descriptors. Failures abort the test through
 * cmocka's asserts.
 */
#ifndef VT_UT_H
#define VT_UT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "config.h"

#define UT_T0 UINT64_C(1000000) /* an arbitrary monotonic start, in ms */
#define UT_SA(x) ((const struct sockaddr *)(const void *)&(x))

/* A peer called name whose other end has public key pub: tun, mtu 1400, no timers, psk set. */
void ut_peer_cfg(struct vt_peer *p, const char *name, const uint8_t pub[32], enum vt_proto proto,
    const uint8_t psk[32]);

/* 127.0.0.x (a dotted address) and port, in host order. */
struct sockaddr_in ut_addr(const char *ip, uint16_t port);
/* A TCP listener on 127.0.0.1, any port; *addr gets where it listens. */
int ut_tcp_listener(struct sockaddr_in *addr);
/* A TCP connection from src_ip (any port) to dst: connected blocking, then non-blocking, with
 * TCP_NODELAY. */
int ut_tcp_connect_from(const char *src_ip, const struct sockaddr_in *dst);
/* A UDP socket bound to ip, any port; *addr gets its address. */
int ut_udp_socket(const char *ip, struct sockaddr_in *addr);
/* Whether fd becomes readable within ms milliseconds. */
bool ut_readable(int fd, int ms);
/* Bytes waiting to be read on a stream socket. */
int ut_pending_bytes(int fd);

/* A fake TUN device: fds[0] for the data path (non-blocking), fds[1] for the test. Both ends
 * get large buffers so that hundreds of frames can wait. */
void ut_fake_tun(int fds[2]);

/* How many descriptors this process has open. */
int ut_open_fds(void);

#endif
