"""python -m nsnet.dns (--config PATH | --state-dir DIR) [--host-netns NAME] [--pidfile PATH]

Started by the engine as `--state-dir DIR --lock-fd 3 --control-fd 4`
(control.py): the lock it holds for life and the listening control socket."""

from __future__ import annotations

import argparse
import logging
import os
import resource
import socket
import sys

from .config import ConfigError
from .server import Server


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
    ap = argparse.ArgumentParser(
        prog="python -m nsnet.dns",
        description="DNS for nsnet sandboxes, on 127.0.0.11 in each sandbox's namespace. "
                    "Reloads on SIGHUP or when its source changes; exits on SIGTERM.")
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--config", help="JSON config file")
    src.add_argument("--state-dir", help="nsnet's state directory: serve what its store says")
    ap.add_argument("--host-netns", help="the host namespace: served from there (upstream queries "
                                         "leave from it; its resolv.conf names the upstreams)")
    ap.add_argument("--pidfile", help="written once the sockets are bound, removed on exit")
    ap.add_argument("--lock-fd", type=int, help="an fd holding the server's lock (kept open for life)")
    ap.add_argument("--control-fd", type=int, help="the listening control socket (with --state-dir)")
    ap.add_argument("--log-level", default="info",
                    choices=["debug", "info", "warning", "error"])
    args = ap.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="nsnet-dns[%(process)d] %(levelname)s %(message)s")
    try:
        if args.host_netns:
            _enter(args.host_netns)
        _more_fds()
        door, door_path = None, None
        if args.config:
            source = args.config
        else:
            from .control import Paths
            from .source import StoreSource

            source = StoreSource(args.state_dir, args.host_netns)
            if args.control_fd is not None:
                door = socket.socket(fileno=args.control_fd)
                door_path = Paths(args.state_dir).control
        return Server(source, args.pidfile, door, door_path).run()
    except ConfigError as e:
        print(f"nsnet-dns: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"nsnet-dns: {e}", file=sys.stderr)
        return 6


if __name__ == "__main__":
    sys.exit(main())
