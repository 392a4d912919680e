"""Forwarding to the host's resolvers: names that are not the networks' go
upstream from the server's own (the host's) namespace, under a fresh query ID
of ours, to one upstream after another until one answers. A mixin of Server
(it uses the server's selector, config and error hook); dnslib is imported
where it is used (config.py says why)."""

from __future__ import annotations

import os
import selectors
import socket
import time

from . import log
from .tcp import BATCH

MAX_PENDING = 2048     # forwarded queries awaiting an upstream; beyond that SERVFAIL at once


class _Pending:
    __slots__ = ("deadline", "dest", "idx", "limit", "orig_id", "reply", "req", "timeout",
                 "upstreams", "wire")


class Forwarder:
    def _forward(self, req, limit: int, reply) -> None:
        from dnslib import RCODE
        from dnslib.label import DNSLabelError

        from .answers import error

        cfg = self.cfg
        if not cfg.upstreams or len(self.pending) >= MAX_PENDING:
            reply(error(req, RCODE.SERVFAIL).pack())
            return
        p = _Pending()
        p.req, p.orig_id, p.reply, p.limit = req, req.header.id, reply, limit
        p.upstreams, p.idx, p.timeout = cfg.upstreams, -1, cfg.timeout
        # A fresh ID of our own: two clients may well use the same one.
        qid = _new_id()
        while qid in self.pending:
            qid = _new_id()
        req.header.id = qid
        try:
            p.wire = req.pack()
        except DNSLabelError:  # an overlong name inside some record's data: drop it
            return
        self._send_upstream(qid, p)

    def _send_upstream(self, qid: int, p: _Pending) -> None:
        """Send to the next upstream; SERVFAIL when there is none left."""
        self.pending.pop(qid, None)
        while True:
            p.idx += 1
            if p.idx >= len(p.upstreams):
                from dnslib import RCODE

                from .answers import error

                p.req.header.id = p.orig_id
                try:
                    p.reply(error(p.req, RCODE.SERVFAIL).pack())
                except OSError:
                    pass
                return
            p.dest = p.upstreams[p.idx]
            try:
                self._fwd_sock(":" in p.dest[0]).sendto(p.wire, p.dest)
            except OSError as e:
                log.debug("upstream %s: %s", p.dest, e)
                continue
            p.deadline = time.monotonic() + p.timeout
            self.pending[qid] = p
            return

    def _expire_upstream(self, now: float) -> None:
        for qid, p in [(q, p) for q, p in self.pending.items() if p.deadline <= now]:
            self._send_upstream(qid, p)  # timed out: next upstream, or SERVFAIL

    def _fwd_sock(self, v6: bool) -> socket.socket:
        fam = socket.AF_INET6 if v6 else socket.AF_INET
        s = self.fwd.get(fam)
        if s is None:
            s = self.fwd[fam] = socket.socket(fam, socket.SOCK_DGRAM)
            s.setblocking(False)
            self.sel.register(s, selectors.EVENT_READ, self._on_upstream)
        return s

    def _on_upstream(self, sock: socket.socket, _mask) -> None:
        from dnslib import DNSRecord

        from .answers import pack

        for _ in range(BATCH):
            try:
                data, src = sock.recvfrom(65535)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                continue
            try:
                resp = DNSRecord.parse(data)
            except Exception:
                continue
            p = self.pending.get(resp.header.id)
            # Accept only the reply of the upstream we asked, to the question we asked.
            if (p is None or not resp.header.qr or (src[0], src[1]) != p.dest
                    or resp.questions[:1] != p.req.questions[:1]):
                continue
            del self.pending[resp.header.id]
            resp.header.id = p.orig_id
            try:
                p.reply(pack(resp, p.limit))
            except OSError:
                pass
            except Exception:
                self._bug()


def _new_id() -> int:
    """A query ID an off-path attacker cannot guess."""
    return int.from_bytes(os.urandom(2), "big")
