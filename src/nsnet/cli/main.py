"""The `nsnet` command: parse argv by the table, run the command's handler,
and turn whatever it raises into one line and an exit code (exits.py).

One path for every command. What a command imports is what its handler
imports: `nsnet ps` needs os and the C half of json, `nsnet run -d` the
engine without pyroute2; no command line or terminal library is loaded."""

import os
import sys


def main(argv: list[str] | None = None) -> int:
    from .. import interrupt
    from .parse import parse
    from .session import Context

    interrupt.install()  # SIGTERM: a change rolls back or finishes, then the command ends (exit 143)
    try:
        args = sys.argv[1:] if argv is None else argv
        if args[:1] == ["__complete"]:  # the shell completion scripts call this
            from . import complete

            return complete.main(args[1:])
        call = parse(args)
        if call.version:
            from .. import __version__

            sys.stdout.write(f"nsnet, version {__version__}\n")
            return 0
        if call.help:
            from .helptext import render

            sys.stdout.write(render(call.command, call.path))
            return 0
        module, _, function = call.command.handler.partition(":")
        handler = getattr(__import__(f"nsnet.cli.{module}", fromlist=[function]), function)
        ctx = Context(**call.globals)
        try:
            handler(ctx, **call.values)
        finally:
            with interrupt.deferred():  # SIGTERM now: the close finishes (intent log, deletions in flight), then 143
                ctx.close()
    except BaseException as exc:
        from .exits import exit_code

        return exit_code(exc)
    return 0


def run() -> None:
    """The installed command (bin/nsnet): main(), then leave without the
    interpreter's teardown (freeing every module cost `run` ~4 ms); whatever a
    command opened is closed by then, only the standard streams hold output.
    A served command is made by the warm server (served.py; NSNET_CLI_LINGER=0: here)."""
    from . import served

    code = served.call(sys.argv[1:])
    if code is None:
        code = main()
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        pass
    try:
        sys.stderr.flush()
    except OSError:
        pass
    os._exit(code)


if __name__ == "__main__":
    run()
