"""`nsnet run`, `logs`, `stop`, `rm`, `prune`: processes in sandboxes (`ps`: ps.py)."""

import sys

from ..errors import InvalidInput
from . import output
from .values import parse_network_arg


def run(ctx, name, sandbox, hostname, networks, publish, env, workdir, detach, interactive, tty, rm, isolate_pid,
        init, log_max_size, log_max_files, argv) -> None:
    argv = list(argv[1:] if argv and argv[0] == "--" else argv)
    if not argv:
        raise InvalidInput("nothing to run: nsnet run [OPTIONS] -- CMD [ARGS...]")
    nets = [parse_network_arg(n) for n in networks]
    result = ctx.engine.run(argv, name=name, sandbox=sandbox, networks=nets, publish=list(publish), env=list(env),
                            workdir=workdir, detach=detach, rm=rm, isolate_pid=isolate_pid, init=init,
                            log_max_size=log_max_size, log_max_files=log_max_files, tty=tty,
                            interactive=interactive, hostname=hostname)
    if ctx.as_json:
        output.emit_json(result)
    elif detach:
        output.line(f"started {result['name']} (pid {result['pid']}) in sandbox {result['sandbox']}")
    for error in result.get("errors", []):
        output.warning(error)
    if not detach:
        ctx.close()
        raise SystemExit(result["exit_code"])


def logs(ctx, name, follow):
    out = {"stdout": sys.stdout.buffer, "stderr": sys.stderr.buffer}
    for stream, data in ctx.engine.logs(name, follow=follow):
        out[stream].write(data)
        if follow:
            out[stream].flush()
    sys.stdout.flush()


def stop(ctx, names, timeout):
    for name in names:
        result = ctx.engine.stop(name, timeout=timeout)
        if ctx.as_json:
            output.emit_json(result)
        else:
            code = "-" if result["exit_code"] is None else result["exit_code"]
            output.line(f"stopped {name} ({result['signal']}, exit code {code})")


def rm(ctx, names, force):
    for name in names:
        result = ctx.engine.process_rm(name, force=force)
        if ctx.as_json:
            output.emit_json(result)
        else:
            output.line(f"removed {name}" + (f" and its sandbox {result['sandbox']}" if result["sandbox"] else ""))
        for error in result["errors"]:
            output.warning(error)


def prune(ctx):
    result = ctx.engine.prune()
    if ctx.as_json:
        output.emit_json(result)
    else:
        for kind, word in (("processes", "process"), ("sandboxes", "sandbox"), ("networks", "network")):
            for name in result[kind]:
                output.line(f"removed {word} {name}")
        output.line(f"{_count(result['processes'], 'process', 'processes')}, "
                    f"{_count(result['networks'], 'network', 'networks')} removed")
    for error in result["errors"]:
        output.warning(error)


def _count(items: list, one: str, many: str) -> str:
    return f"{len(items)} {one if len(items) == 1 else many}"
