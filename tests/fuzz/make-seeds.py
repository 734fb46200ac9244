#!/usr/bin/env python3
"""make-seeds.py - write the seeds that sit on the size bounds into tests/fuzz/corpus/.

The other seeds are real messages or fuzzer finds; these are made, so that every run starts on
each edge: TCP frames of length 0, 1, WIRE_MSG_MAX, WIRE_MSG_MAX + 1 and 65535, whole and split;
each wire message type at its exact length and one byte either side, data messages at the
largest size sent and received; LZ4 blocks that inflate to exactly the limit and one byte more.
Handshake variants are cut from the committed valid messages (corpus/*/init_params and such), so
run this from anywhere after those exist. The files it writes are committed; rerun it when a
bound in src/wire.h, src/buf.h or src/compress.h changes. Every seed is named bound-*.
"""
import os
import sys

# src/wire.h, src/buf.h, src/compress.h (keep in step)
WIRE_MSG_MAX = 16 + 1 + 9018 + 16  # data header, inner header, largest frame, tag: 9051
RECV_MAX = 9018 + 9018 // 255 + 128  # BUF_CAP - BUF_HEADROOM: the UDP receive buffer, 9181
INIT_LEN, RESP_LEN, COOKIE_LEN, DATA_MIN_LEN = 196, 140, 52, 33
COMPRESS_MAX_IN = 9018
FRAME_MAX = 9018
MTU = 1400  # the peers of fuzz_session_decap

CORPUS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def pattern(n, seed=0):
    """n bytes that are not all alike, so that a copy from the wrong offset shows."""
    return bytes((seed + i * 7) % 251 for i in range(n))


def write(target, name, data):
    with open(os.path.join(CORPUS, target, "bound-" + name), "wb") as f:
        f.write(data)


def read(target, name):
    with open(os.path.join(CORPUS, target, name), "rb") as f:
        return f.read()


def around(data, exact):
    """The message cut or padded to exact - 1, exact and exact + 1 bytes."""
    body = (data + bytes(exact + 1))[: exact + 1]
    return {"-1": body[: exact - 1], "": body[:exact], "+1": body}


# fuzz_stream: byte 0 bits 0-6 pick the piece size (0..63: 1..64 bytes; 64..127: 1..64 KiB),
# bit 7 an unidentified connection (room for one largest message, grown after the first).
WHOLE = 0x7F  # 64 KiB pieces: every stream here in one or two writes
BYTEWISE = 0x00  # 1-byte pieces: every prefix split
KIB = 0x40  # 1 KiB pieces
SMALL = 0x80


def frame(length, body=None):
    if body is None:
        body = pattern(length, length)
    return bytes([length >> 8, length & 0xFF]) + body


