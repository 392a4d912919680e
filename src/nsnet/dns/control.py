"""How the engine and the DNS server talk: one server per state directory.

    STATE/dns/server.lock   flock'ed by the server for its whole life. Whoever
                            takes it (non-blocking) knows that no server runs and
                            starts one, handing the lock over: exactly one server,
                            whatever the concurrency, and a server killed by -9
                            lets go of it at once.
    STATE/dns/control.sock  a unix SOCK_SEQPACKET listener made by that starter
                            and inherited by the server: connections and their
                            messages queue in the kernel before the server runs,
                            so nobody waits for it to start.
    STATE/dns/server.pid    written by the starter; server.log: its output.

Messages (words separated by NUL bytes):
    add SANDBOX NETNS   + the sandbox's listening sockets (SCM_RIGHTS)
    drop SANDBOX        it is gone: close its sockets (that frees its namespace)
    stale               records changed: reload before the next answer
    reload              networks changed: reload now
    ping                answered with "pong": the server is up and reading
"""

import array
import contextlib
import fcntl
import os
import selectors
import socket
import time

ADD, DROP, STALE, RELOAD, PING, PONG = b"add", b"drop", b"stale", b"reload", b"ping", b"pong"
MAX_FDS = 8         # per message: a sandbox's pairs (one per listen address)
BACKLOG = 1024      # connections queued before the server accepts them
SEND_WAIT = 3.0     # seconds a sender waits for a server that is starting or stopping
_GONE = (BrokenPipeError, ConnectionResetError, ConnectionRefusedError)


class Paths:
    def __init__(self, state_dir: str):
        self.folder = os.path.join(state_dir, "dns")
        self.lock = os.path.join(self.folder, "server.lock")
        self.control = os.path.join(self.folder, "control.sock")
        self.pid = os.path.join(self.folder, "server.pid")
        self.log = os.path.join(self.folder, "server.log")
        self.etc = os.path.join(self.folder, "etc")  # the resolv.conf every sandbox shares


def write_pid(path: str, pid: int) -> None:
    """Whole or not at all (tmp + rename): a reader never sees it empty."""
    with open(path + ".tmp", "w") as f:
        f.write(f"{pid}\n")
    os.replace(path + ".tmp", path)


