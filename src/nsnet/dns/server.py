"""The nsnet DNS server: one process and one selector loop for every network of a host.

Each listen address gets a UDP and a TCP socket on the config's port; the
address a query arrives on says which network asks. Reloads swap the records
table and touch only the sockets of added or removed addresses, so queries in
flight on the others are never dropped.
"""

from __future__ import annotations

import logging
import os
import secrets
import selectors
import signal
import socket
import time

from dnslib import RCODE, DNSRecord
from dnslib.label import DNSLabelError

from .records import Config, ConfigError, error, pack, respond, udp_limit
from .source import FileSource
from .tcp import BATCH, MAX_QUERY, TCP_IDLE, TcpClients

log = logging.getLogger("nsnet.dns")

IP_FREEBIND = 15       # not exported by the socket module; lets us bind before
IPV6_FREEBIND = 78     # the engine has put the address on the bridge
POLL = 0.05            # config mtime poll; also the granularity of upstream timeouts
MIN_RELOAD = 0.02      # at most one reload per 20 ms, however many SIGHUPs arrive...
MAX_RELOAD_GAP = 0.08  # ...and, for big configs, a gap of 3x the last reload's cost, up to 80 ms
STALE_MAX = 1.0        # records changed without a query since: reload anyway after this long
BIND_RETRY = 1.0       # seconds between retries of listen addresses that failed to bind
MAX_PENDING = 2048     # forwarded queries awaiting an upstream; beyond that SERVFAIL at once


class _Pending:
    __slots__ = ("deadline", "dest", "idx", "limit", "orig_id", "reply", "req", "timeout",
                 "upstreams", "wire")


