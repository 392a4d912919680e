"""Connectivity probes, all in flight at once from one thread.

Every source namespace gets one raw ICMP socket, made inside that namespace
by the kernel layer (Kernel.socket_in: a socket keeps the namespace it was
made in), so one poll() loop sends and hears the echoes of every pair. TCP probes are
non-blocking connects from a socket made in the source; the target gets a
short-lived listener made in its namespace (unless something listens there
already). Nothing is forked; 2,450 pairs take about as long as one timeout.
"""

import errno
import ipaddress
import os
import select
import socket
import struct
import time
from dataclasses import dataclass
from itertools import zip_longest

from ..errors import NsnetError
from ..kernel.garp import checksum
from ..kernel.netlink.consts import NUD_PERMANENT

OK, TIMEOUT, UNREACHABLE, REFUSED = "ok", "timeout", "unreachable", "refused"
ECHO_REQUEST, ECHO_REPLY, DEST_UNREACH = 8, 0, 3
ECHO_REQUEST6, ECHO_REPLY6, DEST_UNREACH6 = 128, 129, 1
RESENDS = 2  # unanswered echoes are sent again this many times within the timeout
BURST, PACE = 32, 0.001  # echoes sent per turn of the loop, and the pause between turns
MIN_BATCH, MAX_BATCH = 32, 400  # neighbour entries one batch of probes may create


@dataclass
class Probe:
    src: str  # labels: a sandbox name, "outside"
    src_ns: str
    dst: str
    addr: str
    proto: str = "icmp"  # icmp | tcp
    port: int | None = None
    listen_ns: str | None = None  # tcp: open a listener there for the probe
    listen_port: int | None = None  # ... on this port (default: `port`; differs behind a DNAT)
    dst_ns: str | None = None  # the target's namespace, when it is one of ours
    result: str = ""
    rtt_ms: float | None = None

    @property
    def reached(self) -> bool:
        return self.result == OK


def _echo(ident: int, seq: int, family: int = socket.AF_INET) -> bytes:
    payload = b"nsnet-check"
    if family == socket.AF_INET6:  # the kernel fills in an ICMPv6 checksum (it covers the addresses)
        return struct.pack("!BBHHH", ECHO_REQUEST6, 0, 0, ident, seq) + payload
    header = struct.pack("!BBHHH", ECHO_REQUEST, 0, 0, ident, seq)
    return struct.pack("!BBHHH", ECHO_REQUEST, 0, checksum(header + payload), ident, seq) + payload


def _family(addr: str) -> int:
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def _in_ns(kernel, netns: str, kind: int, proto: int = 0, family: int = socket.AF_INET) -> socket.socket:
    sock = kernel.socket_in(netns, family, kind, proto)
    sock.setblocking(False)
    return sock


def _icmp_answer(data: bytes, family: int) -> tuple[str, int, int] | None:
    """(result, ident, seq) of an echo reply or a destination unreachable that
    quotes one of our echoes; None for anything else. An IPv4 raw socket reads
    the IP header too, an IPv6 one starts at the ICMPv6 header."""
    if family == socket.AF_INET6:
        off, reply, unreach, inner_ip = 0, ECHO_REPLY6, DEST_UNREACH6, 40
    else:
        off = (data[0] & 0x0F) * 4
        reply, unreach = ECHO_REPLY, DEST_UNREACH
        inner_ip = (data[off + 8] & 0x0F) * 4 if len(data) > off + 8 else 0
    if len(data) < off + 8:
        return None
    kind = data[off]
    if kind == reply:
        return (OK, *struct.unpack_from("!HH", data, off + 4))
    if kind == unreach and len(data) >= off + 8 + inner_ip + 8:
        return (UNREACHABLE, *struct.unpack_from("!HH", data, off + 8 + inner_ip + 4))
    return None


