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


@click.command()
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@click.option("-o", "--output", "out", required=True, metavar="OUT",
              help="The picture: .svg, .png, .pdf or .dot (graphviz source).")
@pass_ctx
def graph(ctx, file, out):
    """Draw topology FILE (or everything nsnet manages) with graphviz."""
    from ..topology import graph as gr
    from ..topology import load

    topo = load(file) if file else None
    existing = {s["name"] for s in ctx.engine.sandbox_rows()}
    if topo is not None and not set(topo.sandboxes) <= existing:
        pic = gr.from_topology(topo, gr.host_label(ctx.engine))
    else:
        pic = gr.from_store(ctx.engine, topo)
    gr.write(pic, out)
    if ctx.as_json:
        return output.emit_json({"written": out, "sandboxes": len(pic.sandboxes), "networks": len(pic.networks)})
    output.console.print(f"wrote {out} ({len(pic.sandboxes)} sandboxes, {len(pic.networks)} networks)",
                         highlight=False)


@click.command()
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@click.option("--outside", metavar="NETNS", help="A namespace wired to the host that plays the outside "
              "world: probed from every sandbox (NAT) and used for published ports.")
@click.option("--timeout", default=1.0, show_default=True, type=click.FloatRange(0.1, 30),
              help="Seconds to wait for answers (all probes run at once).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def check(ctx, file, outside, timeout, as_json):
    """Probe every pair of sandboxes (ICMP; TCP where FILE expects ports) and print
    the matrix; exit 1 if an expectation of FILE is not met."""
    from ..topology import check as ck
    from ..topology import load
    from ..topology.model import Outside
    from .matrix import show_report

    ctx.engine.require_privileges()
    topo = load(file) if file else None
    spec = Outside(outside) if outside else None
    report = ck.check(ctx.engine, topo, spec, timeout)
    if as_json or ctx.as_json:
        output.emit_json(report.to_dict())
    else:
        show_report(report)
    failed = report.failed
    if failed:
        first = "; ".join(f"expected '{e['text']}' ({e['src']} -> {e['dst']}) to {e['want']}, "
                          f"but it {'did not' if e['want'] == 'reach' else 'did'} ({e['detail']})"
                          for e in failed[:2])
        more = f" (and {len(failed) - 2} more)" if len(failed) > 2 else ""
        raise ck.ExpectationsFailed(f"{len(failed)} expectation(s) not met: {first}{more}")
