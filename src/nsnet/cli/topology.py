"""`nsnet up / down / status / graph / check`: topology files."""

import contextlib
import sys

import click

from ..errors import NsnetError
from . import output
from .context import pass_ctx

SHOW_CHANGES = 40  # more than this: a count per kind instead of every line
PROGRESS_FROM = 20  # this many planned calls or more: a progress bar (on a terminal)

file_argument = click.argument("file", type=click.Path(dir_okay=False))


class Unfinished(NsnetError):
    exit_code = 1


@contextlib.contextmanager
def _progress(total: int, what: str):
    """A transient rich progress bar on stderr, or a no-op callback."""
    if total < PROGRESS_FROM or not output.err_console.is_terminal:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn(f"{what} [progress.description]{{task.description}}"), BarColumn(),
                  MofNCompleteColumn(), TimeElapsedColumn(), console=output.err_console,
                  transient=True) as bar:
        task = bar.add_task("", total=total)
        yield lambda label: bar.update(task, advance=1, description=label[:40])


def _show(ctx, out, verb: str) -> None:
    if ctx.as_json:
        output.emit_json(out.to_dict())
    elif out.dry_run:
        _lines([f"# dry run of `{verb}`: nothing was changed"] + out.commands)
        output.console.print(f"{len(out.changes)} changes planned", highlight=False)
    else:
        _changes(out.changes)
        output.console.print(f"{len(out.changes)} changes", highlight=False)
    for warning in out.warnings:
        output.warning(warning)
    for error in out.errors:
        output.warning(error)
    if out.errors:
        raise Unfinished(f"`{verb}` of topology '{out.topology}' finished with {len(out.errors)} error(s)")


def _lines(lines: list[str]) -> None:
    """Commands, one per line and never wrapped: they are meant to be copied."""
    sys.stdout.write("".join(f"{line}\n" for line in lines))
    sys.stdout.flush()


def _changes(lines: list[str]) -> None:
    if len(lines) <= SHOW_CHANGES:
        for line in lines:
            output.console.print(line, highlight=False, markup=False)
        return
    counts: dict[str, int] = {}
    for line in lines:
        key = " ".join(line.split()[:2])
        counts[key] = counts.get(key, 0) + 1
    for key, n in counts.items():
        output.console.print(f"{key} x{n}", highlight=False, markup=False)


@click.command()
@file_argument
@click.option("--dry-run", is_flag=True, help="Print the plan as ip commands; change nothing.")
@pass_ctx
def up(ctx, file, dry_run):
    """Make the kernel match topology FILE: create what is missing, repair what
    drifted, remove what the file no longer lists. Twice in a row: 0 changes."""
    from ..topology import converge, load

    topo = load(file)
    with _progress(len(topo.sandboxes) + len(topo.networks), f"up {topo.name}") as progress:
        out = converge.up(ctx.engine, topo, dry_run=dry_run, progress=progress)
    _show(ctx, out, "up")


@click.command()
@file_argument
@click.option("--dry-run", is_flag=True, help="Print what would be removed; change nothing.")
@pass_ctx
def down(ctx, file, dry_run):
    """Remove everything topology FILE owns. Twice is fine."""
    from ..topology import name_of, teardown

    name = name_of(file)
    with _progress(teardown.count(ctx.engine, name), f"down {name}") as progress:
        out = teardown.down(ctx.engine, name, dry_run=dry_run, progress=progress)
    _show(ctx, out, "down")


@click.command()
@file_argument
@pass_ctx
def status(ctx, file):
    """Compare topology FILE with the store and the kernel; exit 1 unless all is ok."""
    from ..topology import load
    from ..topology import status as st

    topo = load(file)
    rows = st.status(ctx.engine, topo)
    if ctx.as_json:
        output.emit_json({"topology": topo.name, "ok": st.summary(rows) is None, "objects": st.to_dicts(rows)})
    else:
        output.table(st.to_dicts(rows), [("kind", "KIND"), ("name", "NAME"), ("state", "STATE"),
                                         ("detail", "DETAIL")], f"topology {topo.name}")
    problem = st.summary(rows)
    if problem:
        raise st.Differs(f"topology '{topo.name}' does not match the file: {problem}")