class _Icmp:
    """One raw socket per source namespace and family; probes answered by (ident, seq)."""

    def __init__(self, kernel, probes: list[Probe]):
        self.socks: dict[int, tuple[socket.socket, int, list[Probe]]] = {}
        groups: dict[tuple[str, int], list[Probe]] = {}
        for p in probes:
            groups.setdefault((p.src_ns, _family(p.addr)), []).append(p)
        base = os.getpid() & 0x7FFF
        for i, ((netns, family), group) in enumerate(groups.items()):
            proto = socket.IPPROTO_ICMPV6 if family == socket.AF_INET6 else socket.IPPROTO_ICMP
            sock = _in_ns(kernel, netns, socket.SOCK_RAW, proto, family)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            self.socks[sock.fileno()] = (sock, (base + i) & 0xFFFF, group)
        self.sent: dict[tuple[int, int], float] = {}
        self.queue: list = []

    def refill(self) -> None:
        """Queue an echo for every unanswered probe, interleaving the sources."""
        rows = [[(sock, ident, seq, p) for seq, p in enumerate(group) if not p.result]
                for sock, ident, group in self.socks.values()]
        self.queue = [item for wave in zip_longest(*rows) for item in wave if item][::-1]

    def send_some(self) -> bool:
        """Send the next BURST queued echoes; False when the queue is empty.
        (All at once would flood the bridges with ARP requests, each copied to
        every port: the per-CPU backlog drops them and the kernel asks again
        only a second later.)"""
        for _ in range(min(BURST, len(self.queue))):
            sock, ident, seq, p = self.queue.pop()
            if p.result:
                continue
            try:
                sock.sendto(_echo(ident, seq, sock.family), (p.addr, 0))
                self.sent.setdefault((ident, seq), time.monotonic())
            except OSError as exc:
                if exc.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
                    p.result = UNREACHABLE
                elif exc.errno not in (errno.EAGAIN, errno.ENOBUFS):
                    p.result = f"error: {exc.strerror}"
        return bool(self.queue)

    def receive(self, fd: int) -> None:
        sock, ident, group = self.socks[fd]
        while True:
            try:
                data, peer = sock.recvfrom(2048)
            except BlockingIOError:
                return
            answer = _icmp_answer(data, sock.family)
            if answer is None:
                continue
            result, got_ident, seq = answer
            if got_ident != ident or seq >= len(group):
                continue
            p = group[seq]
            if result == OK and ipaddress.ip_address(p.addr) == ipaddress.ip_address(peer[0]):
                p.result = OK
                sent = self.sent.get((ident, seq))
                if sent:
                    p.rtt_ms = round((time.monotonic() - sent) * 1000, 2)
            elif result == UNREACHABLE and not p.result:  # a result already in (an answer) stays
                p.result = UNREACHABLE

    def close(self) -> None:
        for sock, _, _ in self.socks.values():
            sock.close()


class _Tcp:
    """Listeners in the targets, non-blocking connects from the sources."""

    def __init__(self, kernel, probes: list[Probe]):
        self.listeners, self.conns = [], {}
        for netns, port in sorted({(p.listen_ns, p.listen_port or p.port) for p in probes if p.listen_ns}):
            sock = _in_ns(kernel, netns, socket.SOCK_STREAM, family=socket.AF_INET6)
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)  # both families on one listener
                sock.bind(("::", port))
                sock.listen(256)
                self.listeners.append(sock)
            except OSError:
                sock.close()  # something listens there already: probe that
        for p in probes:
            sock = _in_ns(kernel, p.src_ns, socket.SOCK_STREAM, family=_family(p.addr))
            code = sock.connect_ex((p.addr, p.port))
            if code in (0, errno.EINPROGRESS):
                self.conns[sock.fileno()] = (sock, p, time.monotonic())
            else:
                p.result = _tcp_result(code)
                sock.close()

    def writable(self, fd: int) -> None:
        sock, p, started = self.conns.pop(fd)
        code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        p.result = _tcp_result(code)
        if code == 0:
            p.rtt_ms = round((time.monotonic() - started) * 1000, 2)
        sock.close()

    def close(self) -> None:
        for sock, _, _ in self.conns.values():
            sock.close()
        for sock in self.listeners:
            sock.close()


