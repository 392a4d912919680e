"""DNS over TCP for the server: accepted connections, 2-byte length framing
(RFC 1035 4.2.2), bounded buffers and connection count. A mixin of Server
(it uses the server's selector, config, forwarder and error hook). A
connection answers with the view of the sandbox whose socket accepted it."""

from __future__ import annotations

import selectors
import socket
import time

MAX_QUERY = 4096       # larger queries are dropped (UDP) or close the connection (TCP)
BATCH = 64             # packets read per readiness event: fewer select() calls under load
MAX_TCP = 256          # open TCP connections; the least recently active one is evicted
TCP_IDLE = 10.0
MAX_TCP_OUT = 256 * 1024  # unsent bytes for a client that does not read: close it


class _Conn:
    __slots__ = ("cb", "closed", "events", "inbuf", "last", "lst", "out", "sock")


class TcpClients:
    def _on_accept(self, lsock: socket.socket, lst) -> None:
        for _ in range(BATCH):
            try:
                sock, _ = lsock.accept()
            except OSError:  # none waits (BlockingIOError), or e.g. out of file descriptors: leave it in the backlog
                return
            if len(self.conns) >= MAX_TCP:
                self._close_conn(next(iter(self.conns.values())))
            sock.setblocking(False)
            c = _Conn()
            c.sock, c.lst, c.inbuf, c.out = sock, lst, bytearray(), bytearray()
            c.last, c.events, c.closed = time.monotonic(), selectors.EVENT_READ, False
            c.cb = lambda s, m, c=c: self._on_conn(c, m)
            self.conns[sock.fileno()] = c
            self.sel.register(sock, c.events, c.cb)

    def _on_conn(self, c: _Conn, mask: int) -> None:
        if mask & selectors.EVENT_WRITE:
            self._flush(c)
        if c.closed or not mask & selectors.EVENT_READ:
            return
        try:
            data = c.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._close_conn(c)
            return
        c.last = time.monotonic()
        fd = c.sock.fileno()
        self.conns[fd] = self.conns.pop(fd)  # most recently active goes last
        c.inbuf += data
        while len(c.inbuf) >= 2 and not c.closed:  # 2-byte length framing (RFC 1035 4.2.2)
            n = int.from_bytes(c.inbuf[:2], "big")
            if n == 0 or n > MAX_QUERY:
                self._close_conn(c)
                return
            if len(c.inbuf) < 2 + n:
                break
            msg = bytes(c.inbuf[2:2 + n])
            del c.inbuf[:2 + n]
            from .answers import respond  # dnslib: loaded by the first query (config.py)

            self.fresh()
            try:
                out, fwd = respond(self.cfg, c.lst.view, msg, False)
                if out is not None:
                    self._send_tcp(c, out)
                elif fwd is not None:
                    self._forward(fwd, 65535, lambda b, c=c: self._send_tcp(c, b))
            except Exception:
                self._bug()

    def _send_tcp(self, c: _Conn, msg: bytes) -> None:
        if c.closed:
            return
        c.out += len(msg).to_bytes(2, "big") + msg
        if len(c.out) > MAX_TCP_OUT:
            self._close_conn(c)
        else:
            self._flush(c)

    def _flush(self, c: _Conn) -> None:
        try:
            n = c.sock.send(c.out)
        except (BlockingIOError, InterruptedError):
            n = 0
        except OSError:
            self._close_conn(c)
            return
        del c.out[:n]
        events = selectors.EVENT_READ | (selectors.EVENT_WRITE if c.out else 0)
        if events != c.events:
            c.events = events
            self.sel.modify(c.sock, events, c.cb)

    def _close_conn(self, c: _Conn) -> None:
        if c.closed:
            return
        c.closed = True
        self.conns.pop(c.sock.fileno(), None)
        self.sel.unregister(c.sock)
        c.sock.close()
