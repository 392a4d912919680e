"""`nsnet run`, `nsnet ps`, `nsnet logs`, `nsnet stop`: processes in sandboxes."""

import os
import sys

import click

from . import output
from .context import pass_ctx, publish_option
from .start import run_command


@click.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.option("--name", help="Name of the process (and of the sandbox run creates). Default: run-XXXXXX.")
@click.option("--sandbox", metavar="NAME", help="Run in this existing sandbox instead of creating one.")
@click.option("--network", "networks", multiple=True, metavar="NET[:IP]",
              help="Attach the new sandbox to this network (repeatable), optionally with a static IP.")
@publish_option
@click.option("--env", "-e", "env", multiple=True, metavar="K=V", help="Set an environment variable (repeatable).")
@click.option("--workdir", "-w", metavar="DIR", help="Working directory of the command (absolute).")
@click.option("--detach", "-d", is_flag=True, help="Start in the background and return at once.")
@click.option("--rm", is_flag=True, help="Remove the sandbox (and this record) when the command exits.")
@click.option("--isolate-pid", is_flag=True,
              help="New PID namespace with its own /proc: the sandbox sees only its own processes.")
@click.option("--no-init", is_flag=True,
              help="With --isolate-pid: the command itself is pid 1 (and must reap its own zombies).")
@click.option("--log-max-size", default="10M", show_default=True, metavar="SIZE",
              help="Rotate a detached process's log file at this size.")
@click.option("--log-max-files", default=3, show_default=True, type=int, metavar="N",
              help="Log files kept per stream, the current one included.")
@click.argument("argv", nargs=-1, required=True, type=click.UNPROCESSED)
@pass_ctx
def run(ctx, name, sandbox, networks, publish, env, workdir, detach, rm, isolate_pid, no_init, log_max_size,
        log_max_files, argv):
    """Run CMD in a sandbox:  nsnet run [OPTIONS] -- CMD [ARGS...]

    Creates the sandbox (named after the process) unless --sandbox is given.
    In the foreground the exit code passes through; --detach returns at once
    (see nsnet ps / logs / stop)."""
    run_command(ctx, name, sandbox, networks, publish, env, workdir, detach, rm, isolate_pid, no_init, log_max_size,
                log_max_files, argv)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def ps(ctx, as_json):
    """List the processes nsnet started: running and exited."""
    from ..run import pslist

    rows = ctx.engine.ps()
    if ctx.as_json or as_json:
        return output.emit_json(rows)
    sys.stdout.write(pslist.render(rows))


@click.command()
@click.argument("name")
@click.option("--follow", "-f", is_flag=True, help="Keep printing new output until the process exits.")
@pass_ctx
def logs(ctx, name, follow):
    """Print a detached process's stdout and stderr (to stdout and stderr)."""
    out = {"stdout": sys.stdout.buffer, "stderr": sys.stderr.buffer}
    try:
        for stream, data in ctx.engine.logs(name, follow=follow):
            out[stream].write(data)
            if follow:
                out[stream].flush()
        sys.stdout.flush()
    except BrokenPipeError:  # `nsnet logs x | head`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


@click.command()
@click.argument("names", nargs=-1, required=True)
@click.option("--timeout", "-t", default=10.0, show_default=True, type=float, metavar="S",
              help="Seconds between SIGTERM and SIGKILL.")
@pass_ctx
def stop(ctx, names, timeout):
    """Stop processes: SIGTERM to the process group, SIGKILL after --timeout."""
    for name in names:
        result = ctx.engine.stop(name, timeout=timeout)
        if ctx.as_json:
            output.emit_json(result)
        else:
            code = "-" if result["exit_code"] is None else result["exit_code"]
            output.console.print(f"stopped {name} ({result['signal']}, exit code {code})", highlight=False)
