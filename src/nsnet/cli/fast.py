"""The console-script entry point. `nsnet ps` is answered here with os and
_json only (about Python's own start-up time), plain `nsnet run` calls go to
fastrun.py (the engine without click); every other command, and any `ps` or
`run` these parsers do not fully understand, goes to the click CLI.

The parse mirrors the click group's options that matter to `ps`:
--state-dir DIR / --state-dir=DIR (or NSNET_STATE_DIR), --host-netns (ignored:
the state dir alone decides), --json (before or after `ps`).
"""

import os
import sys


def parse_ps(argv: list[str]) -> dict | None:
    """{'state_dir', 'json'} when argv is a plain `ps` call, else None."""
    opts = {"state_dir": os.environ.get("NSNET_STATE_DIR") or None, "json": False}
    command = None
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--json":
            opts["json"] = True
        elif arg in ("--state-dir", "--host-netns") and command is None:
            if i + 1 >= len(argv) or not argv[i + 1]:
                return None
            if arg == "--state-dir":
                opts["state_dir"] = argv[i + 1]
            i += 1
        elif arg.startswith("--state-dir=") and command is None and len(arg) > 12:
            opts["state_dir"] = arg[12:]
        elif arg.startswith("--host-netns=") and command is None:
            pass
        elif arg == "ps" and command is None:
            command = arg
        else:
            return None
        i += 1
    return opts if command == "ps" else None


def run() -> None:
    opts = parse_ps(sys.argv[1:])
    if opts is None:
        if "run" in sys.argv:
            from . import fastrun

            call = fastrun.parse_run(sys.argv[1:])
            if call is not None:
                try:
                    code = fastrun.main(*call)
                except SystemExit as done:  # a foreground command's exit code
                    code = done.code if isinstance(done.code, int) else 1
                _leave(code, on_broken_pipe=1)  # as click answers EPIPE
        from .main import run as full

        full()
        return
    from ..run import pslist

    try:
        code = pslist.main(opts["state_dir"], opts["json"])
    except BrokenPipeError:
        code = 0
    except OSError as exc:
        sys.stderr.write(f"nsnet: error: {exc}\n")
        code = 1
    _leave(code, on_broken_pipe=0)  # `nsnet ps | head -1` is not an error


def _leave(code: int, on_broken_pipe: int) -> None:
    """Exit without the interpreter's teardown (freeing every module: ~4 ms after
    `run`). Whatever these paths opened is closed by now; only the standard
    streams still hold output."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        code = on_broken_pipe
    try:
        sys.stderr.flush()
    except OSError:
        pass
    os._exit(code)
