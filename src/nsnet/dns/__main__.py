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
    ap.add_argument("--config", required=True, help="JSON config file")
    ap.add_argument("--pidfile", help="written once the sockets are bound, removed on exit")
    ap.add_argument("--log-level", default="info",
                    choices=["debug", "info", "warning", "error"])
    args = ap.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="nsnet-dns[%(process)d] %(levelname)s %(message)s")
    try:
        return Server(args.config, args.pidfile).run()
    except ConfigError as e:
        print(f"nsnet-dns: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
