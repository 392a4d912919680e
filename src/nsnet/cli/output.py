"""Rendering: rich tables for people, JSON for machines."""

import json
import sys

from rich.console import Console
from rich.table import Table

# soft_wrap: never break a line (commands printed here must stay runnable)
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)


def error(message: str) -> None:
    """One plain line on stderr (never wrapped: scripts grep these)."""
    sys.stderr.write(f"nsnet: error: {message}\n")


def warning(message: str) -> None:
    sys.stderr.write(f"nsnet: warning: {message}\n")


def emit_json(data) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def table(rows: list[dict], columns: list[tuple[str, str]], title: str | None = None) -> None:
    """columns: [(key, header)]; lists are joined with ', '."""
    t = Table(title=title, title_justify="left", title_style="bold", header_style="bold", box=None,
              pad_edge=False)
    for _, header in columns:
        t.add_column(header)
    for row in rows:
        cells = []
        for key, _ in columns:
            value = row.get(key)
            if isinstance(value, (list, tuple)):
                value = ", ".join(str(v) for v in value)
            cells.append("" if value is None else str(value))
        t.add_row(*cells)
    console.print(t)


def commands(lines: list[str], header: str | None = None) -> None:
    if header:
        console.print(f"[dim]# {header}[/dim]")
    for line in lines:
        console.print(line, highlight=False, markup=False)


def kv(data: dict, title: str) -> None:
    console.print(f"[bold]{title}[/bold]")
    for key, value in data.items():
        if isinstance(value, (list, dict)):
            continue
        console.print(f"  {key:<12} {'' if value is None else value}", highlight=False)
