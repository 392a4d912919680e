"""python -m nsnet.dns (--config PATH | --state-dir DIR) [options]

Started by the engine as `--state-dir DIR --lock-fd 3 --control-fd 4
[--host-netns NAME]` (control.py): the lock it holds for life and the
listening control socket. Its few options are read by hand: argparse (with
gettext and re) was a fifth of the server's start-up."""

from __future__ import annotations

import os
import resource
import socket
import sys

from ..errors import NsnetError
from . import log
from .config import ConfigError
from .server import Server

USAGE = """usage: python -m nsnet.dns (--config PATH | --state-dir DIR) [--host-netns NAME]
                         [--pidfile PATH] [--lock-fd N] [--control-fd N]
                         [--log-level debug|info|warning|error]

DNS for nsnet sandboxes, on 127.0.0.11 in each sandbox's namespace. Reloads on
SIGHUP or when its source changes; exits on SIGTERM.

  --config PATH       a JSON config file (dns/config.py)
  --state-dir DIR     nsnet's state directory: serve what its store says
  --host-netns NAME   the host namespace: served from there (upstream queries leave
                      from it; its resolv.conf names the upstreams)
  --pidfile PATH      written once the sockets are made, removed on exit
  --lock-fd N         an fd holding the server's lock (kept open for life)
  --control-fd N      the listening control socket (with --state-dir)
  --log-level LEVEL   default: info
"""
OPTIONS = {"--config", "--state-dir", "--host-netns", "--pidfile", "--lock-fd", "--control-fd", "--log-level"}


class UsageError(Exception):
    pass


def parse(argv: list[str]) -> dict:
    """{option: value}; every option takes a value, as --opt VALUE or --opt=VALUE."""
    args: dict[str, str] = {}
    i = 0
    while i < len(argv):
        word = argv[i]
        name, eq, value = word.partition("=")
        if name not in OPTIONS:
            raise UsageError(f"unknown option {word!r}")
        if not eq:
            i += 1
            if i == len(argv):
                raise UsageError(f"{name} needs a value")
            value = argv[i]
        args[name] = value
        i += 1
    if ("--config" in args) == ("--state-dir" in args):
        raise UsageError("give one of --config or --state-dir")
    if args.get("--log-level", "info") not in log.LEVELS:
        raise UsageError(f"--log-level: one of {', '.join(log.LEVELS)}")
    for name in ("--lock-fd", "--control-fd"):
        if name in args and not args[name].isdigit():
            raise UsageError(f"{name} takes a number")
    return args


def _enter(netns: str) -> None:
    """Serve from the host namespace: upstream queries leave from there."""
    from ..kernel import libc, nsfs

    fd = nsfs.open_fd(netns)
    try:
        libc.setns(fd)
    finally:
        os.close(fd)


def _more_fds() -> None:
    """Two sockets per sandbox: 1,000 sandboxes are past the usual soft limit of 1,024 fds."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if "-h" in argv or "--help" in argv:
        sys.stdout.write(USAGE)
        return 0
    try:
        args = parse(argv)
    except UsageError as e:
        sys.stderr.write(f"{USAGE.splitlines()[0]}\nnsnet-dns: {e}\n")
        return 2
    log.level = log.LEVELS[args.get("--log-level", "info")]
    try:
        if "--host-netns" in args:
            _enter(args["--host-netns"])
        _more_fds()
        door, door_path = None, None
        if "--config" in args:
            source = args["--config"]
        else:
            from .control import Paths
            from .source import StoreSource

            source = StoreSource(args["--state-dir"], args.get("--host-netns"))
            if "--control-fd" in args:
                door = socket.socket(fileno=int(args["--control-fd"]))
                door_path = Paths(args["--state-dir"]).control
        return Server(source, args.get("--pidfile"), door, door_path).run()
    except ConfigError as e:
        print(f"nsnet-dns: {e}", file=sys.stderr)
        return 2
    except NsnetError as e:  # the store: damaged, locked past the wait, read-only
        print(f"nsnet-dns: {e}", file=sys.stderr)
        return e.exit_code
    except OSError as e:
        print(f"nsnet-dns: {e}", file=sys.stderr)
        return 6


if __name__ == "__main__":
    sys.exit(main())
