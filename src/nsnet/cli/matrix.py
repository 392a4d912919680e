"""Rendering a connectivity report: the reachability matrix and the expectations."""

from . import output

NAMED_UP_TO = 10  # sandboxes; above this, columns are numbered and a legend follows


def show_report(report) -> None:
    names = report.sandboxes
    columns = names + (["outside"] if report.outside else [])
    named = len(columns) <= NAMED_UP_TO
    grid = [["from \\ to"] + [col if named else str(i % 10) for i, col in enumerate(columns, 1)]]
    partial = getattr(report, "partial", {})
    for i, src in enumerate(names, 1):
        row, some = report.matrix[src], partial.get(src, {})
        marks = ["-" if dst == src else (_only(some[dst]) if dst in some else "✓" if row.get(dst) else "✗")
                 for dst in columns]
        grid.append([src if named else f"{i:>3} {src}"] + marks)
    if named:
        text = output.render(grid, centred=frozenset(range(1, len(columns) + 1)))
    else:  # numbered columns side by side, one character each
        width = max(len(r[0]) for r in grid)
        text = "".join(f"{r[0]:<{width}} {''.join(r[1:])}\n" for r in grid)
    output.line(f"reachability ({report.probes} probes in {report.seconds:.2f} s)")
    output.commands(text.splitlines())
    if report.outside:
        o = report.outside
        output.line(f"outside: netns {o['netns']} {o['ip']} (host side {o['host_ip'] or '?'})")
    reachable = sum(v for row in report.matrix.values() for v in row.values())
    total = sum(len(row) for row in report.matrix.values())
    output.line(f"{reachable} of {total} directed pairs reachable, {total - reachable} isolated")
    halves = sum(len(row) for row in partial.values())
    if halves:
        output.line(f"{halves} of them over one family only (4: IPv4 answered, IPv6 did not; 6: the other way)")
    if report.expectations:
        _expectations(report.expectations)


def _only(versions: list[int]) -> str:
    """The mark of a pair that answered over these families only."""
    return "".join(str(v) for v in versions) or "✗"


def _expectations(rows: list[dict]) -> None:
    output.line("expectations")
    table = []
    for e in rows:
        mark = "skip" if e["ok"] is None else ("ok" if e["ok"] else "FAIL")
        label = e["text"] if e["text"].count("->") == 1 and "<->" not in e["text"] else f"{e['src']} -> {e['dst']}"
        table.append({"mark": mark, "label": label, "want": e["want"], "detail": e["detail"]})
    output.table(table, [("mark", ""), ("label", "EXPECT"), ("want", "WANT"), ("detail", "DETAIL")])
    met = sum(1 for e in rows if e["ok"])
    skipped = sum(1 for e in rows if e["ok"] is None)
    output.line(f"{met} of {len(rows) - skipped} expectations met" + (f" ({skipped} skipped)" if skipped else ""))
