"""Listening sockets made inside a sandbox's namespace (a socket stays in the
namespace it was made in, and nothing outside it can reach 127.0.0.11 there).

The DNS server answers each sandbox on such a pair (UDP, and TCP when free). The engine
makes the pair while it sets a sandbox up and hands it to the server; the
server makes the pairs it lacks itself (after a restart). Both use this module.
"""

import errno
import fcntl
import os
import socket

from . import nsfs

IP_FREEBIND = 15       # not exported by the socket module: bind before `lo` has the address
IPV6_FREEBIND = 78
SIOCGSKNS = 0x894C     # ioctl: a socket's network namespace, as a new fd
TCP_BACKLOG = 16


def bind_pair(ip: str, port: int) -> list[socket.socket]:
    """A non-blocking UDP socket on ip:port, here, and a listening TCP socket
    when the port is free for one. Both reuse the address: a server of the
    sandbox's own may bind 0.0.0.0:53/udp beside it (with SO_REUSEADDR too);
    a TCP listener of its own on 0.0.0.0:53 leaves the resolver UDP only."""
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    udp = _socket(family, socket.SOCK_DGRAM, ip, port)
    try:
        tcp = _socket(family, socket.SOCK_STREAM, ip, port)
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            udp.close()
            raise
        return [udp]
    return [udp, tcp]


def _socket(family: int, kind: int, ip: str, port: int) -> socket.socket:
    s = socket.socket(family, kind)
    try:
        if family == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, IPV6_FREEBIND, 1)
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        else:
            s.setsockopt(socket.IPPROTO_IP, IP_FREEBIND, 1)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.setblocking(False)
        s.bind((ip, port))
        if kind == socket.SOCK_STREAM:
            s.listen(TCP_BACKLOG)
    except OSError:
        s.close()
        raise
    return s


def bind_pair_in(netns: str, ip: str, port: int) -> tuple[list[socket.socket], int]:
    """bind_pair() inside namespace `netns` (a name under /run/netns or a path),
    and that namespace's inode: its identity, as a name can be reused.
    FileNotFoundError when there is no such namespace; EADDRINUSE when
    something there holds the port already."""
    ino = os.stat(nsfs.netns_path(netns)).st_ino
    with nsfs.inside(netns):
        return bind_pair(ip, port), ino


def netns_ino(sock: socket.socket) -> int:
    """The inode of the namespace `sock` was made in."""
    fd = fcntl.ioctl(sock.fileno(), SIOCGSKNS)
    try:
        return os.fstat(fd).st_ino
    finally:
        os.close(fd)
