"""SIGTERM (a cancelled CI job, `timeout`, a service manager stopping nsnet)
ends a command cleanly: a change finishes or rolls back whole, never stops
between two kernel steps.

The command line installs the handler (install()). Outside a change the
signal raises Terminated at once; inside one (`deferred()`) it is only noted,
and the executor raises Terminated before its next kernel step (`check()`), so
the plan's rollback undoes exactly what was applied; a teardown, or the work
after a commit, finishes first and Terminated is raised when the change ends.
The Python API installs nothing: a program embedding the engine keeps its
own signal handling."""

import _signal  # not `signal`: it imports enum (~2 ms of every command's start-up)
import contextlib


class Terminated(BaseException):
    """SIGTERM arrived (a BaseException, like KeyboardInterrupt: no `except
    Exception` swallows it)."""

    exit_code = 128 + _signal.SIGTERM


_depth = 0  # deferred() blocks entered
_pending = False  # SIGTERM arrived inside one


def _handler(signum, frame) -> None:
    global _pending
    if _depth:
        _pending = True
        return
    raise Terminated()


def install() -> None:
    _signal.signal(_signal.SIGTERM, _handler)


def check() -> None:
    """Raise Terminated if SIGTERM arrived (between two steps of a plan)."""
    global _pending
    if _pending:
        _pending = False
        raise Terminated()


@contextlib.contextmanager
def deferred():
    """A block SIGTERM does not interrupt: it is raised when the block ends
    (or earlier, at a check())."""
    global _depth
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
    if not _depth:
        check()
