#!/usr/bin/env python3
"""impair.py - a seeded impairment relay for the namespace tests (this kernel has no netem).

  impair.py udp|tcp LISTEN_ADDR:PORT TO_ADDR:PORT [--seed N] [--loss P] [--reorder P]
            [--dup P] [--delay MS] [--jitter MS] [--stats FILE]

UDP: every datagram from a client to LISTEN goes to TO from a socket of its own for that
client, and the answers come back the same way. In each direction, independently and drawn
from one random generator seeded with --seed: with probability --loss it is dropped; else it is
sent after --delay ms plus a uniform -jitter..+jitter ms; with probability --reorder it is held
back 3 ms + 2 x (delay + jitter) more, so that datagrams sent after it overtake it; with
probability --dup a second copy goes 1 ms after the first.
TCP: every connection to LISTEN is forwarded to TO, each chunk read after --delay ms plus the
jitter, never before the chunk read before it (a stream keeps its order; loss, reordering and
duplication are the business of the TCP under it).
On SIGTERM or SIGINT it writes counters as "name value" lines to --stats (or stderr) and exits.
Only ever forwards to TO.
"""
import heapq
import random
import select
import signal
import socket
import sys
import time


def addr(s):
    host, port = s.rsplit(":", 1)
    return host, int(port)


def main():
    args = sys.argv[1:]
    if len(args) < 3 or args[0] not in ("udp", "tcp"):
        sys.stderr.write(__doc__)
        sys.exit(2)
    proto, listen, to = args[0], addr(args[1]), addr(args[2])
    opt = {"--seed": "1", "--loss": "0", "--reorder": "0", "--dup": "0", "--delay": "0",
           "--jitter": "0", "--stats": ""}
    rest = args[3:]
    while rest:
        if rest[0] not in opt or len(rest) < 2:
            sys.stderr.write(__doc__)
            sys.exit(2)
        opt[rest[0]] = rest[1]
        rest = rest[2:]
    rng = random.Random(int(opt["--seed"]))
    loss, reorder, dup = float(opt["--loss"]), float(opt["--reorder"]), float(opt["--dup"])
    delay, jitter = float(opt["--delay"]) / 1000, float(opt["--jitter"]) / 1000
    stats = {"forwarded": 0, "dropped": 0, "reordered": 0, "duplicated": 0, "connections": 0}
    done = []

    def stop(signum, frame):
        done.append(1)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    queue = []  # (when, seq, socket, data, destination or None)
    seq = [0]

    def later(when, sock, data, dst):
        seq[0] += 1
        heapq.heappush(queue, (when, seq[0], sock, data, dst))

    def impaired(sock, data, dst):
        if rng.random() < loss:
            stats["dropped"] += 1
            return
        when = time.monotonic() + max(0.0, delay + rng.uniform(-jitter, jitter))
        if rng.random() < reorder:
            when += 0.003 + 2 * (delay + jitter)
            stats["reordered"] += 1
        later(when, sock, data, dst)
        if rng.random() < dup:
            later(when + 0.001, sock, data, dst)
            stats["duplicated"] += 1

    if proto == "udp":
        front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        front.bind(listen)
        up = {}    # client address -> its socket toward TO
        down = {}  # that socket -> the client address
    else:
        front = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        front.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        front.bind(listen)
        front.listen(64)
        pair = {}     # socket -> the other end
        last = {}     # socket -> when its last chunk goes
    while not done:
        now = time.monotonic()
        while queue and queue[0][0] <= now:
            _, _, sock, data, dst = heapq.heappop(queue)
            try:
                if dst is None:
                    sock.sendall(data)
                else:
                    sock.sendto(data, dst)
                stats["forwarded"] += 1
            except OSError:
                pass
        timeout = max(0.0, queue[0][0] - now) if queue else 0.5
        socks = [front] + (list(down) if proto == "udp" else list(pair))
        try:
            ready, _, _ = select.select(socks, [], [], min(timeout, 0.5))
        except InterruptedError:
            continue
        for s in ready:
            if proto == "udp":
                try:
                    data, src = s.recvfrom(65536)
                except OSError:
                    continue
                if s is front:
                    if src not in up:
                        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                        u.connect(to)
                        up[src] = u
                        down[u] = src
                        stats["connections"] += 1
                    impaired(up[src], data, None)
                else:
                    impaired(front, data, down[s])
            elif s is front:
                c, _ = front.accept()
                u = socket.create_connection(to)
                pair[c], pair[u] = u, c
                last[c] = last[u] = 0.0
                stats["connections"] += 1
            else:
                try:
                    data = s.recv(65536)
                except OSError:
                    data = b""
                other = pair.get(s)
                if other is None:
                    continue
                if not data:
                    for x in (s, other):
                        x.close()
                        pair.pop(x, None)
                    continue
                when = max(last[other], time.monotonic() +
                           max(0.0, delay + rng.uniform(-jitter, jitter)))
                last[other] = when
                later(when, other, data, None)
    text = "".join("%s %d\n" % kv for kv in sorted(stats.items()))
    if opt["--stats"]:
        with open(opt["--stats"], "w") as f:
            f.write(text)
    else:
        sys.stderr.write(text)


main()
