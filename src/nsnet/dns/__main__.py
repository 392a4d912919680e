"""python -m nsnet.dns --config PATH [--pidfile PATH]"""

from __future__ import annotations

import argparse
import logging
import sys

from .records import ConfigError
from .server import Server


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m nsnet.dns",
        description="DNS for nsnet networks. Reloads on SIGHUP or when the config "
                    "file changes; exits on SIGTERM.")
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--config", help="JSON config file")
    src.add_argument("--state-dir", help="nsnet's state directory: serve what its store says")
    ap.add_argument("--host-netns", help="with --state-dir: the host namespace (for its upstream resolvers)")
    ap.add_argument("--pidfile", help="written once the sockets are bound, removed on exit")
    ap.add_argument("--log-level", default="info",
                    choices=["debug", "info", "warning", "error"])
    args = ap.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="nsnet-dns[%(process)d] %(levelname)s %(message)s")
    try:
        if args.config:
            source = args.config
        else:
            from .source import StoreSource

            source = StoreSource(args.state_dir, args.host_netns)
        return Server(source, args.pidfile).run()
    except ConfigError as e:
        print(f"nsnet-dns: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
