"""The `nsnet-cni` process a runtime starts: it hands the call to the warm
server of its state directory (cni/server.py) and prints its answer. It
imports only C modules and nsnet's JSON reader: the engine's imports cost
three times Python's start-up (docs/cni.md, "The warm server").

    STATE/cni/server.sock  the server's unix SOCK_SEQPACKET listener, made by
                           whoever starts it and inherited, so the first call
                           queues in the kernel while the server starts
    STATE/cni/server.lock  flock'ed by the server for its whole life: exactly
                           one server per state directory
    STATE/cni/server.pid   and server.log

A call is done in this process instead (cni/plugin.py, as before the server)
when no server can take it: NSNET_CNI_LINGER=0, no state directory yet (the
first call makes it), a config that does not parse or names a state
directory that is no absolute path, another server is starting
or stopping, the server runs in another network namespace or with other
NSNET_* settings, or it went away before answering. Every command is
idempotent (a repeated ADD returns the same attachment), so a call the
server may or may not have finished is simply made again here.

Request: fields separated by NUL (version, this process's network namespace,
the command, NAME=VALUE for each CNI_* and NSNET_* variable), two NULs, the
config. Answer: the exit code, NUL, what to print; or OTHER (not mine)."""

import _socket
import os
import sys

from ..kernel.selfproc import netns_id, pid_from

PROTOCOL = b"1"
OTHER = b"other"
DEFAULT_STATE_DIR = "/var/lib/nsnet"  # engine.context's (a test holds them equal): importing it costs sqlite3
DEFAULT_LINGER = 30.0  # seconds a server waits for the next call before it stops
REPLY_WAIT = 300.0  # seconds a call waits for the server's answer (the store's lock may be held that long)
START_WAIT = 0.2  # seconds a call waits for the socket of a server another call is starting
SERVED = ("ADD", "DEL", "CHECK", "STATUS", "GC")
BUSY = "busy"  # _start: another call holds the lock


def linger(variable: str = "NSNET_CNI_LINGER") -> float:
    """Seconds a warm server waits for the next call (this one's, or the DNS forker's); 0: none is used."""
    try:
        return max(0.0, float(os.environ.get(variable, DEFAULT_LINGER)))
    except ValueError:
        return DEFAULT_LINGER


class Paths:
    """A warm server's files; `folder` cni (this one's) or cli (cli/server.py's: the same start-up)."""

    def __init__(self, state_dir: str, folder: str = "cni", module: str = "nsnet.cni.server", tail: tuple = ()):
        self.module = module  # what _spawn runs: python -m MODULE STATE LOCK_FD LISTENER_FD *TAIL
        self.tail = tail
        self.folder = os.path.join(state_dir, folder)
        self.sock = os.path.join(self.folder, "server.sock")
        self.lock = os.path.join(self.folder, "server.lock")
        self.pid = os.path.join(self.folder, "server.pid")
        self.log = os.path.join(self.folder, "server.log")


def state_dir_of(raw: str) -> str | None:
    """Where the call's store is, as cni/plugin.py decides it: the config's
    stateDir, NSNET_STATE_DIR, the default. None for a config that does not
    parse or a stateDir that is no absolute path: the calling process refuses
    it (no server is started for a store nobody can use)."""
    from ..state.jsonread import loads  # here: the command line's client (cli/served.py) reads no JSON

    try:
        conf = loads(raw)
    except ValueError:
        return None
    if not isinstance(conf, dict):
        return None
    given = conf.get("stateDir", os.environ.get("NSNET_STATE_DIR") or DEFAULT_STATE_DIR)
    return given if isinstance(given, str) and given.startswith("/") else None


def request(command: str, raw: str, environ=os.environ) -> bytes:
    env = [f"{k}={v}" for k, v in environ.items() if k.startswith(("CNI_", "NSNET_"))]
    header = "\0".join([PROTOCOL.decode(), netns_id(), command, *env])
    return header.encode() + b"\0\0" + raw.encode()


def parse_request(data: bytes) -> tuple[str, str, dict, str]:
    """(network namespace, command, environment, config) of a request; ValueError if it is none."""
    header, sep, raw = data.partition(b"\0\0")
    fields = header.decode().split("\0")
    if not sep or len(fields) < 3 or fields[0] != PROTOCOL.decode():
        raise ValueError("not a request of this protocol")
    env = dict(f.partition("=")[::2] for f in fields[3:])
    return fields[1], fields[2], env, raw.decode()


