"""`nsnet-cni`: the CNI protocol (spec 1.1) over nsnet's engine. CNI_COMMAND
and friends in the environment, the network config on stdin (cni/config.py),
a JSON result or error on stdout (cni/result.py), the commands themselves in
cni/commands.py. Every failure is error JSON with a spec code and a non-zero
exit: never a traceback, never an empty stdout.

The process a runtime starts is cni/client.py: it hands the call to the warm
server of the state directory (cni/server.py) when it can; `call` here is
what either of them runs."""

import json
import os
import sys

from .result import (
    INVALID_CONFIG,
    IO_FAILURE,
    PLUGIN,
    SUPPORTED,
    TRY_AGAIN,
    UNKNOWN_CONTAINER,
    CniError,
)


def _engine(req):
    from ..engine import Engine

    state_dir = req.state_dir or os.environ.get("NSNET_STATE_DIR") or None
    return Engine(state_dir=state_dir, netns_prefix="")


def run(command: str, env, raw: str, engine=_engine) -> dict | None:
    """One plugin call: the output object (None: nothing to print).
    `engine(request)`: the Engine to run it with (closed afterwards)."""
    from . import commands
    from .config import Request

    req = Request(command, env, raw)
    if command == "VERSION":
        return {"cniVersion": req.version, "supportedVersions": SUPPORTED}
    eng = engine(req)
    try:
        return {"ADD": commands.add, "DEL": commands.delete, "CHECK": commands.check, "STATUS": commands.status,
                "GC": commands.gc}[command](eng, req)
    finally:
        eng.close()


def as_cni_error(exc: BaseException) -> CniError:
    """Any failure as a CNI error with the spec's code (nsnet's own: 100 + its CLI exit code)."""
    from ..errors import InvalidInput, NotFound, NsnetError

    if isinstance(exc, CniError):
        return exc
    if isinstance(exc, InvalidInput):
        return CniError(INVALID_CONFIG, str(exc))
    if isinstance(exc, NotFound):
        return CniError(UNKNOWN_CONTAINER, str(exc))
    if isinstance(exc, NsnetError):
        return CniError(100 + exc.exit_code, str(exc))
    text = str(exc) or type(exc).__name__
    if type(exc).__name__ == "OperationalError" and ("locked" in text or "busy" in text):  # sqlite3
        return CniError(TRY_AGAIN, f"the state store is busy: {text}")
    if isinstance(exc, OSError):
        return CniError(IO_FAILURE, text)
    return CniError(PLUGIN, f"unexpected error: {type(exc).__name__}: {text}")


def call(command: str, env, raw: str, engine=_engine) -> tuple[int, str]:
    """One plugin call as (exit code, stdout): a result, or error JSON and 1."""
    version = SUPPORTED[-1]
    try:
        from .config import asked_version

        version = asked_version(raw) or version
        out = run(command, env, raw, engine)
        return 0, json.dumps(out) if out is not None else ""
    except Exception as exc:
        return 1, json.dumps(as_cni_error(exc).to_dict(version))


def main(raw: str | None = None) -> None:
    """The whole call in this process (what cni/client.py falls back to; `raw`: stdin, if it read it)."""
    command = os.environ.get("CNI_COMMAND", "")
    if raw is None:
        raw = sys.stdin.read() if not (command == "VERSION" and sys.stdin.isatty()) else ""
    code, out = call(command, os.environ, raw)
    sys.stdout.write(out)
    sys.stdout.flush()
    sys.exit(code)
