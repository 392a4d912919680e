"""DNS servers forked from a warm process instead of each started as a new
Python (`python -m nsnet.dns.forker ROOT LOCK_FD LISTENER_FD PADDING`): a new
server spends ~30 ms of CPU on start-up and imports, taken from whoever just
made a network; the forker imported all that once and forks a server per
request in ~1 ms. docs/design.md has the rest: one per install and identity
(ROOT/dns-forker-KEY/), who starts it, what a child starts with.

It stops after NSNET_DNS_LINGER seconds (30; 0: never used) without a request,
and at once if it cannot serve one: its own conditions changed (it refuses,
and the caller starts the server itself) or a fork failed (after it took the
request: that change's sockets reach the next server, which the next change
starts and which makes the sockets it lacks from the store). It opens nothing
at all (no store: a forked SQLite connection is unsafe).

Request (one SOCK_SEQPACKET message, fds lock, control, log attached):
NUL-separated PROTOCOL, version, identity, NAME=VALUE of the environment,
two NULs, the server's arguments. Answer: one byte, TAKEN, once the request is
checked and before the fork, or the connection closed without it (refused:
the caller still holds its lock and listener and starts the server itself;
a refusal after the caller had gone on would lose what it sent the server).
The forker writes the server's pid to the state dir's server.pid (Dns.pid
waits for it while the server's lock is held)."""

import contextlib
import os
import socket
import sys

from .. import __version__
from ..cni import client as warm
from ..cni.loop import AcceptLoop, peer_uid, reap_children
from ..kernel.selfproc import identity, in_machine_netns, reap_ended, set_cmdline
from .control import Paths, write_pid

PROTOCOL = "nsnet-dns-forker/2"
TAKEN = b"+"
ROOT = "/run/nsnet"
SEND_WAIT = 5.0  # seconds a request may wait for room in a forker's queue
PADDING = 4096  # bytes of command line a child can show (its state directory's path is in it)
# What a server loads: imported once by the forker (a test holds it to what a server imports)
WARM = ("nsnet.dns.__main__", "nsnet.dns.server", "nsnet.dns.source", "nsnet.dns.build", "nsnet.dns.answers",
        "nsnet.state.store", "nsnet.kernel.nsfs", "nsnet.kernel.libc", "sqlite3", "dnslib", "dnslib.label")


def linger() -> float:
    return warm.linger("NSNET_DNS_LINGER")


def paths(root: str = ROOT, me: str | None = None, code: str | None = None):
    """One forker per install (its code and its Python) and identity: a request never
    meets another install's forker, and callers in another namespace (`ip netns exec`)
    or under other limits never keep everyone else's requests from theirs."""
    import zlib

    key = zlib.crc32(f"{sys.executable}\0{code or version()}\0{me or identity()}".encode())
    return warm.Paths(root, f"dns-forker-{key:08x}", "nsnet.dns.forker", tail=(" " * PADDING,))


def version() -> str:
    """nsnet's version and when the server's code was installed: a forker of older code forks no server."""
    here = os.path.dirname(__file__)
    files = [os.path.join(here, n) for n in os.listdir(here) if n.endswith(".py")]
    return f"{__version__}:{max(os.stat(f).st_mtime_ns for f in files)}"


_started: list[int] = []  # forkers this process started: reaped once they end (a long-lived engine)


def start(args: list[str], fds: tuple[int, int, int], root: str = ROOT) -> int | None:
    """Ask the forker for a server with `args` and fds (lock, control, log): 0 once
    it took the request (it forks the server and writes its pid); None if no forker
    runs or it refused (the caller starts the server itself; a forker is started for
    the next one). Only from the machine's own network namespace: a forker lives where
    its starter is, and one in a namespace of its own would keep that namespace for its linger."""
    if linger() <= 0 or not in_machine_netns():
        return None
    reap_ended(_started)
    me, code = identity(), version()
    where = paths(root, me, code)
    sock = warm._connect(where)
    if sock is None:
        started = warm._start(where)  # for the next server: this one does not wait for its start-up
        if started not in (None, warm.BUSY):
            started.close()
            pid = warm.server_pid(root, where)
            if pid:
                _started.append(pid)
        return None
    head = [PROTOCOL, code, me, *(f"{k}={v}" for k, v in os.environ.items())]
    try:
        sock.settimeout(SEND_WAIT)
        socket.send_fds(sock, [("\0".join(head) + "\0\0" + "\0".join(args)).encode()], list(fds))
        answer = sock.recv(1)
    except TimeoutError:  # a forker that holds the fds and does not say: as taken (the link's deadline covers it)
        return 0
    except OSError:  # gone, or stopping: nothing was sent
        return None
    finally:
        sock.close()
    # taken: it forks and writes the pid (waiting for the fork cost the caller ~1.5 ms on two busy cores)
    return 0 if answer == TAKEN else None


