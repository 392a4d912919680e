"""`nsnet run` without click: the fast entry point (fast.py) parses the plain
forms of a `run` call here and calls what the click command calls
(start.run_command), with the same error handling as main.py. click costs
~30 ms to import, about half of what `nsnet run -d` may take in all.

Understood: the group's --host-netns/--state-dir/--store VALUE (or =VALUE)
and --json before `run`; then --name, --sandbox, --network, --publish/-p,
--env/-e, --workdir/-w, --log-max-size, --log-max-files (VALUE or, long ones,
=VALUE), the flags --detach/-d, --rm, --isolate-pid, --no-init; then `--` or
the first word that is not an option, and the command (which must not be
empty). Anything else -- help, unknown or bundled options (-dp), attached short
values (-p80:80), a value that looks like an option, a --log-max-files that is
not plain digits -- returns None and goes to click, which has the last word on
what it means and how it fails.
"""

import sys

GROUP_VALUES = {"--host-netns": "host_netns", "--state-dir": "state_dir", "--store": "store"}
VALUES = {"--name": "name", "--sandbox": "sandbox", "--workdir": "workdir", "-w": "workdir",
          "--log-max-size": "log_max_size", "--log-max-files": "log_max_files"}
MULTIPLE = {"--network": "networks", "--publish": "publish", "-p": "publish", "--env": "env", "-e": "env"}
FLAGS = {"--detach": "detach", "-d": "detach", "--rm": "rm", "--isolate-pid": "isolate_pid", "--no-init": "no_init"}


def _option(argv: list[str], i: int, names: tuple) -> tuple[str, str, int] | None:
    """(name, value, next index) for `NAME VALUE` or `--NAME=VALUE` at argv[i]."""
    arg = argv[i]
    if arg in names:
        if i + 1 >= len(argv) or argv[i + 1].startswith("-"):
            return None
        return arg, argv[i + 1], i + 2
    name, eq, value = arg.partition("=")
    if eq and name.startswith("--") and name in names:
        return name, value, i + 1
    return None


def parse_run(argv: list[str]) -> tuple[dict, dict] | None:
    """(group options, run_command keyword arguments) for a plain `run` call, else None."""
    group = {"host_netns": None, "state_dir": None, "store": None, "as_json": False}
    i = 0
    while i < len(argv) and argv[i] != "run":
        if argv[i] == "--json":
            group["as_json"], i = True, i + 1
            continue
        found = _option(argv, i, tuple(GROUP_VALUES))
        if found is None:
            return None
        group[GROUP_VALUES[found[0]]], i = found[1], found[2]
    if i == len(argv):
        return None
    params = {"name": None, "sandbox": None, "networks": [], "publish": [], "env": [], "workdir": None,
              "detach": False, "rm": False, "isolate_pid": False, "no_init": False, "log_max_size": "10M",
              "log_max_files": 3}
    i += 1
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            i += 1
            break
        if not arg.startswith("-"):
            break
        if arg in FLAGS:
            params[FLAGS[arg]], i = True, i + 1
            continue
        found = _option(argv, i, (*VALUES, *MULTIPLE))
        if found is None:
            return None
        name, value, i = found
        if name in MULTIPLE:
            params[MULTIPLE[name]].append(value)
        elif name == "--log-max-files":
            if not (value.isascii() and value.isdigit()):
                return None
            params["log_max_files"] = int(value)
        else:
            params[VALUES[name]] = value
    if i >= len(argv):
        return None  # no command: click says what is missing
    for key in MULTIPLE.values():
        params[key] = tuple(params[key])
    params["argv"] = tuple(argv[i:])
    return group, params


def main(group: dict, params: dict) -> int:
    """As main.main() for this one command: exceptions become one-line errors and exit codes."""
    from ..errors import NsnetError
    from . import output
    from .session import Context
    from .start import run_command

    ctx = Context(group["host_netns"], group["state_dir"], group["as_json"], group["store"])
    try:
        try:
            run_command(ctx, **params)
        finally:
            ctx.close()  # as click's call_on_close does
    except NsnetError as exc:
        output.error(f"{exc}")
        return exc.exit_code
    except (EOFError, KeyboardInterrupt):
        sys.stderr.write("\n")  # as click does before its Abort (exit code 130)
        return 130
    except BrokenPipeError:
        return _broken_pipe()
    except PermissionError as exc:
        output.error(f"{exc} (run as root?)")
        return 5
    return 0


def _broken_pipe() -> int:
    """click's answer to EPIPE: exit code 1, and no second error while flushing at exit."""
    import os

    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 1
