"""The server's listening sockets: a UDP and (when free) a TCP socket per
listen address in every asking sandbox's own namespace. Who asks is the socket a query
arrives on; nothing outside the sandbox can reach them.

Pairs come two ways: handed over by the engine that made the sandbox (adopt),
or made here by entering the sandbox's namespace (the ones a restarted server
lacks, or a sender that died before handing them over). A pair remembers its
namespace's inode: a sandbox re-created under the same name gets a new pair.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import socket
import time

from ..kernel import listen, nsfs
from . import log

BIND_RETRY = 1.0  # seconds between attempts for sandboxes whose pair could not be made


class Listener:
    __slots__ = ("addrs", "ino", "name", "netns", "socks", "view")

    def __init__(self, name: str, netns: str, ino: int, socks: list, view):
        self.name, self.netns, self.ino, self.socks, self.view = name, netns, ino, socks, view
        self.addrs = frozenset(s.getsockname()[0] for s in socks)  # the resolver addresses it serves


class Listeners:
    def __init__(self, sel, on_udp, on_accept):
        """on_udp(sock, listener) and on_accept(sock, listener) serve the sockets."""
        self.sel = sel
        self.on_udp, self.on_accept = on_udp, on_accept
        self.by_name: dict[str, Listener] = {}
        self.missing: dict[str, str] = {}  # sandbox -> the last error making its pair
        self.next_try = 0.0

    def __len__(self) -> int:
        return len(self.by_name)

    def adopt(self, name: str, netns: str, socks: list) -> None:
        """Serve `name` on sockets the engine made. They replace what we had for
        an older namespace of that name. In the same namespace (we made our
        own while they were on their way) the fuller set stays, ours on a tie.
        What the other set holds is answered before it is closed."""
        if not socks:
            return
        new = Listener(name, netns, listen.netns_ino(socks[0]), socks, None)
        old = self.by_name.get(name)
        if old is not None and old.ino == new.ino and len(old.socks) >= len(new.socks):
            self._retire(new, old)
            return
        self.missing.pop(name, None)
        if old is not None:
            new.view = old.view
        self._serve(new)
        if old is not None:
            self._retire(old, new)

    def _retire(self, gone: Listener, kept: Listener) -> None:
        for s in gone.socks:
            if s.type == socket.SOCK_DGRAM:
                self.on_udp(s, kept)
            with contextlib.suppress(KeyError):  # never registered (a set that was not kept)
                self.sel.unregister(s)
            s.close()

    def close(self, name: str) -> None:
        lst = self.by_name.pop(name, None)
        if lst is not None:
            for s in lst.socks:
                self.sel.unregister(s)
                s.close()

    def close_all(self) -> None:
        for name in list(self.by_name):
            self.close(name)

    def sync(self, cfg) -> None:
        """After a reload: views follow the config; sandboxes gone lose their
        sockets; a namespace replaced under the same name, or a sandbox with
        no sockets yet, gets a pair made here."""
        askers = cfg.askers
        for name in [n for n in self.by_name if n not in askers]:
            self.close(name)
        self.missing = {n: e for n, e in self.missing.items() if n in askers}
        for name, asker in askers.items():
            lst = self.by_name.get(name)
            if lst is not None and (lst.netns != asker.netns or _ino(asker.netns) != lst.ino
                                    or lst.addrs != frozenset(asker.listen)):  # e.g. an IPv6 address came
                self.close(name)
                lst = None
            if lst is None:
                self.missing.setdefault(name, "")
            else:
                lst.view = asker.view
        self.make_missing(cfg)

    def make_missing(self, cfg) -> None:
        """Make the pairs of sandboxes that lack them; a sandbox whose port is
        held (by a socket that does not share it) is retried every BIND_RETRY."""
        self.next_try = time.monotonic() + BIND_RETRY
        for name, last in list(self.missing.items()):
            asker = cfg.askers.get(name)
            if asker is None:
                del self.missing[name]
                continue
            socks, ino = [], None
            try:
                for ip in asker.listen:
                    pair, ino = listen.bind_pair_in(asker.netns, ip, cfg.port)
                    socks.extend(pair)
                    if len(pair) == 1:
                        log.info("sandbox %s: another socket there listens on TCP port %d: UDP only",
                                 name, cfg.port)
            except OSError as e:
                for s in socks:
                    s.close()
                why = "no such namespace" if isinstance(e, FileNotFoundError) else os.strerror(e.errno or 0)
                if why != last:
                    log.warning("cannot listen in sandbox %s (%s): %s; will retry", name, asker.netns, why)
                self.missing[name] = why
                continue
            del self.missing[name]
            self._serve(Listener(name, asker.netns, ino, socks, asker.view))

    def _serve(self, lst: Listener) -> None:
        self.by_name[lst.name] = lst
        for s in lst.socks:
            serve = self.on_udp if s.type == socket.SOCK_DGRAM else self.on_accept
            self.sel.register(s, selectors.EVENT_READ, lambda sock, m, lst=lst, serve=serve: serve(sock, lst))


def _ino(netns: str) -> int | None:
    try:
        return os.stat(nsfs.netns_path(netns)).st_ino
    except OSError:
        return None