class Forker(AcceptLoop):
    def __init__(self, listener: socket.socket):
        # where its starter made the listener (server.sock.PID, then renamed to server.sock)
        super().__init__(os.path.join(os.path.dirname(listener.getsockname()), "server.sock"), listener)
        self.version = version()  # of the code imported now

    def finish(self) -> None:
        """Leave no folder behind (one per install and identity): its lock is ours until we exit."""
        folder = os.path.dirname(self.sock_path)
        for name in ("server.pid", "server.lock"):
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(folder, name))
        log = os.path.join(folder, "server.log")
        with contextlib.suppress(OSError):
            if os.path.getsize(log) == 0:
                os.unlink(log)
        with contextlib.suppress(OSError):
            os.rmdir(folder)  # not if it has a log to read, or a new forker's files

    def takes(self, conn: socket.socket, head: list[str], fds: list[int]) -> bool:
        """A request of this version, with its three fds, from a caller of this forker's
        identity as it is now (a forker reniced or moved since would pass that on)."""
        return (len(fds) == 3 and len(head) >= 3 and peer_uid(conn) == os.geteuid() and head[0] == PROTOCOL
                and head[1] == self.version and head[2] == identity())

    def serve_one(self, conn: socket.socket) -> None:
        fds: list[int] = []
        try:
            conn.settimeout(5.0)
            data, fds, _, _ = socket.recv_fds(conn, 1 << 16, 3)
            if not data:
                return  # whoever started this forker connects and closes (cni/client.py's start-up)
            head, _, args = data.decode("utf-8", "surrogateescape").partition("\0\0")
            argv, head = args.split("\0"), head.split("\0")
            if not self.takes(conn, head, fds) or "--state-dir" not in argv:
                self.stopping = True  # its folder is its callers' identity: its own changed (renice, a cgroup move)
                return
            conn.send(TAKEN)
            try:
                pid = os.fork()
            except OSError:
                self.stopping = True  # the next change finds no server and starts one (see above)
                raise
            if pid == 0:
                self.child(conn, argv, fds, dict(f.partition("=")[::2] for f in head[3:]))  # never returns
            write_pid(Paths(argv[argv.index("--state-dir") + 1]).pid, pid)  # Dns.pid waits for it
        except (OSError, ValueError, IndexError):
            pass  # a caller gone, or a request that is none: it starts its server itself, or nothing
        finally:
            for fd in fds:
                os.close(fd)
            conn.close()

    def child(self, conn: socket.socket, argv: list[str], fds: list[int], env: dict) -> None:
        """The server: a session of its own, the caller's environment, fds 0-4 as a
        new one has them, nothing else open."""
        code = 1
        try:
            import fcntl
            import signal

            for signum in (signal.SIGCHLD, signal.SIGTERM):
                signal.signal(signum, signal.SIG_DFL)
            os.setsid()
            self.listener.close()
            conn.close()
            null = os.open("/dev/null", os.O_RDONLY)
            lock, control, log, null = (fcntl.fcntl(fd, fcntl.F_DUPFD, 8) for fd in (*fds, null))  # above 0-4
            for target, fd in ((0, null), (3, lock), (4, control), (1, log), (2, log)):
                os.dup2(fd, target)
            os.closerange(5, 1 << 30)  # close_range(2): one call
            os.environ.clear()
            os.environ.update(env)  # no module of a server reads it at import
            set_cmdline([sys.executable, "-m", "nsnet.dns", *argv])
            from .__main__ import main

            code = main(argv)
            sys.stdout.flush()
            sys.stderr.flush()
        except BaseException:  # a child never returns into the forker's loop
            import traceback

            traceback.print_exc()  # to its log, as a server started as a new process would
            sys.stderr.flush()
            code = 1
        finally:
            os._exit(code)


def main(argv: list[str]) -> None:
    import gc
    import importlib
    import signal

    lock_fd, listener_fd = int(argv[1]), int(argv[2])  # argv[0]: the root, argv[3]: room for a child's argv
    os.chdir("/")
    for name in WARM:
        importlib.import_module(name)
    gc.freeze()  # imported once: a child's collections never scan (and copy) these pages
    os.set_inheritable(lock_fd, False)
    listener = socket.socket(fileno=listener_fd)
    listener.set_inheritable(False)
    forker = Forker(listener)
    signal.signal(signal.SIGCHLD, reap_children)
    signal.signal(signal.SIGTERM, lambda *_: setattr(forker, "stopping", True))
    forker.run(linger() or warm.DEFAULT_LINGER)


if __name__ == "__main__":
    main(sys.argv[1:])
