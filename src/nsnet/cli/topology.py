"""`nsnet up / down / status / graph / check`: topology files."""

import contextlib
import os
import sys

from ..errors import InvalidInput, NsnetError
from . import output

SHOW_CHANGES = 40  # more than this: a count per kind instead of every line
PROGRESS_FROM = 20  # this many planned calls or more: a progress line (on a terminal)


class Unfinished(NsnetError):
    exit_code = 1


@contextlib.contextmanager
def _progress(size: int, what: str):
    """A transient progress line on stderr (a terminal only, for a file of
    `size` objects or more), or no callback."""
    if size < PROGRESS_FROM or not sys.stderr.isatty():
        yield None
        return

    def advance(label: str, done: int, planned: int) -> None:
        """`planned`: the calls of the phases so far (each phase adds its own)."""
        sys.stderr.write(f"\r\x1b[K{what} {done}/{planned} {output.visible(label[:40])}")
        sys.stderr.flush()

    try:
        yield advance
    finally:
        sys.stderr.write("\r\x1b[K")
        sys.stderr.flush()


def _file(path: str) -> str:
    """Topology files are files: say so in one line (the loader's own errors say the rest)."""
    if os.path.isdir(path):
        raise InvalidInput(f"'{path}' is a directory, not a topology file")
    return path


def _show(ctx, out, verb: str) -> None:
    if ctx.as_json:
        output.emit_json(out.to_dict())
    elif out.dry_run:
        output.commands(out.commands, f"dry run of `{verb}`: nothing was changed")
        output.line(f"{_count(out.changes)} planned")
    else:
        _changes(out.changes)
        output.line(_count(out.changes))
    for note in [*out.warnings, *out.errors]:
        output.warning(note)
    if out.errors:
        raise Unfinished(f"`{verb}` of topology '{out.topology}' finished with {len(out.errors)} error(s)")


def _count(changes: list) -> str:
    return f"{len(changes)} change" + ("" if len(changes) == 1 else "s")


def _changes(lines: list[str]) -> None:
    if len(lines) <= SHOW_CHANGES:
        output.commands(lines)
        return
    counts: dict[str, int] = {}
    for line in lines:
        key = " ".join(line.split()[:2])
        counts[key] = counts.get(key, 0) + 1
    output.commands([f"{key} x{n}" for key, n in counts.items()])


def up(ctx, file, dry_run):
    from ..topology import converge, load

    topo = load(_file(file))
    with _progress(len(topo.sandboxes) + len(topo.networks), f"up {topo.name}") as progress:
        out = converge.up(ctx.engine, topo, dry_run=dry_run, progress=progress)
    _show(ctx, out, "up")


def down(ctx, file, dry_run):
    from ..topology import name_of, teardown

    name = name_of(_file(file))
    with _progress(teardown.count(ctx.engine, name), f"down {name}") as progress:
        out = teardown.down(ctx.engine, name, dry_run=dry_run, progress=progress)
    _show(ctx, out, "down")


def status(ctx, file):
    from ..topology import load
    from ..topology import status as st

    topo = load(_file(file))
    rows = st.status(ctx.engine, topo)
    if ctx.as_json:
        output.emit_json({"topology": topo.name, "ok": st.summary(rows) is None, "objects": st.to_dicts(rows)})
    else:
        output.table(st.to_dicts(rows), [("kind", "KIND"), ("name", "NAME"), ("state", "STATE"),
                                         ("detail", "DETAIL")], f"topology {topo.name}")
    problem = st.summary(rows)
    if problem:
        raise st.Differs(f"topology '{topo.name}' does not match the file: {problem}")


def graph(ctx, file, out):
    from ..topology import graph as gr
    from ..topology import load

    topo = load(_file(file)) if file else None
    existing = {s["name"] for s in ctx.engine.sandbox_rows()}
    if topo is not None and not set(topo.sandboxes) <= existing:
        pic = gr.from_topology(topo, gr.host_label(ctx.engine))
    else:
        pic = gr.from_store(ctx.engine, topo)
    gr.write(pic, out)
    if ctx.as_json:
        return output.emit_json({"written": out, "sandboxes": len(pic.sandboxes), "networks": len(pic.networks)})
    output.line(f"wrote {out} ({len(pic.sandboxes)} sandboxes, {len(pic.networks)} networks)")


def check(ctx, file, outside, timeout):
    from ..topology import check as ck
    from ..topology import load
    from ..topology.model import Outside
    from .matrix import show_report

    ctx.engine.require_privileges()
    topo = load(_file(file)) if file else None
    spec = Outside(outside) if outside else None
    report = ck.check(ctx.engine, topo, spec, timeout)
    if ctx.as_json:
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
