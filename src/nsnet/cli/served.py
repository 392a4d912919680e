"""The command line through a warm server (NSNET_CLI_LINGER=SECONDS, default
30; 0 turns it off), as the CNI plugin's calls go to theirs.

A command that changes one object or reads the store spends ~35 ms of CPU
importing sqlite3, json and the engine before it does ~2-5 ms of work. Such a
command is handed to the warm server of its state directory (cli/server.py),
which imported all that once and forks a child per command: the child takes
this process's stdin, stdout and stderr (SCM_RIGHTS), working directory,
umask, environment and argv, runs the one `main()` as this process would, and
this process exits as the child did (SIGTERM, SIGINT, SIGHUP and SIGQUIT sent
here are passed on). The server is started, found, kept to one per state
directory and stopped as the CNI plugin's is (cni/client.py, folder STATE/cli).
What is served, and what the server refuses (this process then makes the
command itself): SERVED below and docs/design.md ("The command line is served
warm").

Request (one SOCK_SEQPACKET message, fds 0, 1, 2 attached): NUL-separated
PROTOCOL, version, identity (namespaces, privileges), cwd, umask, NAME=VALUE of the
environment; two NULs; argv NUL-separated. Answers: OTHER, or `pid N` when
the child is ready, to which the caller says GO (a caller that gave up
waiting closes instead, and the child ends without running anything: a
command is never made twice), then `exit N` from the child once the command
has ended (output flushed, store closed), or, for a child that was killed,
`signal N` from the server once it reaped it: the caller exits with N, or
kills itself with signal N, as the command's own process would have ended."""

import os
import sys

from .. import __version__
from ..kernel.selfproc import identity

PROTOCOL = "nsnet-cli/1"
OTHER = b"other"
GO = b"go"  # the caller's word that the child may run: it never runs once the caller gave up on it
DEFAULT_STATE_DIR = "/var/lib/nsnet"  # engine.context's (a test holds them equal)
DEFAULT_LINGER = 30.0  # seconds, as the CNI plugin's server (cni/client.py)
# (command words) served; everything else runs in the calling process
SERVED = {("sandbox", "create"), ("sandbox", "rm"), ("sandbox", "ls"), ("sandbox", "inspect"),
          ("network", "create"), ("network", "rm"), ("network", "connect"), ("network", "disconnect"),
          ("network", "ls"), ("network", "inspect"), ("publish",), ("unpublish",), ("port",),
          ("partition",), ("heal",), ("impair",), ("faults",),  # a test script's faults, from its shell
          ("run",)}  # run: detached only, without -i or -t (the server parses it: cli/server.py)
NOT_SERVED_OPTIONS = ("--state-dir", "--store")
LEADING_OPTIONS = {"--host-netns": 2, "--json": 1}  # global options a command may follow: how many words each takes
FORWARDED = (15, 2, 1, 3)  # SIGTERM, SIGINT, SIGHUP, SIGQUIT (_signal: `signal` would import enum)


def linger() -> float:
    """Seconds a server waits for the next command; 0: none is used."""
    try:
        return max(0.0, float(os.environ.get("NSNET_CLI_LINGER", DEFAULT_LINGER)))
    except ValueError:
        return DEFAULT_LINGER


def paths(state_dir: str):
    from ..cni.client import Paths

    return Paths(state_dir, "cli", "nsnet.cli.server")


def is_served(argv: list[str]) -> bool:
    at = command_at(argv)
    words = tuple(argv[at:at + 2])
    if words not in SERVED and words[:1] not in SERVED:
        return False
    if words[:1] == ("run",) and not _may_detach(argv[at:]):
        return False
    return not any(a.split("=", 1)[0] in NOT_SERVED_OPTIONS for a in argv)


def command_at(argv: list[str]) -> int:
    """Where the command's words start, after the global options given before it
    (`nsnet --host-netns lab --json sandbox ls`); the child parses them for real."""
    i = 0
    while i < len(argv):
        if argv[i] in LEADING_OPTIONS:
            i += LEADING_OPTIONS[argv[i]]
        elif argv[i].startswith("--host-netns="):
            i += 1
        else:
            break
    return i