def ask(paths: Paths, message: bytes) -> tuple[int, bytes] | None:
    """The server's (exit code, output), the server started first if none runs;
    None when it cannot take the call (the caller makes it itself)."""
    sock = connect(paths)
    if sock is None:
        return None
    try:
        sock.settimeout(REPLY_WAIT)
        sock.send(message)
        reply = sock.recv(1 << 20)
    except OSError:  # gone before it answered, a message too long: made here instead
        return None
    finally:
        sock.close()
    code, sep, out = reply.partition(b"\0")
    if not sep or code == OTHER or not code.isdigit():
        return None
    return int(code), out


def connect(paths: Paths):
    """A connection to the server, started first if none runs; None if there is none to be had."""
    sock = _connect(paths) or _start(paths)
    return _connect_soon(paths) if sock is BUSY else sock


def _connect(paths: Paths):
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_SEQPACKET)
    try:
        sock.connect(paths.sock)
    except OSError:
        sock.close()
        return None
    return sock


def _connect_soon(paths: Paths):
    """A connection to the server another call is starting (parallel first
    calls), within START_WAIT; None if none comes (a server stopping)."""
    import time

    deadline = time.monotonic() + START_WAIT
    while time.monotonic() < deadline:
        time.sleep(0.002)
        sock = _connect(paths)
        if sock is not None:
            return sock
    return None


def _start(paths: Paths):
    """Start a server if nobody holds its lock and connect to it; BUSY if
    somebody does (a server starting or stopping), None if nothing could be started."""
    import fcntl

    try:
        os.makedirs(paths.folder, mode=0o700, exist_ok=True)
        lock = os.open(paths.lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return BUSY
        except OSError:
            return None
        listener = _socket.socket(_socket.AF_UNIX, _socket.SOCK_SEQPACKET)
        try:
            tmp = f"{paths.sock}.{os.getpid()}"
            if os.path.lexists(tmp):
                os.unlink(tmp)
            listener.bind(tmp)
            listener.listen(1024)
            os.replace(tmp, paths.sock)
            pid = _spawn(paths, lock, listener.fileno())
            with open(paths.pid + ".tmp", "w") as f:
                f.write(f"{pid}\n")
            os.replace(paths.pid + ".tmp", paths.pid)
        except OSError:
            return None
        finally:
            listener.close()
    finally:
        os.close(lock)  # the server has its own copy: the lock stays held
    return _connect(paths)


def _spawn(paths: Paths, lock: int, listener: int) -> int:
    """The server, in a session of its own, with none of the runtime's pipes:
    a runtime waits for its plugin's stdout to close."""
    for fd in (lock, listener):
        os.set_inheritable(fd, True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CNI_")}
    argv = [sys.executable, "-m", paths.module, os.path.dirname(paths.folder), str(lock), str(listener), *paths.tail]
    actions = [(os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
               (os.POSIX_SPAWN_OPEN, 1, paths.log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600),
               (os.POSIX_SPAWN_DUP2, 1, 2)]
    return os.posix_spawn(sys.executable, argv, env, file_actions=actions, setsid=True)


def server_pid(state_dir: str, paths: Paths | None = None) -> int | None:
    """The pid of the state directory's running server, if one runs."""
    paths = paths or Paths(state_dir)
    return pid_from(paths.pid, paths.module.encode())


def stop_server(state_dir: str, wait: float = 5.0, paths: Paths | None = None) -> bool:
    """Stop the state directory's server (SIGTERM: it answers what is queued
    first) and wait for it to go; False if it was still there after `wait` s."""
    import signal
    import time

    pid = server_pid(state_dir, paths)
    if pid is None:
        return True
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + wait
    while server_pid(state_dir, paths) == pid:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def main() -> None:
    command = os.environ.get("CNI_COMMAND", "")
    raw = None  # read here only for a call the server may take
    if command in SERVED and linger() > 0:
        raw = sys.stdin.read()
        state_dir = state_dir_of(raw)
        # A state directory made already: the first call, which makes it, and calls
        # naming one nobody made (bad configs, mostly) start no server
        served = state_dir and os.path.isdir(state_dir)
        answer = ask(Paths(state_dir), request(command, raw)) if served else None
        if answer is not None:
            code, out = answer
            sys.stdout.buffer.write(out)
            sys.stdout.flush()
            os._exit(code)  # nothing of ours to tear down
    from .plugin import main as in_process

    in_process(raw)