class Server(TcpClients):
    def __init__(self, source, pidfile: str | None = None):
        """`source`: a FileSource or StoreSource (see source.py); a path means a file."""
        self.source = FileSource(source) if isinstance(source, str) else source
        self.pidfile = pidfile
        self.sel = selectors.DefaultSelector()
        self.cfg = Config()
        self.listeners: dict[tuple[str, int], tuple[socket.socket, socket.socket]] = {}
        self.unbound: dict[tuple[str, int], str] = {}  # not yet bound -> last error
        self.cache: dict = {}                    # UDP reply cache, see records.respond
        self.pending: dict[int, _Pending] = {}   # our query ID -> forwarded query
        self.fwd: dict[int, socket.socket] = {}  # address family -> upstream socket
        self.conns: dict = {}                    # fd -> TCP client (tcp._Conn), least recently active first
        self.errors = 0
        self._stat = None
        self._stop = self._hup = self._usr1 = False
        self._stale_since = None  # records changed (SIGUSR1, store moved) and not reloaded yet
        self._next_bind = 0.0
        self._last_reload = 0.0
        self._reload_gap = MIN_RELOAD

    # ------------------------------------------------------------ lifecycle

    def run(self) -> int:
        # Handlers first: a SIGHUP right after the pidfile appears must not kill us.
        rd, wr = socket.socketpair()
        rd.setblocking(False)
        wr.setblocking(False)
        signal.set_wakeup_fd(wr.fileno(), warn_on_full_buffer=False)
        for sig in (signal.SIGHUP, signal.SIGUSR1, signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on_signal)
        self.sel.register(rd, selectors.EVENT_READ, lambda s, m: s.recv(4096))
        try:
            self._stat = self.source.key()
            self._apply(self.source.load())   # a bad config at startup is fatal
            log.info("serving %d networks on %d addresses", len(self.cfg.networks),
                     len(self.listeners))
            if self.pidfile:  # written once the sockets are bound: the pidfile means "ready"
                with open(self.pidfile, "w") as f:
                    f.write(f"{os.getpid()}\n")
            self._loop()
        finally:
            signal.set_wakeup_fd(-1)
            self._shutdown()
            rd.close()
            wr.close()
        return 0

    def _on_signal(self, signum, _frame) -> None:
        if signum == signal.SIGHUP:
            self._hup = True
        elif signum == signal.SIGUSR1:
            self._usr1 = True
        else:
            self._stop = True

    def _loop(self) -> None:
        next_tick = time.monotonic() + POLL
        while not self._stop:
            # A pending SIGHUP is served no sooner than MIN_RELOAD after the last
            # reload: a burst of changes (200 attaches) costs a few reloads, not 200.
            due = self._last_reload + self._reload_gap
            wake = min(next_tick, due) if self._hup else next_tick
            for key, mask in self.sel.select(max(0.0, wake - time.monotonic())):
                key.data(key.fileobj, mask)
            now = time.monotonic()
            if self._usr1:
                self._usr1 = False
                self._stale_since = self._stale_since or now
            if now >= next_tick or (self._hup and now >= due):
                self._tick(now)
                next_tick = now + POLL

    def _tick(self, now: float) -> None:
        if not self.source.alive():
            log.info("the state directory is gone: exiting")
            self._stop = True
            return
        hup, self._hup = self._hup, False
        stat = self.source.key()
        if stat is not None and stat != self._stat and not hup:
            # Changed without a SIGHUP (records only, or a change we were not told
            # about): served at the next query, or after STALE_MAX at the latest.
            self._stat = stat
            self._stale_since = self._stale_since or now
        if hup or (self._stale_since is not None and now - self._stale_since >= STALE_MAX):
            self._stat = stat if stat is not None else self._stat
            self._last_reload = now
            self._reload()
            cost = time.monotonic() - now  # keep reloads under ~25% of a core in a burst
            self._reload_gap = min(MAX_RELOAD_GAP, max(MIN_RELOAD, 3 * cost))
        elif self.unbound and now >= self._next_bind:
            self._bind_missing()
        for qid, p in [(q, p) for q, p in self.pending.items() if p.deadline <= now]:
            self._send_upstream(qid, p)      # timed out: next upstream, or SERVFAIL
        for c in list(self.conns.values()):  # ordered by activity: stop at the first live one
            if now - c.last < TCP_IDLE:
                break
            self._close_conn(c)

    def fresh(self) -> None:
        """Before answering: reload if records changed since the last reload.
        Attaches (SIGUSR1) cost the server nothing until someone asks."""
        if self._stale_since is not None or self._usr1:
            self._usr1 = False
            self._stat = self.source.key() or self._stat
            self._reload()

    def _reload(self) -> None:
        self._stale_since = None
        try:
            cfg = self.source.load(self.cfg)
        except ConfigError as e:  # keep serving the last good config
            log.error("reload failed, keeping the previous config: %s", e)
            return
        except Exception:  # a validation gap must not take DNS down (logged with traceback)
            log.exception("reload failed, keeping the previous config")
            return
        self._apply(cfg)
        log.info("reloaded: %d networks, %d listen addresses",
                 len(cfg.networks), len(cfg.by_addr))

    def _shutdown(self) -> None:
        for c in list(self.conns.values()):
            self._close_conn(c)
        for addr in list(self.listeners):
            self._close_listener(addr)
        for s in self.fwd.values():
            s.close()
        self.sel.close()
        if self.pidfile:
            try:
                with open(self.pidfile) as f:
                    mine = f.read().strip() == str(os.getpid())
                if mine:
                    os.unlink(self.pidfile)
            except OSError:
                pass

    # ------------------------------------------------------------ listeners

    def _apply(self, cfg: Config) -> None:
        self.cfg = cfg
        self.cache = {}  # replies from the old records must never be served again
        want = {(ip, cfg.port) for ip in cfg.by_addr}
        for addr in [a for a in self.listeners if a not in want]:
            self._close_listener(addr)
        self.unbound = {a: self.unbound.get(a, "") for a in want - self.listeners.keys()}
        self._bind_missing()

    def _bind_missing(self) -> None:
        self._next_bind = time.monotonic() + BIND_RETRY
        for (ip, port), last in sorted(self.unbound.items()):
            try:
                udp, tcp = self._bind(ip, port)
            except OSError as e:
                if str(e) != last:  # once per new error, not every retry
                    log.warning("cannot listen on %s port %d yet (%s); will retry", ip, port, e)
                self.unbound[(ip, port)] = str(e)
                continue
            del self.unbound[(ip, port)]
            self.listeners[(ip, port)] = (udp, tcp)
            self.sel.register(udp, selectors.EVENT_READ, lambda s, m, ip=ip: self._on_udp(s, ip))
            self.sel.register(tcp, selectors.EVENT_READ,
                              lambda s, m, ip=ip: self._on_accept(s, ip))

    @staticmethod
    def _bind(ip: str, port: int) -> tuple[socket.socket, socket.socket]:
        v6 = ":" in ip
        fam = socket.AF_INET6 if v6 else socket.AF_INET
        socks = []
        try:
            for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                s = socket.socket(fam, kind)
                socks.append(s)
                if v6:
                    s.setsockopt(socket.IPPROTO_IPV6, IPV6_FREEBIND, 1)
                    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                else:
                    s.setsockopt(socket.IPPROTO_IP, IP_FREEBIND, 1)
                if kind == socket.SOCK_STREAM:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.setblocking(False)
                s.bind((ip, port))
                if kind == socket.SOCK_STREAM:
                    s.listen(128)
        except OSError:
            for s in socks:
                s.close()
            raise
        return socks[0], socks[1]

    def _close_listener(self, addr) -> None:
        for s in self.listeners.pop(addr):
            self.sel.unregister(s)
            s.close()

    # ------------------------------------------------------------ UDP

    def _on_udp(self, sock: socket.socket, ip: str) -> None:
        self.fresh()
        cfg = self.cfg
        net = cfg.by_addr.get(ip)
        cache = self.cache
        for _ in range(BATCH):
            try:
                data, peer = sock.recvfrom(MAX_QUERY + 1)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                continue
            if len(data) > MAX_QUERY:
                continue
            try:
                out, fwd = respond(cfg, net, data, True, cache, peer[0])
                if out is not None:
                    sock.sendto(out, peer)
                elif fwd is not None:
                    self._forward(fwd, udp_limit(fwd), lambda b, s=sock, p=peer: s.sendto(b, p))
            except OSError:
                pass  # the client is gone or our send buffer is full: it will retry
            except Exception:
                self._bug()

    def _bug(self) -> None:
        # A query that trips a bug costs that query, never the server; log a few.
        self.errors += 1
        if self.errors <= 20:
            log.exception("error while handling a query")

    # ------------------------------------------------------------ forwarding

    def _forward(self, req: DNSRecord, limit: int, reply) -> None:
        cfg = self.cfg
        if not cfg.upstreams or len(self.pending) >= MAX_PENDING:
            reply(error(req, RCODE.SERVFAIL).pack())
            return
        p = _Pending()
        p.req, p.orig_id, p.reply, p.limit = req, req.header.id, reply, limit
        p.upstreams, p.idx, p.timeout = cfg.upstreams, -1, cfg.timeout
        # A fresh ID of our own: two clients may well use the same one.
        qid = secrets.randbits(16)
        while qid in self.pending:
            qid = secrets.randbits(16)
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

    def _fwd_sock(self, v6: bool) -> socket.socket:
        fam = socket.AF_INET6 if v6 else socket.AF_INET
        s = self.fwd.get(fam)
        if s is None:
            s = self.fwd[fam] = socket.socket(fam, socket.SOCK_DGRAM)
            s.setblocking(False)
            self.sel.register(s, selectors.EVENT_READ, self._on_upstream)
        return s

    def _on_upstream(self, sock: socket.socket, _mask) -> None:
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