def _tcp_result(code: int) -> str:
    if code == 0:
        return OK
    if code == errno.ECONNREFUSED:
        return REFUSED
    if code in (errno.EHOSTUNREACH, errno.ENETUNREACH):
        return UNREACHABLE
    return f"error: {os.strerror(code)}"


def run(probes: list[Probe], kernel, timeout: float = 1.0) -> float:
    """Fill in every probe's result (and round-trip time); returns the seconds taken.

    Probes between neighbours on one link (each needs an ARP entry on both
    sides, in a table all namespaces share) go in batches that fit the room
    left in that table, and the entries a batch created are deleted after it;
    the rest (via a gateway: one entry per source) go in the first batch."""
    started = time.monotonic()
    onlink = _onlink(kernel, probes)
    far = [p for p in probes if not onlink(p)]
    near = [p for p in probes if onlink(p)]
    budget = max(MIN_BATCH, min(MAX_BATCH, kernel.neigh_table_room() // 2))
    for i, batch in enumerate(_batches(near, budget) or [[]]):
        wave = batch + (far if i == 0 else [])
        spaces = {p.src_ns for p in wave} | {p.dst_ns for p in wave if p.dst_ns}
        before = {ns: {(e["ifindex"], e["ip"]) for e in _neighbours(kernel, ns)} for ns in spaces}
        try:
            _wave(kernel, wave, timeout)
        finally:
            for ns, known in before.items():
                for e in _neighbours(kernel, ns):
                    if (e["ifindex"], e["ip"]) not in known and not e["state"] & NUD_PERMANENT:
                        kernel.neigh_del(ns, e["ifindex"], e["ip"])
    return time.monotonic() - started


def _neighbours(kernel, ns: str) -> list:
    """Neighbour entries of both families (ARP and neighbour discovery)."""
    try:
        return kernel.neighbours(ns) + kernel.neighbours(ns, socket.AF_INET6)
    except (OSError, NsnetError):
        return []


def _onlink(kernel, probes: list[Probe]):
    """A predicate: is the probe's target on a link of its source (no gateway)?"""
    nets: dict[str, list] = {}
    for ns in {p.src_ns for p in probes}:
        routes = kernel.snapshot(ns)["routes"]
        nets[ns] = [ipaddress.ip_network(r["dest"]) for r in routes
                    if not r["via"] and r["dest"] not in ("0.0.0.0/0", "::/0")]
    return lambda p: any(ipaddress.ip_address(p.addr) in net for net in nets[p.src_ns])


def _batches(probes: list[Probe], budget: int) -> list[list[Probe]]:
    """Group probes by source so that each group creates at most ~budget
    neighbour entries (one in the source and one in the target per address)."""
    by_src: dict[str, list[Probe]] = {}
    for p in probes:
        by_src.setdefault(p.src_ns, []).append(p)
    ordered = [p for group in by_src.values() for p in group]
    size = max(1, budget // 2)
    return [ordered[i:i + size] for i in range(0, len(ordered), size)]


def _wave(kernel, probes: list[Probe], timeout: float) -> None:
    started = time.monotonic()
    icmp = _Icmp(kernel, [p for p in probes if p.proto == "icmp"])
    tcp = _Tcp(kernel, [p for p in probes if p.proto == "tcp"])
    poller = select.poll()
    try:
        for fd in icmp.socks:
            poller.register(fd, select.POLLIN)
        for fd in tcp.conns:
            poller.register(fd, select.POLLOUT)
        deadline = started + timeout
        resend_every = timeout / (RESENDS + 1)
        next_send = started
        while time.monotonic() < deadline:
            if time.monotonic() >= next_send:
                icmp.refill()
                next_send += resend_every
            sending = icmp.send_some()
            if all(p.result for p in probes):
                break
            wait = PACE if sending else max(0.0, min(deadline, next_send) - time.monotonic())
            for fd, _ in poller.poll(wait * 1000):
                if fd in icmp.socks:
                    icmp.receive(fd)
                elif fd in tcp.conns:
                    poller.unregister(fd)
                    tcp.writable(fd)
    finally:
        icmp.close()
        tcp.close()
    for p in probes:
        p.result = p.result or TIMEOUT
