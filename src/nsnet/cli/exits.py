"""The one place where an exception becomes what a user sees: one line on
stderr and an exit code (2 bad input, 3 not found, 4 conflict, 5 not
permitted, 6 kernel error, 7 rollback failed, 8 cluster store unreachable,
9 state store unusable; 1 anything else). No traceback
reaches a user; NSNET_DEBUG=1 shows one for a bug report."""

import os
import sys

from ..errors import NsnetError
from ..interrupt import Terminated
from . import output

INTERRUPTED = 130  # 128 + SIGINT, as shells report Ctrl-C


def exit_code(exc: BaseException) -> int:
    """Report `exc` (one line) and return the exit code it stands for."""
    if isinstance(exc, SystemExit):  # a command's own code (run in the foreground, exec, agent)
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    if isinstance(exc, NsnetError):
        output.error(str(exc))
        return exc.exit_code
    if isinstance(exc, Terminated):
        output.error("terminated (SIGTERM): the change in progress was rolled back or finished")
        return exc.exit_code
    if isinstance(exc, (KeyboardInterrupt, EOFError)):
        sys.stderr.write("\n")
        return INTERRUPTED
    if isinstance(exc, BrokenPipeError):
        # `nsnet ps | head -1`: the reader had what it wanted. Later writes go nowhere.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    if isinstance(exc, PermissionError):
        output.error(f"{exc} (run as root?)")
        return 5
    if os.environ.get("NSNET_DEBUG"):
        import traceback

        traceback.print_exception(exc)
    if isinstance(exc, OSError):
        output.error(str(exc))
        return 1
    output.error(f"unexpected {type(exc).__name__}: {exc} (a bug: please report it, with NSNET_DEBUG=1 output)")
    return 1