def _may_detach(argv: list[str]) -> bool:
    """A first look for --detach among run's options (-d, or in -dit); the server parses for real."""
    options = argv[1:argv.index("--")] if "--" in argv else argv[1:]
    return any(a == "--detach" or (a[:1] == "-" and a[1:2] != "-" and "d" in a) for a in options)


def version() -> str:
    """nsnet's version and when this file was installed: a server of an older
    install of the same version serves no command of a newer one."""
    return f"{__version__}:{os.stat(__file__).st_mtime_ns}"


def settings(env) -> dict:
    """The NSNET_* settings a server must share with a command (not how long it lingers)."""
    return {k: v for k, v in env.items() if k.startswith("NSNET_") and k != "NSNET_CLI_LINGER"}


def request(argv: list[str]) -> bytes:
    umask = os.umask(0o22)
    os.umask(umask)
    head = [PROTOCOL, version(), identity(), os.getcwd(), str(umask), *(f"{k}={v}" for k, v in os.environ.items())]
    return ("\0".join(head) + "\0\0" + "\0".join(argv)).encode("utf-8", "surrogateescape")


class Request:
    __slots__ = ("argv", "cwd", "env", "identity", "umask", "version")

    def __init__(self, data: bytes):
        """ValueError if `data` is no request of this protocol."""
        head, sep, args = data.decode("utf-8", "surrogateescape").partition("\0\0")
        fields = head.split("\0")
        if not sep or len(fields) < 5 or fields[0] != PROTOCOL or not args:
            raise ValueError("not a request of this protocol")
        self.version, self.identity, self.cwd = fields[1], fields[2], fields[3]
        self.umask = int(fields[4])
        self.env = dict(f.partition("=")[::2] for f in fields[5:])
        self.argv = args.split("\0")


def call(argv: list[str]) -> int | None:
    """The exit code of the command made by the warm server; None when it is
    not served (the caller makes it itself)."""
    if linger() <= 0 or not is_served(argv) or os.geteuid() != 0:
        return None
    state_dir = os.environ.get("NSNET_STATE_DIR") or DEFAULT_STATE_DIR
    if not state_dir.startswith("/") or not os.path.isdir(state_dir):
        return None  # the first command makes it (and nobody starts a server for a mistyped one)
    from ..cni import client as warm

    sock = warm.connect(paths(state_dir))
    if sock is None:
        return None
    try:
        return _ask(sock, argv)
    finally:
        sock.close()


def _ask(sock, argv: list[str]) -> int | None:
    import _signal
    import _socket  # here, not at the top: every `nsnet` process imports this module

    fds = b"".join(fd.to_bytes(4, sys.byteorder) for fd in (0, 1, 2))
    child: list[int] = []  # its pid, once it runs
    arrived: list[int] = []

    def forward(signum, _frame):
        arrived.append(signum)
        if child:
            try:
                os.kill(child[0], signum)
            except OSError:
                pass

    # From before the request on: a signal that comes while the child starts is passed on when it runs
    previous = {signum: _signal.signal(signum, forward) for signum in FORWARDED}
    try:
        sock.settimeout(5.0)
        sock.sendmsg([request(argv)], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, fds)])
        first = sock.recv(64)
    except OSError:  # no server after all, a closed standard stream, a request too long
        first = b""
    if not first.startswith(b"pid "):  # refused (OTHER), or gone before its child ran: nothing was done
        for signum, handler in previous.items():
            _signal.signal(signum, handler)
        return 128 + arrived[0] if arrived else None  # a signal before anything began: end as it would have
    try:
        sock.send(GO)
    except OSError:  # gone before it ran: nothing was done
        return 128 + arrived[0] if arrived else None
    child.append(int(first[4:]))
    for signum in list(arrived):
        os.kill(child[0], signum)
    sock.settimeout(None)  # a change may wait long for the store's lock
    try:
        last = sock.recv(64)
    except OSError:
        last = b""
    if last.startswith(b"exit "):
        return int(last[5:])
    if last.startswith(b"signal "):  # killed (a kill point, the OOM killer): this process ends the same way
        signum = int(last[7:])
        if signum in FORWARDED:
            _signal.signal(signum, _signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return 128 + signum  # a signal that does not end a process
    if arrived:
        return 128 + arrived[-1]
    sys.stderr.write(f"nsnet: error: the command's process {child[0]} ended without an exit code (killed?)\n")
    return 1
