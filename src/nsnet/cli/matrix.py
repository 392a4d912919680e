"""Rendering a connectivity report: the reachability matrix and the expectations."""

from rich.table import Table

from . import output

NAMED_UP_TO = 10  # sandboxes; above this, columns are numbered and a legend follows


def show_report(report) -> None:
    names = report.sandboxes
    columns = names + (["outside"] if report.outside else [])
    named = len(columns) <= NAMED_UP_TO
    output.console.print(f"[bold]reachability[/bold] ({report.probes} probes in {report.seconds:.2f} s)",
                         highlight=False)
    table = Table(box=None, pad_edge=False, padding=(0, 1) if named else (0, 0), header_style="bold")
    table.add_column("from \\ to", no_wrap=True)
    for i, col in enumerate(columns, 1):
        table.add_column(col if named else str(i % 10), justify="center", no_wrap=True)
    for i, src in enumerate(names, 1):
        row = report.matrix[src]
        cells = []
        for dst in columns:
            if dst == src:
                cells.append("[dim]-[/dim]")
            else:
                cells.append("[green]✓[/green]" if row.get(dst) else "[red]✗[/red]")
        table.add_row(src if named else f"{i:>3} {src}", *cells)
    output.console.print(table)
    if report.outside:
        o = report.outside
        output.console.print(f"outside: netns {o['netns']} {o['ip']} (host side {o['host_ip'] or '?'})",
                             highlight=False)
    reachable = sum(v for row in report.matrix.values() for v in row.values())
    total = sum(len(row) for row in report.matrix.values())
    output.console.print(f"{reachable} of {total} directed pairs reachable, {total - reachable} isolated",
                         highlight=False)
    if report.expectations:
        _expectations(report.expectations)


def _expectations(rows: list[dict]) -> None:
    output.console.print("[bold]expectations[/bold]")
    table = Table(box=None, pad_edge=False, header_style="bold")
    for header in ("", "EXPECT", "WANT", "DETAIL"):
        table.add_column(header)
    for e in rows:
        mark = "[dim]skip[/dim]" if e["ok"] is None else ("[green]ok[/green]" if e["ok"] else "[red]FAIL[/red]")
        label = e["text"] if e["text"].count("->") == 1 and "<->" not in e["text"] else f"{e['src']} -> {e['dst']}"
        table.add_row(mark, label, e["want"], e["detail"])
    output.console.print(table)
    met = sum(1 for e in rows if e["ok"])
    skipped = sum(1 for e in rows if e["ok"] is None)
    output.console.print(f"{met} of {len(rows) - skipped} expectations met"
                         + (f" ({skipped} skipped)" if skipped else ""), highlight=False)
