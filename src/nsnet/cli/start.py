"""What `nsnet run` does once its arguments are parsed: one function for the
click command (run.py) and the fast entry point (fastrun.py), so both behave
and print alike. No click and no rich here."""

from ..errors import InvalidInput
from . import output
from .values import parse_network_arg


def run_command(ctx, name, sandbox, networks, publish, env, workdir, detach, rm, isolate_pid, no_init,
                log_max_size, log_max_files, argv) -> None:
    argv = list(argv[1:] if argv and argv[0] == "--" else argv)
    if not argv:
        raise InvalidInput("nothing to run: nsnet run [OPTIONS] -- CMD [ARGS...]")
    if no_init and not isolate_pid:
        raise InvalidInput("--no-init only makes sense with --isolate-pid")
    nets = [parse_network_arg(n) for n in networks]
    result = ctx.engine.run(argv, name=name, sandbox=sandbox, networks=nets, publish=list(publish), env=list(env),
                            workdir=workdir, detach=detach, rm=rm, isolate_pid=isolate_pid, init=not no_init,
                            log_max_size=log_max_size, log_max_files=log_max_files)
    if ctx.as_json:
        output.emit_json(result)
    elif detach:
        # A plain line, as rich printed it (names hold no markup): rich costs ~30 ms to import.
        output.line(f"started {result['name']} (pid {result['pid']}) in sandbox {result['sandbox']}")
    for error in result.get("errors", []):
        output.warning(error)
    if not detach:
        ctx.close()
        raise SystemExit(result["exit_code"])
