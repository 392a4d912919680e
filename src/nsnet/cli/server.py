"""The warm server of the command line for one state directory (`python -m
nsnet.cli.server STATE LOCK_FD LISTENER_FD`, started by cli/served.py through
cni/client.py's start-up; protocol and what is served: served.py).

It imports what the served commands use, once, and opens nothing: no store,
no netlink socket, so each forked child starts as clean as a new process and
makes its own. The child is forked ahead (the spare), off the commands' path,
and takes a command only from a caller of the identity it inherited then. It
tells its caller `exit N` once the command has ended; a child killed before
that the server reaps (SIGCHLD) and tells the caller `signal N` (or `exit N`).

It stops after NSNET_CLI_LINGER seconds without a command, when its socket is
no longer in the state directory, or on SIGTERM: it unlinks its socket,
serves what is queued, waits for the children that run, then exits."""

import os
import signal
import socket
import sys
import time

from .. import interrupt
from ..cni import client as warm
from ..cni.loop import AcceptLoop, peer_uid
from . import exits, served
from . import main as climain
from .parse import parse

# What the served commands load: imported once, here (the point of this server)
# (a test holds it to what each served command imports).
WARM = ("nsnet.engine", "nsnet.kernel.rtnl", "nsnet.kernel.reaper", "nsnet.kernel.nft", "nsnet.kernel.handover",
        "nsnet.kernel.netlink.dumps", "nsnet.run.stop", "nsnet.cli.network", "nsnet.cli.output",
        "nsnet.cli.sandbox", "nsnet.cli.faults", "nsnet.cli.parse", "nsnet.cli.session", "nsnet.cli.helptext",
        "nsnet.interrupt",
        "nsnet.cli.run", "nsnet.run.spawn", "nsnet.run.foreground", "nsnet.run.spec", "nsnet.kernel.process",
        "hashlib")

BLOCKED = {signal.SIGCHLD, *served.FORWARDED}  # around a fork (serve_one)