def lz4_literals(data):
    """An LZ4 block that is nothing but literals."""
    n, out = len(data), bytearray()
    out.append(min(n, 15) << 4)
    if n >= 15:
        rest = n - 15
        out += b"\xff" * (rest // 255) + bytes([rest % 255])
    return bytes(out) + data


def lz4_zeros(n):
    """An LZ4 block of n zero bytes: one literal, one long match at offset 1, five literals."""
    match = n - 1 - 5
    out = bytearray([0x10 | min(match - 4, 15), 0, 1, 0])
    if match - 4 >= 15:
        rest = match - 4 - 15
        out += b"\xff" * (rest // 255) + bytes([rest % 255])
    return bytes(out) + bytes([0x50]) + bytes(5)


def stream():
    one = frame(1)
    mx = frame(WIRE_MSG_MAX)
    write("stream", "len0", bytes([WHOLE]) + frame(0, b""))
    write("stream", "len0-after-one", bytes([BYTEWISE]) + one + frame(0, b""))
    write("stream", "len1", bytes([WHOLE]) + one + one)
    write("stream", "len1-bytewise", bytes([BYTEWISE]) + one + one)
    write("stream", "max", bytes([WHOLE]) + mx + one)
    # 18-byte pieces: 9053 = 502 * 18 + 17, so the second prefix is split across two reads
    write("stream", "max-split-prefix", bytes([17]) + mx + one)
    write("stream", "max-1k", bytes([KIB]) + one + mx + one)
    # unidentified: two largest messages fill the small buffer exactly, then it grows
    write("stream", "max-small", bytes([SMALL | WHOLE]) + mx + mx + one)
    write("stream", "max-small-1k", bytes([SMALL | KIB]) + one + mx + mx)
    write("stream", "max+1-small", bytes([SMALL | WHOLE]) + frame(WIRE_MSG_MAX + 1))
    write("stream", "max+1", bytes([WHOLE]) + one + frame(WIRE_MSG_MAX + 1))
    write("stream", "max+1-bytewise", bytes([BYTEWISE]) + one + frame(WIRE_MSG_MAX + 1)[:40])
    write("stream", "65535", bytes([WHOLE]) + frame(65535))
    write("stream", "65535-bytewise", bytes([BYTEWISE]) + one + frame(65535)[:40])


def wire():
    for name, src, exact in (("init", "init_params", INIT_LEN), ("resp", "resp_params", RESP_LEN),
                             ("cookie", "cookie", COOKIE_LEN)):
        for d, msg in around(read("wire", src), exact).items():
            if d:
                write("wire", name + d, msg)
    data = read("wire", "data_min")
    write("wire", "data-min-1", data[: DATA_MIN_LEN - 1])
    write("wire", "data-max", data[:16] + pattern(WIRE_MSG_MAX - 16))
    write("wire", "data-recv-max", data[:16] + pattern(RECV_MAX - 16))


def session_decap():
    for name, exact in (("init_fixed", INIT_LEN), ("resp_fixed", RESP_LEN),
                        ("cookie_fixed", COOKIE_LEN), ("data_fixed", DATA_MIN_LEN)):
        m = read("session_decap", name)
        for d, msg in around(m[1:], exact).items():
            if d or name == "data_fixed":
                write("session_decap", name + (d or "-min"), m[:1] + msg)
    m = read("session_decap", "data_fixed")
    for name, n in (("max", WIRE_MSG_MAX), ("recv-max", RECV_MAX), ("recv-max+1", RECV_MAX + 1)):
        write("session_decap", "data_fixed-" + name, m[:17] + pattern(n - 16))
    # mode 2: an inner payload the fuzzer seals with the real key
    write("session_decap", "inner-frame-mtu", bytes([2, 0]) + pattern(MTU))
    write("session_decap", "inner-frame-mtu+1", bytes([2, 0]) + pattern(MTU + 1))
    write("session_decap", "inner-frame-max", bytes([2, 0]) + pattern(FRAME_MAX))
    # the largest payload a data message in a UDP receive buffer carries: 9181 - 16 - 16
    write("session_decap", "inner-recv-max", bytes([2, 0]) + pattern(RECV_MAX - 32 - 1))
    write("session_decap", "inner-lz4-mtu", bytes([2, 1]) + lz4_zeros(MTU))
    write("session_decap", "inner-lz4-mtu+1", bytes([2, 1]) + lz4_zeros(MTU + 1))
    # mode 3: a frame through encap and decap
    write("session_decap", "frame-mtu+1", bytes([3]) + pattern(MTU + 1))
    write("session_decap", "frame-max", bytes([3]) + pattern(FRAME_MAX))


def compress():
    # zeros_9018 is the block of exactly COMPRESS_MAX_IN zeros
    write("compress", "zeros-max+1", lz4_zeros(COMPRESS_MAX_IN + 1))
    write("compress", "literals-max", lz4_literals(pattern(COMPRESS_MAX_IN)))
    write("compress", "literals-max+1", lz4_literals(pattern(COMPRESS_MAX_IN + 1)))


def engine():
    """fuzz_engine: operations [op][arg][len:2][bytes] (see its header)."""
    def op(code, arg, data=b""):
        return bytes([code, arg]) + len(data).to_bytes(2, "big") + data

    ip = bytes.fromhex("4500001c0000400040110000") + bytes([10, 0, 0, 2, 10, 0, 0, 1]) + \
        bytes(8)
    # Every peer up, then frames both ways: peer 0 (UDP), 1 (UDP, LZ4), 2 (TCP).
    up = op(6, 0) + op(6, 1) + op(6, 2)
    write("engine", "handshakes-then-frames", up + op(7, 0, ip) + op(7, 1, pattern(1400)) +
          op(7, 2, ip) + op(5, 0, ip) + op(5, 1, pattern(1400)) + op(5, 2, ip))
    write("engine", "status", up + op(4, 0, b"status\n") + op(4, 0, b"status json peer1\n"))
    write("engine", "control-long", op(4, 0, b"s" * 129 + b"\n") + op(4, 0, b"reload\n"))
    write("engine", "tcp-frames", op(1, 0) + op(2, 0, frame(0, b"")) + op(1, 1) +
          op(2, 1, frame(WIRE_MSG_MAX + 1)) + op(1, 2) + op(2, 2, frame(WIRE_MSG_MAX)))
    write("engine", "udp-garbage", op(0, 0, pattern(INIT_LEN)) + op(0, 1, pattern(WIRE_MSG_MAX)))
    # the parent's channel: a removal of peer 2, and a message of the wrong size
    write("engine", "chan", up + op(8, 0, (4).to_bytes(4, "little") + (3).to_bytes(4, "little"))
          + op(8, 0, bytes(7)) + op(5, 2, ip))


def main():
    os.makedirs(os.path.join(CORPUS, "engine"), exist_ok=True)
    for target in (stream, wire, session_decap, compress, engine):
        target()
    return 0


if __name__ == "__main__":
    sys.exit(main())
