"""The nsnet DNS server: one process and one selector loop for every sandbox of a host.

Each asking sandbox has its own UDP and TCP socket on 127.0.0.11:53 inside its
namespace (listeners.py): the socket a query arrives on says who asks, and so
which networks' names it sees. Reloads swap the records table and touch only
the sockets of sandboxes that came or went, so no query in flight is dropped.
With the state store as its source, the server stops by itself once no
network resolves names any more (control.py says how that stays race-free).
"""

from __future__ import annotations

import os
import selectors
import signal
import socket
import time

from . import control, log
from .config import Config, ConfigError
from .forward import Forwarder
from .listeners import Listeners
from .source import FileSource
from .tcp import BATCH, MAX_QUERY, TCP_IDLE, TcpClients

POLL = 0.05            # source poll (SQLite data_version, file mtime); also the upstream timeout grain
MIN_RELOAD = 0.02      # at most one reload per 20 ms, however many "reload"s arrive...
MAX_RELOAD_GAP = 0.08  # ...and, for big configs, a gap of 3x the last reload's cost, up to 80 ms
STALE_MAX = 1.0        # records changed without a query since: reload anyway after this long


class Server(TcpClients, Forwarder):
    def __init__(self, source, pidfile: str | None = None, door: socket.socket | None = None,
                 door_path: str | None = None):
        """`source`: a FileSource or StoreSource (see source.py); a path means a file.
        `door`: the listening control socket at `door_path` (control.py), if any."""
        self.source = FileSource(source) if isinstance(source, str) else source
        self.pidfile = pidfile
        self.sel = selectors.DefaultSelector()
        self.cfg = Config()
        self.listeners = Listeners(self.sel, self._on_udp, self._on_accept)
        self.door = control.Door(self.sel, door, door_path, self._on_message) if door is not None else None
        self.cache: dict = {}                    # UDP reply cache, see answers.respond
        self.pending: dict = {}                  # our query ID -> forwarded query (forward.py)
        self.fwd: dict[int, socket.socket] = {}  # address family -> upstream socket
        self.conns: dict = {}                    # fd -> TCP client (tcp._Conn), least recently active first
        self.errors = 0
        self._stat = None
        self._stop = self._hup = False
        self._stale_since = None  # records changed and not reloaded yet
        self._last_reload = 0.0
        self._reload_gap = MIN_RELOAD
        self._pings: list | None = []  # pings read before the first config was served (then None)

    # ------------------------------------------------------------ lifecycle

    def run(self) -> int:
        # Handlers first: a SIGHUP right after start-up must not kill us.
        rd, wr = socket.socketpair()
        rd.setblocking(False)
        wr.setblocking(False)
        signal.set_wakeup_fd(wr.fileno(), warn_on_full_buffer=False)
        before = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGHUP, signal.SIGTERM, signal.SIGINT)}
        self.sel.register(rd, selectors.EVENT_READ, lambda s, m: s.recv(4096))
        try:
            self.start()
            self._loop()
        finally:
            signal.set_wakeup_fd(-1)
            for sig, handler in before.items():
                signal.signal(sig, handler)
            self.close()
            rd.close()
            wr.close()
        return 0

    def start(self) -> None:
        """Take what was sent while we started, load the config, make the sockets."""
        if self.door is not None:
            self.door.take_queued()       # sockets sent while we started: no pair made twice
        self._stat = self.source.key()
        self._apply(self.source.load())   # a bad config at startup is fatal
        self._stale_since = None
        for conn in self._pings:          # "pong" means: serving, sockets made
            control.reply(conn, control.PONG)
        self._pings = None
        log.info("serving %d networks to %d sandboxes", len(self.cfg.networks), len(self.listeners))
        if self.pidfile:  # written once the sockets are bound: the pidfile means "ready"
            control.write_pid(self.pidfile, os.getpid())

    def _on_signal(self, signum, _frame) -> None:
        if signum == signal.SIGHUP:
            self._hup = True
        else:
            self._stop = True

    def _loop(self) -> None:
        next_tick = time.monotonic() + POLL
        while not self._stop:
            # A pending reload is served no sooner than MIN_RELOAD after the last
            # one: a burst of network changes costs a few reloads, not one each.
            due = self._last_reload + self._reload_gap
            wake = min(next_tick, due) if self._hup else next_tick
            self.serve_ready(max(0.0, wake - time.monotonic()))
            now = time.monotonic()
            if now >= next_tick or (self._hup and now >= due):
                self._tick(now)
                next_tick = now + POLL

    def serve_ready(self, timeout: float) -> None:
        """Serve what is ready within `timeout`: the engine's messages first. A
        query sent after a change was told to us finds the message queued when
        it arrives, and is answered from the records after the change (a slow
        server wakes to both at once; a query read first was answered from the
        old records: SERVFAIL for a name made a moment before)."""
        events = self.sel.select(timeout)
        if len(events) > 1 and self.door is not None:
            events.sort(key=lambda event: not self.door.owns(event[0].fileobj))
        for key, mask in events:
            key.data(key.fileobj, mask)

    def _tick(self, now: float) -> None:
        if not self.source.alive():
            log.info("the state directory is gone: exiting")
            self._stop = True
            return
        hup, self._hup = self._hup, False
        stat = self.source.key()
        if stat is not None and stat != self._stat and not hup:
            # Changed without a word to us: served at the next query, or after
            # STALE_MAX at the latest.
            self._stat = stat
            self._stale_since = self._stale_since or now
        if hup or (self._stale_since is not None and now - self._stale_since >= STALE_MAX):
            self._stat = stat if stat is not None else self._stat
            self._last_reload = now
            self._reload()
            cost = time.monotonic() - now  # keep reloads under ~25% of a core in a burst
            self._reload_gap = min(MAX_RELOAD_GAP, max(MIN_RELOAD, 3 * cost))
        elif self.listeners.missing and now >= self.listeners.next_try:
            self.listeners.make_missing(self.cfg)
        self._expire_upstream(now)
        for c in list(self.conns.values()):  # ordered by activity: stop at the first live one
            if now - c.last < TCP_IDLE:
                break
            self._close_conn(c)

    def fresh(self) -> None:
        """Before answering: reload if records or networks changed since the last
        reload. Attaches cost the server nothing until someone asks; a network
        change's reload, pending for the gap, is this one (not another after it)."""
        if self._stale_since is not None or self._hup:
            self._hup = False
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
        log.info("reloaded: %d networks, %d sandboxes", len(cfg.networks), len(cfg.askers))
        if not cfg.networks and not self.source.lives_on:
            self._stop_if_idle()

    def _apply(self, cfg: Config) -> None:
        self.cfg = cfg
        self.cache = {}  # replies from the old records must never be served again
        self.listeners.sync(cfg)

    def _stop_if_idle(self) -> None:
        """Nothing to serve: close the door, read what was sent before it closed,
        and look once more (a network made meanwhile keeps us serving)."""
        if self.door is not None:
            self.door.shut()
            cfg = self.source.load(self.cfg)
            self._apply(cfg)
            if cfg.networks:
                self.door.reopen()
                return
        log.info("no network resolves names any more: exiting")
        self._stop = True

    def close(self) -> None:
        if self.door is not None:
            self.door.close()
        for c in list(self.conns.values()):
            self._close_conn(c)
        self.listeners.close_all()
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

    # ------------------------------------------------------------ the engine's messages

    def _on_message(self, words: list[str], socks: list, conn) -> None:
        op = words[0].encode()
        if op == control.ADD and len(words) == 3:
            self.listeners.adopt(words[1], words[2], socks)
            self._stale_since = self._stale_since or time.monotonic()
            return
        for s in socks:  # no other message carries sockets
            s.close()
        if op == control.DROP and len(words) == 2:
            self.listeners.close(words[1])
            self._stale_since = self._stale_since or time.monotonic()
        elif op == control.STALE:
            self._stale_since = self._stale_since or time.monotonic()
        elif op == control.RELOAD:
            self._hup = True
        elif op == control.PING:
            if self._pings is not None:
                self._pings.append(conn)
            else:
                control.reply(conn, control.PONG)

    # ------------------------------------------------------------ UDP

    def _on_udp(self, sock: socket.socket, lst) -> None:
        from .answers import respond, udp_limit  # dnslib: loaded by the first query (config.py)

        self.fresh()
        cfg, view, cache = self.cfg, lst.view, self.cache
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
                out, fwd = respond(cfg, view, data, True, cache)
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