class Server(AcceptLoop):
    def __init__(self, state_dir: str, listener: socket.socket):
        self.paths = served.paths(state_dir)
        super().__init__(self.paths.sock, listener)
        self.version = served.version()  # of the code imported now: an install after it is not ours
        self.settings = served.settings(os.environ)
        self.running: dict[int, socket.socket] = {}  # child -> its caller, told how it ended once reaped
        self.spare: tuple[int, socket.socket] | None = None  # a child forked ahead, and our end of its link
        self.spare_identity = ""  # what the spare inherited at its fork (kernel/selfproc.identity)

    def fork_spare(self) -> None:
        """A child forked before its command comes (the fork, ~1-2 ms with its first page copies, is then
        no part of any command's time): it waits on its link for a request, its fds and its caller."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, BLOCKED)  # the child unblocks them once it is ready
        try:
            # A child keeps what it inherits at its fork (namespaces, nice, cgroup, limits...) whatever the
            # server becomes later: its identity is the server's now (read off the commands' path, ~0.6 ms
            # in a server whose pages the last fork had just shared)
            self.spare_identity = served.identity()
            pid = os.fork()
            if pid == 0:
                ours.close()
                self.wait_for_work(theirs)  # never returns
        except OSError:
            ours.close()
            return
        finally:
            theirs.close()
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        self.spare = (pid, ours)

    def hand_over(self, data: bytes, fds: list[int], conn: socket.socket, identity: str) -> int:
        """The spare's pid, once it has the request (a new spare if it is gone), if it
        inherited the caller's `identity` (a server reniced or moved since forks no child
        that would pass that on to the command's processes); OSError if not: the caller,
        told nothing, makes the command itself."""
        for _ in range(2):
            if self.spare is None:
                self.fork_spare()
            if self.spare is None or self.spare_identity != identity:
                raise OSError("no child of the caller's identity")
            pid, link = self.spare
            self.spare = None
            try:
                socket.send_fds(link, [data], [conn.fileno(), *fds])
                return pid
            except OSError:  # the spare died waiting (killed): another one
                continue
            finally:
                link.close()
        raise OSError("no child took the request")

    def between(self) -> None:
        if self.spare is None and not self.stopping:
            self.fork_spare()

    def wait_for_work(self, link: socket.socket) -> None:
        """The spare: drop what is the server's, then wait for a request (none: the server went)."""
        try:
            self.listener.close()
            for other in self.running.values():
                other.close()
            data, fds, _, _ = socket.recv_fds(link, 1 << 20, 4)
            link.close()
            if not data or len(fds) != 4:
                os._exit(0)
        except BaseException:
            os._exit(0)
        self.child(socket.socket(fileno=fds[0]), fds[1:], served.Request(data))

    def serve_one(self, conn: socket.socket) -> None:
        fds: list[int] = []
        try:
            conn.settimeout(5.0)  # the request follows the connect at once
            data, fds, _, _ = socket.recv_fds(conn, 1 << 20, 3)
            req = self.taken(conn, data, fds)
            if req is not None:
                # SIGCHLD: reaped once registered. A signal the caller passes on as soon as it has the pid
                # waits, blocked in the child, for the child's own handlers (child()).
                signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})
                try:
                    pid = self.hand_over(data, fds, conn, req.identity)
                    self.running[pid] = conn
                    conn.send(f"pid {pid}".encode())  # the caller's GO comes while the child gets ready
                    conn = None
                finally:
                    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})
            else:
                conn.send(served.OTHER)
        except OSError:
            pass  # the caller went away before its child ran: it makes the command itself, or gave up
        finally:
            for fd in fds:
                os.close(fd)
            if conn is not None:
                conn.close()

    def reap(self, *_) -> None:
        """SIGCHLD: tell the caller of each child that ended how it did, once it
        is gone (as a process of its own would be when its shell sees it end):
        `exit N`, or `signal N` when it was killed (a kill point, the OOM killer)."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            conn = self.running.pop(pid, None)
            if conn is None:
                continue
            how = f"signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status) else f"exit {os.WEXITSTATUS(status)}"
            try:
                conn.send(how.encode())
            except OSError:
                pass  # a caller that gave up before GO, or was killed
            conn.close()

    def taken(self, conn: socket.socket, data: bytes, fds: list[int]):
        """The request, if it is one of this version and settings, with three streams, from
        this user; the identity is the spare's to match (hand_over)."""
        try:
            req = served.Request(data)
        except (ValueError, UnicodeError):
            return None
        ok = (len(fds) == 3 and peer_uid(conn) == os.geteuid() and req.version == self.version
              and served.settings(req.env) == self.settings and _serves(req.argv))
        return req if ok else None

    def child(self, conn: socket.socket, fds: list[int], req) -> None:
        """The command, as the calling process would have made it; the server tells the caller how it ended."""
        code = 1
        try:
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the command waits for its own children
            for target, fd in enumerate(fds):
                os.dup2(fd, target)
            for fd in fds:
                os.close(fd)
            fds.clear()
            os.chdir(req.cwd)
            os.umask(req.umask)
            os.environ.clear()
            os.environ.update(req.env)
            sys.argv = ["nsnet", *req.argv]
            interrupt.install()  # SIGTERM from here on ends the command as main() would (one line, 143)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, BLOCKED)  # a signal passed on meanwhile arrives now
            conn.settimeout(30.0)
            if conn.recv(8) != served.GO:  # the caller gave up waiting and makes the command itself
                os._exit(0)
            conn.settimeout(None)
            code = climain.main(req.argv)
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except OSError:
                    pass
            try:  # the command has ended: the caller need not wait for this process's teardown (~1 ms)
                conn.send(f"exit {code}".encode())
            except OSError:
                pass
        except BaseException as exc:  # before main() (it turns everything into a code itself)
            code = exits.exit_code(exc)
        finally:
            os._exit(code)

    def finish(self) -> None:
        if self.spare is not None:  # it finds its link closed and ends
            self.spare[1].close()
            self.spare = None
        while self.running:  # each caller hears how its command ended (reap, on SIGCHLD)
            time.sleep(0.05)


def _serves(argv: list[str]) -> bool:
    """Any command the caller hands over (served.is_served chose them), but `run`
    only with --detach and without -i or -t: the caller only waits for the start.
    Only a `run` is parsed here (in a server whose pages a fork has just shared,
    a parse costs ~0.35 ms of copies)."""
    if argv[served.command_at(argv):][:1] != ["run"]:
        return True
    try:
        values = parse(argv).values
    except Exception:  # a usage error: the caller's own process says it
        return False
    return bool(values.get("detach")) and not values.get("interactive") and not values.get("tty")


def main(argv: list[str]) -> None:
    state_dir, lock_fd, listener_fd = argv[0], int(argv[1]), int(argv[2])
    os.chdir("/")
    import importlib

    for name in WARM:
        importlib.import_module(name)
    import gc

    gc.freeze()  # what is imported now is never scanned by a child's collections: its pages stay shared
    os.set_inheritable(lock_fd, False)  # held for life; no child may hold it
    listener = socket.socket(fileno=listener_fd)
    listener.set_inheritable(False)
    server = Server(state_dir, listener)
    signal.signal(signal.SIGCHLD, server.reap)
    signal.signal(signal.SIGTERM, lambda *_: setattr(server, "stopping", True))
    server.fork_spare()
    server.run(served.linger() or warm.DEFAULT_LINGER)


if __name__ == "__main__":
    main(sys.argv[1:])