def listen_at(path: str) -> socket.socket:
    """The listening control socket, bound under a name of its own and renamed
    to `path`: a sender never connects to one that does not listen yet."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        tmp = f"{path}.{os.getpid()}"
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        listener.bind(tmp)
        listener.listen(BACKLOG)
        os.replace(tmp, path)
    except BaseException:
        listener.close()
        raise
    return listener


def encode(*words) -> bytes:
    return b"\0".join(w if isinstance(w, bytes) else w.encode() for w in words)


class ServerLink:
    """The engine's end: one connection, kept between changes. Sending is the
    liveness check (a gone server is a broken pipe); when nobody holds the
    lock, the link starts the server itself."""

    def __init__(self, paths: Paths, spawn):
        """spawn(lock_fd, control_fd) -> pid (0: started, pid not known), or None when nothing
        was started (a fake kernel)."""
        self.paths = paths
        self._spawn = spawn
        self._sock: socket.socket | None = None
        self.started: list[int] = []  # pids this link started (the caller reaps them)

    def send(self, messages: list, start: bool = True) -> bool:
        """Deliver [(bytes, [sockets])] in order, starting the server first if none
        runs and `start`. False when nobody was told (none runs and start is
        False, or none could be started). A server that stops meanwhile reads
        what it had before it goes; what it refused (a broken pipe) is sent again."""
        deadline = time.monotonic() + SEND_WAIT
        i = 0
        while i < len(messages):
            if self._sock is None and not self._connect():
                if not start:
                    return False
                started = self._start()
                if started is False:
                    return False
                if time.monotonic() > deadline:  # a server started that never listens, or one that never goes
                    raise TimeoutError(f"the DNS server neither answers nor lets go of {self.paths.lock}")
                if started is None:  # someone else holds the lock: a server starting or stopping
                    time.sleep(0.002)
                continue
            data, socks = messages[i]
            try:
                if socks:
                    fds = array.array("i", [s.fileno() for s in socks])
                    self._sock.sendmsg([data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds)])
                else:
                    self._sock.send(data)
                i += 1
            except _GONE:
                self.close()
        return True

    def ping(self, timeout: float = 5.0) -> bool:
        """Is the server up and reading (started now if none runs)?"""
        if not self.send([(PING, [])]):
            return False
        self._sock.settimeout(timeout)
        try:
            return self._sock.recv(16) == PONG
        except (OSError, TimeoutError):
            self.close()
            return False
        finally:
            if self._sock is not None:
                self._sock.settimeout(SEND_WAIT)

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def _connect(self) -> bool:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.settimeout(SEND_WAIT)  # a full backlog or buffer (a server that does not read) blocks this long at most
        try:
            s.connect(self.paths.control)
        except (FileNotFoundError, ConnectionRefusedError):
            s.close()
            return False
        self._sock = s
        return True

    def _start(self) -> bool | None:
        """Start the server if nobody holds the lock: True; None if somebody
        does; False if spawning started nothing."""
        os.makedirs(self.paths.folder, mode=0o700, exist_ok=True)
        fd = os.open(self.paths.lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return None
            listener = listen_at(self.paths.control)
            try:
                pid = self._spawn(fd, listener.fileno())
                if pid is None:
                    os.unlink(self.paths.control)
                    return False
                if pid:  # 0: forked by the forker, which writes the pid itself (dns/forker.py)
                    write_pid(self.paths.pid, pid)
                    self.started.append(pid)
                return True
            finally:
                listener.close()
        finally:
            os.close(fd)  # the server has its own copy: the lock stays held


class Door:
    """The server's end: accepts connections and reads their messages. Closing
    it for good (close()) first reads everything queued, so no sender that
    was told "delivered" is dropped."""

    def __init__(self, sel, listener: socket.socket, path: str, on_message):
        """on_message(words, sockets, conn)."""
        self.sel, self.path, self.on_message = sel, path, on_message
        self.listener: socket.socket | None = None
        self.conns: dict[int, socket.socket] = {}
        self._open(listener)

    def _open(self, listener: socket.socket) -> None:
        listener.setblocking(False)
        self.listener = listener
        self.sel.register(listener, selectors.EVENT_READ, lambda s, m: self._accept())

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:  # none waits (BlockingIOError), or out of fds: leave it in the backlog
                return
            conn.setblocking(False)
            self.conns[conn.fileno()] = conn
            self.sel.register(conn, selectors.EVENT_READ, lambda s, m: self._read(s))
            self._read(conn)  # what it sent before we accepted it comes before anything ready after

    def owns(self, sock) -> bool:
        """Is `sock` the listener or one of its connections?"""
        return sock is self.listener or self.conns.get(sock.fileno()) is sock

    def take_queued(self) -> None:
        """Accept and read whatever waits already (at start-up: what engines sent
        while this server was starting)."""
        self._accept()
        for conn in list(self.conns.values()):
            self._read(conn, limit=None)

    def _read(self, conn: socket.socket, limit: int | None = 256) -> None:
        n = 0
        while limit is None or n < limit:
            n += 1
            try:
                data, fds, flags, _ = socket.recv_fds(conn, 4096, MAX_FDS)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                data, fds = b"", []
            socks = [socket.socket(fileno=fd) for fd in fds]
            if not data:
                for s in socks:
                    s.close()
                self._close_conn(conn)
                return
            if flags & socket.MSG_CTRUNC:  # more fds than any message of ours carries
                for s in socks:
                    s.close()
                continue
            self.on_message(data.decode(errors="replace").split("\0"), socks, conn)

    def _close_conn(self, conn: socket.socket) -> None:
        if self.conns.pop(conn.fileno(), None) is not None:
            self.sel.unregister(conn)
            conn.close()

    def shut(self) -> None:
        """No new messages: unlink the path, take in the backlog, refuse further
        sends (they fail with a broken pipe and are retried by their senders),
        then read what is queued."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        if self.listener is not None:
            self._accept()
            self.sel.unregister(self.listener)
            self.listener.close()
            self.listener = None
        for conn in list(self.conns.values()):
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RD)
        for conn in list(self.conns.values()):
            self._read(conn, limit=None)

    def reopen(self) -> None:
        """Serve again after shut() (the lock was never let go: the path is ours)."""
        self._open(listen_at(self.path))

    def close(self) -> None:
        self.shut()
        for conn in list(self.conns.values()):
            self._close_conn(conn)


def reply(conn: socket.socket, data: bytes) -> None:
    with contextlib.suppress(OSError):
        conn.send(data)

