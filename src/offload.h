/*
 * offload.h - the segmentation and coalescing a NIC does (TSO, USO, GRO), done in userspace for
 * TUN/TAP devices opened with a virtio_net_hdr in front of every frame (IFF_VNET_HDR). Pure
 * functions over packet bytes: no system calls, no allocation, no clock.
 *
 * Out (device -> peer): one read gives a vnet header and a frame of up to 64 KiB. off_split_plan
 * checks it against its own parse of the headers (the vnet header's hdr_len is never used) and
 * off_split_segment writes each of the segments a NIC would have sent: headers copied and fixed
 * (IPv4 total length, ID and header checksum; IPv6 payload length; TCP sequence, FIN and PSH
 * only on the last segment, CWR only on the first; UDP length) and a full L4 checksum.
 *
 * In (peer -> device): the decrypted frames of one batch go through off_gro_add, which merges
 * TCP segments of one flow (same addresses, ports, TOS/traffic class, TTL/hop limit, DF, ACK,
 * window and options; flags ACK or ACK|PSH; adjacent sequence; checksums verified first) and,
 * where the device takes USO, UDP datagrams of one flow and equal size, into one frame. Frames
 * that cannot merge pass through unchanged. off_gro_finish completes the merged frames' headers
 * (lengths, IPv4 header checksum, the L4 pseudo-header sum for NEEDS_CSUM) and vnet headers;
 * the caller then writes the frames in order, each as a list of pieces (off_gro_iov). Frames of
 * one flow keep their order.
 *
 * Frames: TUN frames start with the IP header; TAP frames with an Ethernet header (up to two
 * VLAN tags) in front of it.
 */
#ifndef VT_OFFLOAD_H
#define VT_OFFLOAD_H

#include <linux/virtio_net.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#ifndef VIRTIO_NET_HDR_GSO_UDP_L4
#define VIRTIO_NET_HDR_GSO_UDP_L4 5
#endif

/* The vnet header in front of every frame read or written, and the largest frame behind it. */
#define OFF_VNET_LEN ((size_t)sizeof(struct virtio_net_hdr))
#define OFF_FRAME_MAX (22 + 40 + 65535) /* Ethernet with two VLAN tags, the largest IPv6
                                           packet */
/* Frames one off_gro holds: one batch. */
#define OFF_GRO_MAX 64
/* Segments merged into one frame at most (the kernel accepts more; 64 keeps a frame < 64 KiB
 * for any MTU up to 1000 and bounds the iovec). */
#define OFF_GRO_SEGS 64

/* Ones' complement sum of p[0..len) added to sum (not folded); len may be odd only at the end. */
uint64_t off_csum_add(const uint8_t *p, size_t len, uint64_t sum);
/* Fold a sum to 16 bits (not inverted). */
uint16_t off_csum_fold(uint64_t sum);

/* An IP packet's L3/L4 layout as parsed by us. */
struct off_pkt {
	size_t l3;        /* offset of the IP header */
	size_t l4;        /* offset of the TCP/UDP header (0 if neither or not reachable) */
	size_t hlen;      /* offset of the payload (after the TCP/UDP header) */
	size_t iplen;     /* bytes from l3 to the end of the IP packet (its own length) */
	uint8_t proto;    /* 6 TCP, 17 UDP, other, or 0 */
	bool v6;
	bool fragment;    /* an IPv4 fragment or an IPv6 fragment header */
	bool exthdr;      /* IPv6 extension headers in front of l4 */
};
/* Parse frame f[0..len): 0, or -1 if it is no well-formed IPv4/IPv6 packet (or, tap, no
 * Ethernet frame carrying one). The IP packet may be shorter than the frame (padding). */
int off_parse(const uint8_t *f, size_t len, bool tap, struct off_pkt *pk);

/* A frame read from a device, checked and planned for cutting. */
struct off_split {
	struct off_pkt pk;
	size_t len;       /* the frame's length */
	size_t seg;       /* payload bytes per segment (the last may have fewer) */
	int nseg;         /* segments it makes; 1: written as it is (after any checksum) */
	bool gso;         /* a TCP or UDP super-packet to cut */
	bool csum;        /* NEEDS_CSUM without GSO: complete the checksum at csum_at */
	size_t csum_from, csum_at;
	bool seeded;      /* GSO with NEEDS_CSUM: the kernel's pseudo-header sum for the whole
	                     length is in the checksum field (it knows the final destination of a
	                     routed packet; we need not) */
	uint16_t seed;
};
/*
 * Check frame f[0..len) read with vnet header h; tap: an Ethernet frame. The number of segments
 * it makes, or -1 if it must be dropped: a GSO type we did not enable or cannot cut (UFO,
 * fragments), headers that do not parse or that disagree with h's csum_start, a segment size of
 * 0, or a checksum position outside the frame.
 */
int off_split_plan(const uint8_t *f, size_t len, const struct virtio_net_hdr *h, bool tap,
    struct off_split *sp);
/* Write segment i (0 <= i < nseg) of f into out (cap bytes): its length, or 0 if it does not
 * fit. */
size_t off_split_segment(const struct off_split *sp, const uint8_t *f, int i, uint8_t *out,
    size_t cap);

/* What off_gro_add may merge. */
#define OFF_GRO_TCP 0x1   /* the device takes TSO (TUN_F_TSO4/6) */
#define OFF_GRO_UDP 0x2   /* the device takes USO (TUN_F_USO4/6) */

struct off_gro_piece {
	const uint8_t *p;
	size_t len;
	int next;         /* index of the next piece of the frame, or -1 */
};

struct off_gro_frame {
	void *owner;      /* the caller's (which device) */
	uint8_t *f;       /* the first frame: its headers are rewritten when merged */
	size_t len;       /* its length (headers + payload) */
	struct virtio_net_hdr vh;
	int head, tail;   /* pieces appended behind f, or -1 */
	int nseg;         /* frames merged into this one */
	size_t bytes;     /* their lengths, summed */
	size_t total;     /* the merged frame's length */
	/* flow state, for frames that may take more */
	struct off_pkt pk;
	bool open;        /* may take another segment */
	bool verified;    /* the first frame's checksum was checked */
	bool psh;
	uint32_t next_seq;
	size_t seg;       /* the first frame's payload length: every later one at most this */
};

struct off_gro {
	int n;
	struct off_gro_frame f[OFF_GRO_MAX];
	int npieces;
	struct off_gro_piece pieces[OFF_GRO_MAX];
	uint64_t bad_csum; /* candidates whose checksum was wrong (passed through unmerged) */
};

void off_gro_reset(struct off_gro *g);
/*
 * Add frame f[0..len) for owner's device. The caller keeps f in place and unchanged until the
 * frames are written and off_gro_reset is called; a merge may rewrite the headers of the frame
 * that leads it. what: OFF_GRO_TCP | OFF_GRO_UDP, what owner's device takes. False if g is
 * full (finish, write and reset it, then add again).
 */
bool off_gro_add(struct off_gro *g, void *owner, uint8_t *f, size_t len, bool tap,
    unsigned what);
/* Complete every merged frame's headers and vnet header. */
void off_gro_finish(struct off_gro *g);
/* Frame i as an iovec: the vnet header, the first frame, the pieces; how many entries (at most
 * max; 0 if max is too small). */
int off_gro_iov(struct off_gro *g, int i, struct iovec *iov, int max);

#endif
