"""The server's log: one line per event on stderr (its log file).

Not the logging module: with traceback, threading, string and weakref it was
about a third of the server's imports, and the server has one destination
and one format."""

import os
import sys

LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40}
level = LEVELS["info"]


def _emit(name: str, msg: str, args: tuple) -> None:
    sys.stderr.write(f"nsnet-dns[{os.getpid()}] {name} {msg % args if args else msg}\n")
    sys.stderr.flush()


def debug(msg: str, *args) -> None:
    if level <= LEVELS["debug"]:
        _emit("DEBUG", msg, args)


def info(msg: str, *args) -> None:
    if level <= LEVELS["info"]:
        _emit("INFO", msg, args)


def warning(msg: str, *args) -> None:
    if level <= LEVELS["warning"]:
        _emit("WARNING", msg, args)


def error(msg: str, *args) -> None:
    _emit("ERROR", msg, args)


def exception(msg: str, *args) -> None:
    """error() and the exception being handled, with its traceback."""
    import traceback

    _emit("ERROR", msg, args)
    traceback.print_exc(file=sys.stderr)
    sys.stderr.flush()
